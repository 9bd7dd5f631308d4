//! The latest link check per rule in the store, on SQLite and on PostgreSQL: replaced by the
//! next one, filtered by state, paged, counted, and forgotten with its rule.

mod pg_support;

use std::time::Duration;

use pg_support::Cluster;
use seeother_server::rule::RuleSpec;
use seeother_server::store::{CheckRow, Location, Store};

fn check(rule_id: i64, at: i64, state: &str) -> CheckRow {
    CheckRow {
        rule_id,
        checked_at: at,
        state: state.to_owned(),
        result: format!("[{{\"state\":\"{state}\"}}]"),
    }
}

fn all(store: &Store) {
    let id = |path: &str| {
        store
            .create(
                &RuleSpec::path(path, "https://example.org/")
                    .validate()
                    .unwrap(),
                "t",
            )
            .unwrap()
            .id
            .unwrap()
    };
    let (a, b, c) = (id("/a"), id("/b"), id("/c"));
    assert_eq!(store.rule_check(a).unwrap(), None);
    store.record_check(&check(a, 100, "ok")).unwrap();
    store.record_check(&check(b, 100, "client_error")).unwrap();
    store.record_check(&check(c, 100, "timeout")).unwrap();
    // The next check of a replaces its last.
    store.record_check(&check(a, 200, "server_error")).unwrap();
    assert_eq!(
        store.rule_check(a).unwrap(),
        Some(check(a, 200, "server_error"))
    );

    let ids = |rows: Vec<CheckRow>| rows.into_iter().map(|r| r.rule_id).collect::<Vec<_>>();
    assert_eq!(ids(store.checks(&[], 0, 10).unwrap()), [a, b, c]);
    assert_eq!(
        ids(store.checks(&["client_error", "timeout"], 0, 10).unwrap()),
        [b, c]
    );
    assert_eq!(
        ids(store.checks(&["ok"], 0, 10).unwrap()),
        Vec::<i64>::new()
    );
    assert_eq!(ids(store.checks(&[], a, 1).unwrap()), [b]);
    // A state's name inside another's is not a match.
    assert_eq!(
        ids(store.checks(&["error"], 0, 10).unwrap()),
        Vec::<i64>::new()
    );
    assert_eq!(
        store.check_counts().unwrap(),
        [
            ("client_error".to_owned(), 1),
            ("server_error".to_owned(), 1),
            ("timeout".to_owned(), 1)
        ]
    );

    // A deleted rule's check is neither returned nor counted.
    store.delete(b, false, "t").unwrap();
    assert_eq!(store.rule_check(b).unwrap(), None);
    assert_eq!(ids(store.checks(&[], 0, 10).unwrap()), [a, c]);
    assert_eq!(store.check_counts().unwrap().len(), 2);
}

#[test]
fn on_sqlite() {
    all(&Store::in_memory().unwrap());
}

#[test]
fn on_postgresql_shared_by_two_connections() {
    let pg = Cluster::start();
    let url = pg.create_db("checks");
    let connect =
        || Store::connect(&Location::Postgres(url.clone()), Duration::from_secs(2)).unwrap();
    let (a, b) = (connect(), connect());
    all(&a);
    // What one node stored, another reads.
    assert_eq!(b.check_counts().unwrap().len(), 2);
}
