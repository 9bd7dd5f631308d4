//! The embedded store: one SQLite database file.
//!
//! Writes are acknowledged only after they are durable: the database runs in WAL mode with
//! `synchronous=FULL`, so a committed transaction has been synced to disk and survives a
//! `kill -9` or a power cut. Schema migrations are the numbered SQL files of `migrations/`,
//! tracked with SQLite's `user_version`.
//!
//! Every write is a `BEGIN IMMEDIATE` transaction: it takes the write lock first, so when
//! another process (`seeother import`, a backup) holds it, the write waits up to the busy
//! timeout and then fails with [`StoreError::Busy`], having written nothing. (A deferred
//! transaction that reads, then writes, would get "database is locked" at once: SQLite does
//! not wait for a lock a reader asks to upgrade.)

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::{DEFAULT_BUSY_TIMEOUT, StoreError};

/// The WAL file is cut back to this size after a checkpoint (it would otherwise stay as large
/// as the largest burst of writes ever made).
const WAL_SIZE_LIMIT: i64 = 8 << 20;

/// WAL pages past which a commit checkpoints by itself (SQLite's default is 1,000). A commit
/// that checkpoints waits for the pages to be copied into the database and the database to
/// be synced: with the default, one API write in about a hundred waited 10 to 30 ms more
/// (the writes' p99). The server checkpoints beside the writes instead ([`Sqlite::
/// checkpoint`], on a connection of its own, every second); this stays as the backstop.
const WAL_AUTOCHECKPOINT: i64 = 16 * 1024;

/// The migrations, in order; the database's `user_version` is the number of those applied.
pub(super) const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/0001_init.sql"),
    include_str!("../../migrations/0002_rule_hits.sql"),
    include_str!("../../migrations/0003_rules_files.sql"),
    include_str!("../../migrations/0004_rule_groups.sql"),
    include_str!("../../migrations/0005_admin_state.sql"),
    include_str!("../../migrations/0006_store_identity.sql"),
    include_str!("../../migrations/0007_rule_checks.sql"),
    include_str!("../../migrations/0008_daily_stats.sql"),
    include_str!("../../migrations/0009_list_orders.sql"),
    include_str!("../../migrations/0010_rules_key.sql"),
];

/// The SQLite store. Every method takes `&self`.
#[derive(Debug)]
pub struct Sqlite {
    conn: Mutex<Connection>,
    path: PathBuf,
    busy_timeout: Duration,
    /// Callers waiting for `conn`: a long batch of counters gives way when this is not 0.
    waiting: AtomicUsize,
    /// The connection checkpoints run on, opened at the first (boxed: most stores never
    /// open it).
    checkpointer: Mutex<Option<Box<Connection>>>,
}

/// Apply the migrations `conn`'s database lacks, each in its own transaction; refuse a
/// database newer than this build.
fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
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
    Ok(())
}

impl Sqlite {
    /// Open (creating it if needed) the database at `path` and bring its schema up to date.
    pub fn open(path: &Path) -> Result<Sqlite, StoreError> {
        Self::open_with(path, DEFAULT_BUSY_TIMEOUT)
    }

    /// Open as [`Sqlite::open`] does; a write waits at most `busy_timeout` for another
    /// connection's lock, then fails with [`StoreError::Busy`].
    pub fn open_with(path: &Path, busy_timeout: Duration) -> Result<Sqlite, StoreError> {
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
    pub fn in_memory() -> Result<Sqlite, StoreError> {
        Self::setup(
            Connection::open_in_memory()?,
            Path::new(":memory:"),
            DEFAULT_BUSY_TIMEOUT,
        )
    }

    fn setup(mut conn: Connection, path: &Path, busy: Duration) -> Result<Sqlite, StoreError> {
        conn.busy_timeout(busy)?;
        // WAL lets readers run beside the writer; FULL syncs the WAL at every commit, so an
        // acknowledged write survives a crash of the process or the machine.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
        conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT)?;
        migrate(&mut conn)?;
        Ok(Sqlite {
            conn: Mutex::new(conn),
            path: path.to_owned(),
            busy_timeout: busy,
            waiting: AtomicUsize::new(0),
            checkpointer: Mutex::new(None),
        })
    }

