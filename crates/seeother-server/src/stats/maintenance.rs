//! The background threads: one writes the counters and reloads the rules changed by another
//! process, one asks for huge pages for each newly packed table.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;
use std::time::Instant;

use super::flush;
use crate::app::App;
use crate::catalog::Catalog;

/// The background threads of a server: every interval, one flushes the counters and, when
/// another process (e.g. `seeother import`) changed the store, reloads the index; the other
/// asks for huge pages for each newly packed table.
///
/// The flusher holds the store's connection, which API writes wait for, so it runs at the
/// normal priority (as a batch thread, which does not preempt requests when it wakes):
/// at `SCHED_IDLE`, under a load that kept the cores busy, an API write waited for it to
/// be given the CPU to finish its transaction (up to 2.8 s measured, against 0.5 s). A flush
/// is small transactions with a pause between them, so a request never waits for more
/// than one of those.
#[derive(Debug)]
pub struct Maintenance {
    stops: Vec<mpsc::Sender<()>>,
    handles: Vec<JoinHandle<()>>,
}

/// Whether `stopped` said to stop (or its sender is gone) within `every`.
fn stop_within(stopped: &Receiver<()>, every: Duration) -> bool {
    !matches!(stopped.recv_timeout(every), Err(RecvTimeoutError::Timeout))
}

impl Maintenance {
    /// Start the threads, for the counters and metrics of `app`; a `snapshot` of the index is
    /// written there whenever the rules changed, at most every [`SNAPSHOT_EVERY`].
    pub fn spawn(app: Arc<App>, every: Duration, snapshot: Option<PathBuf>) -> Maintenance {
        let mut m = Maintenance {
            stops: Vec::new(),
            handles: Vec::new(),
        };
        let flusher = app.clone();
        m.start("seeother-flush", move |stopped| {
            as_batch_thread();
            let (catalog, unknown) = (&flusher.catalog, &flusher.unknown);
            let mut version = (!catalog.store().is_shared())
                .then(|| catalog.store().data_version().ok())
                .flatten();
            loop {
                let last = stop_within(&stopped, every);
                if let Err(e) = flush(catalog, unknown) {
                    tracing::warn!(error = %e, "could not write hit counters; will retry");
                }
                flusher.metrics.set_unknown_dropped(unknown.dropped());
                // After the counters' commits, and not in an API write's commit.
                if let Err(e) = catalog.store().checkpoint() {
                    tracing::debug!(error = %e, "could not checkpoint the WAL; will retry");
                }
                if last {
                    break;
                }
                if catalog.store().is_shared() {
                    // The feed's thread applies changes as they are notified; this catches
                    // whatever a lost notification left behind.
                    if let Err(e) = catalog.catch_up() {
                        tracing::debug!(error = %e, "could not catch up on the changes");
                    }
                    continue;
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
        });
        if let Some(path) = snapshot {
            let catalog = app.catalog.clone();
            // Reading every rule takes about a second per million (the plain ones are
            // written from the table being served, not packed again): on a thread of its own, so that counters are flushed meanwhile, and a batch thread
            // (not an idle one: it takes the store's connection for a moment, which a
            // thread that may wait indefinitely for a core must not hold).
            m.start("seeother-snapshot", move |stopped| {
                as_batch_thread();
                let mut snapshots = Snapshots::default();
                while !stop_within(&stopped, every) {
                    snapshots.maybe_write(&catalog, &path);
                }
            });
        }
        if app.catalog.store().is_shared() {
            let catalog = app.catalog.clone();
            m.start("seeother-feed", move |stopped| {
                crate::feed::follow(&catalog, &stopped)
            });
        }
        m.start("seeother-huge-pages", move |stopped| {
            yield_to_requests();
            loop {
                // A table packed at start or since: its first tick on this thread.
                // A full `Arc`, not a guard: the call takes a while.
                let index = arc_swap::Guard::into_inner(app.catalog.index());
                let bytes = index.collapse_huge_pages();
                drop(index);
                if bytes > 0 {
                    tracing::debug!(bytes, "huge pages asked for the packed rules");
                }
                if stop_within(&stopped, every) {
                    break;
                }
            }
        });
        m
    }

    fn start(&mut self, name: &str, run: impl FnOnce(Receiver<()>) + Send + 'static) {
        let (stop, stopped) = mpsc::channel::<()>();
        match std::thread::Builder::new()
            .name(name.into())
            .spawn(move || run(stopped))
        {
            Ok(h) => {
                self.stops.push(stop);
                self.handles.push(h);
            }
            Err(e) => tracing::warn!(thread = name, error = %e, "cannot start a background thread"),
        }
    }

    /// Flush one last time and stop the threads.
    pub fn stop(self) {
        for s in &self.stops {
            let _ = s.send(());
        }
        for h in self.handles {
            let _ = h.join();
        }
    }
}

/// The shortest time between two snapshots.
pub const SNAPSHOT_EVERY: Duration = Duration::from_secs(30);

/// When the snapshot was last written, and as of which change.
#[derive(Default)]
struct Snapshots {
    last: Option<(Instant, i64)>,
}

impl Snapshots {
    /// Write a snapshot if the rules changed since the last one, which is old enough, and
    /// the database answers. A snapshot already of the store as it is (read at start) is
    /// kept.
    fn maybe_write(&mut self, catalog: &Catalog, path: &Path) {
        let store = catalog.store();
        let now = if store.is_shared() {
            catalog.seen()
        } else {
            match store.rules_changes() {
                Ok(n) => n,
                Err(_) => return,
            }
        };
        let due = self
            .last
            .is_none_or(|(at, seq)| seq != now && at.elapsed() >= SNAPSHOT_EVERY);
        if !due || !catalog.health().database {
            return;
        }
        if self.last.is_none()
            && let Ok(v) = crate::snapshot::version(path)
            && v.seq == now
            && store.identity().is_ok_and(|id| id == v.store)
        {
            self.last = Some((Instant::now(), now));
            return;
        }
        let started = Instant::now();
        // A full `Arc`, not a guard: writing takes a while.
        let base = arc_swap::Guard::into_inner(catalog.index());
        let written = crate::snapshot::write(store, path, &base);
        drop(base);
        match written {
            Ok(seq) => {
                tracing::debug!(seq, snapshot = %path.display(), took = ?started.elapsed(), "snapshot written");
                self.last = Some((Instant::now(), seq));
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not write the snapshot; will try again");
                // Not at every tick: a disk that is full stays full for a while.
                self.last = Some((Instant::now(), i64::MIN));
            }
        }
    }
}

/// Mark the calling thread as a batch thread (`SCHED_BATCH`, same priority): it gets its
/// share of the CPU, but waking up it does not preempt a thread answering requests.
fn as_batch_thread() {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: a system call about the calling thread (pid 0), with a parameter that
        // lives across the call; no memory is shared.
        if unsafe { libc::sched_setscheduler(0, libc::SCHED_BATCH, &param) } != 0 {
            tracing::debug!("could not make the flush thread a batch thread");
        }
    }
}

/// Run the calling thread only when its core has nothing else to do (`SCHED_IDLE`, or nice 19
/// where that is refused), so that its work never delays a request: measured under full
/// load, nice 19 alone still added a third to the p99 latency. Only for work that holds no
/// lock another thread waits for.
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
            tracing::debug!("could not lower the priority of the huge-pages thread");
        }
    }
}
