//! Scale: one process running N bridges at a realistic event rate (10 chat messages/s per
//! room, the corpus' real-sized chats), against the stand-ins running in ANOTHER process so
//! their memory and CPU are not counted. Run by `benches/scale.sh`, which starts
//!
//! ```sh
//! scale fakes   --bridges N --dir D --secs S   # N creators' worth of fake TikTok, fake Twitch and OAuth; writes D/config.toml, D/env, D/frames.bin
//! scale bridges --bridges N --dir D --secs S   # daemon::run over D/config.toml; prints one JSON line
//! scale decode-cost --dir D                    # CPU µs per message of decode_frame alone over D/frames.bin
//! ```
//!
//! `benches/efficiency.sh` uses `fakes` and `decode-cost` and runs the real binary,
//! `tiktwitch run --config D/config.toml` with the variables of D/env, in between: the
//! config file is one `run` accepts as is (env secret store, `/metrics` on a free loopback
//! port, production pacing, `tiktok.signer_calls_per_minute` raised).
//!
//! The bridges process is `daemon::run` itself (source, decode, ack, heartbeat, pipeline,
//! the shared Twitch sink with its production pacing: Twitch lets a bot post 20 lines per
//! 30 s, so at this rate most lines are shed, counted, as in production). Only the signer
//! budget is raised (the fake signer has no quota; the real one would take N/10 minutes
//! to start N bridges). Several bridges share one fake creator (each bridge still has its
//! own source, socket, pipeline); the fake TikTok plays each connection its own script.

/// The allocator the daemon ships with (`src/main.rs`): the memory and CPU per bridge measured here
/// depends on it (BENCHMARKS.md, "Against the peers"), so the bench uses it too.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "support/mod.rs"]
mod support;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tiktwitch::daemon::{self, Running};
use tiktwitch::secret::{MemoryStore, Secret, SecretStore};
use tiktwitch::standin::tiktok::{FakeTikTok, FakeTikTokConfig, Step};
use tiktwitch::standin::twitch::FakeTwitch;

const ROOM: u64 = 7_500_000_000_000_000_000;
/// Bridges per fake creator (each fake is a listener, an HTTP router and a WebSocket
/// server: a thousand of them would only measure the fakes).
const BRIDGES_PER_CREATOR: usize = 50;
/// Messages per second per room unless `--rate` says otherwise (0 = an idle room).
const RATE: u64 = 10;
/// Distinct Twitch channels the bridges share (bridge i posts to `scale_{i % CHANNELS}`):
/// JOINs are paced at 15 per 10.25 s (`sink/pacing/joins.rs`), so a thousand distinct
/// channels would take ~11 minutes to join; ten are joined at once.
const CHANNELS: usize = 10;
/// Frames in D/frames.bin, decoded after the window to price decoding alone (per pass,
/// and by `tiktwitch decode`): the first frames the fakes play.
const DECODE_FRAMES: usize = 20_000;
/// Decode passes; the median warm pass is reported.
const DECODE_PASSES: usize = 5;
/// Rounds over the frames per pass: the kernel accounts thread CPU time in scheduler ticks
/// on this VM (a 20 ms pass read as exactly 2 ticks), so a pass must last ~0.2 s.
const DECODE_ROUNDS: usize = 10;

struct Args {
    mode: String,
    bridges: usize,
    dir: PathBuf,
    secs: u64,
    rate: u64,
    corpus: PathBuf,
}

fn args() -> Args {
    let mut args = Args {
        mode: String::new(),
        bridges: 1,
        dir: std::env::temp_dir().join("tiktwitch-scale"),
        secs: 30,
        rate: RATE,
        corpus: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "fakes" | "bridges" | "decode-cost" => args.mode = arg,
            "--bridges" => {
                args.bridges = it.next().and_then(|n| n.parse().ok()).expect("--bridges N")
            }
            "--secs" => args.secs = it.next().and_then(|n| n.parse().ok()).expect("--secs S"),
            "--rate" => args.rate = it.next().and_then(|n| n.parse().ok()).expect("--rate R"),
            "--dir" => args.dir = it.next().map(PathBuf::from).expect("--dir D"),
            "--corpus" => args.corpus = it.next().map(PathBuf::from).expect("--corpus DIR"),
            _ => {} // cargo bench passes --bench
        }
    }
    args
}

