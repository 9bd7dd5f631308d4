//! `seeother check` end to end: each kind of answer a target can give, from loopback servers
//! written for it, classified as it should be.

mod check_support;
mod fetch_support;

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use check_support::{check, check_json, entry, rule_file};
use fetch_support::{Server, redirect, reply};

/// A port on which nothing listens: connections to it are refused.
fn refused_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Servers {
    origin: Server,
    elsewhere: Server,
    /// When /limited was asked for, each time.
    limited_at: Arc<Mutex<Vec<Instant>>>,
}

fn servers() -> Servers {
    let elsewhere = Server::start_on("127.0.0.2", |req| match req.target.as_str() {
        "/new" => reply(200, &[], "the new place"),
        _ => reply(404, &[], "not here"),
    });
    let new_place = elsewhere.url("/new");
    let limited_at = Arc::new(Mutex::new(Vec::new()));
    let limited = limited_at.clone();
    let origin = Server::start(move |req| match req.target.as_str() {
        "/ok" => reply(200, &[("content-type", "text/html")], "<p>fine</p>"),
        "/moved" => redirect(301, &new_place),
        "/found" => redirect(302, "/ok"),
        "/missing" => reply(404, &[], "not found"),
        "/broken" => reply(500, &[], "oops"),
        "/hang" => fetch_support::Reply::Hang,
        "/loop" => redirect(302, "/loop"),
        "/limited" => {
            let mut seen = limited.lock().unwrap();
            seen.push(Instant::now());
            if seen.len() == 1 {
                reply(429, &[("retry-after", "1")], "slow down")
            } else {
                reply(200, &[], "thanks for waiting")
            }
        }
        "/limited-long" => reply(429, &[("retry-after", "3600")], "come back in an hour"),
        "/data" => match req.headers.get("accept").map(String::as_str) {
            Some("text/turtle") => reply(200, &[("content-type", "text/turtle")], "<> a <x> ."),
            _ => reply(406, &[], "turtle only"),
        },
        _ => reply(404, &[], "not here"),
    });
    Servers {
        origin,
        elsewhere,
        limited_at,
    }
}

fn rules(s: &Servers) -> String {
    let o = |p: &str| s.origin.url(p);
    let refused = format!("http://127.0.0.1:{}/", refused_port());
    format!(
        r#"
[[rules]]
path = "/ok"
to = "{ok}"

[[rules]]
path = "/moved"
to = "{moved}"

[[rules]]
path = "/found"
to = "{found}"

[[rules]]
path = "/missing"
to = "{missing}"

[[rules]]
path = "/broken"
to = "{broken}"

[[rules]]
path = "/refused"
to = "{refused}"

[[rules]]
path = "/hang"
to = "{hang}"

[[rules]]
path = "/loop"
to = "{lp}"

[[rules]]
path = "/limited"
to = "{limited}"

[[rules]]
path = "/limited-long"
to = "{limited_long}"

[[rules]]
path = "/id/berlin"
to = "{ok}"
[[rules.variants]]
type = "text/turtle"
to = "{data}"

[[rules]]
pattern = "/id/{{name}}"
to = "https://example.org/page/{{name}}"

[[rules]]
path = "/here"
to = "/ok"
"#,
        ok = o("/ok"),
        moved = o("/moved"),
        found = o("/found"),
        missing = o("/missing"),
        broken = o("/broken"),
        hang = o("/hang"),
        lp = o("/loop"),
        limited = o("/limited"),
        limited_long = o("/limited-long"),
        data = o("/data"),
    )
}

