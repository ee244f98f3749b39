//! `[feed]`, `[api]` and `[[webhook]]` in the config file: the example documents every key,
//! mistakes are reported with their key path, and the plan carries them.

use std::path::PathBuf;

use tiktwitch::config::feed::WebhookConfig;
use tiktwitch::config::{self, Config};
use tiktwitch::daemon::Plan;

fn example() -> String {
    std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config.example.toml"))
        .unwrap()
}

#[test]
fn the_example_documents_every_feed_api_and_webhook_key() {
    let text = example();
    let documented = |key: &str| {
        text.lines().any(|l| {
            l.trim_start_matches(['#', ' '])
                .starts_with(&format!("{key} ="))
        })
    };
    let config = Config {
        webhook: vec![WebhookConfig::default()],
        ..Config::default()
    };
    let value = serde_json::to_value(&config).unwrap();
    for section in ["feed", "api"] {
        assert!(text.contains(&format!("[{section}]")));
        for key in value[section].as_object().unwrap().keys() {
            assert!(
                documented(key),
                "config.example.toml does not document {section}.{key}"
            );
        }
    }
    // Optional keys (None) do not serialize: listed by hand.
    assert!(documented("token"));
    assert!(documented("ring_path"));
    assert!(text.contains("[[webhook]]"));
    for key in value["webhook"][0].as_object().unwrap().keys() {
        assert!(
            documented(key),
            "config.example.toml does not document webhook.{key}"
        );
    }
}

fn write(dir: &tempfile::TempDir, body: &str) -> PathBuf {
    let path = dir.path().join("config.toml");
    let head = r#"
[tiktok]
username = "@creator"
[twitch]
channels = ["mychannel"]
bot_login = "mybot"
client_id = "abc123"
"#;
    std::fs::write(&path, format!("{head}{body}")).unwrap();
    path
}

#[test]
fn mistakes_are_reported_with_their_key_paths() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        r#"
[feed]
enabled = true
[api]
enabled = true
ring_capacity = 0
ring_path = "/nonexistent-tiktwitch-dir/events.sqlite"
[[webhook]]
url = "ftp://example.com"
events = ["chat", "gfit"]
bridges = ["nope"]
timeout_secs = 0
[[webhook]]
secret = "hook"
"#,
    );
    let err = config::load(Some(&path), tiktwitch::pipeline::Pipeline::check)
        .unwrap_err()
        .to_string();
    for path in [
        "feed.enabled",
        "api.enabled",
        "api.ring_capacity",
        "api.ring_path",
        "webhook[0].url",
        "webhook[0].events[1]",
        "webhook[0].bridges[0]",
        "webhook[0].timeout_secs",
        "webhook[1].url",
    ] {
        assert!(
            err.contains(&format!("{path}:")),
            "{path} missing in:\n{err}"
        );
    }
    assert!(
        err.contains("ring_path: `/nonexistent-tiktwitch-dir`: no such directory"),
        "{err}"
    );
    let path = write(&dir, "[feed]\nenabeld = true\n");
    let err = config::load(Some(&path), tiktwitch::pipeline::Pipeline::check)
        .unwrap_err()
        .to_string();
    assert!(err.contains("feed.enabeld"), "{err}");
    let path = write(&dir, &format!("[api]\nring_path = {:?}\n", dir.path()));
    let err = config::load(Some(&path), tiktwitch::pipeline::Pipeline::check)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("api.ring_path"),
        "a directory is refused: {err}"
    );
}

#[test]
fn the_plan_carries_the_sections() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        r#"
[http]
enabled = true
[feed]
enabled = true
token = "feed-token"
client_queue = 64
[api]
enabled = true
ring_capacity = 50
ring_path = "events.sqlite"
[[webhook]]
url = "https://example.com/hook"
events = ["gift"]
batch_max = 10
timeout_secs = 3
"#,
    );
    let loaded = config::load(Some(&path), tiktwitch::pipeline::Pipeline::check)
        .unwrap_or_else(|e| panic!("{e}"));
    let plan = Plan::from_config(&loaded, None).unwrap();
    assert!(plan.feed.ws_enabled && plan.feed.api_enabled);
    assert_eq!(plan.feed.client_queue, 64);
    assert_eq!(plan.feed.ring_capacity, 50);
    assert_eq!(
        plan.feed.ring_path.as_deref(),
        Some(std::path::Path::new("events.sqlite"))
    );
    assert_eq!(plan.feed_secrets.ws_token.as_deref(), Some("feed-token"));
    assert_eq!(plan.feed_secrets.api_token.as_deref(), Some("api-token"));
    assert_eq!(plan.feed_secrets.webhooks, ["webhook-secret"]);
    let hook = &plan.feed.webhooks[0];
    assert_eq!(hook.url, "https://example.com/hook");
    assert_eq!(hook.events, ["gift"]);
    assert_eq!(hook.batch_max, 10);
    assert_eq!(hook.timeout, std::time::Duration::from_secs(3));
}
