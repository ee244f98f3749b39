//! Delivery within Twitch's budget (issue 21): a busy live replayed through the real
//! pipeline and the real sink (queue, freshness, packing, pacer, twitch-irc client) into
//! the strict stand-in Twitch (20 lines per 30 s, 1 s between lines, 500 characters, the
//! duplicate rule) on 127.0.0.1, for minutes of SIMULATED time: the runtime's clock is
//! paused and jumps ahead whenever every task waits, so 5 minutes take about a second.
//!
//! The events are the shared corpus' (`../shared/corpus/frames.bin`, decoded by the real
//! decoder) in their order: chat, gifts, likes, joins, follows, shares, viewer counts. They
//! are spread in time so that chat comments arrive at the given rate, the other events
//! evenly between them. Each rate runs twice, packing off then on, with two mixes: `live`
//! (every event of the corpus, as a busy live sends them) and `chat` (its comments only,
//! what packing alone does).
//!
//! Reported per run: comments received and relayed (in lines Twitch accepted), lines
//! accepted and how many carried chat, comments per chat line, the longest line, the age
//! of each relayed comment when Twitch accepted it (p50, p95; and p95 over every part of
//! every line), lines shed (stale, queue full), and the rules the stand-in saw broken.
//!
//! ```sh
//! cargo bench --bench delivery                         # 1 2 5 10 comments/s, 300 s
//! cargo bench --bench delivery -- --rates 10 --secs 60 --mix chat --json
//! ```

/// The allocator the daemon ships with (`src/main.rs`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "support/mod.rs"]
mod support;

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tiktwitch::event::{Event, EventKind};
use tiktwitch::pipeline::{Pipeline, PipelineConfig};
use tiktwitch::sink::pack::{PACK_SEPARATOR, PackSettings};
use tiktwitch::sink::sanitize::sanitize;
use tiktwitch::sink::sink_stats::CHAT_COMMENT_KIND;
use tiktwitch::sink::twitch::RoutedTcp;
use tiktwitch::sink::{ChannelState, SinkHandle, TwitchSink, TwitchSinkSettings};
use tiktwitch::source::tiktok::capture::FrameReader;
use tiktwitch::source::tiktok::decode::decode_frame;
use tiktwitch::standin::twitch::{FakeTwitch, FakeTwitchConfig};
use tokio::time::{Instant, sleep, sleep_until};
use tokio_util::sync::CancellationToken;
use twitch_irc::login::StaticLoginCredentials;

/// The bridge name the lines are sent under (the sink counts relayed comments per bridge).
const BRIDGE: &str = "live";
/// How long the sink may go on sending after the last event (what is still fresh then).
const DRAIN: Duration = Duration::from_secs(60);

struct Args {
    corpus: PathBuf,
    rates: Vec<f64>,
    secs: u64,
    mixes: Vec<Mix>,
    json: bool,
}

/// Which of the corpus' events a run replays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mix {
    /// Every event, in the corpus' proportions.
    Live,
    /// The chat comments only.
    Chat,
}

impl Mix {
    fn name(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Chat => "chat",
        }
    }
}

fn args() -> Args {
    let mut args = Args {
        corpus: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"),
        rates: vec![1.0, 2.0, 5.0, 10.0],
        secs: 300,
        mixes: vec![Mix::Live, Mix::Chat],
        json: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--json" => args.json = true,
            "--secs" => args.secs = it.next().and_then(|n| n.parse().ok()).expect("--secs N"),
            "--rates" => {
                args.rates = it
                    .next()
                    .map(|r| r.split(',').filter_map(|n| n.trim().parse().ok()).collect())
                    .expect("--rates 1,2,5")
            }
            "--mix" => {
                args.mixes = match it.next().as_deref() {
                    Some("live") => vec![Mix::Live],
                    Some("chat") => vec![Mix::Chat],
                    _ => panic!("--mix live|chat"),
                }
            }
            "--corpus" => args.corpus = it.next().map(PathBuf::from).expect("--corpus DIR"),
            _ => {} // cargo bench passes --bench
        }
    }
    args
}

