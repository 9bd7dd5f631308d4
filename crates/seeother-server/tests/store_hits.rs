//! Hit counters in their own table: they add up over flushes, survive reopening, move over
//! from a version-1 database, go with a deleted rule and stay with a tombstone.

mod temp_dir;

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use temp_dir::TempDir;

use rusqlite::Connection;
use seeother_server::catalog::Catalog;
use seeother_server::rule::RuleSpec;
use seeother_server::stats::{Unknown, flush};
use seeother_server::store::Store;

fn rule(path: &str) -> RuleSpec {
    RuleSpec::path(path, "https://example.org/x")
        .validate()
        .unwrap()
}

/// The `rule_hits` rows, read with a connection of its own: (rule id, hits), by id.
fn counter_rows(db: &Path) -> Vec<(i64, i64)> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT rule_id, hits FROM rule_hits ORDER BY rule_id")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn hits(store: &Store, id: i64) -> Option<u64> {
    store.get(id).unwrap().unwrap().hits
}

#[test]
fn counts_add_up_over_flushes_and_survive_reopening() {
    let dir = TempDir::new("flushes");
    let db = dir.join("s.db");
    {
        let catalog = Catalog::open(Arc::new(Store::open(&db).unwrap())).unwrap();
        let a = catalog.create(rule("/a"), "t").unwrap().id.unwrap();
        let b = catalog.create(rule("/b"), "t").unwrap().id.unwrap();
        let c = catalog.create(rule("/c"), "t").unwrap().id.unwrap();
        let unknown = Unknown::default();
        for (round, (na, nb)) in [(3, 0), (2, 5), (1, 1)].into_iter().enumerate() {
            for _ in 0..na {
                catalog.index().lookup(None, "/a").unwrap().rule.hit();
            }
            for _ in 0..nb {
                catalog.index().lookup(None, "/b").unwrap().rule.hit();
            }
            flush(&catalog, &unknown).unwrap();
            let store = catalog.store();
            match round {
                0 => assert_eq!((hits(store, a), hits(store, b)), (Some(3), Some(0))),
                1 => assert_eq!((hits(store, a), hits(store, b)), (Some(5), Some(5))),
                _ => assert_eq!((hits(store, a), hits(store, b)), (Some(6), Some(6))),
            }
        }
        // Straight to the store, too: several batches, one id given twice in one.
        catalog
            .store()
            .add_hits(&[(a, 10), (c, 1), (c, 2)])
            .unwrap();
        catalog.store().add_hits(&[(c, 4)]).unwrap();
        assert_eq!(hits(catalog.store(), c), Some(7));
        // Listing and streaming every rule read the same counters.
        let page = catalog.list(&Default::default()).unwrap();
        let listed: Vec<_> = page.rules.iter().map(|r| r.hits).collect();
        assert_eq!(listed, [Some(16), Some(6), Some(7)]);
        let mut streamed = Vec::new();
        catalog
            .store()
            .for_each_rule(|r| streamed.push(r.hits))
            .unwrap();
        assert_eq!(streamed, listed);
    }
    let store = Store::open(&db).unwrap();
    assert_eq!(
        (hits(&store, 1), hits(&store, 2), hits(&store, 3)),
        (Some(16), Some(6), Some(7))
    );
    assert_eq!(counter_rows(&db), [(1, 16), (2, 6), (3, 7)]);
}

#[test]
fn a_deleted_rule_has_no_counter_and_a_tombstone_keeps_its_own() {
    let dir = TempDir::new("delete");
    let db = dir.join("s.db");
    let store = Store::open(&db).unwrap();
    let a = store.create(&rule("/a"), "t").unwrap().id.unwrap();
    let b = store.create(&rule("/b"), "t").unwrap().id.unwrap();
    let c = store.create(&rule("/c"), "t").unwrap().id.unwrap();
    store.add_hits(&[(a, 2), (b, 3), (c, 4)]).unwrap();

    // Deleting a rule deletes its counter.
    store.delete(c, false, "t").unwrap();
    assert_eq!(counter_rows(&db), [(a, 2), (b, 3)]);
    // A flush that still counts a rule deleted meanwhile leaves no row for it.
    store.delete(b, false, "t").unwrap();
    store.add_hits(&[(a, 1), (b, 5), (c, 6), (99, 7)]).unwrap();
    assert_eq!(counter_rows(&db), [(a, 3)]);
    // The id SQLite hands out again (the largest was deleted) starts at zero.
    let again = store.create(&rule("/d"), "t").unwrap().id.unwrap();
    assert_eq!(again, b, "SQLite reuses the largest id");
    assert_eq!(hits(&store, again), Some(0));

    // A tombstone is the same rule answering 410: it keeps its counter.
    let gone = store.delete(a, true, "t").unwrap().new.unwrap();
    assert!(gone.gone);
    assert_eq!(gone.hits, Some(3));
    assert_eq!(hits(&store, a), Some(3));
    store.add_hits(&[(a, 1)]).unwrap();
    assert_eq!(hits(&store, a), Some(4));
    // An update keeps it too.
    store
        .update(
            a,
            &RuleSpec::path("/a", "/elsewhere").validate().unwrap(),
            "t",
        )
        .unwrap();
    assert_eq!(hits(&store, a), Some(4));
    assert_eq!(counter_rows(&db), [(a, 4)]);
}

