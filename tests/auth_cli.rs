//! `tiktwitch auth status` and `tiktwitch auth logout` as processes against the fake OAuth
//! server: the flags reach the library, the output names the login and never the token.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use tiktwitch::auth::StoredToken;
use tiktwitch::secret::{FileStore, FileStoreMode, Secret, SecretStore};
use tiktwitch::standin::oauth::{FakeOAuth, FakeOAuthConfig};

async fn run(state_dir: &Path, fake: &FakeOAuth, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tiktwitch"));
    cmd.args(args)
        .args([
            "--client-id",
            "fake-client-id",
            "--oauth-url",
            &fake.base_url(),
        ])
        .env("TIKTWITCH_STATE_DIR", state_dir)
        .env_remove("TIKTWITCH_SECRET_STORE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Wait off the runtime: the fake answers the child from this runtime.
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn status_then_logout_through_the_command_line() {
    let fake = FakeOAuth::start(FakeOAuthConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (access, refresh) = fake.mint(&["chat:read", "chat:edit"]);
    {
        let store = FileStore::open(dir.path(), FileStoreMode::Exclusive)
            .await
            .unwrap();
        let mut token = StoredToken::bare(Secret::new(access.clone()), 0);
        token.refresh_token = Some(Secret::new(refresh.clone()));
        store.set("twitch-token", &token.to_secret()).await.unwrap();
    }

    let out = run(dir.path(), &fake, &["auth", "status"]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("logged in as: tiktwitch_bot"), "{stdout}");
    assert!(
        stdout.contains("scopes:       chat:read chat:edit"),
        "{stdout}"
    );
    assert!(stdout.contains("validation:   valid"), "{stdout}");
    assert!(stdout.contains("renewable:    yes"), "{stdout}");
    assert!(
        !stdout.contains(&access) && !stdout.contains(&refresh),
        "{stdout}"
    );

    let out = run(dir.path(), &fake, &["auth", "status", "--helix"]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("MISSING:      user:write:chat (run"),
        "{stdout}"
    );

    let out = run(dir.path(), &fake, &["auth", "logout"]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("revoked at Twitch and deleted"), "{stdout}");
    assert!(!fake.is_access_token_valid(&access));
    assert!(!fake.is_refresh_token_valid(&refresh));

    let out = run(dir.path(), &fake, &["auth", "status"]).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("run `tiktwitch auth twitch`"));
}
