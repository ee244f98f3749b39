//! The whole bridge in one process: three TikTok stand-ins, one Twitch stand-in and one
//! OAuth stand-in on 127.0.0.1, a real config file, `daemon::run`. One bridge points at a
//! creator who does not exist: it is reported and retried, and the other two are
//! untouched. Paused tokio time: the restart backoff costs no real time.

use std::sync::Arc;
use std::time::Duration;

use tiktwitch::config;
use tiktwitch::daemon::{self, BridgeEnd, Plan};
use tiktwitch::standin::TwitchSide;
use tiktwitch::standin::tiktok::{FakeTikTok, FakeTikTokConfig, LookupMode, Step, frames};

const SIGNER_KEY: &str = "e2e-signer-key";

async fn creator(name: &str, room_id: u64, chats: &[&str]) -> FakeTikTok {
    creator_with_late(name, room_id, chats, None).await
}

/// A creator whose script sends `chats`, then after two quiet minutes `late`.
async fn creator_with_late(
    name: &str,
    room_id: u64,
    chats: &[&str],
    late: Option<&str>,
) -> FakeTikTok {
    let fake = FakeTikTok::start(FakeTikTokConfig {
        username: name.into(),
        room_id,
        api_key: Some(SIGNER_KEY.into()),
        ..FakeTikTokConfig::default()
    })
    .await
    .unwrap();
    let mut steps = Vec::new();
    for (i, text) in chats.iter().enumerate() {
        let msg_id = room_id + 1 + i as u64;
        steps.push(Step::Pause(Duration::from_millis(300)));
        steps.push(Step::Frame(frames::single(
            msg_id,
            frames::chat_message(msg_id, room_id, &format!("{name}_fan"), text),
        )));
    }
    if let Some(text) = late {
        let msg_id = room_id + 100;
        steps.push(Step::Pause(Duration::from_secs(120)));
        steps.push(Step::Frame(frames::single(
            msg_id,
            frames::chat_message(msg_id, room_id, &format!("{name}_fan"), text),
        )));
    }
    fake.push_script(steps);
    fake
}

fn config_text(bridges: &[(&str, &FakeTikTok, &str)], side: &TwitchSide) -> String {
    let mut text = side.config_head()
        + r#"
[http]
enabled = true
bind = "127.0.0.1:0"

[api]
enabled = true

[shutdown]
grace_secs = 30
"#;
    for (name, fake, channel) in bridges {
        text.push_str(&fake.bridge_toml(name, channel));
    }
    text
}

const API_TOKEN: &str = "e2e-api-token";

