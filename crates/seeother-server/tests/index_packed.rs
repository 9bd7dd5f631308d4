//! The index's two halves: plain rules packed into one table, the others compiled, and the
//! changes made after packing. Lookups must not tell them apart.

use std::sync::Arc;

use seeother_server::index::{CompiledRule, Index, Rule, RuleParts, repack_limit};
use seeother_server::rule::{Kind, RuleSpec};

mod support;
use support::{compile, compile_unsized};

fn compiled(id: i64, rule: RuleSpec) -> Arc<CompiledRule> {
    Arc::new(CompiledRule::new(id, &rule.validate().expect("valid rule")).expect("compiles"))
}

fn cached(mut r: RuleSpec) -> RuleSpec {
    r.cache_control = Some("max-age=60".to_owned());
    r
}

fn on(host: &str, mut r: RuleSpec) -> RuleSpec {
    r.host = Some(host.to_owned());
    r
}

/// The id answering `path` on `host`, and whether that rule is packed.
fn answer(index: &Index, host: Option<&str>, path: &str) -> Option<(i64, bool)> {
    let hit = index.lookup(host, path)?;
    let first = index.all_matches(host, path).first().map(|h| h.rule.id());
    assert_eq!(
        Some(hit.rule.id()),
        first,
        "lookup and all_matches disagree"
    );
    Some((hit.rule.id(), matches!(hit.rule, Rule::Packed(_))))
}

#[test]
fn plain_rules_are_packed_and_the_others_compiled() {
    let index = compile(&[
        RuleSpec::path("/id/a", "https://example.org/a"),
        RuleSpec::prefix("/docs/", "/d/"),
        cached(RuleSpec::path("/id/b", "/b")),
        RuleSpec::pattern("/p/{x}", "/q/{x}"),
    ]);
    assert_eq!(index.len(), 4);
    assert_eq!(answer(&index, None, "/id/a"), Some((1, true)));
    assert_eq!(answer(&index, None, "/docs/x"), Some((2, true)));
    assert_eq!(answer(&index, None, "/id/b"), Some((3, false)));
    assert_eq!(answer(&index, None, "/p/y"), Some((4, false)));
    assert_eq!(index.rules().count(), 4);
    let rule = index.get(None, Kind::Prefix, "/docs/").expect("filed");
    assert_eq!(
        (rule.id(), rule.matcher(), rule.host()),
        (2, "/docs/", None)
    );
}

#[test]
fn packed_and_compiled_prefixes_compete_by_length() {
    let index = compile(&[
        RuleSpec::prefix("/a/", "/packed-short/"),
        cached(RuleSpec::prefix("/a/b/", "/compiled-long/")),
        cached(RuleSpec::prefix("/c/", "/compiled-short/")),
        RuleSpec::prefix("/c/d/", "/packed-long/"),
    ]);
    assert_eq!(answer(&index, None, "/a/b/x"), Some((2, false)));
    assert_eq!(answer(&index, None, "/a/x"), Some((1, true)));
    assert_eq!(answer(&index, None, "/c/d/x"), Some((4, true)));
    assert_eq!(answer(&index, None, "/c/x"), Some((3, false)));
    let all: Vec<i64> = index
        .all_matches(None, "/a/b/x")
        .iter()
        .map(|h| h.rule.id())
        .collect();
    assert_eq!(all, [2, 1], "every match, longest prefix first");
}

#[test]
fn a_host_scoped_packed_rule_beats_a_compiled_rule_for_any_host() {
    let index = compile(&[
        cached(RuleSpec::path("/x", "/any")),
        on("id.example.org", RuleSpec::path("/x", "/scoped")),
    ]);
    assert_eq!(
        answer(&index, Some("id.example.org"), "/x"),
        Some((2, true))
    );
    assert_eq!(
        answer(&index, Some("other.example"), "/x"),
        Some((1, false))
    );
    assert_eq!(answer(&index, None, "/x"), Some((1, false)));
    let rule = index.get(Some("id.example.org"), Kind::Path, "/x").unwrap();
    assert_eq!(rule.host(), Some("id.example.org"));
}

