//! Rule-group steps run on a request: the mod_rewrite flags a step carries (`again` for N,
//! `chain` for C, `escape` for B), each against what the Apache documentation says.

use http::{HeaderMap, Method};
use seeother_core::respond::RedirectStatus;
use seeother_server::group::{self, Decision, Facts};
use seeother_server::rule::{CompiledGroup, Escape, SetVar, Step};

fn step(regex: &str, to: &str) -> Step {
    Step {
        regex: regex.to_owned(),
        to: to.to_owned(),
        ..Step::default()
    }
}

fn redirect(regex: &str, to: &str) -> Step {
    Step {
        status: Some(302),
        last: true,
        ..step(regex, to)
    }
}

fn run(steps: &[Step], path: &str, query: Option<&str>) -> Decision {
    let group = CompiledGroup::new("/d/", steps, &[], false, None, &[], &[]).expect("compiles");
    let headers = HeaderMap::new();
    let facts = Facts {
        method: &Method::GET,
        headers: &headers,
        query,
        host: Some("example.org"),
        path,
        scheme: "https",
    };
    group::run(&group, "/d/", &facts, false)
}

fn to(location: &str) -> Decision {
    Decision::Redirect {
        status: RedirectStatus::Found,
        location: location.to_owned(),
        as_written: false,
    }
}

/// A redirect sent as written (the step has `raw`: mod_rewrite's `NE`).
fn as_written(location: &str) -> Decision {
    Decision::Redirect {
        status: RedirectStatus::Found,
        location: location.to_owned(),
        as_written: true,
    }
}

#[test]
fn escape_encodes_the_captures_only() {
    // mod_rewrite: RewriteRule flags, [B]: backreferences are escaped before they are put into
    // the substitution; letters, digits and `_` stay, a space becomes `+`, the rest `%hh`.
    let b = Step {
        escape: Some(Escape::default()),
        raw: true,
        ..redirect("^(.*)$", "https://x.example/r?uri=https://w3id.org/d/{1}")
    };
    assert_eq!(
        run(std::slice::from_ref(&b), "/d/a%20b/c_d.e", None),
        as_written("https://x.example/r?uri=https://w3id.org/d/a+b%2fc_d%2ee")
    );
    // [BNP]: a space as %20; [B=chars]: only those; [BNE=chars]: never those.
    let only = Step {
        escape: Some(Escape {
            only: Some("/ ".to_owned()),
            no_plus: true,
            ..Escape::default()
        }),
        ..b.clone()
    };
    assert_eq!(
        run(&[only], "/d/a%20b/c_d.e", None),
        as_written("https://x.example/r?uri=https://w3id.org/d/a%20b%2fc_d.e")
    );
    let keep = Step {
        escape: Some(Escape {
            keep: Some("/".to_owned()),
            ..Escape::default()
        }),
        ..b.clone()
    };
    assert_eq!(
        run(&[keep], "/d/a/b.c", None),
        as_written("https://x.example/r?uri=https://w3id.org/d/a/b%2ec")
    );
    // [BCTLS]: only control characters and the space.
    let controls = Step {
        escape: Some(Escape {
            controls: true,
            ..Escape::default()
        }),
        ..b.clone()
    };
    assert_eq!(
        run(&[controls], "/d/a%20b/c.d", None),
        as_written("https://x.example/r?uri=https://w3id.org/d/a+b/c.d")
    );
    // A condition's capture (%N) is escaped too; one in a test is not.
    let cond = Step {
        when: vec![seeother_server::rule::Condition {
            test: "{query}".to_owned(),
            regex: "^q=(.*)$".to_owned(),
            ..Default::default()
        }],
        escape: Some(Escape::default()),
        raw: true,
        ..redirect("^$", "https://x.example/s?q={%1}")
    };
    assert_eq!(
        run(&[cond], "/d/", Some("q=a/b")),
        as_written("https://x.example/s?q=a%2fb")
    );
    // Without the flag, the capture goes in as it is.
    let plain = Step { escape: None, ..b };
    assert_eq!(
        run(&[plain], "/d/a/b", None),
        as_written("https://x.example/r?uri=https://w3id.org/d/a/b")
    );
}

