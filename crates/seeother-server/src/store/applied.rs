//! Rule files applied at start (`serve --rules FILE`): what each held when it was last
//! applied, so that an unchanged file is not imported again.
//!
//! Every change to `rules` (insert, update, delete; by the API, an import, another process or
//! a hand-written statement) bumps one counter (`rules_changes`, kept by triggers). A file is
//! recorded with the counter's value right after it was applied; while the counter still has
//! that value and the file's bytes are the same, importing it again would change nothing.

use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::sqlite::Sqlite;
use super::{StoreError, now};

/// A rule file as applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppliedFile {
    /// SHA-256 of the file's bytes.
    pub sha256: Vec<u8>,
    /// The format it was read in, as its media type (`application/toml`, …).
    pub format: String,
    /// How many rules it held.
    pub rules: u64,
    /// The store's change count ([`Store::rules_changes`]) right after it was applied.
    pub changes: i64,
}

impl Sqlite {
    /// How many changes (creations, updates, deletions, tombstones) the rules have seen, from
    /// any process or front end. Hit counters do not count.
    pub fn rules_changes(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn()
            .query_row("SELECT changes FROM rules_changes WHERE id = 1", [], |r| {
                r.get(0)
            })?)
    }

    /// The store's random identity (drawn anew by a restore), so that a snapshot is never
    /// taken for another store's with the same change count.
    pub fn identity(&self) -> Result<String, StoreError> {
        Ok(self
            .conn()
            .query_row("SELECT token FROM store_identity WHERE id = 1", [], |r| {
                r.get(0)
            })?)
    }

    /// The change count and the identity, read together.
    pub fn version(&self) -> Result<(i64, String), StoreError> {
        Ok(self.conn().query_row(
            "SELECT c.changes, i.token FROM rules_changes AS c, store_identity AS i
             WHERE c.id = 1 AND i.id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
    }

    /// What was recorded when the file at `path` (canonical) was last applied.
    pub fn applied_file(&self, path: &str) -> Result<Option<AppliedFile>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT sha256, format, rules, changes FROM rules_files WHERE path = ?1",
                [path],
                |r| {
                    Ok(AppliedFile {
                        sha256: r.get(0)?,
                        format: r.get(1)?,
                        rules: r.get::<_, i64>(2)? as u64,
                        changes: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    /// If applying `file` at `path` again would change nothing, the number of rules it holds:
    /// it was last applied with the same bytes and format, and no rule changed since.
    /// `file.rules` and `file.changes` are not looked at.
    pub fn unchanged_file(
        &self,
        path: &str,
        file: &AppliedFile,
    ) -> Result<Option<u64>, StoreError> {
        // One statement: both tables are read from the same snapshot.
        Ok(self
            .conn()
            .query_row(
                "SELECT f.rules FROM rules_files AS f, rules_changes AS c
                 WHERE f.path = ?1 AND f.sha256 = ?2 AND f.format = ?3 AND f.changes = c.changes",
                params![path, file.sha256, file.format],
                |r| r.get::<_, i64>(0),
            )
            .optional()?
            .map(|n| n as u64))
    }

    /// Record that `file` was applied at `path` (canonical). `file.changes` is the change count
    /// the store must have now: the count read before the import plus the rules the import
    /// created or updated. When it differs, something else changed the rules meanwhile; then
    /// any record of `path` is removed instead (the next start imports the file again).
    /// Returns whether the file was recorded.
    pub fn record_applied(&self, path: &str, file: &AppliedFile) -> Result<bool, StoreError> {
        let mut conn = self.conn();
        // Take the write lock first, so no other writer comes between the read and the write.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let now_changes: i64 =
            tx.query_row("SELECT changes FROM rules_changes WHERE id = 1", [], |r| {
                r.get(0)
            })?;
        let recorded = now_changes == file.changes;
        if recorded {
            tx.execute(
                "INSERT INTO rules_files (path, sha256, format, rules, changes, applied_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (path) DO UPDATE SET sha256 = ?2, format = ?3, rules = ?4,
                     changes = ?5, applied_at = ?6",
                params![
                    path,
                    file.sha256,
                    file.format,
                    file.rules as i64,
                    file.changes,
                    now()
                ],
            )?;
        } else {
            tx.execute("DELETE FROM rules_files WHERE path = ?1", [path])?;
        }
        tx.commit()?;
        Ok(recorded)
    }
}
