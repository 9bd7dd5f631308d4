//! The durable store: rules, their history, hit counters, the rule files applied at start
//! and what the admin pages keep (sessions, import reports), in an embedded SQLite database ([`Sqlite`], one node) or in PostgreSQL
//! ([`Postgres`], shared by a fleet of nodes).
//!
//! Both acknowledge a write only after it is durable, take writers one at a time (a write
//! that waits longer than the busy timeout fails with [`StoreError::Busy`], having written
//! nothing), and apply their numbered schema migrations at open, refusing a database written
//! by a newer seeother. The store is synchronous; async callers run it on a blocking thread.

mod admin;
mod applied;
mod backup;
mod browse;
mod checks;
pub mod daily;
mod history;
mod location;
mod postgres;
mod rules;
mod sqlite;
mod stats;

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rusqlite::ErrorCode;

use crate::rule::RuleSpec;

pub use admin::{ReportRow, SessionRow};
pub use applied::AppliedFile;
pub use backup::Backup;
pub use browse::{At, Browse, Browsed, COUNT_BOUND, Cursor, CursorError, Matching, Order};
pub use checks::CheckRow;
pub use location::{Location, LocationError};
pub use postgres::{CHANNEL, Copied, CopyError, Postgres};
pub use rules::{Change, HistoryEntry, ImportReport, ListQuery, Page, RuleRow};
pub use sqlite::Sqlite;
pub use stats::{PartlyWritten, UnknownPath, UnknownRetention};

/// Seconds a client is asked to wait (`Retry-After`) before sending again a write that found
/// the store busy ([`StoreError::Busy`]).
pub const BUSY_RETRY_AFTER_SECS: u32 = 2;

/// How long a write waits for another process's lock on the database by default.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

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
    /// The write could not be made now, and nothing was written: another writer held the
    /// database longer than the busy timeout, or PostgreSQL could not be reached. The same
    /// call may be tried again.
    #[error(transparent)]
    Busy(Busy),
    /// A SQLite error during an operation.
    #[error("database error: {0}")]
    Sql(rusqlite::Error),
    /// A PostgreSQL error during an operation.
    #[error("PostgreSQL error: {}", postgres::reason(.0))]
    Postgres(::postgres::Error),
    /// A backup could not be made, or a file given to restore is no whole seeother store.
    #[error("backup {0}")]
    Backup(String),
    /// The database sent data this seeother cannot read.
    #[error("{0}; is the database a seeother store of this version?")]
    Malformed(String),
}

/// Why a store was busy ([`StoreError::Busy`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Busy {
    /// Another SQLite connection (e.g. `seeother import`, or a process holding `BEGIN
    /// EXCLUSIVE`) held the write lock for longer than the busy timeout.
    #[error(
        "the database is locked by another writer (e.g. `seeother import`) for longer than the busy timeout; nothing was written: try again shortly, or raise --db-busy-timeout"
    )]
    Locked(#[source] rusqlite::Error),
    /// Another PostgreSQL session held the rules' write lock longer than the busy timeout.
    #[error(
        "another node or `seeother import` held the rules' write lock in PostgreSQL for longer than the busy timeout; nothing was written: try again shortly, or raise --db-busy-timeout"
    )]
    LockTimeout(#[source] ::postgres::Error),
    /// PostgreSQL could not be reached (down, restarting, or the network).
    #[error(
        "PostgreSQL cannot be reached ({0}); nothing was written: try again shortly, and check that the database is up"
    )]
    Unavailable(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
                StoreError::Busy(Busy::Locked(e))
            }
            _ => StoreError::Sql(e),
        }
    }
}

impl StoreError {
    /// The conflict of a new rule with `existing`, which has the same host, kind and matcher.
    pub(crate) fn conflict_with(existing: &RuleSpec) -> StoreError {
        StoreError::Conflict {
            existing: existing.id.unwrap_or_default(),
            kind: existing
                .kind()
                .unwrap_or(crate::rule::Kind::Path)
                .as_str()
                .to_owned(),
            matcher: existing.matcher().to_owned(),
            host: existing
                .host
                .clone()
                .unwrap_or_else(|| "any host".to_owned()),
        }
    }

