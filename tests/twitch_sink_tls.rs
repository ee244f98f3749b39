//! The production transport path: twitch-irc over TLS (rustls) to a configurable address,
//! against the fake Twitch serving TLS with a test CA (`tests/twitch_sink_tls/`).

use std::time::Duration;

use tiktwitch::line::{Line, Priority};
use tiktwitch::sink::twitch::RoutedTcp;
use tiktwitch::sink::{ChannelState, SinkError, SinkState, TwitchSink, TwitchSinkSettings};
use tiktwitch::standin::twitch::{FakeTwitch, FakeTwitchConfig};
use tokio::time::{Instant, sleep};
use tokio_util::sync::CancellationToken;
use twitch_irc::login::StaticLoginCredentials;

const CA: &str = include_str!("twitch_sink_tls/ca.pem");
const CERT: &str = include_str!("twitch_sink_tls/server.pem");
const KEY: &str = include_str!("twitch_sink_tls/server.key");

fn creds() -> StaticLoginCredentials {
    StaticLoginCredentials::new("bot".into(), Some("good".into()))
}

fn settings(fake: &FakeTwitch, trust_test_ca: bool) -> TwitchSinkSettings {
    TwitchSinkSettings {
        server: fake.addr().to_string(),
        tls: true,
        tls_server_name: Some("irc.chat.twitch.tv".into()),
        tls_extra_root_pem: trust_test_ca.then(|| CA.to_owned()),
        channels: vec!["alpha".into()],
        ..TwitchSinkSettings::default()
    }
}

#[tokio::test(start_paused = true)]
async fn tls_connection_delivers_lines() {
    let fake = FakeTwitch::start_tls(FakeTwitchConfig::default(), CERT, KEY)
        .await
        .unwrap();
    let shutdown = CancellationToken::new();
    let (handle, task) = TwitchSink::new(settings(&fake, true))
        .start_on::<RoutedTcp<1>, _>(creds(), shutdown.clone())
        .unwrap();
    for i in 0..3 {
        handle.send(
            "alpha",
            Line {
                text: format!("over TLS {i}"),
                priority: Priority::Normal,
                kind: "chat",
                msg_id: i,
                meta: Default::default(),
            },
        );
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while fake.delivered().len() < 3 {
        assert!(Instant::now() < deadline, "{:?}", handle.stats());
        sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(handle.state(), SinkState::Connected);
    assert_eq!(handle.channels()["alpha"].state, ChannelState::Active);
    assert_eq!(fake.violations(), vec![]);
    shutdown.cancel();
    assert!(task.await.unwrap().is_ok());
}

#[tokio::test(start_paused = true)]
async fn untrusted_certificate_is_refused() {
    let fake = FakeTwitch::start_tls(FakeTwitchConfig::default(), CERT, KEY)
        .await
        .unwrap();
    let shutdown = CancellationToken::new();
    let (handle, task) = TwitchSink::new(settings(&fake, false))
        .start_on::<RoutedTcp<2>, _>(creds(), shutdown.clone())
        .unwrap();
    sleep(Duration::from_secs(10)).await;
    // TCP connections were attempted, but no IRC line ever crossed an unverified channel.
    assert!(fake.connections() >= 1);
    assert!(fake.records().is_empty());
    assert_eq!(handle.state(), SinkState::Connecting);
    shutdown.cancel();
    assert!(task.await.unwrap().is_ok());
}

#[tokio::test]
async fn bad_extra_root_pem_is_a_clear_error() {
    let fake = FakeTwitch::start(FakeTwitchConfig::default())
        .await
        .unwrap();
    let mut s = settings(&fake, false);
    s.tls_extra_root_pem = Some("not a certificate".into());
    let err = TwitchSink::new(s)
        .start_on::<RoutedTcp<3>, _>(creds(), CancellationToken::new())
        .err()
        .unwrap();
    assert!(matches!(err, SinkError::TlsRoots(_)), "{err}");
}
