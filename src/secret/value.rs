//! [`Secret`]: a string that never prints itself.

use std::fmt;

/// A secret value (token, API key, password). Its `Debug` and `Display` print `<redacted>`,
/// so it can sit inside any struct that is logged or formatted into an error; the value is
/// reached only through [`Secret::expose`], which makes every use easy to find.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value, and registers it with [`super::redact`] so that it is scrubbed
    /// from every log line even where it got out by another road than this type.
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        super::redact::register(&value);
        Self(value)
    }

    /// The value itself. Call this only where the value leaves the process (an HTTP form,
    /// the IRC `PASS` line, the secret store).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the value is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let s = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        assert_eq!(format!("{s}"), "<redacted>");
        assert_eq!(
            format!("{:#?}", Some(&s)),
            "Some(\n    Secret(<redacted>),\n)"
        );
        assert_eq!(s.expose(), "hunter2-very-secret");
    }
}
