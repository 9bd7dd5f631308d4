//! ngx_http_core_module, `location`: the location nginx chooses for a request, as steps that
//! skip each location's directives unless it is the one.

use std::collections::HashMap;

use super::map::Map;
use super::parse::Directive;
use super::rewrite::directive;
use super::{CONTENT, FindingKind, Reader, URI, check_regex, on, step};
use crate::rule::{Condition, Step};

/// One location: its kind, what it matches and its directives.
pub(super) struct Location<'d> {
    kind: LocKind,
    uri: String,
    body: &'d [Directive],
    line: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum LocKind {
    Exact,
    /// `^~`: no regex is checked when this is the longest prefix.
    PrefixStop,
    Prefix,
    Regex {
        nocase: bool,
    },
}

/// The steps of one server block.
pub(super) fn server_steps(
    server: &Directive,
    maps: &HashMap<String, Map>,
    r: &mut Reader<'_>,
) -> Vec<Step> {
    let body = server.block.as_deref().unwrap_or_default();
    let mut steps = Vec::new();
    let mut locations = Vec::new();
    for d in body {
        if d.name == "location" {
            match location(d, r) {
                Some(l) => locations.push(l),
                None => continue,
            }
        } else {
            directive(d, None, maps, &mut steps, r);
        }
    }
    // ngx_http_core_module, location: exact matches first.
    for l in locations.iter().filter(|l| l.kind == LocKind::Exact) {
        let not = vec![Condition {
            negate: true,
            ..on(URI, &format!("^{}$", regex::escape(&l.uri)), false)
        }];
        block(l, not, None, maps, &mut steps, r);
    }
    // Then the longest matching prefix; one with `^~` answers at once, unless a longer
    // prefix matches too.
    let mut prefixes: Vec<&Location<'_>> = locations
        .iter()
        .filter(|l| matches!(l.kind, LocKind::Prefix | LocKind::PrefixStop))
        .collect();
    prefixes.sort_by_key(|l| std::cmp::Reverse(l.uri.len()));
    let starts = |p: &str| format!("^{}", regex::escape(p));
    for l in prefixes.iter().filter(|l| l.kind == LocKind::PrefixStop) {
        let longer: Vec<&&Location<'_>> = prefixes
            .iter()
            .filter(|o| {
                o.kind == LocKind::Prefix && o.uri.len() > l.uri.len() && o.uri.starts_with(&l.uri)
            })
            .collect();
        let mut not = vec![Condition {
            negate: true,
            or: !longer.is_empty(),
            ..on(URI, &starts(&l.uri), false)
        }];
        for (i, o) in longer.iter().enumerate() {
            not.push(Condition {
                or: i + 1 < longer.len(),
                ..on(URI, &starts(&o.uri), false)
            });
        }
        block(l, not, None, maps, &mut steps, r);
    }
    // Then the regular expressions in the order written.
    for l in &locations {
        if let LocKind::Regex { nocase } = l.kind {
            if let Err(why) = check_regex(&l.uri) {
                r.say(
                    l.line,
                    FindingKind::Untranslated,
                    format!(
                        "location {}: {why}; its requests go to the next location",
                        l.uri
                    ),
                );
                continue;
            }
            let not = vec![Condition {
                negate: true,
                ..on(URI, &l.uri, nocase)
            }];
            block(l, not, Some((&l.uri, nocase)), maps, &mut steps, r);
        }
    }
    // Then the longest prefix.
    for l in prefixes.iter().filter(|l| l.kind == LocKind::Prefix) {
        let not = vec![Condition {
            negate: true,
            ..on(URI, &starts(&l.uri), false)
        }];
        block(l, not, None, maps, &mut steps, r);
    }
    steps
}

pub(super) fn location<'d>(d: &'d Directive, r: &mut Reader<'_>) -> Option<Location<'d>> {
    let body = d.block.as_deref().unwrap_or_default();
    let (modifier, uri) = match &d.args[..] {
        [m, u] => (m.as_str(), u.clone()),
        [u] => {
            let u = u.as_str();
            if let Some(rest) = u.strip_prefix('=').filter(|s| !s.is_empty()) {
                ("=", rest.to_owned())
            } else if let Some(rest) = u.strip_prefix("^~").filter(|s| !s.is_empty()) {
                ("^~", rest.to_owned())
            } else if let Some(rest) = u.strip_prefix("~*").filter(|s| !s.is_empty()) {
                ("~*", rest.to_owned())
            } else if let Some(rest) = u.strip_prefix('~').filter(|s| !s.is_empty()) {
                ("~", rest.to_owned())
            } else {
                ("", u.to_owned())
            }
        }
        _ => {
            r.say(
                d.line,
                FindingKind::Untranslated,
                "location takes a modifier and a URI; left out",
            );
            return None;
        }
    };
    let kind = match modifier {
        "=" => LocKind::Exact,
        "^~" => LocKind::PrefixStop,
        "~" => LocKind::Regex { nocase: false },
        "~*" => LocKind::Regex { nocase: true },
        "" if uri.starts_with('@') => {
            r.say(d.line, FindingKind::Untranslated, format!("location {uri}: named locations are reached by error_page and try_files, which are not translated; left out"));
            return None;
        }
        "" => LocKind::Prefix,
        other => {
            r.say(
                d.line,
                FindingKind::Untranslated,
                format!("location modifier {other:?} is unknown; left out"),
            );
            return None;
        }
    };
    Some(Location {
        kind,
        uri,
        body,
        line: d.line,
    })
}

/// A location's steps: one that skips them all unless the location is chosen (`not` says
/// when it is not), its directives, and one that stops (the location answers what its
/// directives do not: seeother's 404).
pub(super) fn block(
    l: &Location<'_>,
    not: Vec<Condition>,
    captures: Option<(&str, bool)>,
    maps: &HashMap<String, Map>,
    steps: &mut Vec<Step>,
    r: &mut Reader<'_>,
) {
    let mut inner = Vec::new();
    let mut content = Vec::new();
    for d in l.body {
        if d.name == "location" {
            r.say(d.line, FindingKind::Untranslated, "a location inside a location is not translated; the outer one answers its requests");
            continue;
        }
        if CONTENT.contains(&d.name.as_str()) {
            content.push(d.name.clone());
            continue;
        }
        directive(d, captures, maps, &mut inner, r);
    }
    if !content.is_empty() {
        r.say(
            l.line,
            FindingKind::Untranslated,
            format!(
                "location {}: {} serve(s) content, which seeother does not; what its rewrites and returns leave gets 404",
                l.uri,
                content.join(", ")
            ),
        );
    }
    let mut skip = step(not);
    skip.to = "-".to_owned();
    skip.skip = (inner.len() + 1) as u16;
    steps.push(skip);
    steps.append(&mut inner);
    let mut stop = step(Vec::new());
    stop.to = "-".to_owned();
    stop.last = true;
    steps.push(stop);
}
