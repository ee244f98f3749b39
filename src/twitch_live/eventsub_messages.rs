//! EventSub WebSocket messages (dev.twitch.tv/docs/eventsub/websocket-reference): every
//! message is `{"metadata": {"message_type": ...}, "payload": {...}}`. Only the fields the
//! watch reads are typed; unknown fields and message types are ignored, never an error.

use std::time::Duration;

use serde::Deserialize;

/// The subscription types the watch creates, with their versions.
pub const SUBSCRIPTIONS: [(&str, &str); 3] = [
    ("stream.online", "1"),
    ("stream.offline", "1"),
    ("channel.update", "2"),
];

#[derive(Debug, Deserialize)]
struct Envelope {
    metadata: Metadata,
    #[serde(default)]
    payload: Payload,
}

#[derive(Debug, Deserialize)]
struct Metadata {
    message_type: String,
}

#[derive(Debug, Default, Deserialize)]
struct Payload {
    session: Option<Session>,
    subscription: Option<Subscription>,
    event: Option<StreamEvent>,
}

#[derive(Debug, Deserialize)]
struct Session {
    id: String,
    keepalive_timeout_seconds: Option<u64>,
    reconnect_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Subscription {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    status: String,
}

/// The fields of a `stream.online`, `stream.offline` or `channel.update` event the watch
/// reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct StreamEvent {
    /// The channel's login.
    #[serde(default)]
    pub broadcaster_user_login: String,
    /// `stream.online`: when the stream started.
    pub started_at: Option<String>,
    /// `channel.update`: the title.
    pub title: Option<String>,
    /// `channel.update`: the category's name.
    pub category_name: Option<String>,
}

/// One message from the EventSub server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// The session is open: subscribe within 10 s (a reconnected session keeps its
    /// subscriptions).
    Welcome {
        /// The session id subscriptions name.
        session_id: String,
        /// Silence longer than this means the connection is dead.
        keepalive: Option<Duration>,
    },
    /// Nothing happened, the connection is alive.
    Keepalive,
    /// A subscribed event.
    Notification {
        /// The subscription type (`stream.online` ...).
        kind: String,
        /// The event.
        event: StreamEvent,
    },
    /// Connect to `url`, then close this connection once the new one says welcome.
    Reconnect {
        /// The reconnect URL.
        url: String,
    },
    /// Twitch cancelled a subscription.
    Revocation {
        /// Its type.
        kind: String,
        /// Why (`authorization_revoked`, `user_removed`, `version_removed`).
        status: String,
    },
    /// A message type the watch does not know (ignored).
    Other(String),
}

/// Reads one text message; `Err` says why it is not an EventSub message.
pub fn parse(text: &str) -> Result<Incoming, String> {
    let envelope: Envelope = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let payload = envelope.payload;
    let missing = |what: &str| format!("{} without {what}", envelope.metadata.message_type);
    Ok(match envelope.metadata.message_type.as_str() {
        "session_welcome" => {
            let session = payload.session.ok_or_else(|| missing("session"))?;
            Incoming::Welcome {
                session_id: session.id,
                keepalive: session
                    .keepalive_timeout_seconds
                    .map(Duration::from_secs),
            }
        }
        "session_keepalive" => Incoming::Keepalive,
        "notification" => Incoming::Notification {
            kind: payload.subscription.ok_or_else(|| missing("subscription"))?.kind,
            event: payload.event.ok_or_else(|| missing("event"))?,
        },
        "session_reconnect" => Incoming::Reconnect {
            url: payload
                .session
                .and_then(|s| s.reconnect_url)
                .ok_or_else(|| missing("session.reconnect_url"))?,
        },
        "revocation" => {
            let sub = payload.subscription.ok_or_else(|| missing("subscription"))?;
            Incoming::Revocation {
                kind: sub.kind,
                status: sub.status,
            }
        }
        other => Incoming::Other(other.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twitch_documented_messages_parse() {
        let welcome = r#"{"metadata":{"message_id":"96a3f3b5","message_type":"session_welcome","message_timestamp":"2023-07-19T14:56:51.634234626Z"},"payload":{"session":{"id":"AQoQILE98gtqShGmLD7AM6yJThAB","status":"connected","connected_at":"2023-07-19T14:56:51.616329898Z","keepalive_timeout_seconds":10,"reconnect_url":null}}}"#;
        assert_eq!(
            parse(welcome).unwrap(),
            Incoming::Welcome {
                session_id: "AQoQILE98gtqShGmLD7AM6yJThAB".into(),
                keepalive: Some(Duration::from_secs(10)),
            }
        );
        let online = r#"{"metadata":{"message_id":"b","message_type":"notification","message_timestamp":"x","subscription_type":"stream.online","subscription_version":"1"},"payload":{"subscription":{"id":"f1c2","status":"enabled","type":"stream.online","version":"1","condition":{"broadcaster_user_id":"1337"},"transport":{"method":"websocket","session_id":"s"},"created_at":"x"},"event":{"id":"9001","broadcaster_user_id":"1337","broadcaster_user_login":"cool_user","broadcaster_user_name":"Cool_User","type":"live","started_at":"2020-10-11T10:11:12.123Z"}}}"#;
        let Incoming::Notification { kind, event } = parse(online).unwrap() else {
            panic!("notification expected");
        };
        assert_eq!(kind, "stream.online");
        assert_eq!(event.broadcaster_user_login, "cool_user");
        assert_eq!(event.started_at.as_deref(), Some("2020-10-11T10:11:12.123Z"));
        let reconnect = r#"{"metadata":{"message_id":"c","message_type":"session_reconnect","message_timestamp":"x"},"payload":{"session":{"id":"s","status":"reconnecting","keepalive_timeout_seconds":null,"reconnect_url":"wss://eventsub.wss.twitch.tv?x=1","connected_at":"x"}}}"#;
        assert_eq!(
            parse(reconnect).unwrap(),
            Incoming::Reconnect {
                url: "wss://eventsub.wss.twitch.tv?x=1".into()
            }
        );
        assert_eq!(
            parse(r#"{"metadata":{"message_type":"session_keepalive"},"payload":{}}"#).unwrap(),
            Incoming::Keepalive
        );
        assert!(parse(r#"{"metadata":{"message_type":"notification"},"payload":{}}"#).is_err());
        assert!(parse("not json").is_err());
        assert_eq!(
            parse(r#"{"metadata":{"message_type":"new_thing"}}"#).unwrap(),
            Incoming::Other("new_thing".into())
        );
    }
}
