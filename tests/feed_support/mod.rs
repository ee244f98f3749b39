//! Shared by the feed tests: events, a bridge record to publish on, and the feed served on
//! 127.0.0.1:0.

#![allow(dead_code)]

pub mod receiver;

use std::net::SocketAddr;

use tiktwitch::event::{Event, EventKind, Gift, Meta, User};
use tiktwitch::feed::FeedInput;
use tiktwitch::feed::{FeedSettings, Hub, HubTasks};
use tiktwitch::pipeline::PipelineStats;
use tiktwitch::status::BridgeHealth;

pub fn user(n: u64) -> User {
    User {
        id: 7_000_000_000_000_000_000 + n,
        username: format!("fan{n}"),
        nickname: format!("Fan {n}"),
        ..User::default()
    }
}

pub fn chat(msg_id: u64, text: &str) -> Event {
    Event {
        meta: Meta {
            method: "WebcastChatMessage".into(),
            msg_id,
            room_id: 7_100_000_000_000_000_000,
            ..Meta::default()
        },
        kind: EventKind::Chat {
            user: user(msg_id % 7),
            text: text.into(),
            language: String::new(),
        },
    }
}

pub fn gift(msg_id: u64) -> Event {
    Event {
        meta: Meta {
            method: "WebcastGiftMessage".into(),
            msg_id,
            ..Meta::default()
        },
        kind: EventKind::Gift {
            user: user(msg_id % 7),
            gift: Gift {
                id: 5655,
                name: "Rose".into(),
                diamonds: 1,
                streakable: false,
                image: None,
            },
            count: 1,
            streak_end: true,
            complete: true,
            streak_id: 0,
            to_user: None,
        },
    }
}

/// A bridge as the feed is given it: its status and its event stream (`publish` puts an
/// event on it, as the bridge does).
pub fn bridge(name: &str) -> FeedInput {
    FeedInput::new(BridgeHealth::new(
        name,
        &format!("@{name}_creator"),
        &[format!("{name}_channel")],
        PipelineStats::default(),
    ))
}

/// The feed's routes served on 127.0.0.1:0 by the daemon's own listener.
pub async fn serve(hub: &Hub) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = hub.router();
    tokio::spawn(tiktwitch::daemon::server::serve(
        listener,
        app,
        tiktwitch::daemon::server::HttpServerSettings::default(),
        std::sync::Arc::default(),
        tokio_util::sync::CancellationToken::new(),
    ));
    addr
}

/// A hub over `bridges`, served.
pub async fn start(settings: FeedSettings, bridges: &[FeedInput]) -> (Hub, HubTasks, SocketAddr) {
    let (hub, tasks) = Hub::start(settings, bridges, None);
    let addr = serve(&hub).await;
    (hub, tasks, addr)
}
