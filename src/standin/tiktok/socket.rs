//! The fake's push WebSocket: checks the handshake and the client's duties, plays the
//! connection's script.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use prost::Message as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::{ConnectionLog, HandshakeFault, Shared, Step};
use crate::proto;
use crate::source::tiktok::decode::decode_frame;

const PUSH_PATH: &[u8] = b"GET /webcast/im/push";

/// Peeks at the request line: is this a WebSocket request for the push path?
pub(super) async fn is_push_request(stream: &TcpStream) -> bool {
    let mut buf = [0u8; 64];
    for _ in 0..100 {
        match stream.peek(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(n) if n >= PUSH_PATH.len() || buf[..n].contains(&b'\n') => {
                return buf[..n].starts_with(PUSH_PATH);
            }
            // Part of the request line so far; wait for the rest.
            Ok(_) => tokio::time::sleep(Duration::from_millis(1)).await,
        }
    }
    false
}

/// Checks the handshake against what the signer issued; records the connection.
fn check_handshake(shared: &Shared, request: &Request, log: &mut ConnectionLog) {
    let query = request.uri().query().unwrap_or("");
    log.query = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    log.cookie = header("cookie");
    log.user_agent = header("user-agent");
    let get = |key: &str| -> Vec<&str> {
        log.query
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    log.room_id = get("room_id")
        .first()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut problems = Vec::new();
    let mut state = shared.lock();
    if log.room_id != state.room_id {
        problems.push(format!(
            "handshake for room {} but the live room is {}",
            log.room_id, state.room_id
        ));
    }
    if get("version_code").len() != 2 {
        problems.push(format!(
            "version_code appears {} times, not 2",
            get("version_code").len()
        ));
    }
    let ttwid = format!("ttwid={}", shared.config.ttwid);
    if !log.cookie.split("; ").any(|c| c == ttwid) {
        problems.push(format!(
            "handshake cookie {:?} lacks the signer's ttwid",
            log.cookie
        ));
    }
    match state.issued.last_mut() {
        None => problems.push("handshake without any signer call".into()),
        Some(issued) => {
            if issued.used {
                problems.push("signed URL reused: reconnects must redo the signer step".into());
            }
            issued.used = true;
            if get("wrss") != [issued.wrss.as_str()] {
                problems.push(format!(
                    "wrss {:?} is not the signer's {:?}",
                    get("wrss"),
                    issued.wrss
                ));
            }
            if get("cursor") != [issued.cursor.as_str()] {
                problems.push(format!(
                    "cursor {:?} is not the fetch result's",
                    get("cursor")
                ));
            }
            if get("internal_ext") != [issued.internal_ext.as_str()] {
                problems.push(format!(
                    "internal_ext {:?} is not the fetch result's",
                    get("internal_ext")
                ));
            }
            if log.user_agent.is_empty() || log.user_agent != issued.user_agent {
                problems.push(format!(
                    "handshake user agent {:?} is not the signing one {:?}",
                    log.user_agent, issued.user_agent
                ));
            }
        }
    }
    state.report.violations.extend(problems);
}

/// Serves one push connection.
pub(super) async fn handle(mut stream: TcpStream, shared: Arc<Shared>) {
    let fault = shared.lock().handshake_faults.pop_front();
    let mut log = ConnectionLog::default();
    if let Some(fault) = fault {
        // tungstenite refuses to send a 2xx refusal, and TikTok's is exactly that (HTTP 200
        // + Handshake-Msg): answer by hand.
        if let Some(request) = read_request_head(&mut stream).await {
            check_handshake(&shared, &request, &mut log);
        }
        let answer = match fault {
            HandshakeFault::DeviceBlocked => {
                "HTTP/1.1 200 OK\r\nHandshake-Msg: DEVICE_BLOCKED\r\nHandshake-Status: 415\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            }
            HandshakeFault::BadRequest => {
                "HTTP/1.1 400 Bad Request\r\nHandshake-Msg: illegal secret key\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            }
            HandshakeFault::Unavailable => {
                "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            }
        };
        let _ = stream.write_all(answer.as_bytes()).await;
        let _ = stream.shutdown().await;
        log.rejected = true;
        shared.lock().report.connections.push(log);
        return;
    }
    // The signature is tungstenite's `Callback`; its error type is not ours to shrink.
    #[allow(clippy::result_large_err)]
    let callback = |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
        check_handshake(&shared, request, &mut log);
        Ok(response)
    };
    let accepted = tokio_tungstenite::accept_hdr_async(stream, callback).await;
    let index = {
        let mut state = shared.lock();
        state.report.connections.push(log);
        state.report.connections.len() - 1
    };
    let Ok(ws) = accepted else { return };
    let script: VecDeque<Step> = shared.lock().scripts.pop_front().unwrap_or_default().into();
    let mut conn = Conn {
        shared: Arc::clone(&shared),
        index,
        script,
        entered: false,
        silent: false,
        fake_closed: false,
        next_step_at: None,
        expected_acks: HashMap::new(),
        last_hb_seq: 0,
        last_hb_at: Instant::now(),
        hb_limit: Duration::from_millis(
            u64::try_from(shared.config.heartbeat_ms)
                .unwrap_or(0)
                .max(1000),
        ) * 2,
    };
    conn.run(ws).await;
}

type Ws = tokio_tungstenite::WebSocketStream<TcpStream>;

struct Conn {
    shared: Arc<Shared>,
    index: usize,
    script: VecDeque<Step>,
    entered: bool,
    silent: bool,
    fake_closed: bool,
    next_step_at: Option<Instant>,
    expected_acks: HashMap<u64, String>,
    last_hb_seq: u64,
    last_hb_at: Instant,
    hb_limit: Duration,
}

impl Conn {
    fn log(&self, f: impl FnOnce(&mut ConnectionLog)) {
        let mut state = self.shared.lock();
        if let Some(log) = state.report.connections.get_mut(self.index) {
            f(log);
        }
    }

    async fn run(&mut self, mut ws: Ws) {
        let mut closed_by_client = false;
        let mut client_close = None;
        loop {
            let due = match self.next_step_at {
                Some(at) if !self.silent && !self.script.is_empty() && !self.fake_closed => {
                    Some(at)
                }
                _ => None,
            };
            tokio::select! {
                _ = self.shared.shutdown.cancelled() => break,
                read = ws.next() => match read {
                    Some(Ok(Message::Binary(bytes))) => {
                        if let Some(reply) = self.on_client_frame(bytes) {
                            let _ = ws.send(Message::Binary(reply)).await;
                        }
                    }
                    Some(Ok(Message::Close(frame))) => {
                        closed_by_client = !self.fake_closed;
                        client_close = Some(frame.map_or((1005, String::new()), |f| {
                            (u16::from(f.code), f.reason.to_string())
                        }));
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => {
                        closed_by_client |= !self.fake_closed;
                        break;
                    }
                },
                _ = sleep_until_opt(due) => {
                    if let Some(step) = self.script.pop_front()
                        && !self.run_step(&mut ws, step).await
                    {
                        break;
                    }
                }
            }
        }
        let mut unacked: Vec<u64> = self.expected_acks.keys().copied().collect();
        unacked.sort_unstable();
        if closed_by_client && !unacked.is_empty() {
            self.shared.violation(format!(
                "client closed the socket leaving log_ids {unacked:?} unacked"
            ));
        }
        let quiet = self.last_hb_at.elapsed();
        if self.entered && quiet > self.hb_limit {
            self.shared.violation(format!(
                "no heartbeat in the last {quiet:?} of the connection"
            ));
        }
        self.log(|log| {
            log.unacked = unacked;
            log.closed_by_client = closed_by_client;
            log.client_close = client_close;
        });
    }

    /// Checks one client frame; returns the fake's reply, if any.
    fn on_client_frame(&mut self, bytes: bytes::Bytes) -> Option<bytes::Bytes> {
        let Ok(frame) = proto::WebcastPushFrame::decode(bytes) else {
            self.shared
                .violation("client sent a frame that is not a WebcastPushFrame".into());
            return None;
        };
        match frame.payload_type.as_str() {
            "im_enter_room" => {
                let enter =
                    proto::WebcastImEnterRoomMessage::decode(frame.payload).unwrap_or_default();
                let room = self.shared.lock().room_id;
                if enter.room_id != room {
                    self.shared.violation(format!(
                        "im_enter_room for room {} not {room}",
                        enter.room_id
                    ));
                }
                if !self.entered {
                    self.entered = true;
                    self.next_step_at = Some(Instant::now());
                    self.log(|log| log.entered = true);
                }
                (!self.silent).then(|| reply("im_enter_room_resp", frame.log_id))
            }
            "hb" => {
                if !self.entered {
                    self.shared
                        .violation("heartbeat before im_enter_room".into());
                }
                let hb = proto::HeartBeatMessage::decode(frame.payload).unwrap_or_default();
                if hb.send_packet_seq_id != self.last_hb_seq + 1 {
                    self.shared.violation(format!(
                        "heartbeat seq {} after {}",
                        hb.send_packet_seq_id, self.last_hb_seq
                    ));
                }
                let gap = self.last_hb_at.elapsed();
                if gap > self.hb_limit {
                    self.shared
                        .violation(format!("heartbeat late: {gap:?} since the last one"));
                }
                self.last_hb_seq = hb.send_packet_seq_id;
                self.last_hb_at = Instant::now();
                self.log(|log| log.heartbeats.push(hb.send_packet_seq_id));
                (!self.silent).then(|| reply("hb", 0))
            }
            "ack" => {
                let payload = String::from_utf8_lossy(&frame.payload).into_owned();
                match self.expected_acks.remove(&frame.log_id) {
                    None => self.shared.violation(format!(
                        "ack for log_id {} that was not sent or needs no ack",
                        frame.log_id
                    )),
                    Some(ext) => {
                        let want = if ext.is_empty() { "-".to_string() } else { ext };
                        if payload != want {
                            self.shared.violation(format!(
                                "ack for log_id {} carries {payload:?}, not {want:?}",
                                frame.log_id
                            ));
                        }
                    }
                }
                self.log(|log| log.acks.push((frame.log_id, payload)));
                None
            }
            other => {
                self.shared
                    .violation(format!("client sent an unexpected {other:?} frame"));
                None
            }
        }
    }

    /// Runs one step; false ends the connection.
    async fn run_step(&mut self, ws: &mut Ws, step: Step) -> bool {
        self.next_step_at = Some(Instant::now());
        match step {
            Step::Frame(bytes) => {
                let mut ids = Vec::new();
                if let Ok(frame) = decode_frame(bytes.clone())
                    && let Some(batch) = frame.batch
                {
                    if batch.need_ack {
                        self.expected_acks
                            .insert(frame.log_id, batch.internal_ext.clone());
                    }
                    ids = batch
                        .messages
                        .iter()
                        .filter_map(|m| m.as_ref().ok())
                        .map(|e| e.meta.msg_id)
                        .collect();
                }
                let sent = ws.send(Message::Binary(bytes)).await.is_ok();
                // Stamped once the frame is on the socket (what a latency bench measures from).
                let at = Instant::now();
                self.log(|log| {
                    log.sent_at.extend(std::iter::repeat_n(at, ids.len()));
                    log.sent_msg_ids.extend(ids);
                });
                sent
            }
            Step::Pause(delay) => {
                self.next_step_at = Some(Instant::now() + delay);
                true
            }
            Step::Silence => {
                self.silent = true;
                true
            }
            Step::Close => {
                self.fake_closed = true;
                let close = CloseFrame {
                    code: CloseCode::Normal,
                    reason: "".into(),
                };
                ws.close(Some(close)).await.is_ok()
            }
            Step::CloseMidFrame => {
                self.fake_closed = true;
                // A binary frame header declaring 4096 bytes, then only 100 of them.
                let mut partial = vec![0x82, 0x7e, 0x10, 0x00];
                partial.extend_from_slice(&[0x5a; 100]);
                let tcp = ws.get_mut();
                let _ = tcp.write_all(&partial).await;
                let _ = tcp.shutdown().await;
                false
            }
            Step::GoOffline => {
                self.shared.lock().live = false;
                true
            }
            Step::GoLiveLater { room_id, after } => {
                let shared = Arc::clone(&self.shared);
                tokio::spawn(async move {
                    tokio::time::sleep(after).await;
                    let mut state = shared.lock();
                    state.room_id = room_id;
                    state.live = true;
                });
                true
            }
        }
    }
}

/// Reads an HTTP request head (up to the blank line) into a `Request`.
async fn read_request_head(stream: &mut TcpStream) -> Option<Request> {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 64 * 1024 {
            return None;
        }
        head.push(stream.read_u8().await.ok()?);
    }
    let text = String::from_utf8_lossy(&head);
    let mut lines = text.split("\r\n");
    let target = lines.next()?.split_whitespace().nth(1)?.to_string();
    let mut builder = Request::builder().uri(target);
    for line in lines.filter(|l| !l.is_empty()) {
        let (name, value) = line.split_once(':')?;
        builder = builder.header(name.trim(), value.trim());
    }
    builder.body(()).ok()
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn reply(payload_type: &str, log_id: u64) -> bytes::Bytes {
    proto::WebcastPushFrame {
        log_id,
        payload_encoding: "pb".into(),
        payload_type: payload_type.into(),
        ..Default::default()
    }
    .encode_to_vec()
    .into()
}
