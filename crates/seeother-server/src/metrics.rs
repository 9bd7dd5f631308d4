//! Prometheus metrics: requests by status and by rule kind, a latency histogram, the rule
//! count and index reloads. Atomics only; rendered on demand.
//!
//! The counters every request touches are sharded: each thread counts in a shard of its own
//! (on its own cache lines), and rendering adds the shards up. One shared set of atomics
//! would make every core's request pass its cache lines back and forth with every other
//! core's: the first limit to scaling on many cores (`benches/metrics.rs` measures both).

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The statuses counted by name; any other is counted as `other`.
const STATUSES: [u16; 22] = [
    200, 201, 204, 301, 302, 303, 307, 308, 400, 401, 404, 405, 408, 409, 410, 413, 415, 422, 429,
    431, 500, 503,
];

/// Latency bucket bounds, in microseconds.
const BUCKETS_US: [u64; 12] = [
    25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 50_000, 250_000, 1_000_000,
];

/// What answered a request, for the `kind` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handler {
    /// An exact-path rule.
    Path,
    /// A prefix rule.
    Prefix,
    /// A pattern rule.
    Pattern,
    /// No rule matched.
    None,
    /// The admin API, health or metrics.
    Admin,
}

const HANDLERS: [&str; 5] = ["path", "prefix", "pattern", "none", "admin"];

/// Where the admin token was checked, for the `via` label of the authentication counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthVia {
    /// `Authorization: Bearer` on the JSON API.
    Api,
    /// The admin pages' sign-in form.
    SignIn,
}

const AUTH_VIA: [&str; 2] = ["api", "sign-in"];

/// The `state` label of `seeother_targets`: a rule's worst target, coarsely.
const TARGET_STATES: [&str; 4] = ["ok", "redirected", "broken", "skipped"];

/// The counters each request adds to, one set per shard. Aligned to 128 bytes (two cache
/// lines, as adjacent-line prefetchers pair them) so that no two shards share a line.
#[derive(Debug)]
#[repr(align(128))]
struct Shard {
    by_status: [AtomicU64; STATUSES.len() + 1],
    by_handler: [AtomicU64; HANDLERS.len()],
    buckets: [AtomicU64; BUCKETS_US.len() + 1],
    latency_sum_ns: AtomicU64,
    direct: AtomicU64,
    direct_h2: AtomicU64,
}

impl Default for Shard {
    fn default() -> Self {
        Shard {
            by_status: std::array::from_fn(|_| AtomicU64::new(0)),
            by_handler: std::array::from_fn(|_| AtomicU64::new(0)),
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            latency_sum_ns: AtomicU64::new(0),
            direct: AtomicU64::new(0),
            direct_h2: AtomicU64::new(0),
        }
    }
}

/// Shards at most: threads beyond it share (a thread's shard is its number modulo the count).
const MAX_SHARDS: usize = 64;

/// This thread's shard number, given out in turn at a thread's first count.
fn shard_number() -> usize {
    use std::sync::atomic::AtomicUsize;
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static NUMBER: usize = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    NUMBER.with(|n| *n)
}

/// The counters.
#[derive(Debug)]
pub struct Metrics {
    /// As many as the threads that may serve (the CPUs this process may use), at most
    /// [`MAX_SHARDS`].
    shards: Box<[Shard]>,
    handoffs: AtomicU64,
    header_timeouts: AtomicU64,
    refused_per_client: AtomicU64,
    auth_failures: [AtomicU64; AUTH_VIA.len()],
    auth_throttled: [AtomicU64; AUTH_VIA.len()],
    admin_sessions: AtomicU64,
    unknown_dropped: AtomicU64,
    /// Rules by their targets' latest check ([`TARGET_STATES`]); `None` until link checks run.
    targets: std::sync::OnceLock<[AtomicU64; TARGET_STATES.len()]>,
}

impl Default for Metrics {
    fn default() -> Self {
        let shards = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(MAX_SHARDS);
        Metrics {
            shards: (0..shards).map(|_| Shard::default()).collect(),
            handoffs: AtomicU64::new(0),
            header_timeouts: AtomicU64::new(0),
            refused_per_client: AtomicU64::new(0),
            auth_failures: std::array::from_fn(|_| AtomicU64::new(0)),
            auth_throttled: std::array::from_fn(|_| AtomicU64::new(0)),
            admin_sessions: AtomicU64::new(0),
            unknown_dropped: AtomicU64::new(0),
            targets: std::sync::OnceLock::new(),
        }
    }
}

