//! `tiktwitch demo`: a scripted TikTok live relayed into a local Twitch stand-in, through the
//! real `run` code path (config file -> plan -> token manager -> TikTok source -> pipeline
//! -> paced Twitch sink), with no accounts and no network: every server is an in-process
//! stand-in on 127.0.0.1 speaking the real wire protocol.

pub mod show;

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::config;
use crate::daemon::{self, DaemonError, Plan, RunReport};
use crate::secret::{MemoryStore, Secret, SecretError, SecretStore};
use crate::standin::TwitchSide;
use crate::standin::tiktok::{FakeTikTok, FakeTikTokConfig, Step};
use crate::standin::twitch::FakeEvent;

/// The demo's channel, creator and keys (all stand-ins).
const CHANNEL: &str = "demo_channel";
const CREATOR: &str = "demo_creator";
const CLIENT_ID: &str = "tiktwitch-demo";
const SIGNER_KEY: &str = "demo-signer-key";

/// Why the demo could not run.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A stand-in could not start, or the terminal could not be written.
    #[error("demo: {0}")]
    Io(#[from] std::io::Error),
    /// The generated config did not load (a bug: it is ours).
    #[error("demo config: {0}")]
    Config(#[from] config::LoadError),
    /// The secret store refused a write.
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The bridge itself failed.
    #[error(transparent)]
    Daemon(#[from] DaemonError),
}

/// What the demo shows at the end.
#[derive(Debug)]
pub struct DemoReport {
    /// The bridge's own report.
    pub run: RunReport,
    /// Lines the Twitch stand-in accepted.
    pub delivered: usize,
    /// Rules the Twitch stand-in saw broken (0 unless the bridge misbehaves).
    pub violations: usize,
    /// The stand-in locked the bot out for exceeding the rate limit.
    pub locked_out: bool,
}

/// Runs the show at `speed` (2.0 plays it twice as fast; pacing stays real), printing what
/// Twitch chat shows to `out` as it happens, then a summary.
pub async fn run(
    speed: f64,
    mut out: impl Write + Send + 'static,
) -> Result<DemoReport, DemoError> {
    let speed = if speed.is_finite() && speed > 0.0 {
        speed
    } else {
        1.0
    };
    let tiktok = FakeTikTok::start(FakeTikTokConfig {
        username: CREATOR.into(),
        api_key: Some(SIGNER_KEY.into()),
        viewers: 1234,
        ..FakeTikTokConfig::default()
    })
    .await?;
    tiktok.push_script(
        show::script()
            .into_iter()
            .flat_map(|f| {
                [
                    Step::Pause(f.delay.div_f64(speed)),
                    Step::Frame(f.bytes.into()),
                ]
            })
            .collect(),
    );
    let TwitchSide {
        oauth,
        twitch,
        access_token,
        ..
    } = TwitchSide::start(CLIENT_ID).await?;

    // The config a user would write, pointed at the stand-ins.
    let dir = std::env::temp_dir().join(format!("tiktwitch-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        demo_config(
            &tiktok.base_url(),
            &twitch.addr().to_string(),
            &oauth.base_url(),
        ),
    )?;
    let loaded = config::load(Some(&path), crate::pipeline::Pipeline::check);
    let _ = std::fs::remove_dir_all(&dir);
    let mut plan = Plan::from_config(&loaded?, None)?;
    // The demo's stand-in Twitch starts fresh each time: no pacing journal in the user's
    // state dir.
    plan.sink.state_dir = None;
    let secrets = MemoryStore::new();
    secrets
        .set(crate::auth::BARE_TOKEN_SECRET, &Secret::new(access_token))
        .await?;
    secrets
        .set("tiktok-signer-api-key", &Secret::new(SIGNER_KEY))
        .await?;

    writeln!(
        out,
        "tiktwitch demo: a simulated TikTok live (@{CREATOR}) -> a local Twitch stand-in (#{CHANNEL})\n\
         Every line below is what Twitch chat shows, when the stand-in accepted it.\n"
    )?;
    let start = Instant::now();
    let mut events = twitch.subscribe();
    let printer = tokio::spawn(async move {
        while let Ok(event) = events.recv().await {
            if let FakeEvent::Privmsg(p) = event {
                let at = p.at.saturating_duration_since(start);
                let note = if p.outcome == "delivered" {
                    String::new()
                } else {
                    format!("   [refused: {}]", p.outcome)
                };
                let _ = writeln!(
                    out,
                    "[{}] #{} <tiktwitch_bot> {}{note}",
                    clock(at),
                    p.channel,
                    p.text
                );
                let _ = out.flush();
            }
        }
        out
    });

    let report = daemon::run(plan, Arc::new(secrets), ctrl_c(), |_| {}).await?;
    let delivered = twitch.delivered().len();
    let violations = twitch.violations().len();
    let locked_out = twitch.locked_out();
    drop(twitch);
    let mut out = printer.await.map_err(std::io::Error::other)?;
    let t = report.totals();
    let shed: u64 = report.sink.shed.values().sum();
    writeln!(
        out,
        "\nsummary after {:.1} s: {} events from TikTok -> {} relayed, {} coalesced, {} filtered, {} failed\n\
         Twitch: {} lines sent ({} more packed into them), {} delivered, {} duplicates held back, {} shed; {} rule violations{}",
        start.elapsed().as_secs_f64(),
        t.received,
        t.relayed,
        t.coalesced,
        t.filtered,
        t.failed,
        report.sink.sent,
        report.sink.packed,
        delivered,
        report.sink.dropped_duplicate,
        shed,
        violations,
        if locked_out { ", LOCKED OUT" } else { "" },
    )?;
    for (name, _, pipeline) in &report.bridges {
        writeln!(
            out,
            "{}",
            crate::status::chat_share::ChatShare::of(name, pipeline, &report.sink).summary()
        )?;
    }
    Ok(DemoReport {
        run: report,
        delivered,
        violations,
        locked_out,
    })
}

fn demo_config(tiktok: &str, twitch: &str, oauth: &str) -> String {
    format!(
        r#"# Generated by `tiktwitch demo`: a normal config, pointed at the stand-ins.
secret_store = "env"

[tiktok]
username = "@{CREATOR}"
web_base_url = "{tiktok}"
signer_base_url = "{tiktok}"
webcast_base_url = "{tiktok}"
signer_api_key = "tiktok-signer-api-key"
wait_for_live = false

[twitch]
channels = ["{CHANNEL}"]
bot_login = "tiktwitch_bot"
server = "{twitch}"
tls = false
client_id = "{CLIENT_ID}"
oauth_base_url = "{oauth}"

[shutdown]
grace_secs = 60
"#
    )
}

/// `mm:ss.d`.
fn clock(d: Duration) -> String {
    let tenths = d.as_millis() / 100;
    format!(
        "{:02}:{:02}.{}",
        tenths / 600,
        tenths / 10 % 60,
        tenths % 10
    )
}

async fn ctrl_c() {
    let _ = tokio::signal::ctrl_c().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_formats_minutes_seconds_tenths() {
        assert_eq!(clock(Duration::from_millis(0)), "00:00.0");
        assert_eq!(clock(Duration::from_millis(61_250)), "01:01.2");
    }
}
