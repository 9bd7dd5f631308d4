//! The OpenAPI document (`/-/api/openapi.json`) against the running server: what it says about
//! statuses, limits and bodies checked by hand, then schemathesis generating a few hundred
//! requests from it and failing on any answer the document does not describe, any 5xx, any
//! request the document allows that the server refuses (and the other way round).
//!
//! schemathesis comes from PyPI, pinned, in a virtualenv under the target directory that
//! `scripts/test-all` creates. Without it this test fails and says so, unless
//! `SEEOTHER_SKIP_SCHEMATHESIS=1` is set.

mod serve_support;

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serve_support::{Server, TOKEN, TempDir};

/// The schemathesis release `scripts/test-all` installs (keep the two in step).
const SCHEMATHESIS_VERSION: &str = "4.32.5";

/// Test cases per operation in the fuzzing phase (8 operations; the coverage and stateful
/// phases add their own).
const MAX_EXAMPLES: &str = "25";

/// A fixed seed: a failure is reproduced by running the test again.
const SEED: &str = "20261201";

fn start(name: &str) -> (TempDir, Server) {
    let dir = TempDir::new(name);
    let s = Server::start(&dir.path().join("s.db"), &[]);
    (dir, s)
}

#[test]
fn the_document_says_what_the_server_does() {
    let (_dir, s) = start("openapi-doc");
    let doc = s.get("/-/api/openapi.json").json();
    let schemas = &doc["components"]["schemas"];
    // The server refuses unknown fields (serde `deny_unknown_fields`), and the schemas say so.
    for name in [
        "Rule",
        "Variant",
        "Page",
        "Error",
        "HistoryEntry",
        "ImportReport",
    ] {
        assert_eq!(
            schemas[name]["additionalProperties"], false,
            "{name}: {}",
            schemas[name]
        );
    }
    let r = s.api(
        "POST",
        "/-/api/rules",
        Some(r#"{"path": "/a", "to": "/b", "colour": "red"}"#),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("unknown field `colour`")
    );
    let r = s.api(
        "POST",
        "/-/api/rules",
        Some(r#"{"path": "/a", "to": "/b", "variants": [{"type": "text/turtle", "to": "/t", "q": 1}]}"#),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    // Nullable fields are marked nullable, and null is taken as absent.
    for field in ["path", "prefix", "pattern", "host", "type", "cache_control"] {
        let t = &schemas["Rule"]["properties"][field]["type"];
        assert_eq!(t, &serde_json::json!(["string", "null"]), "{field}");
    }
    let r = s.api(
        "POST",
        "/-/api/rules",
        Some(r#"{"path": "/n", "prefix": null, "to": "/b", "host": null, "type": null, "cache_control": null}"#),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    // A history entry's rules before and after are a rule or null.
    let entry = &schemas["HistoryEntry"]["properties"];
    for side in ["old", "new"] {
        let one_of = &entry[side]["oneOf"];
        assert_eq!(one_of[0]["type"], "null", "{side}: {entry}");
        assert_eq!(
            one_of[1]["$ref"], "#/components/schemas/Rule",
            "{side}: {entry}"
        );
    }
    // `limit` above its maximum is an error, as the document says, not clamped.
    let rules = &doc["paths"]["/-/api/rules"]["get"];
    let limit = rules["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .unwrap();
    assert_eq!(limit["schema"]["maximum"], 1000);
    for bad in ["1001", "0", "-1"] {
        let r = s.api("GET", &format!("/-/api/rules?limit={bad}"), None);
        assert_eq!(r.status, 400, "limit={bad}: {}", r.text());
        assert!(
            r.json()["error"]
                .as_str()
                .unwrap()
                .contains("give a number from 1 to 1000"),
            "{}",
            r.text()
        );
    }
    assert_eq!(s.api("GET", "/-/api/rules?limit=1000", None).status, 200);
    assert_eq!(s.api("GET", "/-/api/unknown?limit=10001", None).status, 400);
    assert_eq!(s.api("GET", "/-/api/unknown?limit=10000", None).status, 200);
    // Every status the server answers with is documented where it happens.
    let documented = |path: &str, method: &str, code: &str| {
        doc["paths"][path][method]["responses"][code].is_object()
    };
    for (path, method, codes) in [
        ("/-/api/rules", "get", &["200", "400", "401"][..]),
        (
            "/-/api/rules",
            "post",
            &["201", "400", "401", "409", "413", "422"],
        ),
        ("/-/api/rules/{id}", "get", &["200", "401", "404"]),
        (
            "/-/api/rules/{id}",
            "put",
            &["200", "400", "401", "404", "409", "413", "422"],
        ),
        (
            "/-/api/rules/{id}",
            "patch",
            &["200", "400", "401", "404", "409", "413", "415", "422"],
        ),
        (
            "/-/api/rules/{id}",
            "delete",
            &["200", "204", "400", "401", "404"],
        ),
        ("/-/api/rules/{id}/history", "get", &["200", "401", "404"]),
        (
            "/-/api/import",
            "post",
            &["200", "400", "401", "413", "415", "422"],
        ),
        ("/-/api/unknown", "get", &["200", "400", "401"]),
    ] {
        for code in codes {
            assert!(documented(path, method, code), "{method} {path} {code}");
        }
        assert!(documented(path, method, "503"), "{method} {path} 503");
    }
    let r = s.request("GET", "/-/api/rules/1", &[], b"");
    assert_eq!(r.status, 401);
    let r = s.api("DELETE", "/-/api/rules/1?tombstone=maybe", None);
    assert_eq!(r.status, 400);
    let r = s.api("PUT", "/-/api/rules/1", None);
    assert_eq!(r.status, 400, "an empty body is not a rule");
    // An import needs a body: an empty one is a 400, not "0 created".
    let auth = format!("Bearer {TOKEN}");
    let r = s.request(
        "POST",
        "/-/api/import?format=toml",
        &[("Authorization", &auth)],
        b"",
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("the body is empty")
    );
    // The document itself is only read.
    let r = s.request("POST", "/-/api/openapi.json", &[], b"");
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, HEAD"));
    assert_eq!(
        s.request("HEAD", "/-/api/openapi.json", &[], b"").status,
        200
    );
}

/// The methods a request can have here (CONNECT and TRACE aside).
const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"];

/// Every operation of the document is routed (answered, neither 404 "no such API resource" nor
/// 405) and needs the token unless the document says it needs none; every other method of a
/// documented path is a 405 whose `Allow` lists the documented ones; paths the document does
/// not name are no resource, whatever the method.
#[test]
fn the_router_and_the_document_name_the_same_operations() {
    let (_dir, s) = start("openapi-routes");
    let doc = s.get("/-/api/openapi.json").json();
    let paths = doc["paths"].as_object().unwrap();
    assert_eq!(paths.len(), 14, "{:?}", paths.keys());
    let mut operations = 0;
    for (template, item) in paths {
        let path = template.replace("{id}", "1");
        let documented: Vec<&str> = METHODS
            .into_iter()
            .filter(|m| item[m.to_ascii_lowercase()].is_object())
            .collect();
        assert!(!documented.is_empty(), "{template}");
        let public = documented
            .iter()
            .all(|m| item[m.to_ascii_lowercase()]["security"] == serde_json::json!([{}]));
        // HEAD is GET without the body where no token is needed (the document itself).
        let mut allowed = documented.clone();
        if public && documented.contains(&"GET") {
            allowed.insert(1, "HEAD");
        }
        for method in METHODS {
            let r = s.api(method, &path, None);
            let anonymous = s.request(method, &path, &[], b"");
            if allowed.contains(&method) {
                operations += 1;
                assert_ne!(r.status, 405, "{method} {template}: {}", r.text());
                assert!(
                    !r.text().contains("no such API resource"),
                    "{method} {template}: {}",
                    r.text()
                );
                if public {
                    assert_ne!(anonymous.status, 401, "{method} {template}");
                } else {
                    assert_eq!(anonymous.status, 401, "{method} {template} needs the token");
                }
                continue;
            }
            assert_eq!(r.status, 405, "{method} {template}: {}", r.text());
            assert_eq!(
                r.header("allow"),
                Some(allowed.join(", ").as_str()),
                "{method} {template}"
            );
            if method != "HEAD" {
                assert!(
                    r.json()["error"]
                        .as_str()
                        .unwrap()
                        .contains("this resource allows"),
                    "{method} {template}: {}",
                    r.text()
                );
            }
            // Without the token a protected resource says 401 before it says 405.
            let expected = if public { 405 } else { 401 };
            assert_eq!(anonymous.status, expected, "{method} {template}");
        }
    }
    assert_eq!(
        operations, 19,
        "the document's 18 operations, and HEAD of the document"
    );
    for path in [
        "/-/api",
        "/-/api/rule",
        "/-/api/rules/1/x",
        "/-/api/rules/1/history/2",
        "/-/api/imports",
        "/-/api/unknown/1",
        "/-/api/openapi.yaml",
    ] {
        for method in METHODS {
            let r = s.api(method, path, None);
            assert_eq!(r.status, 404, "{method} {path}: {}", r.text());
            if method != "HEAD" {
                assert_eq!(
                    r.json()["error"],
                    "no such API resource; see /-/api/openapi.json",
                    "{method} {path}"
                );
            }
            assert_eq!(
                s.request(method, path, &[], b"").status,
                401,
                "{method} {path}"
            );
        }
    }
}

/// The schemathesis of the virtualenv `scripts/test-all` makes (or `SEEOTHER_SCHEMATHESIS`),
/// or why there is none.
fn schemathesis() -> Result<PathBuf, String> {
    let path = match std::env::var_os("SEEOTHER_SCHEMATHESIS") {
        Some(p) => PathBuf::from(p),
        // BIN is TARGET/debug/seeother.
        None => PathBuf::from(serve_support::BIN)
            .parent()
            .and_then(|p| p.parent())
            .map(|t| t.join("schemathesis-venv/bin/schemathesis"))
            .ok_or("no target directory")?,
    };
    let out = Command::new(&path)
        .arg("--version")
        .output()
        .map_err(|e| format!("{} cannot be run ({e})", path.display()))?;
    let version = String::from_utf8_lossy(&out.stdout);
    if !version.contains(&format!("version {SCHEMATHESIS_VERSION}")) {
        return Err(format!(
            "{} is {:?}, not schemathesis {SCHEMATHESIS_VERSION}",
            path.display(),
            version.trim()
        ));
    }
    Ok(path)
}

#[test]
fn schemathesis_finds_no_mismatch_between_the_document_and_the_server() {
    if std::env::var_os("SEEOTHER_SKIP_SCHEMATHESIS").is_some_and(|v| v == "1") {
        eprintln!("SEEOTHER_SKIP_SCHEMATHESIS=1: the schemathesis run is skipped");
        return;
    }
    let st = schemathesis().unwrap_or_else(|why| {
        panic!(
            "schemathesis {SCHEMATHESIS_VERSION} is needed for this test: {why}; run scripts/test-all \
             (it installs it in target/schemathesis-venv), or set SEEOTHER_SKIP_SCHEMATHESIS=1 to skip it"
        )
    });
    // Schemathesis also sends requests with no token or a wrong one (its `ignored_auth` check);
    // on a fast machine enough of them fall in one second for the sign-in limit to answer 429
    // to the next request, the right token included. The limit has tests of its own
    // (serve_hardening_auth): here it is raised out of the way.
    let dir = TempDir::new("openapi-schemathesis");
    let s = Server::start(&dir.path().join("s.db"), &["--auth-failures", "1000000"]);
    // 422 is the documented answer to a rule the schema allows but the rules refuse (a
    // forbidden scheme, a path under /-/, a pattern's placeholders …), and 409 to a second rule
    // for the same path: both are an acceptance of well-formed data, not a mismatch.
    let config = dir.file(
        "schemathesis.toml",
        "[checks.positive_data_acceptance]\nexpected-statuses = [\"2xx\", \"401\", \"404\", \"409\", \"422\"]\n",
    );
    let auth = format!("Authorization: Bearer {TOKEN}");
    let started = Instant::now();
    let mut child = Command::new(&st)
        .arg("--config-file")
        .arg(&config)
        .args(["run", &s.url("/-/api/openapi.json"), "-H", &auth])
        .args(["--checks", "all"])
        // A tombstone (`DELETE …?tombstone=true`) keeps its rule, and a rule's history
        // outlives it, both by design (docs/server.md): not a use after free.
        .args(["--exclude-checks", "use_after_free"])
        .args(["--max-examples", MAX_EXAMPLES, "--seed", SEED])
        .args(["--generation-database", "none", "--workers", "1"])
        // No `--max-time`: it makes fuzzing repeat until the time is spent. The run is bounded
        // by the examples, each request by 10 s, and the whole by the deadline below.
        .args(["--request-timeout", "10", "--no-color"])
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run schemathesis");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = stdout.read_to_string(&mut out);
        out
    });
    let deadline = started + Duration::from_secs(240);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = reader.join().unwrap();
    let mut err = String::new();
    let _ = child.stderr.take().unwrap().read_to_string(&mut err);
    let took = started.elapsed();
    let status = status.unwrap_or_else(|| panic!("schemathesis ran past 240 s:\n{out}\n{err}"));
    assert!(
        status.success(),
        "schemathesis found mismatches between /-/api/openapi.json and the server ({status}):\n{out}\n{err}"
    );
    // It ran: some hundreds of generated cases, all passed.
    let summary = out
        .lines()
        .find(|l| l.contains(" generated, "))
        .unwrap_or_else(|| panic!("no summary in:\n{out}"));
    let generated: usize = summary
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{summary:?}"));
    assert!(generated >= 200, "only {generated} cases: {summary}\n{out}");
    assert!(
        summary.contains(&format!("{generated} passed")),
        "{summary}"
    );
    eprintln!("schemathesis: {summary} in {:.0?}", took);
}
