//! `seeother serve` answering identifiers over real sockets: every rule kind, host scoping,
//! precedence, content negotiation, methods, query handling, 404 and 410; a `--rules` file
//! unchanged since the last start is not imported again.

mod admin_support;
mod serve_support;

use std::path::Path;
use std::time::Duration;

use serve_support::{Server, TempDir};

const RULES: &str = r#"
[[rules]]
path = "/id/berlin"
to = "https://example.org/page/berlin"
described_by = true
cache_control = "max-age=3600"

[[rules.variants]]
type = "text/turtle"
to = "https://example.org/data/berlin.ttl"

[[rules]]
pattern = "/id/{name}"
to = "https://example.org/page/{name}"

[[rules.variants]]
type = "text/turtle"
to = "https://example.org/data/{name}.ttl"

[[rules]]
prefix = "/id/"
to = "https://example.org/fallback/"

[[rules]]
prefix = "/docs/"
to = "https://new.example.org/manual/"
status = 308
query = "drop"

[[rules]]
prefix = "/docs/api/"
to = "https://api.example.org/"
status = 301

[[rules]]
host = "id.example.org"
path = "/go"
to = "https://example.org/scoped"
status = 302

[[rules]]
path = "/go"
to = "https://example.org/unscoped"
status = 307

[[rules]]
path = "/id/withdrawn"
to = "https://example.org/old"
gone = true
"#;

fn server(dir: &TempDir) -> Server {
    let rules = dir.file("rules.toml", RULES);
    Server::start(
        &dir.path().join("s.db"),
        &["--rules", rules.to_str().unwrap()],
    )
}

#[test]
fn kinds_precedence_and_hosts() {
    let dir = TempDir::new("kinds");
    let s = server(&dir);
    assert!(
        s.stdout.iter().any(|l| l.contains("8 created")),
        "{:?}",
        s.stdout
    );

    let r = s.get("/id/berlin");
    assert_eq!(r.status, 303);
    assert_eq!(
        r.header("location"),
        Some("https://example.org/page/berlin")
    );
    assert_eq!(r.header("cache-control"), Some("max-age=3600"));
    assert_eq!(
        r.header("link"),
        Some("<https://example.org/page/berlin>; rel=\"describedby\"")
    );
    assert_eq!(r.header("vary"), Some("Accept"));

    // Exact > pattern > prefix.
    assert_eq!(
        s.get("/id/rome").header("location"),
        Some("https://example.org/page/rome")
    );
    assert_eq!(
        s.get("/id/rome/extra").header("location"),
        Some("https://example.org/fallback/rome/extra")
    );
    // Longest prefix first, each with its own status.
    let r = s.get("/docs/api/v2/users");
    assert_eq!(
        (r.status, r.header("location")),
        (301, Some("https://api.example.org/v2/users"))
    );
    let r = s.get("/docs/guide/intro.html");
    assert_eq!(
        (r.status, r.header("location")),
        (308, Some("https://new.example.org/manual/guide/intro.html"))
    );
    // Host scoping (port and case ignored).
    let r = s.request("GET", "/go", &[("Host", "ID.example.org:8303")], b"");
    assert_eq!(
        (r.status, r.header("location")),
        (302, Some("https://example.org/scoped"))
    );
    let r = s.request("GET", "/go", &[("Host", "other.example.org")], b"");
    assert_eq!(
        (r.status, r.header("location")),
        (307, Some("https://example.org/unscoped"))
    );
}

#[test]
fn negotiation_over_the_wire() {
    let dir = TempDir::new("conneg");
    let s = server(&dir);
    let loc = |accept: Option<&str>| {
        let headers: Vec<(&str, &str)> = accept.map(|a| ("Accept", a)).into_iter().collect();
        let r = s.request("GET", "/id/paris", &headers, b"");
        assert_eq!(r.status, 303);
        assert_eq!(r.header("vary"), Some("Accept"));
        r.header("location").unwrap().to_owned()
    };
    let page = "https://example.org/page/paris";
    let ttl = "https://example.org/data/paris.ttl";
    assert_eq!(loc(None), page);
    assert_eq!(loc(Some("*/*")), page);
    assert_eq!(loc(Some("text/html,application/xhtml+xml,*/*;q=0.8")), page);
    assert_eq!(loc(Some("text/turtle")), ttl);
    assert_eq!(loc(Some("text/turtle;q=0, */*")), page);
    assert_eq!(loc(Some("text/html;q=0, text/*;q=0.5")), ttl);
    assert_eq!(loc(Some("text/*")), page);
}

