//! Any text through the sink's sanitizer: it never panics, and what comes out is always
//! safe to put after `PRIVMSG #chan :` (no control character, no leading command prefix,
//! never empty, at most 500 characters per part, at most the asked number of parts).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tiktwitch::limits::MAX_MESSAGE_CHARS;
use tiktwitch::sink::sanitize::{SafeText, sanitize, sanitize_split};

fn check(part: &SafeText) {
    let text = part.as_str();
    assert!(!text.is_empty(), "empty part");
    assert!(
        text.chars().count() <= MAX_MESSAGE_CHARS,
        "part of {} chars",
        text.chars().count()
    );
    assert!(
        !text.chars().any(char::is_control),
        "control char in {text:?}"
    );
    assert!(!text.starts_with(['/', '.']), "command prefix in {text:?}");
    assert!(!text.contains('\u{2028}') && !text.contains('\u{2029}'));
}

fuzz_target!(|data: &[u8]| {
    let Some((&parts, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    if let Some(one) = sanitize(&text) {
        check(&one);
    }
    let max_parts = usize::from(parts % 8);
    let split = sanitize_split(&text, max_parts);
    assert!(split.len() <= max_parts.max(1), "{} parts", split.len());
    split.iter().for_each(check);
});
