//! Compiles `proto/webcast.proto` with prost-build, using `protox` (a pure-Rust protobuf
//! compiler) so a fresh machine needs nothing but `cargo build`: no system `protoc`.
//! Also stamps the git revision into the binary for `--version`.

use std::path::Path;
use std::process::Command;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let descriptors = protox::compile(["webcast.proto"], ["proto"])?;
    prost_build::Config::new()
        // Payloads become `bytes::Bytes`: slicing an inflated batch into its messages
        // then costs no copy.
        .bytes(["."])
        .compile_fds(descriptors)?;
    stamp_revision();
    Ok(())
}

/// `TIKTWITCH_GIT_REVISION` for `--version`: the variable if set (the Docker build, which
/// has no `.git`), else `git rev-parse`, else "unknown".
fn stamp_revision() {
    println!("cargo:rerun-if-env-changed=TIKTWITCH_GIT_REVISION");
    let from_env = std::env::var("TIKTWITCH_GIT_REVISION")
        .ok()
        .filter(|v| !v.trim().is_empty());
    let revision = from_env
        .or_else(git_revision)
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=TIKTWITCH_GIT_REVISION={revision}");
}

fn git_revision() -> Option<String> {
    let git = Path::new(".git");
    if !git.exists() {
        return None;
    }
    // Re-run when HEAD moves: HEAD itself (a checkout) and the branch it names (a commit).
    // Only paths that exist: cargo treats a missing one as always changed.
    println!("cargo:rerun-if-changed=.git/HEAD");
    if let Ok(head) = std::fs::read_to_string(git.join("HEAD"))
        && let Some(reference) = head.strip_prefix("ref: ")
    {
        let path = git.join(reference.trim());
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    let packed = git.join("packed-refs");
    if packed.exists() {
        println!("cargo:rerun-if-changed={}", packed.display());
    }
    let out = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()?;
    let revision = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !revision.is_empty()).then_some(revision)
}
