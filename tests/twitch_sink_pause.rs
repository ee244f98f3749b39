//! Pausing one bridge in the shared sink (issue #16, item 7), against the strict stand-in
//! Twitch under paused time: the paused bridge's lines stop at once while another bridge's
//! keep flowing; held lines that went stale by the resume are dropped (`paused`); every line
//! is accounted for.

use std::sync::Arc;
use std::time::Duration;

use tiktwitch::line::{Line, Priority};
use tiktwitch::sink::twitch::RoutedTcp;
use tiktwitch::sink::{ChannelState, SinkHandle, TwitchSink, TwitchSinkSettings};
use tiktwitch::standin::twitch::{FakeTwitch, FakeTwitchConfig};
use tokio::time::{Instant, sleep};
use tokio_util::sync::CancellationToken;
use twitch_irc::login::StaticLoginCredentials;

fn chat(text: String, id: u64) -> Line {
    Line {
        text,
        priority: Priority::Normal,
        kind: "chat",
        msg_id: id,
        meta: Default::default(),
    }
}

async fn until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        sleep(Duration::from_millis(50)).await;
    }
}

fn assert_accounted(handle: &SinkHandle) {
    let s = handle.stats();
    assert_eq!(s.lines_in + s.extra_parts, s.accounted(), "{s:#?}");
}

#[tokio::test(start_paused = true)]
async fn a_paused_bridge_stops_another_flows_and_stale_held_lines_are_dropped() {
    let fake = FakeTwitch::start(FakeTwitchConfig::default())
        .await
        .unwrap();
    let settings = TwitchSinkSettings {
        server: fake.addr().to_string(),
        tls: false,
        bot_login: "bot".into(),
        channels: vec!["alpha".into(), "beta".into()],
        ..TwitchSinkSettings::default()
    };
    let shutdown = CancellationToken::new();
    let (sink, task) = TwitchSink::new(settings)
        .start_on::<RoutedTcp<1>, _>(
            StaticLoginCredentials::new("bot".into(), Some("t".into())),
            shutdown.clone(),
        )
        .unwrap();
    until("joined", Duration::from_secs(30), || {
        sink.channels()
            .values()
            .all(|c| c.state == ChannelState::Active)
    })
    .await;
    let (x, y): (Arc<str>, Arc<str>) = (Arc::from("x"), Arc::from("y"));
    for i in 0..30u64 {
        sink.send_from(&x, "alpha", chat(format!("x line {i}"), i));
    }
    until("x flowing", Duration::from_secs(30), || {
        fake.delivered().len() >= 2
    })
    .await;

    // Kept for 10 s; resumed after 40 s: every held line is stale by then.
    sink.pause("x", Some(Duration::from_secs(10)));
    assert!(sink.is_paused("x"));
    let at_pause = fake.delivered().len();
    for i in 0..5u64 {
        sink.send_from(&x, "alpha", chat(format!("x while paused {i}"), 100 + i));
        sink.send_from(&y, "beta", chat(format!("y line {i}"), 200 + i));
    }
    sleep(Duration::from_secs(40)).await;
    let during: Vec<String> = fake.delivered()[at_pause..]
        .iter()
        .map(|p| p.text.clone())
        .collect();
    // At most the x line in flight at the pause; y's five all went.
    assert!(
        during.iter().filter(|t| t.starts_with("x ")).count() <= 1,
        "{during:?}"
    );
    assert_eq!(during.iter().filter(|t| t.starts_with("y ")).count(), 5);
    assert_accounted(&sink);
    let held = sink.stats().paused_held;
    assert!(held >= 20, "{held}");

    let dropped = sink.resume("x");
    assert_eq!(dropped, held);
    assert!(!sink.is_paused("x"));
    let stats = sink.stats();
    // The held ones, plus the five sent while paused.
    assert_eq!(stats.shed_for("paused"), held + 5);
    assert_eq!(stats.paused_held, 0);
    assert_eq!(stats.queue_depth, 0);
    assert_accounted(&sink);

    // Resumed: new lines from x flow again.
    sink.send_from(&x, "alpha", chat("x after resume".into(), 300));
    until("x after resume", Duration::from_secs(60), || {
        fake.delivered()
            .last()
            .is_some_and(|p| p.text == "x after resume")
    })
    .await;
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
    shutdown.cancel();
    task.await.unwrap().unwrap();
    assert_accounted(&sink);
}
