//! `[api] ring_path`: the event ring behind `GET /api/events` kept in an embedded SQLite
//! file, so a restart loses nothing.
//!
//! ```text
//! start:  file → each bridge's newest `ring_capacity` events → rings; seq continues after
//!         the largest stored one (a client's `since` cursor still works)
//! run:    tap → try_send (bounded, never waits; full: counted as dropped)
//!             → one writer thread: batches in one transaction, prunes each
//!               bridge to `ring_capacity` rows
//! stop:   the taps end → the writer writes what is queued and closes the file
//! ```
//!
//! The file is in WAL mode (`synchronous = NORMAL`): a crash may lose the last batch,
//! never corrupts the file. A file that cannot be opened, is not a database, fails SQLite's
//! quick check or cannot be written is an error at start naming the path; when writes fail
//! later (disk full, file removed ...) the events are counted as failed, logged, and the
//! daemon keeps running. One file per process: two processes on one file would reuse
//! sequence numbers.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::{Connection, OpenFlags, params};
use serde::Serialize;
use serde_json::value::RawValue;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use super::Envelope;
use super::ring::StoredEnvelope;
use crate::limits::RING_PERSIST_BUSY_TIMEOUT;

pub mod state_file;
mod writer;

use writer::{Writer, prune};

/// The schema version this build writes (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
    seq    INTEGER PRIMARY KEY,
    bridge TEXT NOT NULL,
    event  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_bridge ON events (bridge, seq);
";

/// Why the ring's file cannot be used. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    /// SQLite refused (cannot open or create, not a database, read-only, I/O error ...).
    #[error("event ring file {}: {source}", path.display())]
    Sqlite {
        /// The file.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// The file is a database but not one this build can use.
    #[error("event ring file {}: {why}", path.display())]
    Unusable {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
}

/// One bridge's persistence counters.
#[derive(Debug, Default)]
pub struct PersistStats {
    loaded: AtomicU64,
    written: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
}

/// [`PersistStats`] now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PersistStatsSnapshot {
    /// Events loaded from the file at start.
    pub loaded: u64,
    /// Events written to the file.
    pub written: u64,
    /// Events not written because SQLite failed (or unreadable rows skipped at start).
    pub failed: u64,
    /// Events not written because the writer had fallen behind (its queue was full).
    pub dropped: u64,
}

impl PersistStats {
    /// A copy of the counters.
    pub fn snapshot(&self) -> PersistStatsSnapshot {
        PersistStatsSnapshot {
            loaded: self.loaded.load(Ordering::Relaxed),
            written: self.written.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn count_dropped(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }
}

/// The ring's file, opened and checked, with what it held at start. Give it to
/// [`super::Hub::start_with_store`].
pub struct RingStore {
    path: PathBuf,
    conn: Connection,
    capacity: usize,
    loaded: HashMap<String, Vec<StoredEnvelope>>,
    skipped: HashMap<String, u64>,
    last_seq: u64,
}

impl std::fmt::Debug for RingStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RingStore")
            .field("path", &self.path)
            .field("capacity", &self.capacity)
            .field("last_seq", &self.last_seq)
            .finish_non_exhaustive()
    }
}

/// Opens `path` read-write (with `extra` flags, e.g. create) and checks what every use of
/// the ring file needs: a file, writable, a schema this build knows, not corrupt.
fn open_checked(path: &Path, extra: OpenFlags) -> Result<Connection, PersistError> {
    let sqlite = |source| PersistError::Sqlite {
        path: path.to_owned(),
        source,
    };
    let unusable = |why: String| PersistError::Unusable {
        path: path.to_owned(),
        why,
    };
    if path.is_dir() {
        return Err(unusable("is a directory, not a file".into()));
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | extra,
    )
    .map_err(sqlite)?;
    conn.busy_timeout(RING_PERSIST_BUSY_TIMEOUT)
        .map_err(sqlite)?;
    // SQLite quietly opens a write-protected file read-only.
    if conn.is_readonly("main").map_err(sqlite)? {
        return Err(unusable("cannot be written (read-only)".into()));
    }
    // The first read: a file that is not a database fails here.
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(sqlite)?;
    if version > SCHEMA_VERSION {
        return Err(unusable(format!(
            "written by a newer tiktwitch (schema {version}, this one knows {SCHEMA_VERSION})"
        )));
    }
    let check: String = conn
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(sqlite)?;
    if check != "ok" {
        return Err(unusable(format!(
            "is corrupt (SQLite quick_check: {check}); move it away to start afresh"
        )));
    }
    Ok(conn)
}

