//! The secret stores: the file store's permissions, atomic writes and lock; the env store
//! (variables and `$CREDENTIALS_DIRECTORY`); the keyring store against a real Secret
//! Service (`ci/secret-service-test.sh`) and the kernel keyutils keyring. The commands are
//! in `secrets_cli.rs`: a child process forked while a test holds the lock would hold it too
//! until its exec, so tests that spawn processes live in their own test binary.
//!
//! Unix only: the file store's safety is its mode bits (on Windows the file lives in the
//! user's own profile folder, whose ACL is the protection) and the keyring tests here are
//! the Linux stores'.
#![cfg(unix)]

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use tiktwitch::auth::{AuthSettings, StoredToken, TokenManager, TokioClock};
use tiktwitch::secret::{
    EnvStore, FileStore, FileStoreMode, KeyringBackend, KeyringStore, Secret, SecretError,
    SecretStore, SecretStoreKind, SecretStoreSettings, open_store,
};
use tiktwitch::standin::oauth::{FakeOAuth, FakeOAuthConfig};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn file_store_round_trips_across_reopen_with_mode_0600() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let store = FileStore::open(&state, FileStoreMode::Exclusive)
        .await
        .unwrap();
    assert_eq!(mode(&state), 0o700, "a created state dir is private");
    assert_eq!(store.get("twitch-token").await.unwrap(), None);
    store.set("twitch-token", &Secret::new("v1")).await.unwrap();
    store
        .set("tiktok-signer-api-key", &Secret::new("k"))
        .await
        .unwrap();
    store.set("twitch-token", &Secret::new("v2")).await.unwrap();
    assert_eq!(mode(store.path()), 0o600);
    assert!(
        !state.join("secrets.json.tmp").exists(),
        "no temp file left"
    );
    drop(store);

    let store = FileStore::open(&state, FileStoreMode::Exclusive)
        .await
        .unwrap();
    assert_eq!(
        store.get("twitch-token").await.unwrap().unwrap().expose(),
        "v2"
    );
    assert!(store.delete("tiktok-signer-api-key").await.unwrap());
    assert!(!store.delete("tiktok-signer-api-key").await.unwrap());
    drop(store);
    let store = FileStore::open(&state, FileStoreMode::Exclusive)
        .await
        .unwrap();
    assert_eq!(store.get("tiktok-signer-api-key").await.unwrap(), None);
    let err = store
        .set("../etc/passwd", &Secret::new("x"))
        .await
        .unwrap_err();
    assert!(matches!(err, SecretError::InvalidName { .. }), "{err}");
}

#[tokio::test]
async fn file_store_refuses_a_file_group_or_others_can_access() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path(), FileStoreMode::Exclusive)
        .await
        .unwrap();
    store
        .set("twitch-token", &Secret::new("do-not-show-me"))
        .await
        .unwrap();
    let path = store.path().to_path_buf();
    drop(store);

    for bad in [0o644, 0o640, 0o604, 0o620] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(bad)).unwrap();
        for open_mode in [FileStoreMode::Exclusive, FileStoreMode::ReadOnly] {
            let err = FileStore::open(dir.path(), open_mode).await.unwrap_err();
            assert!(
                matches!(err, SecretError::InsecurePermissions { mode, .. } if mode == bad),
                "{bad:o}: {err}"
            );
            let msg = err.to_string();
            assert!(
                msg.contains("chmod 600") && !msg.contains("do-not-show-me"),
                "{msg}"
            );
        }
    }
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let store = FileStore::open(dir.path(), FileStoreMode::Exclusive)
        .await
        .unwrap();
    assert_eq!(
        store.get("twitch-token").await.unwrap().unwrap().expose(),
        "do-not-show-me"
    );
}

#[tokio::test]
async fn file_store_writes_0600_even_over_a_stale_world_readable_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join("secrets.json.tmp");
    std::fs::write(&tmp, "left by a crash").unwrap();
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o666)).unwrap();
    let store = FileStore::open(dir.path(), FileStoreMode::Exclusive)
        .await
        .unwrap();
    store.set("a", &Secret::new("b")).await.unwrap();
    assert_eq!(mode(store.path()), 0o600);
    assert!(!tmp.exists());
}

