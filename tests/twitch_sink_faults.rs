//! The Twitch sink through faults, under paused tokio time: a reconnect command, an abrupt
//! close and a missing PONG keep the queue; a failed login stops, or is refreshed once.
//!
//! twitch-irc's transport takes its address from a process-wide routing slot, so every test
//! uses its own slot (`RoutedTcp<N>`).

mod support;

use std::collections::HashSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tiktwitch::sink::twitch::RoutedTcp;
use tiktwitch::sink::{LoginFailureHandler, SinkError, SinkHandle, SinkState, TwitchSink};
use tiktwitch::standin::twitch::{FakeTwitch, FakeTwitchConfig};
use tokio::task::JoinHandle;
use tokio::time::sleep;
use tokio_util::sync::CancellationToken;
use twitch_irc::login::{CredentialsPair, LoginCredentials, StaticLoginCredentials};

use support::sink::*;

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
