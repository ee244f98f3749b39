//! `[twitch_stream]`: knowing whether the Twitch channels are live (EventSub over WebSocket,
//! Helix `GET /streams` polling as the fallback), and what a bridge does about it:
//! `when_twitch_offline` (relay or hold its lines) and `twitch_live_announcement` (a line
//! posted when the stream goes live). Both can be set per `[[bridge]]`.

use serde::{Deserialize, Serialize};

use super::Problem;

/// What a bridge does with its lines while its Twitch stream is offline.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WhenTwitchOffline {
    /// Post as usual, live or not.
    #[default]
    Relay,
    /// Hold (post nothing, count the lines as `paused`) until the stream goes live.
    Pause,
}

impl WhenTwitchOffline {
    /// The names the config file takes, in order.
    pub const NAMES: [&'static str; 2] = ["relay", "pause"];
}

/// The variables `twitch_live_announcement` may use.
pub const ANNOUNCEMENT_VARIABLES: [&str; 3] = ["channel", "title", "category"];

/// `[twitch_stream]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TwitchStreamConfig {
    /// Watch the channels' live state (status, metrics, feed) even when no bridge pauses or
    /// announces. A bridge with `when_twitch_offline = "pause"` or an announcement turns
    /// the watch on by itself.
    pub enabled: bool,
    /// The EventSub WebSocket endpoint (`ws://` or `wss://`).
    pub eventsub_url: String,
    /// Seconds between Helix `GET /streams` polls when EventSub cannot be used (no user
    /// token, subscriptions refused, repeated failures); default
    /// [`crate::limits::TWITCH_STREAM_POLL_INTERVAL`].
    pub poll_interval_secs: u64,
    /// `relay` (default) or `pause`: every bridge's behaviour while its Twitch stream is
    /// offline (a `[[bridge]]` may set its own).
    pub when_twitch_offline: WhenTwitchOffline,
    /// A line (minijinja, with `channel`, `title`, `category`) posted into a channel when
    /// its stream goes live; empty (default) posts none. A `[[bridge]]` may set its own.
    pub twitch_live_announcement: String,
}

impl Default for TwitchStreamConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            eventsub_url: crate::limits::TWITCH_EVENTSUB_WS_URL.into(),
            poll_interval_secs: crate::limits::TWITCH_STREAM_POLL_INTERVAL.as_secs(),
            when_twitch_offline: WhenTwitchOffline::Relay,
            twitch_live_announcement: String::new(),
        }
    }
}

/// Every problem of `[twitch_stream]` (the numeric ranges are checked with the others).
pub fn validate(section: &TwitchStreamConfig, problems: &mut Vec<Problem>) {
    super::validate::check_url(
        "twitch_stream.eventsub_url",
        &section.eventsub_url,
        &["ws", "wss"],
        problems,
    );
    check_announcement(
        "twitch_stream.twitch_live_announcement",
        &section.twitch_live_announcement,
        problems,
    );
}

/// A `twitch_live_announcement` must compile and use only [`ANNOUNCEMENT_VARIABLES`].
pub fn check_announcement(path: &str, template: &str, problems: &mut Vec<Problem>) {
    if template.trim().is_empty() {
        return;
    }
    let env = minijinja::Environment::new();
    match env.template_from_str(template) {
        Err(e) => problems.push(Problem::new(path, format!("not a template: {e}"))),
        Ok(t) => {
            let unknown: Vec<String> = t
                .undeclared_variables(false)
                .into_iter()
                .filter(|v| !ANNOUNCEMENT_VARIABLES.contains(&v.as_str()))
                .collect();
            if !unknown.is_empty() {
                problems.push(
                    Problem::new(path, format!("unknown variable(s): {}", unknown.join(", ")))
                        .with_hint(format!("use: {}", ANNOUNCEMENT_VARIABLES.join(", "))),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_templates_are_checked_with_key_paths() {
        let mut problems = Vec::new();
        validate(&TwitchStreamConfig::default(), &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        let bad = TwitchStreamConfig {
            eventsub_url: "https://example.com/ws".into(),
            twitch_live_announcement: "{{ titel }} live".into(),
            ..TwitchStreamConfig::default()
        };
        validate(&bad, &mut problems);
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "twitch_stream.eventsub_url",
                "twitch_stream.twitch_live_announcement"
            ]
        );
        let mut problems = Vec::new();
        check_announcement("x", "{{ unclosed", &mut problems);
        check_announcement(
            "y",
            "Live: {{ title }} ({{ category }}) #{{ channel }}",
            &mut problems,
        );
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].path, "x");
    }

    #[test]
    fn the_offline_names_match_serde() {
        for (v, name) in [WhenTwitchOffline::Relay, WhenTwitchOffline::Pause]
            .iter()
            .zip(WhenTwitchOffline::NAMES)
        {
            assert_eq!(serde_json::to_value(v).unwrap(), name);
        }
    }
}
