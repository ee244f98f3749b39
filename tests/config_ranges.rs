//! Every numeric config key has a range (`config::ranges::RANGES`), checked at load with
//! the key path, the value and the range in the message; every value it lets through runs.
//!
//! - the table covers every numeric field of the schema (a new key without a range fails);
//! - each key, walked with 0, 1, the range's ends, one past them, `i64::MAX`, a number too
//!   big for TOML and a negative one, is either refused at its path or loads, plans and
//!   builds what the daemon builds from it (durations added to the clock, pipelines);
//! - the daemon runs against the stand-ins with every key at its largest, then at its
//!   smallest accepted value, relays a line, and stops cleanly (paused time);
//! - the README's "Config ranges" table is the one the code generates.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tiktwitch::config::feed::WebhookConfig;
use tiktwitch::config::ranges::{self, Bounds, KeyRange, RANGES};
use tiktwitch::config::{Config, LoadError, Loaded, load_with_env};
use tiktwitch::daemon::{self, Plan};
use tiktwitch::pipeline::Pipeline;
use tiktwitch::standin::TwitchSide;
use tiktwitch::standin::tiktok::{FakeTikTok, FakeTikTokConfig, Step, frames};

/// Every optional value set, one `[[webhook]]`, one coin price: every numeric key appears.
fn populated() -> Config {
    let mut c = Config {
        webhook: vec![WebhookConfig::default()],
        ..Config::default()
    };
    c.twitch.lines_per_30s = Some(18);
    c.pricing.coin_prices.insert("USD".into(), 0.0133);
    c
}

#[test]
fn every_numeric_key_has_a_range_and_every_range_a_key() {
    let json = serde_json::to_value(populated()).unwrap();
    let mut leaves = Vec::new();
    ranges::numeric_leaves("", &json, &mut leaves);
    let keys: Vec<String> = leaves.iter().map(|(p, _)| ranges::table_key(p)).collect();
    assert!(keys.len() >= 20, "{keys:?}");
    for key in &keys {
        assert!(
            ranges::range_of(key).is_some(),
            "`{key}` is numeric but has no range: add it to config::ranges::RANGES"
        );
    }
    for range in RANGES {
        assert!(
            keys.iter().any(|k| k == range.key),
            "RANGES lists `{}`, which is not a numeric key of the schema",
            range.key
        );
    }
    // Every default is inside its own range.
    for (path, number) in &leaves {
        assert!(
            ranges::check_number(path, number).is_none(),
            "the default of {path} ({number}) is out of its range"
        );
    }
}

/// A minimal valid config in dotted keys (so a key of any section can be added at the root),
/// with the HTTP listener, feed and API on so their keys are used.
const BASE: &str = r#"
tiktok.username = "@creator"
twitch.channels = ["mychannel"]
twitch.bot_login = "mybot"
twitch.client_id = "abc"
http.enabled = true
http.bind = "127.0.0.1:0"
feed.enabled = true
api.enabled = true
"#;

/// The config text setting `key` (a [`KeyRange::key`]) to `literal`, and the path a
/// problem about it must name. `bridge` puts it in a `[[bridge]]` override instead.
fn config_setting(key: &str, literal: &str, bridge: bool) -> (String, String) {
    let mut text = BASE.to_owned();
    if let Some(field) = key.strip_prefix("webhook[].") {
        text.push_str(&format!(
            "[[webhook]]\nurl = \"http://127.0.0.1:9/hook\"\n{field} = {literal}\n"
        ));
        return (text, format!("webhook[0].{field}"));
    }
    let key = key.replace(".*", ".USD");
    if bridge {
        let (section, field) = key.split_once('.').unwrap();
        text.push_str(&format!(
            "[[bridge]]\nname = \"b\"\n[bridge.{section}]\n{field} = {literal}\n"
        ));
        return (text, format!("bridge[0].{key}"));
    }
    text.insert_str(0, &format!("{key} = {literal}\n"));
    (text, key)
}

fn load_text(dir: &tempfile::TempDir, text: &str) -> Result<Loaded, LoadError> {
    let path = dir.path().join("config.toml");
    std::fs::write(&path, text).unwrap();
    load_with_env(
        &path,
        Some(HashMap::new()),
        tiktwitch::pipeline::Pipeline::check,
    )
}

