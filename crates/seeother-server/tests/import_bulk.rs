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

/// The history's columns of rule `id`'s entries: (action, new_target, new_rule) as stored.
fn stored_history(db: &Path, id: i64) -> Vec<(String, Option<String>, Option<String>)> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT action, new_target, new_rule FROM history WHERE rule_id = ?1 ORDER BY id")
        .unwrap();
    stmt.query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

#[test]
fn an_imports_creations_are_stored_without_a_copy_and_read_whole() {
    let dir = TempDir::new("history");
    let db = dir.0.join("s.db");
    let store = Store::open(&db).unwrap();
    store.import(&rules(N), "import:test").unwrap();
    // Stored without the rule ...
    assert_eq!(
        stored_history(&db, 5),
        [("create".to_owned(), None, None)],
        "an import's creation is stored without a copy of the rule"
    );
    // ... and read with it: the rule as stored, while it has no later change.
    let created = |id: i64| {
        let h = store.history(id).unwrap();
        assert_eq!(h[0].action, "create");
        (h[0].new_target.clone(), h[0].new.clone().map(|r| r.to))
    };
    let first = |i: i64| Some(format!("https://example.org/{}", i - 1));
    assert_eq!(created(5), (first(5), first(5)));

    // Once changed, the creation shows what the change found, and each change its own.
    let later = |to: &str| RuleSpec::path("/id/4", to).validate().unwrap();
    store
        .update(5, &later("https://example.org/second"), "api")
        .unwrap();
    store
        .update(5, &later("https://example.org/third"), "api")
        .unwrap();
    let h = store.history(5).unwrap();
    let seen: Vec<String> = h
        .iter()
        .map(|e| {
            let new = e.new.as_ref().map(|r| r.to.as_str());
            format!(
                "{} {:?} -> {:?} {new:?}",
                e.action, e.old_target, e.new_target
            )
        })
        .collect();
    let org = |p: &str| format!("\"https://example.org/{p}\"");
    assert_eq!(
        seen,
        [
            format!("create None -> Some({}) Some({})", org("4"), org("4")),
            format!(
                "update Some({}) -> Some({}) Some({})",
                org("4"),
                org("second"),
                org("second")
            ),
            format!(
                "update Some({}) -> Some({}) Some({})",
                org("second"),
                org("third"),
                org("third")
            ),
        ]
    );
    assert_eq!(h[0].new.as_ref().unwrap().matcher(), "/id/4");

    // A tombstone, then a deletion: the creation of rule 6 still reads the rule it made,
    // the deletion leaves none.
    store.delete(6, true, "api").unwrap();
    store.delete(7, false, "api").unwrap();
    let h6 = store.history(6).unwrap();
    assert_eq!(first(6).as_deref(), h6[0].new_target.as_deref());
    assert_eq!(
        (h6[1].action.as_str(), h6[1].new.as_ref().map(|r| r.gone)),
        ("tombstone", Some(true))
    );
    let h7 = store.history(7).unwrap();
    assert_eq!(h7.len(), 2);
    assert_eq!(h7[0].new.as_ref().map(|r| r.to.clone()), first(7));
    assert_eq!(
        (h7[1].action.as_str(), h7[1].new.is_none()),
        ("delete", true)
    );
}

#[test]
fn an_import_alone_writes_no_wal_and_beside_another_connection_stays_in_wal_mode() {
    let dir = TempDir::new("journal");
    let db = dir.0.join("s.db");
    let wal = dir.0.join("s.db-wal");
    let wal_size = || std::fs::metadata(&wal).map_or(0, |m| m.len());
    let journal_mode = || -> String {
        Connection::open(&db)
            .unwrap()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap()
    };
    let store = Store::open(&db).unwrap();
    store.import(&rules(N), "import:test").unwrap();
    let size = std::fs::metadata(&db).unwrap().len();
    assert!(size > 100_000, "{size}");
    // The pages went into the database once, not through the WAL.
    assert!(
        wal_size() < size / 4,
        "WAL {} for a {size}-byte store",
        wal_size()
    );
    assert_eq!(journal_mode(), "wal");
    assert_eq!(integrity(&db), "ok");
    drop(store);

    // Beside another connection (a running server, say) the import goes through the WAL,
    // as every write does, and the other connection reads it.
    let dir = TempDir::new("journal-beside");
    let db = dir.0.join("s.db");
    let store = Store::open(&db).unwrap();
    let other = Connection::open(&db).unwrap();
    let count = |c: &Connection| -> i64 {
        c.query_row("SELECT count(*) FROM rules", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(count(&other), 0);
    store.import(&rules(N), "import:test").unwrap();
    assert_eq!(count(&other), N as i64);
    let mode: String = other
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    assert!(std::fs::metadata(dir.0.join("s.db-wal")).unwrap().len() > 0);
    assert_eq!(integrity(&db), "ok");
}
