//! Twitch stream awareness (issue #18, item 2) against the EventSub/Helix stand-in on
//! 127.0.0.1, under paused tokio time: the watch subscribes on the welcome, follows
//! stream.online / channel.update / stream.offline, moves to a reconnect URL without
//! subscribing again, reconnects after a keepalive timeout, and falls back to Helix polling
//! when the subscriptions are refused, revoked, or EventSub keeps failing.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tiktwitch::standin::twitch_eventsub::{FakeTwitchApi, FakeTwitchApiConfig};
use tiktwitch::twitch_live::{Change, LiveBoard, StateSource, TokenSource, WatchSettings};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

const TOKEN: &str = "user-token";
const CLIENT: &str = "watch-client";
const POLL: Duration = Duration::from_secs(30);

struct Token;

#[async_trait]
impl TokenSource for Token {
    async fn user_token(&self) -> Option<String> {
        Some(TOKEN.into())
    }
}

struct Watch {
    api: FakeTwitchApi,
    board: LiveBoard,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Watch {
    async fn start(eventsub_url: Option<String>, before: impl FnOnce(&FakeTwitchApi)) -> Self {
        let api = FakeTwitchApi::start(FakeTwitchApiConfig {
            client_id: CLIENT.into(),
            token: Some(TOKEN.into()),
            keepalive_secs: 10,
            users: BTreeMap::from([
                ("chan_a".into(), "101".into()),
                ("chan_b".into(), "102".into()),
            ]),
        })
        .await
        .unwrap();
        before(&api);
        let board = LiveBoard::default();
        let stop = CancellationToken::new();
        let settings = WatchSettings {
            channels: vec!["chan_a".into(), "chan_b".into()],
            helix_base_url: api.helix_base_url(),
            client_id: CLIENT.into(),
            eventsub_url: eventsub_url.unwrap_or_else(|| api.eventsub_url()),
            poll_interval: POLL,
        };
        let task = tokio::spawn(tiktwitch::twitch_live::run(
            settings,
            Arc::new(Token),
            board.clone(),
            stop.clone(),
        ));
        Self {
            api,
            board,
            stop,
            task,
        }
    }

    async fn stop(self) {
        self.stop.cancel();
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("the watch stops")
            .unwrap();
        assert_eq!(self.api.refused_auth(), 0, "every request had the token");
    }

    fn subscribed(&self, session: &str) -> usize {
        self.api
            .subscriptions()
            .iter()
            .filter(|s| s.session_id == session)
            .count()
    }
}

/// Waits (virtual time) until `cond` holds; the limit is a failure bound only.
async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(3600);
    while !cond() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(start_paused = true)]
async fn eventsub_follows_online_update_and_offline() {
    let w = Watch::start(None, |api| {
        api.go_live("chan_b", "Already on", "Art", "2026-01-01T09:00:00Z");
    })
    .await;
    let mut changes = w.board.subscribe();
    until("6 subscriptions on one session", || {
        w.api.sessions().len() == 1 && w.subscribed(&w.api.sessions()[0]) == 6
    })
    .await;
    let subs = w.api.subscriptions();
    let kinds: Vec<(&str, &str)> = subs
        .iter()
        .filter(|s| s.broadcaster_id == "101")
        .map(|s| (s.kind.as_str(), s.version.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("stream.online", "1"),
            ("stream.offline", "1"),
            ("channel.update", "2")
        ]
    );
    // The Helix read after subscribing: chan_a offline, chan_b already live.
    until("both channels known", || w.board.snapshot().len() == 2).await;
    let b = w.board.get("chan_b").unwrap();
    assert!(b.live);
    assert_eq!(b.title.as_deref(), Some("Already on"));
    assert_eq!(b.since.as_deref(), Some("2026-01-01T09:00:00Z"));
    assert!(!w.board.get("chan_a").unwrap().live);

    w.api
        .go_live("chan_a", "Speedrun", "Celeste", "2026-01-01T10:00:00Z");
    until("chan_a live", || w.board.get("chan_a").unwrap().live).await;
    let a = w.board.get("chan_a").unwrap();
    assert_eq!(a.title.as_deref(), Some("Speedrun"));
    assert_eq!(a.category.as_deref(), Some("Celeste"));
    assert_eq!(a.since.as_deref(), Some("2026-01-01T10:00:00Z"));
    assert_eq!(a.source, StateSource::Eventsub);

    w.api.update_channel("chan_a", "Any% attempts", "Celeste");
    until("new title", || {
        w.board.get("chan_a").unwrap().title.as_deref() == Some("Any% attempts")
    })
    .await;
    w.api.go_offline("chan_a");
    until("chan_a offline", || !w.board.get("chan_a").unwrap().live).await;

    let names: Vec<(String, &str)> = std::iter::from_fn(|| changes.try_recv().ok())
        .map(|c: Change| (c.state().channel.clone(), c.name()))
        .collect();
    assert_eq!(
        names,
        [
            ("chan_a".into(), "twitch_offline"),
            ("chan_b".into(), "twitch_online"),
            ("chan_a".into(), "twitch_online"),
            ("chan_a".into(), "twitch_channel_update"),
            ("chan_a".into(), "twitch_offline"),
        ]
    );
    // Keepalives hold the one connection; EventSub needs no polling.
    let polls = w.api.stream_polls();
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert_eq!(w.api.connections(), 1);
    assert_eq!(
        w.api.stream_polls(),
        polls,
        "no polling while EventSub works"
    );
    w.stop().await;
}

