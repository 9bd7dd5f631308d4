//! Counters of paths that match no rule stay bounded: in memory (per flush window, and after
//! a failed flush), in the store (rows, path length, retention), and a large flush lets an API
//! write in between its small transactions.

mod temp_dir;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use temp_dir::TempDir;

use rusqlite::Connection;
use seeother_server::catalog::Catalog;
use seeother_server::rule::RuleSpec;
use seeother_server::stats::{MAX_UNKNOWN_PATH_BYTES, Unknown, UnknownLimits, flush};
use seeother_server::store::{Store, UnknownRetention};

fn limits(max_paths: usize, max_rows: u64) -> UnknownLimits {
    UnknownLimits {
        max_paths,
        store: UnknownRetention {
            max_rows,
            max_age: Some(Duration::from_secs(86_400)),
        },
        ..UnknownLimits::default()
    }
}

fn catalog(db: &std::path::Path, busy: Duration) -> Catalog {
    Catalog::open(Arc::new(Store::open_with(db, busy).unwrap())).unwrap()
}

/// (rows, longest path in bytes) of `unknown_paths`, read with a connection of its own.
fn rows(db: &std::path::Path) -> (i64, i64) {
    Connection::open(db)
        .unwrap()
        .query_row(
            "SELECT count(*), coalesce(max(length(CAST(path AS BLOB))), 0) FROM unknown_paths",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
}

#[test]
fn the_store_keeps_at_most_the_row_cap_and_short_paths_and_the_most_asked_for() {
    let dir = TempDir::new("cap");
    let c = catalog(&dir.db(), Duration::from_secs(5));
    let unknown = Unknown::new(limits(1_000, 500));
    let long = "x".repeat(2_000);
    for round in 0..3 {
        for _ in 0..50 {
            unknown.record("h.example", "/popular");
        }
        for i in 0..1_000 {
            unknown.record("h.example", &format!("/scan/{round}/{i}/{long}"));
        }
        assert!(unknown.pending() <= 1_000, "{}", unknown.pending());
        flush(&c, &unknown).unwrap();
        let (n, longest) = rows(&dir.db());
        assert!(n <= 500, "round {round}: {n} rows kept, cap 500");
        assert!(
            longest as usize <= MAX_UNKNOWN_PATH_BYTES,
            "{longest} bytes"
        );
    }
    let top = c.store().unknown(1).unwrap();
    assert_eq!(
        (top[0].path.as_str(), top[0].hits),
        ("/popular", 150),
        "the most asked-for path is kept"
    );
    assert!(
        unknown.overflow() > 0,
        "the 51st path of a window is not counted by path"
    );
}

#[test]
fn rows_unseen_for_longer_than_the_retention_are_deleted() {
    let dir = TempDir::new("retention");
    let c = catalog(&dir.db(), Duration::from_secs(5));
    Connection::open(dir.db())
        .unwrap()
        .execute(
            "INSERT INTO unknown_paths (host, path, hits, last_seen) VALUES ('', '/old', 9, 1000)",
            [],
        )
        .unwrap();
    let unknown = Unknown::new(limits(10, 10));
    unknown.record("", "/new");
    flush(&c, &unknown).unwrap();
    let paths: Vec<String> = c
        .store()
        .unknown(10)
        .unwrap()
        .into_iter()
        .map(|u| u.path)
        .collect();
    assert_eq!(
        paths,
        ["/new"],
        "a path last seen in 1970 is past a day's retention"
    );
}

#[test]
fn a_flush_failing_on_a_locked_database_keeps_the_backlog_bounded_and_counts_what_it_drops() {
    const CAP: usize = 100;
    let dir = TempDir::new("locked");
    let c = catalog(&dir.db(), Duration::from_millis(200));
    let unknown = Arc::new(Unknown::new(limits(CAP, 10_000)));
    let holder = Connection::open(dir.db()).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    // Requests keep coming while the flushes fail, each for a new path.
    let stop = Arc::new(AtomicBool::new(false));
    let most = Arc::new(AtomicUsize::new(0));
    let scanner = {
        let (unknown, stop, most) = (unknown.clone(), stop.clone(), most.clone());
        std::thread::spawn(move || {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                unknown.record("h.example", &format!("/scan/{i}"));
                most.fetch_max(unknown.pending(), Ordering::Relaxed);
                i += 1;
                if i % 64 == 0 {
                    std::thread::yield_now();
                }
            }
        })
    };
    for round in 0..5 {
        let deadline = Instant::now() + Duration::from_secs(10);
        while unknown.pending() == 0 && Instant::now() < deadline {
            std::thread::yield_now();
        }
        let e = flush(&c, &unknown).expect_err("the database is locked");
        assert!(e.is_busy(), "round {round}: {e}");
        assert!(
            unknown.pending() <= CAP,
            "round {round}: {}",
            unknown.pending()
        );
    }
    stop.store(true, Ordering::Relaxed);
    scanner.join().unwrap();
    assert!(
        most.load(Ordering::Relaxed) <= CAP,
        "backlog reached {} paths, cap {CAP}",
        most.load(Ordering::Relaxed)
    );
    assert!(unknown.dropped() > 0, "what was given up is counted");
    holder.execute_batch("COMMIT").unwrap();
    flush(&c, &unknown).unwrap();
    assert!(rows(&dir.db()).0 as usize <= CAP);
}

#[test]
fn an_api_write_goes_between_the_transactions_of_a_large_flush() {
    const PATHS: usize = 20_000;
    let dir = TempDir::new("between");
    let c = Arc::new(catalog(&dir.db(), Duration::from_secs(5)));
    let unknown = Arc::new(Unknown::new(limits(PATHS, PATHS as u64)));
    for i in 0..PATHS {
        unknown.record("h.example", &format!("/scan/{i:05}/{}", "y".repeat(100)));
    }
    let order = Arc::new(AtomicUsize::new(0));
    let flusher = {
        let (c, unknown, order) = (c.clone(), unknown.clone(), order.clone());
        std::thread::spawn(move || {
            flush(&c, &unknown).unwrap();
            order.fetch_add(1, Ordering::SeqCst)
        })
    };
    // Once the flush has committed a first part, the write comes.
    let deadline = Instant::now() + Duration::from_secs(30);
    while rows(&dir.db()).0 == 0 && Instant::now() < deadline {
        std::thread::yield_now();
    }
    let started = Instant::now();
    c.create(RuleSpec::path("/during", "https://example.org/x"), "t")
        .unwrap();
    let took = started.elapsed();
    let create_rank = order.fetch_add(1, Ordering::SeqCst);
    let flush_rank = flusher.join().unwrap();
    println!("create during a flush of {PATHS} paths: {took:?}");
    assert!(
        create_rank < flush_rank,
        "the create waited for the whole flush instead of one of its transactions"
    );
    assert_eq!(
        rows(&dir.db()).0 as usize,
        PATHS,
        "and the flush wrote everything"
    );
}
