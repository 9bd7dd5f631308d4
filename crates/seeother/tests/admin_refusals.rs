//! The admin pages' edges over real sockets: hostile `next` values on sign-in, and every
//! refusal (400, 404, 405, 408, 415, 503) answered as an admin page with its protective
//! header fields, never as a framework's plain text.

mod admin_support;
mod serve_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use admin_support::{Admin, rule_count, rule_form};
use rusqlite::Connection;
use serve_support::{Resp, Server, TOKEN, TempDir};

fn start(name: &str, args: &[&str]) -> (TempDir, Server) {
    let dir = TempDir::new(&format!("admin-refusals-{name}"));
    let s = Server::start(&dir.path().join("s.db"), args);
    (dir, s)
}

/// Where signing in with `next` leads.
fn sign_in_to(s: &Server, next: &str) -> String {
    let anon = Admin::anonymous(s);
    let r = anon.post(
        "/-/admin/sign-in",
        &[("csrf", &anon.csrf), ("token", TOKEN), ("next", next)],
    );
    assert_eq!(r.status, 303, "{next:?}: {}", r.text());
    r.header("location").unwrap().to_owned()
}

/// An admin page: HTML in the admin look, not to be cached or framed.
fn assert_admin_page(r: &Resp, status: u16, says: &str) {
    let what = format!("{status} {says:?}: {r:?}");
    assert_eq!(r.status, status, "{what}");
    assert_eq!(
        r.header("content-type"),
        Some("text/html; charset=utf-8"),
        "{what}"
    );
    assert_eq!(r.header("cache-control"), Some("no-store"), "{what}");
    assert_eq!(r.header("x-frame-options"), Some("DENY"), "{what}");
    let html = r.text();
    assert!(html.contains("href=\"/-/admin/style.css\""), "{what}");
    assert!(html.contains(says), "{what}");
}

#[test]
fn hostile_next_values_lead_to_the_rule_list() {
    let (_dir, s) = start("next", &[]);
    let host = s.addr.to_string();
    let hostile = [
        "//evil.example",
        "//evil.example/-/admin/rules",
        "/\\evil.example",
        "\\\\evil.example/-/admin/rules",
        "https:evil.example",
        "https:/evil.example/-/admin/rules",
        "https://evil.example/-/admin/rules",
        "/\t/evil.example/-/admin/rules",
        "/\n/evil.example/-/admin/rules",
        "\t//evil.example",
        " //evil.example",
        "java\tscript:alert(1)",
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        &format!("http://{host}@evil.example/-/admin/rules"),
        &format!("http://admin:pw@{host}/-/admin/rules"),
        "//user@evil.example/-/admin/rules",
        "/%2F%2Fevil.example",
        "/-/admin/../../id/berlin",
        "/id/berlin",
        &format!("http://{host}/id/berlin"),
        &format!("/-/admin/{}", "a".repeat(9000)),
    ];
    for next in hostile {
        assert_eq!(sign_in_to(&s, next), "/-/admin/rules", "{next:?}");
    }
    // Admin pages on this origin are followed, as paths; relative ones against the form's URL.
    for (next, lands) in [
        ("/-/admin/import", "/-/admin/import"),
        ("/-/admin/rules?q=a&host=b", "/-/admin/rules?q=a&host=b"),
        (
            &format!("http://{host}/-/admin/rules/new"),
            "/-/admin/rules/new",
        ),
        ("import", "/-/admin/import"),
        ("", "/-/admin/rules"),
    ] {
        assert_eq!(sign_in_to(&s, next), lands, "{next:?}");
    }
}

#[test]
fn the_sign_in_page_carries_next_escaped() {
    let (_dir, s) = start("next-page", &[]);
    let r = s.get("/-/admin/sign-in?next=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E");
    assert_admin_page(
        &r,
        200,
        "name=\"next\" value=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\"",
    );
    assert!(!r.text().contains("<script>"));
}

