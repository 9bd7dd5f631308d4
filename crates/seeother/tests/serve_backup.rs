//! `seeother backup` of a store a running server writes to, and `seeother restore` of it
//! under the running server: the copy is the store at one moment, and the server serves what
//! was put back.

mod serve_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use serve_support::{Server, TempDir, cli, eventually};

fn create(s: &Server, i: usize) -> u16 {
    let body = format!(r#"{{"path": "/id/{i}", "to": "https://example.org/{i}"}}"#);
    s.api("POST", "/-/api/rules", Some(&body)).status
}

/// (rules, history rows) in a SQLite file.
fn counts(path: &std::path::Path) -> (i64, i64) {
    let db = rusqlite::Connection::open(path).unwrap();
    let n = |t: &str| {
        db.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))
            .unwrap()
    };
    (n("rules"), n("history"))
}

#[test]
fn a_backup_taken_during_writes_is_one_moment_and_restores_under_the_server() {
    let dir = TempDir::new("backup");
    let db = dir.path().join("s.db");
    let s = Arc::new(Server::start(&db, &[]));
    for i in 0..50 {
        assert_eq!(create(&s, i), 201);
    }
    // Writes go on through the API while the backup is taken.
    let stop = Arc::new(AtomicBool::new(false));
    let made = Arc::new(AtomicUsize::new(50));
    let writer = {
        let (s, stop, made) = (s.clone(), stop.clone(), made.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) && made.load(Ordering::Relaxed) < 2_000 {
                let i = made.load(Ordering::Relaxed);
                assert_eq!(create(&s, i), 201);
                made.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    let out = dir.path().join("copy.db");
    let before = made.load(Ordering::Relaxed) as i64;
    let (code, stdout, err) = cli(&[
        "backup",
        out.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    let after = made.load(Ordering::Relaxed) as i64;
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("rules, schema"), "{stdout}");
    // One moment: each rule with its history row (both are one transaction), and between the
    // rules acknowledged before the backup and those acknowledged after it.
    let (rules, history) = counts(&out);
    assert_eq!(
        rules, history,
        "rules and their history from the same moment"
    );
    assert!(
        (before..=after + 1).contains(&rules),
        "{before} ≤ {rules} ≤ {after}+1"
    );
    let total = made.load(Ordering::Relaxed);
    assert!(
        total as i64 > rules,
        "writes went on after the backup ({total})"
    );

    // A backup never overwrites.
    let (code, _, err) = cli(&[
        "backup",
        out.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("exists already"), "{err}");

    // Restored under the running server: the rules made after the backup go, the others stay.
    let last = total - 1;
    assert_eq!(s.get(&format!("/id/{last}")).status, 303);
    let (code, stdout, err) = cli(&[
        "restore",
        out.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("before-restore"), "{stdout}");
    assert!(
        eventually(Duration::from_secs(10), || s
            .get(&format!("/id/{last}"))
            .status
            == 404),
        "the server serves the restored store"
    );
    assert_eq!(s.get("/id/0").status, 303);
    // Nothing is lost: the store as it was is kept beside it.
    let kept = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("before-restore"))
        .expect("the store as it was");
    assert_eq!(counts(&kept).0, total as i64);
}

#[test]
fn a_damaged_backup_is_refused_and_the_store_left_alone() {
    let dir = TempDir::new("restore-bad");
    let db = dir.path().join("s.db");
    {
        let s = Server::start(&db, &[]);
        assert_eq!(create(&s, 1), 201);
    }
    let out = dir.path().join("copy.db");
    let (code, _, err) = cli(&[
        "backup",
        out.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let bytes = std::fs::read(&out).unwrap();
    let cut = dir.path().join("cut.db");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let text = dir.file("text.db", "not a database at all");
    for bad in [&cut, &text] {
        let (code, _, err) = cli(&[
            "restore",
            bad.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
        ]);
        assert_ne!(code, 0, "{}", bad.display());
        assert!(err.contains("seeother restore: backup"), "{err}");
    }
    assert_eq!(counts(&db).0, 1);
}
