//! Answers: redirects built by the core, content negotiation, query handling, HEAD, 404, 410.

use http::header::{ACCEPT, CACHE_CONTROL, CONTENT_LENGTH, LINK, LOCATION, VARY};
use http::{HeaderMap, HeaderValue, Method};
use seeother_server::index::Index;
use seeother_server::resolve::{self, Outcome, Request, append_query};
use seeother_server::rule::{QueryMode, RuleSpec, Variant};

mod support;
use support::compile;

fn with_variants(mut r: RuleSpec) -> RuleSpec {
    r.variants = vec![
        Variant {
            media_type: "text/turtle".into(),
            to: "https://example.org/data/{name}.ttl".into(),
        },
        Variant {
            media_type: "application/ld+json".into(),
            to: "https://example.org/data/{name}.jsonld".into(),
        },
    ];
    r
}

struct Got {
    status: u16,
    location: Option<String>,
    headers: HeaderMap,
    body: Vec<u8>,
}

fn get(index: &Index, method: Method, target: &str, accept: Option<&str>) -> Got {
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    let mut headers = HeaderMap::new();
    if let Some(a) = accept {
        headers.insert(ACCEPT, HeaderValue::from_str(a).unwrap());
    }
    let answer = resolve::answer(
        index,
        &Request {
            method: &method,
            host: None,
            path,
            query,
            headers: &headers,
        },
    );
    let r = answer.reply.into_response();
    Got {
        status: r.status().as_u16(),
        location: r
            .headers()
            .get(LOCATION)
            .map(|v| v.to_str().unwrap().to_owned()),
        headers: r.headers().clone(),
        body: r.body().to_bytes().to_vec(),
    }
}

#[test]
fn negotiation_default_wins_unless_a_variant_is_preferred() {
    let index = compile(&[with_variants(RuleSpec::pattern(
        "/id/{name}",
        "https://example.org/page/{name}",
    ))]);
    let loc = |accept: Option<&str>| {
        get(&index, Method::GET, "/id/berlin", accept)
            .location
            .unwrap()
    };
    let page = "https://example.org/page/berlin";
    let ttl = "https://example.org/data/berlin.ttl";
    assert_eq!(loc(None), page, "no Accept: the default");
    assert_eq!(loc(Some("*/*")), page, "curl: the default");
    assert_eq!(
        loc(Some(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        )),
        page,
        "a browser: the default"
    );
    assert_eq!(loc(Some("text/turtle")), ttl);
    assert_eq!(loc(Some("text/turtle, text/html;q=0.5")), ttl);
    assert_eq!(
        loc(Some("application/ld+json;q=0.9, text/turtle;q=0.8")),
        "https://example.org/data/berlin.jsonld"
    );
    assert_eq!(
        loc(Some("text/*")),
        page,
        "a wildcard tie goes to the default"
    );
    assert_eq!(
        loc(Some("text/turtle;q=0, */*")),
        page,
        "q=0 refuses turtle"
    );
    assert_eq!(
        loc(Some("text/html;q=0, text/turtle;q=0.1")),
        ttl,
        "q=0 refuses the default"
    );
    assert_eq!(
        loc(Some("image/png")),
        page,
        "nothing acceptable: the default"
    );
    let got = get(&index, Method::GET, "/id/berlin", Some("text/turtle"));
    assert_eq!(got.headers.get(VARY).unwrap(), "Accept");
}

#[test]
fn exact_rules_with_variants_use_prebuilt_answers_per_variant() {
    let mut rule = with_variants(RuleSpec::path(
        "/id/berlin",
        "https://example.org/page/berlin",
    ));
    for v in &mut rule.variants {
        v.to = v.to.replace("{name}", "berlin");
    }
    let index = compile(&[rule]);
    for _ in 0..2 {
        assert_eq!(
            get(&index, Method::GET, "/id/berlin", Some("text/turtle"))
                .location
                .unwrap(),
            "https://example.org/data/berlin.ttl"
        );
        assert_eq!(
            get(&index, Method::GET, "/id/berlin", None)
                .location
                .unwrap(),
            "https://example.org/page/berlin"
        );
    }
}

#[test]
fn every_method_gets_the_redirect_and_head_no_body() {
    let index = compile(&[RuleSpec::path("/id/x", "https://example.org/x")]);
    for m in [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::OPTIONS,
        Method::PATCH,
    ] {
        let got = get(&index, m.clone(), "/id/x", None);
        assert_eq!(got.status, 303, "{m}");
        assert_eq!(got.location.as_deref(), Some("https://example.org/x"));
        let body = String::from_utf8(got.body).unwrap();
        assert!(
            body.contains("href=\"https://example.org/x\""),
            "{m}: the note links the target"
        );
    }
    let head = get(&index, Method::HEAD, "/id/x", None);
    assert_eq!(head.status, 303);
    assert!(head.body.is_empty());
    let get_len = get(&index, Method::GET, "/id/x", None)
        .headers
        .get(CONTENT_LENGTH)
        .cloned();
    assert_eq!(
        head.headers.get(CONTENT_LENGTH).cloned(),
        get_len,
        "HEAD has GET's header fields"
    );
}

