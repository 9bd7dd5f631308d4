//! [`Hosts`]: how many requests each host gets at once, how far apart they start, and the
//! pause a rate-limited host asked for. [`crate::Client`] passes every hop through it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use url::Url;

/// The per-host limits shared by every request of a [`super::Checker`].
#[derive(Debug)]
pub(crate) struct Hosts {
    per_host: usize,
    delay: Duration,
    /// Requests in flight across all hosts.
    all: Arc<Semaphore>,
    map: Mutex<HashMap<String, Arc<Host>>>,
}

#[derive(Debug)]
struct Host {
    slots: Arc<Semaphore>,
    /// When the next request to the host may start (the politeness delay).
    next: Mutex<Instant>,
    /// Until when the host asked to be left alone (`Retry-After`).
    paused: Mutex<Instant>,
}

/// A request's place: its host's slot and one of all, given back when dropped.
#[derive(Debug)]
pub(crate) struct Permit {
    _host: Option<OwnedSemaphorePermit>,
    _all: Option<OwnedSemaphorePermit>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Hosts {
    /// At most `per_host` requests at once to a host, their starts `delay` apart, and at most
    /// `all` requests at once in total.
    pub(crate) fn new(per_host: usize, delay: Duration, all: usize) -> Self {
        Self {
            per_host: per_host.max(1),
            delay,
            all: Arc::new(Semaphore::new(all.max(1))),
            map: Mutex::new(HashMap::new()),
        }
    }

    /// The host of `url` as the limits count it: its name or address, any port.
    fn host(&self, url: &Url) -> Arc<Host> {
        let name = url.host_str().unwrap_or("").to_ascii_lowercase();
        let now = Instant::now();
        lock(&self.map)
            .entry(name)
            .or_insert_with(|| {
                Arc::new(Host {
                    slots: Arc::new(Semaphore::new(self.per_host)),
                    next: Mutex::new(now),
                    paused: Mutex::new(now),
                })
            })
            .clone()
    }

    /// Wait for a place to send a request to `url`: a slot of its host, its turn after the
    /// politeness delay and any pause, then one of all.
    pub(crate) async fn enter(&self, url: &Url) -> Permit {
        let host = self.host(url);
        // The semaphores are never closed, so acquiring cannot fail.
        let slot = host.slots.clone().acquire_owned().await.ok();
        let now = Instant::now();
        let turn = {
            let mut next = lock(&host.next);
            let turn = (*next).max(now);
            *next = turn + self.delay;
            turn
        };
        // A timer only when there is something to wait for: Tokio's fire on the next
        // millisecond at the earliest, which would cost every request up to one.
        if turn > now {
            tokio::time::sleep_until(turn).await;
        }
        loop {
            let paused = *lock(&host.paused);
            if paused <= Instant::now() {
                break;
            }
            tokio::time::sleep_until(paused).await;
        }
        let all = self.all.clone().acquire_owned().await.ok();
        Permit {
            _host: slot,
            _all: all,
        }
    }

    /// Send nothing more to the host of `url` before `until`.
    pub(crate) fn pause(&self, url: &Url, until: Instant) {
        let host = self.host(url);
        let mut paused = lock(&host.paused);
        *paused = (*paused).max(until);
    }
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt;

    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("a valid URL")
    }

    #[tokio::test]
    async fn a_free_host_is_entered_at_once() {
        let hosts = Hosts::new(2, Duration::ZERO, 4);
        let a = url("http://127.0.0.1:1/a");
        // No timer when nothing is to be waited for: the place is there on the first poll.
        let first = hosts.enter(&a).now_or_never();
        let second = hosts.enter(&a).now_or_never();
        assert!(first.is_some() && second.is_some());
        // The host's two slots are taken: a third waits until one is given back.
        assert!(hosts.enter(&a).now_or_never().is_none());
        drop(first);
        assert!(hosts.enter(&a).now_or_never().is_some());
    }

    #[tokio::test]
    async fn the_delay_still_spaces_the_starts() {
        let delay = Duration::from_millis(50);
        let hosts = Hosts::new(4, delay, 4);
        let a = url("http://127.0.0.1:1/a");
        let started = Instant::now();
        let _first = hosts
            .enter(&a)
            .now_or_never()
            .expect("the first starts at once");
        assert!(hosts.enter(&a).now_or_never().is_none(), "the second waits");
        let _third = hosts.enter(&a).await;
        // The second took the turn at +50 ms even though it was given up; the third's is +100.
        assert!(started.elapsed() >= 2 * delay, "{:?}", started.elapsed());
        // Another host is not held back.
        let b = url("http://127.0.0.2:1/b");
        assert!(hosts.enter(&b).now_or_never().is_some());
    }

    #[tokio::test]
    async fn a_pause_holds_the_host_back() {
        let hosts = Hosts::new(2, Duration::ZERO, 4);
        let a = url("http://127.0.0.1:1/a");
        let started = Instant::now();
        hosts.pause(&a, started + Duration::from_millis(50));
        assert!(hosts.enter(&a).now_or_never().is_none());
        let _entered = hosts.enter(&a).await;
        assert!(started.elapsed() >= Duration::from_millis(50));
    }
}
