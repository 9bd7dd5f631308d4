//! The admin list's pages in each order, on SQLite and on a private PostgreSQL cluster: by
//! most hits the counted rules come first (most first, then by id) and those never counted
//! after them by id, a page across the two parts included, with a search or not; by last
//! change the newest first. Walked by cursor forward from the first page and backward from
//! the last over a few thousand rules with ties in hits and in change time, every rule is
//! seen once in its place; a typed page number reads by offset; the cursors at the ends of
//! the number line read nothing amiss.

mod pg_support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use seeother_server::rule::RuleSpec;
use seeother_server::store::{At, Browse, Browsed, Cursor, Location, Matching, Order, Store};

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

fn browse(store: &Store, order: Order, search: Option<&str>, at: At, limit: u32) -> Browsed {
    store
        .browse(&Browse {
            search: search.map(str::to_owned),
            host: None,
            order,
            at,
            limit,
        })
        .unwrap()
}

fn ids(page: &Browsed) -> Vec<i64> {
    page.rules.iter().map(|r| r.id.unwrap()).collect()
}

/// The ids of a page read by offset.
fn page(store: &Store, order: Order, search: Option<&str>, offset: u64, limit: u32) -> Vec<i64> {
    ids(&browse(store, order, search, At::Offset(offset), limit))
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
    let found = browse(store, Order::Hits, Some("/r1"), At::Start, 50);
    assert_eq!(found.matching, Matching::Exactly(4));
    assert_eq!(
        browse(store, Order::Hits, None, At::Start, 50).matching,
        Matching::All,
        "without a search the store counts nothing"
    );
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

/// Rules in the walks.
const MANY: usize = 2_400;

/// Wait for the start of the next second of the clock (the stores' change times are whole
/// seconds), so that what follows shares one change time.
fn next_second() {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    std::thread::sleep(Duration::from_nanos(
        1_000_000_000 - u64::from(since.subsec_nanos()),
    ));
}

/// The ids of the rules in each order, as the store should walk them, for a search.
struct Expected {
    by_id: Vec<i64>,
    by_hits: Vec<i64>,
    by_change: Vec<i64>,
}

/// What [`fill_many`] made: the ids, the hits given, the rules changed first and second.
type Filled = (Vec<i64>, Vec<(i64, u64)>, Vec<i64>, Vec<i64>);

/// `MANY` rules, `/p/N` (every third `/q/N`), imported in one second; hits 1 to 7 on four in
/// five of them (many ties), none on the rest; then 60 changed in one later second, and 40 in
/// a second after it.
fn fill_many(store: &Store) -> Filled {
    let rules: Vec<RuleSpec> = (0..MANY)
        .map(|i| {
            let dir = if i % 3 == 0 { "q" } else { "p" };
            RuleSpec::path(&format!("/{dir}/{i}"), &format!("https://example.org/{i}"))
                .validate()
                .unwrap()
        })
        .collect();
    next_second();
    store.import(&rules, "t").unwrap();
    let ids: Vec<i64> = {
        let mut all = Vec::new();
        let mut at = At::Start;
        loop {
            let page = browse(store, Order::Id, None, at, 1000);
            all.extend(self::ids(&page));
            match (page.after, page.last) {
                (true, Some(c)) => at = At::After(c),
                _ => break,
            }
        }
        all
    };
    assert_eq!(ids.len(), MANY);
    let hits: Vec<(i64, u64)> = ids
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 5 != 0)
        .map(|(i, &id)| (id, (i % 7) as u64 + 1))
        .collect();
    store.add_hits(&hits).unwrap();
    let change = |picked: &[i64]| {
        next_second();
        for &id in picked {
            let mut rule = store.get(id).unwrap().unwrap();
            rule.to = format!("https://example.org/changed/{id}");
            let rule = rule.without_server_fields().validate().unwrap();
            store.update(id, &rule, "t").unwrap();
        }
    };
    let first: Vec<i64> = ids.iter().step_by(37).take(60).copied().collect();
    change(&first);
    let second: Vec<i64> = ids.iter().skip(5).step_by(53).take(40).copied().collect();
    change(&second);
    (ids, hits, first, second)
}

fn expected(store: &Store, (ids, hits, first, second): &Filled, search: Option<&str>) -> Expected {
    let matches = |id: &i64| {
        search.is_none_or(|s| {
            let rule = store.get(*id).unwrap().unwrap();
            rule.matcher().contains(s) || rule.to.contains(s)
        })
    };
    let by_id: Vec<i64> = ids.iter().copied().filter(matches).collect();
    let hits_of = |id: i64| hits.iter().find(|(i, _)| *i == id).map_or(0, |(_, n)| *n);
    let mut by_hits = by_id.clone();
    by_hits.sort_by_key(|&id| (std::cmp::Reverse(hits_of(id)), id));
    // The second batch (newest id first), the first, then the import.
    let batch = |id: i64| {
        if second.contains(&id) {
            0
        } else if first.contains(&id) && !second.contains(&id) {
            1
        } else {
            2
        }
    };
    let mut by_change = by_id.clone();
    by_change.sort_by_key(|&id| (batch(id), std::cmp::Reverse(id)));
    Expected {
        by_id,
        by_hits,
        by_change,
    }
}