/// The corpus' events in order, until `chats` chat comments are in (control messages
/// left out: a stream end would end the run).
fn corpus_events(corpus: &Path, chats: usize) -> Vec<Event> {
    let file = std::fs::File::open(corpus.join("frames.bin")).expect("corpus frames.bin");
    let mut events = Vec::new();
    let mut seen = 0;
    for record in FrameReader::new(std::io::BufReader::new(file)) {
        let frame = decode_frame(record.expect("corpus record")).expect("corpus frame");
        for event in frame.batch.into_iter().flat_map(|b| b.messages).flatten() {
            if matches!(event.kind, EventKind::Control { .. }) {
                continue;
            }
            if event.type_name() == CHAT_COMMENT_KIND {
                seen += 1;
            }
            events.push(event);
            if seen == chats {
                return events;
            }
        }
    }
    panic!("the corpus has {seen} chat comments, {chats} wanted");
}

/// Each event with its offset from the start: comments every `1 / rate` s, the events
/// between two comments evenly in the gap before the second.
fn schedule(events: &[Event], rate: f64) -> Vec<(Duration, &Event)> {
    let gap = 1.0 / rate;
    let mut out = Vec::with_capacity(events.len());
    let mut pending: Vec<&Event> = Vec::new();
    let mut chats = 0u32;
    for event in events {
        if event.type_name() != CHAT_COMMENT_KIND {
            pending.push(event);
            continue;
        }
        let start = f64::from(chats) * gap;
        let step = gap / (pending.len() + 1) as f64;
        for (i, e) in pending.drain(..).enumerate() {
            let at = start - gap + step * (i + 1) as f64;
            out.push((Duration::from_secs_f64(at.max(0.0)), e));
        }
        out.push((Duration::from_secs_f64(start), event));
        chats += 1;
    }
    out
}

#[derive(Debug, Default)]
struct Run {
    mix: &'static str,
    rate: f64,
    pack: bool,
    received: u64,
    /// Comments the pipeline turned into a line of their own (the rest: folded into flood
    /// summaries, or filtered as duplicates).
    to_sink: u64,
    relayed: u64,
    lines: u64,
    chat_lines: u64,
    max_chars: usize,
    ages: Vec<Duration>,
    /// The age of every delivered part (gifts, follows, summaries too).
    all_ages: Vec<Duration>,
    unmatched_parts: u64,
    stale: u64,
    queue_full: u64,
    violations: usize,
}

impl Run {
    fn per_line(&self) -> f64 {
        if self.chat_lines == 0 {
            0.0
        } else {
            self.relayed as f64 / self.chat_lines as f64
        }
    }

    fn age(&self, q: f64) -> f64 {
        support::quantile(&self.ages, q).as_secs_f64()
    }

    fn json(&self) -> String {
        format!(
            "{{\"mix\":\"{}\",\"rate\":{},\"pack\":{},\"comments_received\":{},\"comments_to_sink\":{},\"comments_relayed\":{},\"lines\":{},\"chat_lines\":{},\"comments_per_chat_line\":{:.2},\"chat_line_share\":{:.3},\"max_chars\":{},\"age_p50_s\":{:.2},\"age_p95_s\":{:.2},\"age_max_s\":{:.2},\"all_age_p95_s\":{:.2},\"unmatched_parts\":{},\"shed_stale\":{},\"shed_queue_full\":{},\"violations\":{}}}",
            self.mix,
            self.rate,
            self.pack,
            self.received,
            self.to_sink,
            self.relayed,
            self.lines,
            self.chat_lines,
            self.per_line(),
            self.chat_lines as f64 / self.lines.max(1) as f64,
            self.max_chars,
            self.age(0.5),
            self.age(0.95),
            self.age(1.0),
            support::quantile(&self.all_ages, 0.95).as_secs_f64(),
            self.unmatched_parts,
            self.stale,
            self.queue_full,
            self.violations,
        )
    }
}