#[tokio::test(start_paused = true)]
async fn session_reconnect_moves_to_the_new_url_without_subscribing_again() {
    let w = Watch::start(None, |_| {}).await;
    until("subscribed", || w.api.subscriptions().len() == 6).await;
    let session = w.api.sessions()[0].clone();
    w.api.reconnect_sessions();
    // Sent on the old connection before the client moved: still applied.
    w.api
        .go_live("chan_b", "Before the move", "Art", "2026-01-01T10:30:00Z");
    until("the new connection welcomed, the old one closed", || {
        w.api.connections() == 2 && w.api.open_connections() == 1
    })
    .await;
    assert_eq!(w.api.sessions(), vec![session], "the same session");
    assert_eq!(w.api.subscriptions().len(), 6, "nothing subscribed again");
    until("the old connection's last notification applied", || {
        w.board.get("chan_b").is_some_and(|b| b.live)
    })
    .await;
    w.api
        .go_live("chan_a", "After the move", "Chess", "2026-01-01T11:00:00Z");
    until("live through the new connection", || {
        w.board.get("chan_a").is_some_and(|a| a.live)
    })
    .await;
    w.stop().await;
}

#[tokio::test(start_paused = true)]
async fn silence_past_the_keepalive_timeout_reconnects_and_subscribes_again() {
    let w = Watch::start(None, |_| {}).await;
    until("subscribed", || w.api.subscriptions().len() == 6).await;
    let first = w.api.sessions()[0].clone();
    w.api.set_silent(true);
    let silent_at = Instant::now();
    until("a second connection", || w.api.connections() == 2).await;
    let waited = silent_at.elapsed();
    // The last keepalive came at most 10 s before the silence; the watch waits 10 s + 1 s.
    assert!(
        waited >= Duration::from_secs(1) && waited <= Duration::from_secs(12),
        "{waited:?}"
    );
    w.api.set_silent(false);
    until("subscribed on the new session", || {
        w.api
            .sessions()
            .iter()
            .any(|s| *s != first && w.subscribed(s) == 6)
    })
    .await;
    w.api
        .go_live("chan_b", "Back", "Music", "2026-01-01T12:00:00Z");
    until("live after the reconnect", || {
        w.board.get("chan_b").is_some_and(|b| b.live)
    })
    .await;
    w.stop().await;
}

#[tokio::test(start_paused = true)]
async fn refused_subscriptions_fall_back_to_polling() {
    let w = Watch::start(None, |api| api.refuse_subscriptions(Some(403))).await;
    until("polled", || {
        w.board
            .get("chan_a")
            .is_some_and(|a| a.source == StateSource::Polling)
    })
    .await;
    w.api
        .go_live("chan_a", "Polled", "IRL", "2026-01-01T13:00:00Z");
    let at = Instant::now();
    until("live seen by a poll", || {
        w.board.get("chan_a").unwrap().live
    })
    .await;
    assert!(at.elapsed() <= POLL + Duration::from_secs(1));
    let a = w.board.get("chan_a").unwrap();
    assert_eq!(
        (a.title.as_deref(), a.category.as_deref(), a.source),
        (Some("Polled"), Some("IRL"), StateSource::Polling)
    );
    let polls = w.api.stream_polls();
    tokio::time::sleep(POLL * 10).await;
    let more = w.api.stream_polls() - polls;
    assert!((9..=11).contains(&more), "one poll per interval: {more}");
    assert_eq!(w.api.connections(), 1, "EventSub is not tried again");
    w.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_revoked_subscription_falls_back_to_polling() {
    let w = Watch::start(None, |_| {}).await;
    until("subscribed", || w.api.subscriptions().len() == 6).await;
    w.api.revoke("stream.online");
    until("polling", || {
        w.board
            .get("chan_a")
            .is_some_and(|a| a.source == StateSource::Polling)
    })
    .await;
    w.stop().await;
}

#[tokio::test(start_paused = true)]
async fn repeated_eventsub_failures_fall_back_to_polling() {
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/ws", closed.local_addr().unwrap());
    drop(closed);
    let w = Watch::start(Some(url), |_| {}).await;
    until("polling", || {
        w.board
            .get("chan_a")
            .is_some_and(|a| a.source == StateSource::Polling)
    })
    .await;
    w.api
        .go_live("chan_b", "Still seen", "Art", "2026-01-01T14:00:00Z");
    until("live seen by a poll", || {
        w.board.get("chan_b").is_some_and(|b| b.live)
    })
    .await;
    w.stop().await;
}
