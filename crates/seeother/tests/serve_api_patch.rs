//! `PATCH /-/api/rules/{id}` with a JSON Merge Patch (RFC 7396), and a `PUT` that drops
//! fields saying which, over real sockets.

mod serve_support;

use serve_support::{Server, TOKEN, TempDir};

const RULE: &str = r#"{
  "path": "/id/berlin",
  "to": "https://example.org/page/berlin",
  "cache_control": "max-age=60",
  "variants": [{"type": "text/turtle", "to": "https://example.org/data/berlin.ttl"}]
}"#;

fn start(name: &str) -> (TempDir, Server, i64) {
    let dir = TempDir::new(&format!("api-patch-{name}"));
    let s = Server::start(&dir.path().join("s.db"), &[]);
    let r = s.api("POST", "/-/api/rules", Some(RULE));
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_i64().unwrap();
    (dir, s, id)
}

fn patch(s: &Server, id: i64, content_type: &str, body: &str) -> serve_support::Resp {
    let auth = format!("Bearer {TOKEN}");
    s.request(
        "PATCH",
        &format!("/-/api/rules/{id}"),
        &[("Authorization", &auth), ("Content-Type", content_type)],
        body.as_bytes(),
    )
}

const MERGE: &str = "application/merge-patch+json";

#[test]
fn a_merge_patch_changes_only_the_fields_it_names() {
    let (_dir, s, id) = start("merge");
    let r = patch(&s, id, MERGE, r#"{"status": 308}"#);
    assert_eq!(r.status, 200, "{}", r.text());
    let rule = r.json();
    assert_eq!(rule["status"], 308);
    assert_eq!(rule["cache_control"], "max-age=60");
    assert_eq!(rule["variants"][0]["type"], "text/turtle");
    let answer = s.get("/id/berlin");
    assert_eq!(answer.status, 308);
    assert_eq!(answer.header("cache-control"), Some("max-age=60"));

    // null removes a field (RFC 7396 §2); a nested object would be merged, a list replaced.
    let r = patch(
        &s,
        id,
        MERGE,
        r#"{"cache_control": null, "variants": [{"type": "application/ld+json", "to": "https://example.org/berlin.jsonld"}]}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let rule = r.json();
    assert!(rule.get("cache_control").is_none(), "{rule}");
    assert_eq!(rule["variants"].as_array().unwrap().len(), 1);
    assert_eq!(rule["variants"][0]["type"], "application/ld+json");
    assert_eq!(s.get("/id/berlin").header("cache-control"), None);

    // The same with plain JSON (curl -d), and the change is in the history.
    let r = patch(
        &s,
        id,
        "application/json",
        r#"{"to": "https://example.org/berlin"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        s.get("/id/berlin").header("location"),
        Some("https://example.org/berlin")
    );
    let history = s
        .api("GET", &format!("/-/api/rules/{id}/history"), None)
        .json();
    assert_eq!(history["history"].as_array().unwrap().len(), 4, "{history}");
}

#[test]
fn a_patch_that_cannot_apply_changes_nothing() {
    let (_dir, s, id) = start("refused");
    let r = patch(
        &s,
        id,
        "application/json-patch+json",
        r#"[{"op": "replace", "path": "/status", "value": 308}]"#,
    );
    assert_eq!(r.status, 415);
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("JSON Merge Patch (RFC 7396)")
    );

    let r = patch(&s, id, MERGE, "[1, 2]");
    assert_eq!(r.status, 400);
    assert!(r.json()["error"].as_str().unwrap().contains("JSON object"));

    let r = patch(&s, id, MERGE, r#"{"stauts": 308}"#);
    assert_eq!(r.status, 400);
    let e = r.json()["error"].as_str().unwrap().to_owned();
    assert!(
        e.contains("unknown field `stauts`; did you mean `status`?"),
        "{e}"
    );

    let r = patch(&s, id, MERGE, r#"{"status": "308"}"#);
    assert_eq!(r.status, 400);
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("status must be a number such as 303")
    );

    let r = patch(&s, id, MERGE, r#"{"to": "javascript:alert(1)"}"#);
    assert_eq!(r.status, 422, "{}", r.text());

    let r = patch(&s, id, MERGE, r#"{"path": null}"#);
    assert_eq!(r.status, 422, "{}", r.text());

    assert_eq!(
        patch(&s, id + 1000, MERGE, r#"{"status": 308}"#).status,
        404
    );
    let r = s.request(
        "PATCH",
        &format!("/-/api/rules/{id}"),
        &[],
        br#"{"status": 308}"#,
    );
    assert_eq!(r.status, 401);

    // Nothing changed.
    let rule = s.api("GET", &format!("/-/api/rules/{id}"), None).json();
    assert_eq!(rule["status"], 303);
    assert_eq!(rule["cache_control"], "max-age=60");
    assert_eq!(s.get("/id/berlin").status, 303);
}

#[test]
fn a_put_that_drops_fields_says_which() {
    let (_dir, s, id) = start("put");
    let r = s.api(
        "PUT",
        &format!("/-/api/rules/{id}"),
        Some(r#"{"path": "/id/berlin", "to": "https://example.org/b", "status": 308}"#),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.header("seeother-dropped-fields"),
        Some("cache_control, variants")
    );
    assert!(r.json().get("variants").is_none());

    // A whole replacement drops nothing, and says nothing.
    let r = s.api("PUT", &format!("/-/api/rules/{id}"), Some(RULE));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("seeother-dropped-fields"), None);

    // PATCH is listed where the rule's methods are.
    let r = s.api("POST", &format!("/-/api/rules/{id}"), Some("{}"));
    assert_eq!(r.status, 405);
    assert!(
        r.header("allow").unwrap().contains("PATCH"),
        "{:?}",
        r.header("allow")
    );
}