#[tokio::test]
async fn a_damaged_secrets_file_is_an_error_that_shows_no_content() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secrets.json");
    std::fs::write(&path, "{\"version\":1,\"secrets\":{\"a\":\"leaky-value").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let err = FileStore::open(dir.path(), FileStoreMode::Exclusive)
        .await
        .unwrap_err();
    assert!(matches!(err, SecretError::Corrupt { .. }), "{err}");
    assert!(!err.to_string().contains("leaky-value"), "{err}");
}

#[tokio::test]
async fn a_secret_of_the_wrong_type_is_named_by_its_key_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secrets.json");
    // A number where a string belongs: serde's own message would quote it.
    std::fs::write(
        &path,
        r#"{"version":1,"secrets":{"twitch-client-secret":7777123456789012345}}"#,
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    for open_mode in [FileStoreMode::Exclusive, FileStoreMode::ReadOnly] {
        let err = FileStore::open(dir.path(), open_mode).await.unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(matches!(err, SecretError::Corrupt { .. }), "{text}");
        assert!(!text.contains("777712345678"), "the value leaked: {text}");
        assert!(
            text.contains("`secrets.twitch-client-secret` is a number, expected a string")
                && text.contains(&path.display().to_string()),
            "{text}"
        );
    }
}

#[tokio::test]
async fn a_malformed_token_in_the_env_store_is_an_error_that_shows_no_content() {
    let fake = FakeOAuth::start(FakeOAuthConfig::default()).await.unwrap();
    let settings = AuthSettings {
        client_id: fake.config().client_id.clone(),
        oauth_url: fake.base_url(),
        secret_store: SecretStoreKind::Env,
        ..AuthSettings::default()
    };
    for (raw, part) in [
        (
            r#"{"version":1,"access_token":31415926535897932,"refresh_token":"x"}"#,
            "314159265358",
        ),
        (
            r#"{"version":1,"access_token":"ok","refresh_token":{"v":"rt-sentinel-8086x"}}"#,
            "rt-sentinel-",
        ),
        (r#""an-access-token-quoted-2718""#, "an-access-to"),
    ] {
        let store: Arc<dyn SecretStore> = Arc::new(EnvStore::from_vars(
            "TIKTWITCH_SECRET_",
            [(
                "TIKTWITCH_SECRET_TWITCH_TOKEN".to_string(),
                Secret::new(raw),
            )],
            None,
        ));
        let err = TokenManager::load(&settings, store, Arc::new(TokioClock::new()))
            .await
            .unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(!text.contains(part), "{raw}: {text}");
        assert!(text.contains("run `tiktwitch auth twitch`"), "{text}");
    }
}

#[tokio::test]
async fn file_store_refuses_a_state_directory_others_can_use() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let store = FileStore::open(&state, FileStoreMode::Exclusive)
        .await
        .unwrap();
    store
        .set("twitch-token", &Secret::new("dir-guarded-value"))
        .await
        .unwrap();
    drop(store);
    for bad in [0o777, 0o775, 0o757, 0o720, 0o702, 0o1777] {
        std::fs::set_permissions(&state, std::fs::Permissions::from_mode(bad)).unwrap();
        for open_mode in [FileStoreMode::Exclusive, FileStoreMode::ReadOnly] {
            let err = FileStore::open(&state, open_mode).await.unwrap_err();
            assert!(
                matches!(&err, SecretError::InsecureDirectory { mode, path } if *mode == bad && *path == state),
                "{bad:o}: {err}"
            );
            let msg = err.to_string();
            assert!(
                msg.contains("chmod 700")
                    && msg.contains(&state.display().to_string())
                    && msg.contains(&format!("{bad:04o}"))
                    && !msg.contains("dir-guarded-value"),
                "{msg}"
            );
        }
        // `auto` finds the secrets file there and refuses too: no other store stands in.
        let settings = SecretStoreSettings {
            kind: SecretStoreKind::Auto,
            state_dir: state.clone(),
            ..SecretStoreSettings::default()
        };
        let err = open_store(&settings, FileStoreMode::Exclusive)
            .await
            .unwrap_err();
        assert!(
            matches!(err, SecretError::InsecureDirectory { .. }),
            "{err}"
        );
    }
    // Readable and searchable is allowed (as ssh allows it): the file itself is 0600.
    for good in [0o700, 0o755, 0o750] {
        std::fs::set_permissions(&state, std::fs::Permissions::from_mode(good)).unwrap();
        let store = FileStore::open(&state, FileStoreMode::Exclusive)
            .await
            .unwrap();
        assert_eq!(
            store.get("twitch-token").await.unwrap().unwrap().expose(),
            "dir-guarded-value"
        );
    }
}

