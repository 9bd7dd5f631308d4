//! `Location`: resolution, fragments, absence, errors, schemes and downgrades.

use http::{HeaderMap, Method};
use seeother_core::follow::{BodyKind, Follow, FollowError, Policy};
use seeother_core::location::LocationError;

use crate::{done, fail, fields, get, hop, to, url};

#[test]
fn relative_and_absolute_targets_resolve_against_the_current_url() {
    let cases = [
        ("/x", "http://a.example/x"),
        ("x", "http://a.example/dir/x"),
        ("../x", "http://a.example/x"),
        ("?q=2", "http://a.example/dir/page?q=2"),
        ("//b.example/y", "http://b.example/y"),
        ("https://c.example:8443/z?k", "https://c.example:8443/z?k"),
        ("  /padded  ", "http://a.example/padded"),
    ];
    for (location, expected) in cases {
        let mut follow = get(Policy::default(), "http://a.example/dir/page?q=1");
        let next = hop(&mut follow, 302, &to(location));
        assert_eq!(next.url.as_str(), expected, "Location {location:?}");
    }
}

#[test]
fn each_hop_resolves_against_the_previous_hop_not_the_original() {
    let mut follow = get(Policy::default(), "http://a.example/1/start");
    assert_eq!(
        hop(&mut follow, 302, &to("https://b.example/2/x"))
            .url
            .as_str(),
        "https://b.example/2/x"
    );
    assert_eq!(
        hop(&mut follow, 302, &to("y")).url.as_str(),
        "https://b.example/2/y"
    );
    assert_eq!(
        hop(&mut follow, 303, &to("/z")).url.as_str(),
        "https://b.example/z"
    );
    done(&mut follow, 200, &HeaderMap::new());
    // RFC 9110 §15.4.4: the final URL is not the requested one, and both are kept.
    assert_eq!(follow.original_url().as_str(), "http://a.example/1/start");
    assert_eq!(follow.request().url.as_str(), "https://b.example/z");
}

#[test]
fn fragments_are_inherited_through_several_hops() {
    let mut follow = get(Policy::default(), "http://a.example/start#section-2");
    // RFC 9110 §10.2.2: no fragment of its own → the current one is kept.
    let next = hop(&mut follow, 301, &to("/one"));
    assert_eq!(next.url.as_str(), "http://a.example/one#section-2");
    assert_eq!(
        next.target().as_str(),
        "http://a.example/one",
        "never on the wire"
    );
    let next = hop(&mut follow, 302, &to("http://b.example/two"));
    assert_eq!(next.url.as_str(), "http://b.example/two#section-2");
    // A fragment of its own replaces it, and is what later hops inherit.
    let next = hop(&mut follow, 303, &to("/three#own"));
    assert_eq!(next.url.as_str(), "http://b.example/three#own");
    let next = hop(&mut follow, 307, &to("/four"));
    assert_eq!(next.url.as_str(), "http://b.example/four#own");
    let urls: Vec<_> = follow.history().iter().map(|h| h.url.as_str()).collect();
    assert_eq!(
        urls,
        [
            "http://a.example/start#section-2",
            "http://a.example/one#section-2",
            "http://b.example/two#section-2",
            "http://b.example/three#own",
        ]
    );
}

#[test]
fn a_redirect_without_location_is_the_answer() {
    for code in [301, 302, 303, 307, 308] {
        let mut follow = get(Policy::default(), "http://a.example/");
        done(&mut follow, code, &fields(&[("content-type", "text/html")]));
        assert_eq!(follow.history().len(), 1, "{code}");
        assert_eq!(follow.history()[0].status.as_u16(), code);
        assert_eq!(follow.history()[0].location, None);
        assert_eq!(follow.request().url.as_str(), "http://a.example/", "{code}");
    }
}

#[test]
fn a_broken_location_is_an_error_that_quotes_it() {
    for broken in [
        "http://a.example:99999/",
        "http://[::1/",
        "https://exa mple.com/",
    ] {
        let mut follow = get(Policy::default(), "http://a.example/from");
        let e = fail(&mut follow, 302, &to(broken));
        let FollowError::InvalidLocation { url: at, error } = &e else {
            panic!("{broken:?}: {e:?}");
        };
        assert_eq!(
            at.as_str(),
            "http://a.example/from",
            "names the URL that sent it"
        );
        assert!(matches!(error, LocationError::Invalid { .. }), "{error:?}");
        let message = e.to_string();
        assert!(message.contains(broken), "quotes {broken:?}: {message}");
        assert!(message.contains("http://a.example/from"), "{message}");
        assert_eq!(e.kind(), "invalid_location");
        // The failed hop is in the history, with the Location as received.
        assert_eq!(follow.history()[0].location.as_ref().unwrap(), broken);
    }
}

