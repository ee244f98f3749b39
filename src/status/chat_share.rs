//! The relayed share of one bridge: how many of the TikTok chat comments it received
//! reached Twitch, alone or as a part of a packed line. The two halves live apart (the
//! pipeline counts comments in, the shared sink counts comments in lines Twitch accepted,
//! by bridge); this is where `/metrics`, `/api/status` and `tiktwitch demo` join them.

use serde::Serialize;

use crate::pipeline::PipelineSnapshot;
use crate::sink::StatsSnapshot;
use crate::sink::sink_stats::CHAT_COMMENT_KIND;

/// One bridge's chat comments, received and relayed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct ChatShare {
    /// Chat comments the pipeline received from TikTok (filtered ones included).
    pub received: u64,
    /// Of those, comments in lines Twitch accepted (not merely queued).
    pub relayed: u64,
    /// Accepted lines that carried them.
    pub lines: u64,
    /// `relayed / received`, from 0 to 1; `None` before the first comment.
    pub share: Option<f64>,
}

impl ChatShare {
    /// The share of bridge `bridge`, from its pipeline's counters and the sink's.
    pub fn of(bridge: &str, pipeline: &PipelineSnapshot, sink: &StatsSnapshot) -> Self {
        let received = pipeline
            .kinds
            .get(CHAT_COMMENT_KIND)
            .map_or(0, |k| k.received);
        let relayed = sink.chat_relayed_for(bridge);
        Self::new(received, relayed.comments, relayed.lines)
    }

    /// A share from its counts.
    pub fn new(received: u64, relayed: u64, lines: u64) -> Self {
        Self {
            received,
            relayed,
            lines,
            share: (received > 0).then(|| relayed as f64 / received as f64),
        }
    }

    /// Comments relayed per line that carried any (0 with no line).
    pub fn per_line(&self) -> f64 {
        if self.lines == 0 {
            0.0
        } else {
            self.relayed as f64 / self.lines as f64
        }
    }

    /// One line for people: `chat relayed: 41 of 120 comments (34%) in 9 lines`.
    pub fn summary(&self) -> String {
        // Whole percent, halves rounded up (integers: no float tie rule to explain).
        let percent = if self.received == 0 {
            "-".to_owned()
        } else {
            let r = u128::from(self.received);
            format!("{}%", (u128::from(self.relayed) * 100 + r / 2) / r)
        };
        format!(
            "chat relayed: {} of {} comments ({percent}) in {} line{}",
            self.relayed,
            self.received,
            self.lines,
            if self.lines == 1 { "" } else { "s" }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::KindCounts;
    use crate::sink::sink_stats::ChatRelayed;

    #[test]
    fn the_share_joins_the_pipeline_and_the_sink_per_bridge() {
        let mut pipeline = PipelineSnapshot::default();
        pipeline.kinds.insert(
            "chat",
            KindCounts {
                received: 120,
                ..KindCounts::default()
            },
        );
        pipeline.kinds.insert(
            "gift",
            KindCounts {
                received: 7,
                ..KindCounts::default()
            },
        );
        let mut sink = StatsSnapshot::default();
        sink.chat_relayed.insert(
            "a".into(),
            ChatRelayed {
                comments: 41,
                lines: 9,
            },
        );
        sink.chat_relayed.insert(
            "b".into(),
            ChatRelayed {
                comments: 5,
                lines: 5,
            },
        );
        let a = ChatShare::of("a", &pipeline, &sink);
        assert_eq!((a.received, a.relayed, a.lines), (120, 41, 9));
        assert_eq!(a.summary(), "chat relayed: 41 of 120 comments (34%) in 9 lines");
        assert!((a.share.unwrap() - 41.0 / 120.0).abs() < 1e-12);
        let none = ChatShare::of("c", &PipelineSnapshot::default(), &sink);
        assert_eq!(none.share, None);
        assert_eq!(none.per_line(), 0.0);
        assert_eq!(none.summary(), "chat relayed: 0 of 0 comments (-) in 0 lines");
        assert_eq!(
            ChatShare::new(1, 1, 1).summary(),
            "chat relayed: 1 of 1 comments (100%) in 1 line"
        );
        assert_eq!(
            ChatShare::new(8, 1, 1).summary(),
            "chat relayed: 1 of 8 comments (13%) in 1 line"
        );
    }
}
