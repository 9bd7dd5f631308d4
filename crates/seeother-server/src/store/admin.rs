//! What the admin pages keep between requests, in the store so that every node of a fleet
//! shares it and it survives a restart: signed-in sessions (under the SHA-256 of their id),
//! the key that signs the sign-in form's tokens, and import reports.
//!
//! Expired sessions are never returned, and are deleted whenever a session is created; at most
//! `keep` sessions are kept (the oldest go first), and the newest `keep` import reports.

use rusqlite::{OptionalExtension, params};

use super::StoreError;
use super::sqlite::Sqlite;

/// A signed-in session as stored (its id is the key, hashed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRow {
    /// The CSRF token its forms carry.
    pub csrf: String,
    /// When it began (Unix seconds).
    pub created_at: i64,
    /// When it ends (Unix seconds).
    pub expires_at: i64,
}

/// An import report as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportRow {
    /// When (Unix seconds).
    pub at: i64,
    /// The file name, or `pasted text`.
    pub source: String,
    /// `toml`, `json` or `csv`.
    pub format: String,
    /// Rules created.
    pub created: u64,
    /// Rules changed.
    pub updated: u64,
    /// Rules already as given.
    pub unchanged: u64,
    /// The rules created or changed, as a JSON array of `["created" | "updated", rule]`.
    pub changed: String,
}

impl Sqlite {
    /// Store the session `id_sha256`, first deleting the expired ones as of `row.created_at`
    /// and the oldest (first signed in) beyond `keep - 1`, in one transaction.
    pub fn create_session(
        &self,
        id_sha256: &[u8],
        row: &SessionRow,
        keep: usize,
    ) -> Result<(), StoreError> {
        let conn = self.conn();
        let tx = self.write(&conn)?;
        tx.execute(
            "DELETE FROM admin_sessions WHERE expires_at <= ?1",
            [row.created_at],
        )?;
        tx.execute(
            "DELETE FROM admin_sessions WHERE n NOT IN (
                 SELECT n FROM admin_sessions ORDER BY n DESC LIMIT ?1)",
            [keep.saturating_sub(1) as i64],
        )?;
        tx.execute(
            "INSERT INTO admin_sessions (id_sha256, csrf, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4)",
            params![id_sha256, row.csrf, row.created_at, row.expires_at],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The session `id_sha256`, if it has not expired at `now`.
    pub fn session(&self, id_sha256: &[u8], now: i64) -> Result<Option<SessionRow>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT csrf, created_at, expires_at FROM admin_sessions
                 WHERE id_sha256 = ?1 AND expires_at > ?2",
                params![id_sha256, now],
                |r| {
                    Ok(SessionRow {
                        csrf: r.get(0)?,
                        created_at: r.get(1)?,
                        expires_at: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    /// End the session `id_sha256` (nothing when there is none).
    pub fn delete_session(&self, id_sha256: &[u8]) -> Result<(), StoreError> {
        let conn = self.conn();
        let tx = self.write(&conn)?;
        tx.execute(
            "DELETE FROM admin_sessions WHERE id_sha256 = ?1",
            [id_sha256],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// How many sessions have not expired at `now`.
    pub fn session_count(&self, now: i64) -> Result<u64, StoreError> {
        Ok(self.conn().query_row(
            "SELECT count(*) FROM admin_sessions WHERE expires_at > ?1",
            [now],
            |r| r.get::<_, i64>(0),
        )? as u64)
    }

    /// The sign-in form's key: the stored one, or `fresh` stored when there is none yet.
    pub fn admin_key(&self, fresh: &[u8]) -> Result<Vec<u8>, StoreError> {
        let conn = self.conn();
        let tx = self.write(&conn)?;
        tx.execute(
            "INSERT INTO admin_keys (id, key) VALUES (1, ?1) ON CONFLICT (id) DO NOTHING",
            [fresh],
        )?;
        let key = tx.query_row("SELECT key FROM admin_keys WHERE id = 1", [], |r| r.get(0))?;
        tx.commit()?;
        Ok(key)
    }

    /// Store `report` under a new id, keeping the newest `keep` reports; returns the id.
    pub fn add_report(&self, report: &ReportRow, keep: usize) -> Result<i64, StoreError> {
        let conn = self.conn();
        let tx = self.write(&conn)?;
        tx.execute(
            "INSERT INTO import_reports (at, source, format, created, updated, unchanged, changed)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                report.at,
                report.source,
                report.format,
                report.created as i64,
                report.updated as i64,
                report.unchanged as i64,
                report.changed
            ],
        )?;
        let id = tx.last_insert_rowid();
        tx.execute(
            "DELETE FROM import_reports WHERE id <= ?1",
            [id - keep as i64],
        )?;
        tx.commit()?;
        Ok(id)
    }

    /// The report `id`, if still kept.
    pub fn report(&self, id: i64) -> Result<Option<ReportRow>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT at, source, format, created, updated, unchanged, changed
                 FROM import_reports WHERE id = ?1",
                [id],
                |r| {
                    Ok(ReportRow {
                        at: r.get(0)?,
                        source: r.get(1)?,
                        format: r.get(2)?,
                        created: r.get::<_, i64>(3)? as u64,
                        updated: r.get::<_, i64>(4)? as u64,
                        unchanged: r.get::<_, i64>(5)? as u64,
                        changed: r.get(6)?,
                    })
                },
            )
            .optional()?)
    }
}