#[test]
fn every_method_head_post_and_query() {
    let dir = TempDir::new("methods");
    let s = server(&dir);
    let get = s.get("/id/berlin");
    let head = s.request("HEAD", "/id/berlin", &[], b"");
    assert_eq!(head.status, 303);
    assert!(head.body.is_empty(), "HEAD has no body");
    assert_eq!(head.header("location"), get.header("location"));
    assert_eq!(head.header("content-length"), get.header("content-length"));

    let post = s.request(
        "POST",
        "/id/berlin",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        b"x=1",
    );
    assert_eq!(post.status, 303);
    assert_eq!(
        post.header("location"),
        Some("https://example.org/page/berlin")
    );
    assert!(
        post.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    let note = post.text();
    assert!(
        note.contains("<a href=\"https://example.org/page/berlin\">"),
        "303 carries the hypertext note: {note}"
    );
    for m in ["PUT", "DELETE", "OPTIONS", "PATCH"] {
        let r = s.request(m, "/id/rome", &[], b"");
        assert_eq!(r.status, 303, "{m}");
        assert!(r.text().contains("https://example.org/page/rome"), "{m}");
    }

    assert_eq!(
        s.get("/id/rome?lang=de&x=1").header("location"),
        Some("https://example.org/page/rome?lang=de&x=1")
    );
    assert_eq!(
        s.get("/docs/a?utm=1").header("location"),
        Some("https://new.example.org/manual/a"),
        "query = drop"
    );
}

#[test]
fn unknown_and_withdrawn() {
    let dir = TempDir::new("404");
    let s = server(&dir);
    let r = s.get("/nothing/here");
    assert_eq!(r.status, 404);
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
    assert!(r.text().contains("/nothing/here"));
    assert!(r.header("location").is_none());
    let r = s.get("/id/withdrawn");
    assert_eq!(r.status, 410);
    assert!(r.header("location").is_none());
    let r = s.request("HEAD", "/nothing", &[], b"");
    assert_eq!(r.status, 404);
    assert!(r.body.is_empty());
    // `/-/admin` belongs to the admin pages, never to a rule: unsigned, it sends to sign-in.
    let r = s.get("/-/admin");
    assert_eq!(r.status, 303);
    assert!(
        r.header("location")
            .unwrap()
            .starts_with("/-/admin/sign-in")
    );
}

#[test]
fn keep_alive_serves_many_requests_on_one_connection() {
    use std::io::{Read, Write};
    let dir = TempDir::new("keepalive");
    let s = server(&dir);
    let mut c = std::net::TcpStream::connect(s.addr).unwrap();
    c.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut all = String::new();
    for i in 0..3 {
        let close = if i == 2 { "Connection: close\r\n" } else { "" };
        write!(c, "GET /id/n{i} HTTP/1.1\r\nHost: x\r\n{close}\r\n").unwrap();
    }
    c.read_to_string(&mut all).unwrap();
    for i in 0..3 {
        assert!(
            all.contains(&format!("location: https://example.org/page/n{i}\r\n")),
            "{all}"
        );
    }
    assert_eq!(all.matches("HTTP/1.1 303 See Other").count(), 3);
}

#[test]
fn oversized_headers_are_refused_without_harm() {
    let dir = TempDir::new("limits");
    let s = server(&dir);
    let big = "a".repeat(64 * 1024);
    let req =
        format!("GET /id/berlin HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\nConnection: close\r\n\r\n");
    let mut c = std::net::TcpStream::connect(s.addr).unwrap();
    c.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    use std::io::{Read, Write};
    let _ = c.write_all(req.as_bytes());
    let mut raw = Vec::new();
    let _ = c.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 431"),
        "{text}"
    );
    // The server is still fine.
    assert_eq!(s.get("/id/berlin").status, 303);
}

