//! A strict fake Twitch IRC server on 127.0.0.1.
//!
//! It speaks the Twitch dialect twitch-irc expects (CAP ACK, 001-376, GLOBALUSERSTATE,
//! JOIN/353/366/USERSTATE/ROOMSTATE, PING/PONG, a USERSTATE ack per accepted PRIVMSG) and
//! **enforces** Twitch's rules, recording a [`Violation`] whenever the client breaks one:
//!
//! - the per-user buckets: `limit` lines per fixed window (starting at the first line) for
//!   channels where the bot is not elevated, `limit_elevated` for all lines; going over sets
//!   the lockout flag, and every later line is ignored, as Twitch does for 30 minutes. Like
//!   every rule here they are kept per account (login), across connections: a bot that
//!   restarts and logs in again spends from the same buckets;
//! - `join_limit` JOINs per account in any `join_window` (`join_rate`);
//! - the per-channel 1 s gap (non-elevated) and slow mode (`msg_ratelimit` / `msg_slowmode`);
//! - the 30 s duplicate rule (`msg_duplicate`);
//! - 500 characters; a text starting with `/` or `.` (a chat command);
//! - any raw line whose command is not CAP/PASS/NICK/JOIN/PART/PRIVMSG/PING/PONG, a bare CR,
//!   a NUL, an unparsable line, a PRIVMSG to a channel not joined: IRC injection.
//!
//! Faults are scripted through methods ([`FakeTwitch::reconnect`], [`FakeTwitch::close_all`],
//! [`FakeTwitch::set_pong`], [`FakeTwitch::fail_next_logins`], [`FakeTwitch::set_room_mode`],
//! [`FakeTwitch::refuse_next`], [`FakeTwitch::refuse_always`], [`FakeTwitch::clearchat_bot`]);
//! other people's chat through [`FakeTwitch::chat_from`] and [`FakeTwitch::shared_chat_from`].
//! Every client line is recorded with a `tokio::time::Instant` (paused time works), and
//! streamed to [`FakeTwitch::subscribe`]rs (for `tiktwitch demo`).

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

mod session;
mod viewer_chat;
use session::{Reply, Session};
pub use viewer_chat::{ChatUser, FAKE_ROOM_ID, privmsg_line};

/// Commands a well-behaved client may send.
const ALLOWED_COMMANDS: &[&str] = &[
    "CAP", "PASS", "NICK", "JOIN", "PART", "PRIVMSG", "PING", "PONG",
];

/// Longest raw line the fake reads (Twitch closes on longer ones).
const MAX_RAW_LINE: usize = 16 * 1024;

/// The rules the fake enforces. `Default` is Twitch's real numbers.
#[derive(Debug, Clone)]
pub struct FakeTwitchConfig {
    /// The rate window (30 s; scale down for tests if needed).
    pub window: Duration,
    /// Lines per window for a non-elevated bot (20).
    pub limit: u32,
    /// Lines per window overall / where the bot is moderator (100).
    pub limit_elevated: u32,
    /// Minimum gap between two lines to one channel for non-elevated bots (1 s).
    pub channel_gap: Duration,
    /// The duplicate rule's window (30 s).
    pub duplicate_window: Duration,
    /// Longest accepted message, in chars (500).
    pub max_chars: usize,
    /// JOINs per account in any `join_window` (20); more is a `join_rate` violation.
    pub join_limit: u32,
    /// The JOIN window (10 s).
    pub join_window: Duration,
    /// Channels where the bot gets a `moderator/1` badge.
    pub elevated_channels: HashSet<String>,
    /// Tokens accepted in `PASS oauth:<token>`; `None` accepts any.
    pub valid_tokens: Option<HashSet<String>>,
    /// Slow mode (seconds) announced in the ROOMSTATE of a channel on join.
    pub slow_mode: HashMap<String, u64>,
    /// Raw lines and PRIVMSGs kept for [`FakeTwitch::records`] / [`FakeTwitch::privmsgs`];
    /// older ones are dropped (a long `tiktwitch demo` stays bounded; subscribers see all).
    pub max_records: usize,
}

