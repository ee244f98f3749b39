//! `tiktwitch check` as a user runs it: the real binary, a real config file, the file secret
//! store in a temporary state directory, and (for `--online`) the OAuth and TikTok
//! stand-ins on 127.0.0.1. Secrets are reported by presence, never by value.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use tiktwitch::auth::StoredToken;
use tiktwitch::secret::{FileStore, FileStoreMode, Secret, SecretStore};
use tiktwitch::standin::helix_chat::{FakeHelix, FakeHelixConfig};
use tiktwitch::standin::oauth::{FakeOAuth, FakeOAuthConfig};
use tiktwitch::standin::tiktok::{FakeTikTok, FakeTikTokConfig, LookupMode};

const SIGNER_KEY: &str = "check-signer-key-value";

/// A config with one bridge per `(name, creator, web base)`, the file store under `state`.
fn write_config(dir: &Path, state: &Path, oauth: &str, bridges: &[(&str, &str, &str)]) -> String {
    let mut text = format!(
        r#"secret_store = "file"
state_dir = "{state}"

[tiktok]
signer_api_key = "tiktok-signer-api-key"

[twitch]
channels = ["some_channel"]
bot_login = "tiktwitch_bot"
client_id = "check-client"
oauth_base_url = "{oauth}"
"#,
        state = state.display(),
    );
    for (name, user, base) in bridges {
        text.push_str(&format!(
            r#"
[[bridge]]
name = "{name}"
tiktok_username = "{user}"
[bridge.tiktok]
web_base_url = "{base}"
signer_base_url = "{base}"
webcast_base_url = "{base}"
"#
        ));
    }
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

async fn check(config: &str, online: bool) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tiktwitch"));
    cmd.args(["--config", config, "check"]);
    if online {
        cmd.arg("--online");
    }
    cmd.env_remove("TIKTWITCH_SECRET_STORE")
        .env_remove("TIKTWITCH_STATE_DIR")
        .env_remove("HTTPS_PROXY")
        .env_remove("ALL_PROXY")
        .env_remove("https_proxy")
        .env_remove("all_proxy")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Wait off the runtime: the stand-ins answer the child from this runtime.
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

async fn store_token(state: &Path, access: &str, refresh: &str) {
    let store = FileStore::open(state, FileStoreMode::Exclusive)
        .await
        .unwrap();
    let mut token = StoredToken::bare(Secret::new(access.to_owned()), 0);
    token.refresh_token = Some(Secret::new(refresh.to_owned()));
    store.set("twitch-token", &token.to_secret()).await.unwrap();
    store
        .set("tiktok-signer-api-key", &Secret::new(SIGNER_KEY))
        .await
        .unwrap();
}

/// Stores one plain secret in the file store at `state`.
async fn store_secret(state: &Path, name: &str, value: &str) {
    let store = FileStore::open(state, FileStoreMode::Exclusive)
        .await
        .unwrap();
    store.set(name, &Secret::new(value)).await.unwrap();
}

#[tokio::test]
async fn offline_check_reports_each_secret_by_presence_and_fails_without_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    let config = write_config(
        dir.path(),
        &state,
        "http://127.0.0.1:9/oauth2",
        &[("main", "alice", "http://127.0.0.1:9")],
    );

    let out = check(&config, false).await;
    let shown = text(&out);
    assert!(!out.status.success(), "{shown}");
    assert!(
        shown.contains("twitch.token") && shown.contains("MISSING (run `tiktwitch auth twitch`)"),
        "{shown}"
    );
    assert!(
        shown.contains("`tiktok-signer-api-key`: missing"),
        "the signer key is reported missing: {shown}"
    );

    store_token(&state, "access-value-1234", "refresh-value-5678").await;
    let out = check(&config, false).await;
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    assert!(shown.contains("`twitch-token`: present"), "{shown}");
    assert!(
        shown.contains("`tiktok-signer-api-key`: present"),
        "{shown}"
    );
    assert!(shown.contains("secrets.json"), "names the store: {shown}");
    for secret in ["access-value-1234", "refresh-value-5678", SIGNER_KEY] {
        assert!(!shown.contains(secret), "{secret} leaked: {shown}");
    }
}

