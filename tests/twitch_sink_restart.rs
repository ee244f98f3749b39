//! A restart never gets the bot rate-limited (issue #16, item 6): the sink's pacing journal
//! in `state_dir` carries the sent-lines window, the channel gap, the duplicate guard and
//! the JOINs over a `kill -9` (the engine task aborted, no clean shutdown) into the next
//! run. Two sinks in a row share one strict stand-in Twitch, which counts per account across
//! connections, and one wall clock that moves with paused tokio time.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use tiktwitch::auth::{Clock, TokioClock};
use tiktwitch::line::{Line, Priority};
use tiktwitch::sink::twitch::RoutedTcp;
use tiktwitch::sink::{ChannelState, SinkError, SinkHandle, TwitchSink, TwitchSinkSettings};
use tiktwitch::standin::twitch::{FakeTwitch, FakeTwitchConfig, Privmsg};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep};
use tokio_util::sync::CancellationToken;
use twitch_irc::login::StaticLoginCredentials;

const WINDOW: Duration = Duration::from_secs(30);

type Task = JoinHandle<Result<(), SinkError>>;

fn settings(
    fake: &FakeTwitch,
    channels: &[&str],
    dir: &std::path::Path,
    clock: &Arc<dyn Clock>,
) -> TwitchSinkSettings {
    TwitchSinkSettings {
        server: fake.addr().to_string(),
        tls: false,
        bot_login: "bot".into(),
        channels: channels.iter().map(|c| c.to_string()).collect(),
        state_dir: Some(dir.to_path_buf()),
        clock: clock.clone(),
        // Restarts wait out whole windows: the lines must survive longer than chat's max age.
        freshness: tiktwitch::sink::freshness::Freshness::UNBOUNDED,
        ..TwitchSinkSettings::default()
    }
}

fn wall_clock() -> Arc<dyn Clock> {
    Arc::new(TokioClock::starting_at(
        UNIX_EPOCH + Duration::from_secs(1_800_000_000),
    ))
}

fn creds() -> StaticLoginCredentials {
    StaticLoginCredentials::new("bot".into(), Some("good".into()))
}

fn chat(text: impl Into<String>, id: u64) -> Line {
    Line {
        text: text.into(),
        priority: Priority::Normal,
        kind: "chat",
        msg_id: id,
        meta: Default::default(),
    }
}

/// Waits (in virtual time) until `cond` holds; panics after `limit`.
async fn until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        sleep(Duration::from_millis(50)).await;
    }
}

async fn until_all_active(handle: &SinkHandle) {
    until("every channel joined", Duration::from_secs(60), || {
        handle
            .channels()
            .values()
            .all(|c| c.state == ChannelState::Active)
    })
    .await;
}

/// `kill -9`: the engine task is dropped where it stands, nothing is flushed or closed
/// cleanly.
async fn kill(task: Task) {
    task.abort();
    let _ = task.await;
}

fn delivered_at(fake: &FakeTwitch) -> Vec<Instant> {
    fake.delivered().iter().map(|p: &Privmsg| p.at).collect()
}