#[tokio::test]
async fn file_store_lock_keeps_out_a_second_writer_but_not_readers() {
    let dir = tempfile::tempdir().unwrap();
    let first = FileStore::open(dir.path(), FileStoreMode::Exclusive)
        .await
        .unwrap();
    let err = FileStore::open(dir.path(), FileStoreMode::Exclusive)
        .await
        .unwrap_err();
    assert!(matches!(err, SecretError::Locked { .. }), "{err}");
    assert!(err.to_string().contains("another tiktwitch"), "{err}");

    // A reader (auth status) works next to the running writer and sees its writes.
    let reader = FileStore::open(dir.path(), FileStoreMode::ReadOnly)
        .await
        .unwrap();
    first.set("twitch-token", &Secret::new("t1")).await.unwrap();
    assert_eq!(
        reader.get("twitch-token").await.unwrap().unwrap().expose(),
        "t1"
    );
    let err = reader
        .set("twitch-token", &Secret::new("x"))
        .await
        .unwrap_err();
    assert!(matches!(err, SecretError::ReadOnly { .. }), "{err}");
    assert!(!reader.is_writable());

    drop(first);
    FileStore::open(dir.path(), FileStoreMode::Exclusive)
        .await
        .unwrap();
}

#[tokio::test]
async fn env_store_reads_variables_then_the_credentials_directory() {
    let creds = tempfile::tempdir().unwrap();
    std::fs::write(creds.path().join("twitch-client-secret"), "from-creds\n").unwrap();
    std::fs::write(
        creds.path().join("tiktok-signer-api-key"),
        "key-from-creds\r\n",
    )
    .unwrap();
    std::fs::write(creds.path().join("empty"), "").unwrap();
    let store = EnvStore::from_vars(
        "TIKTWITCH_SECRET_",
        [(
            "TIKTWITCH_SECRET_TWITCH_CLIENT_SECRET".to_string(),
            Secret::new("from-env"),
        )],
        Some(creds.path().to_path_buf()),
    );
    assert_eq!(
        store.var_name("signer.api-key"),
        "TIKTWITCH_SECRET_SIGNER_API_KEY"
    );
    assert_eq!(
        store
            .get("twitch-client-secret")
            .await
            .unwrap()
            .unwrap()
            .expose(),
        "from-env"
    );
    assert_eq!(
        store
            .get("tiktok-signer-api-key")
            .await
            .unwrap()
            .unwrap()
            .expose(),
        "key-from-creds"
    );
    assert_eq!(store.get("empty").await.unwrap(), None);
    assert_eq!(store.get("absent").await.unwrap(), None);
    assert!(!store.is_writable());
    let err = store
        .set("twitch-token", &Secret::new("x"))
        .await
        .unwrap_err();
    assert!(matches!(err, SecretError::ReadOnly { .. }), "{err}");
    assert!(err.to_string().contains("read-only"));
    assert!(store.delete("twitch-token").await.is_err());
    let dbg = format!("{store:?}");
    assert!(!dbg.contains("from-env"), "{dbg}");
}

/// A keyring service name no other run uses.
fn unique_service() -> String {
    format!(
        "tiktwitch-test-{}-{:x}",
        std::process::id(),
        rand::random::<u32>()
    )
}

/// Opens `backend`, or explains why the test is skipped (and fails if `require_var` is 1).
async fn open_or_skip(
    backend: KeyringBackend,
    service: &str,
    require_var: &str,
) -> Option<KeyringStore> {
    match KeyringStore::open(backend, service).await {
        Ok(store) => Some(store),
        Err(e) => {
            assert!(
                matches!(e, SecretError::KeyringUnavailable { .. }),
                "an unavailable keyring must say so: {e}"
            );
            assert!(e.to_string().contains("never falls back"), "{e}");
            support::prereq::skip(
                Some(require_var),
                &format!(
                    "no {backend} keyring reachable here ({e}); run ci/secret-service-test.sh"
                ),
            );
            None
        }
    }
}

