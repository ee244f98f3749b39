//! Decode throughput on the shared corpus, in the same terms as the peers' harnesses
//! (`../shared/peers`): messages per second over all 5,000 frames, the median of the warm
//! passes, and the floor: gunzip alone over the same payloads with the same inflater.
//!
//! The configurations are timed in turn within each pass (floor, full decode, reference),
//! so a change in machine load during the run hits all of them alike and the ratio stays
//! meaningful on a shared machine. The floor inflates exactly as `decode_frame` does (one
//! [`Inflater`]: libdeflate for single-member batches, zlib-rs otherwise; one reused output
//! buffer). The reference is `flate2::read::MultiGzDecoder` with a fresh state per frame,
//! the inflater path the decoder used before [`Inflater`].
//!
//! ```sh
//! cargo bench --bench decode_throughput                # a table
//! cargo bench --bench decode_throughput -- --json      # one JSON line (for compare-peers.sh)
//! cargo bench --bench decode_throughput -- --passes 9 --corpus ../shared/corpus
//! ```

/// The allocator the daemon ships with (`src/main.rs`): the decode throughput (BENCHMARKS.md's table of record) measured here
/// depends on it (BENCHMARKS.md, "Against the peers"), so the bench uses it too.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::hint::black_box;
use std::io::Read;
use std::path::PathBuf;
use std::time::Instant;

use bytes::Bytes;
use prost::Message;
use tiktwitch::event::EventKind;
use tiktwitch::proto::WebcastPushFrame;
use tiktwitch::source::tiktok::capture::FrameReader;
use tiktwitch::source::tiktok::decode::{Inflater, decode_frame, gunzip};

struct Args {
    corpus: PathBuf,
    passes: usize,
    json: bool,
}

fn args() -> Args {
    let mut args = Args {
        corpus: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"),
        passes: 5,
        json: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--json" => args.json = true,
            "--passes" => args.passes = it.next().and_then(|n| n.parse().ok()).unwrap_or(5).max(2),
            "--corpus" => args.corpus = it.next().map(PathBuf::from).expect("--corpus DIR"),
            _ => {} // cargo bench passes --bench; ignore what we do not know
        }
    }
    args
}

/// The cold time and the median of the warm passes of one configuration, in wall-clock
/// seconds and in this thread's on-CPU seconds.
#[derive(Default)]
struct Timing {
    seconds: Vec<f64>,
    cpu_seconds: Vec<f64>,
    count: u64,
}

impl Timing {
    fn run(&mut self, pass: impl FnOnce() -> u64) {
        let cpu = thread_cpu_seconds();
        let start = Instant::now();
        self.count = black_box(pass());
        self.seconds.push(start.elapsed().as_secs_f64());
        if let (Some(before), Some(after)) = (cpu, thread_cpu_seconds()) {
            self.cpu_seconds.push(after - before);
        }
    }

    fn cold(&self) -> f64 {
        self.seconds[0]
    }

    fn warm(&self) -> f64 {
        median_warm(&self.seconds)
    }

    /// On-CPU time of the warm passes (median), when the platform reports it.
    fn warm_cpu(&self) -> Option<f64> {
        (self.cpu_seconds.len() == self.seconds.len()).then(|| median_warm(&self.cpu_seconds))
    }
}

fn median_warm(seconds: &[f64]) -> f64 {
    let mut warm = seconds[1..].to_vec();
    warm.sort_by(f64::total_cmp);
    warm[warm.len() / 2]
}

/// Time this thread has spent on a CPU (Linux `schedstat`, nanoseconds). Unlike wall-clock
/// time it does not grow while other processes hold the cores, so ratios measured on a
/// busy shared machine stay comparable.
fn thread_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(ns as f64 / 1e9)
}

/// The old inflater path, for reference: a fresh `MultiGzDecoder` (and zlib-rs state) per
/// frame, reading through `Read::read_to_end`.
fn gunzip_flate2_read(compressed: &[u8]) -> usize {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(compressed)
        .read_to_end(&mut out)
        .expect("corpus gunzips");
    out.len()
}

