//! `seeother explain`, `import` and `export` as a CI job would run them, on SQLite and on a
//! private PostgreSQL cluster.

#[path = "../../seeother-server/tests/pg_support/mod.rs"]
mod pg_support;
mod serve_support;

use pg_support::Cluster;
use serve_support::{Server, TempDir, cli};

const RULES: &str = r#"
[[rules]]
path = "/id/berlin"
to = "https://example.org/page/berlin"

[[rules]]
pattern = "/id/{name}"
to = "https://example.org/page/{name}"

[[rules.variants]]
type = "text/turtle"
to = "https://example.org/data/{name}.ttl"

[[rules]]
prefix = "/id/"
to = "https://example.org/other/"

[[rules]]
host = "id.example.org"
path = "/go"
to = "https://example.org/scoped"
"#;

#[test]
fn explain_names_the_rule_the_reason_and_the_response() {
    let dir = TempDir::new("explain");
    let rules = dir.file("rules.toml", RULES);
    let r = rules.to_str().unwrap();
    let (code, out, err) = cli(&["explain", "--rules", r, "http://x.example/id/berlin"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("match:    rule 1 (path \"/id/berlin\", any host)"),
        "{out}"
    );
    assert!(
        out.contains("why:      the path is exactly the rule's path"),
        "{out}"
    );
    assert!(
        out.contains("outranks: rule 2 (pattern \"/id/{name}\""),
        "{out}"
    );
    assert!(out.contains("outranks: rule 3 (prefix \"/id/\""), "{out}");
    assert!(out.contains("HTTP/1.1 303 See Other"), "{out}");
    assert!(
        out.contains("location: https://example.org/page/berlin"),
        "{out}"
    );

    let (code, out, _) = cli(&[
        "explain",
        "--rules",
        r,
        "/id/rome?x=1",
        "-H",
        "Accept: text/turtle",
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("captures: name = \"rome\""), "{out}");
    assert!(out.contains("chosen:   text/turtle"), "{out}");
    assert!(
        out.contains("location: https://example.org/data/rome.ttl?x=1"),
        "{out}"
    );
    assert!(out.contains("vary: Accept"), "{out}");

    let (code, out, _) = cli(&["explain", "--rules", r, "http://id.example.org/go"]);
    assert_eq!(code, 0);
    assert!(out.contains("host id.example.org"), "{out}");
    let (code, out, _) = cli(&["explain", "--rules", r, "http://elsewhere.example/go"]);
    assert_eq!(code, 1, "no rule for another host");
    assert!(out.contains("match:    none"), "{out}");
    assert!(out.contains("HTTP/1.1 404 Not Found"), "{out}");
}

#[test]
fn explain_on_postgresql_reads_the_fleets_rules() {
    let pg = Cluster::start();
    let url = pg.create_db("explain");
    let dir = TempDir::new("explain-pg");
    let rules = dir.file("rules.toml", RULES);
    let (code, _, err) = cli(&["import", "--db", &url, rules.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = cli(&[
        "explain",
        "--db",
        &url,
        "http://x.example/id/rome",
        "-H",
        "Accept: text/turtle",
        "--expect-status",
        "303",
        "--expect-location",
        "https://example.org/data/rome.ttl",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("match:    rule 2 (pattern \"/id/{name}\""),
        "{out}"
    );
    // `postgresql://` is the same; an expectation that fails exits 1.
    let other = url.replacen("postgres://", "postgresql://", 1);
    let (code, out, _) = cli(&[
        "explain",
        "--db",
        &other,
        "/id/berlin",
        "--expect-status",
        "404",
    ]);
    assert_eq!(code, 1, "{out}");
    // A change made by another process is what the next explain sees.
    let (code, _, err) = cli(&[
        "import",
        "--db",
        &url,
        dir.file("more.csv", "path,to\n/id/new,https://example.org/new\n")
            .to_str()
            .unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = cli(&["explain", "--db", &url, "/id/new"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        explained(&out),
        Some((303, Some("https://example.org/new".to_owned())))
    );

    // A database that cannot be reached: exit 2, saying so, and no password shown.
    pg.stop();
    let secret = url.replacen('@', ":s3cret@", 1);
    let (code, out, err) = cli(&["explain", "--db", &secret, "/id/berlin"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("cannot be reached"), "{err}");
    assert!(!err.contains("s3cret"), "{err}");
}

#[test]
fn explain_expectations_fail_the_job() {
    let dir = TempDir::new("expect");
    let rules = dir.file("rules.toml", RULES);
    let r = rules.to_str().unwrap();
    let ok = cli(&[
        "explain",
        "--rules",
        r,
        "/id/berlin",
        "--expect-status",
        "303",
        "--expect-location",
        "https://example.org/page/berlin",
    ]);
    assert_eq!(ok.0, 0, "{}", ok.1);
    let bad = cli(&[
        "explain",
        "--rules",
        r,
        "/id/berlin",
        "--expect-location",
        "https://example.org/x",
    ]);
    assert_eq!(bad.0, 1);
    assert!(
        bad.1
            .contains("FAILED: expected Location https://example.org/x"),
        "{}",
        bad.1
    );
    let bad = cli(&[
        "explain",
        "--rules",
        r,
        "/id/berlin",
        "--expect-status",
        "301",
    ]);
    assert_eq!(bad.0, 1);
    let broken = dir.file(
        "broken.toml",
        "[[rules]]\npath = \"/a\"\nto = \"javascript:alert(1)\"\n",
    );
    let (code, _, err) = cli(&["explain", "--rules", broken.to_str().unwrap(), "/a"]);
    assert_eq!(code, 2);
    assert!(err.contains("broken.toml:1: `to` is refused"), "{err}");
}

#[test]
fn import_export_round_trip_in_every_format() {
    let dir = TempDir::new("roundtrip");
    let db = dir.path().join("s.db");
    let db = db.to_str().unwrap();
    let rules = dir.file("rules.toml", RULES);
    let (code, out, err) = cli(&["import", rules.to_str().unwrap(), "--db", db]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("4 created, 0 updated, 0 unchanged"), "{out}");
    for format in ["toml", "json", "csv"] {
        let file = dir.path().join(format!("out.{format}"));
        let (code, _, err) = cli(&["export", "--db", db, "-o", file.to_str().unwrap()]);
        assert_eq!(code, 0, "{err}");
        let (code, out, err) = cli(&["import", file.to_str().unwrap(), "--db", db]);
        assert_eq!(code, 0, "{err}");
        assert!(
            out.contains("0 created, 0 updated, 4 unchanged"),
            "{format}: {out}"
        );
    }
    let (code, out, _) = cli(&["export", "--db", db, "--format", "json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["rules"].as_array().unwrap().len(), 4);

    let bad = dir.file(
        "bad.csv",
        "path,to\n/ok,https://example.org/ok\n/bad,https://example.org/\u{1}\n",
    );
    let (code, _, err) = cli(&["import", bad.to_str().unwrap(), "--db", db]);
    assert_eq!(code, 1);
    assert!(err.contains("bad.csv:3:"), "{err}");
    let (_, out, _) = cli(&["export", "--db", db, "--format", "csv"]);
    assert!(
        !out.contains("/ok"),
        "nothing of a bad file is applied: {out}"
    );

    let (code, _, err) = cli(&[
        "export",
        "--db",
        dir.path().join("none.db").to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("no database at"), "{err}");
}

/// Rules whose match space takes in paths under `/-/`: every path, every two-segment path,
/// every path of one host.
const WIDE: &str = r#"
[[rules]]
prefix = "/"
to = "https://example.org/all/"

[[rules]]
pattern = "/{a}/{b}"
to = "https://example.org/two/{a}/{b}"

[[rules]]
host = "id.example.org"
prefix = "/"
to = "https://example.org/scoped/"
"#;

/// The status line's code and the `location:` of an explain output, if it shows a response.
fn explained(out: &str) -> Option<(u16, Option<String>)> {
    let status = out
        .lines()
        .find_map(|l| l.strip_prefix("HTTP/1.1 "))?
        .split(' ')
        .next()?
        .parse()
        .ok()?;
    let location = out
        .lines()
        .find_map(|l| l.strip_prefix("location: "))
        .map(str::to_owned);
    Some((status, location))
}

#[test]
fn explain_agrees_with_the_server_on_paths_under_the_reserved_prefix() {
    let dir = TempDir::new("explain-reserved");
    let rules = dir.file("wide.toml", WIDE);
    let r = rules.to_str().unwrap();
    let server = Server::start(&dir.path().join("s.db"), &["--rules", r]);
    for (host, path) in [
        ("x.example", "/-/healthz"),
        ("x.example", "/-/metrics"),
        ("x.example", "/-/api/rules"),
        ("x.example", "/-/admin"),
        ("x.example", "/-/x"),
        ("x.example", "/-/"),
        ("id.example.org", "/-/healthz"),
        ("id.example.org", "/-/nothing/here"),
        // Outside `/-/`: the rules answer, in explain and on the wire alike.
        ("x.example", "/-"),
        ("x.example", "/-x/y"),
        ("x.example", "/a/b"),
        ("x.example", "/a"),
        ("id.example.org", "/-"),
    ] {
        let url = format!("http://{host}{path}");
        let (code, out, err) = cli(&["explain", "--rules", r, &url]);
        let wire = server.request("GET", path, &[("Host", host)], b"");
        let wire_location = wire.header("location").map(str::to_owned);
        if path.starts_with("/-/") {
            assert_eq!(code, 1, "no rule answers {url}: {out}{err}");
            assert!(
                out.contains("match:    none; paths under /-/ belong to the server"),
                "{url}: {out}"
            );
            assert!(
                out.contains("answered: by the server: its "),
                "{url}: {out}"
            );
            assert_eq!(
                explained(&out),
                None,
                "{url}: no rule response is claimed: {out}"
            );
            assert!(
                !wire_location
                    .as_deref()
                    .is_some_and(|l| l.starts_with("https://example.org/")),
                "{url}: no rule answers on the wire either: {wire:?}"
            );
        } else {
            assert_eq!(code, 0, "{url}: {out}{err}");
            assert_eq!(
                explained(&out),
                Some((wire.status, wire_location)),
                "{url}: explain and the server differ: {out}"
            );
        }
    }
    let (_, out, _) = cli(&["explain", "--rules", r, "/-/healthz"]);
    assert!(out.contains("its health check (200 ok)"), "{out}");
    assert_eq!(server.get("/-/healthz").status, 200);
    let (code, out, _) = cli(&["explain", "--rules", r, "/-/x", "--expect-status", "303"]);
    assert_eq!(code, 1);
    assert!(out.contains("FAILED: no rule answers /-/x"), "{out}");
}