    /// Whether the operation failed only because another writer held the database too long,
    /// or the database could not be reached (nothing was written; trying again later may
    /// succeed).
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

/// Seconds since the Unix epoch.
pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
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

/// What is left of `busy` for a write on this thread (see [`waiting_since`]).
fn wait_left(busy: Duration) -> Duration {
    WAITING_SINCE
        .with(|w| w.get())
        .map_or(busy, |since| busy.saturating_sub(since.elapsed()))
}

/// Restores the previous [`waiting_since`] when dropped.
#[derive(Debug)]
pub(crate) struct WaitingSince(Option<Instant>);

impl Drop for WaitingSince {
    fn drop(&mut self) {
        WAITING_SINCE.with(|w| w.set(self.0));
    }
}

/// The store: SQLite or PostgreSQL, with the same operations. Cheap to share behind an
/// `Arc`; every method takes `&self`.
#[derive(Debug)]
pub enum Store {
    /// One node's embedded database.
    Sqlite(Sqlite),
    /// A database shared by a fleet.
    Postgres(Box<Postgres>),
}

/// Call the same method on whichever backend `$store` is.
macro_rules! each {
    ($store:expr, $s:ident => $call:expr) => {
        match $store {
            Store::Sqlite($s) => $call,
            Store::Postgres($s) => $call,
        }
    };
}

impl Store {
    /// Open (creating it if needed) the SQLite database at `path` and bring its schema up to
    /// date.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Ok(Store::Sqlite(Sqlite::open(path)?))
    }

    /// Open as [`Store::open`] does; a write waits at most `busy_timeout` for another
    /// connection's lock, then fails with [`StoreError::Busy`].
    pub fn open_with(path: &Path, busy_timeout: Duration) -> Result<Store, StoreError> {
        Ok(Store::Sqlite(Sqlite::open_with(path, busy_timeout)?))
    }

    /// Open the store at `location` (a SQLite file is created if needed; a PostgreSQL
    /// database must exist) and bring its schema up to date.
    pub fn connect(location: &Location, busy_timeout: Duration) -> Result<Store, StoreError> {
        match location {
            Location::Sqlite(path) => Self::open_with(path, busy_timeout),
            Location::Postgres(url) => Ok(Store::Postgres(Box::new(Postgres::connect(
                url,
                busy_timeout,
            )?))),
        }
    }

    /// A SQLite store in memory (for tests and `explain` on rule files).
    pub fn in_memory() -> Result<Store, StoreError> {
        Ok(Store::Sqlite(Sqlite::in_memory()?))
    }

    /// Whether other processes (other nodes) share this store and announce their changes
    /// (PostgreSQL): the index then follows [`Store::changes_since`].
    pub fn is_shared(&self) -> bool {
        matches!(self, Store::Postgres(_))
    }

    /// Where the store is, for messages (a PostgreSQL URL without its password).
    pub fn describe(&self) -> String {
        match self {
            Store::Sqlite(s) => s.path().display().to_string(),
            Store::Postgres(p) => p.describe().to_owned(),
        }
    }

    /// The SQLite database file (`None` for PostgreSQL).
    pub fn path(&self) -> Option<&Path> {
        match self {
            Store::Sqlite(s) => Some(s.path()),
            Store::Postgres(_) => None,
        }
    }

    /// How long a write waits for another connection's lock.
    pub fn busy_timeout(&self) -> Duration {
        each!(self, s => s.busy_timeout())
    }

    /// Write a consistent copy of a SQLite store to the new file `out` while it is in use
    /// (see [`Sqlite::backup_to`]).
    pub fn backup_to(&self, out: &std::path::Path) -> Result<Backup, StoreError> {
        match self {
            Store::Sqlite(s) => s.backup_to(out),
            Store::Postgres(_) => Err(StoreError::Backup(
                "of a PostgreSQL store is PostgreSQL's to make: use pg_dump (or your provider's backups), and pg_restore to put it back".into(),
            )),
        }
    }

    /// Replace a SQLite store's content with the backup `from` (see [`Sqlite::restore_from`]).
    pub fn restore_from(&self, from: &std::path::Path) -> Result<Backup, StoreError> {
        match self {
            Store::Sqlite(s) => s.restore_from(from),
            Store::Postgres(_) => Err(StoreError::Backup(
                "into a PostgreSQL store: use pg_restore; `seeother migrate --from sqlite:BACKUP --to postgres://…` copies a SQLite backup in".into(),
            )),
        }
    }