fn main() {
    let args = args();
    let file = args.corpus.join("frames.bin");
    let Ok(reader) = std::fs::File::open(&file) else {
        eprintln!("SKIPPED: {} is absent", file.display());
        return;
    };
    let frames: Vec<Bytes> = FrameReader::new(std::io::BufReader::new(reader))
        .map(|f| f.expect("corpus frames are well-formed"))
        .collect();
    let wire_bytes: usize = frames.iter().map(Bytes::len).sum();
    // The floor's input: the gzip payloads, taken out of their envelopes beforehand.
    let payloads: Vec<Bytes> = frames
        .iter()
        .map(|f| {
            WebcastPushFrame::decode(f.clone())
                .expect("envelope")
                .payload
        })
        .collect();

    let (mut floor, mut full, mut reference) = <(Timing, Timing, Timing)>::default();
    // The floor inflates exactly as `decode_frame` does: one inflater and one reused output
    // buffer.
    let (mut inflater, mut inflated) = (Inflater::new(), Vec::new());
    for _ in 0..args.passes {
        floor.run(|| {
            payloads
                .iter()
                .map(|p| {
                    inflater
                        .gunzip_into(p, &mut inflated)
                        .expect("corpus gunzips");
                    inflated.len() as u64
                })
                .sum()
        });
        full.run(|| {
            let mut messages = 0u64;
            for frame in &frames {
                let batch = decode_frame(frame.clone())
                    .expect("corpus decodes")
                    .batch
                    .expect("msg");
                for event in batch.messages {
                    let event = event.expect("corpus messages decode");
                    // Touch the decoded data so nothing is optimised away.
                    if let EventKind::Chat { text, .. } = &event.kind {
                        black_box(text.len());
                    }
                    messages += 1;
                }
            }
            messages
        });
        reference.run(|| payloads.iter().map(|p| gunzip_flate2_read(p) as u64).sum());
    }
    // The free function and the bench's own inflater must agree.
    assert_eq!(
        payloads
            .iter()
            .map(|p| gunzip(p).expect("corpus gunzips").len() as u64)
            .sum::<u64>(),
        floor.count
    );
    let (gz_cold, gz_warm, inflated) = (floor.cold(), floor.warm(), floor.count);
    let (cold, warm, messages) = (full.cold(), full.warm(), full.count);
    let ref_warm = reference.warm();
    let cpu = floor
        .warm_cpu()
        .zip(full.warm_cpu())
        .zip(reference.warm_cpu())
        .map(|((floor, full), reference)| (floor, full, reference));

    let per_s = messages as f64 / warm;
    let floor_per_s = messages as f64 / gz_warm;
    let ratio = warm / gz_warm;
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "impl": "tiktwitch",
                "frames": frames.len(),
                "messages": messages,
                "passes": args.passes,
                "seconds": warm,
                "cold_messages_per_s": messages as f64 / cold,
                "messages_per_s": per_s,
                "wire_MB_per_s": wire_bytes as f64 / 1e6 / warm,
                "inflated_MB_per_s": inflated as f64 / 1e6 / warm,
                "gunzip_only_seconds": gz_warm,
                "gunzip_only_cold_seconds": gz_cold,
                "gunzip_only_messages_per_s": floor_per_s,
                "full_over_gunzip": ratio,
                "flate2_read_gunzip_messages_per_s": messages as f64 / ref_warm,
                "cpu_messages_per_s": cpu.map(|(_, full, _)| messages as f64 / full),
                "cpu_gunzip_only_messages_per_s": cpu.map(|(floor, _, _)| messages as f64 / floor),
                "cpu_full_over_gunzip": cpu.map(|(floor, full, _)| full / floor),
            })
        );
    } else {
        println!(
            "corpus: {} frames, {messages} messages, {:.1} MB on the wire, {:.1} MB inflated",
            frames.len(),
            wire_bytes as f64 / 1e6,
            inflated as f64 / 1e6
        );
        println!(
            "full decode : {per_s:>12.0} messages/s  ({warm:.3} s warm median, {cold:.3} s cold)"
        );
        println!("gunzip only : {floor_per_s:>12.0} messages/s  ({gz_warm:.3} s warm median)");
        println!(
            "reference   : {:>12.0} messages/s  ({ref_warm:.3} s warm median; gunzip via \
             flate2::read::MultiGzDecoder, fresh state per frame)",
            messages as f64 / ref_warm
        );
        println!("full decode / gunzip only = {ratio:.2}x");
        if let Some((floor, full, reference)) = cpu {
            println!(
                "on-CPU time (immune to other processes): full {:.0}/s, gunzip only {:.0}/s, \
                 reference {:.0}/s; full / gunzip only = {:.2}x",
                messages as f64 / full,
                messages as f64 / floor,
                messages as f64 / reference,
                full / floor
            );
        }
    }
}
