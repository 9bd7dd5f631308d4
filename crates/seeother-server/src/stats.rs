//! Hit counters: per rule and per variant served (atomics in the index) and for unknown
//! paths, flushed to the store in batches by a background thread ([`Maintenance`]), off the
//! request path: to the totals and to the day's counts (`store::daily`). No client data is
//! kept: only rule ids, media types, hosts and paths with counts.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::catalog::Catalog;
use crate::index::Counted;
use crate::store::daily::{self, DailyRetention, Day};
use crate::store::{StoreError, UnknownRetention};

mod maintenance;
mod top;

pub use maintenance::Maintenance;

/// By default, at most this many distinct unknown paths are counted between two flushes, the
/// most asked-for kept when there are more (so a scan of random paths cannot grow memory
/// without bound, nor push out a popular path).
pub const MAX_UNKNOWN_PER_FLUSH: usize = 10_000;

/// Longer unknown paths are counted cut to this many bytes (at a character boundary).
pub const MAX_UNKNOWN_PATH_BYTES: usize = 512;

/// Longer hosts of unknown paths are counted cut to this many bytes (a DNS name has 253).
pub const MAX_UNKNOWN_HOST_BYTES: usize = 255;

/// What is kept of the paths that match no rule, in memory and in the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownLimits {
    /// Distinct (host, path) pairs counted in memory between two flushes, and kept when a
    /// flush fails: the bound on the memory they take (about 1 KB each at most).
    pub max_paths: usize,
    /// What the store keeps.
    pub store: UnknownRetention,
    /// How long the store keeps the counts per day (of rules and unknown paths).
    pub daily: DailyRetention,
}

impl Default for UnknownLimits {
    fn default() -> Self {
        UnknownLimits {
            max_paths: MAX_UNKNOWN_PER_FLUSH,
            store: UnknownRetention::default(),
            daily: DailyRetention::default(),
        }
    }
}

