//! Shared helpers for the TikTok source tests: the shared corpus/fixtures (read at test
//! time from `../shared`, never copied), settings pointing at the fake, and a collector.

#![allow(dead_code)]

use std::fs::File;
use std::io::BufReader;
use std::time::Duration;

use bytes::Bytes;
use tiktwitch::event::Event;
use tiktwitch::source::tiktok::capture::FrameReader;
use tiktwitch::source::tiktok::{SourceError, SourceItem, Status, TikTokSettings, TikTokSource};
use tiktwitch::standin::tiktok::{FakeTikTok, FakeTikTokConfig};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use crate::support::prereq::shared_dir;

/// `what` (a path under `../shared`) is missing: skipped, or a failure where required.
#[track_caller]
fn skip(what: &str) {
    crate::support::prereq::skip(
        None,
        &format!(
            "{what} not found under {} (the shared corpus/fixtures are absent)",
            shared_dir().display()
        ),
    );
}

/// The first `n` push frames of the corpus, or `None` (with a message) when absent.
pub fn corpus_frames(n: usize) -> Option<Vec<Bytes>> {
    let path = shared_dir().join("corpus/frames.bin");
    let Ok(file) = File::open(&path) else {
        skip("corpus/frames.bin");
        return None;
    };
    Some(
        FrameReader::new(BufReader::new(file))
            .take(n)
            .map(|r| r.expect("corpus record"))
            .collect(),
    )
}

/// The edge-case frames by name (`edge.jsonl` gives the names, in order).
pub fn edge_frame(name: &str) -> Option<Bytes> {
    let names = std::fs::read_to_string(shared_dir().join("corpus/edge.jsonl")).ok();
    let file = File::open(shared_dir().join("corpus/edge.bin")).ok();
    let (Some(names), Some(file)) = (names, file) else {
        skip("corpus/edge.bin");
        return None;
    };
    let index = names
        .lines()
        .position(|l| l.contains(&format!("\"name\": \"{name}\"")))
        .unwrap_or_else(|| panic!("no edge case {name}"));
    FrameReader::new(BufReader::new(file))
        .nth(index)
        .map(|r| r.expect("edge record"))
}

/// The real 2026 first fetch result (`batch.pb`: 13 messages).
pub fn real_batch() -> Option<Bytes> {
    match std::fs::read(shared_dir().join("fixtures/webcast/real-2026/batch.pb")) {
        Ok(bytes) => Some(bytes.into()),
        Err(_) => {
            skip("fixtures/webcast/real-2026/batch.pb");
            None
        }
    }
}

/// A fake whose first fetch replays the real batch as history.
pub async fn fake_with_history() -> Option<FakeTikTok> {
    let batch = real_batch()?;
    Some(
        FakeTikTok::start(FakeTikTokConfig {
            first_fetch: Some(batch),
            ..FakeTikTokConfig::default()
        })
        .await
        .expect("fake starts"),
    )
}

/// Settings pointing every URL at the fake; no proxy; quick polling and backoff.
pub fn settings(fake: &FakeTikTok) -> TikTokSettings {
    TikTokSettings {
        wait_for_live: false,
        poll_interval: Duration::from_secs(30),
        min_backoff: Duration::from_secs(1),
        max_backoff: Duration::from_secs(8),
        preset: Some("chrome-windows".into()),
        // Upper case on purpose: the source must normalise it.
        username: format!("@{}", fake.username().to_uppercase()),
        ..fake.source_settings()
    }
}

/// Keeps virtual time fine-grained. With paused time, whenever every task waits (even on
/// socket I/O that is already in flight on 127.0.0.1) tokio jumps the clock straight to the
/// next timer; this 10 ms ticker bounds each jump, so "I/O takes at most 10 ms" rather than
/// "I/O takes until the next heartbeat".
pub fn fine_clock() -> tokio::task::JoinHandle<()> {
    tokio::spawn(async {
        loop {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
}

/// Runs `source` until it returns, or until `stop(items)` says so (then shuts it down).
/// A virtual-time guard fails the test instead of hanging.
pub async fn run_until(
    source: &TikTokSource,
    mut stop: impl FnMut(&[SourceItem]) -> bool,
) -> (Result<(), SourceError>, Vec<SourceItem>) {
    let (tx, mut rx) = mpsc::channel(4096);
    let token = CancellationToken::new();
    let run = source.run(tx, token.clone());
    let collect = async {
        let mut items = Vec::new();
        while let Some(item) = rx.recv().await {
            items.push(item);
            if stop(&items) {
                token.cancel();
            }
        }
        items
    };
    let ticker = fine_clock();
    let guard = Duration::from_secs(3600);
    let (result, items) = tokio::time::timeout(guard, async { tokio::join!(run, collect) })
        .await
        .expect("the source neither finished nor stopped within a virtual hour");
    ticker.abort();
    (result, items)
}

/// Runs `source` to its own end.
pub async fn run_to_end(source: &TikTokSource) -> (Result<(), SourceError>, Vec<SourceItem>) {
    run_until(source, |_| false).await
}

/// The events, in order.
pub fn events(items: &[SourceItem]) -> Vec<&Event> {
    items
        .iter()
        .filter_map(|i| match i {
            SourceItem::Event(e) => Some(&**e),
            SourceItem::Status(_) | SourceItem::Profile(_) => None,
        })
        .collect()
}

/// The msg ids of the live (non-history) events, in order.
pub fn live_ids(items: &[SourceItem]) -> Vec<u64> {
    events(items)
        .into_iter()
        .filter(|e| !e.meta.history)
        .map(|e| e.meta.msg_id)
        .collect()
}

/// The statuses, in order.
pub fn statuses(items: &[SourceItem]) -> Vec<&Status> {
    items
        .iter()
        .filter_map(|i| match i {
            SourceItem::Status(s) => Some(s),
            SourceItem::Event(_) | SourceItem::Profile(_) => None,
        })
        .collect()
}

/// The status names, in order (`connecting`, `live` ...).
pub fn status_names(items: &[SourceItem]) -> Vec<&'static str> {
    statuses(items).into_iter().map(Status::name).collect()
}
