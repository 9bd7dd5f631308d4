//! The durable store: rules, their history, hit counters and the rule files applied at
//! start, in an embedded SQLite database.
//!
//! Writes are acknowledged only after they are durable: the database runs in WAL mode with
//! `synchronous=FULL`, so a committed transaction has been synced to disk and survives a
//! `kill -9` or a power cut. The store is synchronous; async callers run it on a blocking
//! thread. Schema migrations are the numbered SQL files of `migrations/`, tracked with
//! SQLite's `user_version`.
//!
//! Every write is a `BEGIN IMMEDIATE` transaction: it takes the write lock first, so when
//! another process (`seeother import`, a backup) holds it, the write waits up to the busy
//! timeout and then fails with [`StoreError::Busy`], having written nothing. (A deferred
//! transaction that reads, then writes, would get "database is locked" at once: SQLite does
//! not wait for a lock a reader asks to upgrade.)

mod applied;
mod rules;
mod stats;

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, ErrorCode, Transaction, TransactionBehavior};

pub use applied::AppliedFile;
pub use rules::{Change, HistoryEntry, ImportReport, ListQuery, Page, RuleRow};
pub use stats::{PartlyWritten, UnknownPath, UnknownRetention};

/// Seconds a client is asked to wait (`Retry-After`) before sending again a write that found
/// the store busy ([`StoreError::Busy`]).
pub const BUSY_RETRY_AFTER_SECS: u32 = 2;

/// How long a write waits for another process's lock on the database by default.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The WAL file is cut back to this size after a checkpoint (it would otherwise stay as large
/// as the largest burst of writes ever made).
const WAL_SIZE_LIMIT: i64 = 8 << 20;

/// The migrations, in order; the database's `user_version` is the number of those applied.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/0001_init.sql"),
    include_str!("../../migrations/0002_rule_hits.sql"),
    include_str!("../../migrations/0003_rules_files.sql"),
    include_str!("../../migrations/0004_rule_groups.sql"),
];

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database could not be opened or used.
    #[error(
        "database {path}: {source}; check that the file is a seeother database and the directory is writable"
    )]
    Open {
        /// The database file.
        path: PathBuf,
        /// The SQLite error.
        source: rusqlite::Error,
    },
    /// The database was written by a newer seeother.
    #[error(
        "database schema version {found} is newer than this seeother understands ({known}); upgrade seeother"
    )]
    TooNew {
        /// The database's version.
        found: i64,
        /// The newest this build knows.
        known: i64,
    },
    /// No rule has that id.
    #[error("no rule has id {0}; list the rules to find its id")]
    NotFound(i64),
    /// Another rule already has the same host, kind and matcher.
    #[error(
        "rule {existing} already matches {kind} {matcher:?} on {host}; update that rule instead"
    )]
    Conflict {
        /// The id of the rule in the way.
        existing: i64,
        /// Its kind.
        kind: String,
        /// Its matcher.
        matcher: String,
        /// Its host, or "any host".
        host: String,
    },
    /// Another connection (e.g. `seeother import`, or a process holding `BEGIN EXCLUSIVE`)
    /// held the database's write lock for longer than the busy timeout. Nothing was written;
    /// the same call may be tried again.
    #[error(
        "the database is locked by another writer (e.g. `seeother import`) for longer than the busy timeout; nothing was written: try again shortly, or raise --db-busy-timeout"
    )]
    Busy(#[source] rusqlite::Error),
    /// A SQLite error during an operation.
    #[error("database error: {0}")]
    Sql(rusqlite::Error),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Busy(e),
            _ => StoreError::Sql(e),
        }
    }
}

impl StoreError {
    /// Whether the operation failed only because another writer held the database too long
    /// (nothing was written; trying again later may succeed).
    pub fn is_busy(&self) -> bool {
        match self {
            StoreError::Busy(_) => true,
            StoreError::Open { source, .. } => matches!(
                source.sqlite_error_code(),
                Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
            ),
            _ => false,
        }
    }
}

/// The store. Cheap to share behind an `Arc`; every method takes `&self`.
#[derive(Debug)]
pub struct Store {
    conn: Mutex<Connection>,
    path: PathBuf,
    busy_timeout: Duration,
    /// Callers waiting for `conn`: a long batch of counters gives way when this is not 0.
    waiting: AtomicUsize,
}