/// The values to try for a range, as TOML literals, each with whether it is allowed.
fn edge_values(range: &KeyRange) -> Vec<(String, bool)> {
    let mut values = vec![
        ("-1".to_owned(), false),
        (i64::MAX.to_string(), false),
        ("99999999999999999999".to_owned(), false),
    ];
    match range.bounds {
        Bounds::Whole { min, max } => {
            let allowed = |v: u64| (min..=max).contains(&v);
            for v in [0, 1, min, max, max + 1] {
                values.push((v.to_string(), allowed(v)));
            }
            if min > 0 {
                values.push(((min - 1).to_string(), false));
            }
            // A whole-number key never takes a fraction (the loader used to round it).
            values.push((format!("{min}.5"), false));
        }
        Bounds::Decimal { above, max } => {
            values.push(("0".into(), above < 0.0));
            values.push(("0.5".into(), 0.5 > above && 0.5 <= max));
            values.push((format!("{max:.1}"), true));
            values.push((format!("{:.1}", max + 1.0), false));
        }
    }
    values
}

/// What `run` derives from the plan: every duration added to the clock (with the daemon's
/// multiples: three silent heartbeats, doubled back-offs), every pipeline built.
fn exercise(plan: &Plan) {
    let now = Instant::now();
    let mut durations = vec![
        plan.grace,
        plan.sink.duplicate_window,
        plan.sink.shutdown_drain,
    ];
    for bridge in &plan.bridges {
        let s = &bridge.source;
        durations.extend([s.poll_interval, s.heartbeat * 3, s.max_backoff * 2]);
        Pipeline::new(&bridge.pipeline).expect("an accepted pipeline builds");
    }
    for hook in &plan.feed.webhooks {
        durations.extend([hook.batch_wait, hook.timeout, hook.max_backoff * 2]);
    }
    for d in durations {
        assert!(now.checked_add(d).is_some(), "{d:?} overflows the clock");
    }
}

#[test]
fn every_key_is_refused_at_its_path_out_of_range_and_runs_in_range() {
    let dir = tempfile::tempdir().unwrap();
    let mut tried = 0;
    for range in RANGES {
        // The signer budget is one for the whole process: a bridge may not set it
        // (tests/config.rs checks that refusal).
        let bridgeable = ["tiktok.", "coalesce.", "filters."]
            .iter()
            .any(|s| range.key.starts_with(s))
            && range.key != "tiktok.signer_calls_per_minute";
        for bridge in [false, true] {
            if bridge && !bridgeable {
                continue;
            }
            for (literal, allowed) in edge_values(range) {
                let (text, path) = config_setting(range.key, &literal, bridge);
                tried += 1;
                match load_text(&dir, &text) {
                    Ok(loaded) => {
                        assert!(allowed, "{path} = {literal} was accepted\n{text}");
                        let plan = Plan::from_config(&loaded, None)
                            .unwrap_or_else(|e| panic!("{path} = {literal}: {e}"));
                        exercise(&plan);
                    }
                    Err(LoadError::Invalid { errors, .. }) => {
                        assert!(!allowed, "{path} = {literal} refused: {errors}");
                        let ours = errors
                            .problems
                            .iter()
                            .find(|p| p.path == path)
                            .unwrap_or_else(|| {
                                panic!("{path} = {literal}: not at its path: {errors}")
                            });
                        let shown = ours.to_string();
                        assert!(
                            shown.contains(&range.bounds.to_string()),
                            "{path} = {literal}: the range is not named: {shown}"
                        );
                        assert!(
                            shown.contains(literal.trim_end_matches(".0")),
                            "{path} = {literal}: the value is not named: {shown}"
                        );
                        assert_eq!(errors.problems.len(), 1, "{path} = {literal}: {errors}");
                    }
                    Err(other) => panic!("{path} = {literal}: {other}"),
                }
            }
        }
    }
    assert!(tried > 200, "{tried}");
}

#[test]
fn a_number_too_big_for_toml_hides_no_other_problem() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{BASE}shutdown.grace_secs = 99999999999999999999\ntwitch.queue_capacity = 0\n\
         [[webhook]]\nurl = \"http://127.0.0.1:9/hook\"\ntimeout_secs = 1_000_000_000_000_000_000_000\n"
    );
    let Err(LoadError::Invalid { errors, .. }) = load_text(&dir, &text) else {
        panic!("expected problems");
    };
    let shown: Vec<String> = errors.problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "shutdown.grace_secs: 99999999999999999999 is out of range: 0 to 3_600 (the default is 5)",
            "twitch.queue_capacity: 0 is out of range: 1 to 10_000 (the default is 64)",
            "webhook[0].timeout_secs: 1_000_000_000_000_000_000_000 is out of range: 1 to 600 (the default is 10)",
        ]
    );
}