/// Every page forward from the first by the "after" cursor, and backward from the last by
/// the "before" cursor.
fn walks(store: &Store, order: Order, search: Option<&str>, limit: u32) -> [Vec<Vec<i64>>; 2] {
    let mut forward = Vec::new();
    let mut at = At::Start;
    loop {
        let page = browse(store, order, search, at, limit);
        assert_eq!(page.before, at != At::Start, "{order:?} {search:?}: before");
        assert!(page.rules.len() == limit as usize || !page.after);
        forward.push(ids(&page));
        match (page.after, page.last) {
            (true, Some(c)) => at = At::After(c),
            _ => break,
        }
        assert!(forward.len() <= MANY, "the walk forward loops");
    }
    let mut backward = Vec::new();
    let mut at = At::End;
    loop {
        let page = browse(store, order, search, at, limit);
        assert_eq!(page.after, at != At::End, "{order:?} {search:?}: after");
        backward.push(ids(&page));
        match (page.before, page.first) {
            (true, Some(c)) => at = At::Before(c),
            _ => break,
        }
        assert!(backward.len() <= MANY, "the walk backward loops");
    }
    backward.reverse();
    [forward, backward]
}

fn walks_see_every_rule_once_in_order(store: &Store) {
    let filled = fill_many(store);
    for search in [None, Some("/q/"), Some("/q/1")] {
        let want = expected(store, &filled, search);
        for (order, want) in [
            (Order::Id, &want.by_id),
            (Order::Hits, &want.by_hits),
            (Order::Changed, &want.by_change),
        ] {
            for limit in [50, 7] {
                let [forward, backward] = walks(store, order, search, limit);
                let seen: Vec<i64> = forward.concat();
                assert_eq!(
                    &seen, want,
                    "{order:?}, {search:?}, {limit} a page, forward"
                );
                assert_eq!(
                    &backward.concat(),
                    want,
                    "{order:?}, {search:?}, {limit} a page, backward"
                );
                if search.is_some() {
                    // Counted: the last page holds what is left, so the pages are the same
                    // pages from either end.
                    assert_eq!(forward, backward, "{order:?}, {search:?}, {limit} a page");
                }
                // A typed page number: by offset, the same rules.
                let offset = (want.len() / 2) as u64;
                assert_eq!(
                    page(store, order, search, offset, limit),
                    want.iter()
                        .skip(offset as usize)
                        .take(limit as usize)
                        .copied()
                        .collect::<Vec<_>>(),
                    "{order:?}, {search:?}, offset {offset}"
                );
            }
        }
    }
    // A search is counted to 10,000 at most (here: exactly).
    let q = browse(store, Order::Id, Some("/q/"), At::Start, 50);
    assert_eq!(q.matching, Matching::Exactly(MANY.div_ceil(3) as u64));
    // Cursors at the ends of the number line (a hand-made link) read a page or none, never an
    // error: every order, both ways.
    for order in [Order::Id, Order::Hits, Order::Changed] {
        for key in [i64::MIN, -1, 0, 1, 3, i64::MAX] {
            for id in [i64::MIN, 0, 1, i64::MAX] {
                let c = Cursor { key, id };
                for at in [At::After(c), At::Before(c)] {
                    let page = browse(store, order, None, at, 50);
                    assert!(page.rules.len() <= 50);
                }
            }
        }
        assert!(
            browse(store, order, None, At::Offset(u64::MAX), 50)
                .rules
                .is_empty()
        );
    }
}

#[test]
fn walks_by_cursor_on_sqlite() {
    walks_see_every_rule_once_in_order(&Store::in_memory().unwrap());
}

#[test]
fn walks_by_cursor_on_postgresql() {
    let pg = pg_support::Cluster::start();
    let url = pg.create_db("seeother");
    let store = Store::connect(&Location::Postgres(url), Duration::from_secs(2)).unwrap();
    walks_see_every_rule_once_in_order(&store);
}

#[test]
fn a_search_is_counted_up_to_a_bound() {
    let store = Store::in_memory().unwrap();
    let rules: Vec<RuleSpec> = (0..10_050)
        .map(|i| {
            RuleSpec::path(&format!("/m/{i}"), "https://example.org/")
                .validate()
                .unwrap()
        })
        .collect();
    store.import(&rules, "t").unwrap();
    let page = browse(&store, Order::Id, Some("/m/"), At::End, 50);
    assert_eq!(page.matching, Matching::MoreThan(10_000));
    assert_eq!(page.rules.len(), 50, "the last page: the last 50");
    assert!(!page.after && page.before);
    let page = browse(&store, Order::Id, Some("/m/1000"), At::End, 50);
    assert_eq!(
        page.matching,
        Matching::Exactly(11),
        "/m/1000, /m/10000 … /m/10009"
    );
    assert_eq!(page.rules.len(), 11);
}
