//! `tiktwitch secret set` and `tiktwitch auth status` as processes: stdin, the lock against
//! a second process, the env store from the real process environment and
//! `$CREDENTIALS_DIRECTORY`.

use std::path::Path;
use std::process::{Command, Stdio};

use tiktwitch::secret::{FileStore, FileStoreMode, SecretStore};

#[tokio::test]
async fn a_second_process_is_kept_out_by_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let first = FileStore::open(dir.path(), FileStoreMode::Exclusive)
        .await
        .unwrap();
    let out = tiktwitch_cmd(dir.path())
        .args(["secret", "set", "other"])
        .stdin(Stdio::piped())
        .spawn_with_input("v")
        .await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("locked by another tiktwitch"), "{stderr}");
    // `auth status` reads next to a running bridge.
    let out = tiktwitch_cmd(dir.path())
        .args(["auth", "status"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no Twitch login is stored"), "{stderr}");
    drop(first);
}

#[tokio::test]
async fn auth_status_reads_a_bare_token_from_process_env_and_credentials_directory() {
    let creds = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    std::fs::write(
        creds.path().join("twitch-access-token"),
        "cred-token-value\n",
    )
    .unwrap();
    let out = tiktwitch_cmd(state.path())
        .args(["auth", "status", "--secret-store", "env"])
        .env("CREDENTIALS_DIRECTORY", creds.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("a bare access token"), "{stdout}");
    assert!(stdout.contains("$TIKTWITCH_SECRET_<NAME>"), "{stdout}");
    assert!(!stdout.contains("cred-token-value"), "{stdout}");

    // The variable wins over the credential.
    let out = tiktwitch_cmd(state.path())
        .args(["auth", "status", "--secret-store", "env"])
        .env("TIKTWITCH_SECRET_TWITCH_TOKEN", "{not json")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("damaged"));
}

#[tokio::test]
async fn secret_set_reads_stdin_into_the_file_store() {
    let state = tempfile::tempdir().unwrap();
    let out = tiktwitch_cmd(state.path())
        .args(["secret", "set", "tiktok-signer-api-key"])
        .stdin(Stdio::piped())
        .spawn_with_input("piped-value\n")
        .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let store = FileStore::open(state.path(), FileStoreMode::ReadOnly)
        .await
        .unwrap();
    assert_eq!(
        store
            .get("tiktok-signer-api-key")
            .await
            .unwrap()
            .unwrap()
            .expose(),
        "piped-value"
    );
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains("piped-value"), "{all}");

    let out = tiktwitch_cmd(state.path())
        .args(["secret", "set", "x", "--secret-store", "env"])
        .stdin(Stdio::piped())
        .spawn_with_input("v")
        .await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("read-only"));

    let out = tiktwitch_cmd(state.path())
        .args(["secret", "set", "empty"])
        .stdin(Stdio::piped())
        .spawn_with_input("\n")
        .await;
    assert!(!out.status.success());
}

/// `tiktwitch` with the file store in `state_dir`: named, not `auto`, so a Secret Service
/// on the machine (CI runs the suite in a keyring session) does not take the secrets.
fn tiktwitch_cmd(state_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tiktwitch"));
    cmd.env("TIKTWITCH_STATE_DIR", state_dir)
        .env("TIKTWITCH_SECRET_STORE", "file")
        .env_remove("CREDENTIALS_DIRECTORY")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

trait SpawnWithInput {
    async fn spawn_with_input(&mut self, input: &str) -> std::process::Output;
}

impl SpawnWithInput for Command {
    async fn spawn_with_input(&mut self, input: &str) -> std::process::Output {
        use std::io::Write;
        let mut child = self.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
            .await
            .unwrap()
    }
}
