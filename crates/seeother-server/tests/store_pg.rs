//! The store on a private PostgreSQL cluster: the same operations as on SQLite, migrations
//! under an advisory lock, a newer schema refused, the change sequence without gaps, and
//! the catalogs of two nodes kept in step by catching up on it.

mod pg_support;

use std::sync::Arc;
use std::time::Duration;

use pg_support::Cluster;
use seeother_server::catalog::{Catalog, CatalogError};
use seeother_server::rule::RuleSpec;
use seeother_server::store::{
    AppliedFile, ListQuery, Location, Store, StoreError, UnknownRetention,
};

fn connect(url: &str) -> Store {
    Store::connect(&Location::Postgres(url.into()), Duration::from_secs(2)).unwrap()
}

fn rule(path: &str, to: &str) -> RuleSpec {
    RuleSpec::path(path, to).validate().unwrap()
}

/// The id of the rule that answers `path` on `catalog`'s index.
fn answers(catalog: &Catalog, path: &str) -> Option<i64> {
    catalog.index().lookup(None, path).map(|hit| hit.rule.id())
}

#[test]
fn rules_history_counters_and_files_as_on_sqlite() {
    let pg = Cluster::start();
    let url = pg.create_db("seeother");
    let store = connect(&url);
    assert_eq!(store.schema_version().unwrap(), 7);
    assert!(store.is_shared());
    assert!(!store.describe().is_empty());

    let a = store
        .create(&rule("/a", "https://example.org/a"), "t")
        .unwrap();
    let id = a.id.unwrap();
    assert!(matches!(
        store.create(&rule("/a", "https://example.org/other"), "t"),
        Err(StoreError::Conflict { existing, .. }) if existing == id
    ));
    let change = store
        .update(id, &rule("/a", "https://example.org/a2"), "t")
        .unwrap();
    assert_eq!(change.new.unwrap().to, "https://example.org/a2");
    assert!(matches!(
        store.update(999, &rule("/z", "https://example.org/z"), "t"),
        Err(StoreError::NotFound(999))
    ));
    let gone = store.delete(id, true, "t").unwrap().new.unwrap();
    assert!(gone.gone);
    let actions: Vec<String> = store
        .history(id)
        .unwrap()
        .into_iter()
        .map(|h| h.action)
        .collect();
    assert_eq!(actions, ["create", "update", "tombstone"]);

    let rules: Vec<RuleSpec> = (0..30)
        .map(|i| rule(&format!("/Id/{i}"), &format!("https://example.org/{i}")))
        .collect();
    let report = store.import(&rules, "import").unwrap();
    assert_eq!(
        (report.created, report.updated, report.unchanged),
        (30, 0, 0)
    );
    let again = store.import(&rules, "import").unwrap();
    assert_eq!((again.created, again.unchanged), (0, 30));
    assert_eq!(store.count().unwrap(), 31);

    // Search is literal and folds ASCII case only, as on SQLite; pages follow ids.
    let page = store
        .list(&ListQuery {
            search: Some("id/1".into()),
            limit: 5,
            ..ListQuery::default()
        })
        .unwrap();
    assert_eq!(page.rules.len(), 5);
    assert!(page.next.is_some());
    let all = store
        .list(&ListQuery {
            search: Some("%".into()),
            ..ListQuery::default()
        })
        .unwrap();
    assert!(all.rules.is_empty());
    let nul = store
        .list(&ListQuery {
            search: Some("\0".into()),
            ..ListQuery::default()
        })
        .unwrap();
    assert!(nul.rules.is_empty());

    // Counters add up; a deleted rule's counter goes with it.
    let first = store.list(&ListQuery::default()).unwrap().rules[1]
        .id
        .unwrap();
    store.add_hits(&[(first, 3), (123_456, 9)]).unwrap();
    store.add_hits(&[(first, 4)]).unwrap();
    assert_eq!(store.get(first).unwrap().unwrap().hits, Some(7));
    store.delete(first, false, "t").unwrap();
    assert_eq!(store.get(first).unwrap(), None);

    let keep = UnknownRetention {
        max_rows: 8,
        max_age: None,
    };
    let unknown: Vec<(String, String, u64)> = (0..20)
        .map(|i| (String::new(), format!("/u/{i}"), i + 1))
        .collect();
    store.add_unknown(&unknown, &keep).unwrap();
    assert!(store.unknown_count().unwrap() <= 8);
    assert_eq!(store.unknown(1).unwrap()[0].path, "/u/19");

    // Applied files follow the change count.
    let before = store.rules_changes().unwrap();
    let file = AppliedFile {
        sha256: vec![1; 32],
        format: "text/csv".into(),
        rules: 30,
        changes: before,
    };
    assert!(store.record_applied("/f.csv", &file).unwrap());
    assert_eq!(store.unchanged_file("/f.csv", &file).unwrap(), Some(30));
    store
        .create(&rule("/b", "https://example.org/b"), "t")
        .unwrap();
    assert_eq!(store.unchanged_file("/f.csv", &file).unwrap(), None);
    assert_eq!(store.rules_changes().unwrap(), before + 1);
}

