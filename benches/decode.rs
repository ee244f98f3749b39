//! Criterion micro-benchmarks of the decoder: one typical frame, one chat payload, and the
//! gzip floor for the same frame.
//!
//! ```sh
//! cargo bench --bench decode
//! ```

/// The allocator the daemon ships with (`src/main.rs`): the decode throughput measured here
/// depends on it (BENCHMARKS.md, "Against the peers"), so the bench uses it too.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::hint::black_box;
use std::path::PathBuf;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use prost::Message;
use tiktwitch::proto::WebcastPushFrame;
use tiktwitch::source::tiktok::capture::FrameReader;
use tiktwitch::source::tiktok::decode::{Inflater, decode_frame};

fn corpus_frames() -> Option<Vec<Bytes>> {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/frames.bin");
    let reader = std::fs::File::open(&file).ok()?;
    Some(
        FrameReader::new(std::io::BufReader::new(reader))
            .take(200)
            .map(|f| f.expect("corpus frames are well-formed"))
            .collect(),
    )
}

fn decode(c: &mut Criterion) {
    let Some(frames) = corpus_frames() else {
        eprintln!("SKIPPED: ../shared/corpus is absent");
        return;
    };
    let messages: usize = frames
        .iter()
        .map(|f| {
            decode_frame(f.clone())
                .unwrap()
                .batch
                .unwrap()
                .messages
                .len()
        })
        .sum();
    let payloads: Vec<Bytes> = frames
        .iter()
        .map(|f| WebcastPushFrame::decode(f.clone()).unwrap().payload)
        .collect();

    let mut group = c.benchmark_group("corpus_200_frames");
    group.throughput(Throughput::Elements(messages as u64));
    // Inflated as `decode_frame` does: one inflater, one reused output buffer.
    let (mut inflater, mut inflated) = (Inflater::new(), Vec::new());
    group.bench_function("gunzip_only", |b| {
        b.iter(|| {
            for p in &payloads {
                inflater.gunzip_into(p, &mut inflated).unwrap();
                black_box(inflated.len());
            }
        })
    });
    group.bench_function("full_decode", |b| {
        b.iter(|| {
            for f in &frames {
                black_box(decode_frame(f.clone()).unwrap());
            }
        })
    });
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
