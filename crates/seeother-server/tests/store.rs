//! The store and the catalog: durability across reopen, conflicts, history, all-or-nothing
//! imports, counters, and changes that reach the index at once.

use std::path::PathBuf;
use std::sync::Arc;

use seeother_server::catalog::{Catalog, CatalogError};
use seeother_server::rule::RuleSpec;
use seeother_server::stats::{Unknown, flush};
use seeother_server::store::{ListQuery, Store, StoreError};

/// A fresh directory under the target directory, removed at the start of each run.
fn temp_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("seeother-store-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn catalog() -> Catalog {
    Catalog::open(Arc::new(Store::in_memory().unwrap())).unwrap()
}

#[test]
fn rules_survive_reopening_and_the_schema_is_versioned() {
    let dir = temp_dir("reopen");
    let db = dir.join("s.db");
    let identity;
    {
        let store = Store::open(&db).unwrap();
        assert_eq!(store.schema_version().unwrap(), 10);
        let rule = RuleSpec::path("/a", "https://example.org/a")
            .validate()
            .unwrap();
        let stored = store.create(&rule, "test").unwrap();
        assert_eq!(stored.id, Some(1));
        identity = store.identity().unwrap();
    }
    let store = Store::open(&db).unwrap();
    assert_eq!(store.schema_version().unwrap(), 10);
    // The store keeps its random identity (what its snapshot is checked against).
    assert_eq!(identity.len(), 32);
    assert_eq!(store.identity().unwrap(), identity);
    assert_ne!(Store::in_memory().unwrap().identity().unwrap(), identity);
    let got = store.get(1).unwrap().unwrap();
    assert_eq!(got.to, "https://example.org/a");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn create_conflict_update_delete_and_history() {
    let c = catalog();
    let a = c
        .create(RuleSpec::path("/a", "https://example.org/1"), "alice")
        .unwrap();
    let id = a.id.unwrap();
    let err = c
        .create(RuleSpec::path("/a", "https://example.org/2"), "bob")
        .unwrap_err();
    assert!(
        matches!(err, CatalogError::Store(StoreError::Conflict { existing, .. }) if existing == id)
    );
    assert!(err.to_string().contains("update that rule instead"));

    c.update(id, RuleSpec::path("/a", "https://example.org/3"), "carol")
        .unwrap();
    assert_eq!(
        c.index().lookup(None, "/a").unwrap().rule.id(),
        id,
        "the index follows the update"
    );
    c.delete(id, true, "dave").unwrap();
    assert!(c.index().lookup(None, "/a").unwrap().rule.is_gone());
    assert!(c.delete(id, false, "erin").unwrap().is_none());
    assert!(c.index().lookup(None, "/a").is_none());
    assert!(matches!(
        c.delete(id, false, "x"),
        Err(CatalogError::Store(StoreError::NotFound(_)))
    ));

    let history = c.history(id).unwrap();
    let summary: Vec<(&str, &str, Option<&str>, Option<&str>)> = history
        .iter()
        .map(|h| {
            (
                h.action.as_str(),
                h.actor.as_str(),
                h.old_target.as_deref(),
                h.new_target.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("create", "alice", None, Some("https://example.org/1")),
            (
                "update",
                "carol",
                Some("https://example.org/1"),
                Some("https://example.org/3")
            ),
            (
                "tombstone",
                "dave",
                Some("https://example.org/3"),
                Some("https://example.org/3")
            ),
            ("delete", "erin", Some("https://example.org/3"), None),
        ]
    );
    assert!(history.iter().all(|h| h.at > 1_700_000_000));
}

#[test]
fn invalid_rules_never_reach_the_store() {
    let c = catalog();
    let err = c
        .create(RuleSpec::path("/x", "/a\r\nSet-Cookie: y=1"), "t")
        .unwrap_err();
    assert!(matches!(err, CatalogError::Invalid(_)));
    assert_eq!(c.store().count().unwrap(), 0);
    let ok = c.create(RuleSpec::path("/y", "/b"), "t").unwrap();
    let err = c
        .update(
            ok.id.unwrap(),
            RuleSpec::path("/y", "javascript:alert(1)"),
            "t",
        )
        .unwrap_err();
    assert!(matches!(err, CatalogError::Invalid(_)));
    assert_eq!(c.get(ok.id.unwrap()).unwrap().unwrap().to, "/b");
}

#[test]
fn import_is_all_or_nothing_and_upserts() {
    let c = catalog();
    c.create(RuleSpec::path("/a", "/old"), "t").unwrap();
    let err = c
        .import(
            vec![
                RuleSpec::path("/a", "/new"),
                RuleSpec::path("/b", "/b"),
                RuleSpec::path("/c", "data:x"),
            ],
            "t",
        )
        .unwrap_err();
    assert!(matches!(&err, CatalogError::InvalidImport(list) if list.len() == 1 && list[0].0 == 2));
    assert_eq!(
        c.store().count().unwrap(),
        1,
        "nothing of a bad import is applied"
    );
    assert_eq!(c.get(1).unwrap().unwrap().to, "/old");

    let report = c
        .import(
            vec![RuleSpec::path("/a", "/new"), RuleSpec::path("/b", "/b")],
            "t",
        )
        .unwrap();
    assert_eq!(
        (report.created, report.updated, report.unchanged),
        (1, 1, 0)
    );
    let report = c
        .import(
            vec![RuleSpec::path("/a", "/new"), RuleSpec::path("/b", "/b")],
            "t",
        )
        .unwrap();
    assert_eq!(
        (report.created, report.updated, report.unchanged),
        (0, 0, 2)
    );
    assert_eq!(c.index().len(), 2);
    assert_eq!(
        c.history(1).unwrap().len(),
        2,
        "an unchanged rule gets no history entry"
    );
}

#[test]
fn listing_pages_and_searches() {
    let c = catalog();
    let rules: Vec<RuleSpec> = (0..25)
        .map(|i| RuleSpec::path(&format!("/r{i}"), &format!("https://example.org/{i}")))
        .collect();
    c.import(rules, "t").unwrap();
    let mut seen = Vec::new();
    let mut after = 0;
    loop {
        let page = c
            .list(&ListQuery {
                after,
                limit: 10,
                ..ListQuery::default()
            })
            .unwrap();
        seen.extend(page.rules.iter().map(|r| r.id.unwrap()));
        match page.next {
            Some(n) => after = n,
            None => break,
        }
    }
    assert_eq!(seen, (1..=25).collect::<Vec<i64>>());
    let found = c
        .list(&ListQuery {
            search: Some("/r1".into()),
            ..ListQuery::default()
        })
        .unwrap();
    let mut paths: Vec<String> = found
        .rules
        .iter()
        .map(|r| r.path.clone().unwrap())
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "/r1", "/r10", "/r11", "/r12", "/r13", "/r14", "/r15", "/r16", "/r17", "/r18", "/r19"
        ]
    );
    let none = c
        .list(&ListQuery {
            search: Some("%".into()),
            ..ListQuery::default()
        })
        .unwrap();
    assert!(none.rules.is_empty(), "% is literal in a search");
}