impl Default for FakeTwitchConfig {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(30),
            limit: 20,
            limit_elevated: 100,
            channel_gap: Duration::from_secs(1),
            duplicate_window: Duration::from_secs(30),
            max_chars: 500,
            join_limit: 20,
            join_window: Duration::from_secs(10),
            elevated_channels: HashSet::new(),
            valid_tokens: None,
            slow_mode: HashMap::new(),
            max_records: 1_000_000,
        }
    }
}

/// One line the client sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedLine {
    /// When it arrived.
    pub at: Instant,
    /// Which connection (1, 2 ... in accept order).
    pub conn: u64,
    /// The raw line, without the line ending.
    pub line: String,
}

/// One PRIVMSG the client sent, and what the fake did with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Privmsg {
    /// When it arrived.
    pub at: Instant,
    /// Which connection.
    pub conn: u64,
    /// Channel login (without `#`).
    pub channel: String,
    /// The text.
    pub text: String,
    /// `"delivered"`, `"ignored"` (locked out) or the NOTICE msg-id sent back.
    pub outcome: String,
}

/// A broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// When.
    pub at: Instant,
    /// What (`"rate_limit"`, `"join_rate"`, `"channel_gap"`, `"slow_mode"`, `"duplicate"`, `"too_long"`,
    /// `"command_text"`, `"forbidden_command"`, `"bare_cr"`, `"nul"`, `"unparsable"`,
    /// `"not_joined"`).
    pub rule: &'static str,
    /// The offending raw line.
    pub line: String,
}

/// What a subscriber sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FakeEvent {
    /// A raw client line.
    Line(RecordedLine),
    /// A PRIVMSG and its outcome.
    Privmsg(Privmsg),
    /// A rule was broken.
    Violation(Violation),
}

#[derive(Debug, Default)]
struct Bucket {
    start: Option<Instant>,
    count: u32,
}

impl Bucket {
    /// Counts one line; true when that goes over `limit` in the current fixed window.
    fn hit(&mut self, now: Instant, window: Duration, limit: u32) -> bool {
        if self.start.is_none_or(|s| now >= s + window) {
            self.start = Some(now);
            self.count = 0;
        }
        self.count += 1;
        self.count > limit
    }
}

/// What Twitch counts per account (login), across every connection of it: a bot that
/// reconnects, or a second process of the same bot, spends from the same buckets.
#[derive(Debug, Default)]
struct Account {
    normal: Bucket,
    elevated: Bucket,
    locked_out: bool,
    last_attempt: HashMap<String, Instant>,
    last_delivered: HashMap<String, (Instant, String)>,
    /// JOINs inside the last join window, oldest first.
    joins: VecDeque<Instant>,
}

#[derive(Debug, Default)]
struct State {
    records: VecDeque<RecordedLine>,
    privmsgs: VecDeque<Privmsg>,
    violations: Vec<Violation>,
    accounts: HashMap<String, Account>,
    no_pong: bool,
    fail_logins: u32,
    refuse_next: HashMap<String, VecDeque<(String, String)>>,
    refuse_always: HashMap<String, (String, String)>,
    slow: HashMap<String, u64>,
    connections: u64,
    logins: u64,
    login_failures: u64,
}

enum ConnCmd {
    Raw(String),
    Close,
}

struct Conn {
    tx: mpsc::UnboundedSender<ConnCmd>,
    joined: HashSet<String>,
    nick: Option<String>,
}

struct Shared {
    config: FakeTwitchConfig,
    state: Mutex<State>,
    conns: Mutex<HashMap<u64, Conn>>,
    events: broadcast::Sender<FakeEvent>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn conns(&self) -> MutexGuard<'_, HashMap<u64, Conn>> {
        self.conns.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn violation(&self, st: &mut State, at: Instant, rule: &'static str, line: &str) {
        let v = Violation {
            at,
            rule,
            line: line.to_owned(),
        };
        tracing::warn!(rule, line, "fake Twitch: client broke a rule");
        let _ = self.events.send(FakeEvent::Violation(v.clone()));
        st.violations.push(v);
    }
}

/// The running fake. Dropping it stops accepting; open connections end with their client.
pub struct FakeTwitch {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

impl Drop for FakeTwitch {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl std::fmt::Debug for FakeTwitch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeTwitch")
            .field("addr", &self.addr)
            .finish()
    }
}