#[test]
fn several_locations_that_disagree_are_an_error() {
    let mut follow = get(Policy::default(), "http://a.example/");
    let headers = fields(&[("location", "/one"), ("location", "/two")]);
    let e = fail(&mut follow, 302, &headers);
    let FollowError::InvalidLocation { error, .. } = &e else {
        panic!("{e:?}");
    };
    assert!(
        matches!(error, LocationError::Conflicting { .. }),
        "{error:?}"
    );
    let message = e.to_string();
    assert!(
        message.contains("/one") && message.contains("/two"),
        "{message}"
    );
}

#[test]
fn several_identical_locations_are_one() {
    let mut follow = get(Policy::default(), "http://a.example/");
    let headers = fields(&[("location", "/same"), ("location", "/same")]);
    assert_eq!(
        hop(&mut follow, 302, &headers).url.as_str(),
        "http://a.example/same"
    );
}

#[test]
fn only_http_and_https_targets_are_followed() {
    for target in [
        "ftp://files.example/pub",
        "javascript:alert(1)",
        "data:text/html,<b>hi</b>",
        "file:///etc/passwd",
        "mailto:a@b.example",
    ] {
        let mut follow = get(Policy::default(), "https://a.example/");
        let e = fail(&mut follow, 302, &to(target));
        let FollowError::UnsupportedScheme { url: shown } = &e else {
            panic!("{target:?}: {e:?}");
        };
        let scheme = target.split(':').next().unwrap();
        assert!(shown.starts_with(scheme), "{shown}");
        assert!(e.to_string().contains("only http and https"), "{e}");
    }
}

#[test]
fn the_original_url_must_be_http_or_https_too() {
    for start in [
        "ftp://a.example/",
        "javascript:alert(1)",
        "data:,x",
        "ws://a.example/",
    ] {
        let e = Follow::new(
            Policy::default(),
            Method::GET,
            url(start),
            HeaderMap::new(),
            BodyKind::Empty,
        )
        .unwrap_err();
        assert_eq!(e.kind(), "unsupported_scheme", "{start}");
        assert!(e.to_string().contains(start), "{e}");
    }
    for start in ["http://a.example/", "HTTPS://A.EXAMPLE/"] {
        assert!(
            Follow::new(
                Policy::default(),
                Method::GET,
                url(start),
                HeaderMap::new(),
                BodyKind::Empty
            )
            .is_ok(),
            "{start}"
        );
    }
}

#[test]
fn https_to_http_is_refused_unless_allowed() {
    let mut follow = get(Policy::default(), "https://a.example/secure");
    let e = fail(&mut follow, 302, &to("http://a.example/plain"));
    assert_eq!(
        e,
        FollowError::InsecureDowngrade {
            from: url("https://a.example/secure"),
            to: url("http://a.example/plain"),
        }
    );
    let message = e.to_string();
    assert!(message.contains("--allow-downgrade"), "{message}");

    let policy = Policy {
        allow_downgrade: true,
        ..Policy::default()
    };
    let mut follow = get(policy, "https://a.example/secure");
    let next = hop(&mut follow, 302, &to("http://a.example/plain"));
    assert_eq!(next.url.as_str(), "http://a.example/plain");
}

#[test]
fn http_to_https_and_http_to_http_are_not_downgrades() {
    let mut follow = get(Policy::default(), "http://a.example/");
    hop(&mut follow, 301, &to("https://a.example/"));
    hop(&mut follow, 301, &to("https://b.example/"));
    let mut follow = get(Policy::default(), "http://a.example/");
    hop(&mut follow, 301, &to("http://b.example/"));
}

#[test]
fn the_history_records_method_url_status_and_location() {
    let mut follow = Follow::new(
        Policy::default(),
        Method::POST,
        url("http://a.example/login"),
        HeaderMap::new(),
        BodyKind::Replayable,
    )
    .unwrap();
    hop(&mut follow, 303, &to("/home"));
    hop(&mut follow, 301, &to("https://a.example/home"));
    done(&mut follow, 200, &HeaderMap::new());
    let rows: Vec<_> = follow
        .history()
        .iter()
        .map(|h| {
            (
                h.method.as_str(),
                h.url.as_str(),
                h.status.as_u16(),
                h.location.as_ref().map(|l| l.to_str().unwrap()),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("POST", "http://a.example/login", 303, Some("/home")),
            (
                "GET",
                "http://a.example/home",
                301,
                Some("https://a.example/home")
            ),
            ("GET", "https://a.example/home", 200, None),
        ]
    );
}

#[test]
fn after_the_answer_or_an_error_the_machine_stays_put() {
    let mut follow = get(Policy::default(), "http://a.example/");
    done(&mut follow, 200, &HeaderMap::new());
    done(&mut follow, 302, &to("/elsewhere"));
    assert_eq!(follow.history().len(), 1);
    assert_eq!(follow.request().url.as_str(), "http://a.example/");

    let mut follow = get(Policy::default(), "https://a.example/");
    let first = fail(&mut follow, 302, &to("http://a.example/"));
    let again = fail(&mut follow, 200, &HeaderMap::new());
    assert_eq!(first, again);
    assert_eq!(follow.history().len(), 1);
}
