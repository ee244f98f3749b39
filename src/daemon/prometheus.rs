//! `/metrics` in the Prometheus text format (version 0.0.4), built from the components'
//! own counter snapshots.

use crate::auth::AuthStatsSnapshot;
use crate::pipeline::PipelineSnapshot;
use crate::sink::StatsSnapshot;
use crate::sink::sink_stats::LATENCY_BOUNDS_MS;
use crate::source::tiktok::SourceStatsSnapshot;
use crate::status::chat_share::ChatShare;
use crate::status::exposition::Exposition;

/// One bridge's counters for `/metrics`.
pub struct BridgeSample<'a> {
    /// The bridge's name.
    pub name: &'a str,
    /// Its TikTok side now (`live`, `waiting_for_live` ...: [`BridgeState::tiktok_state`]).
    ///
    /// [`BridgeState::tiktok_state`]: crate::status::BridgeState::tiktok_state
    pub tiktok_state: &'a str,
    /// The live's latest viewer count, when one arrived.
    pub viewers: Option<u64>,
    /// The source's counters, summed over its restarts.
    pub source: SourceStatsSnapshot,
    /// The pipeline's counters.
    pub pipeline: PipelineSnapshot,
}

/// Renders every family. Families are written one after another, each with all its
/// samples, as the format requires.
pub fn render(
    bridges: &[BridgeSample<'_>],
    sink: &StatsSnapshot,
    auth: Option<&AuthStatsSnapshot>,
) -> String {
    let mut e = Exposition::default();
    e.gauge(
        "tiktwitch_build_info",
        "The running build: version and git revision (always 1).",
        &[
            ("version", env!("CARGO_PKG_VERSION")),
            ("revision", env!("TIKTWITCH_GIT_REVISION")),
        ],
        1.0,
    );
    let flag = |on: bool| if on { 1.0 } else { 0.0 };
    for b in bridges {
        e.gauge(
            "tiktwitch_bridge_connected",
            "1 while the bridge's TikTok socket is open (the live is being relayed).",
            &[("bridge", b.name)],
            flag(crate::status::is_connected_state(b.tiktok_state)),
        );
    }
    for b in bridges {
        e.gauge(
            "tiktwitch_tiktok_live",
            "1 while the creator is live as far as the bridge knows (also while it reconnects).",
            &[("bridge", b.name)],
            flag(crate::status::is_live_state(b.tiktok_state)),
        );
    }
    for b in bridges {
        if let Some(viewers) = b.viewers {
            e.gauge(
                "tiktwitch_viewers",
                "Viewers watching the TikTok live now (TikTok's latest count).",
                &[("bridge", b.name)],
                viewers as f64,
            );
        }
    }
    type SourceField = (&'static str, &'static str, fn(&SourceStatsSnapshot) -> u64);
    let source_fields: [SourceField; 16] = [
        (
            "tiktwitch_tiktok_frames_total",
            "WebSocket frames received from TikTok.",
            |s| s.frames,
        ),
        (
            "tiktwitch_tiktok_messages_total",
            "Messages decoded from TikTok.",
            |s| s.messages,
        ),
        (
            "tiktwitch_tiktok_duplicates_total",
            "Messages dropped as replays.",
            |s| s.duplicates,
        ),
        (
            "tiktwitch_tiktok_frame_errors_total",
            "Frames that failed to decode.",
            |s| s.frame_errors,
        ),
        (
            "tiktwitch_tiktok_message_errors_total",
            "Messages that failed to decode.",
            |s| s.message_errors,
        ),
        (
            "tiktwitch_tiktok_repaired_text_total",
            "Messages with invalid UTF-8 text, relayed with U+FFFD in its place.",
            |s| s.repaired_text,
        ),
        ("tiktwitch_tiktok_acks_total", "Acks sent to TikTok.", |s| {
            s.acks
        }),
        (
            "tiktwitch_tiktok_heartbeats_total",
            "Heartbeats sent to TikTok.",
            |s| s.heartbeats,
        ),
        (
            "tiktwitch_tiktok_connects_total",
            "WebSocket connections opened.",
            |s| s.connects,
        ),
        (
            "tiktwitch_tiktok_reconnects_total",
            "Reconnects after a drop.",
            |s| s.reconnects,
        ),
        (
            "tiktwitch_signer_calls_total",
            "Calls to the signer.",
            |s| s.signer_calls,
        ),
        (
            "tiktwitch_signer_rate_limited_total",
            "Signer answers 429.",
            |s| s.signer_rate_limited,
        ),
        (
            "tiktwitch_signer_failures_total",
            "Other signer failures.",
            |s| s.signer_failures,
        ),
        (
            "tiktwitch_tiktok_gift_catalogues_total",
            "Gift catalogues fetched (once per room).",
            |s| s.gift_catalogues,
        ),
        (
            "tiktwitch_tiktok_gift_catalogue_failures_total",
            "Gift catalogue fetches that failed (the live went on without one).",
            |s| s.gift_catalogue_failures,
        ),
        (
            "tiktwitch_tiktok_gifts_enriched_total",
            "Gift events completed from the gift catalogue.",
            |s| s.gifts_enriched,
        ),
    ];
    for (name, help, get) in source_fields {
        for b in bridges {
            e.counter(name, help, &[("bridge", b.name)], get(&b.source));
        }
    }
    type KindField = (
        &'static str,
        &'static str,
        fn(&crate::pipeline::KindCounts) -> u64,
    );
    let kind_fields: [KindField; 5] = [
        (
            "tiktwitch_events_in_total",
            "Events that entered the pipeline.",
            |k| k.received,
        ),
        (
            "tiktwitch_events_relayed_total",
            "Events relayed as a line.",
            |k| k.relayed,
        ),
        (
            "tiktwitch_events_filtered_total",
            "Events dropped on purpose by a filter.",
            |k| k.filtered,
        ),
        (
            "tiktwitch_events_coalesced_total",
            "Events folded into another line.",
            |k| k.coalesced,
        ),
        (
            "tiktwitch_events_failed_total",
            "Events that could not be rendered.",
            |k| k.failed,
        ),
    ];
    for (name, help, get) in kind_fields {
        for b in bridges {
            for (kind, counts) in &b.pipeline.kinds {
                e.counter(
                    name,
                    help,
                    &[("bridge", b.name), ("kind", kind)],
                    get(counts),
                );
            }
        }
    }
    for b in bridges {
        for (rule, n) in &b.pipeline.filtered_by_rule {
            e.counter(
                "tiktwitch_filtered_by_rule_total",
                "Events filtered, by rule.",
                &[("bridge", b.name), ("rule", rule)],
                *n,
            );
        }
    }
    for b in bridges {
        for (kind, n) in &b.pipeline.lines {
            e.counter(
                "tiktwitch_lines_rendered_total",
                "Lines the pipeline produced, by kind.",
                &[("bridge", b.name), ("kind", kind)],
                *n,
            );
        }
    }
    e.counter(
        "tiktwitch_twitch_lines_in_total",
        "Lines handed to the Twitch sink.",
        &[],
        sink.lines_in,
    );
    e.counter(
        "tiktwitch_twitch_sent_total",
        "Lines written to Twitch.",
        &[],
        sink.sent,
    );
    e.counter(
        "tiktwitch_twitch_confirmed_total",
        "Lines Twitch confirmed (USERSTATE).",
        &[],
        sink.confirmed,
    );
    e.counter(
        "tiktwitch_twitch_rejected_total",
        "Lines Twitch refused (NOTICE).",
        &[],
        sink.rejected,
    );
    e.counter(
        "tiktwitch_twitch_duplicates_dropped_total",
        "Lines not sent: same text within 30 s.",
        &[],
        sink.dropped_duplicate,
    );
    e.counter(
        "tiktwitch_twitch_packed_total",
        "Lines that went out as a part of another (packed) line.",
        &[],
        sink.packed,
    );
    for ((kind, reason), n) in &sink.shed {
        e.counter(
            "tiktwitch_twitch_shed_total",
            "Lines shed by the sink, by kind and reason.",
            &[("kind", kind), ("reason", reason)],
            *n,
        );
    }
    for (msg_id, n) in &sink.notices {
        e.counter(
            "tiktwitch_twitch_notices_total",
            "NOTICEs from Twitch, by msg-id.",
            &[("msg_id", msg_id)],
            *n,
        );
    }
    for (reason, n) in &sink.helix_dropped {
        e.counter(
            "tiktwitch_twitch_helix_dropped_total",
            "Lines Helix answered is_sent=false, by drop_reason.code.",
            &[("reason", reason)],
            *n,
        );
    }
    e.counter(
        "tiktwitch_twitch_helix_rate_limited_total",
        "Helix 429 answers (the line waited for Ratelimit-Reset, then went again).",
        &[],
        sink.helix_rate_limited,
    );
    e.counter(
        "tiktwitch_twitch_reconnects_total",
        "Twitch reconnects.",
        &[],
        sink.reconnects,
    );
    e.counter(
        "tiktwitch_twitch_login_failures_total",
        "Twitch login failures.",
        &[],
        sink.login_failures,
    );
    e.gauge(
        "tiktwitch_twitch_queue_depth",
        "Lines waiting in the sink's queue.",
        &[],
        sink.queue_depth as f64,
    );
    let latency = &sink.send_latency;
    let bounds: Vec<f64> = LATENCY_BOUNDS_MS
        .iter()
        .map(|ms| *ms as f64 / 1000.0)
        .collect();
    e.histogram(
        "tiktwitch_twitch_send_latency_seconds",
        "Seconds from a line entering the sink's queue to Twitch confirming it (pacing included).",
        &bounds,
        &latency.buckets,
        latency.sum_micros as f64 / 1e6,
        latency.count,
    );
    chat_share(&mut e, bridges, sink);
    if let Some(auth) = auth {
        e.counter(
            "tiktwitch_oauth_refreshes_total",
            "Twitch token refreshes.",
            &[],
            auth.refreshes,
        );
        e.counter(
            "tiktwitch_oauth_validations_total",
            "Twitch token validations.",
            &[],
            auth.validations,
        );
    }
    e.finish()
}

/// The relayed share per bridge: its two counters, and the gauge once a comment arrived.
fn chat_share(e: &mut Exposition, bridges: &[BridgeSample<'_>], sink: &StatsSnapshot) {
    let shares: Vec<(&str, ChatShare)> = bridges
        .iter()
        .map(|b| (b.name, ChatShare::of(b.name, &b.pipeline, sink)))
        .collect();
    for (name, share) in &shares {
        e.counter(
            "tiktwitch_chat_comments_received_total",
            "TikTok chat comments the bridge received.",
            &[("bridge", name)],
            share.received,
        );
    }
    for (name, share) in &shares {
        e.counter(
            "tiktwitch_chat_comments_relayed_total",
            "TikTok chat comments Twitch accepted, alone or as a part of a packed line.",
            &[("bridge", name)],
            share.relayed,
        );
    }
    for (name, share) in &shares {
        e.counter(
            "tiktwitch_chat_lines_total",
            "Lines Twitch accepted that carried at least one chat comment.",
            &[("bridge", name)],
            share.lines,
        );
    }
    for (name, share) in &shares {
        if let Some(value) = share.share {
            e.gauge(
                "tiktwitch_chat_relayed_share",
                "Chat comments relayed / chat comments received (0 to 1).",
                &[("bridge", name)],
                value,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bridge_state_gauges_follow_the_state() {
        let sample = |name, tiktok_state, viewers| BridgeSample {
            name,
            tiktok_state,
            viewers,
            source: SourceStatsSnapshot::default(),
            pipeline: PipelineSnapshot::default(),
        };
        let bridges = [
            sample("up", "live", Some(42)),
            sample("back", "reconnecting", None),
            sample("off", "waiting_for_live", None),
        ];
        let text = render(&bridges, &StatsSnapshot::default(), None);
        for line in [
            "tiktwitch_bridge_connected{bridge=\"up\"} 1",
            "tiktwitch_bridge_connected{bridge=\"back\"} 0",
            "tiktwitch_bridge_connected{bridge=\"off\"} 0",
            "tiktwitch_tiktok_live{bridge=\"up\"} 1",
            "tiktwitch_tiktok_live{bridge=\"back\"} 1",
            "tiktwitch_tiktok_live{bridge=\"off\"} 0",
            "tiktwitch_viewers{bridge=\"up\"} 42",
        ] {
            assert!(text.contains(line), "{line} in:\n{text}");
        }
        assert!(!text.contains("tiktwitch_viewers{bridge=\"off\"}"), "no count, no sample");
        assert!(text.contains(concat!("revision=\"", env!("TIKTWITCH_GIT_REVISION"), "\"")));
    }
    #[test]
    fn the_relayed_share_is_exposed_per_bridge() {
        let mut pipeline = PipelineSnapshot::default();
        pipeline.kinds.insert(
            "chat",
            crate::pipeline::KindCounts {
                received: 8,
                ..Default::default()
            },
        );
        let sample = |name, pipeline| BridgeSample {
            name,
            tiktok_state: "live",
            viewers: None,
            source: SourceStatsSnapshot::default(),
            pipeline,
        };
        let bridges = [
            sample("busy", pipeline),
            sample("quiet", PipelineSnapshot::default()),
        ];
        let mut sink = StatsSnapshot::default();
        sink.count_chat_accepted(Some("busy"), 4);
        sink.count_chat_accepted(Some("busy"), 2);
        let text = render(&bridges, &sink, None);
        for line in [
            "tiktwitch_chat_comments_received_total{bridge=\"busy\"} 8",
            "tiktwitch_chat_comments_relayed_total{bridge=\"busy\"} 6",
            "tiktwitch_chat_lines_total{bridge=\"busy\"} 2",
            "tiktwitch_chat_relayed_share{bridge=\"busy\"} 0.75",
            "tiktwitch_chat_comments_received_total{bridge=\"quiet\"} 0",
            "tiktwitch_chat_comments_relayed_total{bridge=\"quiet\"} 0",
        ] {
            assert!(text.contains(line), "{line} in:\n{text}");
        }
        assert!(
            !text.contains("tiktwitch_chat_relayed_share{bridge=\"quiet\"}"),
            "no comment yet, no share"
        );
    }

    #[test]
    fn packed_lines_are_counted() {
        let sink = StatsSnapshot {
            packed: 7,
            ..StatsSnapshot::default()
        };
        let text = render(&[], &sink, None);
        assert!(text.contains("tiktwitch_twitch_packed_total 7"), "{text}");
    }
}