#[test]
fn a_later_rule_replaces_an_earlier_one_in_either_half() {
    // Packed, then compiled with the same key: the compiled one answers.
    let index = compile(&[
        RuleSpec::path("/x", "/1"),
        cached(RuleSpec::path("/x", "/2")),
    ]);
    assert_eq!(answer(&index, None, "/x"), Some((2, false)));
    assert_eq!(index.len(), 1);
    // Compiled, then packed: the packed one answers.
    let index = compile(&[
        cached(RuleSpec::path("/x", "/1")),
        RuleSpec::path("/x", "/2"),
    ]);
    assert_eq!(answer(&index, None, "/x"), Some((2, true)));
    assert_eq!(index.len(), 1);
}

#[test]
fn changing_a_packed_rule_hides_it_and_keeps_the_old_index_intact() {
    let old = compile(&[RuleSpec::path("/a", "/1"), RuleSpec::path("/b", "/2")]);
    let key = |m: &str| (None, Kind::Path, m.to_owned());
    // Update /a (same id), delete /b.
    let new = old.with_changes(
        &[key("/a"), key("/b")],
        vec![compiled(1, RuleSpec::path("/a", "/1-new"))],
    );
    assert_eq!(answer(&new, None, "/a"), Some((1, false)));
    assert_eq!(answer(&new, None, "/b"), None);
    assert!(new.get(None, Kind::Path, "/b").is_none());
    assert_eq!(new.len(), 1);
    assert_eq!(new.rules().count(), 1);
    assert_eq!(
        answer(&old, None, "/b"),
        Some((2, true)),
        "old index unchanged"
    );
    // Deleted, then created again.
    let again = new.with_changes(&[], vec![compiled(3, RuleSpec::path("/b", "/3"))]);
    assert_eq!(answer(&again, None, "/b"), Some((3, false)));
    assert_eq!(again.len(), 2);
}

/// The hits taken from `index`, as (rule id, hits).
fn taken(index: &Index) -> Vec<(i64, u64)> {
    let mut hits = Vec::new();
    index.take_hits(&mut hits);
    hits.into_iter().map(|c| (c.id, c.hits)).collect()
}

#[test]
fn hits_are_taken_once_and_only_for_rules_asked_for() {
    let rules: Vec<RuleSpec> = (0..200)
        .map(|i| RuleSpec::path(&format!("/id/{i}"), &format!("/t/{i}")))
        .chain([cached(RuleSpec::path("/c", "/c"))])
        .collect();
    let index = compile(&rules);
    for _ in 0..3 {
        index.lookup(None, "/id/7").unwrap().rule.hit();
    }
    index.lookup(None, "/id/150").unwrap().rule.hit();
    index.lookup(None, "/c").unwrap().rule.hit();
    let mut hits = taken(&index);
    hits.sort();
    assert_eq!(hits, [(8, 3), (151, 1), (201, 1)]);
    let hits = taken(&index);
    assert!(hits.is_empty(), "taken once: {hits:?}");
    // Given back after a failed flush: counted again.
    index.get(None, Kind::Path, "/id/7").unwrap().add_hits(3);
    assert_eq!(taken(&index), [(8, 3)]);
}

#[test]
fn past_the_limit_changed_rules_are_packed_again_with_their_counts() {
    let n = 100;
    let mut index = compile(
        &(0..n)
            .map(|i| RuleSpec::path(&format!("/id/{i}"), &format!("/old/{i}")))
            .collect::<Vec<_>>(),
    );
    index.lookup(None, "/id/1").unwrap().rule.hit();
    let limit = repack_limit(n);
    let mut changed = 0;
    // Update every rule, then add new ones, one change at a time, until a repack happens.
    while changed <= limit {
        let i = changed;
        let path = format!("/id/{i}");
        let removed = if i < n {
            vec![(None, Kind::Path, path.clone())]
        } else {
            vec![]
        };
        let rule = compiled(i as i64 + 1, RuleSpec::path(&path, &format!("/new/{i}")));
        // The counts of the rule replaced given to its successor, to follow them through
        // the repack.
        if let Some(old) = index.get(None, Kind::Path, &path) {
            rule.add_hits(old.take_hits());
        }
        index = index.with_changes(&removed, vec![rule]);
        changed += 1;
        if index.loose() == 0 {
            break;
        }
    }
    assert_eq!(index.loose(), 0, "repacked after {changed} changes");
    assert!(
        changed > limit,
        "not before the limit ({changed} ≤ {limit})"
    );
    assert_eq!(index.len(), changed.max(n));
    for i in [0, 1, n - 1, changed - 1] {
        let path = format!("/id/{i}");
        let hit = index.lookup(None, &path).expect("still there");
        assert!(matches!(hit.rule, Rule::Packed(_)), "rule {i} packed again");
    }
    assert_eq!(
        taken(&index),
        [(2, 1)],
        "counts carried through the change and the repack"
    );
}

