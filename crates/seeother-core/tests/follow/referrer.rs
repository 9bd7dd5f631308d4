//! `Referer` along a chain: off by default, by policy when on, and `Referrer-Policy` on a
//! redirect changes the policy (Fetch §4.4 step 14).

use http::Method;
use seeother_core::follow::{BodyKind, Follow, Policy};
use seeother_core::referrer::ReferrerPolicy;

use crate::{field, fields, get, hop, to, url};

fn with(policy: Option<ReferrerPolicy>) -> Policy {
    Policy {
        referrer: policy,
        allow_downgrade: true,
        ..Policy::default()
    }
}

#[test]
fn off_by_default() {
    let mut follow = get(Policy::default(), "https://a.example/private?token=1");
    assert_eq!(field(&hop(&mut follow, 302, &to("/same")), "referer"), None);
    assert_eq!(
        field(&hop(&mut follow, 302, &to("https://b.example/")), "referer"),
        None
    );
}

#[test]
fn a_caller_set_referer_goes_on_the_first_request_only() {
    for policy in [None, Some(ReferrerPolicy::UnsafeUrl)] {
        let headers = fields(&[("referer", "https://search.example/?q=x")]);
        let mut follow = Follow::new(
            with(policy),
            Method::GET,
            url("https://a.example/page"),
            headers,
            BodyKind::Empty,
        )
        .unwrap();
        assert_eq!(
            field(follow.request(), "referer"),
            Some("https://search.example/?q=x")
        );
        // Later hops use the policy: none when off, the redirecting URL when on.
        let next = hop(&mut follow, 302, &to("/next"));
        let expected = policy.map(|_| "https://a.example/page");
        assert_eq!(field(&next, "referer"), expected, "{policy:?}");
    }
}

#[test]
fn the_default_policy_along_a_chain() {
    let default = Some(ReferrerPolicy::default());
    let mut follow = get(with(default), "https://user:pw@a.example/p?q=1#frag");
    // Same origin: the full URL of the request that was redirected, without userinfo or
    // fragment (Referrer Policy §8.4).
    let next = hop(&mut follow, 302, &to("/next"));
    assert_eq!(field(&next, "referer"), Some("https://a.example/p?q=1"));
    // Cross-origin: its origin only.
    let next = hop(&mut follow, 302, &to("https://b.example/x"));
    assert_eq!(field(&next, "referer"), Some("https://a.example/"));
    // A downgrade: nothing.
    let next = hop(&mut follow, 302, &to("http://c.example/"));
    assert_eq!(field(&next, "referer"), None);
    // From http to http across origins: the origin.
    let next = hop(&mut follow, 302, &to("http://d.example/"));
    assert_eq!(field(&next, "referer"), Some("http://c.example/"));
}

#[test]
fn referrer_policy_on_a_redirect_is_honoured_from_then_on() {
    let mut follow = get(with(Some(ReferrerPolicy::UnsafeUrl)), "https://a.example/1");
    let next = hop(&mut follow, 302, &to("https://b.example/2"));
    assert_eq!(field(&next, "referer"), Some("https://a.example/1"));
    let tighten = fields(&[
        ("location", "https://c.example/3"),
        ("referrer-policy", "no-referrer"),
    ]);
    assert_eq!(field(&hop(&mut follow, 302, &tighten), "referer"), None);
    // It stays in force on later hops without the field.
    assert_eq!(field(&hop(&mut follow, 302, &to("/4")), "referer"), None);
    // And a later field replaces it again.
    let loosen = fields(&[("location", "/5"), ("referrer-policy", "same-origin")]);
    assert_eq!(
        field(&hop(&mut follow, 302, &loosen), "referer"),
        Some("https://c.example/4")
    );
}

#[test]
fn a_referrer_policy_field_does_not_turn_referer_on() {
    let mut follow = get(Policy::default(), "https://a.example/");
    let headers = fields(&[("location", "/n"), ("referrer-policy", "unsafe-url")]);
    assert_eq!(field(&hop(&mut follow, 302, &headers), "referer"), None);
}

#[test]
fn an_unknown_referrer_policy_token_changes_nothing() {
    let mut follow = get(with(Some(ReferrerPolicy::SameOrigin)), "https://a.example/");
    let headers = fields(&[("location", "/n"), ("referrer-policy", "everything-please")]);
    let next = hop(&mut follow, 302, &headers);
    assert_eq!(field(&next, "referer"), Some("https://a.example/"));
    let next = hop(&mut follow, 302, &to("https://b.example/"));
    assert_eq!(field(&next, "referer"), None, "still same-origin");
}
