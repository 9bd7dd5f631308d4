//! Rule validation: hostile or malformed rules never reach the store.

use seeother_server::rule::{Kind, RuleError, RuleSpec, Variant};

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
