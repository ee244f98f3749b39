//! The IRC backend: the real `twitch-irc` client over a transport whose address comes from
//! the settings.
//!
//! twitch-irc hard-codes `irc.chat.twitch.tv` in its transports, but `TCPTransport<C>` is
//! generic over the public `MakeConnection` trait, whose `new_socket()` takes no argument.
//! So the address lives in a process-wide routing table with a fixed number of slots, and
//! [`Routed<SLOT>`] connects to the route stored in its slot: plain TCP or TLS (rustls,
//! webpki roots). Production uses slot 0 ([`DefaultTransport`]); tests that run several
//! sinks in one process give each sink its own slot (`RoutedTcp<7>`).
//!
//! The client is configured for one connection in order: `max_waiting_messages_per_connection`
//! high (never `usize::MAX`, which overflows inside twitch-irc), because its pool otherwise
//! opens a second connection under load and lines leave out of order.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_rustls::rustls::pki_types::CertificateDer;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_util::either::Either;
use twitch_irc::login::LoginCredentials;
use twitch_irc::message::{ClearChatAction, FollowersOnlyMode, ServerMessage};
use twitch_irc::transport::Transport;
use twitch_irc::transport::tcp::{MakeConnection, TCPTransport, TCPTransportConnectError};
use twitch_irc::{ClientConfig, TwitchIRCClient};

use super::backend::{BackendEvent, ChatBackend};
use super::incoming::ChatMessage;
use super::notice::is_login_failure;
use super::sanitize::SafeText;

/// Number of routing slots (distinct server addresses in one process).
pub const ROUTE_SLOTS: usize = 32;

/// Where a [`Routed`] transport connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// `host:port`.
    pub address: String,
    /// Wrap the socket in TLS.
    pub tls: bool,
    /// The name the TLS certificate must match (and SNI).
    pub tls_server_name: String,
    /// Certificates trusted in addition to the bundled Mozilla roots (a private CA, a test CA).
    pub extra_roots: Vec<CertificateDer<'static>>,
}

/// Parses PEM text into certificates (for [`Route::extra_roots`]).
pub fn parse_pem_certificates(pem: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    if certs.is_empty() {
        return Err("no CERTIFICATE block found".into());
    }
    Ok(certs)
}

static ROUTES: [Mutex<Option<Route>>; ROUTE_SLOTS] = [const { Mutex::new(None) }; ROUTE_SLOTS];

/// A `MakeConnection` that connects to the [`Route`] stored in slot `SLOT`.
#[derive(Debug)]
pub struct Routed<const SLOT: usize>;

/// The plain-or-TLS socket a [`Routed`] connection yields.
pub type RoutedSocket = Either<TcpStream, tokio_rustls::client::TlsStream<TcpStream>>;

/// twitch-irc's TCP transport over slot `SLOT`.
pub type RoutedTcp<const SLOT: usize> = TCPTransport<Routed<SLOT>>;

/// The transport production uses (slot 0).
pub type DefaultTransport = RoutedTcp<0>;

fn io_error(msg: String) -> TCPTransportConnectError {
    TCPTransportConnectError::IOError(std::io::Error::other(msg))
}

