//! What a person who wrote a rule wrong is told, by `seeother import`, `seeother export` and
//! the API: a number written as a string, an unknown field (only the fields one may write,
//! and the one meant), a refused scheme (what to write instead, no library names), every
//! problem of a file in one pass (duplicates included), an export to a file whose extension
//! names no format.

mod serve_support;

use serve_support::{Server, TempDir, cli};

/// `seeother import --check FILE`: (exit code, standard error).
fn check(dir: &TempDir, name: &str, text: &str) -> (i32, String) {
    let file = dir.file(name, text);
    let (code, _, err) = cli(&["import", "--check", file.to_str().unwrap()]);
    (code, err)
}

#[test]
fn a_status_written_as_a_string_says_to_write_a_number() {
    let dir = TempDir::new("errors-status");
    let (code, err) = check(
        &dir,
        "r.toml",
        "[[rules]]\npath = \"/a\"\nto = \"https://example.org/a\"\nstatus = \"303\"\n",
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(
            "r.toml:4: status must be a number such as 303, not a string (write 303 without quotes)"
        ),
        "{err}"
    );
    let (code, err) = check(
        &dir,
        "r.json",
        "{\"rules\": [\n {\"path\": \"/a\", \"to\": \"https://example.org/a\", \"status\": \"308\"}\n]}\n",
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(
            "r.json:2: status must be a number such as 303, not a string (write 308 without quotes)"
        ),
        "{err}"
    );
}

#[test]
fn an_unknown_field_lists_only_the_fields_one_may_write() {
    let dir = TempDir::new("errors-unknown");
    let (code, err) = check(
        &dir,
        "r.toml",
        "[[rules]]\npath = \"/a\"\nto = \"https://example.org/a\"\nstauts = 301\n",
    );
    assert_eq!(code, 1, "{err}");
    let line = err.lines().next().unwrap();
    assert!(
        line.contains("r.toml:4: unknown field `stauts`; did you mean `status`? The fields are: path, prefix, pattern,"),
        "{err}"
    );
    for server_set in ["`id`", " id,", "hits"] {
        assert!(!line.contains(server_set), "{server_set} in {line}");
    }
    let (_, err) = check(
        &dir,
        "r.json",
        "[{\"path\": \"/a\", \"to\": \"https://example.org/a\", \"cache-control\": \"max-age=60\"}]",
    );
    assert!(err.contains("did you mean `cache_control`?"), "{err}");
    assert!(!err.contains("hits"), "{err}");
}

#[test]
fn a_refused_scheme_says_what_to_write() {
    let dir = TempDir::new("errors-scheme");
    let (code, err) = check(
        &dir,
        "r.toml",
        "[[rules]]\npath = \"/a\"\nto = \"javascript:alert(1)\"\n",
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("r.toml:1: `to` is refused: it uses the `javascript:` scheme, which a rule may not redirect to (only http and https URLs and paths); write a URL such as https://example.org/page or a path such as /page"),
        "{err}"
    );
    assert!(
        !err.contains("Schemes::allow") && !err.contains("Location uses"),
        "{err}"
    );
}

