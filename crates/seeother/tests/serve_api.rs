//! The admin API over real sockets: auth, create/read/update/delete, refused targets, import,
//! history, paging, and changes taking effect without a restart.

mod admin_support;
mod serve_support;

use std::time::Duration;

use serve_support::{Server, TOKEN, TempDir, eventually};

fn start(name: &str) -> (TempDir, Server) {
    let dir = TempDir::new(name);
    let s = Server::start(&dir.path().join("s.db"), &[]);
    (dir, s)
}

#[test]
fn missing_or_wrong_token_is_401_and_changes_nothing() {
    let (_dir, s) = start("auth");
    let body = r#"{"path": "/x", "to": "https://example.org/x"}"#;
    let json = [("Content-Type", "application/json")];
    let attempts: [&[(&str, &str)]; 4] = [
        &json,
        &[
            ("Authorization", "Bearer wrong-token-0123456789abc"),
            ("Content-Type", "application/json"),
        ],
        &[
            ("Authorization", TOKEN),
            ("Content-Type", "application/json"),
        ],
        &[
            ("Authorization", "Basic dGVzdDp0ZXN0"),
            ("Content-Type", "application/json"),
        ],
    ];
    for headers in attempts {
        let r = s.request("POST", "/-/api/rules", headers, body.as_bytes());
        assert_eq!(r.status, 401, "{headers:?}");
        assert_eq!(
            r.header("www-authenticate"),
            Some("Bearer realm=\"seeother\"")
        );
        assert!(
            r.json()["error"]
                .as_str()
                .unwrap()
                .contains("Authorization: Bearer")
        );
        let r = s.request("GET", "/-/api/rules", headers, b"");
        assert_eq!(r.status, 401);
    }
    assert_eq!(s.get("/x").status, 404, "nothing was created");
    let list = s.api("GET", "/-/api/rules", None);
    assert_eq!(list.status, 200);
    assert_eq!(list.json()["rules"].as_array().unwrap().len(), 0);
    // The scheme is case-insensitive.
    let r = s.request(
        "GET",
        "/-/api/rules",
        &[("Authorization", &format!("bearer {TOKEN}"))],
        b"",
    );
    assert_eq!(r.status, 200);
}

