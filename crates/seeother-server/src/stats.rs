//! Hit counters: per rule (atomics in the index) and for unknown paths, flushed to the store
//! in batches by a background thread ([`Maintenance`]), off the request path. No client data
//! is kept: only rule ids, hosts and paths with counts.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::catalog::Catalog;
use crate::store::{StoreError, UnknownRetention};

mod maintenance;

pub use maintenance::Maintenance;

/// By default, at most this many distinct unknown paths are counted between two flushes; the
/// others are only counted in total (so a scan of random paths cannot grow memory without
/// bound).
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
}

impl Default for UnknownLimits {
    fn default() -> Self {
        UnknownLimits {
            max_paths: MAX_UNKNOWN_PER_FLUSH,
            store: UnknownRetention::default(),
        }
    }
}

/// Counts by host, then path (two levels, so a lookup needs no owned key).
#[derive(Debug, Default)]
struct Window {
    by_host: HashMap<Box<str>, HashMap<Box<str>, u64>>,
    /// Distinct (host, path) pairs in `by_host`.
    paths: usize,
}

impl Window {
    /// Add `n` to (host, path) if it is counted or there is room; false if neither.
    fn add(&mut self, host: &str, path: &str, n: u64, max: usize) -> bool {
        if let Some(c) = self.by_host.get_mut(host).and_then(|p| p.get_mut(path)) {
            *c += n;
            return true;
        }
        if self.paths >= max {
            return false;
        }
        self.by_host
            .entry(host.into())
            .or_default()
            .insert(path.into(), n);
        self.paths += 1;
        true
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

/// Counts of requests for paths that match no rule.
#[derive(Debug, Default)]
pub struct Unknown {
    counts: Mutex<Window>,
    overflow: AtomicU64,
    dropped: AtomicU64,
    limits: UnknownLimits,
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
        if !counts.add(host, path, 1, self.limits.max_paths) {
            self.overflow.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Requests for unknown paths that were not counted by path (too many distinct ones).
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
        self.counts.lock().unwrap_or_else(|e| e.into_inner()).paths
    }

    fn drain(&self) -> Vec<(String, String, u64)> {
        let window = std::mem::take(&mut *self.counts.lock().unwrap_or_else(|e| e.into_inner()));
        let mut batch = Vec::with_capacity(window.paths);
        for (host, paths) in window.by_host {
            let host = host.into_string();
            batch.extend(
                paths
                    .into_iter()
                    .map(|(p, n)| (host.clone(), p.into_string(), n)),
            );
        }
        // In key order the upserts walk the table's B-tree front to back.
        batch.sort_unstable();
        batch
    }

    /// Give back counts that were not written, within the limit; the others are dropped
    /// (and counted in [`Unknown::dropped`]), never queued beyond it.
    fn restore(&self, batch: &[(String, String, u64)]) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let mut dropped = 0;
        for (h, p, n) in batch {
            if !counts.add(h, p, *n, self.limits.max_paths) {
                dropped += n;
            }
        }
        if dropped > 0 {
            self.dropped.fetch_add(dropped, Ordering::Relaxed);
        }
    }
}

/// Write the counts gathered since the last flush to the store, in small transactions (see
/// [`crate::store::Store::add_hits`]). On failure the counts not written are kept for the
/// next flush: all of the rules' (one counter per rule at most), the unknown paths' within
/// [`UnknownLimits::max_paths`].
pub fn flush(catalog: &Catalog, unknown: &Unknown) -> Result<(), StoreError> {
    let index = catalog.index();
    let mut hits = Vec::new();
    index.take_hits(&mut hits);
    // In id order the updates walk the counters' B-tree once, front to back, instead of
    // jumping to a random page for every rule.
    hits.sort_unstable_by_key(|&(id, _)| id);
    if let Err(e) = catalog.store().add_hits(&hits) {
        let back: HashMap<i64, u64> = hits.drain(e.written..).collect();
        for r in index.rules() {
            if let Some(n) = back.get(&r.id()) {
                r.add_hits(*n);
            }
        }
        return Err(e.error);
    }
    let batch = unknown.drain();
    if let Err(e) = catalog.store().add_unknown(&batch, &unknown.limits.store) {
        unknown.restore(&batch[e.written..]);
        return Err(e.error);
    }
    Ok(())
}
