//! Hit counters, unknown paths and applied rule files in PostgreSQL. Every node adds its own
//! counts to the shared rows (an upsert adds, never overwrites), in batches of one statement,
//! without the rules' write lock.

use super::Postgres;
use crate::store::{AppliedFile, PartlyWritten, StoreError, UnknownPath, UnknownRetention, now};

/// Rule counters written per statement.
const HITS_PER_TX: usize = 2048;
/// Unknown paths written per transaction.
const UNKNOWN_PER_TX: usize = 256;
/// At most this many unknown paths are deleted per transaction.
const EVICT_PER_TX: i64 = 4096;

impl Postgres {
    /// Add `hits` (rule id, count) to rule counters, 2,048 per statement; rules deleted
    /// meanwhile are skipped. Rows are locked in id order, so two nodes flushing at once
    /// wait for each other rather than deadlock.
    pub fn add_hits(&self, hits: &[(i64, u64)]) -> Result<(), PartlyWritten> {
        let mut written = 0;
        for chunk in hits.chunks(HITS_PER_TX) {
            let (ids, counts): (Vec<i64>, Vec<i64>) =
                chunk.iter().map(|&(id, n)| (id, n as i64)).unzip();
            self.with(|c| {
                c.execute(
                    "INSERT INTO rule_hits (rule_id, hits)
                     SELECT r.id, h.n FROM unnest($1::bigint[], $2::bigint[]) AS h(id, n)
                     JOIN rules AS r ON r.id = h.id
                     ORDER BY r.id
                     ON CONFLICT (rule_id) DO UPDATE SET hits = rule_hits.hits + EXCLUDED.hits",
                    &[&ids, &counts],
                )?;
                Ok(())
            })
            .map_err(|error| PartlyWritten { written, error })?;
            written += chunk.len();
        }
        Ok(())
    }

