//! `seeother explain`, `import` and `export` as a CI job would run them.

mod serve_support;

use serve_support::{TempDir, cli};

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