/// Seconds since the Unix epoch.
pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Store {
    /// Open (creating it if needed) the database at `path` and bring its schema up to date.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Self::open_with(path, DEFAULT_BUSY_TIMEOUT)
    }

    /// Open as [`Store::open`] does; a write waits at most `busy_timeout` for another
    /// connection's lock, then fails with [`StoreError::Busy`].
    pub fn open_with(path: &Path, busy_timeout: Duration) -> Result<Store, StoreError> {
        let err = |source| StoreError::Open {
            path: path.to_owned(),
            source,
        };
        let conn = Connection::open(path).map_err(err)?;
        // A lock held by another process (while migrations would run) stays `Busy`: its
        // message says what to do.
        Self::setup(conn, path, busy_timeout).map_err(|e| match e {
            StoreError::Sql(source) => err(source),
            other => other,
        })
    }

    /// A store in memory (for tests and `explain` on rule files).
    pub fn in_memory() -> Result<Store, StoreError> {
        Self::setup(
            Connection::open_in_memory()?,
            Path::new(":memory:"),
            DEFAULT_BUSY_TIMEOUT,
        )
    }

    fn setup(mut conn: Connection, path: &Path, busy: Duration) -> Result<Store, StoreError> {
        conn.busy_timeout(busy)?;
        // WAL lets readers run beside the writer; FULL syncs the WAL at every commit, so an
        // acknowledged write survives a crash of the process or the machine.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let known = MIGRATIONS.len() as i64;
        if version > known {
            return Err(StoreError::TooNew {
                found: version,
                known,
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
        }
        Ok(Store {
            conn: Mutex::new(conn),
            path: path.to_owned(),
            busy_timeout: busy,
            waiting: AtomicUsize::new(0),
        })
    }

    /// How long a write waits for another connection's lock.
    pub fn busy_timeout(&self) -> Duration {
        self.busy_timeout
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version (number of migrations applied).
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn()
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// A number that changes when another connection (e.g. `seeother import` run beside the
    /// server) commits a change.
    pub fn data_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn()
            .pragma_query_value(None, "data_version", |r| r.get(0))?)
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        // A panic while holding the lock leaves SQLite consistent (transactions roll back).
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        conn
    }

    /// Whether another caller waits for the connection (a batch of counters then commits
    /// what it has and lets it in).
    fn contended(&self) -> bool {
        self.waiting.load(Ordering::SeqCst) > 0
    }
}

thread_local! {
    /// When the write being made on this thread began to wait (see [`waiting_since`]).
    static WAITING_SINCE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// While the returned guard lives, a write made on this thread counts its wait for another
/// process's lock from `since` (when the caller began to wait, e.g. for the catalog's
/// writer lock) rather than from its own start: so writes queued behind one that another
/// process blocks answer within one busy timeout, not one busy timeout after another.
pub(crate) fn waiting_since(since: Instant) -> WaitingSince {
    WaitingSince(WAITING_SINCE.with(|w| w.replace(Some(since))))
}

/// Restores the previous [`waiting_since`] when dropped.
#[derive(Debug)]
pub(crate) struct WaitingSince(Option<Instant>);

impl Drop for WaitingSince {
    fn drop(&mut self) {
        WAITING_SINCE.with(|w| w.set(self.0));
    }
}

impl Store {
    /// A write transaction that takes the write lock at once (`BEGIN IMMEDIATE`), so that
    /// the busy timeout applies when another connection holds it (less the time waited
    /// since [`waiting_since`]).
    fn write<'c>(&self, conn: &'c Connection) -> Result<Transaction<'c>, StoreError> {
        let wait = WAITING_SINCE
            .with(|w| w.get())
            .map_or(self.busy_timeout, |since| {
                self.busy_timeout.saturating_sub(since.elapsed())
            });
        self.begin(conn, wait)
    }

    /// `BEGIN IMMEDIATE`, waiting at most `wait` for the write lock (0: not at all).
    fn begin<'c>(
        &self,
        conn: &'c Connection,
        wait: Duration,
    ) -> Result<Transaction<'c>, StoreError> {
        conn.busy_timeout(wait)?;
        let begun = Transaction::new_unchecked(conn, TransactionBehavior::Immediate);
        conn.busy_timeout(self.busy_timeout)?;
        Ok(begun?)
    }
}
