//! Scrubbing secrets from text on its way out: the last line of defence for logs.
//!
//! [`Secret`](super::Secret) keeps values out of `Debug` and `Display`, but text made
//! elsewhere can still carry one: twitch-irc traces every line it sends (`> PASS
//! oauth:<token>`), an HTTP library may trace a URL or a header. So every log byte passes
//! through [`RedactingMakeWriter`], which replaces
//!
//! - every value registered with [`register`] (each [`Secret`](super::Secret) registers
//!   itself when it is made: whatever a store returned, every token Twitch granted), and
//! - what looks like a credential whatever its value: `oauth:<x>`, `PASS <x>`,
//!   `Bearer <x>`, `?token=<x>`-style query parameters and `"access_token": "<x>"`-style
//!   JSON fields,
//!
//! with `<redacted>` before the line reaches stderr. Belt and braces: a value never
//! registered is still caught by its shape, and a value of any shape is caught once known.

use std::borrow::Cow;
use std::collections::{HashSet, VecDeque};
use std::io::{self, Write};
use std::sync::{LazyLock, RwLock};

use aho_corasick::{AhoCorasick, MatchKind};
use regex::Regex;

/// What a scrubbed value is replaced with.
pub const REDACTED: &str = "<redacted>";

/// Values shorter than this are not registered: replacing every `abc` in the log would
/// wreck it, and a secret that short guards nothing anyway.
pub const MIN_REGISTERED_LEN: usize = 6;

/// How many distinct values the registry keeps; past this the oldest is forgotten (a
/// bridge that refreshes its token every few hours for months must not grow without
/// bound; a token that old is long dead, and its shape still matches the patterns).
pub const MAX_REGISTERED: usize = 4096;

#[derive(Default)]
struct Registry {
    order: VecDeque<String>,
    known: HashSet<String>,
    /// Rebuilt on the first scrub after a change.
    matcher: Option<AhoCorasick>,
}

impl Registry {
    /// Adds `value`, forgetting the oldest past `capacity`; false if it was known.
    fn insert(&mut self, value: &str, capacity: usize) -> bool {
        if !self.known.insert(value.to_owned()) {
            return false;
        }
        self.order.push_back(value.to_owned());
        while self.order.len() > capacity {
            if let Some(old) = self.order.pop_front() {
                self.known.remove(&old);
            }
        }
        self.matcher = None;
        true
    }
}

static REGISTRY: LazyLock<RwLock<Registry>> = LazyLock::new(RwLock::default);

/// Credential shapes: a kept prefix (`oauth:`, `PASS `, `?token=` ...) then the value.
/// The value excludes `<`, so already scrubbed text (`oauth:<redacted>`) is left alone.
static SHAPES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?P<keep>",
        r"oauth:",
        r"|\bPASS ",
        r"|\b[Bb]earer ",
        r"|[Aa]uthorization:\s*OAuth ",
        r"|[?&](?:token|access_token|refresh_token|client_secret|api_key|apikey|code|device_code)=",
        r#"|\\?"(?:access_token|refresh_token|client_secret|device_code|api_key|token|secret)\\?"\s*:\s*\\?""#,
        r")(?P<value>[^\s<>&'\x22\\]+)",
    ))
    .expect("the credential patterns are valid")
});

/// Remembers `value` so that it is scrubbed from every log line from now on. Values
/// shorter than [`MIN_REGISTERED_LEN`] are ignored.
pub fn register(value: &str) {
    if value.chars().count() < MIN_REGISTERED_LEN {
        return;
    }
    {
        let Ok(registry) = REGISTRY.read() else {
            return;
        };
        if registry.known.contains(value) {
            return;
        }
    }
    REGISTRY
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .insert(value, MAX_REGISTERED);
}

/// `text` with every registered value and every credential shape replaced by
/// [`REDACTED`]. Borrows when there was nothing to replace.
pub fn scrub(text: &str) -> Cow<'_, str> {
    let known = scrub_known(text);
    match SHAPES.is_match(&known) {
        false => known,
        true => Cow::Owned(
            SHAPES
                .replace_all(&known, |c: &regex::Captures<'_>| {
                    format!("{}{REDACTED}", &c["keep"])
                })
                .into_owned(),
        ),
    }
}

fn scrub_known(text: &str) -> Cow<'_, str> {
    let matcher = {
        let registry = REGISTRY.read().unwrap_or_else(|p| p.into_inner());
        if registry.order.is_empty() {
            return Cow::Borrowed(text);
        }
        registry.matcher.clone()
    };
    let matcher = match matcher {
        Some(m) => m,
        None => {
            let mut registry = REGISTRY.write().unwrap_or_else(|p| p.into_inner());
            if registry.matcher.is_none() {
                // Leftmost-longest: of two registered values where one contains the other,
                // the longer is replaced whole.
                registry.matcher = AhoCorasick::builder()
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(registry.order.iter())
                    .ok();
            }
            match registry.matcher.clone() {
                Some(m) => m,
                // Building can only fail past aho-corasick's size limits; then the shapes
                // still apply.
                None => return Cow::Borrowed(text),
            }
        }
    };
    if !matcher.is_match(text) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    matcher.replace_all_with(text, &mut out, |_, _, dst| {
        dst.push_str(REDACTED);
        true
    });
    Cow::Owned(out)
}

