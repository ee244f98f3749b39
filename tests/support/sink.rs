//! The Twitch sink tests' common ground: settings pointing at the strict stand-in, lines,
//! waits on the sink's state under paused time, and the checks every test ends with.

use std::time::Duration;

use tiktwitch::line::{Line, Priority};
use tiktwitch::sink::freshness::Freshness;
use tiktwitch::sink::pack::PackSettings;
use tiktwitch::sink::twitch::RoutedTcp;
use tiktwitch::sink::{ChannelState, SinkError, SinkHandle, TwitchSink, TwitchSinkSettings};
use tiktwitch::standin::twitch::{FakeTwitch, FakeTwitchConfig, Privmsg};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep};
use tokio_util::sync::CancellationToken;
use twitch_irc::login::StaticLoginCredentials;

pub const WINDOW: Duration = Duration::from_secs(30);

pub fn settings(fake: &FakeTwitch, channels: &[&str]) -> TwitchSinkSettings {
    TwitchSinkSettings {
        server: fake.addr().to_string(),
        tls: false,
        bot_login: "bot".into(),
        channels: channels.iter().map(|c| c.to_string()).collect(),
        // These tests measure pacing with bursts that wait longer than chat's maximum age.
        freshness: Freshness::UNBOUNDED,
        ..TwitchSinkSettings::default()
    }
}

/// A sink on `#chan` of a fresh stand-in Twitch, as the product runs it (lines go stale at
/// their maximum age), packing as `pack` says, on routing slot `SLOT`: for the delivery
/// tests.
pub struct Delivery {
    pub fake: FakeTwitch,
    pub handle: SinkHandle,
    pub task: JoinHandle<Result<(), SinkError>>,
    pub shutdown: CancellationToken,
}

pub async fn start_delivery<const SLOT: usize>(pack: PackSettings) -> Delivery {
    start_delivery_with::<SLOT>(|s| s.pack = pack).await
}

/// [`start_delivery`] with the product's packing and freshness, then `adjust` applied to
/// the settings (the selection policy, other maximum ages ...).
pub async fn start_delivery_with<const SLOT: usize>(
    adjust: impl FnOnce(&mut TwitchSinkSettings),
) -> Delivery {
    let fake = FakeTwitch::start(FakeTwitchConfig::default())
        .await
        .unwrap();
    let mut settings = TwitchSinkSettings {
        pack: PackSettings::default(),
        freshness: Freshness::default(),
        ..settings(&fake, &["chan"])
    };
    adjust(&mut settings);
    let shutdown = CancellationToken::new();
    let (handle, task) = TwitchSink::new(settings)
        .start_on::<RoutedTcp<SLOT>, _>(creds(), shutdown.clone())
        .unwrap();
    Delivery {
        fake,
        handle,
        task,
        shutdown,
    }
}

pub fn creds() -> StaticLoginCredentials {
    StaticLoginCredentials::new("bot".into(), Some("good".into()))
}

pub fn line(text: impl Into<String>, priority: Priority, kind: &'static str, id: u64) -> Line {
    Line {
        text: text.into(),
        priority,
        kind,
        msg_id: id,
        meta: Default::default(),
    }
}

pub fn chat(text: impl Into<String>, id: u64) -> Line {
    line(text, Priority::Normal, "chat", id)
}

/// Waits (in virtual time) until `cond` holds; panics after `limit`.
pub async fn until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        sleep(Duration::from_millis(50)).await;
    }
}

pub async fn until_active(handle: &SinkHandle, channel: &str) {
    until("channel active", Duration::from_secs(30), || {
        handle
            .channels()
            .get(channel)
            .is_some_and(|c| c.state == ChannelState::Active)
    })
    .await;
}

pub async fn until_idle(handle: &SinkHandle, limit: Duration) {
    until("queue drained", limit, || {
        let s = handle.stats();
        s.queue_depth == 0 && s.in_flight == 0
    })
    .await;
}

pub fn max_in_any_window(msgs: &[Privmsg], w: Duration) -> usize {
    let times: Vec<Instant> = msgs.iter().map(|m| m.at).collect();
    let mut best = 0;
    let mut lo = 0;
    for hi in 0..times.len() {
        while times[hi] - times[lo] >= w {
            lo += 1;
        }
        best = best.max(hi - lo + 1);
    }
    best
}

pub fn assert_accounted(handle: &SinkHandle) {
    let s = handle.stats();
    assert_eq!(s.lines_in + s.extra_parts, s.accounted(), "{s:#?}");
}

pub async fn stop(shutdown: CancellationToken, task: JoinHandle<Result<(), SinkError>>) {
    shutdown.cancel();
    let res = task.await.expect("sink task panicked");
    assert!(res.is_ok(), "{res:?}");
}