impl FakeTwitch {
    /// Binds 127.0.0.1:0 and starts serving plain IRC (like port 6667).
    pub async fn start(config: FakeTwitchConfig) -> std::io::Result<Self> {
        Self::start_with(config, None).await
    }

    /// Binds 127.0.0.1:0 and serves IRC over TLS (like port 6697) with this certificate
    /// chain and private key (PEM).
    pub async fn start_tls(
        config: FakeTwitchConfig,
        cert_chain_pem: &str,
        key_pem: &str,
    ) -> std::io::Result<Self> {
        let bad = |e: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, e);
        let certs = CertificateDer::pem_slice_iter(cert_chain_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(e.to_string()))?;
        let key =
            PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| bad(e.to_string()))?;
        let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
        let tls = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| bad(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| bad(e.to_string()))?;
        Self::start_with(config, Some(TlsAcceptor::from(Arc::new(tls)))).await
    }

    async fn start_with(
        config: FakeTwitchConfig,
        tls: Option<TlsAcceptor>,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (events, _) = broadcast::channel(4096);
        let state = State {
            slow: config.slow_mode.clone(),
            ..State::default()
        };
        let shared = Arc::new(Shared {
            config,
            state: Mutex::new(state),
            conns: Mutex::new(HashMap::new()),
            events,
        });
        let accept = tokio::spawn(accept_loop(listener, tls, shared.clone()));
        Ok(Self {
            addr,
            shared,
            accept,
        })
    }

    /// The address to point the client at.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A live stream of everything the fake sees.
    pub fn subscribe(&self) -> broadcast::Receiver<FakeEvent> {
        self.shared.events.subscribe()
    }

    /// Every raw client line so far.
    pub fn records(&self) -> Vec<RecordedLine> {
        self.shared.state().records.iter().cloned().collect()
    }

    /// Every PRIVMSG so far, with its outcome.
    pub fn privmsgs(&self) -> Vec<Privmsg> {
        self.shared.state().privmsgs.iter().cloned().collect()
    }

    /// The PRIVMSGs that were delivered (acked with USERSTATE).
    pub fn delivered(&self) -> Vec<Privmsg> {
        self.privmsgs()
            .into_iter()
            .filter(|p| p.outcome == "delivered")
            .collect()
    }

    /// Every broken rule so far.
    pub fn violations(&self) -> Vec<Violation> {
        self.shared.state().violations.clone()
    }

    /// True once the client went over the rate limit (Twitch would ignore it for 30 min).
    pub fn locked_out(&self) -> bool {
        self.shared.state().accounts.values().any(|a| a.locked_out)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.shared.state().connections
    }

    /// Successful logins so far.
    pub fn logins(&self) -> u64 {
        self.shared.state().logins
    }

    /// Refused logins so far.
    pub fn login_failures(&self) -> u64 {
        self.shared.state().login_failures
    }

    /// Stop (or resume) answering the client's PINGs.
    pub fn set_pong(&self, answer: bool) {
        self.shared.state().no_pong = !answer;
    }

    /// Refuse the next `n` logins with `NOTICE * :Login authentication failed` and a close.
    pub fn fail_next_logins(&self, n: u32) {
        self.shared.state().fail_logins = n;
    }

    /// Send `RECONNECT` on every connection (twitch-irc then reconnects).
    pub fn reconnect(&self) {
        self.broadcast_raw(":tmi.twitch.tv RECONNECT");
    }

    /// Close every connection abruptly.
    pub fn close_all(&self) {
        for conn in self.shared.conns().values() {
            let _ = conn.tx.send(ConnCmd::Close);
        }
    }

    /// Answer the next PRIVMSG to `channel` with `NOTICE msg_id` instead of delivering it.
    pub fn refuse_next(&self, channel: &str, msg_id: &str, text: &str) {
        self.shared
            .state()
            .refuse_next
            .entry(channel.to_owned())
            .or_default()
            .push_back((msg_id.to_owned(), text.to_owned()));
    }

    /// Answer every PRIVMSG to `channel` with `NOTICE msg_id` (a ban, a timeout ...).
    pub fn refuse_always(&self, channel: &str, msg_id: &str, text: &str) {
        self.shared
            .state()
            .refuse_always
            .insert(channel.to_owned(), (msg_id.to_owned(), text.to_owned()));
    }

    /// Change a room mode and announce it with ROOMSTATE: `("slow", 5)`, `("emote-only", 1)`,
    /// `("followers-only", 10)`, `("subs-only", 0)` ... Slow mode is then enforced.
    pub fn set_room_mode(&self, channel: &str, tag: &str, value: i64) {
        if tag == "slow" {
            self.shared
                .state()
                .slow
                .insert(channel.to_owned(), value.max(0).unsigned_abs());
        }
        self.send_to_joined(
            channel,
            &format!("@room-id=1;{tag}={value} :tmi.twitch.tv ROOMSTATE #{channel}"),
        );
    }

    /// Send `CLEARCHAT` naming the bot in `channel`: a timeout when `seconds` is set, else a ban.
    pub fn clearchat_bot(&self, channel: &str, seconds: Option<u64>) {
        let conns = self.shared.conns();
        for conn in conns.values().filter(|c| c.joined.contains(channel)) {
            let nick = conn.nick.clone().unwrap_or_default();
            let duration = seconds.map_or(String::new(), |s| format!("ban-duration={s};"));
            let _ = conn.tx.send(ConnCmd::Raw(format!(
                "@{duration}room-id=1;target-user-id=2;tmi-sent-ts=1 :tmi.twitch.tv CLEARCHAT #{channel} :{nick}"
            )));
        }
    }

    /// Write a raw line to every connection.
    pub fn broadcast_raw(&self, line: &str) {
        for conn in self.shared.conns().values() {
            let _ = conn.tx.send(ConnCmd::Raw(line.to_owned()));
        }
    }

    fn send_to_joined(&self, channel: &str, line: &str) {
        for conn in self
            .shared
            .conns()
            .values()
            .filter(|c| c.joined.contains(channel))
        {
            let _ = conn.tx.send(ConnCmd::Raw(line.to_owned()));
        }
    }
}