impl<const SLOT: usize> Routed<SLOT> {
    fn route() -> Option<Route> {
        ROUTES
            .get(SLOT)?
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

#[async_trait]
impl<const SLOT: usize> MakeConnection for Routed<SLOT> {
    type Socket = RoutedSocket;

    async fn new_socket() -> Result<RoutedSocket, TCPTransportConnectError> {
        let route = Self::route().ok_or_else(|| io_error(format!("route slot {SLOT} unset")))?;
        let tcp = TcpStream::connect(route.address.as_str()).await?;
        // Chat lines are small and each waits for an answer: without NODELAY, Nagle holds a
        // line until the previous segment is ACKed (up to the peer's delayed-ACK timer).
        tcp.set_nodelay(true)?;
        if !route.tls {
            return Ok(Either::Left(tcp));
        }
        let config = crate::tls::client_config(route.extra_roots)
            .map_err(|e| io_error(format!("TLS config: {e}")))?;
        let name =
            tokio_rustls::rustls::pki_types::ServerName::try_from(route.tls_server_name.clone())
                .map_err(|e| io_error(format!("TLS name {:?}: {e}", route.tls_server_name)))?;
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await?;
        Ok(Either::Right(tls))
    }
}

/// A twitch-irc transport whose server address can be set at run time.
pub trait RoutedTransport: Transport {
    /// Points every new connection of this transport at `route`.
    fn set_route(route: Route);
}

impl<const SLOT: usize> RoutedTransport for RoutedTcp<SLOT> {
    fn set_route(route: Route) {
        const { assert!(SLOT < ROUTE_SLOTS, "route slot out of range") };
        if let Some(slot) = ROUTES.get(SLOT) {
            *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(route);
        }
    }
}

/// The IRC backend: one twitch-irc client (one connection), the channels it joins, and the
/// task writing the line in flight.
pub struct IrcBackend<T: Transport, L: LoginCredentials + Clone> {
    credentials: L,
    channels: Vec<String>,
    max_waiting: usize,
    client: Option<TwitchIRCClient<T, L>>,
    incoming: Option<mpsc::UnboundedReceiver<ServerMessage>>,
    local_tx: mpsc::UnboundedSender<BackendEvent>,
    local_rx: mpsc::UnboundedReceiver<BackendEvent>,
    write_task: Option<JoinHandle<()>>,
    bot_login: Option<String>,
}

impl<T: Transport, L: LoginCredentials + Clone> std::fmt::Debug for IrcBackend<T, L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IrcBackend")
            .field("channels", &self.channels)
            .field("connected", &self.client.is_some())
            .field("bot_login", &self.bot_login)
            .finish_non_exhaustive()
    }
}

impl<T: Transport, L: LoginCredentials + Clone> IrcBackend<T, L> {
    /// Creates the client (it logs in at once) for `channels` (already validated logins),
    /// which the engine then joins through [`ChatBackend::join`]. Must run inside a tokio
    /// runtime.
    pub fn connect(
        credentials: L,
        channels: Vec<String>,
        max_waiting: usize,
        bot_login: Option<String>,
    ) -> Self {
        let (local_tx, local_rx) = mpsc::unbounded_channel();
        let mut backend = Self {
            credentials,
            channels,
            max_waiting,
            client: None,
            incoming: None,
            local_tx,
            local_rx,
            write_task: None,
            bot_login,
        };
        backend.open();
        backend
    }

    fn open(&mut self) {
        let mut config = ClientConfig::new_simple(self.credentials.clone());
        config.max_waiting_messages_per_connection = self.max_waiting;
        // Every channel on the one connection: past twitch-irc's default of 90 channels a
        // JOIN opens a second connection, while sends keep going out on the first, which
        // never joined those channels (found by the scale bench at 100 bridges).
        config.max_channels_per_connection =
            config.max_channels_per_connection.max(self.channels.len());
        let (incoming, client) = TwitchIRCClient::<T, L>::new(config);
        // Log in now; the engine JOINs the channels one by one, paced (Twitch allows 20
        // JOINs per 10 s per account).
        let connecting = client.clone();
        tokio::spawn(async move { connecting.connect().await });
        self.client = Some(client);
        self.incoming = Some(incoming);
    }

    fn close(&mut self) {
        if let Some(task) = self.write_task.take() {
            task.abort();
        }
        self.client = None;
        self.incoming = None;
    }