#[tokio::test(start_paused = true)]
async fn kill_and_immediate_restart_never_exceeds_the_window() {
    let fake = FakeTwitch::start(FakeTwitchConfig::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let clock = wall_clock();
    let channels = ["alpha", "beta", "gamma"];

    // Run 1 spends a full window (18 lines) and is killed right after the last one.
    let (first, task) = TwitchSink::new(settings(&fake, &channels, dir.path(), &clock))
        .start_on::<RoutedTcp<1>, _>(creds(), CancellationToken::new())
        .unwrap();
    until_all_active(&first).await;
    for i in 0..18u64 {
        first.send(
            channels[i as usize % 3],
            chat(format!("run one line {i}"), i),
        );
    }
    until("run 1 sent a full window", Duration::from_secs(60), || {
        fake.delivered().len() == 18
    })
    .await;
    kill(task).await;

    // Run 2 starts at once, same account, same state_dir, with a full window to send.
    let (second, task) = TwitchSink::new(settings(&fake, &channels, dir.path(), &clock))
        .start_on::<RoutedTcp<2>, _>(creds(), CancellationToken::new())
        .unwrap();
    for i in 0..18u64 {
        second.send(
            channels[i as usize % 3],
            chat(format!("run two line {i}"), 100 + i),
        );
    }
    until("run 2 sent its window", Duration::from_secs(120), || {
        fake.delivered().len() == 36
    })
    .await;

    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
    assert!(!fake.locked_out());
    let at = delivered_at(&fake);
    assert!(
        at[18] >= at[0] + WINDOW,
        "run 2 waited for run 1's window: {:?} after run 1's first line",
        at[18] - at[0]
    );
    assert_eq!(second.stats().sent, 18);
    kill(task).await;
}

#[tokio::test(start_paused = true)]
async fn restart_keeps_the_channel_gap_and_the_duplicate_guard() {
    let fake = FakeTwitch::start(FakeTwitchConfig::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let clock = wall_clock();

    let (first, task) = TwitchSink::new(settings(&fake, &["alpha"], dir.path(), &clock))
        .start_on::<RoutedTcp<3>, _>(creds(), CancellationToken::new())
        .unwrap();
    until_all_active(&first).await;
    first.send("alpha", chat("hello chat", 1));
    until("the first line", Duration::from_secs(30), || {
        fake.delivered().len() == 1
    })
    .await;
    kill(task).await;

    let (second, task) = TwitchSink::new(settings(&fake, &["alpha"], dir.path(), &clock))
        .start_on::<RoutedTcp<4>, _>(creds(), CancellationToken::new())
        .unwrap();
    until_all_active(&second).await;
    // The same text within 30 s: Twitch would refuse it (msg_duplicate); the sink drops it.
    second.send("alpha", chat("hello chat", 2));
    second.send("alpha", chat("something new", 3));
    until("the new line", Duration::from_secs(30), || {
        fake.delivered().len() == 2
    })
    .await;
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
    assert_eq!(second.stats().dropped_duplicate, 1);
    let at = delivered_at(&fake);
    assert!(
        at[1] - at[0] >= Duration::from_secs(1),
        "{:?}",
        at[1] - at[0]
    );
    kill(task).await;
}

#[tokio::test(start_paused = true)]
async fn a_crash_loop_never_exceeds_the_join_limit() {
    let fake = FakeTwitch::start(FakeTwitchConfig::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let clock = wall_clock();
    let names: Vec<String> = (0..12).map(|i| format!("chan_{i}")).collect();
    let channels: Vec<&str> = names.iter().map(String::as_str).collect();

    // Three processes in a row, each killed as soon as it has joined everything: 36 JOINs,
    // where Twitch allows 20 per 10 s.
    for run in 0..3 {
        let sink = TwitchSink::new(settings(&fake, &channels, dir.path(), &clock));
        let (handle, task) = match run {
            0 => sink.start_on::<RoutedTcp<5>, _>(creds(), CancellationToken::new()),
            1 => sink.start_on::<RoutedTcp<6>, _>(creds(), CancellationToken::new()),
            _ => sink.start_on::<RoutedTcp<7>, _>(creds(), CancellationToken::new()),
        }
        .unwrap();
        until_all_active(&handle).await;
        kill(task).await;
    }
    let joins = fake
        .records()
        .iter()
        .filter(|r| r.line.starts_with("JOIN "))
        .count();
    assert_eq!(joins, 36);
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
}

#[tokio::test(start_paused = true)]
async fn a_damaged_journal_waits_out_a_full_window() {
    let fake = FakeTwitch::start(FakeTwitchConfig::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("pacing-bot.journal"),
        "tiktwitch-pacing 1\ns 18000000",
    )
    .unwrap();
    let started = Instant::now();
    let (handle, task) = TwitchSink::new(settings(&fake, &["alpha"], dir.path(), &wall_clock()))
        .start_on::<RoutedTcp<8>, _>(creds(), CancellationToken::new())
        .unwrap();
    handle.send("alpha", chat("after a crash", 1));
    until("the line", Duration::from_secs(90), || {
        fake.delivered().len() == 1
    })
    .await;
    let waited = delivered_at(&fake)[0] - started;
    assert!(waited >= WINDOW, "{waited:?}");
    kill(task).await;
}
