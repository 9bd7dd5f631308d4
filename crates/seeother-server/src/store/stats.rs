//! Hit counters in the store (`rule_hits`, `unknown_paths`), written in batches of small
//! transactions, so that an API write waits for one short transaction at most, never for a
//! whole flush.

use std::cell::Cell;
use std::time::Duration;

use rusqlite::{Transaction, params};
use serde::Serialize;

use super::sqlite::Sqlite;
use super::{StoreError, now};

/// How long a batch of counters waits for another process's write lock: not the busy timeout,
/// as the connection is the API's too, and counters can as well wait for the next flush.
pub(super) const COUNTERS_BUSY: Duration = Duration::from_millis(100);

/// The pause between two transactions of a batch.
const PAUSE: Duration = Duration::from_millis(1);
/// Rule counters written per transaction.
const HITS_PER_TX: usize = 2048;
/// Unknown paths written per transaction.
const UNKNOWN_PER_TX: usize = 256;
/// At most this many rows are deleted per transaction, so that a table grown large by an
/// older version shrinks over a few flushes instead of in one long transaction.
const EVICT_PER_TX: i64 = 4096;

/// A path that was asked for and matched no rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct UnknownPath {
    /// The request's host (empty when it had none).
    pub host: String,
    /// The path.
    pub path: String,
    /// How many requests.
    pub hits: u64,
    /// Last asked for (Unix seconds, to the flush).
    pub last_seen: i64,
}

/// How much of the unknown paths the store keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownRetention {
    /// At most this many rows at the end of a flush: beyond, the least asked-for go first
    /// (the longest unseen among equals).
    pub max_rows: u64,
    /// Rows not asked for since are deleted at the next flush; `None` keeps them until the
    /// row cap evicts them.
    pub max_age: Option<Duration>,
}

impl Default for UnknownRetention {
    fn default() -> Self {
        UnknownRetention {
            max_rows: 10_000,
            max_age: Some(Duration::from_secs(30 * 24 * 3600)),
        }
    }
}

/// A batch of counters that failed part-way: the first `written` entries are stored (their
/// transactions committed), the others are not.
#[derive(Debug, thiserror::Error)]
#[error("{error} ({written} counters were written before)")]
pub struct PartlyWritten {
    /// Entries of the batch stored before the failure.
    pub written: usize,
    /// Why the rest was not.
    #[source]
    pub error: StoreError,
}

impl From<PartlyWritten> for StoreError {
    fn from(e: PartlyWritten) -> Self {
        e.error
    }
}

