//! `tiktwitch demo`, run as the README says: it prints the show as Twitch chat shows it,
//! then a summary, and exits 0. Runs at 4x speed (Twitch's pacing stays real: ~20 s).

use std::process::Command;

#[test]
fn the_demo_prints_the_show_and_exits_zero() {
    let out = Command::new(env!("CARGO_BIN_EXE_tiktwitch"))
        .args(["demo", "--speed", "4"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "exit {:?}\n{stdout}\n{stderr}",
        out.status
    );
    for expected in [
        "hi from TikTok! 👋",
        "Привет из Москвы",
        "こんにちは",
        "مرحبا من القاهرة",
        "5× Rose",
        "Universe",
        "followed",
        "shared",
        "subscribed",
        "ended",
        "0 rule violations",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
    // The hostile line arrives as harmless text on one line: no second IRC command, no
    // chat command at the start of the message.
    let hostile = stdout
        .lines()
        .find(|l| l.contains("pwned"))
        .unwrap_or_else(|| panic!("the hostile line is missing:\n{stdout}"));
    assert!(
        hostile.contains("/ban streamer PRIVMSG #other :pwned"),
        "{hostile}"
    );
    assert!(!stdout.lines().any(|l| l.starts_with("PRIVMSG")));
    // Pacing is visible: lines to one channel are at least 1.1 s apart (mm:ss.d stamps).
    let stamps: Vec<f64> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix('['))
        .filter_map(|l| l.get(..7))
        .filter_map(|t| {
            let (m, s) = t.split_once(':')?;
            Some(m.parse::<f64>().ok()? * 60.0 + s.parse::<f64>().ok()?)
        })
        .collect();
    // Waiting comments, follows and shares share lines (packing is on by default), so the
    // show takes fewer lines than events; the end of the live comes last.
    assert!(stamps.len() >= 6, "{stdout}");
    assert!(stdout.contains(" · [TT] "), "no packed line:\n{stdout}");
    assert!(stdout.contains("more packed into them"), "{stdout}");
    let shown: Vec<&str> = stdout.lines().filter(|l| l.starts_with('[')).collect();
    assert!(
        shown.last().is_some_and(|l| l.contains("ended")),
        "the end is not last:\n{stdout}"
    );
    // The relayed share: every comment part Twitch showed (`[TT] name: text`; the flood
    // summary `W (×3 more)` stands for comments, it is none itself), and the lines that
    // carried them, of the comments the show sent.
    let relayed_line = stdout
        .lines()
        .find(|l| l.starts_with("chat relayed: "))
        .unwrap_or_else(|| panic!("no relayed share line:\n{stdout}"));
    let numbers: Vec<u64> = relayed_line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    let [relayed, received, percent, lines] = numbers[..] else {
        panic!("{relayed_line}")
    };
    let comment_parts = |l: &&str| {
        l.split(" · ")
            .filter(|p| p.contains("[TT] ") && p.contains(": ") && !p.contains("(×"))
            .count() as u64
    };
    let shown_comments: u64 = shown.iter().map(comment_parts).sum();
    let shown_lines = shown.iter().filter(|l| comment_parts(l) > 0).count() as u64;
    assert_eq!(relayed, shown_comments, "{relayed_line}\n{stdout}");
    assert_eq!(lines, shown_lines, "{relayed_line}\n{stdout}");
    assert!(relayed > lines && relayed <= received, "{relayed_line}");
    assert_eq!(
        percent,
        (relayed * 100 + received / 2) / received,
        "{relayed_line}"
    );
    for pair in stamps.windows(2) {
        assert!(
            pair[1] - pair[0] >= 1.0,
            "lines closer than the channel gap: {pair:?}"
        );
    }
}
