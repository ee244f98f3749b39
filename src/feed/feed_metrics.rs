//! The feed's families for `/metrics`: paused lines per bridge, the ring file's writes,
//! WebSocket clients, and each webhook's outcomes. Appended after the daemon's own families (names do not overlap).

use std::sync::atomic::Ordering;

use super::Hub;
use crate::status::exposition::Exposition;

/// The feed's samples in the Prometheus text format.
pub fn render(hub: &Hub) -> String {
    let mut x = Exposition::default();
    for bridge in hub.bridges() {
        x.counter(
            "tiktwitch_lines_paused_total",
            "Lines not sent to Twitch because the bridge was paused through the API.",
            &[("bridge", &bridge.name)],
            bridge.health.counters.paused_lines.load(Ordering::Relaxed),
        );
    }
    for bridge in hub.bridges() {
        x.gauge(
            "tiktwitch_bridge_paused",
            "1 while relaying the bridge to Twitch is paused.",
            &[("bridge", &bridge.name)],
            if bridge.health.is_paused() { 1.0 } else { 0.0 },
        );
    }
    // Two passes: the text format wants each family's samples together.
    let persisted: Vec<_> = hub
        .bridges()
        .iter()
        .filter_map(|b| b.persist.as_ref().map(|stats| (&b.name, stats.snapshot())))
        .collect();
    const PERSIST_HELP: &str =
        "Events of the ring written to the [api] ring_path file, by outcome.";
    for (name, s) in &persisted {
        for (outcome, n) in [
            ("written", s.written),
            ("failed", s.failed),
            ("dropped", s.dropped),
        ] {
            x.counter(
                "tiktwitch_ring_persist_events_total",
                PERSIST_HELP,
                &[("bridge", name), ("outcome", outcome)],
                n,
            );
        }
    }
    for (name, s) in &persisted {
        x.gauge(
            "tiktwitch_ring_loaded_events",
            "Events of the ring loaded from the [api] ring_path file at start.",
            &[("bridge", name)],
            s.loaded as f64,
        );
    }
    let ws = hub.ws_stats();
    x.gauge(
        "tiktwitch_feed_clients",
        "WebSocket feed clients connected.",
        &[],
        ws.connected as f64,
    );
    x.counter(
        "tiktwitch_feed_events_sent_total",
        "Events written to WebSocket feed clients.",
        &[],
        ws.sent,
    );
    for (reason, n) in [
        ("too_slow", ws.dropped_slow),
        ("refused_auth", ws.refused_auth),
        ("refused_full", ws.refused_full),
        ("refused_origin", ws.refused_origin),
    ] {
        x.counter(
            "tiktwitch_feed_clients_dropped_total",
            "WebSocket feed clients dropped, by reason.",
            &[("reason", reason)],
            n,
        );
    }
    let hooks = hub.webhook_stats();
    const EVENTS_HELP: &str = "Webhook events by outcome.";
    for (url, s) in &hooks {
        for (outcome, n) in [
            ("delivered", s.delivered),
            ("dead_lettered", s.dead_lettered),
            ("dropped_queue_full", s.dropped_queue_full),
            ("replayed", s.replayed),
        ] {
            x.counter(
                "tiktwitch_webhook_events_total",
                EVENTS_HELP,
                &[("webhook", url), ("outcome", outcome)],
                n,
            );
        }
    }
    for (url, s) in &hooks {
        x.counter(
            "tiktwitch_webhook_attempts_total",
            "Webhook POSTs tried, retries included.",
            &[("webhook", url)],
            s.attempts,
        );
    }
    for (url, s) in &hooks {
        x.counter(
            "tiktwitch_webhook_retry_after_total",
            "Webhook retries that waited as the receiver's Retry-After asked.",
            &[("webhook", url)],
            s.retry_after,
        );
    }
    for (url, s) in &hooks {
        x.counter(
            "tiktwitch_webhook_rate_limited_total",
            "Webhook POSTs that waited for the webhook's rate_per_sec.",
            &[("webhook", url)],
            s.rate_limited,
        );
    }
    for (url, s) in &hooks {
        x.gauge(
            "tiktwitch_webhook_queue_depth",
            "Webhook events waiting or in flight.",
            &[("webhook", url)],
            s.queued as f64,
        );
    }
    x.finish()
}
