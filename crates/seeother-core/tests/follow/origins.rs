//! Crossing origins: credentials and caller-marked fields go, and stay gone (Fetch §4.4 step 13).

use http::{HeaderMap, HeaderName, Method};
use seeother_core::follow::{BodyKind, Follow, Policy, Request};

use crate::{fields, hop, to, url};

/// The fields that must not leave the origin they were set for.
const SECRET: [&str; 5] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "x-api-key",
    "host",
];

fn start(at: &str) -> Follow {
    let policy = Policy {
        sensitive_headers: vec![HeaderName::from_static("x-api-key")],
        ..Policy::default()
    };
    let headers = fields(&[
        ("authorization", "Bearer secret"),
        ("proxy-authorization", "Basic cHJveHk6cHc="),
        ("cookie", "sid=caller"),
        ("x-api-key", "k-123"),
        ("host", "a.example"),
        ("accept", "text/html"),
        ("user-agent", "seeother-test"),
    ]);
    Follow::new(policy, Method::GET, url(at), headers, BodyKind::Empty).unwrap()
}

fn assert_secrets(request: &Request, present: bool, case: &str) {
    for name in SECRET {
        assert_eq!(
            request.headers.contains_key(name),
            present,
            "{case}: {name} at {}",
            request.url
        );
    }
    // Everything else is sent on every hop.
    assert_eq!(request.headers["accept"], "text/html", "{case}");
    assert_eq!(request.headers["user-agent"], "seeother-test", "{case}");
}

#[test]
fn the_first_request_carries_everything_the_caller_set() {
    let follow = start("http://a.example/");
    assert_secrets(follow.request(), true, "first request");
    assert_eq!(follow.request().headers["cookie"], "sid=caller");
}

#[test]
fn same_origin_hops_keep_the_credentials() {
    let mut follow = start("http://a.example/");
    for (code, location) in [(301, "/b"), (302, "http://a.example:80/c"), (307, "d")] {
        let next = hop(&mut follow, code, &to(location));
        assert_secrets(&next, true, &format!("same origin {location}"));
    }
}

#[test]
fn a_to_b_to_b_removes_them_at_the_first_crossing_and_for_good() {
    let mut follow = start("http://a.example/");
    let next = hop(&mut follow, 302, &to("http://b.example/1"));
    assert_secrets(&next, false, "A -> B");
    let next = hop(&mut follow, 302, &to("/2"));
    assert_secrets(&next, false, "A -> B -> B");
}

#[test]
fn a_to_b_to_a_does_not_get_them_back() {
    // Go and reqwest once re-sent them on the hop back to A: they come from the request as it
    // was, not from the original.
    let mut follow = start("http://a.example/");
    assert_secrets(
        &hop(&mut follow, 302, &to("http://b.example/")),
        false,
        "A -> B",
    );
    let next = hop(&mut follow, 302, &to("http://a.example/back"));
    assert_secrets(&next, false, "A -> B -> A");
    let next = hop(&mut follow, 307, &to("/again"));
    assert_secrets(&next, false, "A -> B -> A -> A");
}

#[test]
fn a_port_change_is_another_origin() {
    let mut follow = start("http://a.example:8080/");
    assert_secrets(
        &hop(&mut follow, 302, &to("http://a.example:8081/")),
        false,
        "port",
    );
}

#[test]
fn a_scheme_change_is_another_origin() {
    let mut follow = start("http://a.example/");
    assert_secrets(
        &hop(&mut follow, 301, &to("https://a.example/")),
        false,
        "scheme",
    );
}

#[test]
fn a_subdomain_is_another_origin() {
    let mut follow = start("https://example.com/");
    assert_secrets(
        &hop(&mut follow, 302, &to("https://www.example.com/")),
        false,
        "www",
    );
}

#[test]
fn caller_marked_fields_stay_on_the_same_origin() {
    let mut follow = start("http://a.example/");
    let next = hop(&mut follow, 302, &to("/next"));
    assert_eq!(next.headers["x-api-key"], "k-123");
}

#[test]
fn repeated_secret_fields_all_go() {
    let headers = fields(&[("authorization", "one"), ("authorization", "two")]);
    let mut follow = Follow::new(
        Policy::default(),
        Method::GET,
        url("http://a.example/"),
        headers,
        BodyKind::Empty,
    )
    .unwrap();
    assert_eq!(
        follow
            .request()
            .headers
            .get_all("authorization")
            .iter()
            .count(),
        2
    );
    let next = hop(&mut follow, 302, &to("http://b.example/"));
    assert!(!next.headers.contains_key("authorization"));
}

#[test]
fn with_no_fields_set_nothing_appears() {
    let mut follow = Follow::new(
        Policy::default(),
        Method::GET,
        url("http://a.example/"),
        HeaderMap::new(),
        BodyKind::Empty,
    )
    .unwrap();
    assert!(follow.request().headers.is_empty());
    let next = hop(&mut follow, 302, &to("http://b.example/"));
    assert!(next.headers.is_empty(), "{:?}", next.headers);
}
