//! The open-redirect guard: every known trick is judged by the host a browser would go to.

use proptest::prelude::*;
use seeother_core::guard::{Guard, GuardError};
use seeother_core::location::{LocationError, resolve, same_origin};
use url::Url;

fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

fn site() -> Guard {
    Guard::new(url("https://site.example/"))
}

/// A browser resolves what the guard returned against the page it was sent from.
fn lands_on(guard_origin: &str, location: &str) -> Url {
    resolve(&url(guard_origin), location.as_bytes()).unwrap()
}

#[test]
fn same_origin_targets_come_back_path_absolute() {
    let guard = site();
    let cases = [
        ("/x", "/x"),
        ("x", "/x"),
        ("./x?y#z", "/x?y#z"),
        ("/a/../b?c#d", "/b?c#d"),
        ("/a b", "/a%20b"),
        ("/caf\u{e9}", "/caf%C3%A9"),
        ("https://site.example/p?q", "/p?q"),
        ("https://SITE.example:443/p", "/p"),
        ("  /trimmed\t", "/trimmed"),
        ("/pa\tth", "/path"),
        ("?q=1", "/?q=1"),
    ];
    for (input, expected) in cases {
        let loc = guard
            .check(input)
            .unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(loc.as_str(), expected, "{input:?}");
        let landed = lands_on("https://site.example/deep/page", loc.as_str());
        assert_eq!(landed.host_str(), Some("site.example"), "{input:?}");
    }
}

#[test]
fn a_path_starting_with_two_slashes_is_never_returned_protocol_relative() {
    let guard = site();
    for input in [
        "/.//evil.example",
        "/x/..//evil.example",
        "https://site.example//evil.example",
    ] {
        let loc = guard.check(input).unwrap();
        assert!(!loc.as_str().starts_with("//"), "{input:?} -> {loc}");
        assert_eq!(loc.as_str(), "/.//evil.example");
        let landed = lands_on("https://site.example/a", loc.as_str());
        assert_eq!(landed.as_str(), "https://site.example//evil.example");
    }
}

#[test]
fn tricks_leading_to_a_foreign_host_are_refused_naming_the_host() {
    let guard = site();
    let cases = [
        "//evil.example",
        "//evil.example/path",
        "/\\evil.example",
        "\\\\evil.example",
        "\\/evil.example",
        "/\t/evil.example",
        " //evil.example",
        "\x01//evil.example",
        "https:evil.example",
        "http:evil.example",
        "https:/evil.example",
        "https:\\\\evil.example",
        "ht\ttps://evil.example",
        "h\nttp://evil.example",
        "https://evil.example",
        "HTTPS://EVIL.EXAMPLE/",
        "https://evil.example\\@site.example",
        "https://evil.example#@site.example",
        "https://evil.example?@site.example",
        "//evil.example:443",
    ];
    for input in cases {
        let err = guard.check(input).unwrap_err();
        match &err {
            GuardError::ForeignHost { host, reason } => {
                assert_eq!(host, "evil.example", "{input:?}");
                assert!(!reason.is_empty());
            }
            other => panic!("{input:?}: {other:?}"),
        }
        let message = err.to_string();
        assert!(message.contains("`evil.example`"), "{message}");
        assert!(message.contains("allow_host"), "{message}");
    }
}

#[test]
fn lookalike_hosts_are_foreign() {
    let guard = site();
    for (input, host) in [
        (
            "https://site.example.evil.example/",
            "site.example.evil.example",
        ),
        ("https://evilsite.example/", "evilsite.example"),
        ("https://www.site.example/", "www.site.example"),
        ("https://site.example./", "site.example."),
    ] {
        match guard.check(input) {
            Err(GuardError::ForeignHost { host: h, .. }) => assert_eq!(h, host),
            other => panic!("{input:?}: {other:?}"),
        }
    }
}

