//! What a command-line user expects of any tool: `--version` names the build, completions
//! for their shell, a man page, and a README whose troubleshooting table quotes messages
//! the program really prints.

use std::path::{Path, PathBuf};
use std::process::Command;

fn tiktwitch(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tiktwitch"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn version_names_the_release_and_the_revision() {
    let text = stdout(&tiktwitch(&["--version"]));
    let expected = format!("tiktwitch {} (", env!("CARGO_PKG_VERSION"));
    assert!(text.starts_with(&expected), "{text}");
    let revision = text
        .trim()
        .trim_end_matches(')')
        .rsplit('(')
        .next()
        .unwrap();
    assert!(
        revision == "unknown" || revision.chars().all(|c| c.is_ascii_hexdigit()),
        "{revision}"
    );
}

#[test]
fn completions_for_every_shell_know_every_command() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let text = stdout(&tiktwitch(&["completions", shell]));
        for command in ["init", "run", "check", "demo", "secret", "completions"] {
            assert!(text.contains(command), "{shell}: {command}");
        }
    }
    // The bash script is valid bash (where bash exists).
    if Command::new("bash").arg("--version").output().is_ok() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tiktwitch.bash");
        std::fs::write(&file, stdout(&tiktwitch(&["completions", "bash"]))).unwrap();
        let syntax = Command::new("bash").arg("-n").arg(&file).output().unwrap();
        assert!(
            syntax.status.success(),
            "{}",
            String::from_utf8_lossy(&syntax.stderr)
        );
    }
}

#[test]
fn the_man_page_is_roff_with_the_commands() {
    let text = stdout(&tiktwitch(&["man"]));
    assert!(text.contains(".TH tiktwitch 1"), "{text}");
    for command in ["init", "run", "check", "probe"] {
        assert!(text.contains(command), "{command}");
    }
}

fn rust_sources(dir: &Path, out: &mut String) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path: PathBuf = entry.unwrap().path();
        if path.is_dir() {
            rust_sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
}

/// Every message README's troubleshooting table quotes (the `code` spans of its first
/// column) is text the program prints: each fixed piece between `...` placeholders appears
/// in the source. A reworded log line fails this test until README follows it.
#[test]
fn readme_troubleshooting_quotes_real_messages() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let mut source = String::new();
    rust_sources(&root.join("src"), &mut source);
    let table = readme
        .split("## Troubleshooting")
        .nth(1)
        .expect("README has a Troubleshooting section");
    let table = table.split("\n## ").next().unwrap();
    let mut quoted = 0;
    for row in table.lines().filter(|l| l.starts_with("| `")) {
        let first_cell = row.trim_start_matches('|').split(" | ").next().unwrap();
        for (i, span) in first_cell.split('`').enumerate() {
            if i % 2 == 0 || span.is_empty() {
                continue;
            }
            quoted += 1;
            for piece in span.split("...").map(str::trim).filter(|p| !p.is_empty()) {
                assert!(
                    source.contains(piece),
                    "README quotes {span:?}, but no source file contains {piece:?}"
                );
            }
        }
    }
    assert!(quoted >= 8, "the table quotes messages ({quoted} found)");
}
