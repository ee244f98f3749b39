//! Fault soak: the whole bridge in one process (`daemon::run` with a real config file)
//! against the TikTok, Twitch and OAuth stand-ins, for thousands of simulated minutes of
//! paused tokio time, while a seeded RNG injects every fault the stand-ins know:
//!
//! - TikTok: clean closes, closes mid-frame, silence (no heartbeat answers), signer 429s,
//!   5xx and empty bodies, refused handshakes, stream end then live again under a new room;
//! - Twitch: RECONNECT, abrupt closes, unanswered PINGs, refused logins, slow mode,
//!   `msg_ratelimit` NOTICEs;
//! - OAuth: every access token expiring, refused validations.
//!
//! What must hold at the end: no panic; the Twitch stand-in saw no rule broken and never
//! locked the bot out; the queues stayed within their caps; and the accounting adds up:
//! every chat message the fake TikTok sent reached the pipeline, every one is either
//! delivered to Twitch exactly once or counted by a pipeline/sink counter, and no line is
//! delivered twice. Seed and length come from `SOAK_SEED` / `SOAK_MINUTES` when set, so a
//! failure can be replayed and a longer soak run by hand.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tiktwitch::auth::StoredToken;
use tiktwitch::config;
use tiktwitch::daemon::{self, BridgeEnd, Plan};
use tiktwitch::secret::{MemoryStore, Secret, SecretStore};
use tiktwitch::standin::TwitchSide;
use tiktwitch::standin::tiktok::{
    FakeTikTok, FakeTikTokConfig, HandshakeFault, SignerFault, Step, frames,
};
use tiktwitch::standin::twitch::FakeTwitch;

/// The allocator the daemon ships (src/main.rs): the soak's "memory stays flat" check is
/// about the daemon's memory, so it runs on the same allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SIGNER_KEY: &str = "soak-signer-key";
const CLIENT_ID: &str = "soak-client";
const CHANNEL: &str = "soak_chan";
const FIRST_ROOM: u64 = 7_300_000_000_000_000_000;
/// The driver's tick: faults are drawn once per tick.
const TICK: Duration = Duration::from_secs(10);

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Resident set size in bytes (Linux), for a loose "memory stays flat" check.
fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Builds the scripts of TikTok connections: a burst of chats with random pauses, then
/// one way the connection ends.
struct Scripter {
    rng: StdRng,
    next_msg_id: u64,
    next_room: u64,
    room: u64,
    /// Every chat id scripted, with its text.
    chats: BTreeMap<u64, String>,
}

impl Scripter {
    fn chat_text(id: u64) -> String {
        format!("soak-{id} hello")
    }

    fn script(&mut self) -> Vec<Step> {
        let mut steps = Vec::new();
        // Mostly calm, sometimes a burst far faster than Twitch's pace and longer than the
        // sink's queue (the sink must queue and shed, counted, and never break a rule).
        let burst = self.rng.random_bool(0.08);
        let chats = if burst {
            self.rng.random_range(60..200)
        } else {
            self.rng.random_range(0..40)
        };
        for _ in 0..chats {
            let pause = if burst {
                self.rng.random_range(20..200)
            } else {
                self.rng.random_range(500..30_000)
            };
            steps.push(Step::Pause(Duration::from_millis(pause)));
            let id = self.next_msg_id;
            self.next_msg_id += 1;
            let text = Self::chat_text(id);
            steps.push(Step::Frame(frames::single(
                id,
                frames::chat_message(id, self.room, "fan", &text),
            )));
            self.chats.insert(id, text);
        }
        steps.push(Step::Pause(Duration::from_millis(
            self.rng.random_range(100..60_000),
        )));
        match self.rng.random_range(0..5) {
            0 => steps.push(Step::Close),
            1 => steps.push(Step::CloseMidFrame),
            2 => steps.push(Step::Silence),
            3 => {
                // Stream end, then live again later under a new room id.
                let id = self.next_msg_id;
                self.next_msg_id += 1;
                steps.push(Step::GoOffline);
                steps.push(Step::Frame(frames::single(
                    id,
                    frames::control_message(id, self.room, 3),
                )));
                self.next_room += 1;
                self.room = self.next_room;
                steps.push(Step::GoLiveLater {
                    room_id: self.room,
                    after: Duration::from_secs(self.rng.random_range(30..1200)),
                });
                steps.push(Step::Pause(Duration::from_secs(5)));
                steps.push(Step::Close);
            }
            _ => steps.push(Step::CloseMidFrame),
        }
        steps
    }
}