#[test]
fn reasons_explain_the_trick() {
    let guard = site();
    let reason = |input: &str| match guard.check(input) {
        Err(GuardError::ForeignHost { reason, .. }) => reason,
        other => panic!("{input:?}: {other:?}"),
    };
    assert!(reason("/\\evil.example").contains("protocol-relative"));
    assert!(reason("https:evil.example").contains("scheme without `//`"));
    // On an https page `https:next` is the path `/next`, on an http page the host `next`: the
    // answer must not depend on how the page was served.
    assert!(reason("https:next").contains("served over http"));
    assert!(reason("https://evil.example/").contains("https://site.example"));
    assert!(reason("http://site.example/").contains("different scheme or port"));
}

#[test]
fn userinfo_is_refused_outright() {
    let guard = site();
    for (input, host) in [
        ("https://site.example@evil.example", "evil.example"),
        ("https://site.example:443@evil.example/", "evil.example"),
        ("//site.example@evil.example", "evil.example"),
        ("https://user:pw@site.example/", "site.example"),
        ("https://user@site.example/", "site.example"),
        ("https://:pw@site.example/", "site.example"),
    ] {
        let err = guard.check(input).unwrap_err();
        assert_eq!(err, GuardError::Userinfo { host: host.into() }, "{input:?}");
        let message = err.to_string();
        assert!(message.contains(&format!("`{host}`")), "{message}");
        assert!(message.contains("userinfo"), "{message}");
    }
}

#[test]
fn other_schemes_are_invalid() {
    let guard = site();
    for (input, scheme) in [
        ("javascript:alert(1)", "javascript"),
        ("JaVaScRiPt:alert(1)", "javascript"),
        ("java\tscript:alert(1)", "javascript"),
        ("java\r\nscript:alert(1)", "javascript"),
        ("  javascript:alert(1)", "javascript"),
        ("\x00javascript:alert(1)", "javascript"),
        ("data:text/html,<script>alert(1)</script>", "data"),
        ("file:///etc/passwd", "file"),
        ("ftp://site.example/", "ftp"),
    ] {
        let err = guard.check(input).unwrap_err();
        assert_eq!(
            err,
            GuardError::Invalid(LocationError::ForbiddenScheme {
                scheme: scheme.into()
            }),
            "{input:?}"
        );
        assert!(err.to_string().contains(scheme));
    }
    assert_eq!(
        site().check(""),
        Err(GuardError::Invalid(LocationError::Empty))
    );
    assert_eq!(
        site().check(" \t"),
        Err(GuardError::Invalid(LocationError::Empty))
    );
    assert!(matches!(
        site().check("https://[::1"),
        Err(GuardError::Invalid(LocationError::Invalid { .. }))
    ));
}

#[test]
fn allow_listed_hosts_come_back_absolute_and_subdomains_are_not_implied() {
    let guard = site()
        .allow_host("Pay.Example")
        .allow_host("B\u{dc}CHER.example");
    let pass = [
        ("https://pay.example/x", "https://pay.example/x"),
        (
            "http://pay.example:8443/x y",
            "http://pay.example:8443/x%20y",
        ),
        ("//pay.example/x", "https://pay.example/x"),
        (
            "https://b\u{fc}cher.example/",
            "https://xn--bcher-kva.example/",
        ),
    ];
    for (input, expected) in pass {
        assert_eq!(guard.check(input).unwrap().as_str(), expected, "{input:?}");
    }
    for (input, host) in [
        ("https://www.pay.example/", "www.pay.example"),
        (
            "https://pay.example.evil.example/",
            "pay.example.evil.example",
        ),
        ("https://evil-pay.example/", "evil-pay.example"),
    ] {
        assert!(
            matches!(guard.check(input), Err(GuardError::ForeignHost { host: h, .. }) if h == host),
            "{input:?}"
        );
    }
    assert!(matches!(
        guard.check("https://user@pay.example/"),
        Err(GuardError::Userinfo { .. })
    ));
}

