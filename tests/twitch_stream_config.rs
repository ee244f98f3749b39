//! `[twitch_stream]` and the per-bridge `when_twitch_offline` / `twitch_live_announcement`:
//! what the loader (and so `check`) refuses, each at its key path, and what it maps to in
//! the run plan.

use tiktwitch::config::twitch_stream::WhenTwitchOffline;
use tiktwitch::daemon::Plan;

const HEAD: &str = r#"
[tiktok]
username = "alice"

[twitch]
bot_login = "bot"
client_id = "cid"
channels = ["main_chan"]
"#;

fn load(text: &str) -> Result<tiktwitch::config::Loaded, tiktwitch::config::LoadError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, text).unwrap();
    tiktwitch::config::load(Some(&path), tiktwitch::pipeline::Pipeline::check)
}

#[test]
fn bad_values_are_refused_at_their_key_paths() {
    let text = HEAD.to_owned()
        + r#"
[twitch_stream]
eventsub_url = "https://eventsub.example/ws"
poll_interval_secs = 1
twitch_live_announcement = "{{ titel }}"

[[bridge]]
name = "a"
twitch_channels = ["chan_a"]
twitch_live_announcement = "{{ title"

[[bridge]]
name = "b"
when_twitch_offline = "hold"
"#;
    let error = load(&text).unwrap_err().to_string();
    for path in [
        "twitch_stream.eventsub_url",
        "twitch_stream.poll_interval_secs",
        "twitch_stream.twitch_live_announcement",
        "bridge[0].twitch_live_announcement",
        "bridge[1].when_twitch_offline",
    ] {
        assert!(error.contains(path), "{path} missing from:\n{error}");
    }
    assert!(
        error.contains("relay") && error.contains("pause"),
        "{error}"
    );
}

#[test]
fn the_plan_watches_only_when_needed_and_bridges_override_the_section() {
    let plain = load(HEAD).unwrap();
    assert!(
        Plan::from_config(&plain, None)
            .unwrap()
            .twitch_stream
            .is_none()
    );

    let text = HEAD.to_owned()
        + r#"helix_base_url = "http://127.0.0.1:1/helix"

[twitch_stream]
eventsub_url = "ws://127.0.0.1:1/ws"
poll_interval_secs = 5
twitch_live_announcement = "Live: {{ title }}"

[[bridge]]
name = "a"
twitch_channels = ["chan_a"]
when_twitch_offline = "pause"

[[bridge]]
name = "b"
twitch_live_announcement = ""
"#;
    let loaded = load(&text).unwrap_or_else(|e| panic!("{e}"));
    let plan = Plan::from_config(&loaded, None).unwrap();
    let stream = plan.twitch_stream.expect("bridge a pauses: the watch runs");
    assert_eq!(stream.watch.channels, ["chan_a", "main_chan"]);
    assert_eq!(stream.watch.eventsub_url, "ws://127.0.0.1:1/ws");
    assert_eq!(stream.watch.helix_base_url, "http://127.0.0.1:1/helix");
    assert_eq!(stream.watch.poll_interval.as_secs(), 5);
    let a = &stream.bridges[0];
    assert_eq!(a.when_offline, WhenTwitchOffline::Pause);
    assert_eq!(a.announcement.as_deref(), Some("Live: {{ title }}"));
    let b = &stream.bridges[1];
    assert_eq!(b.when_offline, WhenTwitchOffline::Relay);
    assert_eq!(b.announcement, None, "an empty bridge value turns it off");
}
