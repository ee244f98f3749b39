//! The ring file's writer thread: batches of events in one transaction each, every
//! bridge pruned to its capacity, failures counted and logged once per outage.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::mpsc;
use tracing::{info, warn};

use super::PersistStats;
use crate::feed::Envelope;
use crate::limits::RING_PERSIST_BATCH;

/// Deletes `bridge`'s rows beyond its newest `capacity`.
pub(super) fn prune(conn: &Connection, bridge: &str, capacity: usize) -> rusqlite::Result<usize> {
    // The newest row that must go: the (capacity+1)-th newest; it and every older one go.
    let cut: Option<i64> = conn
        .query_row(
            "SELECT seq FROM events WHERE bridge = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2",
            params![bridge, capacity as i64],
            |r| r.get(0),
        )
        .optional()?;
    match cut {
        Some(cut) => conn.execute(
            "DELETE FROM events WHERE bridge = ?1 AND seq <= ?2",
            params![bridge, cut],
        ),
        None => Ok(0),
    }
}

/// Writes what the taps queue to the file, in batches; one thread.
pub(super) struct Writer {
    pub(super) path: PathBuf,
    pub(super) conn: Connection,
    pub(super) capacity: usize,
    pub(super) stats: HashMap<Arc<str>, Arc<PersistStats>>,
    /// The last batch failed (logged once until a batch succeeds again).
    pub(super) failing: bool,
}

impl Writer {
    pub(super) fn run(mut self, mut rx: mpsc::Receiver<Envelope>) {
        let mut batch = Vec::with_capacity(RING_PERSIST_BATCH);
        while let Some(first) = rx.blocking_recv() {
            batch.push(first);
            while batch.len() < RING_PERSIST_BATCH {
                match rx.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            self.write(&batch);
            batch.clear();
        }
        // Every tap is gone: fold the WAL into the file before closing.
        if let Err(e) = self.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)") {
            warn!(path = %self.path.display(), error = %e, "event ring checkpoint at shutdown failed");
        }
    }

    fn write(&mut self, batch: &[Envelope]) {
        match self.try_write(batch) {
            Ok(()) => {
                if self.failing {
                    info!(path = %self.path.display(), "writing the event ring file works again");
                }
                self.failing = false;
                for envelope in batch {
                    self.count(envelope, &|s| &s.written);
                }
            }
            Err(e) => {
                if !self.failing {
                    warn!(
                        path = %self.path.display(),
                        error = %e,
                        events = batch.len(),
                        "writing the event ring file failed; events are counted as not persisted"
                    );
                }
                self.failing = true;
                for envelope in batch {
                    self.count(envelope, &|s| &s.failed);
                }
            }
        }
    }

    fn count(&self, envelope: &Envelope, which: &dyn Fn(&PersistStats) -> &AtomicU64) {
        if let Some(stats) = self.stats.get(&envelope.bridge) {
            which(stats).fetch_add(1, Ordering::Relaxed);
        }
    }

    fn try_write(&mut self, batch: &[Envelope]) -> Result<(), WriteError> {
        let tx = self.conn.transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR REPLACE INTO events (seq, bridge, event) VALUES (?1, ?2, ?3)",
            )?;
            for envelope in batch {
                let json = serde_json::to_string(&envelope.feed_event())?;
                insert.execute(params![envelope.seq as i64, &*envelope.bridge, json])?;
            }
        }
        let mut bridges: Vec<&str> = batch.iter().map(|e| &*e.bridge).collect();
        bridges.sort_unstable();
        bridges.dedup();
        for bridge in bridges {
            prune(&tx, bridge, self.capacity)?;
        }
        tx.commit()?;
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
enum WriteError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("event JSON: {0}")]
    Json(#[from] serde_json::Error),
}