#[test]
fn again_runs_the_steps_from_the_first_on_the_result() {
    // mod_rewrite: RewriteRule flags, [N]: "the rewriting process starts over, beginning
    // with the first rule", on the result of the last rewrite. One upper-case letter is
    // lowered per round, as w3id.org's isil rules do.
    let lower = |c: char| {
        step(
            &format!("^(.*){c}(.*)$"),
            &format!("{{1}}{}{{2}}", c.to_ascii_lowercase()),
        )
    };
    let steps = vec![
        lower('A'),
        lower('B'),
        Step {
            again: true,
            ..step("[A-Z]", "-")
        },
        redirect("^(.*)$", "https://x.example/{1}"),
    ];
    assert_eq!(run(&steps, "/d/ABBA", None), to("https://x.example/abba"));
    // A variable set in one round is there in the next.
    let steps = vec![
        Step {
            set: vec![SetVar {
                name: "SEEN".to_owned(),
                value: "yes".to_owned(),
            }],
            ..step("^x(.*)$", "{1}")
        },
        Step {
            again: true,
            ..step("^x", "-")
        },
        redirect("^(.*)$", "https://x.example/{1}?seen={env:SEEN}"),
    ];
    assert_eq!(
        run(&steps, "/d/xxxk", None),
        to("https://x.example/k?seen=yes")
    );
    // A loop that never ends answers 500, as mod_rewrite does past its number of rounds.
    let steps = vec![Step {
        again: true,
        ..step("^", "-")
    }];
    assert_eq!(run(&steps, "/d/a", None), Decision::Loop);
    // [L] stops before [N] would start a round.
    let steps = vec![
        Step {
            again: true,
            last: true,
            ..step("^a$", "b")
        },
        redirect("^b$", "https://x.example/never"),
    ];
    assert_eq!(
        run(&steps, "/d/a", None),
        Decision::Rewrite {
            path: "/d/b".to_owned(),
            query: None
        }
    );
}

#[test]
fn chain_takes_the_chained_steps_along_when_a_step_does_not_apply() {
    // mod_rewrite: RewriteRule flags, [C]: "if the rule does not match, then all following
    // chained rules are skipped" — up to and including the first without C.
    let steps = vec![
        Step {
            chain: true,
            ..step("^a(.*)$", "b{1}")
        },
        Step {
            chain: true,
            ..step("^b(.*)$", "c{1}")
        },
        step("^c(.*)$", "d{1}"),
        redirect("^(.*)$", "https://x.example/{1}"),
    ];
    // The first applies: the chain runs.
    assert_eq!(run(&steps, "/d/a1", None), to("https://x.example/d1"));
    // The first does not apply: the two chained to it are skipped, whatever they match.
    assert_eq!(run(&steps, "/d/b1", None), to("https://x.example/b1"));
    assert_eq!(run(&steps, "/d/c1", None), to("https://x.example/c1"));
    // A step in the middle that does not apply skips the rest of the chain only.
    let steps = vec![
        Step {
            chain: true,
            ..step("^a(.*)$", "a{1}x")
        },
        Step {
            chain: true,
            ..step("^never$", "-")
        },
        step("^(.*)$", "skipped"),
        redirect("^(.*)$", "https://x.example/{1}"),
    ];
    assert_eq!(run(&steps, "/d/a1", None), to("https://x.example/a1x"));
    // A condition that fails counts as the step not applying.
    let steps = vec![
        Step {
            chain: true,
            when: vec![seeother_server::rule::Condition {
                test: "{query}".to_owned(),
                regex: "^yes$".to_owned(),
                ..Default::default()
            }],
            ..step("^(.*)$", "{1}-q")
        },
        step("^(.*)$", "{1}-chained"),
        redirect("^(.*)$", "https://x.example/{1}"),
    ];
    assert_eq!(
        run(&steps, "/d/k", Some("yes")),
        to("https://x.example/k-q-chained?yes")
    );
    assert_eq!(
        run(&steps, "/d/k", Some("no")),
        to("https://x.example/k?no")
    );
}

