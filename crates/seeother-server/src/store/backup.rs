//! Backup and restore of a SQLite store while a server uses it.
//!
//! A backup is `VACUUM INTO` a new file: one read transaction, so the copy is the store at
//! one moment, and in WAL mode writers go on meanwhile (SQLite: "VACUUM INTO"). A restore
//! first checks the backup, keeps the store as it was in a file beside it, then copies the
//! backup's pages in with SQLite's online backup API under the write lock: a server on the
//! same file sees one consistent store and reloads its rules (its change counter moved).

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use super::StoreError;
use super::sqlite::{MIGRATIONS, Sqlite};

/// What a backup or restore copied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backup {
    /// Rules in the copy.
    pub rules: u64,
    /// Its schema version.
    pub schema: i64,
    /// Its size in bytes.
    pub bytes: u64,
    /// On restore: where the store as it was before is kept.
    pub kept: Option<PathBuf>,
}

fn bad(path: &Path, why: impl std::fmt::Display) -> StoreError {
    StoreError::Backup(format!("{}: {why}", path.display()))
}

/// Check that `path` is a whole seeother store this build can open: SQLite's integrity check
/// passes, its schema is not newer, it has a rules table.
fn check(path: &Path) -> Result<Backup, StoreError> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| bad(path, format!("cannot be opened ({e})")))?;
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| bad(path, format!("is not a SQLite database ({e})")))?;
    if integrity != "ok" {
        return Err(bad(
            path,
            format!("is damaged (SQLite's integrity check: {integrity})"),
        ));
    }
    let schema: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if schema > MIGRATIONS.len() as i64 {
        return Err(StoreError::TooNew {
            found: schema,
            known: MIGRATIONS.len() as i64,
        });
    }
    let rules: i64 = conn
        .query_row("SELECT count(*) FROM rules", [], |r| r.get(0))
        .map_err(|_| bad(path, "has no rules table: it is no seeother store"))?;
    Ok(Backup {
        rules: rules as u64,
        schema,
        bytes: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
        kept: None,
    })
}

impl Sqlite {
    /// Write a consistent copy of the store to `out`, a file that must not exist yet, and
    /// check it.
    pub fn backup_to(&self, out: &Path) -> Result<Backup, StoreError> {
        if out.exists() {
            return Err(bad(
                out,
                "exists already; name a new file (a backup never overwrites)",
            ));
        }
        let target = out
            .to_str()
            .ok_or_else(|| bad(out, "is not valid UTF-8; name another file"))?;
        self.conn()
            .execute("VACUUM INTO ?1", [target])
            .map_err(|e| bad(out, format!("cannot be written ({e})")))?;
        check(out)
    }

    /// Replace the store's rules, history and counters with those of the backup `from`,
    /// after checking it; the store as it was is first kept in `DB.before-restore-UNIXTIME`.
    pub fn restore_from(&self, from: &Path) -> Result<Backup, StoreError> {
        let mut copied = check(from)?;
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut kept = self.path().as_os_str().to_owned();
        kept.push(format!(".before-restore-{stamp}"));
        let kept = PathBuf::from(kept);
        self.backup_to(&kept)?;
        let src = Connection::open_with_flags(from, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        let mut dst = self.conn();
        let backup = rusqlite::backup::Backup::new(&src, &mut dst)?;
        // All pages in one step: the write lock is taken once and other connections see the
        // store before or after, never between.
        backup.step(-1)?;
        drop(backup);
        // The restored pages carry the backup's schema version; bring it up to date.
        drop(dst);
        self.migrate_restored()?;
        // Another store now: a snapshot of the one replaced must not pass for its own.
        self.conn().execute(
            "UPDATE store_identity SET token = lower(hex(randomblob(16))) WHERE id = 1",
            [],
        )?;
        copied.kept = Some(kept);
        Ok(copied)
    }
}
