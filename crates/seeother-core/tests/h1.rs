//! `h1`: which requests are simple, what they hold, and the bytes of an answer.

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, DATE, LOCATION, USER_AGENT};
use http::{HeaderName, HeaderValue, Method, Response, StatusCode};
use proptest::prelude::*;
use seeother_core::h1::{self, MAX_HEADERS, Parsed, Simple};
use seeother_core::respond::{Body, Plain, Redirect};
use seeother_core::{Location, RedirectStatus};

fn simple(raw: &str) -> Simple<'_> {
    match h1::parse(raw.as_bytes()) {
        Parsed::Simple(s) => s,
        other => panic!("{raw:?} should be simple, is {other:?}"),
    }
}

fn is_other(raw: &str) -> bool {
    matches!(h1::parse(raw.as_bytes()), Parsed::Other)
}

#[test]
fn get_and_head_in_origin_form_are_simple() {
    let s = simple("GET /id/42 HTTP/1.1\r\nHost: Example.org:8080\r\nUser-Agent: t\r\n\r\n");
    assert_eq!(s.method, Method::GET);
    assert_eq!(
        (s.path, s.query, s.host),
        ("/id/42", None, "Example.org:8080")
    );
    assert!(s.headers.is_empty(), "only Accept is kept");

    let s = simple("HEAD /a/b;v=1?x=1&y=%20?z HTTP/1.1\r\nhost: h\r\n\r\n");
    assert_eq!(s.method, Method::HEAD);
    // The query is everything after the first `?` (RFC 3986 §3.4).
    assert_eq!((s.path, s.query), ("/a/b;v=1", Some("x=1&y=%20?z")));

    let s = simple("GET /? HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!((s.path, s.query, s.host), ("/", Some(""), "h"));

    // Browsers say keep-alive out loud; it is HTTP/1.1's default anyway.
    simple("GET / HTTP/1.1\r\nHost: h\r\nConnection: Keep-Alive\r\n\r\n");
}

#[test]
fn accept_fields_are_kept_together() {
    let s = simple(
        "GET /x HTTP/1.1\r\nHost: h\r\nAccept: text/html\r\nX-Other: 1\r\naccept: text/turtle;q=0.9\r\n\r\n",
    );
    let accept: Vec<_> = s.headers.get_all("accept").iter().collect();
    assert_eq!(accept, ["text/html", "text/turtle;q=0.9"]);
    assert_eq!(s.headers.len(), 2);
}

#[test]
fn the_fields_asked_for_are_kept_in_order_and_no_others() {
    let raw = "GET /x HTTP/1.1\r\nHost: h\r\nUser-Agent: Mozilla/5.0\r\nX-Key: a\r\nDNT: 1\r\nx-key: b\r\n\r\n";
    let keep = [USER_AGENT, HeaderName::from_static("x-key")];
    let Parsed::Simple(s) = h1::parse_keeping(raw.as_bytes(), &keep) else {
        panic!("simple")
    };
    assert_eq!(s.headers[USER_AGENT], "Mozilla/5.0");
    // RFC 9110 §5.3: several fields of one name are one list, in order.
    let keys: Vec<_> = s.headers.get_all("x-key").iter().collect();
    assert_eq!(keys, ["a", "b"]);
    assert_eq!(s.headers.len(), 3, "DNT is not kept");
}

#[test]
fn len_is_where_the_next_pipelined_request_starts() {
    let first = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n";
    let both = format!("{first}HEAD /b HTTP/1.1\r\nHost: h\r\n\r\n");
    let s = simple(&both);
    assert_eq!(s.len, first.len());
    let next = simple(&both[s.len..]);
    assert_eq!((next.method, next.path), (Method::HEAD, "/b"));
}

#[test]
fn a_post_takes_its_body_with_it() {
    let post = "POST /form?x=1 HTTP/1.1\r\nHost: h\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\na=b&c=d";
    let next = "GET /b HTTP/1.1\r\nHost: h\r\n\r\n";
    let both = format!("{post}{next}");
    let s = simple(&both);
    assert_eq!(
        (&s.method, s.path, s.query),
        (&Method::POST, "/form", Some("x=1"))
    );
    assert_eq!(s.len, post.len(), "the body is part of the request");
    assert_eq!(simple(&both[s.len..]).path, "/b");
    // RFC 9112 §6.3: no Content-Length, no body; and an explicit zero.
    assert_eq!(simple("POST /f HTTP/1.1\r\nHost: h\r\n\r\n").len, 29);
    simple("GET /f HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
    // The body not all read yet.
    assert!(matches!(
        h1::parse(&post.as_bytes()[..post.len() - 1]),
        Parsed::Partial
    ));
}

#[test]
fn an_unfinished_header_block_is_partial() {
    for raw in [
        "",
        "G",
        "GET /a HTT",
        "GET /a HTTP/1.1\r\nHost: h\r\n",
        "GET /a HTTP/1.1\r\nHost: h\r\n\r",
    ] {
        assert!(
            matches!(h1::parse(raw.as_bytes()), Parsed::Partial),
            "{raw:?}"
        );
    }
}

#[test]
fn everything_else_is_left_to_the_full_engine() {
    let cases = [
        // Other methods, and methods in the wrong case (RFC 9110 §9.1).
        "PUT /a HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
        "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
        "get /a HTTP/1.1\r\nHost: h\r\n\r\n",
        // HTTP/1.0, and HTTP/2's connection preface.
        "GET /a HTTP/1.0\r\nHost: h\r\n\r\n",
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        // Not origin-form, or outside RFC 3986's characters.
        "GET http://h/a HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET //evil.example/a HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET /a\"b HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET /a{b} HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET /a#frag HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET /a|b HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET /caf\u{e9} HTTP/1.1\r\nHost: h\r\n\r\n",
        // A body on GET or HEAD, a chunked body, a length that is not one plain number.
        "GET /a HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx",
        "HEAD /a HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx",
        "GET /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 1, 1\r\n\r\nx",
        "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: +1\r\n\r\nx",
        "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
        "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: \r\n\r\n",
        "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 1234567890123456789\r\n\r\n",
        // Interim responses, upgrades, closing.
        "GET /a HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n",
        "GET /a HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n",
        "GET /a HTTP/1.1\r\nHost: h\r\nTE: trailers\r\n\r\n",
        "GET /a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
        "GET /a HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, x\r\n\r\n",
        // No Host, two, an empty one or a bad one (RFC 9112 §3.2): the full engine's 400.
        "GET /a HTTP/1.1\r\n\r\n",
        "GET /a HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        "GET /a HTTP/1.1\r\nHost:\r\n\r\n",
        "GET /a HTTP/1.1\r\nHost: a b\r\n\r\n",
        "GET /a HTTP/1.1\r\nHost: a/b\r\n\r\n",
        "GET /a HTTP/1.1\r\nHost: user@a\r\n\r\n",
        "GET /a HTTP/1.1\r\nHost: a:8o\r\n\r\n",
        "GET /a HTTP/1.1\r\nHost: b\u{fc}cher.example\r\n\r\n",
        // Malformed.
        "GET /a HTTP/1.1\r\nBad Name: x\r\n\r\n",
        "GET /a  HTTP/1.1\r\n\r\n",
        "G\u{0}T /a HTTP/1.1\r\n\r\n",
    ];
    for raw in cases {
        assert!(is_other(raw), "{raw:?} should be left to the full engine");
    }
}

#[test]
fn too_many_fields_are_left_to_the_full_engine() {
    let fields = |n: usize| {
        let mut raw = String::from("GET /a HTTP/1.1\r\nHost: h\r\n");
        for i in 1..n {
            raw.push_str(&format!("X-F{i}: v\r\n"));
        }
        raw + "\r\n"
    };
    assert!(matches!(
        h1::parse(fields(MAX_HEADERS).as_bytes()),
        Parsed::Simple(_)
    ));
    assert!(is_other(&fields(MAX_HEADERS + 1)));
}

const DATE_TEXT: &[u8] = b"Tue, 24 Nov 2026 23:00:00 GMT";

fn written(response: &Response<Body>, method: &Method) -> String {
    let mut out = Vec::new();
    h1::write_response(response, method, DATE_TEXT, &mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn a_redirect_is_written_with_its_note_and_head_without() {
    let location = Location::parse("https://example.org/a?b=1").unwrap();
    let get = Redirect::respond(RedirectStatus::SeeOther, &location, &Method::GET);
    let note = get.body().to_bytes();
    let text = written(&get, &Method::GET);
    let head_block = format!(
        "HTTP/1.1 303 See Other\r\nlocation: https://example.org/a?b=1\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\ndate: Tue, 24 Nov 2026 23:00:00 GMT\r\n\r\n",
        note.len()
    );
    assert_eq!(
        text,
        format!("{head_block}{}", String::from_utf8_lossy(&note))
    );

    // RFC 9110 §9.3.2: HEAD gets GET's fields, Content-Length included, and no body.
    let head = Redirect::respond(RedirectStatus::SeeOther, &location, &Method::HEAD);
    assert_eq!(written(&head, &Method::HEAD), head_block);
}

#[test]
fn content_length_and_date_are_added_only_when_missing() {
    let mut r = Response::new(Body::from(Bytes::from_static(b"abc")));
    *r.status_mut() = StatusCode::GONE;
    assert_eq!(
        written(&r, &Method::GET),
        "HTTP/1.1 410 Gone\r\ncontent-length: 3\r\ndate: Tue, 24 Nov 2026 23:00:00 GMT\r\n\r\nabc"
    );
    // A HEAD answer holding a body anyway: the body is not sent (RFC 9110 §9.3.2).
    assert_eq!(
        written(&r, &Method::HEAD),
        "HTTP/1.1 410 Gone\r\ndate: Tue, 24 Nov 2026 23:00:00 GMT\r\n\r\n"
    );
    // HEAD with no Content-Length: none is made up (RFC 9110 §8.6 lets it be left out).
    let empty = Response::new(Body::default());
    assert_eq!(
        written(&empty, &Method::HEAD),
        "HTTP/1.1 200 OK\r\ndate: Tue, 24 Nov 2026 23:00:00 GMT\r\n\r\n"
    );
    let mut r = Response::new(Body::from("x"));
    r.headers_mut().insert(CONTENT_LENGTH, HeaderValue::from(1));
    r.headers_mut().insert(
        DATE,
        HeaderValue::from_static("Mon, 01 Jan 2026 00:00:00 GMT"),
    );
    r.headers_mut()
        .insert(LOCATION, HeaderValue::from_static("/b"));
    assert_eq!(
        written(&r, &Method::GET),
        "HTTP/1.1 200 OK\r\ncontent-length: 1\r\ndate: Mon, 01 Jan 2026 00:00:00 GMT\r\nlocation: /b\r\n\r\nx"
    );
}

/// Characters of RFC 3986's path and query, and some that are not.
fn target_char() -> impl Strategy<Value = char> {
    prop_oneof![
        8 => proptest::sample::select(
            "abcXYZ019-._~%!$&'()*+,;=:@/?".chars().collect::<Vec<_>>()
        ),
        1 => proptest::sample::select("\"<>\\^`{|}#[]\u{7f}\u{e9}".chars().collect::<Vec<_>>()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// A plain redirect written directly is the same bytes as its `http::Response` written:
    /// the fields are listed in two places, and held to each other here.
    #[test]
    fn a_plain_redirect_is_written_as_its_response_would_be(
        target in "(https://example\\.org)?/[a-zA-Z0-9/%&'<>\"?=._~-]{0,60}",
        status in proptest::sample::select(vec![301u16, 302, 303, 307, 308]),
        method in proptest::sample::select(vec![Method::GET, Method::HEAD, Method::POST, Method::DELETE]),
    ) {
        let location = Location::parse(&target);
        prop_assume!(location.is_ok(), "a network-path reference with a bad host");
        let location = location.unwrap();
        let status = RedirectStatus::from_code(status).unwrap();
        let plain = Plain::new(status, location, &method);
        let mut direct = Vec::new();
        h1::write_plain(&plain, DATE_TEXT, &mut direct);
        let mut via_map = Vec::new();
        h1::write_response(&plain.into_response(), &method, DATE_TEXT, &mut via_map);
        prop_assert_eq!(String::from_utf8(direct).unwrap(), String::from_utf8(via_map).unwrap());
    }

    /// A target taken as simple is one the `http` crate (hyper's) reads the same way: the
    /// same path and query.
    #[test]
    fn simple_targets_read_as_the_http_crate_reads_them(
        rest in proptest::collection::vec(target_char(), 0..40),
    ) {
        let target: String = std::iter::once('/').chain(rest).collect();
        let raw = format!("GET {target} HTTP/1.1\r\nHost: h\r\n\r\n");
        if let Parsed::Simple(s) = h1::parse(raw.as_bytes()) {
            let uri: http::Uri = target.parse().expect("the http crate accepts it too");
            prop_assert_eq!(uri.path(), s.path);
            prop_assert_eq!(uri.query(), s.query);
            prop_assert_eq!(s.len, raw.len());
        }
    }

    /// Nothing read makes `parse` panic, and a simple request never claims more bytes than
    /// it was given.
    #[test]
    fn any_bytes_are_read_without_panic(raw in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Parsed::Simple(s) = h1::parse(&raw) {
            prop_assert!(s.len <= raw.len());
        }
    }
}
