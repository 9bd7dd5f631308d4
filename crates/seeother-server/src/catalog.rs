//! The live rules: the durable store and the in-memory index kept in step.
//!
//! Every change is validated, written to the store (durable when the call returns), then
//! applied to a copy of the index that is swapped in atomically: the next request sees it,
//! requests in flight finish on the index they started with. This is the in-process API that
//! the JSON API (and any other front end) calls; its methods block, so async callers run them
//! on a blocking thread.
//!
//! On a shared store (PostgreSQL) the index follows the store's change sequence instead:
//! every change, this node's own as well as the other nodes', is applied in the order of its
//! number by [`Catalog::catch_up`], which reads what was committed after the last number
//! applied; so a node that missed a notification (or was down) catches up exactly.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use arc_swap::{ArcSwap, Guard};

use crate::health::{Health, Reachability};
use crate::import::FileImportError;
use crate::index::{CompiledRule, Counted, Index, Rule, RuleKey};
use crate::rule::{RuleError, RuleSpec};
use crate::snapshot::SnapshotError;
use crate::store::{
    Browse, Browsed, Change, HistoryEntry, ImportReport, ListQuery, Page, Store, StoreError,
    WaitingSince, waiting_since,
};

/// Why a change to the rules was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogError {
    /// The rule is not valid; nothing was written.
    #[error("{0}")]
    Invalid(#[from] RuleError),
    /// Some rules of an import are not valid; nothing was written.
    #[error("{} rule(s) are not valid; nothing was imported", .0.len())]
    InvalidImport(Vec<(usize, RuleError)>),
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Rule files from this size are imported while they are read and the index is loaded anew
/// after ([`Catalog::import_file_streamed`], [`Catalog::import_stream`]): at 1,000,000 rules
/// the whole file, its rules and a list of every change in memory at once would be
/// gigabytes. Smaller ones are applied to the index as a list of changes, which costs less
/// than loading a large store again.
pub const STREAMED_FROM: usize = 4 << 20;

/// The store and the index, kept in step.
#[derive(Debug)]
pub struct Catalog {
    store: Arc<Store>,
    index: ArcSwap<Index>,
    /// Serialises changes so each is applied to the index in the order it was stored.
    writer: Mutex<()>,
    reloads: AtomicU64,
    /// The change sequence the index is as of (shared stores only; changed under `writer`).
    seen: AtomicI64,
    /// Whether the shared store's database answered at the last try.
    reachable: Reachability,
    started: Started,
    /// What rules replaced, deleted or reloaded since the last flush were asked for, kept
    /// under their ids until the next flush writes them: a replaced rule's counts stay its
    /// own, with the variants it served and its 410s, whatever the rule is now.
    retired: Mutex<Vec<Counted>>,
}

/// How the rules were first loaded.
#[derive(Clone, Debug, Default)]
pub struct Started {
    /// The snapshot they were read from, if any.
    pub snapshot: Option<std::path::PathBuf>,
    /// How long it took.
    pub took: std::time::Duration,
}

/// Changes read per query while catching up.
const CATCH_UP_BATCH: u32 = 4096;

/// Beyond this many changes to catch up on, the index is loaded anew instead.
const RELOAD_BEYOND: i64 = 100_000;

fn key_of(rule: &RuleSpec) -> RuleKey {
    (
        rule.host.clone(),
        rule.kind().unwrap_or(crate::rule::Kind::Path),
        rule.matcher().to_owned(),
    )
}

fn compile(rule: &RuleSpec) -> Option<Arc<CompiledRule>> {
    let id = rule.id.unwrap_or_default();
    match CompiledRule::new(id, rule) {
        Ok(c) => Some(Arc::new(c)),
        Err(e) => {
            tracing::warn!(rule = id, error = %e, "stored rule cannot be compiled; skipped");
            None
        }
    }
}

impl Catalog {
    /// Load every rule of `store` into a new index.
    pub fn open(store: Arc<Store>) -> Result<Catalog, StoreError> {
        let started = Instant::now();
        let (index, seq) = crate::load::load(&store)?;
        Ok(Catalog {
            store,
            index: ArcSwap::from_pointee(index),
            writer: Mutex::new(()),
            reloads: AtomicU64::new(0),
            seen: AtomicI64::new(seq.unwrap_or(0)),
            reachable: Reachability::default(),
            started: Started {
                snapshot: None,
                took: started.elapsed(),
            },
            retired: Mutex::default(),
        })
    }

    /// Load every rule of `store`: from the snapshot at `snapshot` when it may be served (a
    /// SQLite store's of its exact change count and identity; a shared store's of any change
    /// already committed, then caught up from it), else from the store.
    pub fn open_from(store: Arc<Store>, snapshot: Option<&Path>) -> Result<Catalog, StoreError> {
        match snapshot.and_then(|path| Catalog::resume(&store, path)) {
            Some(catalog) => Ok(catalog),
            None => Catalog::open(store),
        }
    }

    /// The catalog of the snapshot at `path`, if it may be served for `store` as it is now.
    fn resume(store: &Arc<Store>, path: &Path) -> Option<Catalog> {
        let started = Instant::now();
        let not_served = |why: &dyn std::fmt::Display| {
            tracing::info!(snapshot = %path.display(), %why, "snapshot not used; rules loaded from the store");
        };
        let version = match crate::snapshot::version(path) {
            Ok(v) => v,
            Err(SnapshotError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                return None;
            }
            Err(e) => {
                not_served(&e);
                return None;
            }
        };
        // Which state of the store the snapshot must be of.
        let fits = match &**store {
            Store::Sqlite(s) => s
                .version()
                .map(|(seq, id)| version.seq == seq && version.store == id),
            // Another database's, or one of this database numbered past its last change.
            Store::Postgres(p) => p
                .version()
                .map(|(seq, id)| version.seq <= seq && version.store == id),
        };
        match fits {
            Ok(true) => {}
            Ok(false) => {
                not_served(&"it is of another state of the store (rebuilt soon)");
                return None;
            }
            Err(e) => {
                not_served(&e);
                return None;
            }
        }
        let loaded = match crate::snapshot::read(path) {
            Ok(loaded) => loaded,
            Err(e) => {
                tracing::warn!(error = %e, "snapshot not served; rules loaded from the store");
                return None;
            }
        };
        let catalog = Catalog {
            store: store.clone(),
            index: ArcSwap::from_pointee(loaded.index),
            writer: Mutex::new(()),
            reloads: AtomicU64::new(0),
            seen: AtomicI64::new(if store.is_shared() { loaded.seq } else { 0 }),
            reachable: Reachability::default(),
            started: Started {
                snapshot: Some(path.to_owned()),
                took: Default::default(),
            },
            retired: Mutex::default(),
        };
        if let Err(e) = catalog.catch_up() {
            not_served(&e);
            return None;
        }
        let mut catalog = catalog;
        catalog.started.took = started.elapsed();
        tracing::info!(
            rules = catalog.index().len(),
            snapshot = %path.display(),
            of = version.seq,
            took = ?started.elapsed(),
            "rules loaded from the snapshot"
        );
        Some(catalog)
    }

    /// A catalog serving `index`, as of change `seq`, until the shared store's database
    /// answers (then it catches up from `seq`): a node started from its snapshot.
    pub fn from_snapshot(store: Arc<Store>, index: Index, seq: i64, why: String) -> Catalog {
        let catalog = Catalog {
            store,
            index: ArcSwap::from_pointee(index),
            writer: Mutex::new(()),
            reloads: AtomicU64::new(0),
            seen: AtomicI64::new(seq),
            reachable: Reachability::default(),
            started: Started::default(),
            retired: Mutex::default(),
        };
        catalog.reachable.down(why);
        catalog
    }

    /// How the rules were first loaded.
    pub fn started(&self) -> &Started {
        &self.started
    }

    /// The store as this node sees it: degraded while a shared store's database cannot be
    /// reached (redirects are still answered from memory; writes answer 503).
    pub fn health(&self) -> Health {
        let problem = self.reachable.problem();
        Health {
            status: if problem.is_some() { "degraded" } else { "ok" },
            store: if self.store.is_shared() {
                "postgres"
            } else {
                "sqlite"
            },
            database: problem.is_none(),
            seen: self.seen(),
            down_for_secs: problem.as_ref().map(|(_, d)| d.as_secs()),
            problem: problem.map(|(why, _)| why),
        }
    }

    /// Note whether the database answered (the change feed's thread does).
    pub(crate) fn reachable(&self, result: Result<(), String>) {
        match result {
            Ok(()) => self.reachable.up(),
            Err(why) => self.reachable.down(why),
        }
    }

    /// The number of the last change applied to the index (a shared store's change
    /// sequence; 0 for SQLite).
    pub fn seen(&self) -> i64 {
        self.seen.load(Ordering::Acquire)
    }

    /// The current index (cheap; hold it only for one request).
    #[inline]
    pub fn index(&self) -> Guard<Arc<Index>> {
        self.index.load()
    }

    /// The store.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// How many times the index was rebuilt or changed since start.
    pub fn reloads(&self) -> u64 {
        self.reloads.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Take the writer lock for a change; its wait counts against the store's busy timeout
    /// (so a change queued behind one that another process blocks fails with it: 503).
    fn lock_for_change(&self) -> (WaitingSince, std::sync::MutexGuard<'_, ()>) {
        let since = waiting_since(Instant::now());
        (since, self.lock())
    }

    /// Apply stored changes to the index and swap it in.
    fn apply(&self, changes: &[Change]) {
        let current = self.index.load_full();
        let mut removed = Vec::new();
        // The rules added by the batch so far, and where each key's is: found by its key, not
        // by a search of the list (an import that changes a million rules would make that
        // quadratic). A rule taken out again leaves `None` in its place.
        let mut added: Vec<Option<Arc<CompiledRule>>> = Vec::new();
        let mut place: HashMap<RuleKey, usize> = HashMap::new();
        let mut retired = Vec::new();
        for change in changes {
            if let Some(old) = &change.old {
                let key = key_of(old);
                // The index removes before it adds: a rule added earlier in the same batch
                // (created, then changed or deleted) is taken out of the batch instead.
                let earlier = place.remove(&key).and_then(|i| added[i].take());
                // Its counts so far are the old rule's, not the new one's: with a variant the
                // new one no longer offers, or 303s before it became a tombstone.
                let counts = match earlier {
                    Some(c) => Rule::Compiled(&c).take_counts(),
                    None => current
                        .get(key.0.as_deref(), key.1, &key.2)
                        .and_then(|r| r.take_counts()),
                };
                retired.extend(counts);
                removed.push(key);
            }
            if let Some(new) = &change.new
                && let Some(c) = compile(new)
            {
                let key = (
                    c.host().map(str::to_owned),
                    c.kind(),
                    c.matcher().to_owned(),
                );
                place.insert(key, added.len());
                added.push(Some(c));
            }
        }
        let added = added.into_iter().flatten().collect();
        self.retire(retired);
        self.index
            .store(Arc::new(current.with_changes(&removed, added)));
        self.reloads.fetch_add(1, Ordering::Relaxed);
    }

    /// Rebuild the index from the store (after changes made by another process).
    pub fn reload(&self) -> Result<usize, StoreError> {
        let _w = self.lock();
        self.reload_locked()
    }

    fn reload_locked(&self) -> Result<usize, StoreError> {
        let (index, seq) = crate::load::load(&self.store)?;
        let len = index.len();
        let old = self.index.swap(Arc::new(index));
        // What the old index counted since the last flush is written by the next one.
        let mut counted = Vec::new();
        old.take_hits(&mut counted);
        self.retire(counted);
        if let Some(seq) = seq {
            self.seen.store(seq, Ordering::Release);
        }
        self.reloads.fetch_add(1, Ordering::Relaxed);
        Ok(len)
    }

    /// Apply the changes committed to a shared store after the last one applied, in order;
    /// returns how many. (Far behind, the index is loaded anew.) A SQLite store has no change
    /// feed: nothing to do.
    pub fn catch_up(&self) -> Result<usize, StoreError> {
        if !self.store.is_shared() {
            return Ok(0);
        }
        let _w = self.lock();
        self.catch_up_locked()
    }

    fn catch_up_locked(&self) -> Result<usize, StoreError> {
        let mut seen = self.seen();
        if self.store.data_version()? - seen > RELOAD_BEYOND {
            let before = seen;
            self.reload_locked()?;
            return Ok((self.seen() - before).max(0) as usize);
        }
        let mut applied = 0;
        loop {
            let batch = self.store.changes_since(seen, CATCH_UP_BATCH)?;
            let Some(&(last, _)) = batch.last() else {
                break;
            };
            // Numbers have no gaps; one missing (history edited by hand) means this index
            // cannot be brought up to date change by change.
            if batch
                .iter()
                .zip(seen + 1..)
                .any(|((n, _), want)| *n != want)
            {
                tracing::warn!(
                    after = seen,
                    "the change sequence has a gap; rules reloaded"
                );
                self.reload_locked()?;
                return Ok(applied + batch.len());
            }
            let changes: Vec<Change> = batch.into_iter().map(|(_, c)| c).collect();
            self.apply(&changes);
            applied += changes.len();
            seen = last;
            self.seen.store(seen, Ordering::Release);
            if changes.len() < CATCH_UP_BATCH as usize {
                break;
            }
        }
        Ok(applied)
    }

    /// Bring the index up to date after a change of this node's own was stored: apply it
    /// at once (SQLite), or catch up on the change sequence, which holds it (shared store).
    /// The change is committed either way; a failure to read it back is made good by the
    /// next catch-up.
    fn applied(&self, changes: &[Change]) {
        if !self.store.is_shared() {
            if !changes.is_empty() {
                self.apply(changes);
            }
            return;
        }
        if let Err(e) = self.catch_up_locked() {
            tracing::warn!(error = %e, "change committed, but not yet read back; will catch up");
        }
    }

    /// Hits counted in memory and not yet flushed, for the rule `rule`.
    fn pending_hits(&self, index: &Index, rule: &RuleSpec) -> u64 {
        let (host, kind, matcher) = key_of(rule);
        let retired: u64 = rule.id.map_or(0, |id| {
            self.retired
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .filter(|c| c.id == id)
                .map(|c| c.hits)
                .sum()
        });
        retired
            + index
                .get(host.as_deref(), kind, &matcher)
                .map_or(0, |c| c.pending_hits())
    }

    /// Keep `counts` (of rules no longer in the index as they were) for the next flush.
    pub(crate) fn retire(&self, counts: Vec<Counted>) {
        if counts.is_empty() {
            return;
        }
        let mut retired = self.retired.lock().unwrap_or_else(|e| e.into_inner());
        retired.extend(counts);
        // Bounded by the rules: one entry per rule at most.
        if retired.len() > 4096 {
            let all = std::mem::take(&mut *retired);
            *retired = Counted::merged(all);
        }
    }

    /// Move the counts kept by [`Catalog::retire`] into `out`.
    pub(crate) fn take_retired(&self, out: &mut Vec<Counted>) {
        out.append(&mut self.retired.lock().unwrap_or_else(|e| e.into_inner()));
    }

    fn with_pending(&self, mut rule: RuleSpec) -> RuleSpec {
        let pending = self.pending_hits(&self.index(), &rule);
        rule.hits = Some(rule.hits.unwrap_or(0) + pending);
        rule
    }

    /// A page of rules, with up-to-date hit counts.
    pub fn list(&self, query: &ListQuery) -> Result<Page, StoreError> {
        let mut page = self.store.list(query)?;
        let index = self.index();
        for rule in &mut page.rules {
            let pending = self.pending_hits(&index, rule);
            rule.hits = Some(rule.hits.unwrap_or(0) + pending);
        }
        Ok(page)
    }

    /// A numbered page of rules with the counts, with up-to-date hit counts (the order by
    /// hits is the store's, as of the last flush).
    pub fn browse(&self, query: &Browse) -> Result<Browsed, StoreError> {
        let mut page = self.store.browse(query)?;
        let index = self.index();
        for rule in &mut page.rules {
            let pending = self.pending_hits(&index, rule);
            rule.hits = Some(rule.hits.unwrap_or(0) + pending);
        }
        Ok(page)
    }

    /// The rule with `id`, with its up-to-date hit count.
    pub fn get(&self, id: i64) -> Result<Option<RuleSpec>, StoreError> {
        Ok(self.store.get(id)?.map(|r| self.with_pending(r)))
    }

    /// The history of rule `id`.
    pub fn history(&self, id: i64) -> Result<Vec<HistoryEntry>, StoreError> {
        self.store.history(id)
    }

    /// Validate and store a new rule; it answers requests when this returns.
    pub fn create(&self, rule: RuleSpec, actor: &str) -> Result<RuleSpec, CatalogError> {
        let rule = rule.validate()?;
        let _w = self.lock_for_change();
        let stored = self.store.create(&rule, actor)?;
        self.applied(&[Change {
            old: None,
            new: Some(stored.clone()),
        }]);
        Ok(stored)
    }

    /// Validate and store `rule` as rule `id`.
    pub fn update(&self, id: i64, rule: RuleSpec, actor: &str) -> Result<RuleSpec, CatalogError> {
        let rule = rule.validate()?;
        let _w = self.lock_for_change();
        let change = self.store.update(id, &rule, actor)?;
        self.applied(std::slice::from_ref(&change));
        Ok(self.with_pending(change.new.unwrap_or(rule)))
    }

    /// Delete rule `id`; with `tombstone`, keep it answering 410 Gone. Returns the rule as it
    /// is now (`None` when deleted).
    pub fn delete(
        &self,
        id: i64,
        tombstone: bool,
        actor: &str,
    ) -> Result<Option<RuleSpec>, CatalogError> {
        let _w = self.lock_for_change();
        // A tombstone keeps the rule's counters (its counts so far kept by `apply`, as 303s).
        let change = self.store.delete(id, tombstone, actor)?;
        self.applied(std::slice::from_ref(&change));
        Ok(change.new)
    }

    /// Import the rules that `read` gives in chunks as [`crate::import::import_streamed`]
    /// does, then load the index anew from the store. `None` when `read` met a doubt:
    /// nothing was applied, and the caller reads the rules whole to report their problems.
    pub fn import_stream(
        &self,
        read: impl FnOnce(&mut dyn FnMut(Vec<RuleSpec>) -> bool) -> bool + Send,
        expected: usize,
        actor: &str,
    ) -> Result<Option<ImportReport>, CatalogError> {
        let _w = self.lock_for_change();
        let imported = crate::import::import_streamed(&self.store, read, expected, actor)?;
        if let Some(report) = &imported
            && report.created + report.updated > 0
        {
            self.reload_after_import()?;
        }
        Ok(imported)
    }

    /// Bring the index in step with the store after a large import: loaded anew (SQLite), or
    /// caught up through the change feed (PostgreSQL, which loads anew when far behind).
    fn reload_after_import(&self) -> Result<(), StoreError> {
        if self.store.is_shared() {
            self.catch_up_locked().map(drop)
        } else {
            self.reload_locked().map(drop)
        }
    }

    /// Import the rule file at `path` as [`crate::import::import_file_streamed`] does (written
    /// while it is read, all or nothing, skipped when unchanged), then load the index anew
    /// from the store: for a large file that costs less than a list of every change, and
    /// memory stays near the index's own size.
    pub fn import_file_streamed(
        &self,
        path: &Path,
        format: crate::rules_file::Format,
        actor: &str,
    ) -> Result<ImportReport, FileImportError<CatalogError>> {
        let _w = self.lock_for_change();
        let report = crate::import::import_file_streamed(&self.store, path, format, actor)
            .map_err(|e| match e {
                FileImportError::Read(e) => FileImportError::Read(e),
                FileImportError::Import(e) => FileImportError::Import(e.into()),
            })?;
        if report.created + report.updated > 0 {
            self.reload_after_import()
                .map_err(|e| FileImportError::Import(e.into()))?;
        }
        Ok(report)
    }

    /// Validate every rule, then create or update them all in one transaction.
    pub fn import(&self, rules: Vec<RuleSpec>, actor: &str) -> Result<ImportReport, CatalogError> {
        let mut valid = Vec::with_capacity(rules.len());
        let mut errors = Vec::new();
        for (i, rule) in rules.into_iter().enumerate() {
            match rule.without_server_fields().validate() {
                Ok(r) => valid.push(r),
                Err(e) => errors.push((i, e)),
            }
        }
        if !errors.is_empty() {
            return Err(CatalogError::InvalidImport(errors));
        }
        let _w = self.lock_for_change();
        let report = self.store.import(&valid, actor)?;
        self.applied(&report.changes);
        Ok(report)
    }
}

/// Why catalog work run off the async runtime failed.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// The catalog refused or failed.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// The blocking task did not finish (it panicked).
    #[error("the operation did not finish: {0}")]
    Panicked(String),
}

/// Run blocking catalog work (the store's SQL, index rebuilds) on tokio's blocking pool, so the
/// async handlers of the API and the admin pages never block a runtime thread.
pub async fn blocking<T: Send + 'static>(
    catalog: &Arc<Catalog>,
    f: impl FnOnce(&Catalog) -> Result<T, CatalogError> + Send + 'static,
) -> Result<T, TaskError> {
    let catalog = catalog.clone();
    match tokio::task::spawn_blocking(move || f(&catalog)).await {
        Ok(r) => Ok(r?),
        Err(e) => Err(TaskError::Panicked(e.to_string())),
    }
}