#[test]
fn ports_and_schemes_are_part_of_the_origin() {
    let guard = Guard::new(url("https://site.example:8443/app/"));
    assert_eq!(
        guard.check("https://site.example:8443/x").unwrap().as_str(),
        "/x"
    );
    assert_eq!(guard.check("next").unwrap().as_str(), "/app/next");
    for input in [
        "https://site.example/x",
        "https://site.example:9443/x",
        "http://site.example:8443/x",
    ] {
        assert!(
            matches!(guard.check(input), Err(GuardError::ForeignHost { ref host, .. }) if host == "site.example"),
            "{input:?}"
        );
    }
    // Allow-listing the host allows its other ports and schemes.
    let guard = guard.allow_host("site.example");
    assert_eq!(
        guard.check("http://site.example:9443/x").unwrap().as_str(),
        "http://site.example:9443/x"
    );
}

#[test]
fn ipv6_literals() {
    let guard = Guard::new(url("http://[::1]:8080/"));
    assert_eq!(guard.check("/x").unwrap().as_str(), "/x");
    assert_eq!(
        guard.check("http://[0:0::1]:8080/y").unwrap().as_str(),
        "/y"
    );
    for (input, host) in [
        ("http://[::2]:8080/", "[::2]"),
        ("http://[::1]:9090/", "[::1]"),
    ] {
        assert!(
            matches!(guard.check(input), Err(GuardError::ForeignHost { host: ref h, .. }) if h == host),
            "{input:?}"
        );
    }
    let guard = guard.allow_host("::1").allow_host("[::3]");
    assert_eq!(
        guard.check("http://[::1]:9090/").unwrap().as_str(),
        "http://[::1]:9090/"
    );
    assert_eq!(
        guard.check("http://[::3]/").unwrap().as_str(),
        "http://[::3]/"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Whatever the input, what the guard lets through lands on the site or an allowed host
    /// when a browser follows it from any page of the site, over http or https.
    #[test]
    fn whatever_passes_lands_on_an_allowed_origin(
        input in r"[ -~\t\n\r\u{0}\u{e9}]{0,30}|(https?:|//|/\\|\\\\|/)?[a-z.@:\\/#?%\t]{0,20}"
    ) {
        let guard = site().allow_host("pay.example");
        if let Ok(loc) = guard.check(&input) {
            let wire = loc.as_str();
            prop_assert!(!wire.starts_with("//") && !wire.contains('\\'), "{input:?} -> {wire}");
            for page in ["https://site.example/a/b", "http://site.example/"] {
                let landed = resolve(&url(page), wire.as_bytes()).unwrap();
                let own = same_origin(&landed, &url(page));
                let allowed = landed.host_str() == Some("pay.example");
                prop_assert!(own || allowed, "{input:?} -> {wire} -> {landed}");
                prop_assert!(landed.username().is_empty() && landed.password().is_none());
            }
        }
    }
}

#[test]
fn over_long_targets_are_refused_before_and_after_encoding() {
    use seeother_core::respond::MAX_LOCATION_LEN;
    let guard = site();
    let fits = format!("/{}", "a".repeat(MAX_LOCATION_LEN - 1));
    assert_eq!(guard.check(&fits).unwrap().as_str().len(), MAX_LOCATION_LEN);
    let long = format!("/{}", "a".repeat(MAX_LOCATION_LEN));
    assert_eq!(
        guard.check(&long).unwrap_err(),
        GuardError::TooLong {
            len: MAX_LOCATION_LEN + 1,
            limit: MAX_LOCATION_LEN
        }
    );
    // Short as given, too long once each space is `%20`.
    let spaces = format!("/{}", " x".repeat(MAX_LOCATION_LEN / 3));
    let error = guard.check(&spaces).unwrap_err();
    assert!(matches!(error, GuardError::TooLong { .. }), "{error}");
    assert!(error.to_string().contains("shorten it"));
}
