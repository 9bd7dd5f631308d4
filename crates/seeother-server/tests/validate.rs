//! Rule validation: hostile or malformed rules never reach the store.

use seeother_server::rule::{Kind, MAX_TARGET_LEN, RuleError, RuleSpec, Variant};

#[test]
fn hostile_targets_are_refused() {
    for bad in [
        "/a\r\nSet-Cookie: x=1",
        "https://example.org/\n",
        "https://example.org/\u{0}x",
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "file:///etc/passwd",
    ] {
        let err = RuleSpec::path("/x", bad).validate().unwrap_err();
        assert!(matches!(err, RuleError::Target { .. }), "{bad:?}: {err:?}");
        assert!(err.to_string().contains("`to` is refused"), "{err}");
    }
    let mut r = RuleSpec::path("/x", "/ok");
    r.variants = vec![Variant {
        media_type: "text/turtle".into(),
        to: "javascript:alert(1)".into(),
    }];
    let err = r.validate().unwrap_err();
    assert!(err.to_string().contains("variants[0].to"), "{err}");
    let err = RuleSpec::pattern("/id/{n}", "https://{n}\r\n.example/")
        .validate()
        .unwrap_err();
    assert!(matches!(err, RuleError::Target { .. }), "{err:?}");
}

#[test]
fn matchers_statuses_hosts_and_types_are_checked() {
    assert_eq!(
        RuleSpec {
            to: "/x".into(),
            ..Default::default()
        }
        .validate(),
        Err(RuleError::NoMatcher)
    );
    let mut two = RuleSpec::path("/a", "/x");
    two.prefix = Some("/b".into());
    assert_eq!(two.validate(), Err(RuleError::SeveralMatchers));
    assert!(matches!(
        RuleSpec::path("a", "/x").validate(),
        Err(RuleError::BadPath { .. })
    ));
    assert!(matches!(
        RuleSpec::path("/a?b", "/x").validate(),
        Err(RuleError::BadPath { .. })
    ));
    assert!(matches!(
        RuleSpec::path("/a\nb", "/x").validate(),
        Err(RuleError::BadPath { .. })
    ));
    assert!(matches!(
        RuleSpec::pattern("/{a", "/x").validate(),
        Err(RuleError::Pattern { .. })
    ));
    assert!(matches!(
        RuleSpec::pattern("/{a}", "/{b}").validate(),
        Err(RuleError::Pattern { .. })
    ));
    for code in [200, 300, 304, 305, 404] {
        let mut r = RuleSpec::path("/a", "/x");
        r.status = code;
        assert_eq!(r.validate(), Err(RuleError::Status(code)));
    }
    let mut r = RuleSpec::path("/a", "/x");
    r.host = Some("https://id.example.org/".into());
    assert!(matches!(r.validate(), Err(RuleError::Host(_))));
    let mut r = RuleSpec::path("/a", "/x");
    r.default_type = Some("turtle".into());
    assert!(matches!(r.validate(), Err(RuleError::MediaType { .. })));
    let mut r = RuleSpec::path("/a", "/x");
    r.cache_control = Some("max-age=1\r\nX: y".into());
    assert!(matches!(r.validate(), Err(RuleError::CacheControl(_))));
}

#[test]
fn canonical_form() {
    let mut r = RuleSpec::path("/id/café berlin", "https://Example.ORG/a b");
    r.host = Some("ID.Example.org.".into());
    let r = r.validate().unwrap();
    assert_eq!(r.kind(), Some(Kind::Path));
    assert_eq!(r.path.as_deref(), Some("/id/caf%C3%A9%20berlin"));
    assert_eq!(r.to, "https://example.org/a%20b");
    assert_eq!(r.host.as_deref(), Some("id.example.org"));
    let p = RuleSpec::pattern("/id/{name}", "/page/{name}")
        .validate()
        .unwrap();
    assert_eq!(p.to, "/page/{name}", "templates keep their placeholders");
}