/// Cut `s` to at most `max` bytes, at a character boundary.
fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Counts of requests for paths that match no rule, the most asked-for [`UnknownLimits::
/// max_paths`] between two flushes (space-saving: a path pushed out by newer ones is counted
/// in [`Unknown::overflow`]; the counts written are lower bounds, never more than the truth);
/// and the rules' day counts that a failed flush could not write.
#[derive(Debug, Default)]
pub struct Unknown {
    counts: Mutex<top::TopK>,
    overflow: AtomicU64,
    dropped: AtomicU64,
    limits: UnknownLimits,
    /// Day counts not yet written (one entry per rule at most), and their day.
    days: Mutex<(Day, Vec<Counted>)>,
    /// The days before this one are deleted (by this process, since it started).
    expired: std::sync::atomic::AtomicI64,
}

impl Unknown {
    /// Counters kept within `limits`.
    pub fn new(limits: UnknownLimits) -> Unknown {
        Unknown {
            limits: UnknownLimits {
                max_paths: limits.max_paths.max(1),
                ..limits
            },
            ..Unknown::default()
        }
    }

    /// The limits.
    pub fn limits(&self) -> &UnknownLimits {
        &self.limits
    }

    /// Count a request for `path` on `host` that matched nothing (each cut to
    /// [`MAX_UNKNOWN_PATH_BYTES`] and [`MAX_UNKNOWN_HOST_BYTES`]).
    pub fn record(&self, host: &str, path: &str) {
        let (host, path) = (
            cut(host, MAX_UNKNOWN_HOST_BYTES),
            cut(path, MAX_UNKNOWN_PATH_BYTES),
        );
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let lost = counts.add(host, path, 1, self.limits.max_paths);
        drop(counts);
        if lost > 0 {
            self.overflow.fetch_add(lost, Ordering::Relaxed);
        }
    }

    /// Requests for unknown paths that were not counted by path (pushed out by too many
    /// distinct ones).
    pub fn overflow(&self) -> u64 {
        self.overflow.load(Ordering::Relaxed)
    }

    /// Requests for unknown paths counted, then dropped: their flush failed and there was no
    /// room to keep them for the next one.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Distinct paths counted in memory, waiting for a flush (at most `max_paths`).
    pub fn pending(&self) -> usize {
        self.counts.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// The counts since the last flush, in key order (so the upserts walk the table's
    /// B-tree front to back).
    fn drain(&self) -> Vec<(String, String, u64)> {
        self.counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
    }

    /// Give back counts that were not written, within the limit; the others are dropped
    /// (and counted in [`Unknown::dropped`]), never queued beyond it.
    fn restore(&self, batch: &[(String, String, u64)]) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let mut dropped = 0;
        for (h, p, n) in batch {
            dropped += counts.add(h, p, *n, self.limits.max_paths);
        }
        if dropped > 0 {
            self.dropped.fetch_add(dropped, Ordering::Relaxed);
        }
    }
}

/// Write the counts gathered since the last flush to the store, in small transactions (see
/// [`crate::store::Store::add_hits`]): the rules' totals, then their counts for today (see
/// [`crate::store::daily`]), then the unknown paths'. On failure the counts not written are
/// kept for the next flush: all of the rules' (one counter per rule at most), the unknown
/// paths' within [`UnknownLimits::max_paths`]. Counts are filed under the day of the flush,
/// so those of the last seconds before midnight (UTC) may go to the next day.
pub fn flush(catalog: &Catalog, unknown: &Unknown) -> Result<(), StoreError> {
    flush_on(catalog, unknown, daily::today())
}

/// [`flush`], filing the day counts under `day`.
pub fn flush_on(catalog: &Catalog, unknown: &Unknown, day: Day) -> Result<(), StoreError> {
    let index = catalog.index();
    let mut counted = Vec::new();
    index.take_hits(&mut counted);
    drop(index);
    // And the counts of rules replaced (or reloaded) since the last flush, their own.
    catalog.take_retired(&mut counted);
    // One entry per rule, in id order: the updates walk the counters' B-tree once, front to
    // back, instead of jumping to a random page for every rule.
    let counted = Counted::merged(counted);
    let hits: Vec<(i64, u64)> = counted
        .iter()
        .filter(|c| c.hits > 0)
        .map(|c| (c.id, c.hits))
        .collect();
    if let Err(e) = catalog.store().add_hits(&hits) {
        // Nothing of `counted` is in the day counts yet: a rule whose total was written waits
        // for the day's table; the others wait whole (total and day counts) for the next flush.
        let written: HashSet<i64> = hits[..e.written].iter().map(|(id, _)| *id).collect();
        let (done, waiting): (Vec<Counted>, Vec<Counted>) = counted
            .into_iter()
            .partition(|c| c.hits == 0 || written.contains(&c.id));
        catalog.retire(waiting);
        unknown.keep_days(day, done);
        return Err(e.error);
    }
    unknown.keep_days(day, counted);
    // Each part is tried even when one before failed: the first failure is the answer.
    let mut result = unknown.write_days(catalog, day);
    let batch = unknown.drain();
    if let Err(e) = catalog.store().add_unknown(&batch, &unknown.limits.store) {
        unknown.restore(&batch[e.written..]);
        return result.and(Err(e.error));
    }
    if let Err(e) = catalog
        .store()
        .add_daily_unknown(day, &batch, &unknown.limits.daily)
    {
        // Their totals are written: given back, they would be counted twice there.
        let lost: u64 = batch[e.written..].iter().map(|(_, _, n)| n).sum();
        unknown.dropped.fetch_add(lost, Ordering::Relaxed);
        result = result.and(Err(e.error));
    }
    result
}

impl Unknown {
    /// Add `counted` to the day counts waiting to be written, as of `day` (those of an
    /// earlier day still waiting are filed under it too).
    fn keep_days(&self, day: Day, counted: Vec<Counted>) {
        let mut days = self.days.lock().unwrap_or_else(|e| e.into_inner());
        days.0 = day;
        if days.1.is_empty() {
            days.1 = counted;
            return;
        }
        let mut by_id: HashMap<i64, Counted> = std::mem::take(&mut days.1)
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        for c in counted {
            match by_id.get_mut(&c.id) {
                Some(k) => k.add(c),
                None => {
                    by_id.insert(c.id, c);
                }
            }
        }
        days.1 = by_id.into_values().collect();
        days.1.sort_unstable_by_key(|c| c.id);
    }

    /// Delete the days past the retention (once a day), then write the day counts waiting;
    /// those not written wait for the next flush.
    fn write_days(&self, catalog: &Catalog, today: Day) -> Result<(), StoreError> {
        let first = self.limits.daily.first_kept(today);
        if self.expired.load(Ordering::Relaxed) < first {
            catalog.store().expire_days(first)?;
            self.expired.store(first, Ordering::Relaxed);
        }
        let (day, waiting) =
            std::mem::take(&mut *self.days.lock().unwrap_or_else(|e| e.into_inner()));
        if waiting.is_empty() {
            return Ok(());
        }
        if let Err(e) = catalog.store().add_daily(day, &waiting) {
            self.keep_days(day, waiting[e.written..].to_vec());
            return Err(e.error);
        }
        Ok(())
    }
}
