//! A large import into an empty store writes its rules before the rules' indexes and makes
//! them after: the store is then as the general path leaves it (indexes, change count,
//! history, `PRAGMA integrity_check`), and an import that fails or is given up at its end
//! leaves it as it was.

mod temp_dir;

use std::path::Path;

use rusqlite::Connection;
use temp_dir::TempDir;

use seeother_server::rule::RuleSpec;
use seeother_server::store::{Store, StoreError};

/// Enough rules for the bulk path.
const N: usize = 3000;

fn rules(n: usize) -> Vec<RuleSpec> {
    (0..n)
        .map(|i| {
            RuleSpec::path(&format!("/id/{i}"), &format!("https://example.org/{i}"))
                .validate()
                .unwrap()
        })
        .collect()
}

/// The SQL of the schema's indexes and triggers, by name.
fn schema(db: &Path) -> Vec<(String, Option<String>)> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT name, sql FROM sqlite_schema WHERE type IN ('index', 'trigger') ORDER BY name",
        )
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

fn integrity(db: &Path) -> String {
    let conn = Connection::open(db).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_bulk_import_leaves_the_store_as_the_general_path_does() {
    let dir = TempDir::new("bulk");
    let db = dir.0.join("s.db");
    let store = Store::open(&db).unwrap();
    let before = schema(&db);
    assert!(before.iter().any(|(n, _)| n == "rules_key"), "{before:?}");
    let changes = store.rules_changes().unwrap();

    let report = store.import(&rules(N), "import:test").unwrap();
    assert_eq!(
        (report.created, report.updated, report.unchanged),
        (N, 0, 0)
    );
    assert_eq!(report.changes.len(), N);
    assert_eq!(schema(&db), before, "the same indexes and triggers");
    assert_eq!(integrity(&db), "ok");
    assert_eq!(store.rules_changes().unwrap(), changes + N as i64);
    let h = store.history(N as i64).unwrap();
    assert_eq!((h.len(), h[0].action.as_str()), (1, "create"));
    assert_eq!(
        h[0].new.as_ref().unwrap().to,
        format!("https://example.org/{}", N - 1)
    );

    // The key index is there: a rule's key cannot be taken twice, and a second import
    // finds its rules.
    let taken = store.create(&rules(1)[0], "api");
    assert!(
        matches!(taken, Err(StoreError::Conflict { .. })),
        "{taken:?}"
    );
    let again = store.import(&rules(N + 1), "import:test").unwrap();
    assert_eq!((again.created, again.updated, again.unchanged), (1, 0, N));
    assert_eq!(store.rules_changes().unwrap(), changes + N as i64 + 1);
    assert_eq!(integrity(&db), "ok");
}

#[test]
fn two_rules_with_one_key_go_the_general_way() {
    let dir = TempDir::new("twice");
    let db = dir.0.join("s.db");
    let store = Store::open(&db).unwrap();
    let changes = store.rules_changes().unwrap();
    let mut given = rules(N);
    given.push(
        RuleSpec::path("/id/7", "https://example.org/later")
            .validate()
            .unwrap(),
    );
    let report = store.import(&given, "import:test").unwrap();
    // The later rule updates the earlier, as when the key index was there all along.
    assert_eq!(
        (report.created, report.updated, report.unchanged),
        (N, 1, 0)
    );
    assert_eq!(
        store.get(8).unwrap().unwrap().to,
        "https://example.org/later"
    );
    let actions: Vec<String> = store
        .history(8)
        .unwrap()
        .into_iter()
        .map(|h| h.action)
        .collect();
    assert_eq!(actions, ["create", "update"]);
    assert_eq!(store.count().unwrap(), N as u64);
    assert_eq!(store.rules_changes().unwrap(), changes + N as i64 + 1);
    assert_eq!(integrity(&db), "ok");
}

#[test]
fn an_import_given_up_at_its_end_leaves_the_store_as_it_was() {
    let dir = TempDir::new("given-up");
    let db = dir.0.join("s.db");
    let store = Store::open(&db).unwrap();
    let before = schema(&db);
    let changes = store.rules_changes().unwrap();
    let given = rules(N);
    let chunks = given.chunks(1000);
    let done = store
        .import_chunks(chunks, N, "import:test", || false)
        .unwrap();
    assert!(done.is_none());
    assert_eq!(store.count().unwrap(), 0);
    assert_eq!(store.rules_changes().unwrap(), changes);
    assert_eq!(schema(&db), before);
    assert_eq!(integrity(&db), "ok");

    // The same with two rules of one key in the chunks (found by the key index made at
    // the end): nothing applied, and the trigger counts single changes again.
    let mut twice = rules(N);
    twice.push(twice[0].clone());
    let done = store
        .import_chunks([&twice[..]], N, "import:test", || true)
        .unwrap();
    assert!(done.is_none());
    assert_eq!(store.count().unwrap(), 0);
    assert_eq!(schema(&db), before);
    store.create(&twice[0], "api").unwrap();
    assert_eq!(store.rules_changes().unwrap(), changes + 1);
    assert_eq!(integrity(&db), "ok");
}