    fn map(&mut self, msg: ServerMessage) -> Option<BackendEvent> {
        match msg {
            ServerMessage::Join(j) => {
                self.bot_login = Some(j.user_login);
                Some(BackendEvent::Joined {
                    channel: j.channel_login,
                })
            }
            ServerMessage::Part(p) => Some(BackendEvent::Parted {
                channel: p.channel_login,
            }),
            ServerMessage::UserState(u) => Some(BackendEvent::UserState {
                elevated: u
                    .badges
                    .iter()
                    .any(|b| matches!(b.name.as_str(), "moderator" | "broadcaster" | "vip")),
                channel: u.channel_login,
            }),
            ServerMessage::RoomState(r) => Some(BackendEvent::RoomState {
                channel: r.channel_login,
                slow: r.slow_mode,
                emote_only: r.emote_only,
                followers_only: r
                    .followers_only
                    .map(|f| !matches!(f, FollowersOnlyMode::Disabled)),
                subs_only: r.subscribers_only,
            }),
            ServerMessage::Notice(n) => {
                if n.message_id.is_none() && is_login_failure(&n.message_text) {
                    Some(BackendEvent::LoginFailed {
                        text: n.message_text,
                    })
                } else {
                    Some(BackendEvent::Notice {
                        channel: n.channel_login,
                        msg_id: n.message_id,
                        text: n.message_text,
                    })
                }
            }
            ServerMessage::ClearChat(c) => {
                let (target, reason) = match &c.action {
                    ClearChatAction::UserBanned { user_login, .. } => (user_login, "banned"),
                    ClearChatAction::UserTimedOut { user_login, .. } => (user_login, "timed_out"),
                    ClearChatAction::ChatCleared => return None,
                };
                let is_bot = self
                    .bot_login
                    .as_deref()
                    .is_some_and(|b| b.eq_ignore_ascii_case(target));
                is_bot.then(|| BackendEvent::BotRemoved {
                    channel: c.channel_login.clone(),
                    reason,
                })
            }
            ServerMessage::Reconnect(_) => Some(BackendEvent::ReconnectRequested),
            ServerMessage::Privmsg(p) => {
                // The bot's own lines are never read back (Twitch does not echo them, but
                // a second connection of the same account would see them).
                let own = self
                    .bot_login
                    .as_deref()
                    .is_some_and(|b| b.eq_ignore_ascii_case(&p.sender.login));
                (!own).then(|| BackendEvent::Chat(Box::new(ChatMessage::from_privmsg(&p))))
            }
            other if other.source().command == "001" => Some(BackendEvent::LoggedIn),
            _ => None,
        }
    }
}

#[async_trait]
impl<T: Transport, L: LoginCredentials + Clone> ChatBackend for IrcBackend<T, L> {
    fn send(&mut self, seq: u64, channel: &str, text: &SafeText) {
        let Some(client) = self.client.clone() else {
            let _ = self.local_tx.send(BackendEvent::WriteFailed {
                seq,
                error: "client stopped".into(),
            });
            return;
        };
        let tx = self.local_tx.clone();
        let (channel, text) = (channel.to_owned(), text.as_str().to_owned());
        // twitch-irc unwraps a oneshot inside privmsg(); run it in its own task so even a
        // panic there comes back as WriteFailed instead of a line stuck in flight.
        self.write_task = Some(tokio::spawn(async move {
            let write = tokio::spawn(async move { client.privmsg(channel, text).await });
            let event = match write.await {
                Ok(Ok(())) => BackendEvent::Written {
                    seq,
                    at: Instant::now(),
                },
                Ok(Err(e)) => BackendEvent::WriteFailed {
                    seq,
                    error: e.to_string(),
                },
                Err(e) => BackendEvent::WriteFailed {
                    seq,
                    error: e.to_string(),
                },
            };
            let _ = tx.send(event);
        }));
    }

    async fn next_event(&mut self) -> Option<BackendEvent> {
        loop {
            let incoming = async {
                match self.incoming.as_mut() {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                local = self.local_rx.recv() => return local,
                msg = incoming => match msg {
                    Some(msg) => {
                        if let Some(ev) = self.map(msg) {
                            return Some(ev);
                        }
                    }
                    None => self.incoming = None,
                },
            }
        }
    }

    async fn restart(&mut self) {
        self.close();
        self.open();
    }

    fn stop(&mut self) {
        self.close();
    }

    fn needs_join(&self) -> bool {
        true
    }

    fn join(&mut self, channel: &str) {
        if let Some(client) = &self.client
            && let Err(e) = client.join(channel.to_owned())
        {
            tracing::error!(channel = %channel, error = %e, "invalid Twitch channel");
        }
    }
}
