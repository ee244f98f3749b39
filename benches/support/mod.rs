//! What the runtime benchmarks share: the Twitch and OAuth stand-ins with Twitch's limits
//! lifted, a config file for N bridges, a plan with pacing lifted, and small statistics.

#![allow(dead_code)] // each bench uses a subset

use std::path::Path;

use bytes::Bytes;
use prost::Message;
use std::time::Duration;
use tiktwitch::proto::{
    BaseProtoMessage, ProtoMessageFetchResult, WebcastChatMessage, WebcastPushFrame,
};
use tiktwitch::source::tiktok::capture::FrameReader;
use tiktwitch::source::tiktok::decode::gunzip;
use tiktwitch::standin::tiktok::frames;

use tiktwitch::config;
use tiktwitch::daemon::Plan;
use tiktwitch::secret::{MemoryStore, Secret, SecretStore};
use tiktwitch::standin::oauth::{FakeOAuth, FakeOAuthConfig};
use tiktwitch::standin::twitch::FakeTwitchConfig;

pub const CLIENT_ID: &str = "bench-client";
pub const SIGNER_KEY: &str = "bench-signer-key";

/// A fake Twitch that never refuses for pace: the benches measure the bridge, not Twitch.
pub fn lifted_twitch_config() -> FakeTwitchConfig {
    FakeTwitchConfig {
        limit: u32::MAX / 2,
        limit_elevated: u32::MAX / 2,
        channel_gap: Duration::ZERO,
        duplicate_window: Duration::ZERO,
        max_records: 2_000_000,
        ..FakeTwitchConfig::default()
    }
}

pub async fn oauth() -> FakeOAuth {
    FakeOAuth::start(FakeOAuthConfig {
        client_id: CLIENT_ID.into(),
        ..FakeOAuthConfig::default()
    })
    .await
    .expect("fake OAuth")
}

/// One `[[bridge]]`: name, TikTok base URL, creator handle, Twitch channel.
pub struct BridgeSpec {
    pub name: String,
    pub base_url: String,
    pub user: String,
    pub channel: String,
}

/// The config file text for these bridges against the stand-ins.
pub fn config_text(bridges: &[BridgeSpec], twitch: &str, oauth: &str) -> String {
    let mut text = format!(
        r#"secret_store = "env"

[twitch]
bot_login = "tiktwitch_bot"
server = "{twitch}"
tls = false
client_id = "{CLIENT_ID}"
oauth_base_url = "{oauth}"
queue_capacity = 4096

[log]
filter = "warn"

[shutdown]
grace_secs = 1
"#
    );
    for b in bridges {
        text.push_str(&tiktwitch::standin::tiktok::bridge_toml(
            &b.name,
            &b.user,
            &b.channel,
            &b.base_url,
        ));
    }
    text
}

/// Loads the config file and lifts pacing (Twitch's limits are the fake's to skip) and
/// the signer budget (the stand-in has no quota).
pub fn lifted_plan(path: &Path, bridges: usize) -> Plan {
    let loaded =
        config::load(Some(path), tiktwitch::pipeline::Pipeline::check).expect("config loads");
    let mut plan = Plan::from_config(&loaded, None).expect("plan");
    plan.sink.lines_per_window = u32::MAX / 4;
    plan.sink.lines_per_window_elevated = u32::MAX / 4;
    plan.sink.channel_gap = Duration::ZERO;
    plan.sink.duplicate_window = Duration::ZERO;
    plan.sink.window_margin = Duration::ZERO;
    plan.signer_calls_per_minute = signer_budget(bridges);
    plan
}

/// Signer calls a minute that let `bridges` start at once against the fake signer (it has
/// no quota; the real one would take N/10 minutes to start N bridges), within the range of
/// `tiktok.signer_calls_per_minute` (src/config/ranges.rs ends it at 100,000).
pub fn signer_budget(bridges: usize) -> u32 {
    u32::try_from(bridges * 10 + 100).map_or(100_000, |n| n.min(100_000))
}

/// A secret store holding the signer key and a bare access token from `oauth`.
pub async fn secrets(oauth: &FakeOAuth) -> MemoryStore {
    let (access, _) = oauth.mint(&["chat:read", "chat:edit"]);
    let store = MemoryStore::new();
    store
        .set(tiktwitch::auth::BARE_TOKEN_SECRET, &Secret::new(access))
        .await
        .expect("secret");
    store
        .set("tiktok-signer-api-key", &Secret::new(SIGNER_KEY))
        .await
        .expect("secret");
    store
}

/// The corpus' chat messages, each re-tagged `~~<seq>~~ <text>` with msg_id `seq`, framed
/// one per push frame (gzip, ack requested), until `n` (cycling if the corpus has fewer).
pub fn chat_frames(corpus: &Path, n: usize, room: u64) -> Vec<Bytes> {
    let file = std::fs::File::open(corpus.join("frames.bin")).expect("corpus frames.bin");
    let mut chats: Vec<WebcastChatMessage> = Vec::new();
    for frame in FrameReader::new(std::io::BufReader::new(file)) {
        let frame = WebcastPushFrame::decode(frame.expect("corpus record")).expect("frame");
        let raw = gunzip(&frame.payload).expect("gzip");
        let result = ProtoMessageFetchResult::decode(raw.as_slice()).expect("fetch result");
        for m in result.messages {
            if m.method == "WebcastChatMessage" {
                chats.push(WebcastChatMessage::decode(m.payload).expect("chat"));
            }
        }
        if chats.len() >= n {
            break;
        }
    }
    assert!(!chats.is_empty(), "no chat message in the corpus");
    (0..n)
        .map(|i| {
            let seq = i as u64 + 1;
            let mut chat = chats[i % chats.len()].clone();
            chat.content = format!("~~{seq}~~ {}", chat.content);
            let common = chat.common.get_or_insert_with(Default::default);
            common.msg_id = seq;
            common.room_id = room;
            let base = BaseProtoMessage {
                method: "WebcastChatMessage".into(),
                payload: chat.encode_to_vec().into(),
                msg_id: seq,
                ..Default::default()
            };
            frames::single(seq, base)
        })
        .collect()
}

/// The `q`-quantile (0..=1) of sorted samples.
pub fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let at = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

/// `VmHWM` and `VmRSS` of this process, in KiB.
pub fn memory_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// User + system CPU time of this process so far (from /proc/self/stat, clock ticks of
/// 10 ms on Linux).
pub fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the `(comm)`, which may contain spaces.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line; `state` (field 3) is index 0 here.
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// Time this thread has spent on a CPU, in ns (Linux `schedstat`): unlike wall time it does
/// not grow while other processes hold the cores.
pub fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}
