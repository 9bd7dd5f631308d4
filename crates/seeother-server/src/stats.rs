//! Hit counters: per rule (atomics in the index) and for unknown paths, flushed to the store
//! in batches by a background thread, off the request path. No client data is kept: only
//! rule ids, hosts and paths with counts.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::catalog::Catalog;
use crate::store::StoreError;

/// At most this many distinct unknown paths are counted between two flushes; the others are
/// only counted in total (so a scan of random paths cannot grow memory without bound).
pub const MAX_UNKNOWN_PER_FLUSH: usize = 10_000;

/// Counts by (host, path).
type Counts = HashMap<(Box<str>, Box<str>), u64>;

/// Counts of requests for paths that match no rule.
#[derive(Debug, Default)]
pub struct Unknown {
    counts: Mutex<Counts>,
    overflow: AtomicU64,
}

impl Unknown {
    /// Count a request for `path` on `host` that matched nothing.
    pub fn record(&self, host: &str, path: &str) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = counts.get_mut(&(Box::from(host), Box::from(path))) {
            *n += 1;
        } else if counts.len() < MAX_UNKNOWN_PER_FLUSH {
            counts.insert((host.into(), path.into()), 1);
        } else {
            self.overflow.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Requests for unknown paths that were not counted by path (too many distinct ones).
    pub fn overflow(&self) -> u64 {
        self.overflow.load(Ordering::Relaxed)
    }

    fn drain(&self) -> Vec<(String, String, u64)> {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts
            .drain()
            .map(|((h, p), n)| (h.into_string(), p.into_string(), n))
            .collect()
    }

    fn restore(&self, batch: Vec<(String, String, u64)>) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        for (h, p, n) in batch {
            *counts.entry((h.into(), p.into())).or_default() += n;
        }
    }
}

/// Write the counts gathered since the last flush to the store, in two transactions. On
/// failure the counts are kept for the next flush.
pub fn flush(catalog: &Catalog, unknown: &Unknown) -> Result<(), StoreError> {
    let index = catalog.index();
    let mut hits = Vec::new();
    index.take_hits(&mut hits);
    // In id order the updates walk the counters' B-tree once, front to back, instead of
    // jumping to a random page for every rule.
    hits.sort_unstable_by_key(|&(id, _)| id);
    if let Err(e) = catalog.store().add_hits(&hits) {
        let back: HashMap<i64, u64> = hits.into_iter().collect();
        for r in index.rules() {
            if let Some(n) = back.get(&r.id()) {
                r.add_hits(*n);
            }
        }
        return Err(e);
    }
    let batch = unknown.drain();
    if let Err(e) = catalog.store().add_unknown(&batch) {
        unknown.restore(batch);
        return Err(e);
    }
    Ok(())
}

/// The background thread that flushes counters every interval, reloads the index when
/// another process (e.g. `seeother import`) changed the store, and asks for huge pages for
/// each newly packed table.
#[derive(Debug)]
pub struct Maintenance {
    stop: mpsc::Sender<()>,
    handle: Option<JoinHandle<()>>,
}

impl Maintenance {
    /// Start the thread.
    pub fn spawn(catalog: Arc<Catalog>, unknown: Arc<Unknown>, every: Duration) -> Maintenance {
        let (stop, stopped) = mpsc::channel::<()>();
        let handle = std::thread::Builder::new()
            .name("seeother-maintenance".into())
            .spawn(move || {
                yield_to_requests();
                let mut version = catalog.store().data_version().ok();
                loop {
                    // A table packed at start or since: its first tick on this thread.
                    // A full `Arc`, not a guard: the call takes a while.
                    let index = arc_swap::Guard::into_inner(catalog.index());
                    let bytes = index.collapse_huge_pages();
                    drop(index);
                    if bytes > 0 {
                        tracing::debug!(bytes, "huge pages asked for the packed rules");
                    }
                    let last =
                        !matches!(stopped.recv_timeout(every), Err(RecvTimeoutError::Timeout));
                    if let Err(e) = flush(&catalog, &unknown) {
                        tracing::warn!(error = %e, "could not write hit counters; will retry");
                    }
                    if last {
                        break;
                    }
                    let now = catalog.store().data_version().ok();
                    if now != version {
                        version = now;
                        match catalog.reload() {
                            Ok(n) => tracing::info!(
                                rules = n,
                                "store changed by another process; rules reloaded"
                            ),
                            Err(e) => tracing::warn!(error = %e, "could not reload rules"),
                        }
                    }
                }
            })
            .ok();
        Maintenance { stop, handle }
    }

    /// Flush one last time and stop the thread.
    pub fn stop(mut self) {
        let _ = self.stop.send(());
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Run the calling thread only when its core has nothing else to do (`SCHED_IDLE`, or nice 19
/// where that is refused), so that a flush never delays a request: measured under full load,
/// nice 19 alone still added a third to the p99 latency. The counters it writes wait meanwhile
/// in memory, and the last flush at shutdown does not depend on it.
fn yield_to_requests() {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: system calls about the calling thread (pid 0 / its tid), with a parameter
        // that lives across the call; no memory is shared.
        let done = unsafe {
            libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) == 0
                || libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 19) == 0
        };
        if !done {
            tracing::debug!("could not lower the priority of the maintenance thread");
        }
    }
}