#[test]
fn environment_values_are_checked_like_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, BASE).unwrap();
    let env = |k: &str, v: &str| Some(HashMap::from([(k.to_owned(), v.to_owned())]));
    for (value, allowed) in [
        ("30", true),
        ("0", true),
        ("9223372036854775807", false),
        ("-3", false),
        ("99999999999999999999", false),
    ] {
        let result = load_with_env(
            &path,
            env("TIKTWITCH__SHUTDOWN__GRACE_SECS", value),
            tiktwitch::pipeline::Pipeline::check,
        );
        match result {
            Ok(loaded) => {
                assert!(allowed, "{value}");
                assert_eq!(loaded.config.shutdown.grace_secs.to_string(), value);
            }
            Err(LoadError::Invalid { errors, .. }) => {
                let shown = errors.to_string();
                assert!(!allowed, "{value}: {shown}");
                assert!(shown.contains("shutdown.grace_secs: "), "{shown}");
                assert!(shown.contains("0 to 3_600"), "{shown}");
                assert!(shown.contains("(set in the environment)"), "{shown}");
            }
            Err(other) => panic!("{value}: {other}"),
        }
    }
}

// --- the daemon with extreme accepted values ---

const SIGNER_KEY: &str = "ranges-signer-key";

/// Every key at its largest (`largest`) or smallest accepted value, as TOML lines per
/// section (`[[webhook]]` ones apart).
fn extreme_sections(largest: bool) -> (HashMap<String, Vec<String>>, Vec<String>) {
    let mut sections: HashMap<String, Vec<String>> = HashMap::new();
    let mut webhook = Vec::new();
    for range in RANGES {
        let literal = match (range.bounds, largest) {
            (Bounds::Whole { max, .. }, true) => max.to_string(),
            (Bounds::Whole { min, .. }, false) => min.to_string(),
            (Bounds::Decimal { max, .. }, true) => format!("{max:.1}"),
            (Bounds::Decimal { .. }, false) => "0.000001".into(),
        };
        if let Some(field) = range.key.strip_prefix("webhook[].") {
            webhook.push(format!("{field} = {literal}"));
            continue;
        }
        let key = range.key.replace(".*", ".USD");
        let (section, field) = key.rsplit_once('.').unwrap();
        sections
            .entry(section.to_owned())
            .or_default()
            .push(format!("{field} = {literal}"));
    }
    (sections, webhook)
}

fn extreme_config(side: &TwitchSide, fake: &FakeTikTok, largest: bool) -> String {
    let (mut sections, webhook) = extreme_sections(largest);
    let mut text = side.config_head();
    // [twitch] is opened by the head: its keys go right after it.
    for line in sections.remove("twitch").unwrap_or_default() {
        text.push_str(&line);
        text.push('\n');
    }
    // Up to 18 lines per 30 s whatever the table's smallest is: the line must go out.
    text = text.replace("lines_per_30s = 1\n", "lines_per_30s = 18\n");
    text.push_str("\n[http]\nenabled = true\nbind = \"127.0.0.1:0\"\n[feed]\nenabled = true\n[api]\nenabled = true\n");
    let mut names: Vec<_> = sections.keys().cloned().collect();
    names.sort();
    for section in names {
        let header = if section == "http" || section == "feed" || section == "api" {
            String::new() // already open above: append to it by dotted keys at the end
        } else {
            format!("[{section}]\n")
        };
        if header.is_empty() {
            continue;
        }
        text.push_str(&header);
        for line in &sections[&section] {
            text.push_str(line);
            text.push('\n');
        }
    }
    text.push_str("[[webhook]]\nurl = \"http://127.0.0.1:9/hook\"\nsecret = \"webhook-secret\"\n");
    for line in webhook {
        text.push_str(&line);
        text.push('\n');
    }
    text.push_str(&fake.bridge_toml("x", "chan_x"));
    // [http], [feed] and [api] keys: placed by replacing the `enabled = true` lines of
    // their tables.
    for section in ["http", "feed", "api"] {
        let lines = sections
            .get(section)
            .cloned()
            .unwrap_or_default()
            .join("\n");
        text = text.replace(
            &format!("[{section}]\nenabled = true\n"),
            &format!("[{section}]\nenabled = true\n{lines}\n"),
        );
    }
    text
}