    /// The schema version (number of migrations applied).
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        each!(self, s => s.schema_version())
    }

    /// A number that changes when another connection (e.g. `seeother import` run beside the
    /// server) commits a change (for PostgreSQL, the change sequence).
    pub fn data_version(&self) -> Result<i64, StoreError> {
        each!(self, s => s.data_version())
    }

    /// Copy the WAL into the database beside the writes (SQLite; nothing on PostgreSQL):
    /// see [`Sqlite::checkpoint`].
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.checkpoint().map(drop),
            Store::Postgres(_) => Ok(()),
        }
    }

    /// Call `f` with every rule, streaming rows.
    pub fn for_each_rule(&self, f: impl FnMut(RuleSpec)) -> Result<(), StoreError> {
        each!(self, s => s.for_each_rule(f))
    }

    /// Call `f` with every rule as borrowed from its row: the fastest way to load them all.
    /// Returns the change sequence the rows are as of, when the store has one (PostgreSQL:
    /// they are read in one snapshot with it).
    pub fn for_each_row(&self, f: impl FnMut(&RuleRow<'_>)) -> Result<Option<i64>, StoreError> {
        match self {
            Store::Sqlite(s) => s.for_each_row(f).map(|()| None),
            Store::Postgres(p) => p.for_each_row(f).map(Some),
        }
    }

    /// How many rules.
    pub fn count(&self) -> Result<u64, StoreError> {
        each!(self, s => s.count())
    }

    /// About how many rules, without a scan where the database keeps an estimate: room to
    /// reserve before loading them.
    pub fn count_estimate(&self) -> Result<u64, StoreError> {
        match self {
            Store::Sqlite(s) => s.count(),
            Store::Postgres(p) => p.count_estimate(),
        }
    }

    /// A page of rules, by id.
    pub fn list(&self, query: &ListQuery) -> Result<Page, StoreError> {
        each!(self, s => s.list(query))
    }

    /// A page of the admin list, read by cursor from an index, with how many rules match
    /// a search (counted up to [`COUNT_BOUND`]).
    pub fn browse(&self, query: &Browse) -> Result<Browsed, StoreError> {
        each!(self, s => s.browse(query))
    }

    /// The rule with `id`.
    pub fn get(&self, id: i64) -> Result<Option<RuleSpec>, StoreError> {
        each!(self, s => s.get(id))
    }

    /// Store a new (validated) rule; durable when this returns.
    pub fn create(&self, rule: &RuleSpec, actor: &str) -> Result<RuleSpec, StoreError> {
        each!(self, s => s.create(rule, actor))
    }

    /// Replace rule `id` with `rule` (validated).
    pub fn update(&self, id: i64, rule: &RuleSpec, actor: &str) -> Result<Change, StoreError> {
        each!(self, s => s.update(id, rule, actor))
    }

    /// Delete rule `id`, or with `tombstone` keep it answering 410 Gone.
    pub fn delete(&self, id: i64, tombstone: bool, actor: &str) -> Result<Change, StoreError> {
        each!(self, s => s.delete(id, tombstone, actor))
    }

    /// Create or update every rule of `rules` (validated), matched by host, kind and matcher,
    /// in one transaction: all are applied or none.
    pub fn import(&self, rules: &[RuleSpec], actor: &str) -> Result<ImportReport, StoreError> {
        each!(self, s => s.import(rules, actor, true))
    }

    /// Import as [`Store::import`] does, without listing the changes in the report (for a
    /// process that keeps no index, such as `seeother import`: a million copies of the rules
    /// would double its memory).
    pub fn import_counted(
        &self,
        rules: &[RuleSpec],
        actor: &str,
    ) -> Result<ImportReport, StoreError> {
        each!(self, s => s.import(rules, actor, false))
    }

    /// Import as [`Store::import_counted`] does, the rules given in chunks (about `expected`
    /// of them), so that a file is written while it is read; after the last chunk, `complete`
    /// says whether they were all there: when not (the reader met a bad rule), nothing is
    /// applied and the answer is `None`.
    pub fn import_chunks<C: AsRef<[RuleSpec]>>(
        &self,
        chunks: impl IntoIterator<Item = C>,
        expected: usize,
        actor: &str,
        complete: impl FnOnce() -> bool,
    ) -> Result<Option<ImportReport>, StoreError> {
        match self {
            Store::Sqlite(s) => s.import_chunks(chunks, expected, actor, false, complete),
            Store::Postgres(p) => p.import_chunks(chunks, actor, false, complete),
        }
    }

    /// The recorded changes of rule `id`, oldest first.
    pub fn history(&self, id: i64) -> Result<Vec<HistoryEntry>, StoreError> {
        each!(self, s => s.history(id))
    }

    /// The changes committed after change number `seq`, in order, at most `limit` of them,
    /// each with its number (PostgreSQL; a SQLite store has no change feed and returns none).
    pub fn changes_since(&self, seq: i64, limit: u32) -> Result<Vec<(i64, Change)>, StoreError> {
        match self {
            Store::Sqlite(_) => Ok(Vec::new()),
            Store::Postgres(p) => p.changes_since(seq, limit),
        }
    }

    /// Add `hits` (rule id, count) to rule counters, in batches. Rules deleted meanwhile are
    /// skipped.
    pub fn add_hits(&self, hits: &[(i64, u64)]) -> Result<(), PartlyWritten> {
        each!(self, s => s.add_hits(hits))
    }

    /// Add counts of unknown paths (`host`, `path`, `hits`), in batches, keeping the table
    /// within `keep`.
    pub fn add_unknown(
        &self,
        unknown: &[(String, String, u64)],
        keep: &UnknownRetention,
    ) -> Result<(), PartlyWritten> {
        each!(self, s => s.add_unknown(unknown, keep))
    }

    /// Add `counts` to day `day` (see [`daily`]).
    pub fn add_daily(
        &self,
        day: daily::Day,
        counts: &[crate::index::Counted],
    ) -> Result<(), PartlyWritten> {
        each!(self, s => s.add_daily(day, counts))
    }

    /// Delete the counts per day of the days before `first`, in short transactions.
    pub fn expire_days(&self, first: daily::Day) -> Result<(), StoreError> {
        each!(self, s => s.expire_days(first))
    }

    /// Add counts of unknown paths to day `day`, keeping the day within `keep`.
    pub fn add_daily_unknown(
        &self,
        day: daily::Day,
        unknown: &[(String, String, u64)],
        keep: &daily::DailyRetention,
    ) -> Result<(), PartlyWritten> {
        each!(self, s => s.add_daily_unknown(day, unknown, keep))
    }

    /// Rule `id`'s counts for each day from `from` to `to` that has any, oldest first.
    pub fn rule_days(
        &self,
        id: i64,
        from: daily::Day,
        to: daily::Day,
    ) -> Result<Vec<daily::DayCount>, StoreError> {
        each!(self, s => s.rule_days(id, from, to))
    }

    /// Rule `id`'s answers per variant served for each day from `from` to `to`.
    pub fn rule_variants(
        &self,
        id: i64,
        from: daily::Day,
        to: daily::Day,
    ) -> Result<Vec<daily::VariantCount>, StoreError> {
        each!(self, s => s.rule_variants(id, from, to))
    }

    /// Every rule's counts added up, for each day from `from` to `to` that has any.
    pub fn days(
        &self,
        from: daily::Day,
        to: daily::Day,
    ) -> Result<Vec<daily::DayCount>, StoreError> {
        each!(self, s => s.days(from, to))
    }

    /// The `limit` rules most asked for (or answering 410 most) from `from` to `to`.
    pub fn top_rules(
        &self,
        from: daily::Day,
        to: daily::Day,
        by: daily::TopBy,
        limit: u32,
    ) -> Result<Vec<daily::RuleCount>, StoreError> {
        each!(self, s => s.top_rules(from, to, by, limit))
    }

    /// The `limit` most asked-for unknown paths from `from` to `to`.
    pub fn top_unknown(
        &self,
        from: daily::Day,
        to: daily::Day,
        limit: u32,
    ) -> Result<Vec<daily::UnknownCount>, StoreError> {
        each!(self, s => s.top_unknown(from, to, limit))
    }

    /// How many unknown paths the store keeps.
    pub fn unknown_count(&self) -> Result<u64, StoreError> {
        each!(self, s => s.unknown_count())
    }

    /// The most asked-for unknown paths, most first.
    pub fn unknown(&self, limit: u32) -> Result<Vec<UnknownPath>, StoreError> {
        each!(self, s => s.unknown(limit))
    }

    /// How many changes (creations, updates, deletions, tombstones) the rules have seen, from
    /// any process or front end. Hit counters do not count.
    pub fn rules_changes(&self) -> Result<i64, StoreError> {
        each!(self, s => s.rules_changes())
    }

    /// The store's identity for snapshots: its random token (drawn anew by a restore, and
    /// for PostgreSQL with the database's object id), so that a snapshot is never taken for
    /// another store's with as many changes.
    pub fn identity(&self) -> Result<String, StoreError> {
        each!(self, s => s.identity())
    }

    /// What was recorded when the file at `path` (canonical) was last applied.
    pub fn applied_file(&self, path: &str) -> Result<Option<AppliedFile>, StoreError> {
        each!(self, s => s.applied_file(path))
    }

    /// If applying `file` at `path` again would change nothing, the number of rules it holds.
    pub fn unchanged_file(
        &self,
        path: &str,
        file: &AppliedFile,
    ) -> Result<Option<u64>, StoreError> {
        each!(self, s => s.unchanged_file(path, file))
    }

    /// Record that `file` was applied at `path` (canonical), if the store's change count is
    /// `file.changes`; else remove any record of `path`. Returns whether it was recorded.
    pub fn record_applied(&self, path: &str, file: &AppliedFile) -> Result<bool, StoreError> {
        each!(self, s => s.record_applied(path, file))
    }

    /// Store the admin session whose id has SHA-256 `id_sha256`, deleting the expired ones
    /// and the oldest beyond `keep - 1` first.
    pub fn create_session(
        &self,
        id_sha256: &[u8],
        row: &SessionRow,
        keep: usize,
    ) -> Result<(), StoreError> {
        each!(self, s => s.create_session(id_sha256, row, keep))
    }

    /// The admin session whose id has SHA-256 `id_sha256`, if it has not expired at `now`.
    pub fn session(&self, id_sha256: &[u8], now: i64) -> Result<Option<SessionRow>, StoreError> {
        each!(self, s => s.session(id_sha256, now))
    }

    /// End the admin session whose id has SHA-256 `id_sha256`.
    pub fn delete_session(&self, id_sha256: &[u8]) -> Result<(), StoreError> {
        each!(self, s => s.delete_session(id_sha256))
    }

    /// How many admin sessions have not expired at `now`.
    pub fn session_count(&self, now: i64) -> Result<u64, StoreError> {
        each!(self, s => s.session_count(now))
    }

    /// The key that signs the sign-in form's tokens: the stored one, or `fresh` stored when
    /// there is none yet.
    pub fn admin_key(&self, fresh: &[u8]) -> Result<Vec<u8>, StoreError> {
        each!(self, s => s.admin_key(fresh))
    }

    /// Store an import report under a new id, keeping the newest `keep`; returns the id.
    pub fn add_report(&self, report: &ReportRow, keep: usize) -> Result<i64, StoreError> {
        each!(self, s => s.add_report(report, keep))
    }

    /// The import report `id`, if still kept.
    pub fn report(&self, id: i64) -> Result<Option<ReportRow>, StoreError> {
        each!(self, s => s.report(id))
    }

    /// Store `check` as its rule's latest link check.
    pub fn record_check(&self, check: &CheckRow) -> Result<(), StoreError> {
        each!(self, s => s.record_check(check))
    }

    /// The latest link check of rule `id`, if it has been checked (and still exists).
    pub fn rule_check(&self, id: i64) -> Result<Option<CheckRow>, StoreError> {
        each!(self, s => s.rule_check(id))
    }

    /// The latest link checks in one of `states` (all when empty), by rule id, after
    /// `after`, at most `limit`.
    pub fn checks(
        &self,
        states: &[&str],
        after: i64,
        limit: u32,
    ) -> Result<Vec<CheckRow>, StoreError> {
        each!(self, s => s.checks(states, after, limit))
    }

    /// How many rules' latest link checks are in each state.
    pub fn check_counts(&self) -> Result<Vec<(String, u64)>, StoreError> {
        each!(self, s => s.check_counts())
    }
}
