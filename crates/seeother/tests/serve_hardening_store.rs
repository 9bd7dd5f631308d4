//! The store under pressure, over real sockets against the built `seeother serve`: writes
//! wait for another process's lock on the database (503 with Retry-After when it lasts,
//! nothing lost), `seeother import` included.

mod serve_support;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;
use serve_support::{Resp, Server, TOKEN, TempDir, cli, eventually, exchange};

/// `POST /-/api/rules` of a rule for `path`, to the server at `addr`.
fn create_at(addr: SocketAddr, path: &str) -> Resp {
    let body = format!(r#"{{"path": "{path}", "to": "https://example.org{path}"}}"#);
    let req = format!(
        "POST /-/api/rules HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    exchange(addr, req.as_bytes())
}

fn create(s: &Server, path: &str) -> Resp {
    create_at(s.addr, path)
}

/// A connection holding the database's write lock (`BEGIN EXCLUSIVE`) until dropped or
/// released.
struct Lock(Connection);

impl Lock {
    fn take(db: &Path) -> Lock {
        let conn = Connection::open(db).unwrap();
        conn.execute_batch("BEGIN EXCLUSIVE").unwrap();
        Lock(conn)
    }

    fn release(self) {
        self.0.execute_batch("COMMIT").unwrap();
    }
}

/// `n` API creates at once, on threads of their own.
fn creates(s: &Server, tag: &str, n: usize) -> Vec<JoinHandle<(u16, String)>> {
    (0..n)
        .map(|i| {
            let (addr, path) = (s.addr, format!("/{tag}/{i}"));
            std::thread::spawn(move || {
                let r = create_at(addr, &path);
                (r.status, r.text())
            })
        })
        .collect()
}

#[test]
fn api_creates_wait_for_another_writer_holding_the_lock_for_a_second() {
    let dir = TempDir::new("lock-1s");
    let db = dir.path().join("s.db");
    let s = Server::start(&db, &[]);
    let lock = Lock::take(&db);
    let pending = creates(&s, "held", 8);
    std::thread::sleep(Duration::from_secs(1));
    lock.release();
    for (i, h) in pending.into_iter().enumerate() {
        let (status, text) = h.join().unwrap();
        assert_eq!(status, 201, "create {i}: {text}");
    }
    for i in 0..8 {
        assert_eq!(s.get(&format!("/held/{i}")).status, 303);
    }
}

#[test]
fn a_lock_outlasting_the_busy_timeout_gives_503_with_retry_after_and_loses_nothing() {
    let dir = TempDir::new("lock-long");
    let db = dir.path().join("s.db");
    let s = Server::start(&db, &["--db-busy-timeout", "0.3"]);
    let lock = Lock::take(&db);
    let r = create(&s, "/late");
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(
        r.header("retry-after")
            .is_some_and(|v| v.parse::<u32>().is_ok())
    );
    let message = r.json()["error"].as_str().unwrap().to_owned();
    assert!(
        message.contains("locked") && message.contains("try again"),
        "{message}"
    );
    lock.release();
    assert_eq!(s.get("/late").status, 404, "nothing half-written");
    let listed = s.api("GET", "/-/api/rules?q=late", None).json();
    assert_eq!(listed["rules"].as_array().unwrap().len(), 0, "{listed}");
    let r = create(&s, "/late");
    assert_eq!(r.status, 201, "the retry succeeds: {}", r.text());
    assert_eq!(s.get("/late").status, 303);
}

fn rules_csv(dir: &TempDir, n: usize) -> String {
    let mut csv = String::from("path,to\n");
    for i in 0..n {
        csv.push_str(&format!("/imported/{i},https://example.org/i/{i}\n"));
    }
    dir.file("rules.csv", &csv).display().to_string()
}

#[test]
fn import_beside_a_running_server_and_api_writes_succeeds() {
    let dir = TempDir::new("import-beside");
    let db = dir.path().join("s.db");
    let s = Server::start(&db, &[]);
    let file = rules_csv(&dir, 5_000);
    let db_arg = db.display().to_string();
    let done = Arc::new(AtomicBool::new(false));
    let writer = {
        let (addr, done) = (s.addr, done.clone());
        std::thread::spawn(move || {
            let mut statuses = Vec::new();
            let mut i = 0;
            while !done.load(Ordering::Relaxed) || i < 8 {
                statuses.push((i, create_at(addr, &format!("/api/{i}")).status));
                i += 1;
            }
            statuses
        })
    };
    let (code, out, err) = cli(&["import", &file, "--db", &db_arg]);
    done.store(true, Ordering::Relaxed);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("5000 created"), "{out}");
    for (i, status) in writer.join().unwrap() {
        assert_eq!(status, 201, "API create {i} beside the import");
    }
    assert!(
        eventually(Duration::from_secs(30), || s.get("/imported/4999").status
            == 303),
        "the server picks the import up"
    );
}

#[test]
fn import_waits_for_a_lock_held_longer_than_its_retries_take() {
    let dir = TempDir::new("import-wait");
    let db = dir.path().join("s.db");
    let _s = Server::start(&db, &[]);
    let file = rules_csv(&dir, 10);
    let lock = Lock::take(&db);
    let db_arg = db.display().to_string();
    let import = std::thread::spawn(move || cli(&["import", &file, "--db", &db_arg]));
    // Three attempts a second apart would all fail at once; each waits (5 s by default).
    std::thread::sleep(Duration::from_secs(3));
    lock.release();
    let (code, out, err) = import.join().unwrap();
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("10 created"), "{out}");
}

#[test]
fn import_under_a_lasting_lock_exits_75_with_what_to_do_and_imports_nothing() {
    let dir = TempDir::new("import-locked");
    let db = dir.path().join("s.db");
    let s = Server::start(&db, &[]);
    let file = rules_csv(&dir, 10);
    let lock = Lock::take(&db);
    let db_arg = db.display().to_string();
    let (code, out, err) = cli(&["import", &file, "--db", &db_arg, "--db-busy-timeout", "0.2"]);
    lock.release();
    assert_eq!(code, 75, "{out}{err}");
    assert!(
        err.contains("locked by another writer") && err.contains("nothing was imported"),
        "{err}"
    );
    assert!(err.contains("Run the import again"), "{err}");
    let listed = s.api("GET", "/-/api/rules", None).json();
    assert_eq!(listed["rules"].as_array().unwrap().len(), 0, "{listed}");
}
