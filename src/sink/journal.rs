//! The pacing journal: every line sent and every JOIN, with its wall-clock time, appended to
//! a file in `state_dir` **before** it goes out, and read back at start, so a restart (a
//! `kill -9`, a crash loop under systemd or Kubernetes) never lets the new process spend a
//! rate window the old one already spent.
//!
//! # Format
//!
//! `<state_dir>/pacing-<bot login>.journal`, one text record a line:
//!
//! ```text
//! tiktwitch-pacing 1
//! s <unix ms> <m|n> <duplicate key, 16 hex> <channel>    a line (m: bot elevated there)
//! j <unix ms> <channel>                                   a JOIN
//! ```
//!
//! The duplicate key is [`super::queue::text_key`] (a hash): the file holds no chat text.
//!
//! # Why it is safe
//!
//! - Written before the send: a process killed between the write and the send has only
//!   over-counted, which waits longer, never less.
//! - Appended with `write(2)` and no `fsync`: after `kill -9` the bytes are in the kernel's
//!   page cache and the next process reads them. Only a power cut or kernel crash can lose
//!   the tail, and a reboot takes longer than Twitch's windows. Compaction (rewriting the file
//!   with only what is still inside [`JOURNAL_HORIZON`]) goes through a synced temporary
//!   file and a rename, so the file is never half-written.
//! - Wall-clock time, because `Instant`s do not survive a process. A record from the future
//!   (the clock was set back) counts as sent just now. A file that cannot be read or parsed
//!   (truncated by a crash mid-write, edited, not ours) is reported and treated as if a full
//!   window of lines and JOINs had just been sent: the restart waits out one window.
//! - The clock is injected ([`Clock`]): tests use [`crate::auth::TokioClock`], which moves
//!   with paused tokio time, so two sink runs in one test see time pass between them.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use tokio::time::Instant;

use crate::auth::Clock;

/// How far back the journal remembers: longer than every rule it serves (the 30 s window
/// plus margin, the 30 s duplicate rule, the 10 s JOIN window, and Twitch's longest slow
/// mode, 120 s, which the per-channel gap follows). Older records are dropped at start and
/// at each compaction.
pub const JOURNAL_HORIZON: Duration = Duration::from_secs(150);

/// Largest journal read at start. Compaction keeps it to a few hundred records (the rate
/// budget bounds what fits in the horizon); a bigger file is not ours and is treated as
/// unreadable (conservatively).
pub const MAX_JOURNAL_BYTES: u64 = 1024 * 1024;

/// Records appended beyond those still inside the horizon before the file is compacted.
const COMPACT_SLACK: usize = 512;

/// The first line of every journal.
const HEADER: &str = "tiktwitch-pacing 1";

/// What one record says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A line went (or was about to go) to `channel`.
    Send {
        /// Channel login.
        channel: String,
        /// The bot was moderator/VIP/broadcaster there (the large bucket only).
        elevated: bool,
        /// Its duplicate key ([`super::queue::text_key`]).
        key: u64,
    },
    /// A JOIN of `channel` was sent.
    Join {
        /// Channel login.
        channel: String,
    },
}

/// A record read back, placed on this process's clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamped {
    /// When it happened (in the past, or now for a record from the future).
    pub at: Instant,
    /// What happened.
    pub entry: Entry,
}

/// What the previous processes left.
#[derive(Debug, Default)]
pub struct Restored {
    /// Records inside the horizon, oldest first.
    pub entries: Vec<Stamped>,
    /// The file could not be read or parsed: assume a full window was just spent.
    pub unreadable: bool,
}

/// The open journal, owned by the sink's engine. Without a `state_dir` it records nothing.
pub struct Journal {
    path: Option<PathBuf>,
    file: Option<File>,
    clock: Arc<dyn Clock>,
    recent: VecDeque<(Instant, Entry)>,
    appended: usize,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("path", &self.path)
            .field("open", &self.file.is_some())
            .field("recent", &self.recent.len())
            .finish()
    }
}

/// The journal's file name for a bot account (anything but `[a-z0-9_]` becomes `_`).
pub fn journal_file_name(account: &str) -> String {
    let account: String = account
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '_') => c,
            _ => '_',
        })
        .collect();
    let account = if account.is_empty() {
        "account"
    } else {
        &account
    };
    format!("pacing-{account}.journal")
}

