//! `[[tests]]` inside rule files: `seeother test` runs them offline (the examples' own tests
//! included), prints a failure as a diff, and `import` and `serve --rules` refuse a file whose
//! tests fail.

mod serve_support;

use std::path::Path;
use std::process::{Command, Stdio};

use serve_support::{Server, TempDir, cli};

const RULES: &str = r#"
[[rules]]
path = "/id/berlin"
to = "https://example.org/page/berlin"

[[rules.variants]]
type = "text/turtle"
to = "https://example.org/data/berlin.ttl"

[[rules]]
scope = "/ont/"

[[rules.steps]]
regex = "^v([0-9]+)$"
to = "https://example.org/ont/{1}.ttl"
status = 302
last = true
"#;

const PASSING: &str = r#"
[[tests]]
url = "/id/berlin"
headers = { Accept = "text/turtle" }
expect = { status = 303, location = "https://example.org/data/berlin.ttl", headers = { Vary = "Accept" } }

[[tests]]
url = "http://any.example.org/ont/v2?x=1"
expect = { status = 302, location = "https://example.org/ont/2.ttl?x=1" }
"#;

const FAILING: &str = r#"
[[tests]]
url = "/id/berlin"
headers = { Accept = "text/turtle" }
expect = { status = 301, location = "https://example.org/page/berlin" }
"#;

fn examples() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

#[test]
fn the_examples_pass_their_own_tests() {
    let dir = examples();
    let toml = dir.join("rules.toml");
    let json = dir.join("rules.json");
    let (code, out, err) = cli(&["test", toml.to_str().unwrap(), json.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("rules.toml: 8 tests, 8 passed, 0 failed"),
        "{out}"
    );
    assert!(
        out.contains("rules.json: 5 tests, 5 passed, 0 failed"),
        "{out}"
    );
}

#[test]
fn a_failure_is_a_diff_and_exit_1() {
    let dir = TempDir::new("rule-tests");
    let good = dir.file("good.toml", &format!("{RULES}{PASSING}"));
    let bad = dir.file("bad.toml", &format!("{RULES}{PASSING}{FAILING}"));
    let (code, out, _) = cli(&["test", good.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = cli(&["test", good.to_str().unwrap(), bad.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    // The test's line, the request, and each difference.
    // FAILING starts with a blank line.
    let line = RULES.lines().count() + PASSING.lines().count() + 2;
    let want = format!(
        "bad.toml:{line}: test GET /id/berlin (Accept: text/turtle) failed\n    status:\n      - expected 301\n      + got      303\n    location:\n      - expected \"https://example.org/page/berlin\"\n      + got      \"https://example.org/data/berlin.ttl\"\n"
    );
    assert!(out.contains(&want), "{out}");
    assert!(
        out.contains("bad.toml: 3 tests, 2 passed, 1 failed"),
        "{out}"
    );
    // A test that cannot be read is a problem of the file: exit 2.
    let broken = dir.file("broken.toml", &format!("{RULES}[[tests]]\nurl = \"/x\"\n"));
    let (code, _, err) = cli(&["test", broken.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("missing field `expect`"), "{err}");
}

#[test]
fn import_and_serve_refuse_a_file_whose_tests_fail() {
    let dir = TempDir::new("rule-tests-refuse");
    let bad = dir.file("bad.toml", &format!("{RULES}{FAILING}"));
    let db = dir.path().join("r.db");
    let s = Server::start(&db, &[]);
    let (code, out, err) = cli(&[
        "import",
        bad.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        err.contains("test GET /id/berlin") && err.contains("nothing from this file was applied"),
        "{err}"
    );
    assert_eq!(s.get("/id/berlin").status, 404, "nothing was imported");
    // The API's import refuses it too, saying which test.
    let api = s.api(
        "POST",
        "/-/api/import?format=toml",
        Some(&format!("{RULES}{FAILING}")),
    );
    assert!((400..500).contains(&api.status), "{}", api.status);
    assert!(api.text().contains("test GET /id/berlin"), "{}", api.text());
    assert_eq!(s.get("/id/berlin").status, 404, "nothing was imported");
    drop(s);
    // serve --rules: the server does not start on it, and says why.
    let out = Command::new(env!("CARGO_BIN_EXE_seeother"))
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(dir.path().join("s.db"))
        .arg("--rules")
        .arg(&bad)
        .env_remove("SEEOTHER_ADMIN_TOKEN")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("+ got      303"), "{err}");
    // With its tests passing, both take it.
    let good = dir.file("good.toml", &format!("{RULES}{PASSING}"));
    let (code, out, err) = cli(&[
        "import",
        good.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
}
