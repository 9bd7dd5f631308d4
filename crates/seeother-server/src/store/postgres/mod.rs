//! The shared store: one PostgreSQL database for a fleet of nodes.
//!
//! A write is acknowledged after PostgreSQL committed it (its own durability settings then
//! decide what survives a crash of the database server). Every write transaction first
//! locks the one row of `changes` (waiting at most the busy timeout, `lock_timeout`), so
//! writers from every node take turns as SQLite's do; each rule change it makes takes the
//! next number of the change sequence, and the commit sends `NOTIFY seeother_changes` with
//! the last one. Numbers are handed out under the lock, so they follow the commit order with
//! no gap: a node that has applied every change up to N catches up exactly with
//! [`Postgres::changes_since`]`(N)`.
//!
//! Schema migrations are the numbered SQL files of `migrations/postgres/`, applied at connect
//! under an advisory lock (several nodes may start at once) and tracked in `seeother_schema`.
//! The connection is made again when it was lost; meanwhile calls fail with
//! [`Busy::Unavailable`].

mod admin;
mod browse;
mod checks;
mod copy;
mod copy_out;
mod counters;
mod daily;
mod rules;

pub use copy::{Copied, CopyError};

use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use ::postgres::error::SqlState;
use ::postgres::{Client, Config, NoTls, Transaction};

use super::location::redact;
use super::{Busy, StoreError};

/// The migrations, in order; `seeother_schema.version` is the number of those applied.
const MIGRATIONS: &[&str] = &[
    include_str!("../../../migrations/postgres/0001_init.sql"),
    include_str!("../../../migrations/postgres/0002_rule_groups.sql"),
    include_str!("../../../migrations/postgres/0003_admin_state.sql"),
    include_str!("../../../migrations/postgres/0004_rule_checks.sql"),
    include_str!("../../../migrations/postgres/0005_store_identity.sql"),
    include_str!("../../../migrations/postgres/0006_daily_stats.sql"),
    include_str!("../../../migrations/postgres/0007_list_orders.sql"),
];

/// The advisory lock taken while migrations run ("seeother" in ASCII).
const MIGRATION_LOCK: i64 = 0x7365_656f_7468_6572;

/// The channel a commit that changed rules notifies, with its last change number.
pub const CHANNEL: &str = "seeother_changes";

/// How long connecting may take at most.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

impl From<::postgres::Error> for StoreError {
    fn from(e: ::postgres::Error) -> Self {
        match e.code() {
            // PostgreSQL's error codes, appendix A: 55P03 lock_not_available (lock_timeout).
            Some(c) if *c == SqlState::LOCK_NOT_AVAILABLE => StoreError::Busy(Busy::LockTimeout(e)),
            // Class 08, connection exceptions; 57P01-57P03: the server is shutting down,
            // crashed, or is starting.
            Some(c)
                if c.code().starts_with("08")
                    || [
                        SqlState::ADMIN_SHUTDOWN,
                        SqlState::CRASH_SHUTDOWN,
                        SqlState::CANNOT_CONNECT_NOW,
                    ]
                    .contains(c) =>
            {
                StoreError::Busy(Busy::Unavailable(e.to_string()))
            }
            Some(_) => StoreError::Postgres(e),
            // No SQL state: the connection failed or was closed.
            None => StoreError::Busy(Busy::Unavailable(reason(&e))),
        }
    }
}

/// The error and its cause (`postgres::Error` shows only the first).
pub(super) fn reason(e: &::postgres::Error) -> String {
    match std::error::Error::source(e) {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}

/// The PostgreSQL store. Every method takes `&self`.
pub struct Postgres {
    config: Config,
    describe: String,
    busy_timeout: Duration,
    conn: Mutex<Option<Client>>,
    /// The connection the change feed reads on: a node catching up never waits behind its
    /// own writes (a flush of hit counters can hold `conn` for a good part of a second).
    feed: Mutex<Option<Client>>,
    /// Whether the migrations have run (at connect, or at the first connection of a store
    /// opened while the database was unreachable).
    migrated: AtomicBool,
}

impl std::fmt::Debug for Postgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Postgres")
            .field("at", &self.describe)
            .finish_non_exhaustive()
    }
}

impl Postgres {
    /// Connect to the database at `url` (it must exist) and bring its schema up to date.
    pub fn connect(url: &str, busy_timeout: Duration) -> Result<Postgres, StoreError> {
        let store = Self::offline(url, busy_timeout)?;
        store.with(|_| Ok(()))?;
        Ok(store)
    }

