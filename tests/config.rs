//! The config file end to end: the example parses, validates and documents every default;
//! a broken file gets one report listing every problem with its key path; environment
//! layering; bridges; and `tiktwitch check` as a user runs it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use tiktwitch::config::schema::{SecretStoreKind, SinkKind};
use tiktwitch::config::{Config, LoadError, Loaded, load_with_env};
use tiktwitch::pipeline::PipelineConfig;

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config.example.toml")
}

fn write(dir: &tempfile::TempDir, text: &str) -> PathBuf {
    let path = dir.path().join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn no_env() -> Option<HashMap<String, String>> {
    Some(HashMap::new())
}

fn env(pairs: &[(&str, &str)]) -> Option<HashMap<String, String>> {
    Some(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

fn problems(result: Result<Loaded, LoadError>) -> Vec<String> {
    match result {
        Err(LoadError::Invalid { errors, .. }) => {
            errors.problems.iter().map(ToString::to_string).collect()
        }
        Err(other) => panic!("expected problems, got {other}"),
        Ok(_) => panic!("expected problems, got a valid config"),
    }
}

const MINIMAL: &str = r#"
[tiktok]
username = "@creator"
[twitch]
channels = ["mychannel"]
bot_login = "mybot"
client_id = "abc"
"#;

#[test]
fn the_example_parses_validates_and_shows_the_defaults() {
    let loaded = load_with_env(&example(), no_env(), tiktwitch::pipeline::Pipeline::check)
        .unwrap_or_else(|e| panic!("{e}"));
    let c = &loaded.config;
    let d = Config::default();
    assert_eq!(
        c.routes, d.routes,
        "config.example.toml must show the default routes"
    );
    assert_eq!(c.filters, d.filters);
    assert_eq!(c.coalesce, d.coalesce);
    assert_eq!(c.http, d.http);
    assert_eq!(c.log, d.log);
    assert_eq!(c.shutdown, d.shutdown);
    assert_eq!(c.twitch_stream, d.twitch_stream);
    assert_eq!(c.secret_store, d.secret_store);
    let mut tiktok = c.tiktok.clone();
    tiktok.username = d.tiktok.username.clone();
    assert_eq!(tiktok, d.tiktok);
    let mut twitch = c.twitch.clone();
    (twitch.channels, twitch.bot_login, twitch.client_id) = (vec![], String::new(), String::new());
    assert_eq!(twitch, d.twitch);
    assert_eq!(loaded.bridges.len(), 1);
    assert_eq!(loaded.bridges[0].tiktok.username, "example_creator");
}

/// Every key of the schema (with a fully populated sample, so optional keys count) is
/// written in the example, commented out or not.
#[test]
fn the_example_documents_every_option() {
    let text = std::fs::read_to_string(example()).unwrap();
    let mut sample = Config {
        state_dir: Some("/x".into()),
        ..Config::default()
    };
    sample.tiktok.session_id = Some("x".into());
    sample.tiktok.proxy = Some("x".into());
    sample.twitch.client_secret = Some("x".into());
    sample.twitch.lines_per_30s = Some(1);
    let mut keys = Vec::new();
    collect_keys("", &serde_json::to_value(&sample).unwrap(), &mut keys);
    for bridge_key in [
        "name",
        "tiktok_username",
        "twitch_channels",
        "pause_keep_secs",
        "when_twitch_offline",
        "twitch_live_announcement",
        "routes",
        "filters",
        "coalesce",
    ] {
        keys.push(format!("bridge.{bridge_key}"));
    }
    for path in keys {
        let (section, key) = path.rsplit_once('.').unwrap_or(("", &path));
        let key_written = text.lines().any(|l| {
            let l = l.trim_start_matches(['#', ' ']);
            l.starts_with(&format!("{key} ="))
                || l.starts_with(&format!("[{path}]"))
                || l.starts_with(&format!("[{section}.{key}"))
        });
        assert!(
            key_written,
            "config.example.toml does not document `{path}`"
        );
        if !section.is_empty() && !section.starts_with("bridge") {
            let header = format!("[{section}]");
            assert!(
                text.contains(&header),
                "config.example.toml has no {header} for `{path}`"
            );
        }
    }
}

fn collect_keys(prefix: &str, value: &serde_json::Value, out: &mut Vec<String>) {
    if let serde_json::Value::Object(map) = value {
        for (key, child) in map {
            if prefix.is_empty() && key == "bridge" {
                continue; // an empty list by default; its keys are listed by hand
            }
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            if child.is_object() {
                collect_keys(&path, child, out);
            } else {
                out.push(path);
            }
        }
    }
}

#[test]
fn a_broken_config_gets_one_report_with_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        r#"
[tiktok]
username = "@creator"
poll_interval_secs = "sixty"          # wrong type

[twitch]
chanels = ["mychannel"]               # typo'd key
channels = ["my-channel"]             # a name Twitch refuses
bot_login = "mybot"
client_id = "abc"

[routes.gift]
template = "{{ user.name }} sent {{ gift.nmae }}"   # unknown attribute
[routes.follow]
template = "{% if user %}{{ user.name }"            # does not parse

[coalesce]
like_window_secs = 0                  # zero threshold
"#,
    );
    let found = problems(load_with_env(
        &path,
        no_env(),
        tiktwitch::pipeline::Pipeline::check,
    ));
    let expected_starts = [
        "coalesce.like_window_secs: 0 is out of range: 1 to 86_400 (the default is 60)",
        "routes.follow.template: template does not parse",
        "routes.gift.template: `gift` has no `nmae` (did you mean `gift.name`?)",
        "tiktok.poll_interval_secs: expected an integer, found string \"sixty\"",
        "twitch.chanels: unknown key (did you mean `channels`?)",
        "twitch.channels[0]: `my-channel` is not a name Twitch accepts",
    ];
    assert_eq!(found.len(), expected_starts.len(), "{found:#?}");
    for (problem, start) in found.iter().zip(expected_starts) {
        assert!(
            problem.starts_with(start),
            "{problem:?} should start with {start:?}"
        );
    }
    let report = load_with_env(&path, no_env(), tiktwitch::pipeline::Pipeline::check)
        .unwrap_err()
        .to_string();
    assert!(report.contains("6 problems:"), "{report}");
}

/// The config is a leaf: the loader does not build pipelines itself but runs the check it is
/// handed on the global sections and on each bridge's, and reports what it finds with the
/// key path, once. Ranges are its own (pure) check and need no pipeline.
#[test]
fn the_loader_reports_the_pipeline_check_it_is_handed_once_with_its_key_path() {
    use tiktwitch::config::no_pipeline_check;
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        r#"
[twitch]
channels = ["mychannel"]
bot_login = "mybot"
client_id = "abc"

[coalesce]
like_window_secs = 0

[[bridge]]
name = "a"
tiktok_username = "@creator"
[bridge.routes.gift]
template = "{{ gift.nmae }}"
[bridge.coalesce]
join_window_secs = 0
"#,
    );
    let data_only = problems(load_with_env(&path, no_env(), no_pipeline_check));
    assert_eq!(
        data_only,
        [
            "bridge[0].coalesce.join_window_secs: 0 is out of range: 1 to 86_400 (the default is 60)",
            "coalesce.like_window_secs: 0 is out of range: 1 to 86_400 (the default is 60)",
        ],
        "ranges need no pipeline"
    );
    let checked = problems(load_with_env(
        &path,
        no_env(),
        tiktwitch::pipeline::Pipeline::check,
    ));
    assert_eq!(checked.len(), 3, "each problem once: {checked:#?}");
    assert!(
        data_only.iter().all(|p| checked.contains(p)),
        "{checked:#?}"
    );
    assert!(
        checked
            .iter()
            .any(|p| p.starts_with("bridge[0].routes.gift.template: `gift` has no `nmae`")),
        "the bridge's own template, at the bridge's path: {checked:#?}"
    );
}

