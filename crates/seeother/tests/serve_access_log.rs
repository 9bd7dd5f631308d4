//! `--access-log`: every request a line, in JSON (the rule, `Location`, duration, client
//! address) or the combined format, from the direct HTTP/1.1 path, hyper's path and the
//! admin routes alike; written within a second and at shutdown; reopened on SIGHUP after
//! `logrotate` moved the file away.

mod serve_support;

use std::time::Duration;

use serve_support::{Server, TempDir, eventually};

const RULES: &str = "[[rules]]\npath = \"/a\"\nto = \"https://example.org/a\"\n";

fn lines(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn json_lines_carry_the_rule_location_duration_and_client() {
    let dir = TempDir::new("access-json");
    let rules = dir.file("rules.toml", RULES);
    let log = dir.path().join("access.log");
    let mut s = Server::start(
        &dir.path().join("s.db"),
        &[
            "--rules",
            rules.to_str().unwrap(),
            "--access-log",
            log.to_str().unwrap(),
            "--access-log-format",
            "json",
        ],
    );
    // The direct path (a plain GET), then hyper's (the next request on the connection asks
    // to close it, which the direct path hands over), a 404 and an admin route.
    let direct = serve_support::exchange(
        s.addr,
        b"GET /a?x=1 HTTP/1.1\r\nHost: h.example\r\nUser-Agent: probe/1\r\nReferer: https://r.example/\r\n\r\n\
          GET /a HTTP/1.1\r\nHost: h.example\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(direct.status, 303);
    let metrics = s.get("/-/metrics").text();
    assert!(
        metrics.contains("seeother_http1_direct_total 1"),
        "{metrics}"
    );
    assert_eq!(s.get("/nothing").status, 404);
    assert_eq!(s.get("/-/healthz").status, 200);
    assert!(eventually(Duration::from_secs(5), || lines(&log).len() == 5));
    let entries: Vec<serde_json::Value> = lines(&log)
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let rule = entries[0]["rule"].as_i64().expect("the rule's id");
    assert_eq!(entries[0]["status"], 303);
    assert_eq!(entries[0]["method"], "GET");
    assert_eq!(entries[0]["target"], "/a?x=1");
    assert_eq!(entries[0]["location"], "https://example.org/a?x=1");
    assert_eq!(entries[0]["client"], "127.0.0.1");
    assert_eq!(entries[0]["protocol"], "HTTP/1.1");
    assert_eq!(entries[0]["user_agent"], "probe/1");
    assert_eq!(entries[0]["referer"], "https://r.example/");
    assert!(entries[0]["duration_ms"].as_f64().unwrap() >= 0.0);
    assert!(entries[0]["bytes"].as_u64().unwrap() > 0);
    assert!(entries[0]["time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(entries[1]["rule"], rule);
    assert_eq!(entries[1]["host"], "h.example");
    assert!(entries[1]["user_agent"].is_null());
    assert_eq!(entries[2]["target"], "/-/metrics");
    assert_eq!(entries[3]["status"], 404);
    assert!(entries[3]["rule"].is_null());
    assert!(entries[3]["location"].is_null());
    assert_eq!(entries[4]["target"], "/-/healthz");
    assert_eq!(entries[4]["status"], 200);

    // At shutdown what is buffered is written.
    for _ in 0..50 {
        s.get("/a");
    }
    s.signal("TERM");
    assert!(s.wait_exit(Duration::from_secs(10)).unwrap().success());
    assert_eq!(lines(&log).len(), 55);
}

#[test]
fn combined_lines_and_a_reopen_on_sighup() {
    let dir = TempDir::new("access-combined");
    let rules = dir.file("rules.toml", RULES);
    let log = dir.path().join("access.log");
    let s = Server::start(
        &dir.path().join("s.db"),
        &[
            "--rules",
            rules.to_str().unwrap(),
            "--access-log",
            log.to_str().unwrap(),
        ],
    );
    assert_eq!(
        s.request("GET", "/a", &[("User-Agent", "a \"quoted\" agent")], b"")
            .status,
        303
    );
    assert!(eventually(Duration::from_secs(5), || lines(&log).len() == 1));
    let first = lines(&log)[0].clone();
    let line = &first;
    assert!(line.starts_with("127.0.0.1 - - ["), "{line}");
    assert!(line.contains(" +0000] \"GET /a HTTP/1.1\" 303 "), "{line}");
    assert!(
        line.ends_with(" \"-\" \"a \\x22quoted\\x22 agent\""),
        "{line}"
    );

    // logrotate: the file moved away, then SIGHUP; new lines go to a new file.
    let rotated = dir.path().join("access.log.1");
    std::fs::rename(&log, &rotated).unwrap();
    s.signal("HUP");
    assert!(eventually(Duration::from_secs(5), || {
        s.get("/a");
        !lines(&log).is_empty()
    }));
    // A request answered before the signal was handled may still go to the old file.
    let old = lines(&rotated);
    assert_eq!(old.first(), Some(&first), "{old:?}");
    assert!(lines(&log)[0].contains("\"GET /a HTTP/1.1\" 303 "));
}

#[test]
fn a_log_that_cannot_be_opened_stops_the_start() {
    let dir = TempDir::new("access-refused");
    let (code, _, err) = serve_support::cli(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--db",
        dir.path().join("s.db").to_str().unwrap(),
        "--access-log",
        dir.path().join("no/such/dir/access.log").to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("cannot open the access log"), "{err}");
    assert!(err.contains("--access-log"), "{err}");
    assert!(!dir.path().join("s.db").exists(), "nothing written");
}
