//! Redirect responses: every status × every method, HEAD framing, extra fields, the note.

use bytes::{Buf, Bytes};
use http::header::{
    CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, LINK, LOCATION, TRANSFER_ENCODING, VARY,
};
use http::{HeaderValue, Method, StatusCode};
use seeother_core::note;
use seeother_core::respond::Body;
use seeother_core::{Location, Redirect, RedirectStatus};

const STATUSES: [(RedirectStatus, u16); 5] = [
    (RedirectStatus::MovedPermanently, 301),
    (RedirectStatus::Found, 302),
    (RedirectStatus::SeeOther, 303),
    (RedirectStatus::TemporaryRedirect, 307),
    (RedirectStatus::PermanentRedirect, 308),
];

fn methods() -> Vec<Method> {
    vec![
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::OPTIONS,
        Method::from_bytes(b"PURGE").unwrap(),
    ]
}

fn loc(target: &str) -> Location {
    Location::parse(target).unwrap_or_else(|e| panic!("{target:?}: {e}"))
}

/// The `href` of the note's one link, unescaped.
fn href(html: &str) -> String {
    let start = html.find("href=\"").expect("a link") + "href=\"".len();
    let end = start + html[start..].find('"').expect("a closing quote");
    assert_eq!(html.matches("href=").count(), 1, "one link only: {html}");
    unescape(&html[start..end])
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[test]
fn status_codes_round_trip() {
    for (status, code) in STATUSES {
        assert_eq!(status.code().as_u16(), code);
        assert_eq!(RedirectStatus::from_code(code), Some(status));
    }
    for code in [0, 200, 300, 304, 305, 306, 309, 404, 999] {
        assert_eq!(RedirectStatus::from_code(code), None, "{code}");
    }
    assert_eq!(RedirectStatus::default(), RedirectStatus::SeeOther);
    assert_eq!(
        Redirect::see_other(loc("/x")).status(),
        RedirectStatus::SeeOther
    );
}

#[test]
fn every_status_for_every_method() {
    for (status, code) in STATUSES {
        let target = "https://example.com/next?a=1&b=2";
        let redirect = Redirect::new(status, loc(target));
        let get = redirect.to_response(&Method::GET);
        let get_len = get.body().len();
        assert!(get_len > 0);
        for method in methods() {
            let response = redirect.to_response(&method);
            let what = format!("{code} {method}");
            assert_eq!(response.status().as_u16(), code, "{what}");
            assert_eq!(response.headers()[LOCATION], target, "{what}");
            assert_eq!(
                response.headers()[CONTENT_TYPE],
                note::CONTENT_TYPE,
                "{what}"
            );
            assert_eq!(
                response.headers().get_all(LOCATION).iter().count(),
                1,
                "{what}"
            );
            // RFC 9110 §8.6, §9.3.2: the GET body's length, for HEAD too.
            assert_eq!(
                response.headers()[CONTENT_LENGTH],
                get_len.to_string().as_str(),
                "{what}"
            );
            assert_eq!(response.headers(), get.headers(), "{what}");
            if method == Method::HEAD {
                assert!(response.body().is_empty(), "{what}");
            } else {
                assert_eq!(response.body(), get.body(), "{what}");
                let html = std::str::from_utf8(response.body()).unwrap();
                assert_eq!(href(html), target, "{what}");
                let reason = StatusCode::from_u16(code)
                    .unwrap()
                    .canonical_reason()
                    .unwrap();
                assert!(html.contains(&format!("<title>{reason}</title>")), "{what}");
            }
        }
    }
}

#[test]
fn head_has_the_get_headers_with_every_option() {
    let redirect = Redirect::see_other(loc("/doc/alice"))
        .vary_accept()
        .described_by()
        .header(CACHE_CONTROL, HeaderValue::from_static("max-age=60"));
    let get = redirect.to_response(&Method::GET);
    let head = redirect.to_response(&Method::HEAD);
    assert_eq!(head.headers(), get.headers());
    assert_eq!(head.status(), StatusCode::SEE_OTHER);
    assert!(head.body().is_empty());
    assert_eq!(get.headers()[CACHE_CONTROL], "max-age=60");
    assert_eq!(get.headers()[VARY], "Accept");
    assert_eq!(get.headers()[LINK], "</doc/alice>; rel=\"describedby\"");
    assert_eq!(redirect.headers(), get.headers());
}

#[test]
fn vary_accept_is_added_once() {
    let redirect = Redirect::see_other(loc("/a")).vary_accept().vary_accept();
    assert_eq!(redirect.headers().get_all(VARY).iter().count(), 1);

    let redirect = Redirect::see_other(loc("/a"))
        .header(VARY, HeaderValue::from_static("Accept-Language, accept"))
        .vary_accept();
    let vary: Vec<_> = redirect.headers().get_all(VARY).iter().collect();
    assert_eq!(vary, ["Accept-Language, accept"]);

    let redirect = Redirect::see_other(loc("/a"))
        .header(VARY, HeaderValue::from_static("*"))
        .vary_accept();
    assert_eq!(redirect.headers().get_all(VARY).iter().count(), 1);

    // `Accept-Language` is not `Accept`.
    let redirect = Redirect::see_other(loc("/a"))
        .header(VARY, HeaderValue::from_static("Accept-Language"))
        .vary_accept();
    let vary: Vec<_> = redirect.headers().get_all(VARY).iter().collect();
    assert_eq!(vary, ["Accept-Language", "Accept"]);
}

#[test]
fn described_by_links_the_location_as_sent() {
    for target in [
        "/doc/x?a=1&b=2",
        "https://data.example/doc/x",
        "doc/x",
        "?page=2",
    ] {
        let redirect = Redirect::see_other(loc(target)).described_by();
        let response = redirect.to_response(&Method::GET);
        let expected = format!("<{}>; rel=\"describedby\"", loc(target).as_str());
        assert_eq!(response.headers()[LINK], expected.as_str());
    }
}

#[test]
fn extra_headers_are_appended_but_framing_stays_the_redirects() {
    let redirect = Redirect::new(RedirectStatus::PermanentRedirect, loc("/new"))
        .header(CACHE_CONTROL, HeaderValue::from_static("no-store"))
        .header(CACHE_CONTROL, HeaderValue::from_static("private"))
        .header(LOCATION, HeaderValue::from_static("https://evil.example/"))
        .header(CONTENT_LENGTH, HeaderValue::from_static("0"))
        .header(TRANSFER_ENCODING, HeaderValue::from_static("chunked"))
        .header(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    let response = redirect.to_response(&Method::GET);
    let cache: Vec<_> = response.headers().get_all(CACHE_CONTROL).iter().collect();
    assert_eq!(cache, ["no-store", "private"]);
    let locations: Vec<_> = response.headers().get_all(LOCATION).iter().collect();
    assert_eq!(locations, ["/new"]);
    let lengths: Vec<_> = response.headers().get_all(CONTENT_LENGTH).iter().collect();
    assert_eq!(lengths, [response.body().len().to_string().as_str()]);
    assert!(!response.headers().contains_key(TRANSFER_ENCODING));
    let types: Vec<_> = response.headers().get_all(CONTENT_TYPE).iter().collect();
    assert_eq!(types, ["text/plain"]);
}

#[test]
fn relative_location_stays_relative_in_the_note() {
    for target in [
        "/orders/42",
        "orders/42",
        "../up",
        "?q=1",
        "#top",
        "//cdn.example/x",
    ] {
        let location = loc(target);
        let wire = location.as_str().to_owned();
        let redirect = Redirect::see_other(location);
        let html = std::str::from_utf8(redirect.body()).unwrap();
        assert_eq!(href(html), wire, "{target}");
        assert_eq!(redirect.headers()[LOCATION], wire.as_str(), "{target}");
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "{html}"
        );
    }
}

#[test]
fn hostile_targets_are_encoded_or_escaped() {
    for target in [
        "/x\"><script>alert(1)</script>",
        "/x'onmouseover='alert(1)",
        "/a?b=<i>&c='d'",
        "/&amp;already",
    ] {
        let location = loc(target);
        let redirect = Redirect::see_other(location.clone());
        let html = std::str::from_utf8(redirect.body()).unwrap();
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<i>"), "{html}");
        assert!(!html.contains("'alert"), "{html}");
        assert_eq!(href(html), location.as_str());
    }
    // A quote the Location keeps, and an `&` that looks like an entity, are escaped.
    let html = note::render(StatusCode::SEE_OTHER, &loc("/x'y&amp;"));
    assert!(html.contains("<a href=\"/x&#39;y&amp;amp;\">"), "{html}");

    let escaped = note::escape("\"><script>alert('x')</script>&");
    assert_eq!(
        escaped,
        "&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;"
    );
    assert_eq!(
        note::escape("caf\u{e9} & \u{1f600}"),
        "caf\u{e9} &amp; \u{1f600}"
    );
    assert_eq!(note::escape(""), "");
}

#[test]
fn note_is_short_and_well_formed() {
    let html = note::render(StatusCode::SEE_OTHER, &loc("/next"));
    assert_eq!(
        html,
        "<!doctype html>\n<html lang=\"en\">\n<title>See Other</title>\n\
         <p>See <a href=\"/next\">/next</a>.\n"
    );
    assert!(html.is_ascii());
    // Sent with every redirect: the fixed text is under 90 bytes.
    assert!(html.len() - 2 * "/next".len() < 90, "{} bytes", html.len());
}

#[test]
fn page_escapes_the_title_but_not_the_body() {
    let html = note::page("Not <Found> & \"gone\"", "<p><a href=\"/\">Home</a></p>");
    assert!(html.contains("<title>Not &lt;Found&gt; &amp; &quot;gone&quot;</title>"));
    assert!(html.contains("<p><a href=\"/\">Home</a></p>"));
}

/// The bytes of `body` as a writer takes them: vectored slices, then a few bytes at a time.
fn drain(mut body: Body) -> Vec<u8> {
    let mut out = Vec::new();
    let mut slices = [std::io::IoSlice::new(&[]); 8];
    let n = body.chunks_vectored(&mut slices);
    let total: usize = slices[..n].iter().map(|s| s.len()).sum();
    assert_eq!(
        total,
        body.remaining(),
        "vectored slices cover the whole body"
    );
    while body.has_remaining() {
        let chunk = body.chunk();
        assert!(
            !chunk.is_empty(),
            "a body with bytes left gives a non-empty chunk"
        );
        let take = chunk.len().min(7);
        out.extend_from_slice(&chunk[..take]);
        body.advance(take);
    }
    out
}

#[test]
fn body_parts_share_the_location_bytes_and_read_back_whole() {
    let location = loc("https://catalogue.example.org/works/k3x9");
    let response = Redirect::respond(RedirectStatus::SeeOther, &location, &Method::GET);
    let mut body = response.body().clone();
    let mut slices = [std::io::IoSlice::new(&[]); 8];
    // Fixed text, target, fixed text, target, fixed text: one vectored write.
    assert_eq!(body.chunks_vectored(&mut slices), 5);
    assert_eq!(&*slices[1], location.as_str().as_bytes());
    assert_eq!(&*slices[3], location.as_str().as_bytes());
    // Taking bytes across part boundaries, then the rest.
    let head = body.copy_to_bytes(body.chunk().len() + 3);
    let rest = body.copy_to_bytes(body.remaining());
    let mut whole = head.to_vec();
    whole.extend_from_slice(&rest);
    assert_eq!(
        whole,
        note::render(StatusCode::SEE_OTHER, &location).as_bytes()
    );
    assert!(body.is_empty() && body.chunk().is_empty());
    // HEAD: no body at all.
    let head = Redirect::respond(RedirectStatus::SeeOther, &location, &Method::HEAD);
    assert_eq!(head.body().remaining(), 0);
}

#[test]
fn body_from_bytes_is_one_shared_part() {
    let bytes = Bytes::from_static(b"<p>hello</p>");
    let mut body = Body::from(bytes.clone());
    assert_eq!(body.len(), bytes.len());
    assert_eq!(
        body.to_bytes().as_ptr(),
        bytes.as_ptr(),
        "shared, not copied"
    );
    body.advance(3);
    assert_eq!(body.chunk(), b"hello</p>");
    assert_eq!(Body::default().to_bytes(), Bytes::new());
}

/// `Redirect::respond` gives exactly what a `Redirect` built for the same target gives.
fn assert_respond_matches(target: &str) {
    let location = loc(target);
    for (status, _) in STATUSES {
        let redirect = Redirect::new(status, location.clone());
        for method in methods() {
            let slow = redirect.to_response(&method);
            let fast = Redirect::respond(status, &location, &method);
            assert_eq!(fast.status(), slow.status(), "{target} {method}");
            assert_eq!(fast.headers(), slow.headers(), "{target} {method}");
            assert_eq!(fast.body().to_bytes(), slow.body(), "{target} {method}");
            assert_eq!(
                drain(fast.body().clone()),
                slow.body().to_vec(),
                "{target} {method}"
            );
            if method != Method::HEAD {
                let bytes = fast.body().to_bytes();
                let html = std::str::from_utf8(&bytes).unwrap();
                assert_eq!(
                    html,
                    note::render(status.code(), &location),
                    "{target} {method}"
                );
                assert_eq!(href(html), location.as_str());
            }
        }
    }
}

#[test]
fn respond_equals_a_built_redirect() {
    for target in [
        "/orders/42",
        "",
        "/",
        "https://catalogue.example.org/works/k3x9?view=full&lang=en",
        "/x\"><script>alert(1)</script>",
        "/x'y&amp;",
        "/seeother-note-target-7f3a9c",
        "//example.org/a",
        "?q=1",
        "#top",
        "https://Bücher.example/ä ö",
        &format!("/{}", "long".repeat(1500)),
    ] {
        if Location::parse(target).is_ok() {
            assert_respond_matches(target);
        }
    }
}

proptest::proptest! {
    #[test]
    fn respond_equals_a_built_redirect_for_any_target(target in "[ -~]{0,80}") {
        if Location::parse(&target).is_ok() {
            assert_respond_matches(&target);
        }
    }
}
