//! The Twitch sink end to end: the real twitch-irc client over plain TCP to the strict fake
//! Twitch on 127.0.0.1, under paused tokio time (so 30 s windows cost nothing).
//!
//! twitch-irc's transport takes its address from a process-wide routing slot, so every test
//! uses its own slot (`RoutedTcp<N>`).

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tiktwitch::line::{Line, Priority};
use tiktwitch::sink::freshness::Freshness;
use tiktwitch::sink::twitch::RoutedTcp;
use tiktwitch::sink::{
    ChannelState, LoginFailureHandler, SinkError, SinkHandle, SinkState, TwitchSink,
    TwitchSinkSettings,
};
use tiktwitch::standin::twitch::{FakeTwitch, FakeTwitchConfig, Privmsg};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep};
use tokio_util::sync::CancellationToken;
use twitch_irc::login::{CredentialsPair, LoginCredentials, StaticLoginCredentials};

const WINDOW: Duration = Duration::from_secs(30);

fn settings(fake: &FakeTwitch, channels: &[&str]) -> TwitchSinkSettings {
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

fn creds() -> StaticLoginCredentials {
    StaticLoginCredentials::new("bot".into(), Some("good".into()))
}

fn line(text: impl Into<String>, priority: Priority, kind: &'static str, id: u64) -> Line {
    Line {
        text: text.into(),
        priority,
        kind,
        msg_id: id,
    }
}

fn chat(text: impl Into<String>, id: u64) -> Line {
    line(text, Priority::Normal, "chat", id)
}

/// Waits (in virtual time) until `cond` holds; panics after `limit`.
async fn until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        sleep(Duration::from_millis(50)).await;
    }
}

async fn until_active(handle: &SinkHandle, channel: &str) {
    until("channel active", Duration::from_secs(30), || {
        handle
            .channels()
            .get(channel)
            .is_some_and(|c| c.state == ChannelState::Active)
    })
    .await;
}

async fn until_idle(handle: &SinkHandle, limit: Duration) {
    until("queue drained", limit, || {
        let s = handle.stats();
        s.queue_depth == 0 && s.in_flight == 0
    })
    .await;
}