fn main() {
    let args = args();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    match args.mode.as_str() {
        "fakes" => runtime.block_on(fakes(&args)),
        "bridges" => runtime.block_on(bridges(&args)),
        "decode-cost" => println!("{:.3}", decode_cost_us(&args.dir)),
        _ => eprintln!(
            "usage: scale (fakes|bridges|decode-cost) --bridges N --dir D --secs S; see benches/efficiency.sh"
        ),
    }
}

async fn fakes(args: &Args) {
    std::fs::create_dir_all(&args.dir).expect("dir");
    // One script, shared by every connection (the frames are reference-counted bytes):
    // a pause while everything connects, then RATE chats a second for the whole run.
    // `--rate 0`: an idle room, live but silent for the whole run.
    let lifetime = Duration::from_secs(args.secs * 3 + 120 + args.bridges as u64 / 25);
    let mut script = vec![Step::Pause(Duration::from_secs(1))];
    // One set of frames for the script and D/frames.bin, so `decode` prices what was played.
    let played = lifetime.as_secs() as usize * args.rate as usize;
    let frames = support::chat_frames(&args.corpus, played.max(DECODE_FRAMES), ROOM);
    write_capture(&args.dir.join("frames.bin"), &frames[..DECODE_FRAMES]);
    match 1000u64.checked_div(args.rate) {
        None => script.push(Step::Pause(lifetime)),
        Some(gap_ms) => {
            for frame in &frames[..played] {
                script.push(Step::Pause(Duration::from_millis(gap_ms)));
                script.push(Step::Frame(frame.clone()));
            }
        }
    }
    let creators = args.bridges.div_ceil(BRIDGES_PER_CREATOR);
    let mut fakes = Vec::new();
    let mut specs = Vec::new();
    for c in 0..creators {
        let fake = FakeTikTok::start(FakeTikTokConfig {
            username: format!("scale{c}"),
            room_id: ROOM,
            api_key: Some(support::SIGNER_KEY.into()),
            ..FakeTikTokConfig::default()
        })
        .await
        .expect("fake TikTok");
        let served = BRIDGES_PER_CREATOR.min(args.bridges - c * BRIDGES_PER_CREATOR);
        // A few spare scripts for reconnects.
        for _ in 0..served + 5 {
            fake.push_script(script.clone());
        }
        for b in 0..served {
            let i = c * BRIDGES_PER_CREATOR + b;
            specs.push(support::BridgeSpec {
                name: format!("b{i}"),
                base_url: fake.base_url(),
                user: fake.username().into(),
                channel: format!("scale_{}", i % CHANNELS),
            });
        }
        fakes.push(fake);
    }
    let twitch = FakeTwitch::start(support::lifted_twitch_config())
        .await
        .expect("fake Twitch");
    let oauth = support::oauth().await;
    let (access, _) = oauth.mint(&["chat:read", "chat:edit"]);
    let http = free_loopback_port();
    let config = format!(
        "state_dir = {:?}\n{}{}",
        args.dir.join("state").display().to_string(),
        support::config_text(&specs, &twitch.addr().to_string(), &oauth.base_url()),
        run_sections(args.bridges, &http),
    );
    std::fs::write(args.dir.join("config.toml"), config).expect("config");
    std::fs::write(
        args.dir.join("metrics_url"),
        format!("http://{http}/metrics"),
    )
    .expect("url");
    // The env secret store's variables, for `tiktwitch run` (the script sources this file).
    std::fs::write(args.dir.join("env"), {
        // The variable names as the env store derives them from the secret names.
        let prefix = tiktwitch::secret::SecretStoreSettings::default().env_prefix;
        let env = tiktwitch::secret::EnvStore::from_vars(&prefix, [], None);
        format!(
            "export {}={access}\nexport {}={}\n",
            env.var_name(tiktwitch::auth::BARE_TOKEN_SECRET),
            env.var_name(tiktwitch::config::schema::SIGNER_API_KEY_SECRET),
            support::SIGNER_KEY
        )
    })
    .expect("env");
    std::fs::write(args.dir.join("token"), access).expect("token");
    println!("ready");
    tokio::select! {
        _ = terminated() => {}
        _ = tokio::time::sleep(lifetime) => {}
    }
    let sent: usize = fakes
        .iter()
        .map(|f| {
            f.report()
                .connections
                .iter()
                .map(|c| c.sent_msg_ids.len())
                .sum::<usize>()
        })
        .sum();
    let mut rules = std::collections::BTreeMap::<&str, (usize, String)>::new();
    for v in twitch.violations() {
        let e = rules.entry(v.rule).or_insert((0, v.line.clone()));
        e.0 += 1;
    }
    eprintln!(
        "fakes: {sent} chats sent, {} lines delivered to Twitch, Twitch violations: {rules:?}",
        twitch.delivered().len(),
    );
}