    /// Add counts of unknown paths (`host`, `path`, `hits`), 256 per transaction, each of
    /// which then deletes what is beyond `keep` (rows unseen too long; past the row cap, the
    /// least asked-for first).
    pub fn add_unknown(
        &self,
        unknown: &[(String, String, u64)],
        keep: &UnknownRetention,
    ) -> Result<(), PartlyWritten> {
        let t = now();
        let expired = keep.max_age.map(|age| t - age.as_secs() as i64);
        let max_rows = keep.max_rows as i64;
        let mut written = 0;
        for chunk in unknown.chunks(UNKNOWN_PER_TX) {
            let hosts: Vec<&str> = chunk.iter().map(|(h, _, _)| h.as_str()).collect();
            let paths: Vec<&str> = chunk.iter().map(|(_, p, _)| p.as_str()).collect();
            let counts: Vec<i64> = chunk.iter().map(|(_, _, n)| *n as i64).collect();
            self.with(|c| {
                let mut tx = c.transaction()?;
                if let Some(before) = expired {
                    tx.execute("DELETE FROM unknown_paths WHERE last_seen < $1", &[&before])?;
                }
                tx.execute(
                    "INSERT INTO unknown_paths (host, path, hits, last_seen)
                     SELECT u.host, u.path, u.n, $4
                     FROM unnest($1::text[], $2::text[], $3::bigint[]) AS u(host, path, n)
                     ORDER BY u.host, u.path
                     ON CONFLICT (host, path) DO UPDATE
                         SET hits = unknown_paths.hits + EXCLUDED.hits, last_seen = EXCLUDED.last_seen",
                    &[&hosts, &paths, &counts, &t],
                )?;
                let rows: i64 = tx
                    .query_one("SELECT count(*) FROM unknown_paths", &[])?
                    .get(0);
                if rows > max_rows {
                    // Down to an eighth below the cap, as the SQLite store does.
                    let excess = (rows - max_rows + max_rows / 8).clamp(1, EVICT_PER_TX);
                    tx.execute(
                        "DELETE FROM unknown_paths WHERE (host, path) IN (
                             SELECT host, path FROM unknown_paths
                             ORDER BY hits, last_seen LIMIT $1)",
                        &[&excess],
                    )?;
                }
                tx.commit()?;
                Ok(())
            })
            .map_err(|error| PartlyWritten { written, error })?;
            written += chunk.len();
        }
        Ok(())
    }

    /// How many unknown paths the store keeps.
    pub fn unknown_count(&self) -> Result<u64, StoreError> {
        self.with(|c| {
            Ok(c.query_one("SELECT count(*) FROM unknown_paths", &[])?
                .get::<_, i64>(0) as u64)
        })
    }

    /// The most asked-for unknown paths, most first.
    pub fn unknown(&self, limit: u32) -> Result<Vec<UnknownPath>, StoreError> {
        self.with(|c| {
            Ok(c.query(
                "SELECT host, path, hits, last_seen FROM unknown_paths
                 ORDER BY hits DESC, path LIMIT $1",
                &[&i64::from(limit.clamp(1, 10_000))],
            )?
            .into_iter()
            .map(|r| UnknownPath {
                host: r.get(0),
                path: r.get(1),
                hits: r.get::<_, i64>(2) as u64,
                last_seen: r.get(3),
            })
            .collect())
        })
    }

    /// How many changes the rules have seen: the change sequence.
    pub fn rules_changes(&self) -> Result<i64, StoreError> {
        self.with(|c| {
            Ok(c.query_one("SELECT seq FROM changes WHERE id = 1", &[])?
                .get(0))
        })
    }

    /// The database's identity for snapshots: its random token (schema version 5) and its
    /// object id, so that a dump restored as a new database is another store too.
    pub fn identity(&self) -> Result<String, StoreError> {
        self.with(|c| Ok(c.query_one(IDENTITY, &[])?.get(0)))
    }

    /// The change sequence and the identity, read together on the change feed's connection
    /// (never behind a flush of counters).
    pub fn version(&self) -> Result<(i64, String), StoreError> {
        self.with_feed(|c| {
            let row = c.query_one(
                &format!("SELECT (SELECT seq FROM changes WHERE id = 1), ({IDENTITY})"),
                &[],
            )?;
            Ok((row.get(0), row.get(1)))
        })
    }

    /// What was recorded when the file at `path` (canonical) was last applied.
    pub fn applied_file(&self, path: &str) -> Result<Option<AppliedFile>, StoreError> {
        self.with(|c| {
            Ok(c.query_opt(
                "SELECT sha256, format, rules, changes FROM rules_files WHERE path = $1",
                &[&path],
            )?
            .map(|r| AppliedFile {
                sha256: r.get(0),
                format: r.get(1),
                rules: r.get::<_, i64>(2) as u64,
                changes: r.get(3),
            }))
        })
    }

    /// If applying `file` at `path` again would change nothing, the number of rules it holds.
    pub fn unchanged_file(
        &self,
        path: &str,
        file: &AppliedFile,
    ) -> Result<Option<u64>, StoreError> {
        self.with(|c| {
            // One statement: both tables are read from the same snapshot.
            Ok(c.query_opt(
                "SELECT f.rules FROM rules_files AS f, changes AS c
                 WHERE f.path = $1 AND f.sha256 = $2 AND f.format = $3 AND f.changes = c.seq",
                &[&path, &file.sha256, &file.format],
            )?
            .map(|r| r.get::<_, i64>(0) as u64))
        })
    }

    /// Record that `file` was applied at `path`, if the change sequence is `file.changes`;
    /// else remove any record of `path`. Returns whether it was recorded.
    pub fn record_applied(&self, path: &str, file: &AppliedFile) -> Result<bool, StoreError> {
        self.with(|c| {
            let mut tx = c.transaction()?;
            // Share-locked: no writer moves the sequence between the read and the write.
            let now_changes: i64 = tx
                .query_one("SELECT seq FROM changes WHERE id = 1 FOR SHARE", &[])?
                .get(0);
            let recorded = now_changes == file.changes;
            if recorded {
                tx.execute(
                    "INSERT INTO rules_files (path, sha256, format, rules, changes, applied_at)
                     VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (path) DO UPDATE SET sha256 = $2, format = $3, rules = $4,
                         changes = $5, applied_at = $6",
                    &[
                        &path,
                        &file.sha256,
                        &file.format,
                        &(file.rules as i64),
                        &file.changes,
                        &now(),
                    ],
                )?;
            } else {
                tx.execute("DELETE FROM rules_files WHERE path = $1", &[&path])?;
            }
            tx.commit()?;
            Ok(recorded)
        })
    }
}

/// The query of [`Postgres::identity`].
const IDENTITY: &str = "SELECT i.token || '/' || d.oid FROM store_identity AS i, pg_database AS d
    WHERE i.id = 1 AND d.datname = current_database()";