#[test]
fn a_stored_target_not_in_wire_form_is_still_sent_right_and_a_broken_one_is_a_500() {
    use http::{HeaderMap, Method};
    use seeother_server::resolve::{self, Outcome, Request};
    // Rows edited in the store by hand, never validated.
    let raw = |id, matcher, to| RuleParts {
        id,
        kind: Kind::Path,
        host: None,
        matcher,
        to,
        status: 303,
        query: Default::default(),
        default_type: None,
        variants: Default::default(),
        cache_control: None,
        described_by: false,
        gone: false,
        group: None,
    };
    let index = Index::build([
        raw(1, "/spaced", "/a b"),
        raw(2, "/script", "javascript:alert(1)"),
    ])
    .expect("packs");
    let headers = HeaderMap::new();
    let ask = |path| {
        resolve::answer(
            &index,
            &Request {
                method: &Method::GET,
                host: None,
                path,
                query: None,
                headers: &headers,
            },
        )
    };
    for _ in 0..2 {
        // Twice: the first request checks the target, the second uses what it found.
        let r = ask("/spaced").reply.into_response();
        assert_eq!(r.headers()["location"], "/a%20b");
        assert!(String::from_utf8_lossy(&r.body().to_bytes()).contains("/a%20b"));
        let a = ask("/script");
        assert_eq!(a.reply.status(), 500);
        assert!(matches!(a.outcome, Outcome::BrokenTarget { .. }));
    }
}

#[test]
fn every_rule_of_a_large_table_is_found_and_nothing_else() {
    // Enough rules that many share a home place in the open-addressed table and probes run
    // past records of other homes; statuses and hosts vary so records differ beyond text.
    let statuses = [303, 301, 302, 307, 308];
    let mut rules = Vec::new();
    for i in 0..20_000 {
        let mut r = RuleSpec::path(&format!("/id/{i}"), &format!("https://example.org/{i}"));
        r.status = statuses[i % statuses.len()];
        rules.push(if i % 7 == 0 { on("a.example", r) } else { r });
    }
    for i in 0..2_000 {
        rules.push(RuleSpec::prefix(
            &format!("/c/{i}/"),
            &format!("https://example.org/c{i}/"),
        ));
    }
    let index = compile(&rules);
    assert_eq!(index.len(), 22_000);
    for i in 0..20_000 {
        let path = format!("/id/{i}");
        let host = (i % 7 == 0).then_some("a.example");
        let hit = index
            .lookup(host, &path)
            .expect("every exact rule is found");
        assert_eq!(hit.rule.id(), i as i64 + 1);
        assert!(matches!(hit.rule, Rule::Packed(_)));
        assert_eq!(
            hit.rule.status().code().as_u16(),
            statuses[i % statuses.len()]
        );
        // The same path on another host, and near misses, find nothing.
        if host.is_some() {
            assert!(index.lookup(None, &path).is_none(), "{path} on any host");
        }
        assert!(index.lookup(host, &format!("{path}x")).is_none());
        assert!(index.lookup(host, &format!("/id/{}", i + 20_000)).is_none());
    }
    for i in 0..2_000 {
        let path = format!("/c/{i}/rest");
        let hit = index
            .lookup(None, &path)
            .expect("every prefix rule is found");
        assert_eq!(hit.rule.id(), 20_000 + i as i64 + 1);
    }
    assert!(index.lookup(None, "/c/2000/rest").is_none());
    assert_eq!(index.rules().count(), 22_000);
}