#[test]
fn later_steps_see_the_path_info_after_a_rewrite() {
    // mod_rewrite: RewriteRule, per-directory: "the URI each RewriteRule compares against is
    // the concatenation of the current values of the URI and PATH_INFO"; the path info (what
    // follows the first segment, which names no file) stays when a rule rewrites the URI,
    // unless [DPI] discards it. As w3id.org's biolink rules rely on.
    let steps = vec![
        step("^vocab/(.*)$", "model/docs"),
        redirect("^(.*)$", "https://x.example/{1}"),
    ];
    assert_eq!(
        run(&steps, "/d/vocab/a/b", None),
        to("https://x.example/model/docs/a/b")
    );
    assert_eq!(
        run(&steps, "/d/vocab/", None),
        to("https://x.example/model/docs/")
    );
    assert_eq!(
        run(&steps, "/d/vocabx", None),
        to("https://x.example/vocabx")
    );
    let discard = vec![
        Step {
            discard_info: true,
            ..step("^vocab/(.*)$", "model/docs")
        },
        redirect("^(.*)$", "https://x.example/{1}"),
    ];
    assert_eq!(
        run(&discard, "/d/vocab/a/b", None),
        to("https://x.example/model/docs")
    );
    // The result of the steps is the URI alone: a rewrite does not keep the path info.
    let rewrite = vec![step("^vocab/(.*)$", "model/{1}")];
    assert_eq!(
        run(&rewrite, "/d/vocab/a", None),
        Decision::Rewrite {
            path: "/d/model/a".to_owned(),
            query: None
        }
    );
}

#[test]
fn dot_segments_are_removed_before_the_steps_match() {
    // core: ap_normalize_path, as RFC 3986 §5.2.4 removes dot segments: "/d/docs/." is
    // "/d/docs/".
    let steps = vec![redirect("^docs/(.*)$", "https://x.example/k-{1}")];
    assert_eq!(run(&steps, "/d/docs/.", None), to("https://x.example/k-"));
    assert_eq!(
        run(&steps, "/d/docs/a/../b", None),
        to("https://x.example/k-b")
    );
    assert_eq!(
        run(&steps, "/d/x/../docs/./c/.", None),
        to("https://x.example/k-c/")
    );
}

#[test]
fn the_host_header_field_is_the_host_the_request_is_for() {
    // mod_rewrite: %{HTTP_HOST}; RFC 9110 §7.2: the host may come without a Host field (the
    // target's authority), and the request's host is what it names.
    let steps = vec![redirect(
        "^(.*)$",
        "https://x.example/?iri=http://{header:host}/d/{1}",
    )];
    assert_eq!(
        run(&steps, "/d/a", None),
        to("https://x.example/?iri=http://example.org/d/a")
    );
}

#[test]
fn a_path_that_starts_with_two_slashes_stays_a_path() {
    // mod_rewrite: a substitution starting with `/` is a path on this server; sent as `//x`
    // it would name the host x (RFC 3986 §4.2).
    let steps = [redirect("^(.*)$", "/{1}/base.rdf")];
    assert_eq!(run(&steps, "/d/", None), to("/.//base.rdf"));
}

/// `steps` run on `path` with the filter of a large group and without it: the same answer.
fn run_both(steps: &[Step], path: &str) -> Decision {
    let group = CompiledGroup::new("/d/", steps, &[], false, None, &[], &[]).expect("compiles");
    assert!(group.filter.is_some(), "a group of {} steps", steps.len());
    let mut plain = group.clone();
    plain.filter = None;
    let headers = HeaderMap::new();
    let facts = Facts {
        method: &Method::GET,
        headers: &headers,
        query: None,
        host: Some("example.org"),
        path,
        scheme: "https",
    };
    let filtered = group::run(&group, "/d/", &facts, false);
    assert_eq!(filtered, group::run(&plain, "/d/", &facts, false), "{path}");
    filtered
}

fn fillers(n: usize) -> Vec<Step> {
    (0..n)
        .map(|i| redirect(&format!("^other{i}/?$"), &format!("https://x.example/o{i}")))
        .collect()
}