impl Metrics {
    /// This thread's shard.
    #[inline]
    fn shard(&self) -> &Shard {
        &self.shards[shard_number() % self.shards.len()]
    }

    /// A per-request counter added up over the shards.
    fn total(&self, counter: impl Fn(&Shard) -> &AtomicU64) -> u64 {
        self.shards
            .iter()
            .map(|s| counter(s).load(Ordering::Relaxed))
            .sum()
    }

    /// Count one response.
    #[inline]
    pub fn record(&self, status: u16, handler: Handler, elapsed: Duration) {
        let s = STATUSES
            .iter()
            .position(|&c| c == status)
            .unwrap_or(STATUSES.len());
        let shard = self.shard();
        shard.by_status[s].fetch_add(1, Ordering::Relaxed);
        shard.by_handler[handler as usize].fetch_add(1, Ordering::Relaxed);
        let us = elapsed.as_micros() as u64;
        let b = BUCKETS_US
            .iter()
            .position(|&le| us <= le)
            .unwrap_or(BUCKETS_US.len());
        shard.buckets[b].fetch_add(1, Ordering::Relaxed);
        shard
            .latency_sum_ns
            .fetch_add(elapsed.as_nanos() as u64, Ordering::Relaxed);
    }

    /// Count `n` requests answered on the direct HTTP/1.1 path (they are counted by
    /// [`Metrics::record`] too).
    #[inline]
    pub fn count_direct(&self, n: u64) {
        self.shard().direct.fetch_add(n, Ordering::Relaxed);
    }

    /// Count `n` requests answered on the direct HTTP/2 path (they are counted by
    /// [`Metrics::record`] too).
    #[inline]
    pub fn count_direct_h2(&self, n: u64) {
        self.shard().direct_h2.fetch_add(n, Ordering::Relaxed);
    }

    /// Count a connection handed from the direct HTTP/1.1 path to hyper.
    pub fn count_handoff(&self) {
        self.handoffs.fetch_add(1, Ordering::Relaxed);
    }

    /// Count a connection closed because no request came within the header timeout of
    /// accept.
    pub fn count_header_timeout(&self) {
        self.header_timeouts.fetch_add(1, Ordering::Relaxed);
    }

    /// Count a connection closed at accept because its client held its maximum.
    pub fn count_refused_per_client(&self) {
        self.refused_per_client.fetch_add(1, Ordering::Relaxed);
    }