#[test]
fn environment_variables_layer_over_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, MINIMAL);
    let loaded = load_with_env(
        &path,
        env(&[
            ("TIKTWITCH__TWITCH__CHANNELS", "one,Two"),
            ("TIKTWITCH__TWITCH__SINK", "helix"),
            ("TIKTWITCH__TIKTOK__PROXY", "socks5h://127.0.0.1:1080"),
            ("TIKTWITCH__COALESCE__LIKE_WINDOW_SECS", "120"),
            ("TIKTWITCH__SECRET_STORE", "env"),
            ("TIKTWITCH__ROUTES__JOIN__SUMMARY", "true"),
            ("TIKTWITCH__ROUTES__LIVE_ENDED__TEMPLATE", "bye"),
            ("UNRELATED", "ignored"),
        ]),
        tiktwitch::pipeline::Pipeline::check,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.config.twitch.sink, SinkKind::Helix);
    assert_eq!(loaded.config.secret_store, SecretStoreKind::Env);
    assert_eq!(
        loaded.config.tiktok.proxy.as_deref(),
        Some("socks5h://127.0.0.1:1080")
    );
    let bridge = &loaded.bridges[0];
    assert_eq!(bridge.twitch.channels, ["one", "two"]);
    assert_eq!(bridge.pipeline.coalesce.like_window_secs, 120);
    assert!(bridge.pipeline.routes.join.summary);
    assert_eq!(bridge.pipeline.routes.live_ended.template, "bye");

    let found = problems(load_with_env(
        &path,
        env(&[
            ("TIKTWITCH__TWITCH__BOTLOGIN", "x"),
            ("TIKTWITCH__TWITCH__QUEUE_CAPACITY", "lots"),
        ]),
        tiktwitch::pipeline::Pipeline::check,
    ));
    assert_eq!(
        found,
        [
            "twitch.botlogin: unknown key (set in the environment) (did you mean `bot_login`?)",
            "twitch.queue_capacity: expected an integer, found string \"lots\" (set in the environment) (the default is 64)",
        ]
    );
}