async fn until_active(handle: &SinkHandle) {
    // A failure bound only: the JOIN is answered within a few simulated ms.
    for _ in 0..600 {
        if handle
            .channels()
            .get("chan")
            .is_some_and(|c| c.state == ChannelState::Active)
        {
            return;
        }
        sleep(Duration::from_millis(50)).await;
    }
    panic!("the channel never became active");
}

/// One replay: the events at `rate` comments/s through the pipeline and a sink packing
/// or not, into a fresh strict stand-in.
async fn replay(events: &[Event], mix: Mix, rate: f64, secs: u64, pack: bool) -> Run {
    let fake = FakeTwitch::start(FakeTwitchConfig::default())
        .await
        .expect("stand-in Twitch");
    let settings = TwitchSinkSettings {
        server: fake.addr().to_string(),
        tls: false,
        bot_login: "bot".into(),
        channels: vec!["chan".into()],
        pack: PackSettings {
            enabled: pack,
            ..PackSettings::default()
        },
        ..TwitchSinkSettings::default()
    };
    let shutdown = CancellationToken::new();
    let creds = StaticLoginCredentials::new("bot".into(), Some("token".into()));
    let (handle, task) = TwitchSink::new(settings)
        .start_on::<RoutedTcp<1>, _>(creds, shutdown.clone())
        .expect("sink");
    until_active(&handle).await;

    let mut pipeline = Pipeline::new(&PipelineConfig::default()).expect("default pipeline");
    let origin: Arc<str> = Arc::from(BRIDGE);
    let start = Instant::now();
    let std_start = std::time::Instant::now();
    // Each sanitized text handed to the sink, with its kind and when, to age every part.
    let mut handed: HashMap<String, VecDeque<(&'static str, Instant)>> = HashMap::new();
    let mut send = |lines: Vec<tiktwitch::line::Line>| {
        for line in lines {
            if let Some(text) = sanitize(&line.text) {
                handed
                    .entry(text.as_str().to_owned())
                    .or_default()
                    .push_back((line.kind, Instant::now()));
            }
            handle.send_from(&origin, "chan", line);
        }
    };
    let end = Duration::from_secs(secs);
    for (at, event) in schedule(events, rate) {
        if at >= end {
            break;
        }
        sleep_until(start + at).await;
        send(pipeline.push(event.clone(), std_start + at));
    }
    sleep_until(start + end).await;
    send(pipeline.tick(std_start + end));
    send(pipeline.flush());
    let drain_until = Instant::now() + DRAIN;
    loop {
        let s = handle.stats();
        if (s.queue_depth == 0 && s.in_flight == 0) || Instant::now() >= drain_until {
            break;
        }
        sleep(Duration::from_millis(100)).await;
    }
    shutdown.cancel();
    let _ = task.await;

    let stats = handle.stats();
    let relayed = stats.chat_relayed_for(BRIDGE);
    let comments = pipeline
        .stats()
        .snapshot()
        .kinds
        .get(CHAT_COMMENT_KIND)
        .copied()
        .unwrap_or_default();
    let mut run = Run {
        mix: mix.name(),
        rate,
        pack,
        received: comments.received,
        to_sink: comments.relayed,
        relayed: relayed.comments,
        chat_lines: relayed.lines,
        stale: stats.shed_for("stale"),
        queue_full: stats.shed_for("queue_full"),
        violations: fake.violations().len(),
        ..Run::default()
    };
    for line in fake.delivered() {
        run.lines += 1;
        run.max_chars = run.max_chars.max(line.text.chars().count());
        let parts: Vec<&str> = if pack {
            line.text.split(PACK_SEPARATOR).collect()
        } else {
            vec![line.text.as_str()]
        };
        for part in parts {
            match handed
                .get_mut(part)
                .and_then(|sent| take_latest(sent, line.at))
            {
                Some((kind, sent)) => {
                    let age = line.at.saturating_duration_since(sent);
                    run.all_ages.push(age);
                    if kind == CHAT_COMMENT_KIND {
                        run.ages.push(age);
                    }
                }
                None => run.unmatched_parts += 1,
            }
        }
    }
    run.ages.sort();
    run.all_ages.sort();
    run
}

/// The latest hand-over of a text at or before `at`, taken out. Texts repeat (a viewer
/// saying the same again): of the copies handed over, the shed ones are the older ones, and
/// the duplicate rule keeps two copies of one text 30 s apart, so the latest copy before
/// the delivery is the one delivered.
fn take_latest(
    sent: &mut VecDeque<(&'static str, Instant)>,
    at: Instant,
) -> Option<(&'static str, Instant)> {
    let i = sent.iter().rposition(|(_, t)| *t <= at)?;
    sent.remove(i)
}

fn main() {
    let args = args();
    let top = args.rates.iter().copied().fold(0.0, f64::max);
    let wanted = (top * args.secs as f64).ceil() as usize + 1;
    let live = corpus_events(&args.corpus, wanted);
    let chat: Vec<Event> = live
        .iter()
        .filter(|e| e.type_name() == CHAT_COMMENT_KIND)
        .cloned()
        .collect();
    let mut runs = Vec::new();
    for (&mix, &rate) in args
        .mixes
        .iter()
        .flat_map(|m| args.rates.iter().map(move |r| (m, r)))
    {
        let events = if mix == Mix::Live { &live } else { &chat };
        for pack in [false, true] {
            // A fresh paused clock per run: every run starts at simulated 0.
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .start_paused(true)
                .build()
                .expect("runtime");
            let run = runtime.block_on(replay(events, mix, rate, args.secs, pack));
            if args.json {
                println!("{}", run.json());
            }
            runs.push(run);
        }
    }
    if args.json {
        return;
    }
    println!(
        "{} s simulated per run; strict stand-in Twitch (20 lines / 30 s, 1 s gap, 500 chars)\n",
        args.secs
    );
    println!(
        "| mix | comments/s | pack | received | to sink | relayed | share | lines | chat lines | comments/chat line | lines with chat | max chars | age p50 | age p95 | all parts p95 | shed stale | shed queue_full | violations |"
    );
    println!(
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for r in &runs {
        println!(
            "| {} | {} | {} | {} | {} | {} | {:.0}% | {} | {} | {:.1} | {:.0}% | {} | {:.1} s | {:.1} s | {:.1} s | {} | {} | {} |",
            r.mix,
            r.rate,
            if r.pack { "on" } else { "off" },
            r.received,
            r.to_sink,
            r.relayed,
            100.0 * r.relayed as f64 / r.received.max(1) as f64,
            r.lines,
            r.chat_lines,
            r.per_line(),
            100.0 * r.chat_lines as f64 / r.lines.max(1) as f64,
            r.max_chars,
            r.age(0.5),
            r.age(0.95),
            support::quantile(&r.all_ages, 0.95).as_secs_f64(),
            r.stale,
            r.queue_full,
            r.violations,
        );
    }
    println!();
    for pair in runs.chunks(2) {
        if let [off, on] = pair {
            println!(
                "{} mix, {} comments/s: packing relays {:.1}x the comments of one per line ({} vs {})",
                on.mix,
                on.rate,
                on.relayed as f64 / off.relayed.max(1) as f64,
                on.relayed,
                off.relayed
            );
        }
    }
    let unmatched: u64 = runs.iter().map(|r| r.unmatched_parts).sum();
    if unmatched > 0 {
        println!("({unmatched} delivered parts could not be matched to a line sent, not aged)");
    }
}