#[test]
fn refusals_are_admin_pages_with_their_status() {
    let (_dir, s) = start("pages", &[]);
    // 405 with Allow, for each kind of route, signed in or not.
    for (method, target, allow) in [
        ("PUT", "/-/admin/rules", "GET, HEAD, POST"),
        ("DELETE", "/-/admin/rules/1", "GET, HEAD, POST"),
        ("PATCH", "/-/admin/rules/1/delete", "GET, HEAD, POST"),
        ("POST", "/-/admin/rules/new", "GET, HEAD"),
        ("POST", "/-/admin/rules/1/edit", "GET, HEAD"),
        ("POST", "/-/admin/imports/1", "GET, HEAD"),
        ("GET", "/-/admin/sign-out", "POST"),
        ("PUT", "/-/admin/sign-in", "GET, HEAD, POST"),
        ("POST", "/-/admin/style.css", "GET, HEAD"),
    ] {
        let r = s.request(method, target, &[], b"");
        assert_admin_page(&r, 405, &format!("This page takes {allow}."));
        assert_eq!(r.header("allow"), Some(allow), "{method} {target}");
    }
    // Not signed in: pages lead to the sign-in form, forms are refused.
    let r = s.get("/-/admin/no/such/page");
    assert_eq!(r.status, 303);
    assert_eq!(
        r.header("location"),
        Some("/-/admin/sign-in?next=%2F-%2Fadmin%2Fno%2Fsuch%2Fpage")
    );
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let r = s.request("POST", "/-/admin/no/such/page", &[], b"");
    assert_admin_page(&r, 403, "nothing was changed");

    let admin = Admin::sign_in(&s);
    assert_admin_page(
        &admin.get("/-/admin/no/such/page"),
        404,
        "There is no admin page here.",
    );
    assert_admin_page(
        &admin.get("/-/admin/rules/abc"),
        404,
        "&quot;abc&quot; is not a rule id",
    );
    let r = admin.submit("/-/admin/rules/abc/delete", &[("mode", "delete")]);
    assert_admin_page(&r, 404, "is not a rule id");
    assert_admin_page(
        &admin.get("/-/admin/imports/x"),
        404,
        "Import reports are numbered",
    );
    let r = admin.submit("/-/admin/rules/1/delete", &[("mode", "shred")]);
    assert_admin_page(&r, 422, "&quot;shred&quot; is not a way to delete");
    // A query that cannot be read.
    let r = admin.get("/-/admin/rules?q=a&q=b");
    assert_admin_page(&r, 400, "the query string could not be read");
    // Bodies that are not forms.
    let cookie = admin.cookie.clone();
    for (content_type, status, says) in [
        ("", 415, "not &quot;&quot;"),
        ("text/plain", 415, "not &quot;text/plain&quot;"),
        ("multipart/form-data", 400, "no usable boundary"),
    ] {
        let mut headers = vec![("Cookie", cookie.as_str())];
        if !content_type.is_empty() {
            headers.push(("Content-Type", content_type));
        }
        for target in ["/-/admin/rules", "/-/admin/import"] {
            if content_type == "multipart/form-data" && target == "/-/admin/rules" {
                continue;
            }
            let r = s.request("POST", target, &headers, b"csrf=x");
            assert_admin_page(&r, status, says);
        }
    }
    assert_eq!(rule_count(&s), 0, "nothing changed");
    // HEAD: the page's header fields, its length, no body.
    let get = admin.get("/-/admin/rules");
    let head = s.request("HEAD", "/-/admin/rules", &[("Cookie", &cookie)], b"");
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), get.header("content-length"));
    assert_eq!(head.header("cache-control"), Some("no-store"));
    assert!(head.body.is_empty());
}

#[test]
fn a_form_body_that_stops_arriving_is_408_in_the_admin_look() {
    let (_dir, s) = start("slow", &["--body-timeout", "1", "--body-min-rate", "500"]);
    let admin = Admin::sign_in(&s);
    let mut c = TcpStream::connect(s.addr).unwrap();
    let head = format!(
        "POST /-/admin/rules HTTP/1.1\r\nHost: {}\r\nCookie: {}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 60000\r\n\r\ncsrf=",
        s.addr, admin.cookie
    );
    c.write_all(head.as_bytes()).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let started = Instant::now();
    let mut reader = BufReader::new(c);
    let mut status = String::new();
    reader.read_line(&mut status).unwrap();
    assert!(status.starts_with("HTTP/1.1 408 "), "{status}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let mut rest = Vec::new();
    let _ = reader.read_to_end(&mut rest);
    let r = serve_support::parse(&[status.as_bytes(), &rest].concat());
    assert_admin_page(&r, 408, "did not arrive in time");
    assert_eq!(rule_count(&s), 0);
}

#[test]
fn a_busy_store_is_503_with_retry_after_and_the_form_can_be_sent_again() {
    let dir = TempDir::new("admin-refusals-busy");
    let db = dir.path().join("s.db");
    let s = Server::start(&db, &["--db-busy-timeout", "0.3"]);
    let admin = Admin::sign_in(&s);
    let lock = Connection::open(&db).unwrap();
    lock.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let r = admin.submit("/-/admin/rules", &rule_form(&[]));
    assert_admin_page(
        &r,
        503,
        "Nothing was changed; send the form again in a moment.",
    );
    assert!(
        r.header("retry-after")
            .is_some_and(|v| v.parse::<u32>().is_ok())
    );
    lock.execute_batch("COMMIT").unwrap();
    assert_eq!(s.get("/id/berlin").status, 404, "nothing half-written");
    let r = admin.submit("/-/admin/rules", &rule_form(&[]));
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(s.get("/id/berlin").status, 303);
}

#[test]
fn the_sessions_gauge_follows_every_sign_in_and_out() {
    let (_dir, s) = start("gauge", &[]);
    let gauge = || {
        let text = s.get("/-/metrics").text();
        text.lines().find_map(|l| {
            l.strip_prefix("seeother_admin_sessions ")?
                .parse::<u64>()
                .ok()
        })
    };
    let a = Admin::sign_in(&s);
    let b = Admin::sign_in(&s);
    assert_eq!(gauge(), Some(2));
    assert_eq!(a.submit("/-/admin/sign-out", &[]).status, 303);
    assert_eq!(gauge(), Some(1));
    assert_eq!(b.submit("/-/admin/sign-out", &[]).status, 303);
    assert_eq!(gauge(), Some(0));
}
