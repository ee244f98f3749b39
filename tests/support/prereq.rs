//! A test that needs something this machine may not have (the `../shared` corpus, a
//! Chromium, a Secret Service) says so in one `SKIPPED:` line and returns, so a developer
//! without it still gets a green run that tells the truth. In CI, `.ci/run` sets
//! [`REQUIRE_ALL`]: there a missing prerequisite fails the test instead.

use std::path::{Path, PathBuf};

/// Set to `1` (by `.ci/run`) to turn every skip into a failure.
pub const REQUIRE_ALL: &str = "TIKTWITCH_REQUIRE_ALL";

/// Whether skips are failures here: [`REQUIRE_ALL`], or the prerequisite's own variable
/// (`TIKTWITCH_REQUIRE_CHROMIUM` ...), is `1`.
pub fn required(own_var: Option<&str>) -> bool {
    let on = |var: &str| std::env::var(var).as_deref() == Ok("1");
    on(REQUIRE_ALL) || own_var.is_some_and(on)
}

/// Reports that `what` is missing: a panic where prerequisites are required, else one
/// `SKIPPED:` line naming the test's reason and how to get it.
#[track_caller]
pub fn skip(own_var: Option<&str>, what: &str) {
    if required(own_var) {
        let var = own_var.map_or(REQUIRE_ALL.to_string(), |v| format!("{REQUIRE_ALL} or {v}"));
        panic!("{what}, and {var}=1 says it must be there");
    }
    eprintln!("SKIPPED: {what}");
}

/// `../shared` beside the repository (the design notes, captures and corpus).
pub fn shared_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared")
}

/// `path` under `../shared` if it exists; otherwise skips (or, where required, fails).
#[track_caller]
pub fn shared(path: &str) -> Option<PathBuf> {
    let full = shared_dir().join(path);
    if full.exists() {
        Some(full)
    } else {
        skip(
            None,
            &format!(
                "{} is absent (CI has ../shared beside the repo)",
                full.display()
            ),
        );
        None
    }
}