#[test]
fn the_change_sequence_has_no_gaps_and_a_catalog_catches_up_exactly() {
    let pg = Cluster::start();
    let url = pg.create_db("seeother");
    let a = Catalog::open(Arc::new(connect(&url))).unwrap();
    let b = Catalog::open(Arc::new(connect(&url))).unwrap();

    let created = a
        .create(RuleSpec::path("/x", "https://example.org/x"), "a")
        .unwrap();
    let id = created.id.unwrap();
    assert_eq!(answers(&a, "/x"), Some(id));
    assert_eq!(
        answers(&b, "/x"),
        None,
        "b applied a change it was not told of"
    );
    assert_eq!(b.catch_up().unwrap(), 1);
    assert_eq!(answers(&b, "/x"), Some(id));

    a.update(id, RuleSpec::path("/y", "https://example.org/y"), "a")
        .unwrap();
    assert_eq!(b.catch_up().unwrap(), 1);
    assert_eq!((answers(&b, "/x"), answers(&b, "/y")), (None, Some(id)));
    a.import(
        (0..50)
            .map(|i| RuleSpec::path(&format!("/n/{i}"), &format!("https://example.org/n/{i}")))
            .collect(),
        "a",
    )
    .unwrap();
    a.delete(id, false, "a").unwrap();
    // A failed write takes no number.
    assert!(matches!(
        a.create(RuleSpec::path("/n/1", "https://example.org/dup"), "a"),
        Err(CatalogError::Store(StoreError::Conflict { .. }))
    ));
    let changes = a.store().changes_since(0, 1000).unwrap();
    let seqs: Vec<i64> = changes.iter().map(|(n, _)| *n).collect();
    assert_eq!(seqs, (1..=53).collect::<Vec<_>>());
    assert_eq!(a.seen(), 53);

    assert_eq!(b.catch_up().unwrap(), 51);
    assert_eq!(b.seen(), 53);
    assert_eq!(answers(&b, "/y"), None);
    assert_eq!(answers(&b, "/n/49"), answers(&a, "/n/49"));
    assert!(answers(&b, "/n/49").is_some());
    assert_eq!(b.catch_up().unwrap(), 0);

    // A catalog opened later starts from the snapshot's number.
    let c = Catalog::open(Arc::new(connect(&url))).unwrap();
    assert_eq!((c.seen(), c.index().len()), (53, 50));
}

#[test]
fn nodes_starting_at_once_migrate_once_and_a_newer_schema_is_refused() {
    let pg = Cluster::start();
    let url = pg.create_db("seeother");
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || connect(&url).schema_version().unwrap())
        })
        .collect();
    for s in starts {
        assert_eq!(s.join().unwrap(), 7);
    }
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    client
        .batch_execute("UPDATE seeother_schema SET version = 99")
        .unwrap();
    let err = Store::connect(&Location::Postgres(url), Duration::from_secs(1)).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::TooNew {
                found: 99,
                known: 7
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("upgrade seeother"), "{err}");
}

