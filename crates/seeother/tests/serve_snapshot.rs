//! A SQLite store's snapshot of the index (`DB.snapshot`): written after a start that loaded
//! the rules, read by the next start, and never served when it is not of the store as it is:
//! the store edited behind its back, a restore, the file cut short or a byte flipped.

mod serve_support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serve_support::{Server, TempDir, cli, eventually};

const LIMIT: Duration = Duration::from_secs(20);

fn snapshot_of(db: &Path) -> PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push(".snapshot");
    p.into()
}

/// The server's line that says how its rules were loaded.
fn rules_line(s: &Server) -> String {
    s.stdout
        .iter()
        .find(|l| l.trim_start().starts_with("rules:"))
        .cloned()
        .unwrap_or_default()
}

fn location(s: &Server, path: &str) -> (u16, Option<String>) {
    let r = s.get(path);
    (r.status, r.header("location").map(str::to_owned))
}

fn modified(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Wait until the snapshot at `path` is written anew (its time is not `before`).
fn wait_written(path: &Path, before: Option<std::time::SystemTime>) {
    assert!(
        eventually(LIMIT, || modified(path).is_some()
            && modified(path) != before),
        "no snapshot written beside the store"
    );
}

#[test]
fn a_start_reads_the_snapshot_of_the_store_as_it_is_and_never_a_stale_or_damaged_one() {
    let dir = TempDir::new("snapshot");
    let db = dir.path().join("s.db");
    let mut csv = String::from("path,prefix,to\n");
    for i in 0..5000 {
        csv.push_str(&format!("/id/{i},,https://example.org/{i}\n"));
    }
    csv.push_str(",/c/,https://example.org/c/\n");
    let rules = dir.file("rules.csv", &csv);
    let (code, _, err) = cli(&[
        "import",
        "--db",
        db.to_str().unwrap(),
        rules.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");

    // The first start loads the store and writes the snapshot; the next reads it.
    let snap = snapshot_of(&db);
    let mut s = Server::start(&db, &[]);
    assert!(rules_line(&s).contains("loaded in"), "{:?}", s.stdout);
    wait_written(&snap, None);
    s.signal("TERM");
    assert!(s.wait_exit(LIMIT).is_some());
    let s = Server::start(&db, &[]);
    assert!(
        rules_line(&s).contains("read from its snapshot"),
        "{:?}",
        s.stdout
    );
    assert!(rules_line(&s).contains("5001"), "{:?}", s.stdout);
    assert_eq!(
        location(&s, "/id/4999"),
        (303, Some("https://example.org/4999".into()))
    );
    assert_eq!(
        location(&s, "/c/x/y"),
        (303, Some("https://example.org/c/x/y".into()))
    );
    drop(s);

    // Edited behind its back (another program on the file): the snapshot is stale, so the
    // store is loaded, and the edit is served.
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute(
            "UPDATE rules SET target = 'https://example.org/edited' WHERE matcher = '/id/7'",
            [],
        )
        .unwrap();
    }
    let before = modified(&snap);
    let s = Server::start(&db, &[]);
    assert!(rules_line(&s).contains("loaded in"), "{:?}", s.stdout);
    assert_eq!(
        location(&s, "/id/7"),
        (303, Some("https://example.org/edited".into()))
    );
    // The snapshot is rebuilt for the store as it is now, and read by the next start.
    wait_written(&snap, before);
    drop(s);
    let s = Server::start(&db, &[]);
    assert!(
        rules_line(&s).contains("read from its snapshot"),
        "{:?}",
        s.stdout
    );
    assert_eq!(
        location(&s, "/id/7"),
        (303, Some("https://example.org/edited".into()))
    );
    drop(s);

    // Cut short, or one byte flipped: never served; the store is loaded instead.
    let good = std::fs::read(&snap).unwrap();
    let mut flipped = good.clone();
    let at = good.len() * 2 / 3;
    flipped[at] ^= 1;
    for (what, bytes) in [
        ("cut", &good[..good.len() - 100]),
        ("flipped", &flipped[..]),
    ] {
        std::fs::write(&snap, bytes).unwrap();
        let s = Server::start(&db, &[]);
        assert!(
            rules_line(&s).contains("loaded in"),
            "{what}: {:?}",
            s.stdout
        );
        assert_eq!(
            location(&s, "/id/4999"),
            (303, Some("https://example.org/4999".into())),
            "{what}"
        );
    }

    // A restored backup is another store, even with the same change count.
    std::fs::write(&snap, &good).unwrap();
    let copy = dir.path().join("copy.db");
    let (code, _, err) = cli(&[
        "backup",
        copy.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = cli(&[
        "restore",
        copy.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let s = Server::start(&db, &[]);
    assert!(rules_line(&s).contains("loaded in"), "{:?}", s.stdout);
    drop(s);

    // --no-snapshot: neither read nor written.
    std::fs::remove_file(&snap).unwrap();
    let mut s = Server::start(&db, &["--no-snapshot"]);
    std::thread::sleep(Duration::from_millis(800));
    s.signal("TERM");
    assert!(s.wait_exit(LIMIT).is_some());
    assert!(!snap.exists());
}
