//! Latency added by the bridge, with pacing lifted: from a push frame written by the fake
//! TikTok on the WebSocket to its PRIVMSG line read by the fake Twitch, through the real
//! daemon (`daemon::run`: source, decode, ack, pipeline, template, sanitizer, sink, IRC).
//!
//! The messages are the shared corpus' chat messages (real-sized users, many scripts,
//! emoji, RTL), each re-tagged with a sequence number so its line can be found, one per
//! frame, spaced `--interval-us` apart. The sink's pacing is lifted (no rate window, no
//! channel gap, no duplicate window) and so are the fake Twitch's rules: what is left is
//! the bridge's own work plus the two loopback sockets.
//!
//! ```sh
//! cargo bench --bench latency                      # a table
//! cargo bench --bench latency -- --json            # one JSON line
//! cargo bench --bench latency -- --messages 20000 --interval-us 500
//! ```

/// The allocator the daemon ships with (`src/main.rs`): the latency measured here
/// depends on it (BENCHMARKS.md, "Against the peers"), so the bench uses it too.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tiktwitch::daemon;
use tiktwitch::standin::tiktok::{FakeTikTok, FakeTikTokConfig, Step};
use tiktwitch::standin::twitch::FakeTwitch;
use tokio::time::Instant;

const ROOM: u64 = 7_400_000_000_000_000_000;
/// Messages left out of the statistics while connections, caches and the allocator warm up.
const WARMUP: usize = 200;

struct Args {
    corpus: PathBuf,
    messages: usize,
    interval: Duration,
    json: bool,
}

fn args() -> Args {
    let mut args = Args {
        corpus: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"),
        messages: 5_000,
        interval: Duration::from_micros(2_000),
        json: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut num = || it.next().and_then(|n| n.parse::<u64>().ok());
        match arg.as_str() {
            "--json" => args.json = true,
            "--messages" => args.messages = num().unwrap_or(5_000) as usize,
            "--interval-us" => args.interval = Duration::from_micros(num().unwrap_or(2_000)),
            "--corpus" => args.corpus = it.next().map(PathBuf::from).expect("--corpus DIR"),
            _ => {} // cargo bench passes --bench
        }
    }
    args
}

fn tag(text: &str) -> Option<u64> {
    let rest = text.split("~~").nth(1)?;
    rest.parse().ok()
}

fn main() {
    let args = args();
    let frames = support::chat_frames(&args.corpus, args.messages, ROOM);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (mut samples, lost) = runtime.block_on(run(&args, frames));
    samples.sort_unstable();
    let q = |p| support::quantile(&samples, p);
    let max = samples.last().copied().unwrap_or_default();
    let mean = samples.iter().sum::<Duration>() / u32::try_from(samples.len().max(1)).unwrap_or(1);
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    if args.json {
        println!(
            "{{\"bench\":\"latency\",\"messages\":{},\"measured\":{},\"lost\":{lost},\"interval_us\":{},\"p50_us\":{:.0},\"p90_us\":{:.0},\"p99_us\":{:.0},\"max_us\":{:.0},\"mean_us\":{:.0}}}",
            args.messages,
            samples.len(),
            args.interval.as_micros(),
            us(q(0.5)),
            us(q(0.9)),
            us(q(0.99)),
            us(max),
            us(mean)
        );
    } else {
        println!(
            "latency frame written -> PRIVMSG read, pacing lifted: {} messages ({} measured after {WARMUP} warm-up, {lost} not delivered), one every {} us",
            args.messages,
            samples.len(),
            args.interval.as_micros()
        );
        println!(
            "  p50 {:>7.0} us   p90 {:>7.0} us   p99 {:>7.0} us   max {:>7.0} us   mean {:>7.0} us",
            us(q(0.5)),
            us(q(0.9)),
            us(q(0.99)),
            us(max),
            us(mean)
        );
    }
}

/// Runs the bridge over the frames; returns the latencies after warm-up and how many
/// messages never arrived.
async fn run(args: &Args, frames: Vec<Bytes>) -> (Vec<Duration>, usize) {
    let n = frames.len();
    let tiktok = FakeTikTok::start(FakeTikTokConfig {
        username: "latencycreator".into(),
        room_id: ROOM,
        api_key: Some(support::SIGNER_KEY.into()),
        ..FakeTikTokConfig::default()
    })
    .await
    .expect("fake TikTok");
    // A short pause first: the sink joins its channel while the source connects.
    let mut steps = vec![Step::Pause(Duration::from_secs(1))];
    for frame in frames {
        steps.push(Step::Pause(args.interval));
        steps.push(Step::Frame(frame));
    }
    tiktok.push_script(steps);
    let twitch = FakeTwitch::start(support::lifted_twitch_config())
        .await
        .expect("fake Twitch");
    let oauth = support::oauth().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.toml");
    let spec = support::BridgeSpec {
        name: "latency".into(),
        base_url: tiktok.base_url(),
        user: tiktok.username().into(),
        channel: "latency_chan".into(),
    };
    std::fs::write(
        &path,
        support::config_text(&[spec], &twitch.addr().to_string(), &oauth.base_url()),
    )
    .expect("config");
    let plan = support::lifted_plan(&path, 1);
    let secrets = Arc::new(support::secrets(&oauth).await);
    let stop = tokio_util::sync::CancellationToken::new();
    let daemon = tokio::spawn(daemon::run(
        plan,
        secrets,
        stop.clone().cancelled_owned(),
        |_| {},
    ));

    let deadline = Instant::now() + args.interval * n as u32 + Duration::from_secs(30);
    while delivered(&twitch) < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.cancel();
    let _ = daemon.await;

    let mut sent_at = HashMap::new();
    for conn in tiktok.report().connections {
        sent_at.extend(conn.sent_msg_ids.into_iter().zip(conn.sent_at));
    }
    let mut samples = Vec::with_capacity(n);
    let mut seen = 0;
    for p in twitch.delivered() {
        let Some(seq) = tag(&p.text) else { continue };
        seen += 1;
        if seq as usize <= WARMUP {
            continue;
        }
        if let Some(at) = sent_at.get(&seq) {
            samples.push(p.at.saturating_duration_since(*at));
        }
    }
    (samples, n - seen)
}

fn delivered(twitch: &FakeTwitch) -> usize {
    twitch.delivered().len()
}