#[test]
fn rules_under_the_reserved_prefix_are_refused_in_every_kind() {
    for rule in [
        RuleSpec::path("/-/healthz", "/x"),
        RuleSpec::path("/-/", "/x"),
        RuleSpec::prefix("/-/", "/x/"),
        RuleSpec::prefix("/-/api/", "/x/"),
        RuleSpec::pattern("/-/{name}", "/x/{name}"),
        RuleSpec::pattern("/-/admin/{*rest}", "/x/{rest}"),
    ] {
        let what = format!("{rule:?}");
        let err = rule.validate().unwrap_err();
        assert!(matches!(err, RuleError::BadPath { .. }), "{what}: {err:?}");
        let msg = err.to_string();
        assert!(
            msg.contains("paths under `/-/` belong to the server"),
            "{msg}"
        );
        assert!(msg.contains("could never answer"), "{msg}");
    }
    let err = RuleSpec::path("/-/id/x", "/x").validate().unwrap_err();
    assert!(err.to_string().contains("such as \"/id/x\""), "{err}");
    let mut scoped = RuleSpec::path("/-/metrics", "/x");
    scoped.host = Some("id.example.org".into());
    assert!(
        scoped.validate().is_err(),
        "a host does not make /-/ a rule's"
    );
    // Rules that answer other paths too stay allowed: `/-`, `/-x`, `/` and `/{a}/{b}` match
    // paths outside `/-/` (the server still answers `/-/…` itself).
    for ok in [
        RuleSpec::path("/-", "/x"),
        RuleSpec::path("/-x/y", "/x"),
        RuleSpec::prefix("/-", "/x"),
        RuleSpec::prefix("/", "/x/"),
        RuleSpec::pattern("/{a}/{b}", "/x/{a}/{b}"),
        RuleSpec::path("/%2D/x", "/x"),
    ] {
        let what = format!("{ok:?}");
        assert!(ok.validate().is_ok(), "{what}");
    }
}

#[test]
fn targets_that_start_with_a_host_but_no_scheme_are_refused_with_a_suggestion() {
    for (to, meant) in [
        ("example.org/d", "https://example.org/d"),
        ("example.org", "https://example.org"),
        ("www.example.org", "https://www.example.org"),
        ("WWW.Example.Org/a?b#c", "https://WWW.Example.Org/a?b#c"),
        ("example.org:8080/x", "https://example.org:8080/x"),
        ("localhost:8080/x", "https://localhost:8080/x"),
        ("id.example.co.uk?x=1", "https://id.example.co.uk?x=1"),
        ("192.0.2.1/x", "https://192.0.2.1/x"),
        ("www.example", "https://www.example"),
        ("  example.org/d ", "https://example.org/d"),
    ] {
        let err = RuleSpec::path("/a", to).validate().unwrap_err();
        assert!(
            matches!(err, RuleError::HostLikeTarget { .. }),
            "{to:?}: {err:?}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("did you mean {meant}?")),
            "{to:?}: {msg}"
        );
        assert!(msg.starts_with("`to` "), "{msg}");
    }
    // Templates and variants too, the suggestion keeping the placeholders.
    let err = RuleSpec::pattern("/id/{name}", "{name}.example.org/page")
        .validate()
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("did you mean https://{name}.example.org/page?"),
        "{err}"
    );
    let mut r = RuleSpec::path("/a", "/ok");
    r.variants = vec![Variant {
        media_type: "text/turtle".into(),
        to: "data.example.org/a.ttl".into(),
    }];
    let err = r.validate().unwrap_err();
    assert!(err.to_string().starts_with("`variants[0].to` "), "{err}");
    // Real relative references stay allowed (RFC 3986 §4.2).
    for to in [
        "/d",
        "d",
        "d/e",
        "../x",
        "./example.org/d",
        "?q",
        "#top",
        "berlin.html",
        "data/berlin.ttl",
        "v1.2/x",
        "a.b/c",
        "page.JSON?x=1",
        "//example.org/d",
        "https://example.org/d",
    ] {
        assert!(RuleSpec::path("/a", to).validate().is_ok(), "{to:?}");
    }
}

#[test]
fn targets_longer_than_8_kib_are_refused_with_length_and_limit() {
    let base = "https://example.org/";
    let fits = format!("{base}{}", "a".repeat(MAX_TARGET_LEN - base.len()));
    assert_eq!(MAX_TARGET_LEN, 8192);
    assert!(RuleSpec::path("/a", &fits).validate().is_ok());
    let over = format!("{fits}a");
    let err = RuleSpec::path("/a", &over).validate().unwrap_err();
    assert_eq!(
        err,
        RuleError::TargetTooLong {
            field: "to".into(),
            len: 8193
        }
    );
    let msg = err.to_string();
    assert!(
        msg.contains("8193 bytes long; the limit is 8192 bytes"),
        "{msg}"
    );
    // As sent: percent-encoding a space makes it three bytes.
    let spaced = format!("{base}{}x", " a".repeat(2100));
    let err = RuleSpec::path("/a", &spaced).validate().unwrap_err();
    assert!(
        matches!(err, RuleError::TargetTooLong { len, .. } if len > 8400 && spaced.len() < 8192),
        "{err:?}"
    );
    let mut r = RuleSpec::path("/a", "/ok");
    r.variants = vec![Variant {
        media_type: "text/turtle".into(),
        to: over.clone(),
    }];
    assert!(matches!(
        r.validate(),
        Err(RuleError::TargetTooLong { field, .. }) if field == "variants[0].to"
    ));
    // Huge input is refused before it is parsed.
    let huge = "/".repeat(10 << 20);
    assert!(matches!(
        RuleSpec::path("/a", &huge).validate(),
        Err(RuleError::TargetTooLong { len, .. }) if len == 10 << 20
    ));
}