#[tokio::test]
async fn online_check_validates_the_token_and_resolves_every_room() {
    let oauth = FakeOAuth::start(FakeOAuthConfig {
        client_id: "check-client".into(),
        ..FakeOAuthConfig::default()
    })
    .await
    .unwrap();
    let alice = FakeTikTok::start(FakeTikTokConfig {
        username: "alice".into(),
        room_id: 7_000_000_000_000_000_001,
        viewers: 321,
        ..FakeTikTokConfig::default()
    })
    .await
    .unwrap();
    let bob = FakeTikTok::start(FakeTikTokConfig {
        username: "bob".into(),
        live: false,
        ..FakeTikTokConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    let (access, refresh) = oauth.mint(&["chat:read", "chat:edit"]);
    store_token(&state, &access, &refresh).await;
    let config = write_config(
        dir.path(),
        &state,
        &oauth.base_url(),
        &[
            ("a", "alice", &alice.base_url()),
            ("b", "bob", &bob.base_url()),
        ],
    );

    let out = check(&config, true).await;
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    assert!(
        shown.contains("Twitch: logged in as tiktwitch_bot (user id 424242)"),
        "{shown}"
    );
    assert!(shown.contains("scopes: chat:read chat:edit"), "{shown}");
    assert!(shown.contains("expires in 3h 5"), "{shown}");
    assert!(
        shown.contains("bridge `a`: TikTok @alice: live (room 7000000000000000001, 321 viewers)"),
        "{shown}"
    );
    assert!(
        shown.contains("bridge `b`: TikTok @bob: not live now"),
        "{shown}"
    );
    // The creator's profile, from the same lookup.
    assert!(
        shown.contains(&format!(
            "    profile: Fake Creator (@alice), 12,345 followers, 67 following, title \"fake live\", avatar {}/avatar/alice.webp",
            alice.base_url()
        )),
        "{shown}"
    );
    assert!(
        shown.contains("    profile: Fake Creator (@bob), 12,345 followers"),
        "{shown}"
    );
    assert!(oauth.count("validate") >= 1);
    assert!(
        !shown.contains(&access) && !shown.contains(&refresh),
        "{shown}"
    );

    // A creator TikTok does not know makes the config unusable.
    bob.set_lookup(LookupMode::NotFound);
    let out = check(&config, true).await;
    let shown = text(&out);
    assert!(!out.status.success(), "{shown}");
    assert!(
        shown.contains("bridge `b`: TikTok @bob: NOT usable"),
        "{shown}"
    );

    // So does a revoked token without a way to renew it.
    bob.set_lookup(LookupMode::Normal);
    oauth.refuse_all_refreshes();
    oauth.expire_access_tokens();
    let bare = dir.path().join("state2");
    std::fs::create_dir(&bare).unwrap();
    store_secret(&bare, "twitch-access-token", "revoked-bare-token").await;
    let config = write_config(
        dir.path(),
        &bare,
        &oauth.base_url(),
        &[("a", "alice", &alice.base_url())],
    );
    let out = check(&config, true).await;
    let shown = text(&out);
    assert!(!out.status.success(), "{shown}");
    assert!(
        shown.contains("Twitch refused the token (run `tiktwitch auth twitch`)"),
        "{shown}"
    );
    assert!(!shown.contains("revoked-bare-token"), "{shown}");
}

#[tokio::test]
async fn check_lists_the_feed_api_and_webhook_secrets_by_presence() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    let config = write_config(
        dir.path(),
        &state,
        "http://127.0.0.1:9/oauth2",
        &[("main", "alice", "http://127.0.0.1:9")],
    );
    let mut text_of_config = std::fs::read_to_string(&config).unwrap();
    text_of_config.push_str(
        r#"
[http]
enabled = true
[feed]
enabled = true
token = "feed-token"
[api]
enabled = true
token = "api-token"
[[webhook]]
url = "https://example.com/hook"
secret = "hook-key"
"#,
    );
    std::fs::write(&config, text_of_config).unwrap();
    store_token(&state, "access-value-1234", "refresh-value-5678").await;
    store_secret(&state, "hook-key", "hook-key-value-9999").await;

    let out = check(&config, false).await;
    let shown = text(&out);
    assert!(
        !out.status.success(),
        "the feed's token is missing: {shown}"
    );
    assert!(
        shown.contains("feed.token")
            && shown.contains("`feed-token`: MISSING (run `tiktwitch secret set feed-token`)"),
        "{shown}"
    );
    assert!(
        shown.contains("api.token")
            && shown.contains("`api-token`: missing (without it pause/resume are refused"),
        "{shown}"
    );
    assert!(
        shown.contains("webhook[0].secret") && shown.contains("`hook-key`: present"),
        "{shown}"
    );

    store_secret(&state, "feed-token", "feed-token-value-4242").await;
    let out = check(&config, false).await;
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    assert!(shown.contains("`feed-token`: present"), "{shown}");
    for secret in [
        "feed-token-value-4242",
        "hook-key-value-9999",
        "access-value-1234",
    ] {
        assert!(!shown.contains(secret), "{secret} leaked: {shown}");
    }
}

#[tokio::test]
async fn online_check_names_the_scopes_of_the_chosen_sink() {
    let oauth = FakeOAuth::start(FakeOAuthConfig {
        client_id: "check-client".into(),
        client_secret: Some("app-secret".into()),
        ..FakeOAuthConfig::default()
    })
    .await
    .unwrap();
    let alice = FakeTikTok::start(FakeTikTokConfig {
        username: "alice".into(),
        ..FakeTikTokConfig::default()
    })
    .await
    .unwrap();
    let helix = |users: &[(&str, &str)]| {
        FakeHelix::start(FakeHelixConfig {
            client_id: "check-client".into(),
            users: users
                .iter()
                .map(|(l, i)| (l.to_string(), i.to_string()))
                .collect(),
            ..FakeHelixConfig::default()
        })
    };
    let known = helix(&[("tiktwitch_bot", "424242"), ("some_channel", "77")])
        .await
        .unwrap();
    let strangers = helix(&[("tiktwitch_bot", "424242")]).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    let (access, refresh) = oauth.mint(&["chat:read", "chat:edit"]);
    store_token(&state, &access, &refresh).await;
    let irc = write_config(
        dir.path(),
        &state,
        &oauth.base_url(),
        &[("a", "alice", &alice.base_url())],
    );
    let base = std::fs::read_to_string(&irc).unwrap();
    let edit = |with: &str, helix: &FakeHelix| {
        let with = format!("{with}helix_base_url = \"{}\"\n", helix.base_url());
        std::fs::write(
            &irc,
            base.replace("[twitch]\n", &format!("[twitch]\n{with}")),
        )
        .unwrap();
    };

    let out = check(&irc, true).await;
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    assert!(
        shown.contains("sink = \"irc\" needs: chat:read chat:edit"),
        "{shown}"
    );

    // The same token for the Helix sink lacks user:write:chat, named as such.
    edit("sink = \"helix\"\n", &known);
    let out = check(&irc, true).await;
    let shown = text(&out);
    assert!(!out.status.success(), "{shown}");
    assert!(
        shown.contains("sink = \"helix\" (user token) needs: user:write:chat"),
        "{shown}"
    );
    assert!(
        shown.contains(
            "NOT usable: missing scopes user:write:chat for sink = \"helix\" (user token)"
        ),
        "{shown}"
    );

    // The app-token path: the bot's user:bot is checked, the broadcaster's channel:bot is
    // named as not checkable, and the client-credentials grant is tried.
    let (access, refresh) = oauth.mint(&["user:write:chat", "user:bot"]);
    store_token(&state, &access, &refresh).await;
    store_secret(&state, "twitch-client-secret", "app-secret").await;
    let app = "sink = \"helix\"\nhelix_token = \"app\"\nclient_secret = \"twitch-client-secret\"\n";
    edit(app, &known);
    let out = check(&irc, true).await;
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    assert!(
        shown.contains("helix_token = \"app\" needs: user:write:chat user:bot"),
        "{shown}"
    );
    assert!(
        shown.contains("#some_channel: channel:bot NOT checked: the broadcaster grants it"),
        "{shown}"
    );
    assert!(shown.contains("app access token: granted"), "{shown}");
    // The user ids `run` looks up at start.
    assert!(
        shown.contains("Helix user ids: #some_channel 77; sender tiktwitch_bot 424242"),
        "{shown}"
    );
    assert!(!shown.contains("app-secret"), "{shown}");

    // A channel Helix does not know: `run` would stop at start, so `check` says so.
    edit(app, &strangers);
    let out = check(&irc, true).await;
    let shown = text(&out);
    assert!(!out.status.success(), "{shown}");
    assert!(
        shown.contains("NOT usable: no Twitch user named some_channel"),
        "{shown}"
    );
    edit(app, &known);

    // A client secret the OAuth server refuses: no app token, not usable.
    store_secret(&state, "twitch-client-secret", "wrong-secret").await;
    let out = check(&irc, true).await;
    let shown = text(&out);
    assert!(!out.status.success(), "{shown}");
    assert!(shown.contains("NOT usable: app access token"), "{shown}");
    assert!(!shown.contains("wrong-secret"), "{shown}");
}
