//! The Twitch sink obeys each channel's rules, under paused tokio time: slow mode, a ban or
//! timeout of the bot, the rate-limit notice, duplicates, emote-only, the moderator budget
//! and a rate override.
//!
//! twitch-irc's transport takes its address from a process-wide routing slot, so every test
//! uses its own slot (`RoutedTcp<N>`).

mod support;

use std::collections::HashSet;
use std::time::Duration;

use tiktwitch::sink::twitch::RoutedTcp;
use tiktwitch::sink::{ChannelState, TwitchSink};
use tiktwitch::standin::twitch::{FakeTwitch, FakeTwitchConfig, Privmsg};
use tokio::time::{Instant, sleep};
use tokio_util::sync::CancellationToken;

use support::sink::*;

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
