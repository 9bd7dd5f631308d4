//! `serve --check-interval`: the rules' targets checked in the background, the latest result
//! per rule in the API (`/-/api/rules/{id}/check`, `/-/api/checks?state=`) and the metrics.

mod admin_support;
mod fetch_support;
mod serve_support;

use std::time::Duration;

use admin_support::Admin;
use fetch_support::reply;
use serve_support::{Server, TempDir, eventually};

#[test]
fn background_checks_show_in_the_api_and_the_metrics() {
    let origin = fetch_support::Server::start(|req| match req.target.as_str() {
        "/fine" => reply(200, &[], "fine"),
        "/data" if req.headers.get("accept").map(String::as_str) == Some("text/turtle") => {
            reply(200, &[], "<> a <x> .")
        }
        _ => reply(404, &[], "not here"),
    });
    let dir = TempDir::new("check-serve");
    let rules = dir.file(
        "rules.toml",
        &format!(
            r#"
[[rules]]
path = "/fine"
to = "{fine}"
[[rules.variants]]
type = "text/turtle"
to = "{data}"

[[rules]]
path = "/rotten"
to = "{rotten}"

[[rules]]
pattern = "/id/{{name}}"
to = "https://example.org/{{name}}"
"#,
            fine = origin.url("/fine"),
            data = origin.url("/data"),
            rotten = origin.url("/rotten"),
        ),
    );
    let server = Server::start(
        &dir.path().join("s.db"),
        &[
            "--rules",
            rules.to_str().unwrap(),
            "--check-interval",
            "1h",
            "--check-delay",
            "0",
        ],
    );
    let page = server.api("GET", "/-/api/rules?limit=10", None).json();
    let id_of = |path: &str| {
        page["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["path"] == path || r["pattern"] == path)
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let (fine, rotten, template) = (id_of("/fine"), id_of("/rotten"), id_of("/id/{name}"));

    // Before and after its first round, as it happens.
    assert!(
        eventually(Duration::from_secs(20), || {
            server
                .api("GET", &format!("/-/api/rules/{template}/check"), None)
                .status
                == 200
        }),
        "no check stored"
    );

    let r = server.api("GET", &format!("/-/api/rules/{rotten}/check"), None);
    assert_eq!(r.status, 200, "{}", r.text());
    let doc = r.json();
    assert_eq!(doc["state"], "client_error");
    assert_eq!(doc["broken"], true);
    assert_eq!(doc["targets"][0]["status"], 404);
    assert!(doc["checked_at"].as_i64().unwrap() > 1_700_000_000);

    let doc = server
        .api("GET", &format!("/-/api/rules/{fine}/check"), None)
        .json();
    assert_eq!(doc["state"], "ok");
    assert_eq!(doc["targets"].as_array().unwrap().len(), 2);
    assert_eq!(doc["targets"][1]["variant"], "text/turtle");
    assert_eq!(doc["targets"][1]["state"], "ok");

    let doc = server
        .api("GET", &format!("/-/api/rules/{template}/check"), None)
        .json();
    assert_eq!(doc["state"], "skipped");
    assert_eq!(doc["targets"][0]["skipped"], "template");

    let broken = server.api("GET", "/-/api/checks?state=broken", None).json();
    let ids: Vec<i64> = broken["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["rule"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [rotten]);
    assert_eq!(broken["next"], serde_json::Value::Null);
    let all = server.api("GET", "/-/api/checks?limit=2", None).json();
    assert_eq!(all["checks"].as_array().unwrap().len(), 2);
    assert!(all["next"].as_i64().is_some());
    let bad = server.api("GET", "/-/api/checks?state=rotten", None);
    assert_eq!(bad.status, 400);
    assert!(bad.text().contains("client_error"), "{}", bad.text());
    assert_eq!(
        server.api("GET", "/-/api/rules/99999/check", None).status,
        404
    );

    assert!(
        eventually(Duration::from_secs(10), || {
            server
                .get("/-/metrics")
                .text()
                .contains("seeother_targets{state=\"broken\"} 1")
        }),
        "{}",
        server.get("/-/metrics").text()
    );
    let metrics = server.get("/-/metrics").text();
    assert!(
        metrics.contains("seeother_targets{state=\"ok\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("seeother_targets{state=\"skipped\"} 1"),
        "{metrics}"
    );

    // The admin pages: the broken targets, and a rule's check with its hops.
    let admin = Admin::sign_in(&server);
    let page = admin.get("/-/admin/checks");
    assert_eq!(page.status, 200, "{}", page.text());
    let html = page.text();
    assert!(
        html.contains(&format!("/-/admin/rules/{rotten}/check")),
        "{html}"
    );
    assert!(
        !html.contains(&format!("/-/admin/rules/{fine}/check")),
        "{html}"
    );
    let html = admin.get("/-/admin/checks?state=ok").text();
    assert!(
        html.contains(&format!("/-/admin/rules/{fine}/check")),
        "{html}"
    );
    assert_eq!(admin.get("/-/admin/checks?state=rotten").status, 400);
    let page = admin.get(&format!("/-/admin/rules/{rotten}/check"));
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(
        html.contains("client_error") && html.contains(&origin.url("/rotten")),
        "{html}"
    );
    assert!(html.contains("<li>404 "), "{html}");
    assert_eq!(admin.get("/-/admin/rules/99999/check").status, 404);
    // Not without signing in.
    assert_ne!(server.get("/-/admin/checks").status, 200);
}

#[test]
fn a_bad_check_interval_is_refused_with_what_to_write() {
    let (code, _, err) = serve_support::cli(&["serve", "--check-interval", "soon"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("6h"), "{err}");
    let (code, _, err) = serve_support::cli(&["serve", "--check-interval", "0"]);
    assert_eq!(code, 2, "{err}");
}
