//! The store under pressure, over real sockets against the built `seeother serve`: a flood
//! of distinct unknown paths keeps the database small and the backlog bounded, and writes
//! wait for another process's lock on the database (503 with Retry-After when it lasts,
//! nothing lost), `seeother import` included.

mod serve_support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use serve_support::{Resp, Server, TOKEN, TempDir, cli, eventually, exchange};

/// Ask for `n` distinct unknown paths (`/{tag}/{i}/` then `x`s up to `len` bytes), pipelined
/// `HEAD`s 100 to a connection; every answer must be a 404.
fn flood(addr: SocketAddr, tag: &str, n: usize, len: usize) {
    for start in (0..n).step_by(100) {
        let end = (start + 100).min(n);
        let mut req = Vec::new();
        for i in start..end {
            let mut path = format!("/{tag}/{i}/");
            path.push_str(&"x".repeat(len.saturating_sub(path.len())));
            let close = if i + 1 == end {
                "Connection: close\r\n"
            } else {
                ""
            };
            write!(
                req,
                "HEAD {path} HTTP/1.1\r\nHost: flood.example\r\n{close}\r\n"
            )
            .unwrap();
        }
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s.write_all(&req).unwrap();
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).unwrap();
        let answers = raw.windows(13).filter(|w| w == b"HTTP/1.1 404 ").count();
        assert_eq!(answers, end - start, "{}", String::from_utf8_lossy(&raw));
    }
}

/// (rows, longest path in bytes) of the unknown-path counters.
fn unknown_rows(db: &Path) -> (i64, i64) {
    Connection::open(db)
        .unwrap()
        .query_row(
            "SELECT count(*), coalesce(max(length(CAST(path AS BLOB))), 0) FROM unknown_paths",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
}

/// The value of the metric line starting with `name ` in `/-/metrics`.
fn metric(s: &Server, name: &str) -> Option<u64> {
    s.get("/-/metrics")
        .text()
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// Stop the server with SIGTERM (which writes the counters) and wait for it.
fn stop(s: &mut Server) {
    s.signal("TERM");
    let status = s.wait_exit(Duration::from_secs(30)).expect("exits");
    assert!(status.success(), "{status:?}");
}

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
fn a_flood_of_distinct_unknown_paths_keeps_the_store_small_and_api_writes_succeed() {
    let dir = TempDir::new("flood");
    let db = dir.path().join("s.db");
    let mut s = Server::start(&db, &["--unknown-rows", "1000", "--unknown-paths", "2000"]);
    let addr = s.addr;
    for _ in 0..20 {
        flood(addr, "popular", 1, 10);
    }
    let flooding = std::thread::spawn(move || flood(addr, "scan", 8_000, 1_500));
    let mut took = Vec::new();
    let mut i = 0;
    while !flooding.is_finished() && i < 50 {
        let started = Instant::now();
        let r = create(&s, &format!("/during/{i}"));
        took.push(started.elapsed());
        assert_eq!(r.status, 201, "{}", r.text());
        i += 1;
    }
    flooding.join().unwrap();
    took.sort();
    if let Some(p50) = took.get(took.len() / 2) {
        println!(
            "{} API creates during the flood: p50 {p50:?}, max {:?}",
            took.len(),
            took.last().unwrap()
        );
    }
    stop(&mut s);
    let (rows, longest) = unknown_rows(&db);
    let bytes = file_size(&db) + file_size(&dir.path().join("s.db-wal"));
    println!(
        "8,000 distinct 1,500-byte paths: {rows} rows, longest {longest} bytes, db+wal {bytes} bytes"
    );
    assert!(rows <= 1000, "{rows} rows kept, cap 1000");
    assert!(
        longest <= 512,
        "paths are cut to 512 bytes, found {longest}"
    );
    assert!(bytes < 4 << 20, "database and WAL take {bytes} bytes");
    let popular: i64 = Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT hits FROM unknown_paths WHERE path LIKE '/popular/%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(popular, 20, "the path asked for most is kept");
}

#[test]
fn flushes_failing_on_a_locked_database_drop_and_count_instead_of_growing() {
    let dir = TempDir::new("flood-locked");
    let db = dir.path().join("s.db");
    let s = Server::start(&db, &["--unknown-paths", "100", "--db-busy-timeout", "0.2"]);
    let lock = Lock::take(&db);
    let mut round = 0;
    let dropped = eventually(Duration::from_secs(60), || {
        flood(s.addr, &format!("locked{round}"), 300, 20);
        round += 1;
        metric(&s, "seeother_unknown_dropped_total").is_some_and(|n| n > 0)
    });
    assert!(
        dropped,
        "no drop counted in seeother_unknown_dropped_total after {round} rounds"
    );
    lock.release();
    assert!(
        eventually(Duration::from_secs(30), || unknown_rows(&db).0 > 0),
        "counters are written once the lock is gone"
    );
    let rows = unknown_rows(&db).0;
    assert!(
        rows <= 100,
        "{rows} rows: the backlog written is at most --unknown-paths"
    );
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

#[test]
fn creates_queued_behind_a_blocked_one_answer_within_one_busy_timeout() {
    let dir = TempDir::new("lock-queued");
    let db = dir.path().join("s.db");
    let s = Server::start(&db, &["--db-busy-timeout", "1"]);
    let lock = Lock::take(&db);
    let started = Instant::now();
    let answers: Vec<_> = creates(&s, "queued", 8)
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    let slowest = started.elapsed();
    lock.release();
    for (i, (status, text)) in answers.iter().enumerate() {
        assert_eq!(*status, 503, "create {i}: {text}");
    }
    // One after the other, each with a busy timeout of its own, the last would answer
    // after 8 s; within one (and a wide margin for a slow machine), all by 4 s.
    assert!(
        slowest < Duration::from_secs(4),
        "the last 503 came after {slowest:?}"
    );
    assert_eq!(create(&s, "/queued/0").status, 201, "and a retry succeeds");
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
    // Writes wait for the import however slow the machine: this is about them not failing
    // at once (the busy timeout itself is tested above).
    let s = Server::start(&db, &["--db-busy-timeout", "60"]);
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
