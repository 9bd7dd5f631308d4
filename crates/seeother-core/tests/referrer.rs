//! Referrer Policy: tokens, the `Referrer-Policy` field, and the `Referer` each policy sends.

use http::{HeaderMap, HeaderValue};
use seeother_core::referrer::ReferrerPolicy::{self, *};
use url::Url;

fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

const FULL: &str = "https://a.example/p?q=1";
const ORIGIN: &str = "https://a.example/";

/// From `https://a.example/p?q=1` to: the same origin, another https origin, http on another
/// host (a downgrade), and http on the same host (cross-origin by scheme, and a downgrade).
/// Written out by hand from Referrer Policy §8.3.
const TABLE: [(ReferrerPolicy, [Option<&str>; 4]); 8] = [
    (NoReferrer, [None, None, None, None]),
    (
        NoReferrerWhenDowngrade,
        [Some(FULL), Some(FULL), None, None],
    ),
    (SameOrigin, [Some(FULL), None, None, None]),
    (
        Origin,
        [Some(ORIGIN), Some(ORIGIN), Some(ORIGIN), Some(ORIGIN)],
    ),
    (StrictOrigin, [Some(ORIGIN), Some(ORIGIN), None, None]),
    (
        OriginWhenCrossOrigin,
        [Some(FULL), Some(ORIGIN), Some(ORIGIN), Some(ORIGIN)],
    ),
    (
        StrictOriginWhenCrossOrigin,
        [Some(FULL), Some(ORIGIN), None, None],
    ),
    (UnsafeUrl, [Some(FULL), Some(FULL), Some(FULL), Some(FULL)]),
];

const TARGETS: [&str; 4] = [
    "https://a.example/other",
    "https://b.example/",
    "http://b.example/",
    "http://a.example/p",
];

#[test]
fn every_policy_same_origin_cross_origin_and_downgrade() {
    // Userinfo and fragment never leave (Referrer Policy §8.4).
    let from = url("https://user:pw@a.example/p?q=1#section");
    for (policy, row) in TABLE {
        for (target, expected) in TARGETS.iter().zip(row) {
            let got = policy.referer(&from, &url(target));
            assert_eq!(
                got.as_ref().map(|v| v.to_str().unwrap()),
                expected,
                "{policy} to {target}"
            );
        }
    }
}

#[test]
fn from_plain_http_there_is_no_downgrade() {
    // Neither end is potentially trustworthy, so strict policies behave like the plain ones.
    let from = url("http://a.example/p?q=1");
    let to = url("http://b.example/");
    let cases = [
        (NoReferrerWhenDowngrade, Some("http://a.example/p?q=1")),
        (StrictOrigin, Some("http://a.example/")),
        (StrictOriginWhenCrossOrigin, Some("http://a.example/")),
        (SameOrigin, None),
    ];
    for (policy, expected) in cases {
        let got = policy.referer(&from, &to);
        assert_eq!(
            got.as_ref().map(|v| v.to_str().unwrap()),
            expected,
            "{policy}"
        );
    }
}

#[test]
fn loopback_and_localhost_are_trustworthy_so_no_downgrade() {
    // Secure Contexts §3.1: http://127.0.0.1, http://[::1] and http://localhost are not a
    // downgrade from https.
    let from = url("https://a.example/p");
    for target in [
        "http://127.0.0.1:8080/",
        "http://[::1]/",
        "http://localhost/",
        "http://app.localhost/",
    ] {
        let got = StrictOrigin.referer(&from, &url(target));
        assert_eq!(got.unwrap(), "https://a.example/", "{target}");
    }
    for target in [
        "http://127.0.0.1.example/",
        "http://notlocalhost/",
        "http://10.0.0.1/",
    ] {
        assert!(
            StrictOrigin.referer(&from, &url(target)).is_none(),
            "{target}"
        );
    }
}

#[test]
fn the_origin_keeps_a_non_default_port() {
    let from = url("https://a.example:8443/deep/path?x");
    let got = Origin.referer(&from, &url("https://b.example/")).unwrap();
    assert_eq!(got, "https://a.example:8443/");
}

#[test]
fn a_very_long_url_is_sent_as_its_origin() {
    // Referrer Policy §8.3 step 6: over 4096 bytes, the origin only.
    let long = format!("https://a.example/{}", "x".repeat(5000));
    let got = UnsafeUrl
        .referer(&url(&long), &url("https://a.example/"))
        .unwrap();
    assert_eq!(got, "https://a.example/");
    let short = format!("https://a.example/{}", "x".repeat(4000));
    let got = UnsafeUrl
        .referer(&url(&short), &url("https://a.example/"))
        .unwrap();
    assert_eq!(got.len(), short.len());
}

#[test]
fn local_schemes_are_never_a_referrer() {
    for from in [
        "data:text/html,hi",
        "about:blank",
        "blob:https://a.example/uuid",
    ] {
        assert!(
            UnsafeUrl
                .referer(&url(from), &url("https://a.example/"))
                .is_none()
        );
    }
}

#[test]
fn tokens_round_trip_and_unknown_ones_are_refused() {
    let tokens = [
        "no-referrer",
        "no-referrer-when-downgrade",
        "same-origin",
        "origin",
        "strict-origin",
        "origin-when-cross-origin",
        "strict-origin-when-cross-origin",
        "unsafe-url",
    ];
    for (token, policy) in tokens.iter().zip(ReferrerPolicy::ALL) {
        assert_eq!(ReferrerPolicy::from_token(token), Some(policy));
        assert_eq!(policy.token(), *token);
        assert_eq!(policy.to_string(), *token);
    }
    assert_eq!(
        ReferrerPolicy::from_token(" Same-Origin\t"),
        Some(SameOrigin)
    );
    for bad in [
        "",
        "never",
        "always",
        "default",
        "origin-only",
        "same origin",
    ] {
        assert_eq!(ReferrerPolicy::from_token(bad), None, "{bad:?}");
    }
    assert_eq!(ReferrerPolicy::default(), StrictOriginWhenCrossOrigin);
}

fn policy_fields(values: &[&[u8]]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for v in values {
        map.append("referrer-policy", HeaderValue::from_bytes(v).unwrap());
    }
    map
}

#[test]
fn the_last_known_token_of_all_fields_wins() {
    // Referrer Policy §8.1 and §11.1: a list, newest last, unknown tokens skipped as fallbacks.
    let cases: [(&[&[u8]], Option<ReferrerPolicy>); 7] = [
        (&[], None),
        (&[b"origin"], Some(Origin)),
        (&[b"no-referrer, unsafe-url"], Some(UnsafeUrl)),
        (&[b"same-origin, some-future-policy"], Some(SameOrigin)),
        (&[b"no-referrer", b"strict-origin"], Some(StrictOrigin)),
        (&[b"", b"  ,  "], None),
        (&[b"origin", b"\xff\xfe"], Some(Origin)),
    ];
    for (values, expected) in cases {
        assert_eq!(
            ReferrerPolicy::from_headers(&policy_fields(values)),
            expected,
            "{values:?}"
        );
    }
}
