//! Durability and lifecycle: acknowledged writes survive SIGKILL, SIGTERM finishes requests in
//! flight, counters are written at shutdown, and `seeother import` beside a running server is
//! picked up without a restart.

mod serve_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use serve_support::{BIN, Server, TOKEN, TempDir, cli, eventually, parse};

#[test]
fn acknowledged_creates_survive_sigkill() {
    const N: usize = 40;
    let dir = TempDir::new("kill9");
    let db = dir.path().join("s.db");
    let mut s = Server::start(&db, &[]);
    for i in 0..N {
        let body = format!(r#"{{"path": "/k/{i}", "to": "https://example.org/{i}"}}"#);
        let r = s.api("POST", "/-/api/rules", Some(&body));
        assert_eq!(r.status, 201, "{}", r.text());
    }
    // Killed right after the last acknowledgement: no shutdown, no flush.
    s.kill9();
    let s = Server::start(&db, &[]);
    assert!(
        s.stdout
            .iter()
            .any(|l| l.contains(&format!("rules:  {N} "))),
        "{:?}",
        s.stdout
    );
    for i in 0..N {
        let r = s.get(&format!("/k/{i}"));
        assert_eq!(r.status, 303, "rule {i} lost");
        assert_eq!(
            r.header("location"),
            Some(format!("https://example.org/{i}").as_str())
        );
    }
}

#[test]
fn sigterm_finishes_requests_in_flight_then_exits() {
    let dir = TempDir::new("term");
    let mut s = Server::start(&dir.path().join("s.db"), &[]);
    let body = "path,to\n/late,https://example.org/late\n";
    let mut c = TcpStream::connect(s.addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    write!(
        c,
        "POST /-/api/import?format=csv HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    c.write_all(&body.as_bytes()[..10]).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    s.signal("TERM");
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        s.child.try_wait().unwrap().is_none(),
        "the server waits for the request in flight"
    );
    assert!(
        TcpStream::connect_timeout(&s.addr, Duration::from_secs(1)).is_err(),
        "no new connections once shutting down"
    );
    c.write_all(&body.as_bytes()[10..]).unwrap();
    let mut raw = Vec::new();
    c.read_to_end(&mut raw).unwrap();
    let r = parse(&raw);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["created"], 1);
    let status = s
        .wait_exit(Duration::from_secs(10))
        .expect("server exits after SIGTERM");
    assert!(status.success(), "{status:?}");
}

#[test]
fn sigterm_right_after_the_start_up_message_stops_the_server_gracefully() {
    // A supervisor may stop the server the moment it says it listens: the signal must be
    // handled (exit 0, counters written), not take its default action (killed by SIGTERM).
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let dir = TempDir::new("term-early");
    for round in 0..5 {
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--db"])
            .arg(dir.path().join("s.db"))
            .env("SEEOTHER_ADMIN_TOKEN", TOKEN)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut first = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert!(
            first.starts_with("seeother serve: listening on "),
            "{first:?}"
        );
        let kill = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        let status = child.wait().unwrap();
        assert!(status.success(), "round {round}: {status:?}");
    }
}

#[test]
fn sigterm_closes_idle_keep_alive_connections_at_once() {
    let dir = TempDir::new("term-idle");
    let rules = dir.file("r.csv", "path,to\n/a,https://example.org/a\n");
    let mut s = Server::start(
        &dir.path().join("s.db"),
        &["--rules", rules.to_str().unwrap()],
    );
    // Keep-alive connections resting between requests: one answered on the direct HTTP/1.1
    // path, one handed to hyper (its first request has a chunked body).
    let mut direct = TcpStream::connect(s.addr).unwrap();
    let mut handed = TcpStream::connect(s.addr).unwrap();
    for c in [&mut direct, &mut handed] {
        c.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    }
    direct
        .write_all(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    handed
        .write_all(
            b"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n",
        )
        .unwrap();
    for c in [&mut direct, &mut handed] {
        let mut head = [0u8; 12];
        c.read_exact(&mut head).unwrap();
        assert_eq!(&head, b"HTTP/1.1 303");
    }
    let started = std::time::Instant::now();
    s.signal("TERM");
    let status = s
        .wait_exit(Duration::from_secs(10))
        .expect("server exits after SIGTERM");
    assert!(status.success(), "{status:?}");
    // Not held for the 30 s grace period by connections with nothing in flight.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    for c in [&mut direct, &mut handed] {
        let mut rest = Vec::new();
        let _ = c.read_to_end(&mut rest);
        let rest = String::from_utf8_lossy(&rest);
        // The rest of the first answer, then the end of the connection.
        assert!(
            rest.contains("location: https://example.org/a\r\n"),
            "{rest}"
        );
        assert!(!rest.contains("HTTP/1.1"), "{rest}");
    }
}

#[test]
fn counters_are_kept_across_a_clean_restart() {
    let dir = TempDir::new("hits");
    let db = dir.path().join("s.db");
    let rules = dir.file(
        "r.toml",
        "[[rules]]\npath = \"/h\"\nto = \"https://example.org/h\"\n",
    );
    let mut s = Server::start(
        &db,
        &[
            "--rules",
            rules.to_str().unwrap(),
            "--flush-interval",
            "3600",
        ],
    );
    for _ in 0..5 {
        assert_eq!(s.get("/h").status, 303);
    }
    s.signal("INT");
    assert!(s.wait_exit(Duration::from_secs(10)).unwrap().success());
    let s = Server::start(&db, &["--rules", rules.to_str().unwrap()]);
    assert!(
        s.stdout.iter().any(|l| l.contains("1 unchanged")),
        "{:?}",
        s.stdout
    );
    let list = s.api("GET", "/-/api/rules", None).json();
    assert_eq!(list["rules"][0]["hits"], 5, "{list}");
}

#[test]
fn cli_import_beside_a_running_server_is_picked_up() {
    let dir = TempDir::new("cli-import");
    let db = dir.path().join("s.db");
    let s = Server::start(&db, &[]);
    assert_eq!(s.get("/from-cli").status, 404);
    let file = dir.file("r.csv", "path,to\n/from-cli,https://example.org/cli\n");
    let (code, out, err) = cli(&[
        "import",
        file.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("1 created"), "{out}");
    assert!(
        eventually(Duration::from_secs(10), || s.get("/from-cli").status == 303),
        "the server reloads after a change by another process"
    );
}

/// The names and SQL of the store's indexes and triggers, and its `PRAGMA integrity_check`.
fn schema_and_integrity(db: &std::path::Path) -> (Vec<(String, Option<String>)>, String) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let schema = conn
        .prepare(
            "SELECT name, sql FROM sqlite_schema WHERE type IN ('index', 'trigger') ORDER BY name",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let integrity = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    (schema, integrity)
}

#[test]
fn an_import_killed_midway_leaves_the_store_as_it_was() {
    import_killed_midway(false);
}

#[test]
fn an_import_beside_another_connection_killed_midway_leaves_the_store_as_it_was() {
    import_killed_midway(true);
}

/// `seeother import` of a large file into an empty store, killed before it commits; with
/// `beside`, while another connection has the store open (as a running server does).
fn import_killed_midway(beside: bool) {
    let dir = TempDir::new("import-kill9");
    let db = dir.path().join("s.db");
    let empty = dir.file("empty.csv", "path,to\n");
    let (code, out, err) = cli(&[
        "import",
        empty.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let (before, ok) = schema_and_integrity(&db);
    assert_eq!(ok, "ok");
    assert!(before.iter().any(|(n, _)| n == "rules_key"), "{before:?}");

    // A large file into the empty store, with no other connection: its rules written before
    // the indexes, which the transaction set aside, on a rollback journal (no WAL). Killed
    // once it has written pages into the database file itself, before it commits: the next
    // open finds the hot journal and rolls it back.
    let mut text = String::from("path,to\n");
    for i in 0..300_000 {
        text.push_str(&format!("/id/{i},https://example.org/{i}\n"));
    }
    let file = dir.file("large.csv", &text);
    // A connection that has read the store keeps it in WAL mode while it is open.
    let other = beside.then(|| {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.query_row("SELECT count(*) FROM rules", [], |r| r.get::<_, i64>(0))
            .unwrap();
        c
    });
    let mut import = std::process::Command::new(BIN)
        .args([
            "import",
            file.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let journal = dir.path().join("s.db-journal");
    let wal = dir.path().join("s.db-wal");
    let size = |f: &Path| std::fs::metadata(f).map_or(0, |m| m.len());
    let empty_size = size(&db);
    let written = eventually(Duration::from_secs(60), || {
        if beside {
            // Beside another connection, in WAL mode, as every write.
            size(&wal) > 4 << 20
        } else {
            journal.exists() && size(&db) > empty_size + (4 << 20)
        }
    });
    assert!(
        written,
        "the import wrote its pages (beside another connection: {beside})"
    );
    assert!(
        import.try_wait().unwrap().is_none(),
        "killed before it ended"
    );
    import.kill().unwrap();
    import.wait().unwrap();
    drop(other);

    // Nothing of it, and every index and trigger as before.
    let (after, ok) = schema_and_integrity(&db);
    assert_eq!(ok, "ok");
    assert_eq!(after, before);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let rules: i64 = conn
        .query_row("SELECT count(*) FROM rules", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rules, 0);
    drop(conn);
    let one = dir.file("one.csv", "path,to\n/id/1,https://example.org/1\n");
    let (code, out, err) = cli(&[
        "import",
        one.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("1 created"), "{out}");
}