#[test]
fn hits_are_counted_in_memory_and_flushed_in_batches() {
    let c = catalog();
    let a = c
        .create(RuleSpec::path("/a", "/x"), "t")
        .unwrap()
        .id
        .unwrap();
    for _ in 0..3 {
        c.index().lookup(None, "/a").unwrap().rule.hit();
    }
    assert_eq!(
        c.get(a).unwrap().unwrap().hits,
        Some(3),
        "pending hits are visible"
    );
    assert_eq!(
        c.store().get(a).unwrap().unwrap().hits,
        Some(0),
        "not yet in the store"
    );
    let unknown = Unknown::default();
    unknown.record("h.example", "/nope");
    unknown.record("h.example", "/nope");
    flush(&c, &unknown).unwrap();
    assert_eq!(c.store().get(a).unwrap().unwrap().hits, Some(3));
    assert_eq!(
        c.get(a).unwrap().unwrap().hits,
        Some(3),
        "not counted twice"
    );
    let top = c.store().unknown(10).unwrap();
    assert_eq!((top[0].path.as_str(), top[0].hits), ("/nope", 2));
    // Counters survive an update of the rule.
    c.index().lookup(None, "/a").unwrap().rule.hit();
    c.update(a, RuleSpec::path("/a", "/y"), "t").unwrap();
    assert_eq!(c.get(a).unwrap().unwrap().hits, Some(4));
}

#[test]
fn commits_leave_the_wal_to_the_checkpointer_which_takes_it_up_again_after_a_reader() {
    let dir = temp_dir("checkpoint");
    let db = dir.join("s.db");
    let store = seeother_server::store::Sqlite::open(&db).unwrap();
    let rules = |from: usize| -> Vec<RuleSpec> {
        (from..from + 30_000)
            .map(|i| {
                RuleSpec::path(&format!("/w/{i}"), &format!("https://example.org/{i}"))
                    .validate()
                    .unwrap()
            })
            .collect()
    };
    // A store that holds a rule: the import goes through the WAL (into an empty store, with
    // no other connection, it writes the database directly).
    let first = RuleSpec::path("/first", "https://example.org/first");
    store.create(&first.validate().unwrap(), "test").unwrap();
    store.checkpoint().unwrap();
    store.import(&rules(0), "test", false).unwrap();
    // More pages than SQLite's own autocheckpoint (1,000) would have let the commit leave.
    let wal = dir.join("s.db-wal");
    let size = || std::fs::metadata(&db).unwrap().len();
    let before = size();
    let (pages, done) = store.checkpoint().unwrap();
    assert!(pages > 1000, "{pages} pages in the WAL");
    assert_eq!(
        done, pages,
        "a passive checkpoint with nobody reading copies it all"
    );
    // The commit left them in the WAL: the database file grew at the checkpoint.
    assert!(size() > before + 1000 * 4096, "{before} → {}", size());
    assert!(std::fs::metadata(&wal).unwrap().len() > 1000 * 4096);
    // A reader in a transaction keeps the pages written after it began from the database
    // file; the next checkpoint after it ends copies them.
    let reader = rusqlite::Connection::open(&db).unwrap();
    reader.execute_batch("BEGIN").unwrap();
    let before: i64 = reader
        .query_row("SELECT count(*) FROM rules", [], |r| r.get(0))
        .unwrap();
    store.import(&rules(30_000), "test", false).unwrap();
    let (pages, done) = store.checkpoint().unwrap();
    assert!(done < pages, "{done} of {pages} copied beside the reader");
    let seen: i64 = reader
        .query_row("SELECT count(*) FROM rules", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        (before, seen),
        (30_001, 30_001),
        "the reader keeps its snapshot"
    );
    reader.execute_batch("COMMIT").unwrap();
    let (pages, done) = store.checkpoint().unwrap();
    assert_eq!(done, pages);
    assert_eq!(store.count().unwrap(), 60_001);
    drop(reader);
    drop(store);
    std::fs::remove_dir_all(&dir).unwrap();
}