    /// Copy what the WAL holds into the database, on a connection of its own, without
    /// waiting for readers or writers (a passive checkpoint: writes go on meanwhile, and a
    /// checkpoint that a reader keeps from finishing is taken up again at the next call).
    /// Gives the WAL's pages and how many of them are in the database now.
    pub fn checkpoint(&self) -> Result<(i64, i64), StoreError> {
        if self.path == Path::new(":memory:") {
            return Ok((0, 0));
        }
        let mut held = self.checkpointer.lock().unwrap_or_else(|e| e.into_inner());
        let conn = match &mut *held {
            Some(c) => c,
            None => {
                let c = Connection::open(&self.path)?;
                c.busy_timeout(Duration::ZERO)?;
                c.pragma_update(None, "synchronous", "FULL")?;
                c.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
                held.insert(Box::new(c))
            }
        };
        // SQLite: PRAGMA wal_checkpoint(PASSIVE) gives (busy, WAL pages, pages checkpointed).
        let (pages, done) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get(1)?, r.get(2)?))
        })?;
        Ok((pages, done))
    }

    /// Put `conn` on a rollback journal for one large write into empty tables, when no other
    /// connection has the database open; says whether it did. In WAL mode every page of a
    /// transaction is written twice, to the WAL and then by a checkpoint into the database;
    /// a rollback journal keeps only the pages that existed before the transaction, and the
    /// pages of a first import are new. The commit is as durable (`synchronous=FULL`: the
    /// journal, then the database, each synced) and a crash leaves a hot journal that the
    /// next open rolls back. SQLite leaves WAL mode only when no other connection has the
    /// database open (a running server, `seeother import` beside it): then nothing changes.
    /// [`Sqlite::end_rollback_journal`] puts WAL mode back.
    pub(super) fn begin_rollback_journal(&self, conn: &Connection) -> bool {
        if self.path == Path::new(":memory:") {
            return false;
        }
        // SQLite: "If the journal mode could not be changed, the original journal mode is
        // returned"; another connection's lock makes it fail at once with no busy timeout.
        let _ = conn.busy_timeout(Duration::ZERO);
        let mode = conn.query_row("PRAGMA journal_mode = DELETE", [], |r| {
            r.get::<_, String>(0)
        });
        let _ = conn.busy_timeout(self.busy_timeout);
        mode.is_ok_and(|m| m.eq_ignore_ascii_case("delete"))
    }

    /// Put `conn` back in WAL mode after [`Sqlite::begin_rollback_journal`].
    pub(super) fn end_rollback_journal(&self, conn: &Connection) {
        let mode = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0));
        if !mode.as_deref().is_ok_and(|m| m.eq_ignore_ascii_case("wal")) {
            // The next open sets WAL mode again (`setup`); until then writes lock readers out.
            tracing::warn!(?mode, store = %self.path.display(), "store not back in WAL mode after an import");
        }
    }

    /// Bring the schema up to date after a restore put an older one in place.
    pub(super) fn migrate_restored(&self) -> Result<(), StoreError> {
        migrate(&mut self.conn())
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

    pub(super) fn conn(&self) -> MutexGuard<'_, Connection> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        // A panic while holding the lock leaves SQLite consistent (transactions roll back).
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        conn
    }

    /// Whether another caller waits for the connection (a batch of counters then commits
    /// what it has and lets it in).
    pub(super) fn contended(&self) -> bool {
        self.waiting.load(Ordering::SeqCst) > 0
    }
}

impl Sqlite {
    /// A write transaction that takes the write lock at once (`BEGIN IMMEDIATE`), so that
    /// the busy timeout applies when another connection holds it (less the time waited
    /// since [`super::waiting_since`]).
    pub(super) fn write<'c>(&self, conn: &'c Connection) -> Result<Transaction<'c>, StoreError> {
        self.begin(conn, super::wait_left(self.busy_timeout))
    }

    /// `BEGIN IMMEDIATE`, waiting at most `wait` for the write lock (0: not at all).
    pub(super) fn begin<'c>(
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