#[test]
fn slow_and_idle_connections_are_closed() {
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};
    let dir = TempDir::new("timeouts");
    let s = Server::start(
        &dir.path().join("s.db"),
        &["--header-timeout", "0.5", "--idle-timeout", "1"],
    );
    // A client that never finishes its header block.
    let mut slow = std::net::TcpStream::connect(s.addr).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    slow.write_all(b"GET /x HTTP/1.1\r\nHost: x\r\n").unwrap();
    let started = Instant::now();
    let mut buf = Vec::new();
    let _ = slow.read_to_end(&mut buf);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "closed by the header timeout"
    );
    // A keep-alive connection left idle after a request.
    let mut idle = std::net::TcpStream::connect(s.addr).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    idle.write_all(b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let started = Instant::now();
    let mut buf = Vec::new();
    let _ = idle.read_to_end(&mut buf);
    assert!(String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 404"));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "closed by the idle timeout"
    );
}

/// Start on `dir`'s database with `--rules rules` and check the line it printed for it.
fn start_with_rules(dir: &TempDir, rules: &Path, expect: &str) -> Server {
    let s = Server::start(
        &dir.path().join("s.db"),
        &["--rules", rules.to_str().unwrap()],
    );
    let line = s
        .stdout
        .iter()
        .find(|l| l.trim_start().starts_with("loaded "))
        .unwrap_or_else(|| panic!("no 'loaded' line in {:?}", s.stdout));
    assert!(
        line.ends_with(expect),
        "{line:?} should end with {expect:?}"
    );
    s
}

/// SIGTERM, and wait for the server to write its counters and exit.
fn stop(mut s: Server) {
    s.signal("TERM");
    let status = s
        .wait_exit(Duration::from_secs(30))
        .expect("exits on SIGTERM");
    assert!(status.success(), "{status:?}");
}

#[test]
fn an_unchanged_rules_file_is_skipped_at_restart() {
    let dir = TempDir::new("skip");
    let rules = dir.file("rules.toml", RULES);
    let s = start_with_rules(&dir, &rules, "8 created, 0 updated, 0 unchanged");
    assert_eq!(s.get("/id/berlin").status, 303);
    stop(s);

    let s = start_with_rules(
        &dir,
        &rules,
        "0 created, 0 updated, 8 unchanged (file unchanged, skipped)",
    );
    assert!(
        s.stdout.iter().any(|l| l.contains("rules:  8 ")),
        "{:?}",
        s.stdout
    );
    // The rules still answer, from the store.
    assert_eq!(
        s.get("/id/berlin").header("location"),
        Some("https://example.org/page/berlin")
    );
    assert_eq!(s.get("/id/withdrawn").status, 410);
    stop(s);
    // The same file by another name for the same file is the same file.
    let other_name = dir.path().join(".").join("rules.toml");
    start_with_rules(
        &dir,
        &other_name,
        "0 created, 0 updated, 8 unchanged (file unchanged, skipped)",
    );
}