#[test]
fn a_version_1_database_gains_rule_groups_and_keeps_its_rules() {
    let pg = Cluster::start();
    let url = pg.create_db("seeother");
    // A store as the first release left it: schema 1, one rule.
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    client
        .batch_execute(include_str!("../migrations/postgres/0001_init.sql"))
        .unwrap();
    client
        .batch_execute(
            "CREATE TABLE seeother_schema (id INTEGER PRIMARY KEY CHECK (id = 1), version BIGINT NOT NULL);
             INSERT INTO seeother_schema VALUES (1, 1);
             INSERT INTO rules (kind, matcher, target, created_at, updated_at)
                 VALUES ('path', '/old', 'https://example.org/old', 0, 0);",
        )
        .unwrap();
    let store = connect(&url);
    assert_eq!(store.schema_version().unwrap(), 7);
    let c = Catalog::open(Arc::new(store)).unwrap();
    assert!(answers(&c, "/old").is_some());
    let group: RuleSpec = serde_json::from_str(
        r#"{"scope": "/ont/", "steps": [{"regex": "^(.+)$", "to": "https://example.org/{1}", "status": 303}]}"#,
    )
    .unwrap();
    c.store().create(&group.validate().unwrap(), "t").unwrap();
}

#[test]
fn a_write_behind_another_sessions_lock_is_busy_and_an_unreachable_database_too() {
    let pg = Cluster::start();
    let url = pg.create_db("seeother");
    let store = connect(&url);
    let mut other = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let mut tx = other.transaction().unwrap();
    tx.batch_execute("SELECT seq FROM changes FOR UPDATE")
        .unwrap();
    let err = store
        .create(&rule("/a", "https://example.org/a"), "t")
        .unwrap_err();
    assert!(
        err.is_busy() && err.to_string().contains("busy timeout"),
        "{err}"
    );
    tx.rollback().unwrap();
    store
        .create(&rule("/a", "https://example.org/a"), "t")
        .unwrap();

    pg.stop();
    let err = store
        .create(&rule("/b", "https://example.org/b"), "t")
        .unwrap_err();
    assert!(
        err.is_busy() && err.to_string().contains("cannot be reached"),
        "{err}"
    );
    pg.start_again();
    // The connection is made again by the next call.
    store
        .create(&rule("/b", "https://example.org/b"), "t")
        .unwrap();
    assert_eq!(store.count().unwrap(), 2);
}

/// A table of more than 4,096 heap pages is read as two page ranges on two connections in one
/// snapshot: every rule comes once, whole, with the change number it is as of.
#[test]
fn a_large_table_read_in_two_halves_gives_every_rule_once() {
    let pg = Cluster::start();
    let url = pg.create_db("seeother");
    let store = connect(&url);
    // Rows of about 1.8 KB (under the 2 KB at which PostgreSQL would compress or move a
    // value out of line): four to a page, so 20,000 rules fill about 5,000 pages.
    let long = "x".repeat(1700);
    let target = |i: usize| format!("https://example.org/{i}/{long}");
    let rules: Vec<RuleSpec> = (0..20_000)
        .map(|i| rule(&format!("/big/{i}"), &target(i)))
        .collect();
    store.import(&rules, "t").unwrap();
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let pages: i64 = client
        .query_one("SELECT pg_relation_size('rules') / 8192", &[])
        .unwrap()
        .get(0);
    assert!(
        pages > 4096,
        "the table has only {pages} pages: it is not split"
    );
    // A change after the import: the rows are as of the number read with them.
    store
        .create(&rule("/after", "https://example.org/after"), "t")
        .unwrap();

    let mut seen = std::collections::HashMap::new();
    let seq = store
        .for_each_row(|row| {
            let before = seen.insert(row.matcher.to_owned(), row.to.to_owned());
            assert!(before.is_none(), "{} came twice", row.matcher);
        })
        .unwrap();
    assert_eq!(seq, Some(store.data_version().unwrap()));
    assert_eq!(seen.len(), 20_001);
    for i in [0, 1, 9_999, 19_999] {
        assert_eq!(seen[&format!("/big/{i}")], target(i), "{i}");
    }
    assert_eq!(seen["/after"], "https://example.org/after");
}