async fn accept_loop(listener: TcpListener, tls: Option<TlsAcceptor>, shared: Arc<Shared>) {
    loop {
        let Ok((socket, _)) = listener.accept().await else {
            continue;
        };
        // Answer at once (no Nagle delay): under paused tokio time a held segment lets the
        // clock run ahead of the wire.
        let _ = socket.set_nodelay(true);
        let id = {
            let mut st = shared.state();
            st.connections += 1;
            st.connections
        };
        let (tx, rx) = mpsc::unbounded_channel();
        shared.conns().insert(
            id,
            Conn {
                tx,
                joined: HashSet::new(),
                nick: None,
            },
        );
        let shared = shared.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let _ = match tls {
                None => serve(socket, id, rx, &shared).await,
                Some(acceptor) => match acceptor.accept(socket).await {
                    Ok(stream) => serve(stream, id, rx, &shared).await,
                    Err(e) => Err(e),
                },
            };
            shared.conns().remove(&id);
        });
    }
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    socket: S,
    id: u64,
    mut rx: mpsc::UnboundedReceiver<ConnCmd>,
    shared: &Shared,
) -> std::io::Result<()> {
    let (read, mut write) = tokio::io::split(socket);
    let mut reader = BufReader::new(read);
    let mut buf = Vec::new();
    let mut session = Session {
        id,
        token: None,
        nick: None,
    };
    loop {
        tokio::select! {
            n = reader.read_until(b'\n', &mut buf) => {
                if n? == 0 || buf.len() > MAX_RAW_LINE {
                    return Ok(());
                }
                let raw = String::from_utf8_lossy(&buf).into_owned();
                buf.clear();
                let replies = session.handle(&raw, shared);
                for r in replies {
                    match r {
                        Reply::Line(l) => write.write_all(format!("{l}\r\n").as_bytes()).await?,
                        Reply::Close => return Ok(()),
                    }
                }
            }
            cmd = rx.recv() => match cmd {
                Some(ConnCmd::Raw(l)) => write.write_all(format!("{l}\r\n").as_bytes()).await?,
                Some(ConnCmd::Close) | None => return Ok(()),
            },
        }
    }
}
