//! `tiktwitch decode`, run as a user would: the real binary on the shared captures.

mod support;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn shared() -> Option<PathBuf> {
    support::prereq::shared("")
}

fn tiktwitch() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tiktwitch"))
}

#[test]
fn decodes_the_edge_file_one_line_per_message_with_a_summary() {
    let Some(shared) = shared() else { return };
    let out = tiktwitch()
        .args(["decode", "--format", "frames"])
        .arg(shared.join("corpus/edge.bin"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect();
    // 2+2+2+2+5+7+1+3+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+1+5000+1+2 messages in good frames.
    assert_eq!(lines.len(), 5044);
    assert!(lines.iter().all(|l| l["type"].is_string()));
    let errors = lines.iter().filter(|l| l["type"] == "error").count();
    assert_eq!(errors, 5, "message-level errors are lines of their own");
    // The corpus's invalid_utf8_content edge case is relayed with U+FFFD, not an error.
    assert!(
        lines
            .iter()
            .any(|l| l["type"] == "chat" && l["text"] == "bad \u{fffd}\u{fffd} utf8 \u{fffd}"),
        "the invalid UTF-8 comment is decoded lossily"
    );
    let summary = stderr.lines().last().unwrap();
    assert!(
        summary.starts_with("decode: 43 frames, 5044 messages (4 unknown), 14 errors"),
        "{summary}"
    );
    assert!(summary.contains("too_large 1"), "{summary}");
}

#[test]
fn decodes_payload_lines_from_stdin() {
    let Some(shared) = shared() else { return };
    let input = std::fs::read(shared.join("fixtures/webcast/real-2023.jsonl")).unwrap();
    let mut child = tiktwitch()
        .args(["decode", "--format", "payloads", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Written from a thread: the output outgrows a pipe's buffer before the input is all
    // written (typed kinds carry their data), so writing first and reading after deadlocks.
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout.lines().count(),
        364,
        "one line per payload, in order"
    );
    let first: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(first["method"], "LinkMicMethod");
    assert!(
        !stdout.contains(r#""type":"error""#),
        "real captures never fail"
    );
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let out = tiktwitch()
        .args(["decode", "/nonexistent/capture.bin"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("/nonexistent/capture.bin"), "{stderr}");
}

/// `tiktwitch decode FILE 2>&1 | head -1`: the reader goes away after one line. The
/// process must end quietly with status 0 (no error, no panic from writing to the closed
/// pipe, on stdout or stderr).
#[test]
fn a_closed_pipe_ends_quietly_with_status_zero() {
    use std::io::BufRead;
    let Some(shared) = shared() else { return };
    let (reader, writer) = std::io::pipe().unwrap();
    let mut child = tiktwitch()
        .args(["decode", "--format", "frames"])
        .arg(shared.join("corpus/edge.bin"))
        .stdout(writer.try_clone().unwrap())
        .stderr(writer)
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(reader)
        .read_line(&mut first)
        .unwrap();
    assert!(!first.is_empty(), "one line arrived before the reader left");
    // The BufReader (the pipe's only reader) is dropped here: writes now fail with EPIPE.
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}