    /// A store on the database at `url` that connects at its first use (bringing the schema
    /// up to date then): for a node that starts while the database cannot be reached.
    pub fn offline(url: &str, busy_timeout: Duration) -> Result<Postgres, StoreError> {
        let mut config = Config::from_str(url)
            .map_err(|e| StoreError::Busy(Busy::Unavailable(format!("{}: {e}", redact(url)))))?;
        config
            .connect_timeout(CONNECT_TIMEOUT)
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(10))
            .application_name("seeother");
        let store = Postgres {
            config,
            describe: redact(url),
            busy_timeout,
            conn: Mutex::new(None),
            feed: Mutex::new(None),
            migrated: AtomicBool::new(false),
        };
        Ok(store)
    }

    /// The database, without its password.
    pub fn describe(&self) -> &str {
        &self.describe
    }

    /// How long a write waits for another session's lock.
    pub fn busy_timeout(&self) -> Duration {
        self.busy_timeout
    }

    /// A new connection of its own (e.g. to `LISTEN`).
    pub fn connect_again(&self) -> Result<Client, StoreError> {
        self.config.connect(NoTls).map_err(|e| {
            StoreError::Busy(Busy::Unavailable(format!(
                "{}: {}",
                self.describe,
                reason(&e)
            )))
        })
    }

    /// Run `f` on the connection, connecting first when there is none; a connection that
    /// failed is dropped, so the next call connects again.
    pub(super) fn with<T>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.with_on(&self.conn, f)
    }

    /// As [`Postgres::with`], on the change feed's connection.
    pub(super) fn with_feed<T>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.with_on(&self.feed, f)
    }

    fn with_on<T>(
        &self,
        slot: &Mutex<Option<Client>>,
        f: impl FnOnce(&mut Client) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn: MutexGuard<'_, Option<Client>> =
            slot.lock().unwrap_or_else(|e| e.into_inner());
        if conn.as_ref().is_none_or(|c| c.is_closed()) {
            let mut client = self.connect_again()?;
            if !self.migrated.load(Ordering::Acquire) {
                migrate(&mut client)?;
                self.migrated.store(true, Ordering::Release);
            }
            *conn = Some(client);
        }
        let client = conn.as_mut().expect("connected above");
        let result = f(client);
        if let Err(StoreError::Busy(Busy::Unavailable(_))) = &result {
            *conn = None;
        }
        result
    }

    /// The schema version (number of migrations applied).
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.with(|c| {
            Ok(c.query_one("SELECT version FROM seeother_schema", &[])?
                .get(0))
        })
    }

    /// The change sequence: the number of the last change committed (read on the change
    /// feed's connection).
    pub fn data_version(&self) -> Result<i64, StoreError> {
        self.with_feed(|c| {
            Ok(c.query_one("SELECT seq FROM changes WHERE id = 1", &[])?
                .get(0))
        })
    }
}

/// Apply the migrations not yet applied, under an advisory lock, in one transaction.
fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS seeother_schema (
             id      INTEGER PRIMARY KEY CHECK (id = 1),
             version BIGINT  NOT NULL
         );
         INSERT INTO seeother_schema (id, version) VALUES (1, 0) ON CONFLICT DO NOTHING;",
    )?;
    let version: i64 = tx
        .query_one("SELECT version FROM seeother_schema", &[])?
        .get(0);
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(StoreError::TooNew {
            found: version,
            known,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.batch_execute(sql)?;
        tx.execute(
            "UPDATE seeother_schema SET version = $1",
            &[&((i + 1) as i64)],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// A write transaction: it holds the lock on the change sequence from its start, and numbers
/// the changes it records.
pub(super) struct Writer<'c> {
    pub(super) tx: Transaction<'c>,
    /// The last number handed out.
    seq: i64,
    first: i64,
}

impl<'c> Writer<'c> {
    /// Begin, waiting at most what is left of `busy` for the lock.
    pub(super) fn begin(client: &'c mut Client, busy: Duration) -> Result<Writer<'c>, StoreError> {
        let mut tx = client.transaction()?;
        // `lock_timeout = 0` would wait forever.
        let ms = super::wait_left(busy).as_millis().max(1);
        tx.batch_execute(&format!("SET LOCAL lock_timeout = {ms}"))?;
        let seq: i64 = tx
            .query_one("SELECT seq FROM changes WHERE id = 1 FOR UPDATE", &[])?
            .get(0);
        Ok(Writer {
            tx,
            seq,
            first: seq,
        })
    }

    /// The number of the next change.
    pub(super) fn next(&mut self) -> i64 {
        self.seq += 1;
        self.seq
    }

    /// Commit; if anything changed, move the sequence on and wake the other nodes.
    pub(super) fn commit(mut self) -> Result<(), StoreError> {
        if self.seq != self.first {
            self.tx
                .execute("UPDATE changes SET seq = $1 WHERE id = 1", &[&self.seq])?;
            // Sent when the transaction commits, not before.
            self.tx.execute(
                "SELECT pg_notify($1, $2)",
                &[&CHANNEL, &self.seq.to_string()],
            )?;
        }
        self.tx.commit()?;
        Ok(())
    }
}
