//! `Location` values: resolution (RFC 3986 §5.4), fragment inheritance (RFC 9110 §10.2.2),
//! repeated fields, server-side validation and encoding, and origins.

use http::{HeaderMap, HeaderValue, header::LOCATION};
use seeother_core::location::{
    Location, LocationError, Schemes, from_headers, inherit_fragment, resolve, same_origin,
};
use url::Url;

fn url(s: &str) -> Url {
    Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// Compare as parsed URLs: WHATWG serialisation writes `http://g` as `http://g/`, which
/// RFC 3986 §6.2.3 counts as the same URI.
fn assert_resolves(base: &Url, table: &[(&str, &str)]) {
    for (reference, expected) in table {
        let got = resolve(base, reference.as_bytes())
            .unwrap_or_else(|e| panic!("{reference:?} failed: {e}"));
        assert_eq!(got, url(expected), "{reference:?} against {base}");
    }
}

const BASE: &str = "http://a/b/c/d;p?q";

#[test]
fn rfc3986_normal_examples() {
    // RFC 3986 §5.4.1
    assert_resolves(
        &url(BASE),
        &[
            ("g:h", "g:h"),
            ("g", "http://a/b/c/g"),
            ("./g", "http://a/b/c/g"),
            ("g/", "http://a/b/c/g/"),
            ("/g", "http://a/g"),
            ("//g", "http://g"),
            ("?y", "http://a/b/c/d;p?y"),
            ("g?y", "http://a/b/c/g?y"),
            ("#s", "http://a/b/c/d;p?q#s"),
            ("g#s", "http://a/b/c/g#s"),
            ("g?y#s", "http://a/b/c/g?y#s"),
            (";x", "http://a/b/c/;x"),
            ("g;x", "http://a/b/c/g;x"),
            ("g;x?y#s", "http://a/b/c/g;x?y#s"),
            ("", "http://a/b/c/d;p?q"),
            (".", "http://a/b/c/"),
            ("./", "http://a/b/c/"),
            ("..", "http://a/b/"),
            ("../", "http://a/b/"),
            ("../g", "http://a/b/g"),
            ("../..", "http://a/"),
            ("../../", "http://a/"),
            ("../../g", "http://a/g"),
        ],
    );
}

#[test]
fn rfc3986_abnormal_examples() {
    // RFC 3986 §5.4.2
    assert_resolves(
        &url(BASE),
        &[
            ("../../../g", "http://a/g"),
            ("../../../../g", "http://a/g"),
            ("/./g", "http://a/g"),
            ("/../g", "http://a/g"),
            ("g.", "http://a/b/c/g."),
            (".g", "http://a/b/c/.g"),
            ("g..", "http://a/b/c/g.."),
            ("..g", "http://a/b/c/..g"),
            ("./../g", "http://a/b/g"),
            ("./g/.", "http://a/b/c/g/"),
            ("g/./h", "http://a/b/c/g/h"),
            ("g/../h", "http://a/b/c/h"),
            ("g;x=1/./y", "http://a/b/c/g;x=1/y"),
            ("g;x=1/../y", "http://a/b/c/y"),
            ("g?y/./x", "http://a/b/c/g?y/./x"),
            ("g?y/../x", "http://a/b/c/g?y/../x"),
            ("g#s/./x", "http://a/b/c/g#s/./x"),
            ("g#s/../x", "http://a/b/c/g#s/../x"),
        ],
    );
}

#[test]
fn rfc3986_http_colon_g_is_read_as_browsers_do() {
    // RFC 3986 §5.4.2 allows "http:g" = "http:g" (strict) or "http://a/b/c/g" (backward
    // compatible); browsers (WHATWG URL) take the backward-compatible reading, and so do we.
    let got = resolve(&url(BASE), b"http:g").unwrap();
    assert_eq!(got.as_str(), "http://a/b/c/g");
    // Under a base of another scheme it names a host instead.
    let got = resolve(&url("https://a/b"), b"http:g").unwrap();
    assert_eq!(got.as_str(), "http://g/");
}

#[test]
fn fragment_inheritance() {
    // RFC 9110 §10.2.2
    let with = url("http://a/b?q#frag");
    let cases: &[(&Url, &str, &str)] = &[
        (&with, "/x", "http://a/x#frag"),
        (&with, "/x?y", "http://a/x?y#frag"),
        (&with, "http://other/x", "http://other/x#frag"),
        (&with, "/x#own", "http://a/x#own"),
        (&with, "/x#", "http://a/x#"),
        (&with, "", "http://a/b?q#frag"),
    ];
    for (base, reference, expected) in cases {
        let got = resolve(base, reference.as_bytes()).unwrap();
        assert_eq!(got.as_str(), *expected, "{reference:?}");
    }
    let without = url("http://a/b");
    assert_eq!(resolve(&without, b"/x").unwrap().fragment(), None);
    let empty = url("http://a/b#");
    assert_eq!(resolve(&empty, b"/x").unwrap().as_str(), "http://a/x#");

    let mut target = url("http://t/");
    inherit_fragment(&with, &mut target);
    assert_eq!(target.fragment(), Some("frag"));
    let mut target = url("http://t/#mine");
    inherit_fragment(&with, &mut target);
    assert_eq!(target.fragment(), Some("mine"));
    let mut target = url("http://t/#");
    inherit_fragment(&with, &mut target);
    assert_eq!(target.fragment(), Some(""));
}

#[test]
fn raw_utf8_and_non_utf8_bytes() {
    let base = url("http://a/b");
    let cases: &[(&[u8], &str)] = &[
        ("/caf\u{e9}".as_bytes(), "http://a/caf%C3%A9"),
        (
            "/q?x=\u{e9}#\u{e9}".as_bytes(),
            "http://a/q?x=%C3%A9#%C3%A9",
        ),
        (
            "http://b\u{fc}cher.example/".as_bytes(),
            "http://xn--bcher-kva.example/",
        ),
        (b"/caf\xe9", "http://a/caf%E9"),
        (b"/\xff\xfe?\x80", "http://a/%FF%FE?%80"),
        // Valid UTF-8 next to an invalid byte: every non-ASCII byte as it is.
        (b"/\xc3\xa9\xff", "http://a/%C3%A9%FF"),
    ];
    for (bytes, expected) in cases {
        let got = resolve(&base, bytes).unwrap();
        assert_eq!(got.as_str(), *expected, "{bytes:?}");
    }
}

#[test]
fn whitespace_around_the_value_is_trimmed() {
    // RFC 9110 §5.5
    let base = url("http://a/b");
    assert_eq!(resolve(&base, b"  /x \t").unwrap().as_str(), "http://a/x");
    assert_eq!(resolve(&base, b"\t").unwrap().as_str(), "http://a/b");
}

#[test]
fn unparsable_location_is_a_typed_error_quoting_it() {
    let base = url("http://a/b");
    for bad in [
        "http://[::1",
        "http://a:99999/",
        "http://exa mple/",
        "https://",
    ] {
        let err = resolve(&base, bad.as_bytes()).unwrap_err();
        match &err {
            LocationError::Invalid { value, reason } => {
                assert_eq!(value, bad);
                assert!(!reason.is_empty());
            }
            other => panic!("{bad}: {other:?}"),
        }
        assert!(err.to_string().contains(bad), "{err}");
    }
}

fn headers(values: &[&'static str]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for v in values {
        map.append(LOCATION, HeaderValue::from_static(v));
    }
    map
}

#[test]
fn repeated_location_fields() {
    assert_eq!(from_headers(&headers(&[])), Ok(None));
    assert_eq!(from_headers(&headers(&["/a"])).unwrap().unwrap(), "/a");
    assert_eq!(
        from_headers(&headers(&["/a", "/a", "/a"]))
            .unwrap()
            .unwrap(),
        "/a"
    );
    // OWS is not part of the value (RFC 9110 §5.5).
    assert_eq!(
        from_headers(&headers(&["/a", "/a "])).unwrap().unwrap(),
        "/a"
    );

    let err = from_headers(&headers(&["/a", "/b"])).unwrap_err();
    assert_eq!(
        err,
        LocationError::Conflicting {
            values: vec!["/a".into(), "/b".into()]
        }
    );
    let message = err.to_string();
    assert!(
        message.contains("`/a`") && message.contains("`/b`"),
        "{message}"
    );
    assert!(message.contains("exactly one Location"), "{message}");
    assert!(matches!(
        from_headers(&headers(&["/a", "/a", "/A"])),
        Err(LocationError::Conflicting { values }) if values.len() == 3
    ));
}

#[test]
fn targets_are_encoded_as_browsers_and_rfc3986_want() {
    let cases = [
        ("/a b", "/a%20b"),
        ("/caf\u{e9}", "/caf%C3%A9"),
        ("/%41%e9", "/%41%e9"),
        ("/100%", "/100%25"),
        ("/%zz", "/%25zz"),
        ("/%4", "/%254"),
        ("/%", "/%25"),
        (
            "/\"><script>alert(1)</script>",
            "/%22%3E%3Cscript%3Ealert(1)%3C/script%3E",
        ),
        ("/`x`{y}|^", "/%60x%60%7By%7D%7C%5E"),
        ("/a\\b", "/a%5Cb"),
        ("/\\evil.example", "/%5Cevil.example"),
        ("\\\\evil.example", "%5C%5Cevil.example"),
        ("/a[1]", "/a%5B1%5D"),
        ("?q=a b&r='x'", "?q=a%20b&r='x'"),
        ("#a b#c", "#a%20b%23c"),
        ("/p?q#f", "/p?q#f"),
        ("../x/./y", "../x/./y"),
        ("x", "x"),
        ("  /trimmed  ", "/trimmed"),
        // RFC 3986 §4.2: a colon in the first segment of a relative path would read as a scheme.
        ("1a:b", "./1a:b"),
        ("a b:c", "./a%20b:c"),
        (
            "\u{3000}javascript:alert(1)",
            "./%E3%80%80javascript:alert(1)",
        ),
        ("//cdn.example/a b", "//cdn.example/a%20b"),
        ("//CDN.Example:8080/", "//cdn.example:8080/"),
        ("//b\u{fc}cher.example/", "//xn--bcher-kva.example/"),
        ("//[::1]:8080/x", "//[::1]:8080/x"),
        (
            "https://Example.COM:443/a/../b c?d e#f g",
            "https://example.com/b%20c?d%20e#f%20g",
        ),
        (
            "HTTP://b\u{fc}cher.example/\u{e4}",
            "http://xn--bcher-kva.example/%C3%A4",
        ),
        (
            "https://a.example/?q=`{}`",
            "https://a.example/?q=%60%7B%7D%60",
        ),
        ("https://a.example/#x#y", "https://a.example/#x%23y"),
        ("https://u%zz@a.example/", "https://u%25zz@a.example/"),
        ("http://[::1]:8080/", "http://[::1]:8080/"),
    ];
    for (input, expected) in cases {
        let loc = Location::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(loc.as_str(), expected, "{input:?}");
        assert_eq!(loc.header_value(), expected);
        assert_eq!(loc.to_string(), expected);
        // Idempotent: the wire form parses to itself.
        assert_eq!(
            Location::parse(loc.as_str()).as_ref(),
            Ok(&loc),
            "{input:?}"
        );
        assert_eq!(input.parse::<Location>().as_ref(), Ok(&loc));
    }
}

#[test]
fn control_characters_are_refused_where_they_are() {
    let cases: &[(&str, u8, usize, &str)] = &[
        ("/a\r\nSet-Cookie: x=1", b'\r', 2, "carriage return"),
        ("/a\nb", b'\n', 2, "line feed"),
        ("/a\0", 0, 2, "NUL"),
        ("/a\x7f", 0x7f, 2, "DEL"),
        ("/a\tb", b'\t', 2, "tab"),
        ("\x01/x", 1, 0, "control character"),
        (" \x1b/x", 0x1b, 1, "control character"),
        ("java\nscript:alert(1)", b'\n', 4, "line feed"),
    ];
    for &(input, byte, index, name) in cases {
        let err = Location::parse(input).unwrap_err();
        assert_eq!(err, LocationError::Control { byte, index }, "{input:?}");
        let message = err.to_string();
        assert!(message.contains(name), "{message}");
        assert!(message.contains("response splitting"), "{message}");
    }
    let err = Location::parse("https://a.example\n/x").unwrap_err();
    assert_eq!(
        err.to_string(),
        "Location contains a line feed (byte 0x0a at 17): response splitting; remove control \
         characters from the target"
    );
}

#[test]
fn other_schemes_are_refused_unless_allowed() {
    for (input, scheme) in [
        ("javascript:alert(1)", "javascript"),
        ("JaVaScRiPt:alert(1)", "javascript"),
        ("   javascript:alert(1)", "javascript"),
        ("data:text/html,<script>alert(1)</script>", "data"),
        ("vbscript:msgbox", "vbscript"),
        ("file:///etc/passwd", "file"),
        ("mailto:a@b.example", "mailto"),
    ] {
        let err = Location::parse(input).unwrap_err();
        assert_eq!(
            err,
            LocationError::ForbiddenScheme {
                scheme: scheme.into()
            },
            "{input:?}"
        );
        let message = err.to_string();
        assert!(message.contains(&format!("`{scheme}:`")), "{message}");
        assert!(message.contains("Schemes::allow"), "{message}");
    }
    let schemes = Schemes::default().allow("DATA").allow("mailto");
    assert!(schemes.allows("data") && schemes.allows("Data") && schemes.allows("https"));
    assert!(!schemes.allows("javascript"));
    let data = Location::parse_with("Data:text/html,<b>hi there</b>", &schemes).unwrap();
    assert_eq!(data.as_str(), "data:text/html,%3Cb%3Ehi%20there%3C/b%3E");
    let mail = Location::parse_with("mailto:a b@c.example", &schemes).unwrap();
    assert_eq!(mail.as_str(), "mailto:a%20b@c.example");
    // An opaque host with a stray `%` (found by the property tests).
    let js = Schemes::default().allow("javascript");
    assert!(matches!(
        Location::parse_with("javascript://%?", &js),
        Err(LocationError::Invalid { .. })
    ));
    assert!(matches!(
        Location::parse_with("javascript:x", &schemes),
        Err(LocationError::ForbiddenScheme { .. })
    ));
}

#[test]
fn targets_that_cannot_be_sent() {
    assert_eq!(Location::parse(""), Err(LocationError::Empty));
    assert_eq!(Location::parse("    "), Err(LocationError::Empty));
    assert!(LocationError::Empty.to_string().contains("empty"));
    for input in [
        "https:evil.example",
        "http:/a",
        "http:\\\\evil.example",
        "https://",
        "http://exa mple/",
        "http://a:99999/",
        "///evil.example",
        "//",
        "//a:port/",
        "//a:99999/",
        "//[::1/",
        "//[::1]x/",
        "//exa<mple/",
        // Characters the WHATWG host parser lets through but no URI host may hold (found by
        // the property tests).
        "//`",
        "//a{b}.example/",
        "http://`/",
        "https://a\"b.example/",
    ] {
        match Location::parse(input) {
            Err(LocationError::Invalid { value, reason }) => {
                assert_eq!(value, input);
                assert!(!reason.is_empty());
            }
            other => panic!("{input:?}: {other:?}"),
        }
    }
    let message = Location::parse("https:evil.example")
        .unwrap_err()
        .to_string();
    assert!(message.contains("https://"), "{message}");
}

#[test]
fn same_origin_compares_scheme_host_and_port() {
    let cases = [
        ("http://a/", "http://a/", true),
        ("http://a:80/", "http://a/", true),
        ("https://a:443/x", "https://a/y?z#f", true),
        ("http://user:pw@a/", "http://a/", true),
        ("http://A.Example/", "http://a.example/", true),
        (
            "https://b\u{fc}cher.example/",
            "https://xn--bcher-kva.example/",
            true,
        ),
        (
            "https://B\u{dc}CHER.example/",
            "https://b\u{fc}cher.example/",
            true,
        ),
        ("http://[::1]:80/", "http://[0:0::1]/", true),
        ("http://127.0.0.1/", "http://0x7f.1/", true),
        ("http://a/", "https://a/", false),
        ("http://a:8080/", "http://a/", false),
        ("https://a:80/", "http://a:80/", false),
        ("http://a/", "http://b/", false),
        ("http://a.example/", "http://www.a.example/", false),
        ("http://a.example/", "http://a.example./", false),
        ("data:text/plain,x", "data:text/plain,x", false),
    ];
    for (a, b, expected) in cases {
        assert_eq!(same_origin(&url(a), &url(b)), expected, "{a} vs {b}");
        assert_eq!(same_origin(&url(b), &url(a)), expected, "{b} vs {a}");
    }
}
