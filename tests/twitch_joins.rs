//! The JOIN quota (governor, on tokio's paused clock) against the strict stand-in Twitch:
//! 200 channels all get joined, and the stand-in never receives more than 20 JOINs in any
//! 10 s window (Twitch's limit per account).

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use support::sink::{creds, settings, until};
use tiktwitch::sink::twitch::RoutedTcp;
use tiktwitch::sink::{ChannelState, TwitchSink};
use tiktwitch::standin::twitch::{FakeTwitch, FakeTwitchConfig};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

const TWITCH_JOIN_LIMIT: usize = 20;
const TWITCH_JOIN_WINDOW: Duration = Duration::from_secs(10);

#[tokio::test(start_paused = true)]
async fn two_hundred_channels_are_joined_never_more_than_20_in_any_10_s() {
    let fake = FakeTwitch::start(FakeTwitchConfig::default())
        .await
        .unwrap();
    let names: Vec<String> = (0..200).map(|i| format!("chan{i:03}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let shutdown = CancellationToken::new();
    let (handle, task) = TwitchSink::new(settings(&fake, &refs))
        .start_on::<RoutedTcp<1>, _>(creds(), shutdown.clone())
        .unwrap();
    until("all 200 channels active", Duration::from_secs(900), || {
        let channels = handle.channels();
        channels.len() == 200 && channels.values().all(|c| c.state == ChannelState::Active)
    })
    .await;

    // Every channel a JOIN named, with the instant the stand-in received it.
    let mut joins: Vec<(Instant, String)> = Vec::new();
    for r in fake.records() {
        if let Some(list) = r.line.strip_prefix("JOIN ") {
            for ch in list.split(',') {
                joins.push((r.at, ch.trim_start_matches('#').to_owned()));
            }
        }
    }
    let joined: BTreeSet<&str> = joins.iter().map(|(_, c)| c.as_str()).collect();
    assert_eq!(joined.len(), 200, "every channel joined");
    assert_eq!(joins.len(), 200, "each exactly once");
    let times: Vec<Instant> = joins.iter().map(|(t, _)| *t).collect();
    let mut most = 0;
    for (i, t) in times.iter().enumerate() {
        let n = times[i..]
            .iter()
            .take_while(|u| **u - *t < TWITCH_JOIN_WINDOW)
            .count();
        most = most.max(n);
    }
    assert!(
        most <= TWITCH_JOIN_LIMIT,
        "{most} JOINs within 10 s at the stand-in"
    );
    // At the quota's pace, not slower: the sink's 15 per 10.25 s as governor admits them
    // (a burst of 3, then one per 10.25 s / 13 + 1 ms: 197 periods, 155.5 s).
    let span = *times.last().unwrap() - times[0];
    assert!(span <= Duration::from_secs(157), "200 JOINs took {span:?}");
    assert_eq!(times.iter().filter(|t| **t == times[0]).count(), 3);
    assert!(
        fake.violations().iter().all(|v| v.rule != "join_rate"),
        "{:?}",
        fake.violations()
    );
    shutdown.cancel();
    assert!(task.await.unwrap().is_ok());
}
