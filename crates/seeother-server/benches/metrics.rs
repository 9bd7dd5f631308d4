//! Counting a request in the metrics from every core at once: the sharded counters
//! (`Metrics::record`, one shard per thread) against one shared set of atomics, the layout
//! they replaced. With one thread the two cost the same; with a thread per core, a shared
//! counter's cache line travels between the cores on every request.
//!
//! Run with `cargo bench -p seeother-server --bench metrics` (add `-- --quick` for a short
//! pass). On a machine with more cores the gap is what the design is for.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use seeother_server::metrics::{Handler, Metrics};

/// The counters a request touched before sharding: by status, by kind, the latency bucket
/// and sum, all shared.
#[derive(Default)]
struct Shared {
    by_status: [AtomicU64; 23],
    by_handler: [AtomicU64; 5],
    buckets: [AtomicU64; 13],
    latency_sum_ns: AtomicU64,
}

impl Shared {
    fn record(&self, status: usize, handler: usize, bucket: usize, elapsed: Duration) {
        self.by_status[status].fetch_add(1, Ordering::Relaxed);
        self.by_handler[handler].fetch_add(1, Ordering::Relaxed);
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.latency_sum_ns
            .fetch_add(elapsed.as_nanos() as u64, Ordering::Relaxed);
    }
}

/// The wall time for each of `threads` threads to count `iters` requests at once.
fn in_parallel(threads: usize, iters: u64, count: impl Fn() + Sync) -> Duration {
    let start = std::sync::Barrier::new(threads);
    let took = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    start.wait();
                    let t = Instant::now();
                    for _ in 0..iters {
                        count();
                    }
                    t.elapsed()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).max()
    });
    took.unwrap_or_default()
}

fn counting(c: &mut Criterion) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let elapsed = Duration::from_micros(40);
    let sharded = Metrics::default();
    let shared = Shared::default();
    let mut group = c.benchmark_group("metrics");
    for threads in [1, cores] {
        group.bench_function(format!("sharded, {threads} threads"), |b| {
            b.iter_custom(|iters| {
                in_parallel(threads, iters, || {
                    sharded.record(black_box(303), Handler::Path, elapsed)
                })
            })
        });
        group.bench_function(format!("one shared set, {threads} threads"), |b| {
            b.iter_custom(|iters| {
                in_parallel(threads, iters, || {
                    shared.record(black_box(5), 0, 1, elapsed)
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, counting);
criterion_main!(benches);