#[test]
fn statuses_cache_control_and_describedby() {
    let mut r = RuleSpec::path("/a", "https://example.org/a");
    r.status = 308;
    r.cache_control = Some("max-age=3600".into());
    r.described_by = true;
    let index = compile(&[r]);
    let got = get(&index, Method::GET, "/a", None);
    assert_eq!(got.status, 308);
    assert_eq!(got.headers.get(CACHE_CONTROL).unwrap(), "max-age=3600");
    assert_eq!(
        got.headers.get(LINK).unwrap(),
        "<https://example.org/a>; rel=\"describedby\""
    );
    for code in [301, 302, 307] {
        let mut r = RuleSpec::path("/b", "/c");
        r.status = code;
        assert_eq!(get(&compile(&[r]), Method::GET, "/b", None).status, code);
    }
}

#[test]
fn query_is_appended_or_dropped() {
    let mut drop = RuleSpec::prefix("/drop/", "https://example.org/d/");
    drop.query = QueryMode::Drop;
    let index = compile(&[
        RuleSpec::path("/a", "https://example.org/a"),
        RuleSpec::path("/b", "https://example.org/b?lang=en#top"),
        drop,
        RuleSpec::prefix("/p/", "https://example.org/p/"),
    ]);
    let loc = |t: &str| get(&index, Method::GET, t, None).location.unwrap();
    assert_eq!(loc("/a?x=1&y=2"), "https://example.org/a?x=1&y=2");
    assert_eq!(loc("/a"), "https://example.org/a");
    assert_eq!(loc("/b?x=1"), "https://example.org/b?lang=en&x=1#top");
    assert_eq!(loc("/drop/z?x=1"), "https://example.org/d/z");
    assert_eq!(loc("/p/q/r?s"), "https://example.org/p/q/r?s");
    let mut t = String::from("/x#f");
    append_query(&mut t, "a=b");
    assert_eq!(t, "/x?a=b#f");
}

#[test]
fn unknown_is_404_and_tombstone_is_410_with_pages() {
    let mut gone = RuleSpec::path("/old", "https://example.org/old");
    gone.gone = true;
    let index = compile(&[gone]);
    let got = get(&index, Method::GET, "/nothing<script>", None);
    assert_eq!(got.status, 404);
    let body = String::from_utf8(got.body).unwrap();
    assert!(
        body.contains("/nothing&lt;script&gt;"),
        "the path is escaped: {body}"
    );
    let got = get(&index, Method::GET, "/old", None);
    assert_eq!(got.status, 410);
    assert!(got.location.is_none());
    let head = get(&index, Method::HEAD, "/old", None);
    assert_eq!(head.status, 410);
    assert!(head.body.is_empty());
    assert!(head.headers.get(CONTENT_LENGTH).is_some());
}

#[test]
fn captures_fill_targets_and_stay_encoded() {
    let index = compile(&[RuleSpec::pattern("/id/{name}", "/page/{name}")]);
    let headers = HeaderMap::new();
    let answer = resolve::answer(
        &index,
        &Request {
            method: &Method::GET,
            host: None,
            path: "/id/caf%C3%A9",
            query: None,
            headers: &headers,
        },
    );
    assert!(matches!(
        answer.outcome,
        Outcome::Redirect { variant: 0, .. }
    ));
    assert_eq!(
        answer.reply.into_response().headers()[LOCATION],
        "/page/caf%C3%A9"
    );
}

#[test]
fn rules_past_the_prebuilt_limit_answer_the_same() {
    let n = seeother_server::index::PREBUILT_LIMIT + 500;
    let rules: Vec<RuleSpec> = (0..n)
        .map(|i| RuleSpec::path(&format!("/r{i}"), &format!("https://example.org/{i}")))
        .collect();
    let index = compile(&rules);
    for round in 0..2 {
        for i in (0..n).rev() {
            let got = get(&index, Method::GET, &format!("/r{i}"), None);
            assert_eq!(got.status, 303);
            assert_eq!(
                got.location.as_deref(),
                Some(format!("https://example.org/{i}").as_str()),
                "rule {i}, round {round}"
            );
            assert!(!got.body.is_empty());
        }
    }
}