#[test]
fn every_problem_of_a_file_is_reported_in_one_pass() {
    let dir = TempDir::new("errors-all");
    let toml = "\
[[rules]]
path = \"/a\"
to = \"https://example.org/a\"
status = \"303\"

[[rules]]
path = \"/b\"
to = \"https://example.org/b\"

[[rules]]
path = \"/b\"
to = \"https://example.org/b2\"

[[rules]]
path = \"/c\"
to = \"ftp://example.org/c\"

[[rules]]
path = \"/d\"
to = \"https://example.org/d\"
colour = \"blue\"
";
    let (code, err) = check(&dir, "r.toml", toml);
    assert_eq!(code, 1, "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 5, "{err}");
    assert!(
        lines[0].contains("r.toml:4: status must be a number"),
        "{err}"
    );
    assert!(
        lines[1]
            .contains("r.toml:10: this rule matches the same path \"/b\" as the rule on line 6"),
        "{err}"
    );
    assert!(
        lines[2].contains("r.toml:14: `to` is refused: it uses the `ftp:` scheme"),
        "{err}"
    );
    assert!(
        lines[3].contains("r.toml:21: unknown field `colour`"),
        "{err}"
    );
    assert!(
        lines[4].ends_with("r.toml: 4 problem(s); nothing from this file was applied"),
        "{err}"
    );

    // The same in JSON and CSV.
    let json = r#"{"rules": [
  {"path": "/a", "to": "https://example.org/a", "status": "303"},
  {"path": "/b", "to": "https://example.org/b"},
  {"path": "/b", "to": "https://example.org/b2"},
  {"path": "/c", "to": "ftp://example.org/c"}
]}"#;
    let (_, err) = check(&dir, "r.json", json);
    assert!(err.contains("r.json: 3 problem(s)"), "{err}");
    let csv = "path,to,status\n/a,https://example.org/a,x\n/b,https://example.org/b,\n/b,https://example.org/b2,\n/c,ftp://example.org/c,\n";
    let (_, err) = check(&dir, "r.csv", csv);
    assert!(err.contains("r.csv: 3 problem(s)"), "{err}");

    // A TOML syntax error in one rule does not hide the problem of the next.
    let (_, err) = check(
        &dir,
        "s.toml",
        "[[rules]]\npath = \"/a\nto = \"/x\"\n\n[[rules]]\npath = 2\nto = \"/y\"\n",
    );
    assert!(
        err.contains("s.toml:2: ") && err.contains("s.toml:6: "),
        "{err}"
    );
    assert!(err.contains("s.toml: 2 problem(s)"), "{err}");
}

#[test]
fn the_api_says_the_same() {
    let dir = TempDir::new("errors-api");
    let s = Server::start(&dir.path().join("s.db"), &[]);
    let r = s.api(
        "POST",
        "/-/api/rules",
        Some(r#"{"path": "/a", "to": "https://example.org/a", "status": "303"}"#),
    );
    assert_eq!(r.status, 400);
    let e = r.json()["error"].as_str().unwrap().to_owned();
    assert!(
        e.contains("status must be a number such as 303, not a string"),
        "{e}"
    );

    let r = s.api(
        "POST",
        "/-/api/rules",
        Some(r#"{"path": "/a", "to": "https://example.org/a", "hit": 3}"#),
    );
    assert_eq!(r.status, 400);
    let e = r.json()["error"].as_str().unwrap().to_owned();
    assert!(e.contains("unknown field `hit`"), "{e}");
    assert!(!e.contains("`hits`") && !e.contains("hits,"), "{e}");

    let r = s.api(
        "POST",
        "/-/api/rules",
        Some(r#"{"path": "/a", "to": "data:text/html,hello"}"#),
    );
    assert_eq!(r.status, 422);
    let e = r.json()["error"].as_str().unwrap().to_owned();
    assert!(
        e.contains("`to` is refused: it uses the `data:` scheme")
            && e.contains("https://example.org/page"),
        "{e}"
    );
}

#[test]
fn export_refuses_an_extension_that_names_no_format() {
    let dir = TempDir::new("errors-export");
    let db = dir.path().join("s.db");
    let rules = dir.file(
        "r.toml",
        "[[rules]]\npath = \"/a\"\nto = \"https://example.org/a\"\n",
    );
    let (code, _, err) = cli(&[
        "import",
        rules.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");

    let out = dir.path().join("x.yaml");
    let (code, _, err) = cli(&[
        "export",
        "--db",
        db.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("cannot tell the format of") && err.contains("x.yaml"),
        "{err}"
    );
    assert!(err.contains("--format toml|json|csv"), "{err}");
    assert!(!out.exists(), "nothing written");

    // With --format, or an extension that names one, it is written.
    let (code, _, err) = cli(&[
        "export",
        "--db",
        db.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::read_to_string(&out).unwrap().contains("\"rules\""));
    let csv = dir.path().join("x.csv");
    let (code, _, _) = cli(&[
        "export",
        "--db",
        db.to_str().unwrap(),
        "-o",
        csv.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    assert!(
        std::fs::read_to_string(&csv)
            .unwrap()
            .starts_with("host,path,")
    );
}