#[test]
fn bridges_inherit_and_override_the_pipeline_key_by_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        r##"
[twitch]
channels = ["shared"]
bot_login = "mybot"
client_id = "abc"

[routes.gift]
template = "GIFT {{ count }}"
[filters]
min_gift_diamonds = 5
blocked_words = ["spoiler"]

[[bridge]]
name = "one"
tiktok_username = "https://www.tiktok.com/@first.creator/live"

[[bridge]]
name = "two"
tiktok_username = "@second"
twitch_channels = ["#Own"]
[bridge.routes.gift]
enabled = false
[bridge.filters]
min_gift_diamonds = 100
"##,
    );
    let loaded = load_with_env(&path, no_env(), tiktwitch::pipeline::Pipeline::check)
        .unwrap_or_else(|e| panic!("{e}"));
    let [one, two] = &loaded.bridges[..] else {
        panic!("two bridges")
    };
    assert_eq!(
        (one.name.as_str(), one.tiktok.username.as_str()),
        ("one", "first.creator")
    );
    assert_eq!(one.twitch.channels, ["shared"]);
    assert_eq!(two.twitch.channels, ["own"]);
    assert_eq!(one.pipeline.streamer, "first.creator");
    let expect_one = PipelineConfig {
        streamer: "first.creator".into(),
        ..one.pipeline.clone()
    };
    assert_eq!(one.pipeline, expect_one);
    assert!(one.pipeline.routes.gift.enabled);
    assert!(!two.pipeline.routes.gift.enabled, "overridden");
    assert_eq!(
        two.pipeline.routes.gift.template, "GIFT {{ count }}",
        "the rest of the route inherited"
    );
    assert_eq!(two.pipeline.filters.min_gift_diamonds, 100);
    assert_eq!(
        two.pipeline.filters.blocked_words,
        ["spoiler"],
        "inherited key by key"
    );
}