#[test]
fn every_kind_of_answer_is_classified() {
    let s = servers();
    let file = rule_file("classify", &rules(&s));
    let (doc, out) = check_json(&["--rules", file.to_str().unwrap(), "--timeout", "1"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "broken targets fail: {stderr}");

    let state = |m: &str| entry(&doc, m, None)["state"].as_str().unwrap().to_owned();
    assert_eq!(state("/ok"), "ok");
    assert_eq!(entry(&doc, "/ok", None)["status"], 200);

    let moved = entry(&doc, "/moved", None);
    assert_eq!(moved["state"], "permanent_redirect");
    assert_eq!(moved["moved_to"], s.elsewhere.url("/new"));
    assert_eq!(moved["status"], 200);
    assert_eq!(moved["hops"][0]["status"], 301);
    assert_eq!(moved["broken"], false);

    let found = entry(&doc, "/found", None);
    assert_eq!(found["state"], "temporary_redirect");
    assert_eq!(found["moved_to"], serde_json::Value::Null);
    assert_eq!(found["hops"].as_array().unwrap().len(), 2);

    assert_eq!(state("/missing"), "client_error");
    assert_eq!(entry(&doc, "/missing", None)["status"], 404);
    assert_eq!(state("/broken"), "server_error");
    assert_eq!(entry(&doc, "/broken", None)["status"], 500);
    assert_eq!(state("/refused"), "unreachable");
    assert_eq!(state("/hang"), "timeout");
    assert_eq!(state("/loop"), "redirect_loop");
    assert!(
        entry(&doc, "/loop", None)["error"]
            .as_str()
            .unwrap()
            .contains("loop"),
        "{doc:#}"
    );

    // 429 with Retry-After: 1 — waited for, tried again, answered.
    let limited = entry(&doc, "/limited", None);
    assert_eq!(limited["state"], "ok", "{limited:#}");
    assert_eq!(limited["tries"], 2);
    let at = s.limited_at.lock().unwrap().clone();
    assert_eq!(at.len(), 2);
    assert!(
        at[1] - at[0] >= Duration::from_millis(950),
        "tried again after {:?}, before the second Retry-After asked for",
        at[1] - at[0]
    );
    // Retry-After: 3600 is more than is waited for: not tried again, and said so.
    let long = entry(&doc, "/limited-long", None);
    assert_eq!(long["state"], "client_error");
    assert_eq!(long["status"], 429);
    assert_eq!(long["tries"], 1);
    assert!(long["error"].as_str().unwrap().contains("3600"), "{long:#}");

    // The default target with the default Accept, the variant with its own.
    assert_eq!(state("/id/berlin"), "ok");
    let variant = entry(&doc, "/id/berlin", Some("text/turtle"));
    assert_eq!(variant["state"], "ok", "{variant:#}");
    assert_eq!(variant["accept"], "text/turtle");

    let template = entry(&doc, "/id/{name}", None);
    assert_eq!(template["state"], "skipped");
    assert_eq!(template["skipped"], "template");
    assert!(template["error"].as_str().unwrap().contains("template"));
    assert_eq!(entry(&doc, "/here", None)["skipped"], "relative");

    let summary = &doc["summary"];
    assert_eq!(summary["total"], 14);
    assert_eq!(summary["broken"], 6);
    assert_eq!(summary["skipped"], 2);
}

#[test]
fn a_base_url_checks_paths_on_the_server_and_the_table_names_the_new_place() {
    let s = servers();
    let toml = format!(
        "[[rules]]\npath = \"/here\"\nto = \"/ok\"\n\n[[rules]]\npath = \"/moved\"\nto = \"{}\"\n",
        s.origin.url("/moved")
    );
    let file = rule_file("base", &toml);
    let base = s.origin.url("/");
    let out = check(&["--rules", file.to_str().unwrap(), "--base", &base]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "nothing broken: {text}");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("STATE"), "{text}");
    let here = lines.iter().find(|l| l.contains("/here")).unwrap();
    assert!(here.starts_with("ok ") && here.contains("200"), "{text}");
    let moved = lines.iter().position(|l| l.contains("/moved")).unwrap();
    assert!(lines[moved].starts_with("permanent_redirect"), "{text}");
    assert!(
        lines[moved + 1].contains(&format!("moved to {}", s.elsewhere.url("/new"))),
        "{text}"
    );
    assert!(
        text.contains("2 targets: 1 ok, 1 permanent_redirect; 0 broken"),
        "{text}"
    );
}

#[test]
fn the_rules_of_a_store_are_checked() {
    let s = servers();
    let toml = format!(
        "[[rules]]\npath = \"/gone-wrong\"\nto = \"{}\"\n",
        s.origin.url("/missing")
    );
    let file = rule_file("db", &toml);
    let db = file.with_file_name("rules.db");
    let _ = std::fs::remove_file(&db);
    let import = std::process::Command::new(env!("CARGO_BIN_EXE_seeother"))
        .args([
            "import",
            file.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(import.status.success(), "{import:?}");
    let (doc, out) = check_json(&["--db", db.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let e = entry(&doc, "/gone-wrong", None);
    assert_eq!(e["state"], "client_error");
    assert!(
        e["rule"].as_i64().is_some(),
        "a stored rule has its id: {e:#}"
    );
}

#[test]
fn a_missing_store_or_file_is_exit_2_with_what_to_do() {
    let out = check(&["--db", "/nonexistent/seeother.db"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no database at"), "{err}");
    let out = check(&["--rules", "/nonexistent/rules.toml"]);
    assert_eq!(out.status.code(), Some(2));
    let out = check(&["--per-host", "0", "--rules", "/nonexistent/rules.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--per-host"));
}