#[test]
fn migrating_a_version_1_database_moves_its_counters() {
    let dir = TempDir::new("migrate");
    let db = dir.join("v1.db");
    {
        // A database as version 1 wrote it: counters in `rules.hits`.
        let conn = Connection::open(&db).unwrap();
        conn.execute_batch(include_str!("../migrations/0001_init.sql"))
            .unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        for (path, hits) in [("/a", 5), ("/b", 0), ("/c", 7)] {
            conn.execute(
                "INSERT INTO rules (kind, matcher, target, hits, created_at, updated_at)
                 VALUES ('path', ?1, 'https://example.org/', ?2, 1, 1)",
                rusqlite::params![path, hits],
            )
            .unwrap();
        }
    }
    let store = Store::open(&db).unwrap();
    assert_eq!(store.schema_version().unwrap(), 10);
    assert_eq!(
        (hits(&store, 1), hits(&store, 2), hits(&store, 3)),
        (Some(5), Some(0), Some(7))
    );
    assert_eq!(
        counter_rows(&db),
        [(1, 5), (3, 7)],
        "only non-zero counters move"
    );
    let conn = Connection::open(&db).unwrap();
    let columns: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info('rules')")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(!columns.iter().any(|c| c == "hits"), "{columns:?}");
    assert!(columns.iter().any(|c| c == "target"), "{columns:?}");
    // Counting goes on from the moved values.
    store.add_hits(&[(1, 1), (2, 2)]).unwrap();
    assert_eq!((hits(&store, 1), hits(&store, 2)), (Some(6), Some(2)));
}

/// Prints how long one flush of 86,000 distinct counters takes against a copy of the store
/// named by `SEEOTHER_BENCH_STORE` (e.g. one filled with 1,000,000 rules by
/// `bench/server/generate.py` and `seeother import`). The original is not touched.
///
/// ```sh
/// SEEOTHER_BENCH_STORE=PATH cargo test --release -p seeother-server --test store_hits \
///     -- --ignored --nocapture
/// ```
#[test]
#[ignore = "a measurement: needs SEEOTHER_BENCH_STORE"]
fn flush_of_86000_counters_timing() {
    let Some(source) = std::env::var_os("SEEOTHER_BENCH_STORE") else {
        eprintln!("set SEEOTHER_BENCH_STORE to a store file to measure");
        return;
    };
    let dir = TempDir::new("bench");
    let db = dir.join("bench.db");
    std::fs::copy(&source, &db).unwrap();
    let started = Instant::now();
    let store = Store::open(&db).unwrap();
    println!("open (and migrate) {:?}", started.elapsed());
    let rules = store.count().unwrap() as i64;
    let mut ids = Vec::new();
    store.for_each_row(|r| ids.push(r.id)).unwrap();
    // 86,000 distinct rules, spread over the whole id range, in id order as a flush sends them.
    let step = (rules / 86_000).max(1) as usize;
    let batch: Vec<(i64, u64)> = ids
        .iter()
        .step_by(step)
        .take(86_000)
        .map(|&id| (id, 1))
        .collect();
    println!("{rules} rules; a flush of {} counters:", batch.len());
    for round in 1..=3 {
        let started = Instant::now();
        store.add_hits(&batch).unwrap();
        println!("  flush {round}: {:?}", started.elapsed());
    }
    let first = batch[0].0;
    assert_eq!(
        store.get(first).unwrap().unwrap().hits.map(|h| h >= 3),
        Some(true)
    );
}