    /// Count a wrong admin token.
    pub fn count_auth_failure(&self, via: AuthVia) {
        self.auth_failures[via as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Count a request refused with 429 because its client failed too often.
    pub fn count_auth_throttled(&self, via: AuthVia) {
        self.auth_throttled[via as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Record how many signed-in admin sessions the server keeps.
    pub fn set_admin_sessions(&self, n: usize) {
        self.admin_sessions.store(n as u64, Ordering::Relaxed);
    }

    /// Set the count of unknown-path requests dropped after failed flushes (see
    /// [`crate::stats::Unknown::dropped`]; the maintenance thread copies it after each flush).
    pub fn set_unknown_dropped(&self, total: u64) {
        self.unknown_dropped.store(total, Ordering::Relaxed);
    }

    /// Record how many rules' latest link checks are in each state (by
    /// `seeother_core::check::State` name), as `seeother_targets`.
    pub fn set_targets(&self, counts: &[(String, u64)]) {
        let mut coarse = [0; TARGET_STATES.len()];
        for (state, n) in counts {
            let i = match seeother_core::check::State::from_name(state) {
                Some(s) if s.is_broken() => 2,
                Some(seeother_core::check::State::Ok) => 0,
                Some(seeother_core::check::State::Skipped) => 3,
                Some(_) => 1,
                None => 2,
            };
            coarse[i] += n;
        }
        let targets = self
            .targets
            .get_or_init(|| std::array::from_fn(|_| AtomicU64::new(0)));
        for (slot, n) in targets.iter().zip(coarse) {
            slot.store(n, Ordering::Relaxed);
        }
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn render(&self, rules: usize, reloads: u64, unknown_overflow: u64) -> String {
        let mut out = String::with_capacity(2048);
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        out.push_str("# HELP seeother_requests_total Responses sent, by status.\n");
        out.push_str("# TYPE seeother_requests_total counter\n");
        for (i, code) in STATUSES.iter().enumerate() {
            let _ = writeln!(
                out,
                "seeother_requests_total{{status=\"{code}\"}} {}",
                self.total(|s| &s.by_status[i])
            );
        }
        let _ = writeln!(
            out,
            "seeother_requests_total{{status=\"other\"}} {}",
            self.total(|s| &s.by_status[STATUSES.len()])
        );
        out.push_str("# HELP seeother_requests_by_kind_total Responses sent, by what answered.\n");
        out.push_str("# TYPE seeother_requests_by_kind_total counter\n");
        for (i, name) in HANDLERS.iter().enumerate() {
            let _ = writeln!(
                out,
                "seeother_requests_by_kind_total{{kind=\"{name}\"}} {}",
                self.total(|s| &s.by_handler[i])
            );
        }
        out.push_str("# HELP seeother_request_duration_seconds Time from request to response.\n");
        out.push_str("# TYPE seeother_request_duration_seconds histogram\n");
        let mut cumulative = 0;
        for (i, le) in BUCKETS_US.iter().enumerate() {
            cumulative += self.total(|s| &s.buckets[i]);
            let _ = writeln!(
                out,
                "seeother_request_duration_seconds_bucket{{le=\"{}\"}} {cumulative}",
                *le as f64 / 1e6
            );
        }
        cumulative += self.total(|s| &s.buckets[BUCKETS_US.len()]);
        let _ = writeln!(
            out,
            "seeother_request_duration_seconds_bucket{{le=\"+Inf\"}} {cumulative}"
        );
        let _ = writeln!(
            out,
            "seeother_request_duration_seconds_sum {}",
            self.total(|s| &s.latency_sum_ns) as f64 / 1e9
        );
        let _ = writeln!(out, "seeother_request_duration_seconds_count {cumulative}");
        out.push_str("# HELP seeother_http1_direct_total Requests answered on the direct HTTP/1.1 path (the others by hyper).\n");
        out.push_str("# TYPE seeother_http1_direct_total counter\n");
        let _ = writeln!(
            out,
            "seeother_http1_direct_total {}",
            self.total(|s| &s.direct)
        );
        out.push_str("# HELP seeother_http2_direct_total Requests answered on the direct HTTP/2 path, in the connection's task (the others by the service, a task each).\n");
        out.push_str("# TYPE seeother_http2_direct_total counter\n");
        let _ = writeln!(
            out,
            "seeother_http2_direct_total {}",
            self.total(|s| &s.direct_h2)
        );
        out.push_str("# HELP seeother_http1_handoffs_total Connections handed from the direct HTTP/1.1 path to hyper at a request it does not answer.\n");
        out.push_str("# TYPE seeother_http1_handoffs_total counter\n");
        let _ = writeln!(out, "seeother_http1_handoffs_total {}", get(&self.handoffs));
        out.push_str("# HELP seeother_header_timeouts_total Connections closed with no request within the header timeout of accept.\n");
        out.push_str("# TYPE seeother_header_timeouts_total counter\n");
        let _ = writeln!(
            out,
            "seeother_header_timeouts_total {}",
            get(&self.header_timeouts)
        );
        out.push_str("# HELP seeother_connections_refused_total Connections closed at accept because their client address held --max-connections-per-client.\n");
        out.push_str("# TYPE seeother_connections_refused_total counter\n");
        let _ = writeln!(
            out,
            "seeother_connections_refused_total {}",
            get(&self.refused_per_client)
        );
        out.push_str("# HELP seeother_rules Rules in the index.\n# TYPE seeother_rules gauge\n");
        let _ = writeln!(out, "seeother_rules {rules}");
        out.push_str(
            "# HELP seeother_index_reloads_total Index changes and rebuilds since start.\n",
        );
        out.push_str("# TYPE seeother_index_reloads_total counter\n");
        let _ = writeln!(out, "seeother_index_reloads_total {reloads}");
        out.push_str("# HELP seeother_unknown_uncounted_total Unknown-path requests not counted by path (too many distinct paths).\n");
        out.push_str("# TYPE seeother_unknown_uncounted_total counter\n");
        let _ = writeln!(out, "seeother_unknown_uncounted_total {unknown_overflow}");
        out.push_str("# HELP seeother_auth_failures_total Wrong admin tokens given, by where.\n");
        out.push_str("# TYPE seeother_auth_failures_total counter\n");
        for (i, via) in AUTH_VIA.iter().enumerate() {
            let _ = writeln!(
                out,
                "seeother_auth_failures_total{{via=\"{via}\"}} {}",
                get(&self.auth_failures[i])
            );
        }
        out.push_str("# HELP seeother_auth_throttled_total Requests refused with 429 because their client gave too many wrong admin tokens, by where.\n");
        out.push_str("# TYPE seeother_auth_throttled_total counter\n");
        for (i, via) in AUTH_VIA.iter().enumerate() {
            let _ = writeln!(
                out,
                "seeother_auth_throttled_total{{via=\"{via}\"}} {}",
                get(&self.auth_throttled[i])
            );
        }
        out.push_str("# HELP seeother_admin_sessions Signed-in admin sessions kept (the server keeps none for visitors who have not signed in).\n");
        out.push_str("# TYPE seeother_admin_sessions gauge\n");
        let _ = writeln!(out, "seeother_admin_sessions {}", get(&self.admin_sessions));
        out.push_str("# HELP seeother_unknown_dropped_total Unknown-path requests counted, then dropped: their flush to the store failed and the backlog was full.\n");
        out.push_str("# TYPE seeother_unknown_dropped_total counter\n");
        let _ = writeln!(
            out,
            "seeother_unknown_dropped_total {}",
            get(&self.unknown_dropped)
        );
        if let Some(targets) = self.targets.get() {
            out.push_str("# HELP seeother_targets Rules by their targets' latest link check (the worst target): ok, redirected, broken, or skipped (nothing to check).\n");
            out.push_str("# TYPE seeother_targets gauge\n");
            for (state, n) in TARGET_STATES.iter().zip(targets) {
                let _ = writeln!(out, "seeother_targets{{state=\"{state}\"}} {}", get(n));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str, series: &str) -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no {series} in\n{text}"))
    }

    #[test]
    fn counts_from_many_threads_add_up_whatever_their_shards() {
        let m = Metrics::default();
        std::thread::scope(|scope| {
            for t in 0..(MAX_SHARDS + 3) {
                let m = &m;
                scope.spawn(move || {
                    for _ in 0..100 {
                        m.record(303, Handler::Path, Duration::from_micros(40));
                    }
                    m.record(404, Handler::None, Duration::from_millis(2));
                    m.count_direct(t as u64);
                });
            }
        });
        let text = m.render(0, 0, 0);
        let threads = (MAX_SHARDS + 3) as u64;
        assert_eq!(
            value(&text, "seeother_requests_total{status=\"303\"}"),
            100 * threads
        );
        assert_eq!(
            value(&text, "seeother_requests_total{status=\"404\"}"),
            threads
        );
        assert_eq!(
            value(&text, "seeother_requests_by_kind_total{kind=\"path\"}"),
            100 * threads
        );
        // 40 µs falls in the 50 µs bucket, 2 ms in the 2.5 ms one; buckets are cumulative.
        assert_eq!(
            value(
                &text,
                "seeother_request_duration_seconds_bucket{le=\"0.000025\"}"
            ),
            0
        );
        assert_eq!(
            value(
                &text,
                "seeother_request_duration_seconds_bucket{le=\"0.00005\"}"
            ),
            100 * threads
        );
        assert_eq!(
            value(
                &text,
                "seeother_request_duration_seconds_bucket{le=\"+Inf\"}"
            ),
            101 * threads
        );
        assert_eq!(
            value(&text, "seeother_http1_direct_total"),
            (0..threads).sum::<u64>()
        );
    }
}
