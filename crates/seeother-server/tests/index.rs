//! The index: lookup by each rule kind and the documented precedence order.

use std::sync::Arc;

use seeother_server::index::{CompiledRule, Index, normalize_host};
use seeother_server::rule::{Kind, RuleSpec};

mod support;
use support::compile;

fn on(host: &str, mut r: RuleSpec) -> RuleSpec {
    r.host = Some(host.to_owned());
    r
}

/// The id of the rule answering `path` on `host`, checked against `all_matches`.
fn answer(index: &Index, host: Option<&str>, path: &str) -> Option<i64> {
    let hit = index.lookup(host, path).map(|h| h.rule.id());
    let first = index.all_matches(host, path).first().map(|h| h.rule.id());
    assert_eq!(hit, first, "lookup and all_matches disagree for {path}");
    hit
}

#[test]
fn each_kind_matches_what_it_should() {
    let index = compile(&[
        RuleSpec::path("/id/berlin", "/a"),
        RuleSpec::prefix("/docs/", "/b/"),
        RuleSpec::pattern("/page/{name}", "/c/{name}"),
        RuleSpec::pattern("/files/{*rest}", "/d/{rest}"),
    ]);
    assert_eq!(index.len(), 4);
    assert_eq!(answer(&index, None, "/id/berlin"), Some(1));
    assert_eq!(
        answer(&index, None, "/id/berlin/"),
        None,
        "exact means exact"
    );
    assert_eq!(answer(&index, None, "/id/berli"), None);
    let hit = index.lookup(None, "/docs/a/b.html").unwrap();
    assert_eq!((hit.rule.id(), hit.remainder), (2, "a/b.html"));
    assert_eq!(
        answer(&index, None, "/docs"),
        None,
        "a prefix is a string prefix"
    );
    let hit = index.lookup(None, "/page/rome").unwrap();
    assert_eq!(hit.captures.values(), ["rome"]);
    assert_eq!(
        answer(&index, None, "/page/rome/x"),
        None,
        "{{name}} is one segment"
    );
    assert_eq!(
        answer(&index, None, "/page/"),
        None,
        "{{name}} is never empty"
    );
    let hit = index.lookup(None, "/files/a/b/c").unwrap();
    assert_eq!(hit.captures.values(), ["a/b/c"]);
    let hit = index.lookup(None, "/files").unwrap();
    assert_eq!(hit.captures.values(), [""]);
}

#[test]
fn host_scoped_rules_come_before_rules_for_any_host() {
    let index = compile(&[
        RuleSpec::path("/x", "/any"),
        on("id.example.org", RuleSpec::prefix("/", "/scoped/")),
        on("other.example.org", RuleSpec::path("/x", "/other")),
    ]);
    assert_eq!(
        answer(&index, Some("id.example.org"), "/x"),
        Some(2),
        "even a scoped prefix beats an any-host exact path"
    );
    assert_eq!(answer(&index, Some("other.example.org"), "/x"), Some(3));
    assert_eq!(answer(&index, Some("elsewhere.example"), "/x"), Some(1));
    assert_eq!(answer(&index, None, "/x"), Some(1));
    assert_eq!(
        answer(&index, Some("elsewhere.example"), "/y"),
        None,
        "scoped rules never answer another host"
    );
}

#[test]
fn exact_beats_pattern_beats_prefix() {
    let index = compile(&[
        RuleSpec::prefix("/id/", "/prefix/"),
        RuleSpec::pattern("/id/{name}", "/pattern/{name}"),
        RuleSpec::path("/id/berlin", "/exact"),
    ]);
    assert_eq!(answer(&index, None, "/id/berlin"), Some(3));
    assert_eq!(answer(&index, None, "/id/rome"), Some(2));
    assert_eq!(answer(&index, None, "/id/rome/more"), Some(1));
    let all: Vec<i64> = index
        .all_matches(None, "/id/berlin")
        .iter()
        .map(|h| h.rule.id())
        .collect();
    assert_eq!(all, [3, 2, 1]);
}

#[test]
fn longer_prefix_first() {
    let index = compile(&[
        RuleSpec::prefix("/", "/root/"),
        RuleSpec::prefix("/docs/", "/docs/"),
        RuleSpec::prefix("/docs/api/", "/api/"),
        RuleSpec::prefix("/doc", "/doc"),
    ]);
    assert_eq!(answer(&index, None, "/docs/api/v1"), Some(3));
    assert_eq!(answer(&index, None, "/docs/guide"), Some(2));
    assert_eq!(answer(&index, None, "/docsx"), Some(4));
    assert_eq!(answer(&index, None, "/other"), Some(1));
    assert_eq!(answer(&index, None, "/"), Some(1));
}

#[test]
fn patterns_rank_by_literal_segments_then_rest_then_age() {
    let index = compile(&[
        RuleSpec::pattern("/{a}/{b}", "/1"),
        RuleSpec::pattern("/id/{b}", "/2"),
        RuleSpec::pattern("/id/{*rest}", "/3"),
        RuleSpec::pattern("/{x}/berlin", "/4"),
        RuleSpec::pattern("/{*all}", "/5"),
    ]);
    // `/id/{b}` and `/{x}/berlin` both have one literal: the older (lower id) wins.
    assert_eq!(answer(&index, None, "/id/berlin"), Some(2));
    assert_eq!(answer(&index, None, "/de/berlin"), Some(4));
    assert_eq!(answer(&index, None, "/id/a/b"), Some(3));
    assert_eq!(answer(&index, None, "/de/rome"), Some(1));
    assert_eq!(answer(&index, None, "/a/b/c"), Some(5));
}

#[test]
fn changes_make_a_new_index_and_leave_the_old_one_alone() {
    let old = compile(&[RuleSpec::path("/a", "/1"), RuleSpec::prefix("/p/", "/2/")]);
    let added = RuleSpec::path("/b", "/3").validate().unwrap();
    let new = old.with_changes(
        &[(None, Kind::Prefix, "/p/".to_owned())],
        vec![Arc::new(CompiledRule::new(3, &added).unwrap())],
    );
    assert_eq!(answer(&old, None, "/p/x"), Some(2));
    assert_eq!(answer(&old, None, "/b"), None);
    assert_eq!(answer(&new, None, "/p/x"), None);
    assert_eq!(answer(&new, None, "/b"), Some(3));
    assert_eq!(answer(&new, None, "/a"), Some(1));
    assert_eq!(new.len(), 2);
}

#[test]
fn hosts_are_normalised_like_rules() {
    assert_eq!(normalize_host("ID.Example.ORG:8080"), "id.example.org");
    assert_eq!(normalize_host("id.example.org."), "id.example.org");
    assert_eq!(normalize_host("[::1]:8303"), "[::1]");
    let index = compile(&[on("ID.example.org", RuleSpec::path("/x", "/y"))]);
    assert_eq!(
        answer(&index, Some(&normalize_host("Id.Example.Org:443")), "/x"),
        Some(1)
    );
}

#[test]
fn many_prefixes_are_found_without_scanning() {
    let rules: Vec<RuleSpec> = (0..5000)
        .map(|i| RuleSpec::prefix(&format!("/p{i}/"), &format!("/t{i}/")))
        .collect();
    let index = compile(&rules);
    assert_eq!(answer(&index, None, "/p4321/rest"), Some(4322));
    assert_eq!(answer(&index, None, "/p43210/rest"), None);
}
