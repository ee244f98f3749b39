//! What the library ships and what each feature brings (#17 item 3): the library is the
//! product only (no CLI, no allocator, the stand-ins behind `standin`), every test or
//! bench that starts a stand-in says it needs `standin` (so a build without them still
//! compiles every target), each bench measures with the allocator the daemon ships, and a
//! daemon built without the stand-ins answers `demo` clearly.

mod support;

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `.rs` files under `dir`, recursively.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(at) = todo.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The library's files: src/ without the binary (main.rs and its cli/).
fn library_files() -> Vec<PathBuf> {
    let src = root().join("src");
    rust_files(&src)
        .into_iter()
        .filter(|f| f != &src.join("main.rs") && !f.starts_with(src.join("cli")))
        .collect()
}

#[test]
fn the_library_has_no_cli_and_no_allocator() {
    for file in library_files() {
        let text = read(&file);
        let code: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        for needle in [
            "crate::cli",
            "mod cli;",
            "mod cli {",
            "global_allocator",
            "anyhow",
            "clap",
            "rpassword",
            "qrcode",
        ] {
            assert!(
                !code.contains(needle),
                "{} uses `{needle}`: that belongs to the binary (src/main.rs, src/cli/)",
                file.display()
            );
        }
    }
    let main = read(&root().join("src/main.rs"));
    assert!(main.contains("mod cli;"), "src/main.rs declares the CLI");
    assert!(
        main.contains("#[global_allocator]"),
        "src/main.rs sets the daemon's allocator"
    );
}

#[test]
fn the_stand_ins_and_the_demo_are_behind_the_standin_feature() {
    let lib = read(&root().join("src/lib.rs"));
    let gate = lib
        .find("standin! {")
        .expect("lib.rs declares the stand-in modules in a `standin! { ... }` block");
    let block = &lib[gate..gate + lib[gate..].find('}').unwrap()];
    for module in ["pub mod standin;", "pub mod demo;"] {
        assert!(block.contains(module), "`{module}` is not behind `standin`");
        assert_eq!(lib.matches(module).count(), 1, "`{module}` declared twice");
    }
    assert!(
        lib.contains("#[cfg(feature = \"standin\")] $item"),
        "the `standin!` macro gates on the `standin` feature"
    );
    let cargo = read(&root().join("Cargo.toml"));
    assert!(cargo.contains("\nstandin = [\"runtime\"]"), "the feature");
    let default = cargo.lines().find(|l| l.starts_with("default = ")).unwrap();
    assert!(
        default.contains("\"standin\""),
        "default builds have `tiktwitch demo`: {default}"
    );
}

/// The `[[test]]`/`[[bench]]` names in Cargo.toml that require `standin`.
fn requiring_standin(cargo: &str, table: &str) -> Vec<String> {
    cargo
        .split(&format!("[[{table}]]"))
        .skip(1)
        .filter(|entry| {
            let entry = entry.split("\n[").next().unwrap();
            entry.contains("required-features = [\"standin\"]")
        })
        .filter_map(|entry| {
            let line = entry.lines().find(|l| l.starts_with("name = "))?;
            Some(line["name = ".len()..].trim_matches('"').to_owned())
        })
        .collect()
}

#[test]
fn every_target_that_starts_a_stand_in_requires_the_feature() {
    let cargo = read(&root().join("Cargo.toml"));
    // What pulls in the stand-ins: the library's module, or a shared test helper over it.
    let uses_standin = |text: &str| {
        text.contains("tiktwitch::standin")
            || text.contains("support::auth")
            || text.contains("mod tiktok_support;")
    };
    for (dir, table) in [("tests", "test"), ("benches", "bench")] {
        let required = requiring_standin(&cargo, table);
        for entry in std::fs::read_dir(root().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
            if dir == "tests" && name == "features" {
                continue; // names the patterns, starts nothing
            }
            let mut text = read(&path);
            // A bench's `mod support;` is its own helper directory.
            if dir == "benches" && text.contains("mod support;") {
                text += &read(&root().join("benches/support/mod.rs"));
            }
            if uses_standin(&text) {
                assert!(
                    required.contains(&name),
                    "{dir}/{name}.rs starts a stand-in: give it `[[{table}]] name = \"{name}\" \
                     required-features = [\"standin\"]` in Cargo.toml"
                );
            }
        }
        // The entry's name must still be a file: a renamed test would otherwise lose its gate.
        for name in required {
            assert!(
                root().join(dir).join(format!("{name}.rs")).exists(),
                "Cargo.toml names {dir}/{name}.rs, which does not exist"
            );
        }
    }
}

#[test]
fn every_bench_measures_with_the_shipped_allocator() {
    // BENCHMARKS.md's figures were taken with mimalloc, the daemon's allocator; a bench
    // without it would measure glibc's malloc (15% slower decode) and contradict them.
    for bench in rust_files(&root().join("benches")) {
        if bench.parent().unwrap().ends_with("support") {
            continue;
        }
        let text = read(&bench);
        assert!(
            text.contains("#[global_allocator]") && text.contains("mimalloc::MiMalloc"),
            "{} does not declare mimalloc as its allocator",
            bench.display()
        );
    }
}

/// A daemon built without the stand-ins (`--no-default-features --features runtime`)
/// still knows the `demo` command, and says why it cannot play it.
#[cfg(all(unix, not(feature = "standin")))]
#[tokio::test]
async fn demo_in_a_build_without_the_stand_ins_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = support::process::tiktwitch(&dir.path().join("none.toml"));
    cmd.arg("demo");
    let (status, log) = support::process::Running::spawn(cmd).finish().await;
    assert!(
        !status.success(),
        "demo without stand-ins succeeded:\n{log}"
    );
    assert!(log.contains("has no demo"), "{log}");
    assert!(log.contains("`standin` feature"), "{log}");
    assert!(!log.contains("panicked"), "{log}");
}