#[tokio::test(start_paused = true)]
async fn three_bridges_one_failing_lines_reach_the_right_channels() {
    let alice = creator_with_late(
        "alice",
        7_000_000_000_000_000_000,
        &["hello from alice", "alice again"],
        Some("after the reload"),
    )
    .await;
    let bob = creator("bob", 7_100_000_000_000_000_000, &["bob says hi"]).await;
    let ghost = creator("ghost", 7_200_000_000_000_000_000, &["never seen"]).await;
    ghost.set_lookup(LookupMode::NotFound);
    let side = TwitchSide::start("e2e-client").await.unwrap();
    let twitch = &side.twitch;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let text = config_text(
        &[
            ("a", &alice, "chan_a"),
            ("b", &bob, "chan_b"),
            ("c", &ghost, "chan_c"),
        ],
        &side,
    );
    std::fs::write(&path, &text).unwrap();
    let loaded = config::load(Some(&path), tiktwitch::pipeline::Pipeline::check).unwrap();
    assert_eq!(loaded.bridges.len(), 3);
    let plan = Plan::from_config(&loaded, None).unwrap();
    let secrets = side
        .secrets(&[
            ("tiktok-signer-api-key", SIGNER_KEY),
            ("api-token", API_TOKEN),
        ])
        .await
        .unwrap();

    let daemon = daemon::spawn(plan, Arc::new(secrets));

    // Wait (in virtual time) until the two good bridges' lines are delivered and the
    // failing bridge was retried at least once.
    let mut waited = 0;
    let running = loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        waited += 1;
        assert!(
            waited < 600,
            "the lines and the retry never came (virtual time)"
        );
        let Some(r) = daemon.running() else {
            continue;
        };
        let delivered = twitch.delivered().len();
        let ghost_restarts = r.bridges[2].snapshot().restarts;
        if delivered >= 3 && ghost_restarts >= 1 {
            break r;
        }
    };

    let delivered = twitch.delivered();
    let in_channel = |c: &str| -> Vec<String> {
        delivered
            .iter()
            .filter(|p| p.channel == c)
            .map(|p| p.text.clone())
            .collect()
    };
    let a = in_channel("chan_a");
    let b = in_channel("chan_b");
    assert_eq!(a.len(), 2, "{a:?}");
    assert!(
        a[0].contains("hello from alice") && a[1].contains("alice again"),
        "{a:?}"
    );
    assert_eq!(b.len(), 1, "{b:?}");
    assert!(b[0].contains("bob says hi"));
    assert!(in_channel("chan_c").is_empty());
    assert!(twitch.violations().is_empty(), "{:?}", twitch.violations());

    let states: Vec<_> = running.bridges.iter().map(|b| b.snapshot()).collect();
    assert_eq!(states[0].tiktok_state, "live");
    assert_eq!(states[1].tiktok_state, "live");
    assert!(
        states[2]
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("ghost"),
        "{:?}",
        states[2]
    );
    assert!(states[2].restarts >= 1);

    // /metrics: parses as Prometheus text, and the accounting adds up per bridge and kind.
    let metrics = running.metrics();
    let samples = parse_prometheus(&metrics);
    let value = |name: &str, labels: &[(&str, &str)]| -> f64 {
        samples
            .iter()
            .filter(|(n, l, _)| {
                n == name
                    && labels
                        .iter()
                        .all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
            })
            .map(|(_, _, v)| v)
            .sum()
    };
    for bridge in ["a", "b"] {
        let received = value("tiktwitch_events_in_total", &[("bridge", bridge)]);
        let outcomes: f64 = [
            "tiktwitch_events_relayed_total",
            "tiktwitch_events_filtered_total",
            "tiktwitch_events_coalesced_total",
            "tiktwitch_events_failed_total",
        ]
        .iter()
        .map(|n| value(n, &[("bridge", bridge)]))
        .sum();
        assert!(received >= 1.0, "{bridge}: {metrics}");
        assert_eq!(
            received, outcomes,
            "bridge {bridge}: in = relayed + filtered + coalesced + failed"
        );
    }
    assert_eq!(
        value(
            "tiktwitch_events_relayed_total",
            &[("bridge", "a"), ("kind", "chat")]
        ),
        2.0
    );
    assert_eq!(value("tiktwitch_twitch_sent_total", &[]), 3.0);
    // Every confirmed line has a send latency; the +Inf bucket holds them all.
    assert_eq!(
        value("tiktwitch_twitch_send_latency_seconds_count", &[]),
        3.0
    );
    assert_eq!(
        value(
            "tiktwitch_twitch_send_latency_seconds_bucket",
            &[("le", "+Inf")]
        ),
        3.0
    );

    // /healthz and /metrics over HTTP, as a probe or Prometheus sees them.
    let base = format!("http://{}", running.http_addr.expect("[http] is enabled"));
    let health = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(
        health.status(),
        503,
        "a failing bridge makes the process degraded"
    );
    let health: serde_json::Value = health.json().await.unwrap();
    assert_eq!(health["status"], "degraded");
    assert_eq!(health["twitch"], "connected");
    assert_eq!(health["bridges"][0]["name"], "a");
    assert_eq!(health["bridges"][0]["tiktok_state"], "live");
    assert!(health["bridges"][0]["last_event"].is_string());
    assert_eq!(health["bridges"][2]["tiktok_state"], "failed");
    let metrics = reqwest::get(format!("{base}/metrics")).await.unwrap();
    assert!(
        metrics.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let scraped = parse_prometheus(&metrics.text().await.unwrap());
    let gauge = |name: &str, bridge: Option<&str>| -> Option<f64> {
        scraped
            .iter()
            .find(|(n, l, _)| {
                n == name && bridge.is_none_or(|b| l.iter().any(|(k, v)| k == "bridge" && v == b))
            })
            .map(|(_, _, v)| *v)
    };
    assert_eq!(gauge("tiktwitch_bridge_connected", Some("a")), Some(1.0));
    assert_eq!(gauge("tiktwitch_bridge_connected", Some("c")), Some(0.0));
    assert_eq!(gauge("tiktwitch_tiktok_live", Some("b")), Some(1.0));
    assert_eq!(gauge("tiktwitch_tiktok_live", Some("c")), Some(0.0));
    assert_eq!(gauge("tiktwitch_build_info", None), Some(1.0));
    assert!(
        scraped.iter().any(|(n, l, _)| n == "tiktwitch_build_info"
            && l.iter()
                .any(|(k, v)| k == "version" && v == env!("CARGO_PKG_VERSION"))),
        "build_info names the version"
    );

    // Liveness apart from readiness: a failing bridge makes the process not ready (and
    // /healthz degraded), but it is alive, so an orchestrator never restarts it for that.
    let live = reqwest::get(format!("{base}/livez")).await.unwrap();
    assert_eq!(live.status(), 200);
    let ready = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert_eq!(ready.status(), 503);
    let ready: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(ready["twitch"], "connected");
    assert_eq!(ready["not_ready"].as_array().unwrap().len(), 1, "{ready}");
    assert_eq!(ready["not_ready"][0]["bridge"], "c");

    // SIGHUP-style reload: a new chat template applies to the next line, connections stay.
    std::fs::write(
        &path,
        text + "\n[routes.chat]\ntemplate = \"[reloaded] {{ user.nickname }}: {{ text }}\"\n",
    )
    .unwrap();
    // The portable reload (no SIGHUP on Windows): POST /api/reload with the API token.
    let client = reqwest::Client::new();
    let refused = client
        .post(format!("{base}/api/reload"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401, "no token, no reload");
    let reloaded = client
        .post(format!("{base}/api/reload"))
        .bearer_auth(API_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(reloaded.status(), 200);
    let reloaded: serde_json::Value = reloaded.json().await.unwrap();
    assert_eq!(reloaded["reloaded"], 3);
    let mut waited = 0;
    while twitch
        .delivered()
        .iter()
        .filter(|p| p.channel == "chan_a")
        .count()
        < 3
    {
        tokio::time::sleep(Duration::from_secs(1)).await;
        waited += 1;
        assert!(waited < 600, "the late line never came");
    }
    let last = twitch
        .delivered()
        .into_iter()
        .rfind(|p| p.channel == "chan_a")
        .unwrap();
    assert_eq!(last.text, "[reloaded] ALICE_FAN: after the reload");
    assert_eq!(
        twitch.connections(),
        1,
        "a reload keeps the Twitch connection"
    );

    daemon.stop();
    let report = daemon.join().await.unwrap().unwrap();
    let ends: Vec<_> = report
        .bridges
        .iter()
        .map(|(n, e, _)| (n.clone(), e.clone()))
        .collect();
    assert_eq!(ends[0], ("a".into(), BridgeEnd::Shutdown));
    assert_eq!(ends[1], ("b".into(), BridgeEnd::Shutdown));
    // Twitch saw one connection, and every line the sink took is accounted for.
    assert_eq!(report.sink.sent, 4);
    assert_eq!(report.sink.shed.values().sum::<u64>(), 0);
}

/// One parsed sample: name, labels, value.
type Sample = (String, Vec<(String, String)>, f64);

/// A small Prometheus text parser: (name, labels, value) per sample; panics on a line that
/// is not valid exposition format, so the test proves the text parses.
fn parse_prometheus(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    let mut typed = std::collections::HashSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert!(["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind));
            assert!(
                typed.insert(name.to_owned()),
                "family {name} declared twice"
            );
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (head, value) = line.rsplit_once(' ').expect("sample value");
        let value: f64 = value.parse().expect("numeric value");
        let (name, labels) = match head.split_once('{') {
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').expect("closing brace");
                let labels = body
                    .split("\",")
                    .filter(|s| !s.is_empty())
                    .map(|kv| {
                        let (k, v) = kv.split_once("=\"").expect("label=\"value\"");
                        (k.to_owned(), v.trim_end_matches('"').to_owned())
                    })
                    .collect();
                (name.to_owned(), labels)
            }
            None => (head.to_owned(), Vec::new()),
        };
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "bad metric name {name}"
        );
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| {
                name.strip_suffix(suffix)
                    .filter(|base| typed.contains(*base))
            })
            .unwrap_or(&name);
        assert!(typed.contains(family), "sample {name} before its TYPE");
        out.push((name, labels, value));
    }
    out
}