#[test]
fn bridge_problems_are_reported_at_the_bridge_and_global_ones_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        r#"
[twitch]
channels = ["shared"]
bot_login = "mybot"
client_id = "abc"
[routes.chat]
template = "{{ usr.name }}"

[[bridge]]
name = "one"
tiktok_username = "@first"
[bridge.routes.gift]
templte = "x"
[bridge.routes.follow]
template = "{{ gift.name }}"

[[bridge]]
name = "two"
tiktok_username = "@second"
"#,
    );
    let found = problems(load_with_env(
        &path,
        no_env(),
        tiktwitch::pipeline::Pipeline::check,
    ));
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(
        found[0].starts_with("bridge[0].routes.follow.template: unknown variable `gift`"),
        "{found:#?}"
    );
    assert!(
        found[1]
            .starts_with("bridge[0].routes.gift.templte: unknown key (did you mean `template`?)"),
        "{found:#?}"
    );
    assert!(
        found[2].starts_with("routes.chat.template: unknown variable `usr` (did you mean `user`?"),
        "{found:#?}"
    );
}

#[test]
fn missing_file_and_bad_toml_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.toml");
    let e = load_with_env(&missing, no_env(), tiktwitch::pipeline::Pipeline::check)
        .unwrap_err()
        .to_string();
    assert!(e.contains("nope.toml not found"), "{e}");
    let bad = write(&dir, "[twitch\n");
    let e = load_with_env(&bad, no_env(), tiktwitch::pipeline::Pipeline::check)
        .unwrap_err()
        .to_string();
    assert!(e.contains("line 1"), "{e}");
}

fn check(config: &Path, extra: &[&str]) -> (i32, String) {
    check_with_env(config, extra, &[])
}

fn check_with_env(config: &Path, extra: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_tiktwitch"))
        .arg("check")
        .arg("--config")
        .arg(config)
        .args(extra)
        .env_remove("TIKTWITCH_CONFIG")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[test]
fn check_passes_on_the_example_and_prints_sample_lines_and_secret_names() {
    // The example keeps secrets in the OS keyring; here the env store (same names) stands
    // in for it, with the token present.
    let env = [
        ("TIKTWITCH__SECRET_STORE", "env"),
        ("TIKTWITCH_SECRET_TWITCH_TOKEN", "{\"access_token\":\"x\"}"),
    ];
    let (code, out) = check_with_env(&example(), &[], &env);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("routes.gift.template"), "{out}");
    assert!(
        out.contains("[TT] 🎁 Ana 🌸 sent 12× Rose (12 💎)"),
        "{out}"
    );
    assert!(
        out.contains("twitch.token") && out.contains("`twitch-token`: present"),
        "{out}"
    );
    assert!(!out.contains("access_token"), "never the value: {out}");
    assert!(
        !out.contains("routes.join.template"),
        "disabled routes are not shown"
    );
    // Without the token the example is not usable yet, and says what to do.
    let (code, out) = check_with_env(&example(), &[], &env[..1]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("MISSING (run `tiktwitch auth twitch`)"),
        "{out}"
    );
}

#[test]
fn check_fails_on_a_broken_config_and_lists_the_problems() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "[twitch]\nchanels = []\n");
    let (code, out) = check(&path, &[]);
    assert_eq!(code, 1, "{out}");
    for expected in [
        "twitch.chanels: unknown key",
        "tiktok.username: missing",
        "twitch.bot_login: missing",
        "twitch.client_id: missing",
        "twitch.channels: missing",
    ] {
        assert!(out.contains(expected), "{expected} not in {out}");
    }
}

