//! Hit counters in the store (`rule_hits`, `unknown_paths`), written in batches.

use rusqlite::params;
use serde::Serialize;

use super::{Store, StoreError, now, write};

/// A path that was asked for and matched no rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
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

impl Store {
    /// Add `hits` (rule id, count) to rule counters, in one transaction. Rules deleted
    /// meanwhile are skipped: no counter is kept for an id that names no rule.
    ///
    /// The counters live in the narrow `rule_hits` table, so a flush in rule-id order writes
    /// a few densely packed pages rather than one page of the wide `rules` table per rule.
    pub fn add_hits(&self, hits: &[(i64, u64)]) -> Result<(), StoreError> {
        if hits.is_empty() {
            return Ok(());
        }
        let mut conn = self.conn();
        let tx = write(&mut conn)?;
        {
            // A counter row exists only for an existing rule (a deletion takes it along), so
            // adding to one needs no look at `rules`; only a rule's first count does.
            let mut add =
                tx.prepare_cached("UPDATE rule_hits SET hits = hits + ?2 WHERE rule_id = ?1")?;
            // The SELECT yields no row for a rule deleted meanwhile: nothing is inserted.
            let mut first = tx.prepare_cached(
                "INSERT INTO rule_hits (rule_id, hits) SELECT id, ?2 FROM rules WHERE id = ?1",
            )?;
            for (id, n) in hits {
                if add.execute(params![id, *n as i64])? == 0 {
                    first.execute(params![id, *n as i64])?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Add counts of unknown paths (`host`, `path`, `hits`), in one transaction.
    pub fn add_unknown(&self, unknown: &[(String, String, u64)]) -> Result<(), StoreError> {
        if unknown.is_empty() {
            return Ok(());
        }
        let t = now();
        let mut conn = self.conn();
        let tx = write(&mut conn)?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO unknown_paths (host, path, hits, last_seen) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (host, path) DO UPDATE SET hits = hits + ?3, last_seen = ?4",
            )?;
            for (host, path, n) in unknown {
                stmt.execute(params![host, path, *n as i64, t])?;
            }
        }
        tx.commit()?;
        Ok(())
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