async fn round_trip(store: &KeyringStore, reopen: impl AsyncFn() -> KeyringStore) {
    assert_eq!(store.get("twitch-token").await.unwrap(), None);
    store
        .set("twitch-token", &Secret::new("kr-value-1"))
        .await
        .unwrap();
    store
        .set("twitch-token", &Secret::new("kr-value-2"))
        .await
        .unwrap();
    assert_eq!(
        store.get("twitch-token").await.unwrap().unwrap().expose(),
        "kr-value-2"
    );
    // A new connection (as a restarted process would make) sees it.
    let again = reopen().await;
    assert_eq!(
        again.get("twitch-token").await.unwrap().unwrap().expose(),
        "kr-value-2"
    );
    assert!(again.delete("twitch-token").await.unwrap());
    assert!(!store.delete("twitch-token").await.unwrap());
    assert_eq!(store.get("twitch-token").await.unwrap(), None);
}

#[tokio::test]
async fn keyring_secret_service_round_trip_and_token_rotation() {
    let service = unique_service();
    let require = "TIKTWITCH_REQUIRE_SECRET_SERVICE";
    let Some(store) = open_or_skip(KeyringBackend::SecretService, &service, require).await else {
        return;
    };
    round_trip(&store, async || {
        KeyringStore::open(KeyringBackend::SecretService, &service)
            .await
            .unwrap()
    })
    .await;

    // The token manager rotating a refresh token through the Secret Service.
    let fake = FakeOAuth::start(FakeOAuthConfig::default()).await.unwrap();
    let store: Arc<dyn SecretStore> = Arc::new(store);
    let clock = Arc::new(TokioClock::new());
    let (access, refresh) = fake.mint(&["chat:read", "chat:edit"]);
    let mut token = StoredToken::bare(Secret::new(access), 0);
    token.refresh_token = Some(Secret::new(refresh.clone()));
    store.set("twitch-token", &token.to_secret()).await.unwrap();
    let settings = AuthSettings {
        client_id: fake.config().client_id.clone(),
        oauth_url: fake.base_url(),
        ..AuthSettings::default()
    };
    let manager = TokenManager::load(&settings, store.clone(), clock)
        .await
        .unwrap();
    manager.force_refresh().await.unwrap();
    let reopened = KeyringStore::open(KeyringBackend::SecretService, &service)
        .await
        .unwrap();
    let saved =
        StoredToken::from_secret(&reopened.get("twitch-token").await.unwrap().unwrap()).unwrap();
    let new_refresh = saved.refresh_token.unwrap();
    assert_ne!(new_refresh.expose(), refresh);
    assert!(fake.is_refresh_token_valid(new_refresh.expose()));
    assert!(reopened.delete("twitch-token").await.unwrap());
}

#[tokio::test]
async fn keyutils_store_round_trip_with_the_session_keyring_fix() {
    let service = unique_service();
    let require = "TIKTWITCH_REQUIRE_KEYUTILS";
    let Some(store) = open_or_skip(KeyringBackend::Keyutils, &service, require).await else {
        return;
    };
    round_trip(&store, async || {
        KeyringStore::open(KeyringBackend::Keyutils, &service)
            .await
            .unwrap()
    })
    .await;

    // Opened for a bridge, the keyring store holds the state directory's lock too: two
    // bridges must not both refresh (and so spend) one refresh token.
    let dir = tempfile::tempdir().unwrap();
    let settings = SecretStoreSettings {
        kind: SecretStoreKind::Keyring,
        keyring_backend: KeyringBackend::Keyutils,
        keyring_service: service.clone(),
        state_dir: dir.path().to_path_buf(),
        ..SecretStoreSettings::default()
    };
    let first = open_store(&settings, FileStoreMode::Exclusive)
        .await
        .unwrap();
    let err = open_store(&settings, FileStoreMode::Exclusive)
        .await
        .unwrap_err();
    assert!(matches!(err, SecretError::Locked { .. }), "{err}");
    open_store(&settings, FileStoreMode::ReadOnly)
        .await
        .unwrap();
    assert!(first.describe().contains("keyutils"));
}