#[test]
fn one_default_for_the_sink_queue_everywhere() {
    // The config's default and the sink's own default are one constant: a daemon built from
    // the defaults queues what a sink built from its defaults queues.
    let config = Config::default();
    let sink = tiktwitch::sink::TwitchSinkSettings::default();
    assert_eq!(
        config.twitch.queue_capacity,
        tiktwitch::limits::SINK_QUEUE_CAPACITY
    );
    assert_eq!(sink.queue_capacity, config.twitch.queue_capacity);
}

#[test]
fn the_configs_twitch_defaults_are_the_sinks_defaults() {
    // What `[twitch]` leaves unset is what a sink built from its own defaults does: one
    // constant each (src/limits.rs), no second literal to drift.
    use tiktwitch::limits::{TWITCH_DUPLICATE_WINDOW, TWITCH_HELIX_BASE_URL, TWITCH_IRC_SERVER};
    let twitch = Config::default().twitch;
    let sink = tiktwitch::sink::TwitchSinkSettings::default();
    assert_eq!(
        (twitch.server.as_str(), sink.server.as_str()),
        (TWITCH_IRC_SERVER, TWITCH_IRC_SERVER)
    );
    assert_eq!(twitch.helix_base_url, TWITCH_HELIX_BASE_URL);
    assert_eq!(sink.helix_base_url, TWITCH_HELIX_BASE_URL);
    assert_eq!(twitch.dedupe_window_secs, TWITCH_DUPLICATE_WINDOW.as_secs());
    assert_eq!(sink.duplicate_window, TWITCH_DUPLICATE_WINDOW);
    assert_eq!(
        twitch.lines_per_30s, None,
        "unset: the sink's two budgets apply"
    );
    assert_eq!(
        sink.lines_per_window,
        tiktwitch::limits::TWITCH_LINES_PER_WINDOW
    );
    assert_eq!(
        sink.lines_per_window_elevated,
        tiktwitch::limits::TWITCH_LINES_PER_WINDOW_ELEVATED
    );
}

#[test]
fn the_signer_budget_is_process_wide_and_reaches_the_plan() {
    // Unset: the one default (src/limits.rs). Set in `[tiktok]`: the daemon's shared budget.
    let dir = tempfile::tempdir().unwrap();
    let plan_of = |text: &str| {
        let loaded = load_with_env(
            &write(&dir, text),
            no_env(),
            tiktwitch::pipeline::Pipeline::check,
        )
        .expect("valid");
        tiktwitch::daemon::Plan::from_config(&loaded, None).expect("plan")
    };
    assert_eq!(
        plan_of(MINIMAL).signer_calls_per_minute,
        tiktwitch::limits::SIGNER_CALLS_PER_MINUTE
    );
    let raised = MINIMAL.replace("[twitch]", "signer_calls_per_minute = 2000\n[twitch]");
    assert_eq!(plan_of(&raised).signer_calls_per_minute, 2000);
    let zero = MINIMAL.replace("[twitch]", "signer_calls_per_minute = 0\n[twitch]");
    let found = problems(load_with_env(
        &write(&dir, &zero),
        no_env(),
        tiktwitch::pipeline::Pipeline::check,
    ));
    assert!(
        found[0].starts_with("tiktok.signer_calls_per_minute: 0 is out of range: 1 to 100_000"),
        "{found:#?}"
    );
    // One budget serves every bridge: a bridge's own value would be ignored, so it is refused.
    let per_bridge = format!(
        "{raised}\n[[bridge]]\nname = \"one\"\n[bridge.tiktok]\nsigner_calls_per_minute = 50\n"
    );
    let found = problems(load_with_env(
        &write(&dir, &per_bridge),
        no_env(),
        tiktwitch::pipeline::Pipeline::check,
    ));
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0]
            .starts_with("bridge[0].tiktok.signer_calls_per_minute: the signer budget is shared"),
        "{found:#?}"
    );
}
