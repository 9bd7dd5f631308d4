//! The admin list's numbered pages in each order, on SQLite and on a private PostgreSQL
//! cluster: by most hits the counted rules come first (most first, then by id) and those never
//! counted after them by id, a page across the two parts included, with a search or not; by
//! last change the newest first.

mod pg_support;

use std::time::Duration;

use seeother_server::rule::RuleSpec;
use seeother_server::store::{Browse, Location, Order, Store};

/// Twelve rules, `/r1` … `/r12` (ids 1 to 12), six of them counted: ids 3 and 7 five times, 2
/// and 11 once, 9 three times, 5 twice.
fn fill(store: &Store) -> Vec<i64> {
    let ids: Vec<i64> = (1..=12)
        .map(|i| {
            let rule = RuleSpec::path(&format!("/r{i}"), &format!("https://example.org/{i}"))
                .validate()
                .unwrap();
            store.create(&rule, "t").unwrap().id.unwrap()
        })
        .collect();
    let hits = [(3, 5), (7, 5), (2, 1), (11, 1), (9, 3), (5, 2)];
    let hits: Vec<(i64, u64)> = hits.iter().map(|&(i, n)| (ids[i - 1], n)).collect();
    store.add_hits(&hits).unwrap();
    ids
}

/// The ids of a page.
fn page(store: &Store, order: Order, search: Option<&str>, offset: u64, limit: u32) -> Vec<i64> {
    let found = store
        .browse(&Browse {
            search: search.map(str::to_owned),
            host: None,
            order,
            offset,
            limit,
        })
        .unwrap();
    found.rules.iter().map(|r| r.id.unwrap()).collect()
}

fn orders_as_expected(store: &Store) {
    let ids = fill(store);
    let id = |i: usize| ids[i - 1];
    // Most hits, then by id; then the rules never counted, by id.
    let by_hits: Vec<i64> = [3, 7, 9, 5, 2, 11, 1, 4, 6, 8, 10, 12]
        .into_iter()
        .map(id)
        .collect();
    assert_eq!(page(store, Order::Hits, None, 0, 50), by_hits);
    for offset in 0..13 {
        for limit in [1, 2, 5] {
            let want: Vec<i64> = by_hits.iter().skip(offset).take(limit).copied().collect();
            assert_eq!(
                page(store, Order::Hits, None, offset as u64, limit as u32),
                want,
                "offset {offset}, limit {limit}"
            );
        }
    }
    // "/r1" is in /r1, /r10, /r11, /r12: counted 11 (once), then 1, 10, 12.
    let searched: Vec<i64> = [11, 1, 10, 12].into_iter().map(id).collect();
    assert_eq!(page(store, Order::Hits, Some("/r1"), 0, 50), searched);
    assert_eq!(page(store, Order::Hits, Some("/r1"), 1, 2), &searched[1..3]);
    // The newest change first.
    std::thread::sleep(Duration::from_millis(1100));
    let rule = RuleSpec::path("/r4", "https://example.org/changed")
        .validate()
        .unwrap();
    store.update(id(4), &rule, "t").unwrap();
    let changed = page(store, Order::Changed, None, 0, 3);
    assert_eq!(changed, [id(4), id(12), id(11)], "then the newest id first");
}

#[test]
fn the_list_orders_on_sqlite() {
    orders_as_expected(&Store::in_memory().unwrap());
}

#[test]
fn the_list_orders_on_postgresql() {
    let pg = pg_support::Cluster::start();
    let url = pg.create_db("seeother");
    let store = Store::connect(&Location::Postgres(url), Duration::from_secs(2)).unwrap();
    orders_as_expected(&store);
}
