//! Admin sessions, the sign-in form's key and import reports in PostgreSQL, shared by every
//! node (see `store::admin`). None of it takes the rules' write lock.

use super::Postgres;
use crate::store::{ReportRow, SessionRow, StoreError};

impl Postgres {
    /// Store the session `id_sha256`, first deleting the expired ones as of `row.created_at`
    /// and the oldest (first signed in) beyond `keep - 1`, in one transaction.
    pub fn create_session(
        &self,
        id_sha256: &[u8],
        row: &SessionRow,
        keep: usize,
    ) -> Result<(), StoreError> {
        self.with(|c| {
            let mut tx = c.transaction()?;
            tx.execute(
                "DELETE FROM admin_sessions WHERE expires_at <= $1",
                &[&row.created_at],
            )?;
            tx.execute(
                "DELETE FROM admin_sessions WHERE n NOT IN (
                     SELECT n FROM admin_sessions ORDER BY n DESC LIMIT $1)",
                &[&(keep.saturating_sub(1) as i64)],
            )?;
            tx.execute(
                "INSERT INTO admin_sessions (id_sha256, csrf, created_at, expires_at)
                 VALUES ($1, $2, $3, $4)",
                &[&id_sha256, &row.csrf, &row.created_at, &row.expires_at],
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    /// The session `id_sha256`, if it has not expired at `now`.
    pub fn session(&self, id_sha256: &[u8], now: i64) -> Result<Option<SessionRow>, StoreError> {
        self.with(|c| {
            Ok(c.query_opt(
                "SELECT csrf, created_at, expires_at FROM admin_sessions
                 WHERE id_sha256 = $1 AND expires_at > $2",
                &[&id_sha256, &now],
            )?
            .map(|r| SessionRow {
                csrf: r.get(0),
                created_at: r.get(1),
                expires_at: r.get(2),
            }))
        })
    }

    /// End the session `id_sha256` (nothing when there is none).
    pub fn delete_session(&self, id_sha256: &[u8]) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "DELETE FROM admin_sessions WHERE id_sha256 = $1",
                &[&id_sha256],
            )?;
            Ok(())
        })
    }

    /// How many sessions have not expired at `now`.
    pub fn session_count(&self, now: i64) -> Result<u64, StoreError> {
        self.with(|c| {
            Ok(c.query_one(
                "SELECT count(*) FROM admin_sessions WHERE expires_at > $1",
                &[&now],
            )?
            .get::<_, i64>(0) as u64)
        })
    }

    /// The sign-in form's key: the stored one, or `fresh` stored when there is none yet (two
    /// nodes asking at once get the same one).
    pub fn admin_key(&self, fresh: &[u8]) -> Result<Vec<u8>, StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO admin_keys (id, key) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
                &[&fresh],
            )?;
            Ok(c.query_one("SELECT key FROM admin_keys WHERE id = 1", &[])?
                .get(0))
        })
    }

    /// Store `report` under a new id, keeping the newest `keep` reports; returns the id.
    pub fn add_report(&self, report: &ReportRow, keep: usize) -> Result<i64, StoreError> {
        self.with(|c| {
            let mut tx = c.transaction()?;
            let id: i64 = tx
                .query_one(
                    "INSERT INTO import_reports
                         (at, source, format, created, updated, unchanged, changed)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                    &[
                        &report.at,
                        &report.source,
                        &report.format,
                        &(report.created as i64),
                        &(report.updated as i64),
                        &(report.unchanged as i64),
                        &report.changed,
                    ],
                )?
                .get(0);
            tx.execute(
                "DELETE FROM import_reports WHERE id <= $1",
                &[&(id - keep as i64)],
            )?;
            tx.commit()?;
            Ok(id)
        })
    }

    /// The report `id`, if still kept.
    pub fn report(&self, id: i64) -> Result<Option<ReportRow>, StoreError> {
        self.with(|c| {
            Ok(c.query_opt(
                "SELECT at, source, format, created, updated, unchanged, changed
                 FROM import_reports WHERE id = $1",
                &[&id],
            )?
            .map(|r| ReportRow {
                at: r.get(0),
                source: r.get(1),
                format: r.get(2),
                created: r.get::<_, i64>(3) as u64,
                updated: r.get::<_, i64>(4) as u64,
                unchanged: r.get::<_, i64>(5) as u64,
                changed: r.get(6),
            }))
        })
    }
}
