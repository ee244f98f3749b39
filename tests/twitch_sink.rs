//! The Twitch sink end to end: the real twitch-irc client over plain TCP to the strict fake
//! Twitch on 127.0.0.1, under paused tokio time (so 30 s windows cost nothing): one
//! connection for many channels, bursts within Twitch's limits, hostile text, the fake's own
//! strictness, and the drain at shutdown. Faults and logins are tests/twitch_sink_faults.rs,
//! channel rules (slow mode, bans, notices, badges) tests/twitch_sink_channel.rs.
//!
//! twitch-irc's transport takes its address from a process-wide routing slot, so every test
//! uses its own slot (`RoutedTcp<N>`).

mod support;

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use tiktwitch::line::Priority;
use tiktwitch::sink::twitch::RoutedTcp;
use tiktwitch::sink::{ChannelState, SinkState, TwitchSink};
use tiktwitch::standin::twitch::{FakeTwitch, FakeTwitchConfig};
use tokio::time::{Instant, sleep};
use tokio_util::sync::CancellationToken;

use support::sink::*;

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