#[test]
fn a_rule_changed_through_the_api_is_set_back_by_the_file_at_restart() {
    let dir = TempDir::new("edited");
    let rules = dir.file("rules.toml", RULES);
    let s = start_with_rules(&dir, &rules, "8 created, 0 updated, 0 unchanged");
    let list = s.api("GET", "/-/api/rules?limit=100", None).json();
    let id = list["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["path"] == "/id/berlin")
        .expect("the rule for /id/berlin")["id"]
        .as_i64()
        .unwrap();
    let r = s.api(
        "PUT",
        &format!("/-/api/rules/{id}"),
        Some(r#"{"path": "/id/berlin", "to": "https://example.org/edited"}"#),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        s.get("/id/berlin").header("location"),
        Some("https://example.org/edited")
    );
    stop(s);

    // The file did not change, the store did: the file is applied again and wins.
    let s = start_with_rules(&dir, &rules, "0 created, 1 updated, 7 unchanged");
    assert_eq!(
        s.get("/id/berlin").header("location"),
        Some("https://example.org/page/berlin")
    );
    stop(s);
    // Now file and store agree again.
    start_with_rules(
        &dir,
        &rules,
        "0 created, 0 updated, 8 unchanged (file unchanged, skipped)",
    );
}

#[test]
fn a_changed_rules_file_is_imported_at_restart() {
    let dir = TempDir::new("changed");
    let rules = dir.file("rules.toml", RULES);
    let s = start_with_rules(&dir, &rules, "8 created, 0 updated, 0 unchanged");
    assert_eq!(
        s.get("/go").header("location"),
        Some("https://example.org/unscoped")
    );
    stop(s);

    let changed = RULES.replace(
        "to = \"https://example.org/unscoped\"",
        "to = \"https://example.org/moved\"",
    );
    assert_ne!(changed, RULES);
    std::fs::write(&rules, changed).unwrap();
    let s = start_with_rules(&dir, &rules, "0 created, 1 updated, 7 unchanged");
    assert_eq!(
        s.get("/go").header("location"),
        Some("https://example.org/moved")
    );
    stop(s);
    // A change that changes no rule (a comment) is read again, and changes nothing.
    let commented = format!("# moved /go\n{}", std::fs::read_to_string(&rules).unwrap());
    std::fs::write(&rules, commented).unwrap();
    start_with_rules(&dir, &rules, "0 created, 0 updated, 8 unchanged");
}

/// `seeother serve --rules file`, expected to refuse the file and exit: its exit code and
/// standard error. A server that starts instead is stopped after 20 s (exit code `None`).
fn serve_refusing(db: &Path, file: &str) -> (Option<i32>, String) {
    use std::io::Read;
    let mut child = std::process::Command::new(serve_support::BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(db)
        .args(["--rules", file])
        .env_remove("SEEOTHER_ADMIN_TOKEN")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run seeother serve");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (code, err)
}

/// Rules refused on every way in (RFC 9110 §15.4.4 answers only for a rule that can answer):
/// a path under `/-/`, a target that starts with a host but has no scheme, a target over
/// 8 KiB. Each is tried in a TOML, JSON and CSV file given to `serve --rules`, to
/// `seeother import`, to the API's import and rule creation, and to the admin form.
#[test]
fn rules_that_can_never_answer_are_refused_on_every_input_path() {
    let dir = TempDir::new("never");
    let long = format!("https://example.org/{}", "a".repeat(8200));
    let cases: [(&str, &str, &str, &str); 4] = [
        (
            "path",
            "/-/healthz",
            "https://example.org/x",
            "paths under `/-/` belong to the server",
        ),
        (
            "prefix",
            "/-/",
            "https://example.org/x/",
            "paths under `/-/` belong to the server",
        ),
        (
            "path",
            "/d",
            "example.org/d",
            "did you mean https://example.org/d?",
        ),
        (
            "path",
            "/long",
            &long,
            "8220 bytes long; the limit is 8192 bytes",
        ),
    ];
    let mut s = Server::start(&dir.path().join("s.db"), &[]);
    let admin = admin_support::Admin::sign_in(&s);
    let db = dir.path().join("cli.db");
    for (kind, matcher, to, message) in cases {
        let files = [
            (
                "toml",
                format!("[[rules]]\n{kind} = {matcher:?}\nto = {to:?}\n"),
            ),
            (
                "json",
                format!("{{\"rules\": [{{\"{kind}\": {matcher:?}, \"to\": {to:?}}}]}}"),
            ),
            ("csv", format!("{kind},to\n{matcher},{to}\n")),
        ];
        for (ext, text) in files {
            let file = dir.file(&format!("never.{ext}"), &text);
            let file = file.to_str().unwrap();
            let (code, err) = serve_refusing(&dir.path().join("never.db"), file);
            assert_ne!(
                code,
                Some(0),
                "serve --rules {ext} {matcher} {to:.40}: {err}"
            );
            assert!(err.contains(message), "serve --rules {ext}: {err}");
            let (code, _, err) =
                serve_support::cli(&["import", file, "--db", db.to_str().unwrap()]);
            assert_eq!(code, 1, "import {ext} {matcher}");
            assert!(err.contains(message), "import {ext}: {err}");
            assert!(
                err.contains(&format!("never.{ext}:")),
                "with the file's line: {err}"
            );
            let auth = format!("Bearer {}", serve_support::TOKEN);
            let r = s.request(
                "POST",
                &format!("/-/api/import?format={ext}"),
                &[("Authorization", &auth)],
                text.as_bytes(),
            );
            assert_eq!(r.status, 422, "API import {ext}: {}", r.text());
            assert!(
                r.json()["problems"][0]["message"]
                    .as_str()
                    .unwrap()
                    .contains(message),
                "{}",
                r.text()
            );
        }
        let body = serde_json::json!({ kind: matcher, "to": to }).to_string();
        let r = s.api("POST", "/-/api/rules", Some(&body));
        assert_eq!(r.status, 422, "API {matcher} {to:.40}: {}", r.text());
        assert!(
            r.json()["error"].as_str().unwrap().contains(message),
            "{}",
            r.text()
        );
        let r = admin.submit(
            "/-/admin/rules",
            &admin_support::rule_form(&[("kind", kind), ("matcher", matcher), ("to", to)]),
        );
        assert_eq!(r.status, 422, "admin form {matcher} {to:.40}");
        let html = r.text();
        let shown = message.replace('`', "");
        assert!(
            html.contains(message) || html.contains(&shown),
            "admin form {matcher}: {message} in {html}"
        );
    }
    assert_eq!(admin_support::rule_count(&s), 0, "nothing was stored");
    let (_, out, _) = serve_support::cli(&["export", "--db", db.to_str().unwrap()]);
    assert!(!out.contains("to ="), "nothing was imported: {out}");
    // The server still answers `/-/healthz` itself.
    assert_eq!(s.get("/-/healthz").status, 200);
    // Real relative targets stay allowed.
    for (i, to) in ["/d", "d/e", "../x", "?q", "./example.org/d"]
        .into_iter()
        .enumerate()
    {
        let body = serde_json::json!({ "path": format!("/rel{i}"), "to": to }).to_string();
        let r = s.api("POST", "/-/api/rules", Some(&body));
        assert_eq!(r.status, 201, "{to}: {}", r.text());
        assert_eq!(s.get(&format!("/rel{i}")).header("location"), Some(to));
    }
    s.kill9();
}

/// A CSV file of `n` rules `/big/I` → `https://example.org/VERSION/records/I/full-record.html` (about 70 bytes a rule).
fn big_file(dir: &TempDir, name: &str, n: usize, version: &str, last: &str) -> std::path::PathBuf {
    let mut csv = String::from("path,to\n");
    for i in 0..n {
        csv.push_str(&format!(
            "/big/{i},https://example.org/{version}/records/{i}/full-record.html\n"
        ));
    }
    csv.push_str(last);
    dir.file(name, &csv)
}

/// A file past the size from which `serve --rules` writes it while reading it and loads the
/// index from the store after: every rule answers, a changed file's targets replace the old,
/// and a bad rule at the end leaves the store as it was and names its line.
#[test]
fn a_large_rules_file_is_imported_streamed_and_served_whole() {
    const N: usize = 70_000;
    let dir = TempDir::new("big");
    let v1 = big_file(&dir, "v1.csv", N, "v1", "");
    assert!(
        std::fs::metadata(&v1).unwrap().len() > 4 << 20,
        "past the streamed size"
    );
    let s = start_with_rules(&dir, &v1, &format!("{N} created, 0 updated, 0 unchanged"));
    for i in [0, N / 2, N - 1] {
        assert_eq!(
            s.get(&format!("/big/{i}")).header("location"),
            Some(format!("https://example.org/v1/records/{i}/full-record.html").as_str())
        );
    }
    // A change through the API beside the file's rules, kept by the next file.
    let r = s.api(
        "POST",
        "/-/api/rules",
        Some(r#"{"path": "/mine", "to": "https://example.org/mine"}"#),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    stop(s);

    let bad = big_file(&dir, "bad.csv", N, "v2", "/big/x,javascript:alert(1)\n");
    let db = dir.path().join("s.db");
    let (code, err) = serve_refusing(&db, bad.to_str().unwrap());
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(&format!(":{}", N + 2)),
        "names the line: {err}"
    );

    let v2 = big_file(&dir, "v2.csv", N, "v2", "");
    let s = start_with_rules(&dir, &v2, &format!("0 created, {N} updated, 0 unchanged"));
    for i in [0, N / 2, N - 1] {
        assert_eq!(
            s.get(&format!("/big/{i}")).header("location"),
            Some(format!("https://example.org/v2/records/{i}/full-record.html").as_str())
        );
    }
    assert_eq!(
        s.get("/mine").header("location"),
        Some("https://example.org/mine")
    );
    stop(s);
}