#[test]
fn rules_replaced_while_packing_leave_nothing_behind() {
    // Every tenth path is given again later: the later rule answers, and the table counts
    // each path once.
    let mut rules: Vec<RuleSpec> = (0..5_000)
        .map(|i| RuleSpec::path(&format!("/id/{i}"), &format!("https://example.org/{i}")))
        .collect();
    for i in (0..5_000).step_by(10) {
        rules.push(RuleSpec::path(
            &format!("/id/{i}"),
            &format!("https://example.org/new/{i}"),
        ));
    }
    let index = compile(&rules);
    assert_eq!(index.len(), 5_000);
    assert_eq!(index.rules().count(), 5_000);
    for i in 0..5_000 {
        let path = format!("/id/{i}");
        let hit = index.lookup(None, &path).expect("found");
        let want = if i % 10 == 0 {
            5_000 + i as i64 / 10 + 1
        } else {
            i as i64 + 1
        };
        assert_eq!(hit.rule.id(), want, "{path}");
    }
}

#[test]
fn a_table_built_without_knowing_its_size_grows_and_keeps_every_rule() {
    let mut rules: Vec<RuleSpec> = (0..6_000)
        .map(|i| RuleSpec::path(&format!("/id/{i}"), &format!("https://example.org/{i}")))
        .collect();
    rules.extend(
        (0..600)
            .map(|i| RuleSpec::prefix(&format!("/c/{i}/"), &format!("https://example.org/c{i}/"))),
    );
    // Given again after the table has grown several times.
    rules.push(RuleSpec::path("/id/7", "https://example.org/seven"));
    let index = compile_unsized(&rules);
    assert_eq!(index.len(), 6_600);
    assert_eq!(index.rules().count(), 6_600);
    for i in 0..6_000 {
        let path = format!("/id/{i}");
        let hit = index
            .lookup(None, &path)
            .expect("every exact rule is found");
        let want = if i == 7 { 6_601 } else { i as i64 + 1 };
        assert_eq!(hit.rule.id(), want, "{path}");
    }
    for i in 0..600 {
        let path = format!("/c/{i}/x");
        let hit = index
            .lookup(None, &path)
            .expect("every prefix rule is found");
        assert_eq!(hit.rule.id(), 6_000 + i as i64 + 1, "{path}");
    }
    assert!(index.lookup(None, "/id/6000").is_none());
}

#[test]
fn huge_pages_are_asked_for_once_per_table_and_change_nothing() {
    // 100,000 rules: several MiB of text and records, so whole huge pages lie inside them.
    let target = |i: usize| format!("https://catalogue.example.org/works/{i:012}");
    let rules: Vec<RuleSpec> = (0..100_000)
        .map(|i| RuleSpec::path(&format!("/id/work/{i:012}"), &target(i)))
        .collect();
    let index = compile(&rules);
    assert!(
        index.collapse_huge_pages() >= 2 << 20,
        "at least one huge page asked for"
    );
    assert_eq!(index.collapse_huge_pages(), 0, "once per table");
    // A later version of the index shares the table, and so its huge pages.
    let next = index.with_changes(
        &[],
        vec![compiled(
            100_001,
            RuleSpec::path("/new", "https://example.org/new"),
        )],
    );
    assert_eq!(next.collapse_huge_pages(), 0);
    for i in (0..100_000).step_by(7) {
        let path = format!("/id/work/{i:012}");
        let hit = index.lookup(None, &path).expect("found after collapsing");
        assert_eq!((hit.rule.id(), hit.rule.matcher()), (i as i64 + 1, &*path));
    }
    assert!(next.lookup(None, "/new").is_some());
}

#[test]
fn of_two_packed_rules_with_one_key_the_later_answers_in_a_table_of_any_size() {
    // Rule ids are their places in the list, from 1. 150,000 rules, then a second rule for
    // every 1,000th key: the table is built in runs of many rules (the builder's list shrinks
    // as it is placed), and a key's two rules meet wherever they fall.
    let mut rules: Vec<RuleSpec> = (0..150_000)
        .map(|i| RuleSpec::path(&format!("/k/{i}"), &format!("/first/{i}")))
        .collect();
    rules.extend(
        (0..150_000)
            .step_by(1000)
            .map(|i| RuleSpec::path(&format!("/k/{i}"), &format!("/second/{i}"))),
    );
    let index = compile(&rules);
    assert_eq!(index.len(), 150_000);
    for i in (0..150_000).step_by(1000) {
        let second = 150_000 + i / 1000 + 1;
        assert_eq!(
            answer(&index, None, &format!("/k/{i}")),
            Some((second as i64, true))
        );
    }
    assert_eq!(answer(&index, None, "/k/1"), Some((2, true)));
    assert_eq!(answer(&index, None, "/k/149999"), Some((150_000, true)));
}