fn config_text(fake: &FakeTikTok, side: &TwitchSide) -> String {
    side.config_head()
        + r#"
[tiktok]
wait_for_live = true

[shutdown]
grace_secs = 5

# One line per comment: this test counts lines (packing has its own tests).
[routes.chat]
pack = false
"# + &fake.bridge_toml("soak", CHANNEL)
}

/// The delivered PRIVMSGs' chat ids (`soak-<id>`), with how often each was delivered.
fn delivered_ids(twitch: &FakeTwitch) -> BTreeMap<u64, u32> {
    let mut ids = BTreeMap::new();
    for p in twitch.delivered() {
        if let Some(rest) = p.text.split("soak-").nth(1) {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            if let Ok(id) = digits.parse::<u64>() {
                *ids.entry(id).or_insert(0) += 1;
            }
        }
    }
    ids
}

#[derive(Debug, Default)]
struct FaultCounts(BTreeMap<&'static str, u64>);

impl FaultCounts {
    fn hit(&mut self, name: &'static str) {
        *self.0.entry(name).or_default() += 1;
    }
}

#[tokio::test(start_paused = true)]
async fn the_bridge_survives_every_fault_and_the_accounting_adds_up() {
    let seed = env_u64("SOAK_SEED", 0x50a4);
    let minutes = env_u64("SOAK_MINUTES", 2_000);
    let mut rng = StdRng::seed_from_u64(seed);

    let tiktok = FakeTikTok::start(FakeTikTokConfig {
        username: "soakcreator".into(),
        room_id: FIRST_ROOM,
        api_key: Some(SIGNER_KEY.into()),
        ..FakeTikTokConfig::default()
    })
    .await
    .unwrap();
    let side = TwitchSide::start(CLIENT_ID).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, config_text(&tiktok, &side)).unwrap();
    let TwitchSide {
        oauth,
        twitch,
        access_token: access,
        refresh_token: refresh,
        ..
    } = side;
    let loaded = config::load(Some(&path), tiktwitch::pipeline::Pipeline::check).unwrap();
    let plan = Plan::from_config(&loaded, None).unwrap();
    let queue_capacity = plan.sink.queue_capacity as u64;
    let secrets = MemoryStore::new();
    let token = StoredToken {
        access_token: Secret::new(access),
        refresh_token: Some(Secret::new(refresh)),
        expires_at: None,
        scopes: vec!["chat:read".into(), "chat:edit".into()],
        login: Some("tiktwitch_bot".into()),
        user_id: None,
        client_id: Some(CLIENT_ID.into()),
        obtained_at: 0,
    };
    secrets
        .set(tiktwitch::auth::TOKEN_SECRET, &token.to_secret())
        .await
        .unwrap();
    secrets
        .set("tiktok-signer-api-key", &Secret::new(SIGNER_KEY))
        .await
        .unwrap();

    let mut scripter = Scripter {
        rng: StdRng::seed_from_u64(seed ^ 0x5c41),
        next_msg_id: 1_000,
        next_room: FIRST_ROOM,
        room: FIRST_ROOM,
        chats: BTreeMap::new(),
    };
    for _ in 0..2 {
        tiktok.push_script(scripter.script());
    }

    let daemon = daemon::spawn(plan, Arc::new(secrets));

    let ticks = minutes * 60 / TICK.as_secs();
    let mut faults = FaultCounts::default();
    let mut pong_off_until: Option<u64> = None;
    let mut slow_until: Option<u64> = None;
    let mut rss_warm = None;
    let mut max_queue_seen = 0;
    let mut validations_at_last_refusal = 0;
    for tick in 0..ticks {
        tokio::time::sleep(TICK).await;
        if tick == ticks / 4 {
            rss_warm = rss_bytes();
        }
        // Keep the next connections' scripts queued (handshakes refused by a fault take
        // none).
        while tiktok.pending_scripts() < 2 {
            tiktok.push_script(scripter.script());
        }
        // TikTok-side faults for the next signer call / handshake.
        if rng.random_bool(1.0 / 120.0) {
            tiktok.fail_signer(SignerFault::RateLimited {
                retry_after_secs: rng.random_range(5..120),
                label: "sign-per-minute".into(),
            });
            faults.hit("signer_429");
        }
        if rng.random_bool(1.0 / 150.0) {
            tiktok.fail_signer(if rng.random_bool(0.5) {
                SignerFault::ServerError
            } else {
                SignerFault::EmptyBody
            });
            faults.hit("signer_5xx");
        }
        if rng.random_bool(1.0 / 200.0) {
            tiktok.fail_handshake(HandshakeFault::Unavailable);
            faults.hit("handshake_503");
        }
        // Twitch-side faults, now.
        if rng.random_bool(1.0 / 180.0) {
            twitch.reconnect();
            faults.hit("twitch_reconnect");
        }
        if rng.random_bool(1.0 / 180.0) {
            twitch.close_all();
            faults.hit("twitch_close");
        }
        if pong_off_until.is_none() && rng.random_bool(1.0 / 300.0) {
            twitch.set_pong(false);
            pong_off_until = Some(tick + rng.random_range(6..60));
            faults.hit("twitch_no_pong");
        }
        if pong_off_until.is_some_and(|t| tick >= t) {
            twitch.set_pong(true);
            pong_off_until = None;
        }
        if rng.random_bool(1.0 / 400.0) {
            twitch.fail_next_logins(1);
            twitch.close_all();
            faults.hit("twitch_login_refused");
        }
        if slow_until.is_none() && rng.random_bool(1.0 / 300.0) {
            twitch.set_room_mode(CHANNEL, "slow", rng.random_range(2..30));
            slow_until = Some(tick + rng.random_range(6..120));
            faults.hit("twitch_slow_mode");
        }
        if slow_until.is_some_and(|t| tick >= t) {
            twitch.set_room_mode(CHANNEL, "slow", 0);
            slow_until = None;
        }
        if rng.random_bool(1.0 / 150.0) {
            twitch.refuse_next(
                CHANNEL,
                "msg_ratelimit",
                "Your message was not sent because you are sending messages too quickly.",
            );
            faults.hit("twitch_msg_ratelimit");
        }
        // OAuth-side faults.
        if rng.random_bool(1.0 / 500.0) {
            oauth.expire_access_tokens();
            faults.hit("oauth_expired");
        }
        // One refused validation at a time: two in a row (the second on the freshly
        // refreshed token) is the manager's documented "log in again" stop, not a fault
        // it should survive.
        let validations = oauth.count("validate");
        if validations > validations_at_last_refusal && rng.random_bool(1.0 / 500.0) {
            validations_at_last_refusal = validations;
            oauth.fail_next_validations(1);
            faults.hit("oauth_validation_refused");
        }
        if let Some(r) = daemon.running() {
            max_queue_seen = max_queue_seen.max(r.sink.stats().queue_depth);
        }
        assert!(!twitch.locked_out(), "locked out at tick {tick}");
    }
    twitch.set_pong(true);
    twitch.set_room_mode(CHANNEL, "slow", 0);
    // Let the sink catch up with what is queued (paced: at most 64 lines, ~2 min).
    tokio::time::sleep(Duration::from_secs(300)).await;

    let running = daemon.running().expect("the daemon started");
    let bridge = running.bridges[0].clone();
    let source_stats = bridge.counters.source.lock().unwrap().snapshot();
    daemon.stop();
    let report = daemon
        .join()
        .await
        .expect("no panic")
        .expect("the daemon ran");
    assert_eq!(report.bridges[0].1, BridgeEnd::Shutdown);
    let rss_end = rss_bytes();

    // What the fake TikTok really sent (scripts cut short by a reconnect never sent the
    // rest).
    let tiktok_report = tiktok.report();
    let sent_ids: HashSet<u64> = tiktok_report
        .connections
        .iter()
        .flat_map(|c| c.sent_msg_ids.iter().copied())
        .filter(|id| scripter.chats.contains_key(id))
        .collect();
    let delivered = delivered_ids(&twitch);
    let pipeline = &report.bridges[0].2;
    let chat = pipeline.kinds.get("chat").copied().unwrap_or_default();
    let sink = &report.sink;

    eprintln!(
        "soak seed {seed:#x}, {minutes} simulated min: faults {:?}",
        faults.0
    );
    eprintln!(
        "tiktok: {} connections, {} signer calls, {} chats sent; source restarts {}",
        tiktok_report.connections.len(),
        tiktok_report.signer_calls,
        sent_ids.len(),
        bridge.snapshot().restarts
    );
    eprintln!("pipeline chat: {chat:?}");
    eprintln!("sink: {sink:?}");
    eprintln!(
        "twitch: {} connections, {} logins, {} delivered chat lines; oauth: {} refreshes, {} validations",
        twitch.connections(),
        twitch.logins(),
        delivered.len(),
        oauth.count("token"),
        oauth.count("validate"),
    );
    eprintln!(
        "rss: warm {:?} MB, end {:?} MB",
        rss_warm.map(|b| b / (1 << 20)),
        rss_end.map(|b| b / (1 << 20))
    );

    // The faults really happened, and the bridge really worked through them.
    for fault in [
        "signer_429",
        "twitch_reconnect",
        "twitch_close",
        "twitch_no_pong",
        "twitch_slow_mode",
        "twitch_msg_ratelimit",
        "oauth_expired",
    ] {
        assert!(
            faults.0.get(fault).copied().unwrap_or(0) > 0,
            "{fault} never injected"
        );
    }
    assert!(tiktok_report.connections.len() > 50);
    assert!(twitch.logins() > 5, "Twitch reconnected");
    assert!(sent_ids.len() > 1_000, "{} chats", sent_ids.len());

    // Twitch's rules: none broken, never locked out.
    assert!(twitch.violations().is_empty(), "{:?}", twitch.violations());
    assert!(!twitch.locked_out());
    // The fake TikTok's client duties (acks, heartbeats, fresh signed URLs ...).
    assert!(
        tiktok_report.violations.is_empty(),
        "{:?}",
        tiktok_report.violations
    );

    // Bounded queues.
    assert!(
        sink.max_queue_depth <= queue_capacity,
        "sink queue reached {}",
        sink.max_queue_depth
    );
    assert!(max_queue_seen <= queue_capacity);
    assert!(
        sink.shed_for("queue_full") > 0,
        "the bursts overflowed the queue"
    );

    // Nothing lost between the socket and the pipeline; nothing decoded twice.
    let source_messages = source_stats.messages;
    let source_dupes = source_stats.duplicates;
    assert_eq!(source_dupes, 0, "ids are unique: nothing is a replay");
    assert!(source_messages >= sent_ids.len() as u64);
    assert_eq!(
        chat.received,
        sent_ids.len() as u64,
        "every chat the fake sent reached the pipeline exactly once"
    );
    // The pipeline's books balance, and nothing is left pending after the flush.
    assert!(pipeline.balanced(), "{pipeline:?}");
    assert_eq!(chat.pending, 0);
    assert_eq!(chat.failed, 0, "{pipeline:?}");

    // No line delivered twice; only lines the fake sent were delivered.
    let twice: Vec<_> = delivered.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "delivered twice: {twice:?}");
    assert!(delivered.keys().all(|id| sent_ids.contains(id)));

    // The sink's books: every part it accepted ended in exactly one final state.
    assert_eq!(
        sink.lines_in + sink.extra_parts,
        sink.accounted(),
        "{sink:?}"
    );
    assert_eq!(sink.queue_depth + sink.in_flight, 0);
    let delivered_all = twitch.delivered().len() as u64;
    assert!(
        sink.confirmed <= delivered_all && delivered_all <= sink.sent,
        "confirmed {} <= delivered {delivered_all} <= sent {}",
        sink.confirmed,
        sink.sent
    );
    // Every chat relayed and not delivered is accounted for by a sink counter: shed
    // (queue full, shutdown), dropped as a duplicate, rejected, or written and lost with
    // its connection (sent but never delivered).
    let not_delivered = chat.relayed - delivered.len() as u64;
    let chat_shed: u64 = sink
        .shed
        .iter()
        .filter(|((kind, _), _)| kind == "chat")
        .map(|(_, n)| n)
        .sum();
    let lost_in_flight = sink.sent - delivered_all;
    assert!(
        delivered.len() as u64 + chat_shed <= chat.relayed,
        "no chat both delivered and shed"
    );
    assert!(
        not_delivered <= chat_shed + sink.dropped_duplicate + sink.rejected + lost_in_flight,
        "{not_delivered} chats not delivered, but shed {chat_shed}, duplicate {}, rejected {}, lost in flight {lost_in_flight}",
        sink.dropped_duplicate,
        sink.rejected,
    );
    assert_eq!(sink.dropped_duplicate, 0, "every text is unique");

    // Memory stays flat (loose: RSS is a real measurement; the stand-ins' own records grow).
    if let (Some(warm), Some(end)) = (rss_warm, rss_end) {
        assert!(
            end < warm + (64 << 20),
            "RSS grew from {} MB to {} MB",
            warm >> 20,
            end >> 20
        );
    }
}
