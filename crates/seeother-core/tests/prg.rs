//! The per-request note (negotiated on `Accept`, none for HEAD) and the Post/Redirect/Get review.

use http::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, LOCATION, VARY};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use seeother_core::respond::prg::{Rules, Verdict, review};
use seeother_core::respond::{NoteFormat, negotiated};
use seeother_core::{Location, LocationError, RedirectStatus, note};

fn accept(value: &'static str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT, HeaderValue::from_static(value));
    headers
}

#[test]
fn the_note_follows_accept() {
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    for (value, format) in [
        (browser, NoteFormat::Html),
        ("*/*", NoteFormat::Html),
        ("text/plain", NoteFormat::Text),
        ("text/html;q=0.5, text/plain", NoteFormat::Text),
        ("text/*", NoteFormat::Html),
        ("application/json", NoteFormat::Html),
        ("text/html;q=0, text/plain;q=0", NoteFormat::Html),
    ] {
        assert_eq!(NoteFormat::negotiate(&accept(value)), format, "{value}");
    }
    assert_eq!(NoteFormat::negotiate(&HeaderMap::new()), NoteFormat::Html);
}

#[test]
fn a_negotiated_answer_is_whole_and_head_has_the_get_fields() {
    let location = Location::parse("/orders/42?a&b").unwrap();
    for status in [RedirectStatus::SeeOther, RedirectStatus::PermanentRedirect] {
        for (request, ctype, body) in [
            (
                accept("text/html"),
                note::CONTENT_TYPE,
                note::render(status.code(), &location),
            ),
            (
                accept("text/plain"),
                note::TEXT_CONTENT_TYPE,
                note::render_text(status.code(), &location),
            ),
        ] {
            let get = negotiated(status, &location, &Method::GET, &request);
            assert_eq!(get.status(), status.code());
            assert_eq!(get.headers()[LOCATION], "/orders/42?a&b");
            assert_eq!(get.headers()[CONTENT_TYPE], ctype);
            assert_eq!(get.headers()[VARY], "Accept");
            assert_eq!(
                get.headers()[CONTENT_LENGTH],
                body.len().to_string().as_str()
            );
            assert_eq!(get.body().as_ref(), body.as_bytes());
            // RFC 9110 §9.3.2: HEAD gets the same fields and no body.
            let head = negotiated(status, &location, &Method::HEAD, &request);
            assert_eq!(head.headers(), get.headers());
            assert_eq!(head.status(), get.status());
            assert!(head.body().is_empty());
        }
    }
}

#[test]
fn the_text_note_keeps_the_target_as_sent() {
    let location = Location::parse("../up?x=<1>").unwrap();
    assert_eq!(
        note::render_text(StatusCode::SEE_OTHER, &location),
        "See ../up?x=%3C1%3E\n"
    );
    assert_eq!(
        note::render_text(StatusCode::MOVED_PERMANENTLY, &location),
        "This resource has moved permanently to ../up?x=%3C1%3E\n"
    );
}

fn located(value: &'static str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(LOCATION, HeaderValue::from_static(value));
    headers
}

#[test]
fn unsafe_methods_get_303_for_301_and_302_only() {
    let headers = located("/done");
    let rules = Rules::default();
    for method in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
        for code in [StatusCode::MOVED_PERMANENTLY, StatusCode::FOUND] {
            let verdict = review(&method, code, &headers, false, rules);
            assert_eq!(
                verdict,
                Verdict::Fix {
                    status: RedirectStatus::SeeOther,
                    location: Location::parse("/done").unwrap(),
                    add_note: false
                },
                "{method} {code}"
            );
        }
        for code in [
            StatusCode::SEE_OTHER,
            StatusCode::TEMPORARY_REDIRECT,
            StatusCode::PERMANENT_REDIRECT,
        ] {
            assert_eq!(review(&method, code, &headers, false, rules), Verdict::Keep);
        }
    }
    for method in [Method::GET, Method::HEAD] {
        assert_eq!(
            review(&method, StatusCode::FOUND, &headers, false, rules),
            Verdict::Keep
        );
    }
    let opt_out = Rules {
        see_other_after_unsafe: false,
        ..Rules::default()
    };
    assert_eq!(
        review(&Method::POST, StatusCode::FOUND, &headers, false, opt_out),
        Verdict::Keep
    );
}

#[test]
fn an_empty_redirect_gets_its_note() {
    let verdict = review(
        &Method::GET,
        StatusCode::SEE_OTHER,
        &located("/x"),
        true,
        Rules::default(),
    );
    assert!(matches!(verdict, Verdict::Fix { add_note: true, .. }));
    let no_notes = Rules {
        add_note: false,
        ..Rules::default()
    };
    assert_eq!(
        review(
            &Method::GET,
            StatusCode::SEE_OTHER,
            &located("/x"),
            true,
            no_notes
        ),
        Verdict::Keep
    );
}

#[test]
fn a_redirect_without_one_valid_location_is_broken() {
    let rules = Rules::default();
    let broken = |headers: &HeaderMap| match review(
        &Method::GET,
        StatusCode::SEE_OTHER,
        headers,
        true,
        rules,
    ) {
        Verdict::Broken { error, .. } => error,
        other => panic!("{other:?}"),
    };
    assert_eq!(broken(&HeaderMap::new()), LocationError::Empty);
    let mut two = located("/a");
    two.append(LOCATION, HeaderValue::from_static("/b"));
    assert!(matches!(broken(&two), LocationError::Conflicting { .. }));
    assert!(matches!(
        broken(&located("javascript:alert(1)")),
        LocationError::ForbiddenScheme { .. }
    ));
    let mut latin = HeaderMap::new();
    latin.insert(LOCATION, HeaderValue::from_bytes(b"/caf\xe9").unwrap());
    assert!(matches!(broken(&latin), LocationError::Invalid { .. }));
    // Not redirects: left alone, Location or not.
    for code in [
        StatusCode::OK,
        StatusCode::NOT_MODIFIED,
        StatusCode::MULTIPLE_CHOICES,
    ] {
        assert_eq!(
            review(&Method::GET, code, &HeaderMap::new(), true, rules),
            Verdict::Keep
        );
    }
}

#[test]
fn a_location_that_parses_differently_is_sent_as_parsed() {
    let verdict = review(
        &Method::GET,
        StatusCode::SEE_OTHER,
        &located("/a b"),
        false,
        Rules::default(),
    );
    let Verdict::Fix { location, .. } = verdict else {
        panic!("{verdict:?}")
    };
    assert_eq!(location.as_str(), "/a%20b");
}