async fn bridges(args: &Args) {
    let started = Instant::now();
    let mut plan = support::lifted_plan(&args.dir.join("config.toml"), args.bridges);
    // Production pacing: lift only the signer budget.
    plan.sink = tiktwitch::sink::TwitchSinkSettings {
        server: plan.sink.server.clone(),
        tls: plan.sink.tls,
        bot_login: plan.sink.bot_login.clone(),
        channels: plan.sink.channels.clone(),
        shutdown_drain: Duration::ZERO,
        ..tiktwitch::sink::TwitchSinkSettings::default()
    };
    let token = std::fs::read_to_string(args.dir.join("token")).expect("token");
    let store = MemoryStore::new();
    store
        .set(tiktwitch::auth::BARE_TOKEN_SECRET, &Secret::new(token))
        .await
        .expect("secret");
    store
        .set("tiktok-signer-api-key", &Secret::new(support::SIGNER_KEY))
        .await
        .expect("secret");
    let running: Arc<Mutex<Option<Running>>> = Arc::default();
    let seen = running.clone();
    let stop = tokio_util::sync::CancellationToken::new();
    let daemon = tokio::spawn(daemon::run(
        plan,
        Arc::new(store),
        stop.clone().cancelled_owned(),
        move |r| *seen.lock().unwrap_or_else(|e| e.into_inner()) = Some(r.clone()),
    ));
    // Wait until every bridge is live (or two minutes, more for very many bridges).
    let startup_limit = Duration::from_secs(120 + args.bridges as u64 / 25);
    let running = loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let r = running.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(r) = r {
            let live = r
                .bridges
                .iter()
                .filter(|b| b.snapshot().tiktok_state == "live")
                .count();
            if live == args.bridges || started.elapsed() > startup_limit {
                break r;
            }
        }
        assert!(!daemon.is_finished(), "the daemon stopped early");
    };
    let startup = started.elapsed();
    let received = |r: &Running| -> u64 {
        r.bridges
            .iter()
            .map(|b| b.counters.pipeline.snapshot().total().received)
            .sum()
    };
    // Measure a steady window after a short settle.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (cpu0, wall0, events0) = (support::cpu_time(), Instant::now(), received(&running));
    tokio::time::sleep(Duration::from_secs(args.secs)).await;
    let (cpu1, wall, events1) = (support::cpu_time(), wall0.elapsed(), received(&running));
    let (hwm, rss) = support::memory_kib();
    let live = running
        .bridges
        .iter()
        .filter(|b| b.snapshot().tiktok_state == "live")
        .count();
    let sink = running.sink.stats();
    stop.cancel();
    let _ = daemon.await;
    let cpu_share = (cpu1 - cpu0).as_secs_f64() / wall.as_secs_f64();
    let events_per_s = (events1 - events0) as f64 / wall.as_secs_f64();
    let events = events1 - events0;
    let cpu_us_per_msg = if events == 0 {
        0.0
    } else {
        (cpu1 - cpu0).as_secs_f64() * 1e6 / events as f64
    };
    // The same frames' decode cost, in this process, once the daemon has stopped (so it
    // has the cores to itself), as the CPU time of this thread.
    let decode_us_per_msg = decode_cost_us(&args.dir);
    let ratio = if cpu_us_per_msg > 0.0 {
        cpu_us_per_msg / decode_us_per_msg
    } else {
        0.0
    };
    println!(
        "{{\"bench\":\"scale\",\"bridges\":{},\"rate\":{},\"live\":{live},\"cpu_us_per_msg\":{cpu_us_per_msg:.2},\"decode_us_per_msg\":{decode_us_per_msg:.3},\"ratio\":{ratio:.1},\"startup_s\":{:.1},\"window_s\":{:.1},\"events_per_s\":{:.0},\"cpu_share\":{:.3},\"vmhwm_mib\":{:.1},\"rss_mib\":{:.1},\"sink_sent\":{},\"sink_shed\":{}}}",
        args.bridges,
        args.rate,
        startup.as_secs_f64(),
        wall.as_secs_f64(),
        events_per_s,
        cpu_share,
        hwm as f64 / 1024.0,
        rss as f64 / 1024.0,
        sink.sent,
        sink.shed_total(),
    );
}