/// A `tracing_subscriber` writer factory whose writers scrub (see [`scrub`]) each line
/// before it reaches the inner writer.
#[derive(Debug, Clone)]
pub struct RedactingMakeWriter<M> {
    inner: M,
}

impl<M> RedactingMakeWriter<M> {
    /// Wraps `inner` (e.g. `std::io::stderr`).
    pub fn new(inner: M) -> Self {
        Self { inner }
    }
}

impl<'a, M: tracing_subscriber::fmt::MakeWriter<'a>> tracing_subscriber::fmt::MakeWriter<'a>
    for RedactingMakeWriter<M>
{
    type Writer = RedactingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter::new(self.inner.make_writer())
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> Self::Writer {
        RedactingWriter::new(self.inner.make_writer_for(meta))
    }
}

/// A writer that holds bytes until a line is complete, scrubs the line, and passes it on.
/// What is left without a newline goes out (scrubbed) on flush or drop.
#[derive(Debug)]
pub struct RedactingWriter<W: Write> {
    inner: W,
    pending: Vec<u8>,
}

impl<W: Write> RedactingWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            pending: Vec::new(),
        }
    }

    fn emit(&mut self, upto: usize) -> io::Result<()> {
        let line: Vec<u8> = self.pending.drain(..upto).collect();
        let text = String::from_utf8_lossy(&line);
        self.inner.write_all(scrub(&text).as_bytes())
    }
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if let Some(last) = self.pending.iter().rposition(|b| *b == b'\n') {
            self.emit(last + 1)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.pending.is_empty() {
            self.emit(self.pending.len())?;
        }
        self.inner.flush()
    }
}

impl<W: Write> Drop for RedactingWriter<W> {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_values_are_replaced_wherever_they_appear() {
        register("reg-value-7f3a9c21");
        register("abc"); // too short: ignored
        let out = scrub("x=reg-value-7f3a9c21, y=[reg-value-7f3a9c21] abc");
        assert_eq!(out, "x=<redacted>, y=[<redacted>] abc");
    }

    #[test]
    fn credential_shapes_are_replaced_without_being_registered() {
        let cases = [
            (
                "> PASS oauth:unregistered0123456789",
                "> PASS <redacted>",
            ),
            ("token oauth:abcDEF123 here", "token oauth:<redacted> here"),
            (
                "GET /ws/main?bridge=a&token=zz-top-secret HTTP/1.1",
                "GET /ws/main?bridge=a&token=<redacted> HTTP/1.1",
            ),
            ("Authorization: Bearer eyJhbGc.x.y", "Authorization: Bearer <redacted>"),
            (
                r#"{"access_token":"at-1","refresh_token": "rt-2","login":"bot"}"#,
                r#"{"access_token":"<redacted>","refresh_token": "<redacted>","login":"bot"}"#,
            ),
            (
                r#"body: "{\"client_secret\":\"cs-3\"}""#,
                r#"body: "{\"client_secret\":\"<redacted>\"}""#,
            ),
        ];
        for (input, want) in cases {
            assert_eq!(scrub(input), want, "{input}");
            // Scrubbing is idempotent.
            assert_eq!(scrub(want), want);
        }
        // Ordinary words are left alone.
        for plain in [
            "Twitch OAuth token refused; refreshing",
            "oauth_base_url = http://127.0.0.1/oauth2",
            "the refresh_token was spent",
        ] {
            assert_eq!(scrub(plain), plain);
        }
    }

    #[test]
    fn the_writer_scrubs_each_line_even_when_split_across_writes() {
        register("split-secret-0042");
        let mut out = Vec::new();
        {
            let mut w = RedactingWriter::new(&mut out);
            w.write_all(b"first split-sec").unwrap();
            w.write_all(b"ret-0042 line\nsecond PASS oauth:").unwrap();
            w.write_all(b"qwerty123456").unwrap();
        }
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, "first <redacted> line\nsecond PASS <redacted>");
    }

    #[test]
    fn the_registry_is_bounded_and_forgets_the_oldest() {
        let mut registry = Registry::default();
        for i in 0..13 {
            assert!(registry.insert(&format!("bounded-{i:08}"), 10));
        }
        assert!(!registry.insert("bounded-00000012", 10));
        assert_eq!(registry.order.len(), 10);
        assert_eq!(registry.known.len(), 10);
        assert!(!registry.known.contains("bounded-00000002"));
        assert!(registry.known.contains("bounded-00000003"));
    }
}