fn millis(clock: &dyn Clock) -> u64 {
    clock
        .now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn parse_record(line: &str) -> Option<(u64, Entry)> {
    let mut parts = line.split(' ');
    let kind = parts.next()?;
    let ms: u64 = parts.next()?.parse().ok()?;
    let entry = match kind {
        "s" => {
            let elevated = match parts.next()? {
                "m" => true,
                "n" => false,
                _ => return None,
            };
            let key = parts.next()?;
            if key.len() != 16 {
                return None;
            }
            let key = u64::from_str_radix(key, 16).ok()?;
            Entry::Send {
                channel: parse_channel(parts.next()?)?,
                elevated,
                key,
            }
        }
        "j" => Entry::Join {
            channel: parse_channel(parts.next()?)?,
        },
        _ => return None,
    };
    parts.next().is_none().then_some((ms, entry))
}

fn parse_channel(s: &str) -> Option<String> {
    twitch_irc::validate::validate_login(s)
        .ok()
        .map(|()| s.to_owned())
}

fn format_record(ms: u64, entry: &Entry) -> String {
    match entry {
        Entry::Send {
            channel,
            elevated,
            key,
        } => format!(
            "s {ms} {} {key:016x} {channel}\n",
            if *elevated { 'm' } else { 'n' }
        ),
        Entry::Join { channel } => format!("j {ms} {channel}\n"),
    }
}

/// Parses a whole journal; `None` when any part of it is not a journal record.
fn parse(text: &str) -> Option<Vec<(u64, Entry)>> {
    let mut lines = text.split_inclusive('\n');
    match lines.next() {
        None => return Some(Vec::new()),
        Some(first) if first.trim_end_matches(['\r', '\n']) == HEADER => {}
        Some(_) => return None,
    }
    lines
        .map(|line| {
            // A record without its newline was cut by a crash mid-write.
            let line = line.strip_suffix('\n')?;
            parse_record(line)
        })
        .collect()
}

impl Journal {
    /// A journal that records nothing (no `state_dir`).
    pub fn disabled(clock: Arc<dyn Clock>) -> Self {
        Self {
            path: None,
            file: None,
            clock,
            recent: VecDeque::new(),
            appended: 0,
        }
    }

    /// Opens (or creates) the journal of `account` in `dir` and reads back what earlier
    /// processes recorded within [`JOURNAL_HORIZON`]. Never fails: a problem is logged and
    /// answered conservatively (see the module docs); the sink runs on.
    pub fn open(dir: &Path, account: &str, clock: Arc<dyn Clock>) -> (Self, Restored) {
        let path = dir.join(journal_file_name(account));
        let mut journal = Self {
            path: Some(path.clone()),
            ..Self::disabled(clock)
        };
        let mut restored = Restored::default();
        match read_bounded(&path) {
            Ok(None) => {}
            Ok(Some(text)) => match parse(&text) {
                Some(records) => restored.entries = journal.place(records),
                None => {
                    tracing::warn!(
                        path = %path.display(),
                        "the pacing journal is damaged; waiting out a full Twitch window before sending"
                    );
                    restored.unreadable = true;
                }
            },
            Err(e) => {
                tracing::error!(
                    path = %path.display(),
                    error = %e,
                    "cannot read the pacing journal; waiting out a full Twitch window before sending"
                );
                restored.unreadable = true;
            }
        }
        journal.recent = restored
            .entries
            .iter()
            .map(|s| (s.at, s.entry.clone()))
            .collect();
        if let Err(e) = create_private_dir(dir).and_then(|()| journal.compact()) {
            tracing::error!(
                path = %path.display(),
                error = %e,
                "cannot write the pacing journal; a restart will not know what this process sent"
            );
            journal.file = None;
        }
        (journal, restored)
    }

    /// Turns wall-clock records into instants on this process's clock, keeping those inside
    /// the horizon; a record from the future counts as now.
    fn place(&self, records: Vec<(u64, Entry)>) -> Vec<Stamped> {
        let now_ms = millis(self.clock.as_ref());
        let now = Instant::now();
        let mut future = 0usize;
        let mut out: Vec<Stamped> = records
            .into_iter()
            .filter_map(|(ms, entry)| {
                let at = if ms > now_ms {
                    future += 1;
                    now
                } else {
                    let age = Duration::from_millis(now_ms - ms);
                    if age >= JOURNAL_HORIZON {
                        return None;
                    }
                    // Before this machine's monotonic origin (a fresh boot): count it as now.
                    now.checked_sub(age).unwrap_or(now)
                };
                Some(Stamped { at, entry })
            })
            .collect();
        if future > 0 {
            tracing::warn!(
                records = future,
                "pacing journal records are dated in the future (the clock went back); counted as sent just now"
            );
        }
        out.sort_by_key(|s| s.at);
        out
    }

    /// The wall-clock time of `at`, in Unix milliseconds.
    fn wall_ms(&self, at: Instant) -> u64 {
        let back = Instant::now().saturating_duration_since(at);
        millis(self.clock.as_ref()).saturating_sub(u64::try_from(back.as_millis()).unwrap_or(0))
    }

    /// Appends a record (call it before the line or JOIN goes out).
    pub fn record(&mut self, entry: Entry, at: Instant) {
        if self.path.is_none() {
            return;
        }
        let line = format_record(self.wall_ms(at), &entry);
        self.recent.push_back((at, entry));
        let now = Instant::now();
        while self
            .recent
            .front()
            .is_some_and(|(t, _)| now.saturating_duration_since(*t) >= JOURNAL_HORIZON)
        {
            self.recent.pop_front();
        }
        if let Some(file) = &mut self.file
            && let Err(e) = file.write_all(line.as_bytes())
        {
            self.write_failed(&e);
            return;
        }
        self.appended += 1;
        if self.appended > self.recent.len() + COMPACT_SLACK
            && let Err(e) = self.compact()
        {
            self.write_failed(&e);
        }
    }

    fn write_failed(&mut self, e: &std::io::Error) {
        if self.file.take().is_some() {
            tracing::error!(
                path = %self.path.as_deref().unwrap_or(Path::new("")).display(),
                error = %e,
                "writing the pacing journal failed; a restart will not know what this process sent"
            );
        }
    }

    /// Rewrites the file with the records still inside the horizon (synced temporary file,
    /// then rename), and reopens it for appending.
    fn compact(&mut self) -> std::io::Result<()> {
        let Some(path) = self.path.clone() else {
            return Ok(());
        };
        let mut text = format!("{HEADER}\n");
        for (at, entry) in &self.recent {
            text.push_str(&format_record(self.wall_ms(*at), entry));
        }
        let tmp = path.with_extension("journal.tmp");
        {
            let mut f = File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &path)?;
        self.file = Some(OpenOptions::new().append(true).open(&path)?);
        self.appended = 0;
        Ok(())
    }
}

/// Creates `dir` if missing, 0700 like the secret store does: the journal may be first to
/// make the state dir, which later holds secrets.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// The file's text, `None` when it does not exist.
fn read_bounded(path: &Path) -> std::io::Result<Option<String>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut bytes = Vec::new();
    file.take(MAX_JOURNAL_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_JOURNAL_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {MAX_JOURNAL_BYTES} bytes"),
        ));
    }
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::TokioClock;
    use std::time::SystemTime;

    fn clock() -> Arc<dyn Clock> {
        Arc::new(TokioClock::starting_at(
            UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        ))
    }

    fn send(channel: &str, key: u64) -> Entry {
        Entry::Send {
            channel: channel.into(),
            elevated: false,
            key,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn records_come_back_on_the_next_open_at_the_same_age() {
        let dir = tempfile::tempdir().unwrap();
        let clock = clock();
        let (mut j, restored) = Journal::open(dir.path(), "Bot", clock.clone());
        assert!(restored.entries.is_empty() && !restored.unreadable);
        let t0 = Instant::now();
        j.record(send("a", 7), t0);
        j.record(
            Entry::Join {
                channel: "b".into(),
            },
            t0,
        );
        drop(j);
        tokio::time::advance(Duration::from_secs(10)).await;
        let (_j, restored) = Journal::open(dir.path(), "Bot", clock);
        assert!(!restored.unreadable);
        let now = Instant::now();
        let ages: Vec<Duration> = restored.entries.iter().map(|s| now - s.at).collect();
        assert_eq!(ages, [Duration::from_secs(10); 2]);
        assert_eq!(restored.entries[0].entry, send("a", 7));
        assert!(dir.path().join("pacing-bot.journal").is_file());
    }

    #[tokio::test(start_paused = true)]
    async fn old_records_are_forgotten_and_compacted_away() {
        let dir = tempfile::tempdir().unwrap();
        let clock = clock();
        let (mut j, _) = Journal::open(dir.path(), "bot", clock.clone());
        for i in 0..2000u64 {
            j.record(send("a", i), Instant::now());
            tokio::time::advance(Duration::from_millis(500)).await;
        }
        drop(j);
        let text = std::fs::read_to_string(dir.path().join("pacing-bot.journal")).unwrap();
        // At most the horizon (300 records at 2/s) plus the compaction slack.
        assert!(text.lines().count() <= 301 + COMPACT_SLACK + 1, "{}", text.lines().count());
        let (_j, restored) = Journal::open(dir.path(), "bot", clock);
        // Ages 0.5 s to 149.5 s: the ones inside the 150 s horizon.
        assert_eq!(restored.entries.len(), 299);
        let now = Instant::now();
        assert!(restored.entries.iter().all(|s| now - s.at < JOURNAL_HORIZON));
    }

    #[tokio::test(start_paused = true)]
    async fn a_damaged_or_truncated_file_is_treated_as_a_full_window() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pacing-bot.journal");
        let cases = [
            "not a journal\n".to_owned(),
            format!("{HEADER}\ns 12 n 00000000000000ff a\ns 13 n 0000"),
            format!("{HEADER}\nx 12 a\n"),
            format!("{HEADER}\ns 12 n 00000000000000ff BAD#CHAN\n"),
        ];
        for text in cases {
            std::fs::write(&path, &text).unwrap();
            let (mut j, restored) = Journal::open(dir.path(), "bot", clock());
            assert!(restored.unreadable, "{text:?}");
            // It is rewritten clean: the process after this one reads it.
            j.record(send("a", 1), Instant::now());
            drop(j);
            let (_j, again) = Journal::open(dir.path(), "bot", clock());
            assert!(!again.unreadable, "{text:?}");
            assert_eq!(again.entries.len(), 1);
        }
        std::fs::write(&path, vec![0xffu8; 10]).unwrap();
        assert!(Journal::open(dir.path(), "bot", clock()).1.unreadable);
    }

    #[tokio::test(start_paused = true)]
    async fn records_from_the_future_count_as_now() {
        let dir = tempfile::tempdir().unwrap();
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis();
        let later = now_ms + 3_600_000;
        std::fs::write(
            dir.path().join("pacing-bot.journal"),
            format!("{HEADER}\ns {later} m 0000000000000001 a\nj {now_ms} b\n"),
        )
        .unwrap();
        let clock: Arc<dyn Clock> = Arc::new(crate::auth::SystemClock);
        let (_j, restored) = Journal::open(dir.path(), "bot", clock);
        assert!(!restored.unreadable);
        assert_eq!(restored.entries.len(), 2);
        let now = Instant::now();
        assert!(restored.entries.iter().all(|s| now - s.at < Duration::from_secs(1)));
    }

    #[tokio::test(start_paused = true)]
    async fn an_unwritable_state_dir_is_reported_and_the_sink_runs_on() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain-file");
        std::fs::write(&file, "x").unwrap();
        let (mut j, restored) = Journal::open(&file, "bot", clock());
        // Nothing can be known about earlier processes: the conservative answer.
        assert!(restored.unreadable);
        j.record(send("a", 1), Instant::now());
        assert!(format!("{j:?}").contains("open: false"));
    }

    #[cfg(unix)]
    #[tokio::test(start_paused = true)]
    async fn a_missing_state_dir_is_created_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let (_j, restored) = Journal::open(&state, "bot", clock());
        assert!(!restored.unreadable);
        let mode = std::fs::metadata(&state).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        assert!(state.join("pacing-bot.journal").is_file());
    }

    #[test]
    fn file_names_are_safe() {
        assert_eq!(journal_file_name("My.Bot/../x"), "pacing-my_bot____x.journal");
        assert_eq!(journal_file_name(""), "pacing-account.journal");
    }
}