/// The sections `tiktwitch run` needs beyond the stand-ins' addresses: `/metrics` on
/// `http` (the script reads the received counter there), and a signer budget the fake
/// signer, which has no quota, lets every bridge start at once with (the real one would
/// take N/10 minutes to start N bridges). Pacing stays production.
fn run_sections(bridges: usize, http: &str) -> String {
    let signer = support::signer_budget(bridges);
    format!(
        "\n[tiktok]\nsigner_calls_per_minute = {signer}\n\n[http]\nenabled = true\nbind = \"{http}\"\n"
    )
}

/// A loopback address no one listens on right now (the OS picks; the daemon binds it a
/// moment later, so a collision is possible but unlikely).
fn free_loopback_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
    listener.local_addr().expect("addr").to_string()
}

/// `frames` as a capture `tiktwitch decode` reads: `[u32 LE len][WebcastPushFrame]` records.
fn write_capture(path: &std::path::Path, frames: &[bytes::Bytes]) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("frames.bin"));
    for frame in frames {
        tiktwitch::source::tiktok::capture::write_frame(&mut out, frame).expect("write frame");
    }
    std::io::Write::flush(&mut out).expect("flush frames.bin");
}

/// CPU µs per message of `decode_frame` alone over D/frames.bin (one chat each, as the
/// fakes send them): the median of [`DECODE_PASSES`] passes after a warm-up one.
fn decode_cost_us(dir: &std::path::Path) -> f64 {
    let file =
        std::fs::File::open(dir.join("frames.bin")).expect("D/frames.bin (scale fakes writes it)");
    let frames: Vec<bytes::Bytes> =
        tiktwitch::source::tiktok::capture::FrameReader::new(std::io::BufReader::new(file))
            .map(|f| f.expect("frames.bin record"))
            .collect();
    let mut passes = Vec::new();
    for pass in 0..=DECODE_PASSES {
        let start = support::thread_cpu_ns();
        for frame in frames.iter().cycle().take(frames.len() * DECODE_ROUNDS) {
            let decoded = tiktwitch::source::tiktok::decode::decode_frame(frame.clone());
            std::hint::black_box(decoded).expect("the bench's frames decode");
        }
        let ns = support::thread_cpu_ns() - start;
        if pass > 0 {
            passes.push(ns);
        }
    }
    passes.sort_unstable();
    passes[passes.len() / 2] as f64 / 1e3 / (frames.len() * DECODE_ROUNDS) as f64
}

/// SIGTERM from the driving script (Ctrl-C where there is no SIGTERM).
async fn terminated() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        signal(SignalKind::terminate())
            .expect("signal")
            .recv()
            .await;
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