#[test]
fn a_large_group_tries_only_the_steps_that_can_match_in_their_order() {
    let mut steps = vec![Step {
        nocase: true,
        ..redirect(r"^item/(\d+)$", "https://x.example/first/{1}")
    }];
    steps.extend(fillers(10));
    // A step nothing is known of (no literal start) still runs in its place.
    steps.push(redirect("^(.*)/$", "https://x.example/dir/{1}"));
    steps.push(redirect("^item/", "https://x.example/late"));
    steps.push(Step {
        nocase: true,
        ..redirect("^k$", "https://x.example/k")
    });
    steps.push(Step {
        negate: true,
        ..redirect("^keep", "https://x.example/negated")
    });
    // Case-insensitive, with captures: the first step wins over the later one.
    assert_eq!(
        run_both(&steps, "/d/ITEM/7"),
        to("https://x.example/first/7")
    );
    assert_eq!(run_both(&steps, "/d/item/x"), to("https://x.example/late"));
    // First match wins: the catch-all before the later step that also matches.
    assert_eq!(
        run_both(&steps, "/d/item/x/"),
        to("https://x.example/dir/item/x")
    );
    assert_eq!(run_both(&steps, "/d/other3/"), to("https://x.example/o3"));
    assert_eq!(run_both(&steps, "/d/zzz"), to("https://x.example/negated"));
    assert_eq!(run_both(&steps, "/d/keep"), Decision::NoMatch);
    // A path that is not ASCII runs every step (Unicode case folding: k is U+212A too).
    assert_eq!(run_both(&steps, "/d/K"), to("https://x.example/k"));
    assert_eq!(run_both(&steps, "/d/%E2%84%AA"), to("https://x.example/k"));
}

#[test]
fn a_large_group_looks_again_after_a_step_rewrites_the_path() {
    // A rewrite without `last` passes its result to the following steps, which are found by
    // the new path's literal.
    let mut steps = vec![step("^old-(.*)$", "new-{1}")];
    steps.extend(fillers(8));
    steps.push(redirect("^new-(.*)$", "https://x.example/n/{1}"));
    steps.push(redirect("^old-", "https://x.example/never"));
    assert_eq!(run_both(&steps, "/d/old-q"), to("https://x.example/n/q"));
    // Skips count every step, tried or not.
    let mut skipping = vec![Step {
        skip: 9,
        ..step("^s$", "-")
    }];
    skipping.extend(fillers(8));
    skipping.push(redirect("^s$", "https://x.example/skipped"));
    skipping.push(redirect("^s$", "https://x.example/after"));
    assert_eq!(run_both(&skipping, "/d/s"), to("https://x.example/after"));
    // A chained step that does not apply takes the next along, though that one is never tried.
    let mut chained = vec![Step {
        chain: true,
        ..step("^c$", "-")
    }];
    chained.push(redirect("^nope$", "https://x.example/never"));
    chained.extend(fillers(8));
    chained.push(redirect("^d", "https://x.example/d"));
    assert_eq!(run_both(&chained, "/d/d"), to("https://x.example/d"));
}

#[test]
fn a_question_mark_a_capture_brings_before_the_targets_own_is_refused() {
    // mod_rewrite (2.4.60, AH10508): "Unsafe URL with %3f URL rewritten without
    // UnsafeAllow3F": a `?` from a back-reference or variable before the substitution's own
    // answers 403; after it, it is part of the query.
    let path = "/d/g%3Fab";
    assert_eq!(
        run(&[redirect("^g(.*)$", "https://h.example/y{1}")], path, None),
        Decision::Answer(403)
    );
    let raw = Step {
        raw: true,
        ..redirect("^g(.*)$", "https://h.example/y?q={1}")
    };
    assert_eq!(
        run(&[raw], path, None),
        as_written("https://h.example/y?q=?ab")
    );
    // The substitution's own `?` alone: a redirect, whatever the path held.
    assert_eq!(
        run(&[redirect("^g", "https://h.example/y?q=1")], path, None),
        to("https://h.example/y?q=1")
    );
    // A variable holding a `?` (w3id.org/eke: `%{ENV:LSD_URL}` with `…/extract?url=`).
    let set = Step {
        set: vec![SetVar {
            name: "LSD".to_owned(),
            value: "http://h.example/extract?url=".to_owned(),
        }],
        ..step("^", "-")
    };
    let uses = redirect("^k$", "{env:LSD}https://r.example/k");
    assert_eq!(
        run(&[set.clone(), uses], "/d/k", None),
        Decision::Answer(403)
    );
    let after = redirect("^k$", "https://h.example/?u={env:LSD}");
    assert!(matches!(
        run(&[set, after], "/d/k", None),
        Decision::Redirect { .. }
    ));
}
