//! Status × method × body: the next method, whether the body goes again, and its fields.

use http::{HeaderMap, Method, StatusCode};
use seeother_core::follow::{BODY_HEADERS, BodyKind, Follow, FollowError, Policy, Step};

use crate::{fields, status, to, url};

const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "PROPFIND"];
const BODIES: [BodyKind; 3] = [BodyKind::Empty, BodyKind::Replayable, BodyKind::Streaming];

/// The next method for each of [`METHODS`], by status; `None` where the status is not followed.
/// Written out by hand from RFC 9110 §15.4 and Fetch §4.4 step 12.
const TABLE: [(u16, Option<[&str; 7]>); 10] = [
    (
        301,
        Some(["GET", "HEAD", "GET", "PUT", "DELETE", "PATCH", "PROPFIND"]),
    ),
    (
        302,
        Some(["GET", "HEAD", "GET", "PUT", "DELETE", "PATCH", "PROPFIND"]),
    ),
    (
        303,
        Some(["GET", "HEAD", "GET", "GET", "GET", "GET", "GET"]),
    ),
    (
        307,
        Some(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "PROPFIND"]),
    ),
    (
        308,
        Some(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "PROPFIND"]),
    ),
    (300, None),
    (304, None),
    (305, None),
    (306, None),
    (399, None),
];

/// The original request's fields: every body field (when there is a body) and one that is not.
fn request_fields(body: BodyKind) -> HeaderMap {
    let mut pairs = vec![("accept", "*/*")];
    if body != BodyKind::Empty {
        pairs.extend([
            ("content-type", "application/json"),
            ("content-length", "7"),
            ("content-encoding", "gzip"),
            ("content-language", "en"),
            ("content-location", "/draft"),
            ("transfer-encoding", "chunked"),
        ]);
    }
    fields(&pairs)
}

fn start(method: &str, body: BodyKind, keep_post: bool) -> Follow {
    let policy = Policy {
        keep_post,
        ..Policy::default()
    };
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    Follow::new(
        policy,
        method,
        url("http://a.example/form"),
        request_fields(body),
        body,
    )
    .unwrap()
}

#[test]
fn every_status_method_and_body() {
    let mut checked = 0;
    for (code, row) in TABLE {
        for (i, method) in METHODS.iter().enumerate() {
            for body in BODIES {
                let case = format!("{code} after {method} with {body:?} body");
                let mut follow = start(method, body, false);
                assert_eq!(
                    follow.request().send_body,
                    body != BodyKind::Empty,
                    "{case}"
                );
                let step = follow.on_response(status(code), &to("/next"));
                checked += 1;

                let Some(row) = row else {
                    assert!(matches!(step, Ok(Step::Done)), "{case}: {step:?}");
                    assert_eq!(follow.request().url.path(), "/form", "{case}");
                    continue;
                };
                // The body goes again only when the method is unchanged and the status is not
                // 303 (RFC 9110 §15.4.4: the 303 target is retrieved, not sent the form).
                let kept = row[i] == *method && code != 303;
                if kept && body == BodyKind::Streaming {
                    let e = step.expect_err(&case);
                    assert_eq!(
                        e,
                        FollowError::BodyNotReplayable {
                            status: status(code),
                            url: url("http://a.example/next"),
                        },
                        "{case}"
                    );
                    continue;
                }
                let Ok(Step::Redirect(next)) = step else {
                    panic!("{case}: {step:?}");
                };
                assert_eq!(next.method.as_str(), row[i], "{case}");
                assert_eq!(next.url.as_str(), "http://a.example/next", "{case}");
                assert_eq!(next.send_body, kept && body != BodyKind::Empty, "{case}");
                for name in BODY_HEADERS {
                    let present = next.headers.contains_key(&name);
                    assert_eq!(present, kept && body != BodyKind::Empty, "{case}: {name}");
                }
                assert_eq!(next.headers["accept"], "*/*", "{case}: other fields stay");
            }
        }
    }
    assert_eq!(checked, 10 * 7 * 3);
}

#[test]
fn keep_post_keeps_post_and_its_body_on_301_and_302_only() {
    for code in [301, 302] {
        let mut follow = start("POST", BodyKind::Replayable, true);
        let Ok(Step::Redirect(next)) = follow.on_response(status(code), &to("/next")) else {
            panic!("{code} not followed");
        };
        assert_eq!(next.method, Method::POST, "{code}");
        assert!(next.send_body, "{code}");
        assert_eq!(next.headers["content-type"], "application/json", "{code}");

        // A kept POST must replay its body: a one-shot stream cannot.
        let mut follow = start("POST", BodyKind::Streaming, true);
        let e = follow.on_response(status(code), &to("/next")).unwrap_err();
        assert_eq!(e.kind(), "body_not_replayable", "{code}");
    }
    // 303 ignores keep_post: RFC 9110 §15.4.4 is about retrieving the target.
    let mut follow = start("POST", BodyKind::Replayable, true);
    let Ok(Step::Redirect(next)) = follow.on_response(StatusCode::SEE_OTHER, &to("/next")) else {
        panic!("303 not followed");
    };
    assert_eq!(next.method, Method::GET);
    assert!(!next.send_body);
}

#[test]
fn a_dropped_body_stays_dropped_for_the_rest_of_the_chain() {
    // POST --303--> GET --307--> GET: the 307 repeats the GET as it is now, without a body.
    let mut follow = start("POST", BodyKind::Streaming, false);
    let Ok(Step::Redirect(next)) = follow.on_response(StatusCode::SEE_OTHER, &to("/a")) else {
        panic!("303 not followed");
    };
    assert!(!next.send_body);
    let step = follow.on_response(StatusCode::TEMPORARY_REDIRECT, &to("/b"));
    let Ok(Step::Redirect(next)) = step else {
        panic!("307 after 303 failed: {step:?}");
    };
    assert_eq!(next.method, Method::GET);
    assert!(!next.send_body);
    assert!(!next.headers.contains_key("content-type"));
}

#[test]
fn a_replayable_body_goes_again_on_every_307_and_308() {
    let mut follow = start("PUT", BodyKind::Replayable, false);
    for (code, path) in [(307, "/a"), (308, "/b"), (301, "/c"), (302, "/d")] {
        let Ok(Step::Redirect(next)) = follow.on_response(status(code), &to(path)) else {
            panic!("{code} not followed");
        };
        assert_eq!(next.method, Method::PUT, "{code}");
        assert!(next.send_body, "{code}");
        assert_eq!(next.headers["content-length"], "7", "{code}");
    }
    assert_eq!(follow.history().len(), 4);
}

#[test]
fn a_streaming_body_error_says_what_to_do() {
    let mut follow = start("PUT", BodyKind::Streaming, false);
    let e = follow
        .on_response(StatusCode::PERMANENT_REDIRECT, &to("/next"))
        .unwrap_err();
    let message = e.to_string();
    assert!(message.contains("308 Permanent Redirect"), "{message}");
    assert!(message.contains("http://a.example/next"), "{message}");
    assert!(message.contains("replayed"), "{message}");
    assert!(!message.contains('\n'), "one line: {message}");
}

#[test]
fn method_names_are_case_sensitive() {
    // RFC 9110 §9.1: methods are case-sensitive, so `post` is not POST and is kept on a 301.
    let mut follow = start("post", BodyKind::Replayable, false);
    let Ok(Step::Redirect(next)) = follow.on_response(StatusCode::MOVED_PERMANENTLY, &to("/n"))
    else {
        panic!("301 not followed");
    };
    assert_eq!(next.method.as_str(), "post");
    assert!(next.send_body);
}
