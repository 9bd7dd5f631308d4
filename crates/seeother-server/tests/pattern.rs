//! Patterns and target templates.

use seeother_server::rule::{Pattern, PatternError, Template};

#[test]
fn captures_and_templates() {
    let p = Pattern::parse("/id/{kind}/{name}").unwrap();
    assert_eq!(p.names().collect::<Vec<_>>(), ["kind", "name"]);
    assert_eq!(p.literal_segments(), 1);
    let caps = p.matches("/id/place/berlin").unwrap();
    let t = Template::parse("https://example.org/{kind}s/{name}.html", &p).unwrap();
    assert_eq!(
        t.render(caps.values()),
        "https://example.org/places/berlin.html"
    );
    assert!(p.matches("/id/place").is_none());
    assert!(p.matches("/id/place/berlin/x").is_none());
    assert!(p.matches("id/place/berlin").is_none());
}

#[test]
fn rest_takes_the_tail_with_slashes() {
    let p = Pattern::parse("/docs/{*rest}").unwrap();
    assert!(p.has_rest());
    assert_eq!(
        p.matches("/docs/a/b/c.html").unwrap().values(),
        ["a/b/c.html"]
    );
    assert_eq!(p.matches("/docs/").unwrap().values(), [""]);
    assert!(p.matches("/doc").is_none());
    let t = Template::parse("/manual/{*rest}", &p).unwrap();
    assert_eq!(t.render(&["x/y"]), "/manual/x/y");
}

#[test]
fn bad_patterns_are_refused_with_a_reason() {
    assert_eq!(Pattern::parse("/id/{name"), Err(PatternError::Unbalanced));
    assert_eq!(
        Pattern::parse("/id/x{name}"),
        Err(PatternError::PartialSegment("x{name}".into()))
    );
    assert_eq!(
        Pattern::parse("/{a-b}"),
        Err(PatternError::BadName("a-b".into()))
    );
    assert_eq!(
        Pattern::parse("/{a}/{a}"),
        Err(PatternError::Duplicate("a".into()))
    );
    assert_eq!(Pattern::parse("/{*a}/b"), Err(PatternError::RestNotLast));
    let p = Pattern::parse("/{a}").unwrap();
    assert_eq!(
        Template::parse("/{b}", &p),
        Err(PatternError::Unknown("b".into()))
    );
    assert!(
        PatternError::RestNotLast
            .to_string()
            .contains("last segment")
    );
}
