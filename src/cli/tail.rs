//! `tiktwitch tail @user`: the live's events as readable lines (or JSON), with a status
//! line whenever the connection changes state.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::connect_args::{TailArgs, block_on_with_ctrl_c};
use crate::event::{Event, EventKind};
use crate::source::tiktok::{SignerBudget, SourceItem, TikTokSource};

pub(super) fn run(args: &TailArgs, config_path: Option<&Path>) -> anyhow::Result<ExitCode> {
    let settings = args.connect.resolve(args.user.as_deref(), config_path)?;
    let source = TikTokSource::with_euler(settings, SignerBudget::default())?;
    let token = CancellationToken::new();
    block_on_with_ctrl_c(token.clone(), async move {
        let mut out = std::io::stdout().lock();
        let mut err = std::io::stderr();
        tail(&source, args.json, args.history, &mut out, &mut err, token).await
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Runs `source` and prints what it yields until it stops or `shutdown` fires. Events go
/// to `out`; status lines go to `out` too in readable mode and to `err` in JSON mode (so
/// `out` stays pure event JSON).
pub async fn tail(
    source: &TikTokSource,
    json: bool,
    history: bool,
    out: &mut impl Write,
    err: &mut impl Write,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let (tx, mut rx) = mpsc::channel(256);
    let run = source.run(tx, shutdown);
    tokio::pin!(run);
    let mut result = None;
    loop {
        tokio::select! {
            item = rx.recv() => match item {
                Some(item) => print_item(&item, json, history, out, err)?,
                None => break,
            },
            done = &mut run, if result.is_none() => result = Some(done),
        }
    }
    let outcome = match result {
        Some(r) => r,
        None => run.await,
    };
    out.flush()?;
    Ok(outcome?)
}

fn print_item(
    item: &SourceItem,
    json: bool,
    history: bool,
    out: &mut impl Write,
    err: &mut impl Write,
) -> std::io::Result<()> {
    match item {
        SourceItem::Status(status) if json => writeln!(err, "-- {status}"),
        SourceItem::Status(status) => writeln!(out, "-- {status}"),
        SourceItem::Event(event) if event.meta.history && !history => Ok(()),
        SourceItem::Event(event) if json => {
            serde_json::to_writer(&mut *out, event)?;
            writeln!(out)
        }
        SourceItem::Event(event) => writeln!(out, "{}", describe(event)),
        // The profile is for `check --online` and `/api/status`, not the event stream.
        SourceItem::Profile(_) => Ok(()),
    }
}

/// One readable line for an event.
pub fn describe(event: &Event) -> String {
    let who = |u: &crate::event::User| {
        if u.username.is_empty() {
            u.display_name().to_string()
        } else {
            format!("{} (@{})", u.display_name(), u.username)
        }
    };
    let text = match &event.kind {
        EventKind::Chat { user, text, .. } => format!("{}: {text}", who(user)),
        EventKind::Gift {
            user,
            gift,
            count,
            streak_end,
            ..
        } => format!(
            "{} sent {} x{count}{}",
            who(user),
            gift.name,
            if *streak_end { "" } else { " (streak going)" }
        ),
        EventKind::Like { user, count, total } => format!(
            "{} liked x{count} (total {total})",
            user.as_ref().map_or("someone".to_string(), who)
        ),
        EventKind::Join { user } => format!("{} joined", who(user)),
        EventKind::Follow { user } => format!("{} followed", who(user)),
        EventKind::Share { user } => format!("{} shared the live", who(user)),
        EventKind::Viewers {
            current,
            cumulative,
        } => format!("{current} watching ({cumulative} total)"),
        EventKind::Control { action } => format!("stream {}", action.name()),
        EventKind::Subscribe { user, .. } => format!("{} subscribed", who(user)),
        EventKind::Question { text, .. } | EventKind::System { text } => text.clone(),
        EventKind::Unknown => event.meta.method.to_string(),
        _ => serde_json::to_string(&event.kind).unwrap_or_default(),
    };
    let prefix = if event.meta.history { "[history] " } else { "" };
    format!("{prefix}{:<9}{text}", event.type_name())
}