fn max_in_any_window(msgs: &[Privmsg], w: Duration) -> usize {
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

fn assert_accounted(handle: &SinkHandle) {
    let s = handle.stats();
    assert_eq!(s.lines_in + s.extra_parts, s.accounted(), "{s:#?}");
}

async fn stop(shutdown: CancellationToken, task: JoinHandle<Result<(), SinkError>>) {
    shutdown.cancel();
    let res = task.await.expect("sink task panicked");
    assert!(res.is_ok(), "{res:?}");
}

/// Past twitch-irc's 90 channels per connection a second connection would join the rest,
/// while lines still go out on the first: every line must go out where its channel is joined.
/// The 120 JOINs are paced (15 per 10 s; Twitch allows 20): about 80 s.
#[tokio::test(start_paused = true)]
async fn many_channels_share_one_connection() {
    let fake = FakeTwitch::start(FakeTwitchConfig::default())
        .await
        .unwrap();
    let names: Vec<String> = (0..120).map(|i| format!("chan_{i}")).collect();
    let channels: Vec<&str> = names.iter().map(String::as_str).collect();
    let shutdown = CancellationToken::new();
    let (handle, task) = TwitchSink::new(settings(&fake, &channels))
        .start_on::<RoutedTcp<1>, _>(creds(), shutdown.clone())
        .unwrap();
    until("every channel joined", Duration::from_secs(120), || {
        handle
            .channels()
            .values()
            .all(|c| c.state == ChannelState::Active)
    })
    .await;
    let joins: Vec<Instant> = fake
        .records()
        .iter()
        .filter(|r| r.line.starts_with("JOIN "))
        .map(|r| r.at)
        .collect();
    assert_eq!(joins.len(), 120);
    assert!(
        *joins.last().unwrap() - joins[0] >= Duration::from_secs(70),
        "JOINs are paced"
    );
    for (i, channel) in [0, 95, 119].into_iter().enumerate() {
        handle.send(&names[channel], chat(format!("hello {channel}"), i as u64));
    }
    until("three lines delivered", Duration::from_secs(60), || {
        fake.delivered().len() == 3
    })
    .await;
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
    assert_eq!(fake.connections(), 1);
    stop(shutdown, task).await;
}

#[tokio::test(start_paused = true)]
async fn burst_of_10000_events_stays_within_twitch_limits() {
    let fake = FakeTwitch::start(FakeTwitchConfig::default())
        .await
        .unwrap();
    let shutdown = CancellationToken::new();
    let (handle, task) = TwitchSink::new(settings(&fake, &["alpha"]))
        .start_on::<RoutedTcp<1>, _>(creds(), shutdown.clone())
        .unwrap();
    until_active(&handle, "alpha").await;
    let capacity = handle.queue_capacity() as u64;

    // 10,000 events in 50 waves of 200, one wave every 20 s: far more than 18 per 30 s.
    let mut id = 0u64;
    for _wave in 0..50 {
        for _ in 0..200 {
            id += 1;
            // 1 % gifts (they always fit), 30 % joins, the rest chat.
            let (p, kind) = match id % 100 {
                0 => (Priority::High, "gift"),
                1..=30 => (Priority::Low, "join"),
                _ => (Priority::Normal, "chat"),
            };
            handle.send(
                "alpha",
                line(format!("[TikTok] {} #{id}", p.name()), p, kind, id),
            );
            assert!(handle.stats().queue_depth <= capacity);
        }
        sleep(Duration::from_secs(20)).await;
    }
    until_idle(&handle, Duration::from_secs(3600)).await;

    assert!(!fake.locked_out(), "the fake locked the bot out");
    assert_eq!(fake.violations(), vec![]);
    let msgs = fake.privmsgs();
    assert!(max_in_any_window(&msgs, WINDOW) <= 18);
    let s = handle.stats();
    assert_eq!(s.lines_in, 10_000);
    assert_eq!(s.sent as usize, msgs.len());
    assert_eq!(s.confirmed, s.sent);
    assert!(s.sent > 500, "{s:#?}");
    assert!(s.shed_for("queue_full") > 5_000);
    assert!(s.max_queue_depth <= capacity);
    assert_accounted(&handle);
    // Gifts outrank the rest: none was shed while lower lines were waiting.
    assert!(
        !s.shed.contains_key(&("gift".into(), "queue_full".into())),
        "{:?}",
        s.shed
    );
    // Order is kept within each priority class.
    let mut last: BTreeMap<&str, u64> = BTreeMap::new();
    for m in &msgs {
        let (_, rest) = m.text.split_once("] ").unwrap();
        let (class, n) = rest.split_once(" #").unwrap();
        let n: u64 = n.parse().unwrap();
        let class = ["high", "normal", "low"]
            .into_iter()
            .find(|c| *c == class)
            .unwrap();
        assert!(
            last.get(class).is_none_or(|prev| *prev < n),
            "{class} out of order at {n}"
        );
        last.insert(class, n);
    }
    // One connection, in order.
    assert_eq!(fake.connections(), 1);
    stop(shutdown, task).await;
}

/// Hostile TikTok text never makes a second IRC command, a command line or an over-long line.
#[tokio::test(start_paused = true)]
async fn hostile_text_never_injects() {
    let fake = FakeTwitch::start(FakeTwitchConfig::default())
        .await
        .unwrap();
    let shutdown = CancellationToken::new();
    let mut s = settings(&fake, &["alpha"]);
    s.split_kinds = vec!["question".into()];
    let (handle, task) = TwitchSink::new(s)
        .start_on::<RoutedTcp<2>, _>(creds(), shutdown.clone())
        .unwrap();
    until_active(&handle, "alpha").await;

    let long = "ab ".repeat(1700); // 5,100 chars
    let hostile = [
        "hi\r\nPRIVMSG #other :spam".to_owned(),
        "x\rJOIN #other".to_owned(),
        "y\nQUIT :bye".to_owned(),
        "/ban someone".to_owned(),
        ".timeout someone 600".to_owned(),
        "   /me hides".to_owned(),
        "\u{200B}/ban zero-width".to_owned(),
        "\u{202E}/ban rtl-override".to_owned(),
        "\0NICK evil".to_owned(),
        "a\u{2028}PART #alpha".to_owned(),
        "line\u{85}NEL".to_owned(),
        long.clone(),
        "👨‍👩‍👧 family and مرحبا بالعالم and שלום".to_owned(),
        "emoji 🇩🇪👍🏽 ok".to_owned(),
    ];
    for (i, text) in hostile.iter().enumerate() {
        handle.send("alpha", chat(text.clone(), i as u64));
    }
    handle.send(
        "alpha",
        line(format!("Q: {long}"), Priority::Normal, "question", 99),
    );
    until_idle(&handle, Duration::from_secs(600)).await;

    assert_eq!(fake.violations(), vec![]);
    let records = fake.records();
    for r in &records {
        let cmd = r
            .line
            .split(' ')
            .find(|w| !w.starts_with(['@', ':']))
            .unwrap();
        assert!(
            ["CAP", "PASS", "NICK", "JOIN", "PRIVMSG", "PING", "PONG"].contains(&cmd),
            "{r:?}"
        );
        if cmd == "JOIN" {
            assert_eq!(r.line, "JOIN #alpha");
        }
        if cmd == "NICK" {
            assert_eq!(r.line, "NICK bot");
        }
    }
    let msgs = fake.privmsgs();
    // 14 hostile lines, 1 question in 3 parts: 17 PRIVMSGs, all to #alpha.
    assert_eq!(msgs.len(), 17, "{msgs:#?}");
    for m in &msgs {
        assert_eq!(m.channel, "alpha");
        assert!(m.text.chars().count() <= 500);
        assert!(!m.text.starts_with(['/', '.']));
        assert_eq!(m.outcome, "delivered");
    }
    let texts: Vec<&str> = msgs.iter().map(|m| m.text.as_str()).collect();
    assert!(texts.contains(&"hi PRIVMSG #other :spam"));
    assert!(texts.contains(&"ban someone"));
    assert!(texts.contains(&"timeout someone 600"));
    assert!(texts.contains(&"👨‍👩‍👧 family and مرحبا بالعالم and שלום"));
    assert!(texts.iter().any(|t| t.ends_with("(3/3)")));
    assert_accounted(&handle);
    stop(shutdown, task).await;
}

/// Sends `n` numbered lines, waits until the fake delivered `k` of them, runs `fault`, then
/// checks every line is accounted for and the delivered ones are in order.
async fn survive_fault<const SLOT: usize>(
    fault: impl FnOnce(&FakeTwitch),
) -> (FakeTwitch, SinkHandle) {
    let fake = FakeTwitch::start(FakeTwitchConfig::default())
        .await
        .unwrap();
    let shutdown = CancellationToken::new();
    let (handle, task) = TwitchSink::new(settings(&fake, &["alpha"]))
        .start_on::<RoutedTcp<SLOT>, _>(creds(), shutdown.clone())
        .unwrap();
    until_active(&handle, "alpha").await;
    for i in 0..30 {
        handle.send("alpha", chat(format!("line {i}"), i));
    }
    until("5 delivered", Duration::from_secs(120), || {
        fake.delivered().len() >= 5
    })
    .await;
    fault(&fake);
    until_idle(&handle, Duration::from_secs(600)).await;
    let s = handle.stats();
    assert_eq!(s.sent, 30, "{s:#?}");
    assert_accounted(&handle);
    assert_eq!(fake.violations(), vec![]);
    assert!(!fake.locked_out());
    let delivered: Vec<u64> = fake
        .delivered()
        .iter()
        .map(|m| m.text.trim_start_matches("line ").parse().unwrap())
        .collect();
    assert!(delivered.windows(2).all(|w| w[0] < w[1]), "{delivered:?}");
    // Every line but at most the one in flight at the fault reached the fake.
    assert!(delivered.len() >= 29, "{delivered:?}");
    stop(shutdown, task).await;
    (fake, handle)
}

#[tokio::test(start_paused = true)]
async fn reconnect_command_keeps_the_queue() {
    let (fake, handle) = survive_fault::<3>(FakeTwitch::reconnect).await;
    assert!(fake.logins() >= 2);
    assert!(handle.stats().reconnects >= 1);
}

#[tokio::test(start_paused = true)]
async fn abrupt_close_keeps_the_queue() {
    let (fake, handle) = survive_fault::<4>(FakeTwitch::close_all).await;
    assert!(fake.connections() >= 2);
    assert!(handle.stats().reconnects >= 1);
}

#[tokio::test(start_paused = true)]
async fn missing_pong_reconnects() {
    let (fake, handle) = survive_fault::<5>(|f| f.set_pong(false)).await;
    // twitch-irc pings every 30 s and gives up 5 s later; the fake never answers now, so the
    // client keeps reconnecting while lines still go out on each fresh connection.
    assert!(fake.connections() >= 2, "{}", fake.connections());
    assert!(handle.stats().reconnects >= 1);
}

#[tokio::test(start_paused = true)]
async fn login_failure_without_hook_stops_instead_of_retrying_forever() {
    let fake = FakeTwitch::start(FakeTwitchConfig {
        valid_tokens: Some(HashSet::from(["good".to_owned()])),
        ..FakeTwitchConfig::default()
    })
    .await
    .unwrap();
    let bad = StaticLoginCredentials::new("bot".into(), Some("bad".into()));
    let (handle, task) = TwitchSink::new(settings(&fake, &["alpha"]))
        .start_on::<RoutedTcp<6>, _>(bad, CancellationToken::new())
        .unwrap();
    handle.send("alpha", chat("queued before login", 1));
    let res = tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .expect("sink did not stop")
        .unwrap();
    assert!(matches!(res, Err(SinkError::LoginFailed { .. })), "{res:?}");
    assert!(matches!(handle.state(), SinkState::Stopped(_)));
    sleep(Duration::from_secs(60)).await;
    assert_eq!(fake.login_failures(), 1, "twitch-irc kept retrying");
    handle.send("alpha", chat("after stop", 2));
    let s = handle.stats();
    assert_eq!(s.login_failures, 1);
    assert_eq!(s.shed_for("sink_stopped"), 2);
    assert_accounted(&handle);
}

#[derive(Debug, Clone)]
struct SwappableCreds(Arc<Mutex<String>>);

#[async_trait]
impl LoginCredentials for SwappableCreds {
    type Error = std::convert::Infallible;
    async fn get_credentials(&self) -> Result<CredentialsPair, Self::Error> {
        Ok(CredentialsPair {
            login: "bot".into(),
            token: Some(self.0.lock().unwrap().clone()),
        })
    }
}

struct Refresher {
    creds: SwappableCreds,
    new_token: &'static str,
    calls: AtomicU32,
}

#[async_trait]
impl LoginFailureHandler for Refresher {
    async fn on_login_failed(&self) -> bool {
        self.calls.fetch_add(1, Ordering::SeqCst);
        *self.creds.0.lock().unwrap() = self.new_token.to_owned();
        true
    }
}

async fn login_with_refresh<const SLOT: usize>(
    new_token: &'static str,
) -> (
    FakeTwitch,
    SinkHandle,
    Arc<Refresher>,
    JoinHandle<Result<(), SinkError>>,
    CancellationToken,
) {
    let fake = FakeTwitch::start(FakeTwitchConfig {
        valid_tokens: Some(HashSet::from(["good".to_owned()])),
        ..FakeTwitchConfig::default()
    })
    .await
    .unwrap();
    let creds = SwappableCreds(Arc::new(Mutex::new("expired".into())));
    let hook = Arc::new(Refresher {
        creds: creds.clone(),
        new_token,
        calls: AtomicU32::new(0),
    });
    let shutdown = CancellationToken::new();
    let (handle, task) = TwitchSink::new(settings(&fake, &["alpha"]))
        .on_login_failed(hook.clone())
        .start_on::<RoutedTcp<SLOT>, _>(creds, shutdown.clone())
        .unwrap();
    handle.send("alpha", chat("hello after refresh", 1));
    (fake, handle, hook, task, shutdown)
}

#[tokio::test(start_paused = true)]
async fn login_failure_with_refresh_retries_once_and_delivers() {
    let (fake, handle, hook, task, shutdown) = login_with_refresh::<7>("good").await;
    until_idle(&handle, Duration::from_secs(60)).await;
    assert_eq!(hook.calls.load(Ordering::SeqCst), 1);
    assert_eq!(fake.login_failures(), 1);
    assert_eq!(fake.delivered().len(), 1);
    assert_eq!(handle.stats().login_failures, 1);
    assert_eq!(handle.state(), SinkState::Connected);
    stop(shutdown, task).await;
}

#[tokio::test(start_paused = true)]
async fn login_failure_after_refresh_stops() {
    let (fake, handle, hook, task, _shutdown) = login_with_refresh::<8>("still-bad").await;
    let res = tokio::time::timeout(Duration::from_secs(60), task)
        .await
        .expect("sink did not stop")
        .unwrap();
    assert!(matches!(res, Err(SinkError::LoginFailed { .. })), "{res:?}");
    assert_eq!(hook.calls.load(Ordering::SeqCst), 1);
    sleep(Duration::from_secs(60)).await;
    assert_eq!(fake.login_failures(), 2);
    assert_eq!(handle.stats().shed_for("sink_stopped"), 1);
    assert_accounted(&handle);
}

#[tokio::test(start_paused = true)]
async fn slow_mode_is_respected() {
    let fake = FakeTwitch::start(FakeTwitchConfig {
        slow_mode: [("alpha".to_owned(), 5)].into(),
        ..FakeTwitchConfig::default()
    })
    .await
    .unwrap();
    let shutdown = CancellationToken::new();
    let (handle, task) = TwitchSink::new(settings(&fake, &["alpha"]))
        .start_on::<RoutedTcp<9>, _>(creds(), shutdown.clone())
        .unwrap();
    until_active(&handle, "alpha").await;
    assert_eq!(
        handle.channels()["alpha"].slow_mode,
        Some(Duration::from_secs(5))
    );
    for i in 0..6 {
        handle.send("alpha", chat(format!("slow {i}"), i));
    }
    until_idle(&handle, Duration::from_secs(120)).await;
    // Slow mode raised to 10 s mid-stream by ROOMSTATE.
    fake.set_room_mode("alpha", "slow", 10);
    sleep(Duration::from_millis(100)).await;
    for i in 6..10 {
        handle.send("alpha", chat(format!("slow {i}"), i));
    }
    until_idle(&handle, Duration::from_secs(120)).await;
    assert_eq!(fake.violations(), vec![]);
    let msgs = fake.delivered();
    assert_eq!(msgs.len(), 10);
    for w in msgs[..6].windows(2) {
        assert!(w[1].at - w[0].at >= Duration::from_secs(5));
    }
    for w in msgs[6..].windows(2) {
        assert!(w[1].at - w[0].at >= Duration::from_secs(10));
    }
    stop(shutdown, task).await;
}

#[tokio::test(start_paused = true)]
async fn ban_notice_stops_only_that_channel() {
    let fake = FakeTwitch::start(FakeTwitchConfig::default())
        .await
        .unwrap();
    fake.refuse_always("alpha", "msg_banned", "You are permanently banned");
    let shutdown = CancellationToken::new();
    let (handle, task) = TwitchSink::new(settings(&fake, &["alpha", "beta"]))
        .start_on::<RoutedTcp<10>, _>(creds(), shutdown.clone())
        .unwrap();
    until_active(&handle, "alpha").await;
    until_active(&handle, "beta").await;
    for i in 0..10 {
        handle.send("alpha", chat(format!("a {i}"), i));
        handle.send("beta", chat(format!("b {i}"), i));
    }
    until_idle(&handle, Duration::from_secs(120)).await;
    handle.send("alpha", chat("after the ban", 99));
    let to_alpha = fake
        .privmsgs()
        .iter()
        .filter(|m| m.channel == "alpha")
        .count();
    assert_eq!(to_alpha, 1, "kept sending to a channel that banned the bot");
    assert_eq!(fake.delivered().len(), 10);
    assert!(matches!(
        &handle.channels()["alpha"].state,
        ChannelState::Stopped { reason } if reason == "msg_banned"
    ));
    assert_eq!(handle.channels()["beta"].state, ChannelState::Active);
    let s = handle.stats();
    assert_eq!(s.notices.get("msg_banned"), Some(&1));
    assert_eq!(s.rejected, 1);
    assert_eq!(s.shed_for("channel_stopped"), 10);
    assert_accounted(&handle);
    stop(shutdown, task).await;
}

#[tokio::test(start_paused = true)]
async fn timeout_of_the_bot_stops_the_channel() {
    let fake = FakeTwitch::start(FakeTwitchConfig::default())
        .await
        .unwrap();
    let shutdown = CancellationToken::new();
    let (handle, task) = TwitchSink::new(settings(&fake, &["alpha"]))
        .start_on::<RoutedTcp<11>, _>(creds(), shutdown.clone())
        .unwrap();
    until_active(&handle, "alpha").await;
    fake.clearchat_bot("alpha", Some(600));
    until("stopped", Duration::from_secs(10), || {
        matches!(
            handle.channels()["alpha"].state,
            ChannelState::Stopped { .. }
        )
    })
    .await;
    handle.send("alpha", chat("nope", 1));
    sleep(Duration::from_secs(5)).await;
    assert!(fake.privmsgs().is_empty());
    assert_eq!(handle.stats().notices.get("clearchat_timed_out"), Some(&1));
    // msg_timedout as a NOTICE does the same.
    let fake2 = FakeTwitch::start(FakeTwitchConfig::default())
        .await
        .unwrap();
    fake2.refuse_always("alpha", "msg_timedout", "You are timed out");
    stop(shutdown, task).await;
    let shutdown = CancellationToken::new();
    let (handle, task) = TwitchSink::new(settings(&fake2, &["alpha"]))
        .start_on::<RoutedTcp<16>, _>(creds(), shutdown.clone())
        .unwrap();
    until_active(&handle, "alpha").await;
    handle.send("alpha", chat("one", 1));
    handle.send("alpha", chat("two", 2));
    until_idle(&handle, Duration::from_secs(30)).await;
    assert_eq!(fake2.privmsgs().len(), 1);
    assert!(matches!(
        &handle.channels()["alpha"].state,
        ChannelState::Stopped { reason } if reason == "msg_timedout"
    ));
    stop(shutdown, task).await;
}

#[tokio::test(start_paused = true)]
async fn ratelimit_notice_pauses_then_resumes_at_half_rate() {
    let fake = FakeTwitch::start(FakeTwitchConfig::default())
        .await
        .unwrap();
    let shutdown = CancellationToken::new();
    let (handle, task) = TwitchSink::new(settings(&fake, &["alpha", "beta"]))
        .start_on::<RoutedTcp<12>, _>(creds(), shutdown.clone())
        .unwrap();
    until_active(&handle, "alpha").await;
    until_active(&handle, "beta").await;
    for i in 0..3 {
        handle.send("alpha", chat(format!("warm {i}"), i));
    }
    until_idle(&handle, Duration::from_secs(30)).await;
    fake.refuse_next("alpha", "msg_ratelimit", "too fast");
    for i in 0..40 {
        let ch = if i % 2 == 0 { "alpha" } else { "beta" };
        handle.send(ch, chat(format!("line {i}"), i));
    }
    until_idle(&handle, Duration::from_secs(600)).await;
    let msgs = fake.privmsgs();
    let refused = msgs
        .iter()
        .position(|m| m.outcome == "msg_ratelimit")
        .unwrap();
    let t = msgs[refused].at;
    let after: Vec<&Privmsg> = msgs[refused + 1..].iter().collect();
    assert!(after[0].at >= t + WINDOW, "resumed too early");
    let next_window = after.iter().filter(|m| m.at < after[0].at + WINDOW).count();
    assert!(
        next_window <= 9,
        "{next_window} lines in the half-rate window"
    );
    // The refused line was retried: all 43 lines delivered.
    assert_eq!(fake.delivered().len(), 43);
    assert_eq!(handle.stats().notices.get("msg_ratelimit"), Some(&1));
    assert_eq!(handle.stats().requeued, 1);
    assert_eq!(fake.violations(), vec![]);
    stop(shutdown, task).await;
}

#[tokio::test(start_paused = true)]
async fn duplicates_are_coalesced_or_dropped() {
    let fake = FakeTwitch::start(FakeTwitchConfig::default())
        .await
        .unwrap();
    let shutdown = CancellationToken::new();
    let (handle, task) = TwitchSink::new(settings(&fake, &["alpha"]))
        .start_on::<RoutedTcp<13>, _>(creds(), shutdown.clone())
        .unwrap();
    until_active(&handle, "alpha").await;
    for i in 0..5 {
        handle.send("alpha", chat("same text", i));
    }
    until_idle(&handle, Duration::from_secs(30)).await;
    handle.send("alpha", chat("same  text", 9)); // identical after whitespace collapse
    until_idle(&handle, Duration::from_secs(30)).await;
    sleep(WINDOW).await;
    handle.send("alpha", chat("same text", 10)); // window over: allowed again
    fake.refuse_next("alpha", "msg_duplicate", "identical");
    handle.send("alpha", chat("other text", 11));
    until_idle(&handle, Duration::from_secs(30)).await;
    let s = handle.stats();
    assert_eq!(s.coalesced, 4);
    assert_eq!(s.dropped_duplicate, 2, "{s:#?}");
    assert_eq!(fake.delivered().len(), 2);
    assert_eq!(fake.violations(), vec![]);
    assert_accounted(&handle);
    stop(shutdown, task).await;
}

#[tokio::test(start_paused = true)]
async fn emote_only_holds_until_lifted() {
    let fake = FakeTwitch::start(FakeTwitchConfig::default())
        .await
        .unwrap();
    let shutdown = CancellationToken::new();
    let (handle, task) = TwitchSink::new(settings(&fake, &["alpha"]))
        .start_on::<RoutedTcp<14>, _>(creds(), shutdown.clone())
        .unwrap();
    until_active(&handle, "alpha").await;
    fake.set_room_mode("alpha", "emote-only", 1);
    fake.refuse_next("alpha", "msg_emoteonly", "emote-only");
    fake.refuse_next("alpha", "msg_emoteonly", "emote-only");
    for i in 0..5 {
        handle.send("alpha", chat(format!("held {i}"), i));
    }
    until("held", Duration::from_secs(10), || {
        matches!(handle.channels()["alpha"].state, ChannelState::Held { .. })
    })
    .await;
    let held_at = Instant::now();
    // Held: nothing more for a minute, then one retry (refused again), then held again.
    sleep(Duration::from_secs(50)).await;
    assert_eq!(fake.privmsgs().len(), 1);
    until("one retry", Duration::from_secs(30), || {
        fake.privmsgs().len() == 2
    })
    .await;
    assert!(Instant::now() - held_at >= Duration::from_secs(59));
    sleep(Duration::from_secs(20)).await;
    assert_eq!(fake.privmsgs().len(), 2);
    assert_eq!(handle.stats().queue_depth, 5);
    // ROOMSTATE lifts the mode: lines flow at once, in order.
    fake.set_room_mode("alpha", "emote-only", 0);
    until_idle(&handle, Duration::from_secs(60)).await;
    assert!(Instant::now() - held_at < Duration::from_secs(100));
    let delivered: Vec<String> = fake.delivered().into_iter().map(|m| m.text).collect();
    assert_eq!(
        delivered,
        (0..5).map(|i| format!("held {i}")).collect::<Vec<_>>()
    );
    assert_eq!(handle.channels()["alpha"].state, ChannelState::Active);
    assert_eq!(handle.stats().requeued, 2);
    stop(shutdown, task).await;
}

#[tokio::test(start_paused = true)]
async fn moderator_badge_unlocks_the_large_budget() {
    let fake = FakeTwitch::start(FakeTwitchConfig {
        elevated_channels: HashSet::from(["alpha".to_owned()]),
        ..FakeTwitchConfig::default()
    })
    .await
    .unwrap();
    let shutdown = CancellationToken::new();
    // The burst of 200 must all wait in the queue to show the budget: room past the default
    // (`SINK_QUEUE_CAPACITY`, 64), which would shed most of it.
    let mut s = settings(&fake, &["alpha"]);
    s.queue_capacity = 256;
    let (handle, task) = TwitchSink::new(s)
        .start_on::<RoutedTcp<15>, _>(creds(), shutdown.clone())
        .unwrap();
    until_active(&handle, "alpha").await;
    assert!(handle.channels()["alpha"].elevated);
    for i in 0..200 {
        handle.send("alpha", chat(format!("mod line {i}"), i));
    }
    until_idle(&handle, Duration::from_secs(600)).await;
    let msgs = fake.delivered();
    assert_eq!(msgs.len(), 200);
    let max = max_in_any_window(&msgs, WINDOW);
    assert!((19..=90).contains(&max), "{max}");
    assert!(!fake.locked_out());
    assert_eq!(fake.violations(), vec![]);
    stop(shutdown, task).await;
}

/// The budget is a setting: a scaled-down window (10 s) and limit (fake: 6, sink: 5) hold too.
#[tokio::test(start_paused = true)]
async fn rate_override_and_scaled_window_are_obeyed() {
    let window = Duration::from_secs(10);
    let fake = FakeTwitch::start(FakeTwitchConfig {
        window,
        limit: 6,
        ..FakeTwitchConfig::default()
    })
    .await
    .unwrap();
    let shutdown = CancellationToken::new();
    let mut s = settings(&fake, &["alpha", "beta"]);
    s.rate_window = window;
    s.lines_per_window = 5;
    let (handle, task) = TwitchSink::new(s)
        .start_on::<RoutedTcp<17>, _>(creds(), shutdown.clone())
        .unwrap();
    until_active(&handle, "alpha").await;
    until_active(&handle, "beta").await;
    for i in 0..60 {
        let ch = if i % 2 == 0 { "alpha" } else { "beta" };
        handle.send(ch, chat(format!("scaled {i}"), i));
    }
    until_idle(&handle, Duration::from_secs(600)).await;
    let msgs = fake.delivered();
    assert_eq!(msgs.len(), 60);
    assert_eq!(max_in_any_window(&msgs, window), 5);
    assert!(!fake.locked_out());
    assert_eq!(fake.violations(), vec![]);
    stop(shutdown, task).await;
}

/// The fake itself is strict: a client that ignores the rules trips it (so the tests above
/// could fail). Raw twitch-irc `privmsg` without the sink: injection, burst, command text.
#[tokio::test(start_paused = true)]
async fn the_fake_catches_a_misbehaving_client() {
    use tiktwitch::sink::twitch::{Route, RoutedTransport};
    use twitch_irc::{ClientConfig, TwitchIRCClient};
    let fake = FakeTwitch::start(FakeTwitchConfig::default())
        .await
        .unwrap();
    RoutedTcp::<18>::set_route(Route {
        address: fake.addr().to_string(),
        tls: false,
        tls_server_name: "localhost".into(),
        extra_roots: vec![],
    });
    let mut config = ClientConfig::new_simple(creds());
    config.max_waiting_messages_per_connection = 1000;
    let (_rx, client) = TwitchIRCClient::<RoutedTcp<18>, _>::new(config);
    client.join("alpha".into()).unwrap();
    until("joined", Duration::from_secs(10), || {
        fake.records().len() >= 4
    })
    .await;
    sleep(Duration::from_millis(100)).await;
    client
        .privmsg("alpha".into(), "x\r\nPRIVMSG #other :injected".into())
        .await
        .unwrap();
    client
        .privmsg("alpha".into(), "/ban someone".into())
        .await
        .unwrap();
    client
        .privmsg("alpha".into(), "y\r\nQUIT :bye".into())
        .await
        .unwrap();
    for i in 0..25 {
        client
            .privmsg("alpha".into(), format!("spam {i}"))
            .await
            .unwrap();
    }
    sleep(Duration::from_secs(1)).await;
    let rules: HashSet<&str> = fake.violations().iter().map(|v| v.rule).collect();
    for rule in [
        "not_joined",
        "forbidden_command",
        "command_text",
        "channel_gap",
        "rate_limit",
    ] {
        assert!(rules.contains(rule), "{rule} not caught: {rules:?}");
    }
    assert!(fake.locked_out());
}

/// At shutdown, lines already queued still go out (paced) for `shutdown_drain`, then the rest
/// is shed as `shutdown`; lines sent after the shutdown are shed as `sink_stopped`.
#[tokio::test(start_paused = true)]
async fn shutdown_drains_queued_lines_for_a_while() {
    let fake = FakeTwitch::start(FakeTwitchConfig::default())
        .await
        .unwrap();
    let shutdown = CancellationToken::new();
    let (handle, task) = TwitchSink::new(settings(&fake, &["alpha"]))
        .start_on::<RoutedTcp<19>, _>(creds(), shutdown.clone())
        .unwrap();
    until_active(&handle, "alpha").await;
    for i in 0..10 {
        handle.send("alpha", chat(format!("last words {i}"), i));
    }
    let t0 = Instant::now();
    shutdown.cancel();
    sleep(Duration::from_millis(10)).await;
    handle.send("alpha", chat("too late", 99));
    let res = task.await.unwrap();
    assert!(res.is_ok(), "{res:?}");
    let took = Instant::now() - t0;
    assert!(took <= Duration::from_secs(6), "{took:?}");
    let delivered = fake.delivered().len() as u64;
    assert!((4..=6).contains(&delivered), "{delivered}");
    let s = handle.stats();
    assert_eq!(delivered + s.shed_for("shutdown"), 10, "{s:#?}");
    assert_eq!(s.shed_for("sink_stopped"), 1);
    assert_accounted(&handle);
    assert!(matches!(handle.state(), SinkState::Stopped(_)));
}