impl Sqlite {
    /// Write `items` in transactions of at most `per_tx` each, calling `each` for every item
    /// and `end` before every commit (told whether it is the last). A transaction commits
    /// early when another caller waits for the connection, which then goes first.
    fn in_batches<T>(
        &self,
        items: &[T],
        per_tx: usize,
        mut each: impl FnMut(&Transaction<'_>, &T) -> rusqlite::Result<()>,
        mut end: impl FnMut(&Transaction<'_>, bool) -> rusqlite::Result<()>,
    ) -> Result<(), PartlyWritten> {
        let mut written = 0;
        while written < items.len() {
            let fail = |error| PartlyWritten { written, error };
            let conn = self.conn();
            let tx = self
                .begin(&conn, COUNTERS_BUSY.min(self.busy_timeout()))
                .map_err(fail)?;
            let mut n = 0;
            for item in items[written..].iter().take(per_tx) {
                each(&tx, item).map_err(|e| fail(e.into()))?;
                n += 1;
                if self.contended() {
                    break;
                }
            }
            end(&tx, written + n == items.len()).map_err(|e| fail(e.into()))?;
            tx.commit().map_err(|e| fail(e.into()))?;
            written += n;
            drop(conn);
            self.give_way();
            if written < items.len() {
                // Requests get the CPU between two transactions.
                std::thread::sleep(PAUSE);
            }
        }
        Ok(())
    }

    /// Let a caller waiting for the connection take it before the next batch (bounded: a
    /// caller that keeps it longer than 0.1 s waits for a batch in turn).
    fn give_way(&self) {
        for _ in 0..100 {
            if !self.contended() {
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Add `hits` (rule id, count) to rule counters, in transactions of at most 2,048. Rules
    /// deleted meanwhile are skipped: no counter is kept for an id that names no rule.
    ///
    /// The counters live in the narrow `rule_hits` table, so a flush in rule-id order writes
    /// a few densely packed pages rather than one page of the wide `rules` table per rule.
    pub fn add_hits(&self, hits: &[(i64, u64)]) -> Result<(), PartlyWritten> {
        self.in_batches(
            hits,
            HITS_PER_TX,
            |tx, (id, n)| {
                // A counter row exists only for an existing rule (a deletion takes it along),
                // so adding to one needs no look at `rules`; only a rule's first count does.
                let mut add = tx
                    .prepare_cached("UPDATE rule_hits SET hits = hits + ?2 WHERE rule_id = ?1")?;
                if add.execute(params![id, *n as i64])? == 0 {
                    // The SELECT yields no row for a rule deleted meanwhile: nothing inserted.
                    tx.prepare_cached(
                        "INSERT INTO rule_hits (rule_id, hits) SELECT id, ?2 FROM rules WHERE id = ?1",
                    )?
                    .execute(params![id, *n as i64])?;
                }
                Ok(())
            },
            |_, _| Ok(()),
        )
    }

    /// Add counts of unknown paths (`host`, `path`, `hits`), in transactions of at most 256.
    /// The first also deletes the rows unseen for longer than `keep` says; each deletes the
    /// rows beyond its cap (the least asked-for first, then the longest unseen), so the
    /// table never grows past the cap.
    pub fn add_unknown(
        &self,
        unknown: &[(String, String, u64)],
        keep: &UnknownRetention,
    ) -> Result<(), PartlyWritten> {
        let t = now();
        let expired = keep.max_age.map(|age| t - age.as_secs() as i64);
        let max_rows = keep.max_rows as i64;
        // Rows in the table, counted once (by the first transaction) and then kept up to date.
        let rows = Cell::new(None::<i64>);
        self.in_batches(
            unknown,
            UNKNOWN_PER_TX,
            |tx, (host, path, n)| {
                if rows.get().is_none() {
                    if let Some(before) = expired {
                        tx.prepare_cached("DELETE FROM unknown_paths WHERE last_seen < ?1")?
                            .execute([before])?;
                    }
                    rows.set(Some(tx.query_row(
                        "SELECT count(*) FROM unknown_paths",
                        [],
                        |r| r.get(0),
                    )?));
                }
                let hits: i64 = tx
                    .prepare_cached(
                        "INSERT INTO unknown_paths (host, path, hits, last_seen) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT (host, path) DO UPDATE SET hits = hits + ?3, last_seen = ?4
                         RETURNING hits",
                    )?
                    .query_row(params![host, path, *n as i64, t], |r| r.get(0))?;
                // A row counted before has more hits than this flush brings.
                if hits == *n as i64 {
                    rows.set(rows.get().map(|r| r + 1));
                }
                Ok(())
            },
            |tx, last| {
                let Some(count) = rows.get().filter(|&r| r > max_rows) else {
                    return Ok(());
                };
                // A caller waiting for the connection does not wait for the sort as well;
                // the last transaction evicts in any case, so a flush ends within the cap.
                if !last && self.contended() {
                    return Ok(());
                }
                // Down to an eighth below the cap, so that a steady flood of new paths sorts
                // the table once every few transactions rather than in each.
                let excess = (count - max_rows + max_rows / 8).clamp(1, EVICT_PER_TX);
                let deleted = tx
                    .prepare_cached(
                        "DELETE FROM unknown_paths WHERE (host, path) IN (
                             SELECT host, path FROM unknown_paths
                             ORDER BY hits, last_seen LIMIT ?1)",
                    )?
                    .execute([excess])?;
                rows.set(Some(count - deleted as i64));
                Ok(())
            },
        )
    }

    /// How many unknown paths the store keeps.
    pub fn unknown_count(&self) -> Result<u64, StoreError> {
        Ok(self
            .conn()
            .query_row("SELECT count(*) FROM unknown_paths", [], |r| {
                r.get::<_, i64>(0)
            })? as u64)
    }

    /// The most asked-for unknown paths, most first.
    pub fn unknown(&self, limit: u32) -> Result<Vec<UnknownPath>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT host, path, hits, last_seen FROM unknown_paths
             ORDER BY hits DESC, path LIMIT ?1",
        )?;
        let rows = stmt
            .query_map([limit.clamp(1, 10_000)], |r| {
                Ok(UnknownPath {
                    host: r.get(0)?,
                    path: r.get(1)?,
                    hits: r.get::<_, i64>(2)? as u64,
                    last_seen: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }
}