#[test]
fn crud_takes_effect_without_restart() {
    let (_dir, s) = start("crud");
    assert_eq!(s.get("/id/a").status, 404);
    let r = s.api(
        "POST",
        "/-/api/rules",
        Some(r#"{"path": "/id/a", "to": "https://example.org/one"}"#),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let rule = r.json();
    let id = rule["id"].as_i64().unwrap();
    assert_eq!(
        r.header("location"),
        Some(format!("/-/api/rules/{id}").as_str())
    );
    assert_eq!(rule["status"], 303);
    assert_eq!(
        s.get("/id/a").header("location"),
        Some("https://example.org/one")
    );

    let r = s.api(
        "PUT",
        &format!("/-/api/rules/{id}"),
        Some(r#"{"path": "/id/a", "to": "https://example.org/two", "status": 308}"#),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let g = s.get("/id/a");
    assert_eq!(
        (g.status, g.header("location")),
        (308, Some("https://example.org/two"))
    );

    let r = s.api("GET", &format!("/-/api/rules/{id}"), None);
    assert_eq!(r.json()["to"], "https://example.org/two");

    let r = s.api(
        "POST",
        "/-/api/rules",
        Some(r#"{"path": "/id/a", "to": "https://example.org/dup"}"#),
    );
    assert_eq!(r.status, 409, "{}", r.text());

    let r = s.api("DELETE", &format!("/-/api/rules/{id}?tombstone=true"), None);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["gone"], true);
    assert_eq!(s.get("/id/a").status, 410);

    let r = s.api("DELETE", &format!("/-/api/rules/{id}"), None);
    assert_eq!(r.status, 204);
    assert_eq!(s.get("/id/a").status, 404);
    assert_eq!(
        s.api("GET", &format!("/-/api/rules/{id}"), None).status,
        404
    );

    let r = s.api("GET", &format!("/-/api/rules/{id}/history"), None);
    assert_eq!(r.status, 200);
    let actions: Vec<String> = r.json()["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            format!(
                "{} {} -> {}",
                h["action"].as_str().unwrap(),
                h["old_target"],
                h["new_target"]
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            "create null -> \"https://example.org/one\"",
            "update \"https://example.org/one\" -> \"https://example.org/two\"",
            "tombstone \"https://example.org/two\" -> \"https://example.org/two\"",
            "delete \"https://example.org/two\" -> null",
        ]
    );
}

#[test]
fn hostile_targets_are_refused_with_a_clear_error() {
    let (_dir, s) = start("hostile");
    for to in [
        r#""https://example.org/\r\nSet-Cookie: a=b""#,
        r#""/x\nLocation: https://evil.example""#,
        r#""javascript:alert(1)""#,
        r#""data:text/html,hi""#,
        r#""https://example.org/\u0000""#,
    ] {
        let body = format!(r#"{{"path": "/evil", "to": {to}}}"#);
        let r = s.api("POST", "/-/api/rules", Some(&body));
        assert_eq!(r.status, 422, "{to}: {}", r.text());
        let msg = r.json()["error"].as_str().unwrap().to_owned();
        assert!(msg.contains("`to` is refused"), "{msg}");
    }
    let r = s.api(
        "POST",
        "/-/api/rules",
        Some(r#"{"path": "/evil", "to": "/ok", "status": 200}"#),
    );
    assert_eq!(r.status, 422);
    let r = s.api("POST", "/-/api/rules", Some("not json"));
    assert_eq!(r.status, 400);
    assert_eq!(s.get("/evil").status, 404, "nothing was stored");
    assert_eq!(
        s.api("GET", "/-/api/rules", None).json()["rules"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

#[test]
fn import_is_all_or_nothing_with_line_numbers() {
    let (_dir, s) = start("import");
    let auth = format!("Bearer {TOKEN}");
    let bad = "[[rules]]\npath = \"/a\"\nto = \"/b\"\n\n[[rules]]\npath = \"/c\"\nto = \"javascript:x\"\n";
    let r = s.request(
        "POST",
        "/-/api/import",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/toml"),
        ],
        bad.as_bytes(),
    );
    assert_eq!(r.status, 422, "{}", r.text());
    let problems = r.json()["problems"].clone();
    assert_eq!(problems[0]["line"], 5, "{problems}");
    assert_eq!(s.get("/a").status, 404, "nothing of a bad file is applied");

    let csv = "path,to,status\n/a,https://example.org/a,\n/c,https://example.org/c,301\n";
    let r = s.request(
        "POST",
        "/-/api/import?format=csv",
        &[("Authorization", &auth)],
        csv.as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["created"], 2);
    assert_eq!(s.get("/c").status, 301);

    let r = s.request(
        "POST",
        "/-/api/import",
        &[("Authorization", &auth)],
        csv.as_bytes(),
    );
    assert_eq!(r.status, 415, "the format must be given");
}

#[test]
fn listing_pages_search_hits_and_unknown_paths() {
    let (_dir, s) = start("list");
    let auth = format!("Bearer {TOKEN}");
    let mut csv = String::from("path,to\n");
    for i in 0..30 {
        csv.push_str(&format!("/r{i},https://example.org/{i}\n"));
    }
    let r = s.request(
        "POST",
        "/-/api/import?format=csv",
        &[("Authorization", &auth)],
        csv.as_bytes(),
    );
    assert_eq!(r.status, 200);
    let page = s.api("GET", "/-/api/rules?limit=20", None).json();
    assert_eq!(page["rules"].as_array().unwrap().len(), 20);
    let next = page["next"].as_i64().unwrap();
    let page2 = s
        .api("GET", &format!("/-/api/rules?limit=20&after={next}"), None)
        .json();
    assert_eq!(page2["rules"].as_array().unwrap().len(), 10);
    assert!(page2["next"].is_null());
    let found = s.api("GET", "/-/api/rules?q=%2Fr2", None).json();
    assert_eq!(
        found["rules"].as_array().unwrap().len(),
        11,
        "/r2 and /r20…/r29: {found}"
    );

    for _ in 0..3 {
        assert_eq!(s.get("/r5").status, 303);
    }
    s.get("/missing-thing");
    s.get("/missing-thing");
    let id5 = s.api("GET", "/-/api/rules?q=%2Fr5", None).json()["rules"][0]["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        s.api("GET", &format!("/-/api/rules/{id5}"), None).json()["hits"],
        3
    );
    assert!(eventually(Duration::from_secs(5), || {
        let u = s.api("GET", "/-/api/unknown", None).json();
        u["unknown"][0]["path"] == "/missing-thing" && u["unknown"][0]["hits"] == 2
    }));
}

#[test]
fn operations_endpoints() {
    let (_dir, s) = start("ops");
    let r = s.get("/-/healthz");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.json()["status"], "ok", "{}", r.text());
    assert_eq!(r.json()["store"], "sqlite");
    let r = s.get("/-/readyz");
    assert_eq!(
        (r.status, &r.json()["status"]),
        (200, &serde_json::json!("ok"))
    );
    let r = s.get("/-/api/openapi.json");
    assert_eq!(r.status, 200, "the OpenAPI document needs no token");
    assert_eq!(r.json()["openapi"], "3.1.0");
    assert!(r.json()["paths"]["/-/api/rules/{id}"].is_object());
    s.api(
        "POST",
        "/-/api/rules",
        Some(r#"{"prefix": "/p/", "to": "https://example.org/"}"#),
    );
    s.get("/p/x");
    s.get("/nope");
    let m = s.get("/-/metrics").text();
    assert!(
        m.contains("seeother_requests_total{status=\"303\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("seeother_requests_total{status=\"404\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("seeother_requests_by_kind_total{kind=\"prefix\"} 1"),
        "{m}"
    );
    assert!(m.contains("seeother_rules 1"), "{m}");
    assert!(m.contains("seeother_index_reloads_total 1"), "{m}");
    assert!(
        m.contains("seeother_request_duration_seconds_bucket{le=\"+Inf\"}"),
        "{m}"
    );
    let r = s.api("PATCH", "/-/api/rules", None);
    assert_eq!((r.status, r.header("allow")), (405, Some("GET, POST")));
}

#[test]
fn a_generated_token_is_stored_beside_the_database_with_mode_0600() {
    let dir = TempDir::new("token");
    let db = dir.path().join("s.db");
    let token_file = dir.path().join("s.db.admin-token");
    let s = Server::start_with(&db, &[], None);
    assert!(
        s.stdout
            .iter()
            .any(|l| l.contains("generated and stored in") && l.contains("s.db.admin-token")),
        "{:?}",
        s.stdout
    );
    let token = std::fs::read_to_string(&token_file).unwrap();
    assert!(token.len() >= 32);
    assert!(
        !s.stdout.iter().any(|l| l.contains(&token)),
        "the token itself is never printed"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let r = s.request(
        "GET",
        "/-/api/rules",
        &[("Authorization", &format!("Bearer {token}"))],
        b"",
    );
    assert_eq!(r.status, 200);
    drop(s);
    // The next start reuses it.
    let s = Server::start_with(&db, &[], None);
    assert!(
        s.stdout.iter().any(|l| l.contains("earlier start")),
        "{:?}",
        s.stdout
    );
    // A token file given on the command line wins.
    drop(s);
    let file = dir.file("tok", "file-token-0123456789abcdef\n");
    let s = Server::start_with(&db, &["--admin-token-file", file.to_str().unwrap()], None);
    let r = s.request(
        "GET",
        "/-/api/rules",
        &[("Authorization", "Bearer file-token-0123456789abcdef")],
        b"",
    );
    assert_eq!(r.status, 200);
}

/// A search is for its text, literally: NUL, `%`, `_` and `\` are characters like any other
/// (SQL LIKE would read `%` and `_` as wildcards, and stop its pattern at a NUL), in the API
/// and in the admin pages' list alike.
#[test]
fn search_text_is_literal_nul_and_like_metacharacters_included() {
    let (_dir, s) = start("search");
    let auth = format!("Bearer {TOKEN}");
    let csv = "path,to\n/id/caf%C3%A9,https://example.org/cafe\n/snake_case,https://example.org/s\n/plain,https://example.org/Berlin\n/back\\slash,https://example.org/b\n";
    let r = s.request(
        "POST",
        "/-/api/import?format=csv",
        &[("Authorization", &auth)],
        csv.as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let paths = |q: &str| -> Vec<String> {
        let r = s.api("GET", &format!("/-/api/rules?q={q}"), None);
        assert_eq!(r.status, 200, "q={q}: {}", r.text());
        r.json()["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["path"].as_str().unwrap().to_owned())
            .collect()
    };
    let none: Vec<String> = Vec::new();
    assert_eq!(paths("%00"), none, "no rule holds a NUL");
    assert_eq!(paths("plain%00"), none);
    assert_eq!(paths("%00plain"), none);
    assert_eq!(paths("%25"), ["/id/caf%C3%A9"], "`%` is a percent sign");
    assert_eq!(paths("%25C3%25A9"), ["/id/caf%C3%A9"]);
    assert_eq!(paths("_"), ["/snake_case"], "`_` is an underscore");
    assert_eq!(paths("e_c"), ["/snake_case"]);
    assert_eq!(paths("%5C"), ["/back\\slash"], "`\\` is a backslash");
    assert_eq!(paths("%25%25"), none);
    assert_eq!(paths("BERLIN"), ["/plain"], "ASCII case aside");
    assert_eq!(paths("").len(), 4, "an empty search is no filter");

    let admin = admin_support::Admin::sign_in(&s);
    let page = |q: &str| {
        let r = admin.get(&format!("/-/admin/rules?q={q}"));
        assert_eq!(r.status, 200, "{}", r.text());
        r.text()
    };
    assert!(page("plain").contains("/plain"));
    for q in ["%00", "plain%00", "%25%25"] {
        let html = page(q);
        for path in ["/plain", "/snake_case", "/id/caf%C3%A9"] {
            assert!(!html.contains(path), "q={q} lists {path}: {html}");
        }
    }
    let html = page("_");
    assert!(
        html.contains("/snake_case") && !html.contains("/plain"),
        "{html}"
    );
}

/// A store whose write lock another process holds past the server's busy timeout (5 s) is a
/// 503 with `Retry-After` (RFC 9110 §15.6.4), as the OpenAPI document says, not a 500; the
/// same call succeeds once the lock is gone.
#[test]
fn a_busy_store_is_503_with_retry_after_and_nothing_changed() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let (dir, s) = start("busy");
    let db = dir.path().join("s.db");
    // python3 is there wherever scripts/test-all ran (it makes schemathesis's virtualenv).
    let mut holder = Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys, time\n\
             c = sqlite3.connect(sys.argv[1], isolation_level=None)\n\
             c.execute('BEGIN EXCLUSIVE')\n\
             print('locked', flush=True)\n\
             time.sleep(60)\n",
        ])
        .arg(&db)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 (scripts/test-all installs it)");
    let mut line = String::new();
    BufReader::new(holder.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "locked");
    let body = r#"{"path": "/busy", "to": "https://example.org/busy"}"#;
    let r = s.api("POST", "/-/api/rules", Some(body));
    let _ = holder.kill();
    let _ = holder.wait();
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.header("retry-after"), Some("2"));
    assert!(
        r.json()["error"]
            .as_str()
            .unwrap()
            .contains("locked by another writer"),
        "{}",
        r.text()
    );
    assert_eq!(s.get("/busy").status, 404, "nothing was changed");
    let r = s.api("POST", "/-/api/rules", Some(body));
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(s.get("/busy").status, 303);
}

/// Every refusal is the API's JSON error with a status and a message that says what to do,
/// whichever part of the request it is about: the query, the path's id, the body's size or
/// its JSON, the method.
#[test]
fn refusals_are_json_errors_that_say_what_to_do() {
    let (_dir, s) = start("refusals");
    let auth = format!("Bearer {TOKEN}");
    let refused = |r: &serve_support::Resp, status: u16, says: &str| {
        assert_eq!(r.status, status, "{}", r.text());
        assert_eq!(r.header("content-type"), Some("application/json"));
        let error = r.json()["error"].as_str().unwrap().to_owned();
        assert!(error.contains(says), "{error:?} does not say {says:?}");
    };
    let r = s.api("GET", "/-/api/rules?limit=5000", None);
    refused(
        &r,
        400,
        "parameter `limit` is 5000; give a number from 1 to 1000",
    );
    let r = s.api("GET", "/-/api/rules?after=ten", None);
    refused(&r, 400, "parameter `after` is \"ten\"; give a whole number");
    let r = s.api("GET", "/-/api/rules?limit=1&limit=2", None);
    refused(&r, 400, "give each parameter once");
    let r = s.api("GET", "/-/api/unknown?limit=0", None);
    refused(&r, 400, "give a number from 1 to 10000");
    let r = s.api("DELETE", "/-/api/rules/1?tombstone=maybe", None);
    refused(&r, 400, "give true or false");
    for id in ["abc", "1.5", "99999999999999999999", "%FF", "-"] {
        let r = s.api("GET", &format!("/-/api/rules/{id}"), None);
        refused(&r, 404, "is not a rule id; ids are numbers");
    }
    refused(&s.api("GET", "/-/api/rules/7", None), 404, "7");
    let r = s.api("POST", "/-/api/rules", Some("[1, 2]"));
    refused(&r, 400, "the body is not a rule object");
    // No Content-Type is asked for (curl -d sends a form's).
    let r = s.request(
        "POST",
        "/-/api/rules",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        br#"{"path": "/form", "to": "https://example.org/form"}"#,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    // One byte over the limit of a rule (1 MiB), announced or not.
    let big = vec![b' '; (1 << 20) + 1];
    for chunked in [false, true] {
        let r = if chunked {
            let mut req = format!(
                "POST /-/api/rules HTTP/1.1\r\nHost: h\r\nAuthorization: {auth}\r\n\
                 Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n",
                big.len()
            )
            .into_bytes();
            req.extend_from_slice(&big);
            req.extend_from_slice(b"\r\n0\r\n\r\n");
            serve_support::exchange(s.addr, &req)
        } else {
            s.request("POST", "/-/api/rules", &[("Authorization", &auth)], &big)
        };
        refused(
            &r,
            413,
            "the body is larger than 1048576 bytes; split it into smaller requests",
        );
    }
    let r = s.request("PUT", "/-/api/rules/1", &[("Authorization", &auth)], &big);
    refused(&r, 413, "larger than 1048576 bytes");
    let r = s.request(
        "POST",
        "/-/api/import?format=csv",
        &[("Authorization", &auth)],
        b"\xff\xfe",
    );
    refused(&r, 400, "not UTF-8");
    let r = s.request(
        "POST",
        "/-/api/import?format=yaml",
        &[("Authorization", &auth)],
        b"x",
    );
    refused(&r, 415, "?format=toml|json|csv");
    let r = s.api("POST", "/-/api/rules/1", Some("{}"));
    refused(&r, 405, "this resource allows GET, PUT, DELETE, PATCH");
    assert_eq!(r.header("allow"), Some("GET, PUT, DELETE, PATCH"));
    // Only GET is a rule's read; HEAD is refused like any other method.
    let r = s.request("HEAD", "/-/api/rules", &[("Authorization", &auth)], b"");
    assert_eq!((r.status, r.header("allow")), (405, Some("GET, POST")));
}

/// A resource is the same with trailing slashes, the document included; a path that is no
/// resource is a 404 with them too, and only for a client with the token.
#[test]
fn a_trailing_slash_names_the_same_resource() {
    let (_dir, s) = start("slash");
    let r = s.api(
        "POST",
        "/-/api/rules/",
        Some(r#"{"path": "/s", "to": "https://example.org/s"}"#),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_i64().unwrap();
    let listed = s.api("GET", "/-/api/rules//?q=%2Fs", None);
    assert_eq!(listed.status, 200, "{}", listed.text());
    assert_eq!(listed.json()["rules"][0]["id"], id, "the query is kept");
    let r = s.api("GET", &format!("/-/api/rules/{id}/"), None);
    assert_eq!((r.status, r.json()["path"].as_str()), (200, Some("/s")));
    let r = s.api("GET", &format!("/-/api/rules/{id}/history/"), None);
    assert_eq!(r.status, 200, "{}", r.text());
    let r = s.get("/-/api/openapi.json/");
    assert_eq!(
        r.status, 200,
        "the document needs no token with a slash either"
    );
    assert_eq!(r.json()["openapi"], "3.1.0");
    assert_eq!(s.get("/-/api/rules/").status, 401);
    let r = s.api("PATCH", "/-/api/unknown/", None);
    assert_eq!((r.status, r.header("allow")), (405, Some("GET")));
    for path in ["/-/api/", "/-/api/nothing/", "/-/api/rules/x/y/"] {
        assert_eq!(s.get(path).status, 401, "{path}");
        let r = s.api("GET", path, None);
        assert_eq!(r.status, 404, "{path}: {}", r.text());
        assert_eq!(
            r.json()["error"],
            "no such API resource; see /-/api/openapi.json"
        );
    }
}

/// A CSV file of `n` rules `/big/I` → `https://example.org/VERSION/records/I/full-record.html`
/// (about 70 bytes a rule), then `last`.
fn big_csv(n: usize, version: &str, last: &str) -> String {
    let mut csv = String::from("path,to\n");
    for i in 0..n {
        csv.push_str(&format!("/big/{i},{}\n", big_target(version, i)));
    }
    csv.push_str(last);
    csv
}

fn big_target(version: &str, i: usize) -> String {
    format!("https://example.org/{version}/records/{i}/full-record.html")
}

/// `POST /-/api/import` of the CSV file `csv`.
fn import_csv(s: &Server, csv: &str) -> serve_support::Resp {
    s.request(
        "POST",
        "/-/api/import?format=csv",
        &[("Authorization", &format!("Bearer {TOKEN}"))],
        csv.as_bytes(),
    )
}

/// Whether rules 0, 7, the middle one and the last of `big_csv(n, version, …)` answer with
/// their targets.
fn assert_big_served(s: &Server, n: usize, version: &str) {
    for i in [0, 7, n / 2, n - 1] {
        let r = s.get(&format!("/big/{i}"));
        assert_eq!(r.status, 303, "rule {i}");
        assert_eq!(
            r.header("location"),
            Some(big_target(version, i).as_str()),
            "rule {i}"
        );
    }
}

#[test]
fn an_import_that_changes_every_rule_of_a_large_table_serves_each_new_target() {
    let (_dir, s) = start("reimport");
    // Under the size from which an import is streamed: applied to the index as a list of
    // changes.
    const N: usize = 20_000;
    let first = import_csv(&s, &big_csv(N, "v1", ""));
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(first.json()["created"], N);
    for _ in 0..3 {
        assert_eq!(s.get("/big/7").status, 303);
    }
    // Every rule changed, and one created.
    let second = import_csv(&s, &big_csv(N, "v2", "/new,https://example.org/new\n"));
    assert_eq!(second.status, 200, "{}", second.text());
    let second = second.json();
    assert_eq!(
        (&second["updated"], &second["created"]),
        (&N.into(), &1.into()),
        "{second}"
    );
    assert_big_served(&s, N, "v2");
    assert_eq!(
        s.get("/new").header("location"),
        Some("https://example.org/new")
    );
    // The hits counted before the change stay with the rule: 3 before, 1 after.
    let id7 = s
        .api("GET", "/-/api/rules?q=%2Fbig%2F7&limit=1", None)
        .json()["rules"][0]["id"]
        .as_i64()
        .unwrap();
    assert_eq!(
        s.api("GET", &format!("/-/api/rules/{id7}"), None).json()["hits"],
        4
    );
}

/// An import body past the size from which it is written while it is read (its rules never
/// all in memory, the index loaded from the store after): all of it served, a bad rule at its
/// end refused by line with nothing applied, a changed file's targets served.
#[test]
fn a_large_import_is_streamed_all_or_nothing() {
    let (_dir, s) = start("streamed");
    const N: usize = 70_000;
    let v1 = big_csv(N, "v1", "");
    assert!(v1.len() > 4 << 20, "past the streamed size");
    let r = import_csv(&s, &v1);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["created"], N);
    assert_big_served(&s, N, "v1");

    let r = import_csv(&s, &big_csv(N, "v2", "/big/x,javascript:alert(1)\n"));
    assert_eq!(r.status, 422, "{}", r.text());
    assert_eq!(r.json()["problems"][0]["line"], N + 2, "{}", r.text());
    assert_big_served(&s, N, "v1");
    assert_eq!(
        s.get("/big/x").status,
        404,
        "nothing of a bad file is applied"
    );

    let r = import_csv(&s, &big_csv(N, "v2", ""));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["updated"], N);
    assert_big_served(&s, N, "v2");
}