async fn run_with_extremes(largest: bool) {
    let fake = FakeTikTok::start(FakeTikTokConfig {
        username: "creator".into(),
        room_id: 7_300_000_000_000_000_000,
        api_key: Some(SIGNER_KEY.into()),
        ..FakeTikTokConfig::default()
    })
    .await
    .unwrap();
    let room = fake.room_id();
    fake.push_script(vec![
        Step::Pause(Duration::from_millis(300)),
        Step::Frame(frames::single(
            room + 1,
            frames::chat_message(room + 1, room, "fan", "edge values"),
        )),
    ]);
    let side = TwitchSide::start("ranges-client").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path: PathBuf = dir.path().join("config.toml");
    let text = extreme_config(&side, &fake, largest);
    std::fs::write(&path, &text).unwrap();
    let loaded =
        tiktwitch::config::load(Some(Path::new(&path)), tiktwitch::pipeline::Pipeline::check)
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
    let plan = Plan::from_config(&loaded, None).unwrap();
    let secrets = side
        .secrets(&[
            ("tiktok-signer-api-key", SIGNER_KEY),
            ("api-token", "t"),
            ("webhook-secret", "s"),
        ])
        .await
        .unwrap();
    let daemon = daemon::spawn(plan, Arc::new(secrets));
    let mut waited = 0;
    while side.twitch.delivered().is_empty() {
        tokio::time::sleep(Duration::from_secs(1)).await;
        waited += 1;
        // Virtual time: a failed first attempt may wait out the largest back-off (an hour).
        assert!(
            waited < 4 * 3_600,
            "the line never came (virtual time)\n{text}"
        );
    }
    // A few minutes of the live with these values: timers fire, nothing overflows.
    tokio::time::sleep(Duration::from_secs(600)).await;
    daemon.stop();
    let report = daemon
        .join()
        .await
        .expect("no panic")
        .expect("a clean stop");
    assert!(report.sink.sent >= 1);
    // The bridge was still running when asked to stop: nothing ended it mid-live.
    assert_eq!(report.bridges[0].1, daemon::BridgeEnd::Shutdown, "\n{text}");
}

#[tokio::test(start_paused = true)]
async fn the_daemon_runs_with_every_key_at_its_largest_accepted_value() {
    run_with_extremes(true).await;
}

#[tokio::test(start_paused = true)]
async fn the_daemon_runs_with_every_key_at_its_smallest_accepted_value() {
    run_with_extremes(false).await;
}

// --- the README ---

/// The "Config ranges" table, as the README must show it.
fn readme_table() -> String {
    let mut out = String::from("| key | range | default | why |\n| --- | --- | --- | --- |\n");
    for r in RANGES {
        let default = ranges::default_of(r.key)
            .or_else(|| ranges::unset_default(r.key))
            .unwrap_or_else(|| "unset".into());
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            r.key, r.bounds, default, r.why
        ));
    }
    out
}

#[test]
fn the_readme_shows_the_ranges_the_code_checks() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let table = readme_table();
    assert!(
        readme.contains(&table),
        "README.md's \"### Config ranges\" table is out of date; put this in it:\n\n{table}"
    );
}

/// The "Pacing" section's numbers, as the constants the sink paces by give them.
fn readme_pacing() -> String {
    use tiktwitch::limits::{
        TWITCH_ALLOWED_LINES_PER_WINDOW, TWITCH_ALLOWED_LINES_PER_WINDOW_ELEVATED,
        TWITCH_LINES_PER_WINDOW, TWITCH_LINES_PER_WINDOW_ELEVATED,
    };
    format!(
        "Twitch allows {TWITCH_ALLOWED_LINES_PER_WINDOW} lines per 30 s \
         ({TWITCH_ALLOWED_LINES_PER_WINDOW_ELEVATED} where the bot is moderator, VIP or broadcaster).\n\
         tiktwitch sends at most **{TWITCH_LINES_PER_WINDOW}** of Twitch's {TWITCH_ALLOWED_LINES_PER_WINDOW} \
         (**{TWITCH_LINES_PER_WINDOW_ELEVATED}** of {TWITCH_ALLOWED_LINES_PER_WINDOW_ELEVATED}) in any 30 s window: \
         {} ({}) are kept as a safety\n",
        TWITCH_ALLOWED_LINES_PER_WINDOW - TWITCH_LINES_PER_WINDOW,
        TWITCH_ALLOWED_LINES_PER_WINDOW_ELEVATED - TWITCH_LINES_PER_WINDOW_ELEVATED,
    )
}

#[test]
fn the_readme_states_the_pacing_the_sink_uses() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let pacing = readme_pacing();
    assert!(
        readme.contains(&pacing),
        "README.md's \"### Pacing\" section does not say what the sink does; it must read:\n\n{pacing}"
    );
}