impl RingStore {
    /// The file `settings` name, opened for `bridges`: `None` when no `ring_path` is set
    /// or the API (which the ring serves) is off.
    pub fn open_for(
        settings: &super::FeedSettings,
        bridges: &[&str],
    ) -> Result<Option<Self>, PersistError> {
        match &settings.ring_path {
            Some(path) if settings.api_enabled => {
                Self::open(path, settings.ring_capacity, bridges).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// What [`RingStore::open`] would refuse about an existing file, found without changing
    /// it (no schema, no trimming, no journal switch): for `tiktwitch check`. A missing file
    /// is fine (`open` creates it).
    pub fn verify(path: &Path) -> Result<(), PersistError> {
        if !path.is_dir() && !path.exists() {
            return Ok(());
        }
        open_checked(path, OpenFlags::empty()).map(drop)
    }

    /// Opens (or creates) `path`, checks it can be read and written, trims each bridge to
    /// `capacity` events and loads the newest `capacity` events of each of `bridges`.
    pub fn open(path: &Path, capacity: usize, bridges: &[&str]) -> Result<Self, PersistError> {
        let sqlite = |source| PersistError::Sqlite {
            path: path.to_owned(),
            source,
        };
        let conn = open_checked(path, OpenFlags::SQLITE_OPEN_CREATE)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(sqlite)?;
        if !mode.eq_ignore_ascii_case("wal") {
            warn!(path = %path.display(), mode, "the event ring file is not in WAL mode");
        }
        // NORMAL is safe with WAL: a crash may lose the last commits, never the file.
        conn.execute_batch("PRAGMA synchronous = NORMAL")
            .map_err(sqlite)?;
        conn.execute_batch(SCHEMA).map_err(sqlite)?;
        // A write on every open, so an unwritable file or directory fails now, not later.
        conn.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))
            .map_err(sqlite)?;

        let last_seq: Option<i64> = conn
            .query_row("SELECT MAX(seq) FROM events", [], |r| r.get(0))
            .map_err(sqlite)?;
        let mut store = Self {
            path: path.to_owned(),
            conn,
            capacity,
            loaded: HashMap::new(),
            skipped: HashMap::new(),
            last_seq: last_seq.map_or(0, |s| s.max(0) as u64),
        };
        let stored: Vec<String> = {
            let mut stmt = store
                .conn
                .prepare("SELECT DISTINCT bridge FROM events")
                .map_err(sqlite)?;
            stmt.query_map([], |r| r.get(0))
                .and_then(Iterator::collect)
                .map_err(sqlite)?
        };
        for bridge in &stored {
            prune(&store.conn, bridge, capacity).map_err(sqlite)?;
        }
        for bridge in bridges {
            store.load(bridge).map_err(sqlite)?;
        }
        let held: usize = store.loaded.values().map(Vec::len).sum();
        info!(
            path = %path.display(),
            events = held,
            last_seq = store.last_seq,
            "event ring loaded"
        );
        Ok(store)
    }

    fn load(&mut self, bridge: &str) -> rusqlite::Result<()> {
        let mut stmt = self.conn.prepare(
            "SELECT seq, event FROM events WHERE bridge = ?1 ORDER BY seq DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![bridge, self.capacity as i64], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })?;
        let name: Arc<str> = bridge.into();
        let mut events = Vec::new();
        let mut skipped = 0;
        for row in rows {
            let (seq, json) = row?;
            match RawValue::from_string(json) {
                Ok(event) if seq > 0 => events.push(StoredEnvelope {
                    seq: seq as u64,
                    bridge: name.clone(),
                    event: event.into(),
                }),
                _ => skipped += 1,
            }
        }
        if skipped > 0 {
            warn!(path = %self.path.display(), bridge, skipped, "unreadable events in the ring file were skipped");
        }
        events.reverse();
        self.loaded.insert(bridge.to_owned(), events);
        self.skipped.insert(bridge.to_owned(), skipped);
        Ok(())
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The largest sequence number in the file (0 when empty): the next event gets the
    /// one after it.
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// The events loaded for `bridge`, oldest first, with counters that know them.
    pub(crate) fn take_loaded(&mut self, bridge: &str) -> (Vec<StoredEnvelope>, Arc<PersistStats>) {
        let events = self.loaded.remove(bridge).unwrap_or_default();
        let stats = PersistStats::default();
        stats.loaded.store(events.len() as u64, Ordering::Relaxed);
        stats
            .failed
            .store(self.skipped.remove(bridge).unwrap_or(0), Ordering::Relaxed);
        (events, Arc::new(stats))
    }

    /// Starts the writer thread: it writes what `queue` of `queue_capacity` brings, in
    /// batches, and ends (after writing everything queued) once every sender is gone.
    pub(crate) fn start_writer(
        self,
        stats: HashMap<Arc<str>, Arc<PersistStats>>,
        queue_capacity: usize,
    ) -> (mpsc::Sender<Envelope>, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(queue_capacity.max(1));
        let writer = Writer {
            path: self.path,
            conn: self.conn,
            capacity: self.capacity,
            stats,
            failing: false,
        };
        // Its own thread, not `spawn_blocking`: a blocking task that lives as long as the
        // hub would stop paused test time from advancing. The task returned ends with it.
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
        let path = writer.path.clone();
        let spawned = std::thread::Builder::new()
            .name("ring-writer".into())
            .spawn(move || {
                writer.run(rx);
                let _ = done_tx.send(());
            });
        if let Err(e) = spawned {
            // Every event is then counted as dropped (the queue is closed).
            warn!(path = %path.display(), error = %e, "cannot start the event ring writer");
        }
        let done = tokio::spawn(async move {
            let _ = done_rx.await;
        });
        (tx, done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, EventKind, Meta};

    fn envelope(seq: u64, bridge: &str) -> Envelope {
        Envelope {
            seq,
            bridge: bridge.into(),
            event: Arc::new(Event {
                meta: Meta {
                    msg_id: 1000 + seq,
                    ..Meta::default()
                },
                kind: EventKind::Unknown,
            }),
            usd_per_diamond: 0.005,
        }
    }

    fn stats_for(names: &[&str]) -> HashMap<Arc<str>, Arc<PersistStats>> {
        names
            .iter()
            .map(|n| (Arc::<str>::from(*n), Arc::default()))
            .collect()
    }

    #[tokio::test]
    async fn writes_prunes_per_bridge_and_loads_the_newest_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ring.sqlite");
        let store = RingStore::open(&path, 3, &["a", "b"]).unwrap();
        assert_eq!(store.last_seq(), 0);
        let stats = stats_for(&["a", "b"]);
        let (tx, writer) = store.start_writer(stats.clone(), 100);
        for seq in 1..=10 {
            let bridge = if seq == 4 { "b" } else { "a" };
            tx.send(envelope(seq, bridge)).await.unwrap();
        }
        drop(tx);
        writer.await.unwrap();
        assert_eq!(stats["a"].snapshot().written, 9);
        assert_eq!(stats["b"].snapshot().written, 1);

        let mut again = RingStore::open(&path, 3, &["a", "b", "c"]).unwrap();
        assert_eq!(again.last_seq(), 10);
        let (a, a_stats) = again.take_loaded("a");
        assert_eq!(a.iter().map(|e| e.seq).collect::<Vec<_>>(), [8, 9, 10]);
        assert_eq!(a_stats.snapshot().loaded, 3);
        assert_eq!(
            a[0].event.get(),
            r#"{"bridge":"a","type":"unknown","v":2,"platform":"tiktok","msg_id":"1008"}"#
        );
        let (b, _) = again.take_loaded("b");
        assert_eq!(b.iter().map(|e| e.seq).collect::<Vec<_>>(), [4]);
        assert!(again.take_loaded("c").0.is_empty());
        let rows: i64 = again
            .conn
            .query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 4, "pruned to 3 per bridge on disk");
        let mode: String = again
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");

        // A smaller capacity prunes at open.
        let smaller = RingStore::open(&path, 1, &["a"]).unwrap();
        let rows: i64 = smaller
            .conn
            .query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 2);
    }

    #[test]
    fn unusable_files_are_errors_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let garbage = dir.path().join("garbage.sqlite");
        std::fs::write(&garbage, vec![b'x'; 8192]).unwrap();
        let blocker = dir.path().join("a-file");
        std::fs::write(&blocker, "not a directory").unwrap();
        for path in [
            garbage,
            blocker.join("ring.sqlite"),
            dir.path().to_owned(),
            dir.path().join("missing-dir").join("ring.sqlite"),
        ] {
            let e = RingStore::open(&path, 10, &["a"]).unwrap_err().to_string();
            assert!(
                e.contains(&path.display().to_string()),
                "{e} names {}",
                path.display()
            );
        }
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ring.sqlite");
        Connection::open(&path)
            .unwrap()
            .execute_batch("PRAGMA user_version = 9")
            .unwrap();
        let e = RingStore::open(&path, 10, &[]).unwrap_err().to_string();
        assert!(e.contains("newer"), "{e}");
    }

    #[tokio::test]
    async fn failed_writes_are_counted_and_the_writer_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ring.sqlite");
        let store = RingStore::open(&path, 10, &["a"]).unwrap();
        // Break the table under the writer: inserts fail.
        store.conn.execute_batch("DROP TABLE events").unwrap();
        let stats = stats_for(&["a"]);
        let (tx, writer) = store.start_writer(stats.clone(), 10);
        tx.send(envelope(1, "a")).await.unwrap();
        tx.send(envelope(2, "a")).await.unwrap();
        drop(tx);
        writer.await.unwrap();
        let s = stats["a"].snapshot();
        assert_eq!((s.written, s.failed), (0, 2));
    }
}
