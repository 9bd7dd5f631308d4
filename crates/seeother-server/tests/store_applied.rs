//! What the store records of rule files applied at start: a change count that every change
//! to the rules bumps (from any connection) and counters do not, and a record per file that
//! says whether importing it again would change nothing.

mod temp_dir;

use temp_dir::TempDir;

use rusqlite::Connection;
use seeother_server::rule::RuleSpec;
use seeother_server::store::{AppliedFile, Store};

fn rule(path: &str, to: &str) -> RuleSpec {
    RuleSpec::path(path, to).validate().unwrap()
}

fn file(sha: u8, changes: i64) -> AppliedFile {
    AppliedFile {
        sha256: vec![sha; 32],
        format: "application/toml".to_owned(),
        rules: 2,
        changes,
    }
}

#[test]
fn every_change_to_the_rules_counts_and_counters_do_not() {
    let dir = TempDir::new("count");
    let db = dir.0.join("s.db");
    let store = Store::open(&db).unwrap();
    let mut expected = store.rules_changes().unwrap();
    let mut check = |store: &Store, by: i64, what: &str| {
        expected += by;
        assert_eq!(store.rules_changes().unwrap(), expected, "{what}");
    };
    let a = store.create(&rule("/a", "/1"), "t").unwrap().id.unwrap();
    check(&store, 1, "create");
    store.update(a, &rule("/a", "/2"), "t").unwrap();
    check(&store, 1, "update");
    store.add_hits(&[(a, 5)]).unwrap();
    check(&store, 0, "counters");
    let report = store
        .import(&[rule("/a", "/2"), rule("/b", "/b"), rule("/c", "/c")], "t")
        .unwrap();
    assert_eq!((report.created, report.unchanged), (2, 1));
    check(&store, 2, "import: one per rule created or updated");
    store.import(&[rule("/a", "/2")], "t").unwrap();
    check(&store, 0, "an import that changes nothing");
    store.delete(a, true, "t").unwrap();
    check(&store, 1, "tombstone");
    store.delete(a, false, "t").unwrap();
    check(&store, 1, "delete");
    // Another connection (another process, or a hand-written statement) is seen too.
    let other = Connection::open(&db).unwrap();
    other
        .execute(
            "UPDATE rules SET target = '/changed' WHERE matcher = '/b'",
            [],
        )
        .unwrap();
    check(&store, 1, "another connection's update");
}

#[test]
fn a_file_is_unchanged_only_with_the_same_bytes_format_and_no_change_since() {
    let dir = TempDir::new("record");
    let store = Store::open(&dir.0.join("s.db")).unwrap();
    let path = "/srv/rules.toml";
    assert_eq!(store.unchanged_file(path, &file(1, 0)).unwrap(), None);
    store.create(&rule("/a", "/1"), "t").unwrap();
    let now = store.rules_changes().unwrap();

    assert!(store.record_applied(path, &file(1, now)).unwrap());
    assert_eq!(
        store.applied_file(path).unwrap(),
        Some(file(1, now)),
        "recorded as given"
    );
    assert_eq!(store.unchanged_file(path, &file(1, 0)).unwrap(), Some(2));
    assert_eq!(
        store.unchanged_file(path, &file(2, 0)).unwrap(),
        None,
        "other bytes"
    );
    let mut csv = file(1, 0);
    csv.format = "text/csv; charset=utf-8".to_owned();
    assert_eq!(
        store.unchanged_file(path, &csv).unwrap(),
        None,
        "other format"
    );
    assert_eq!(
        store
            .unchanged_file("/srv/other.toml", &file(1, 0))
            .unwrap(),
        None,
        "other file"
    );

    // Any change to the rules since: not unchanged any more.
    store.create(&rule("/b", "/2"), "t").unwrap();
    assert_eq!(store.unchanged_file(path, &file(1, 0)).unwrap(), None);

    // A record whose expected count is not the store's (someone wrote meanwhile) is refused,
    // and the old record goes: the next start imports the file.
    let now = store.rules_changes().unwrap();
    assert!(!store.record_applied(path, &file(1, now - 1)).unwrap());
    assert_eq!(store.applied_file(path).unwrap(), None);
    assert!(store.record_applied(path, &file(3, now)).unwrap());
    assert_eq!(store.unchanged_file(path, &file(3, 0)).unwrap(), Some(2));
}
