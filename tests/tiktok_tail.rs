//! `tiktwitch tail` and `tiktwitch record` (their library functions) against the fake
//! playing the corpus.

mod support;
mod tiktok_support;

use std::io::{BufRead, BufReader};
use std::time::Duration;

use tiktok_support::*;
use tiktwitch::source::tiktok::capture::FrameReader;
use tiktwitch::source::tiktok::decode::decode_frame;
use tiktwitch::source::tiktok::watch::{record, tail};
use tiktwitch::source::tiktok::{SignerBudget, TikTokSettings, TikTokSource};
use tiktwitch::standin::tiktok::frames::{control_message, single};
use tiktwitch::standin::tiktok::{FakeTikTok, FakeTikTokConfig, Step};
use tokio_util::sync::CancellationToken;

const FRAMES: usize = 60;
const END_ID: u64 = 8_000_777;

async fn corpus_show() -> Option<(FakeTikTok, Vec<bytes::Bytes>)> {
    let frames = corpus_frames(FRAMES)?;
    let fake = FakeTikTok::start(FakeTikTokConfig {
        first_fetch: real_batch(),
        ..FakeTikTokConfig::default()
    })
    .await
    .unwrap();
    let room = fake.room_id();
    let mut script: Vec<Step> = frames
        .iter()
        .flat_map(|f| {
            [
                Step::Frame(f.clone()),
                Step::Pause(Duration::from_millis(500)),
            ]
        })
        .collect();
    script.push(Step::Frame(single(
        END_ID,
        control_message(END_ID, room, 3),
    )));
    fake.push_script(script);
    Some((fake, frames))
}

/// The msg ids `expected.jsonl.gz` lists for the first `FRAMES` frames, in order.
fn expected_ids() -> Option<Vec<u64>> {
    let file = std::fs::File::open(shared_dir().join("corpus/expected.jsonl.gz")).ok()?;
    let mut ids = Vec::new();
    for line in BufReader::new(flate2::read::GzDecoder::new(file)).lines() {
        let v: serde_json::Value = serde_json::from_str(&line.ok()?).ok()?;
        if v["f"].as_u64()? >= FRAMES as u64 {
            break;
        }
        if v["t"] == "msg" {
            ids.push(v["msg_id"].as_str()?.parse().ok()?);
        }
    }
    Some(ids)
}

#[tokio::test(start_paused = true)]
async fn tail_json_prints_the_corpus_events_in_order() {
    let (Some((fake, frames)), Some(mut want_ids)) = (corpus_show().await, expected_ids()) else {
        return;
    };
    // Without the gift catalogue, which adds image URLs `decode` (offline) cannot know.
    let settings = TikTokSettings {
        gift_catalogue: false,
        ..settings(&fake)
    };
    let source = TikTokSource::with_euler(settings, SignerBudget::new(0)).unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let _ticker = fine_clock();
    tail(
        &source,
        true,
        false,
        &mut out,
        &mut err,
        CancellationToken::new(),
    )
    .await
    .unwrap();

    // The same bytes `tiktwitch decode` prints for these frames, then the end.
    let mut want = String::new();
    for frame in frames {
        for event in decode_frame(frame).unwrap().batch.unwrap().messages {
            want.push_str(&serde_json::to_string(&event.unwrap()).unwrap());
            want.push('\n');
        }
    }
    let out = String::from_utf8(out).unwrap();
    let (body, last) = out.trim_end().rsplit_once('\n').unwrap();
    // The source stamps when it decoded each event (`received_at`); the rest is the same.
    let body: String = body
        .lines()
        .map(|line| {
            let mut event: serde_json::Value = serde_json::from_str(line).unwrap();
            let stamped = event.as_object_mut().unwrap().remove("received_at");
            assert!(
                stamped.and_then(|t| t.as_i64()).is_some_and(|t| t > 0),
                "{line}"
            );
            format!("{}\n", serde_json::to_string(&event).unwrap())
        })
        .collect();
    let want: String = want
        .lines()
        .map(|line| {
            let event: serde_json::Value = serde_json::from_str(line).unwrap();
            format!("{}\n", serde_json::to_string(&event).unwrap())
        })
        .collect();
    assert_eq!(body, want, "history hidden, events in order");
    assert!(last.contains(r#""type":"control""#) && last.contains(r#""action":"ended""#));
    // And they are the corpus' messages, by id, in the corpus' order.
    want_ids.push(END_ID);
    let got_ids: Vec<u64> = out
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["msg_id"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert_eq!(got_ids, want_ids);
    let err = String::from_utf8(err).unwrap();
    assert!(
        err.starts_with("-- connecting to @fakecreator\n-- live in room "),
        "{err}"
    );
    assert!(err.ends_with("-- stream ended\n"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn tail_readable_prints_lines_and_status() {
    let Some((fake, _)) = corpus_show().await else {
        return;
    };
    let source = TikTokSource::with_euler(settings(&fake), SignerBudget::new(0)).unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let _ticker = fine_clock();
    tail(
        &source,
        false,
        true,
        &mut out,
        &mut err,
        CancellationToken::new(),
    )
    .await
    .unwrap();
    let out = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("-- connecting to @fakecreator"));
    assert!(lines[1].starts_with("-- live in room "));
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("[history] ")).count(),
        13
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("chat     ") && l.contains(": "))
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("gift     ") && l.contains(" sent "))
    );
    assert_eq!(lines.last(), Some(&"-- stream ended"));
    assert!(err.is_empty());
}

#[tokio::test(start_paused = true)]
async fn record_writes_every_frame_in_the_capture_format() {
    let Some((fake, frames)) = corpus_show().await else {
        return;
    };
    let source = TikTokSource::with_euler(settings(&fake), SignerBudget::new(0)).unwrap();
    let (mut file, mut status) = (Vec::new(), Vec::new());
    let _ticker = fine_clock();
    let written = record(source, &mut file, &mut status, CancellationToken::new())
        .await
        .unwrap();
    let records: Vec<bytes::Bytes> = FrameReader::new(&file[..]).map(Result::unwrap).collect();
    assert_eq!(records.len() as u64, written);
    let msg_frames: Vec<&bytes::Bytes> = records
        .iter()
        .filter(|r| decode_frame((*r).clone()).is_ok_and(|f| f.payload_type == "msg"))
        .collect();
    assert_eq!(msg_frames.len(), FRAMES + 1);
    for (got, want) in msg_frames.iter().zip(&frames) {
        assert_eq!(*got, want, "byte for byte");
    }
    let status = String::from_utf8(status).unwrap();
    assert!(
        status.contains("-- live in room") && status.ends_with("-- stream ended\n"),
        "{status}"
    );
}
