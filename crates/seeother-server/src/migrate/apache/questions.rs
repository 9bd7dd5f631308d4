//! The requests that exercise a translated rule set: for each group, a few paths each step's
//! expression matches (made from the expression itself), the scope with and without its slash
//! and a path below it that no step names, each asked with the header fields the group reads
//! (each common `Accept`, with and without a browser's `User-Agent`). A reference server's
//! answers to them become the rule file's tests.

use std::collections::BTreeSet;

use regex_syntax::hir::{Class, Hir, HirKind};

use crate::rule::{Kind, RuleSpec};

/// Paths made from one expression, at most.
const PER_EXPRESSION: usize = 4;

/// The `Accept` values asked with when a group reads `Accept` (none: the field is left out).
pub const ACCEPTS: &[Option<&str>] = &[
    None,
    Some("text/html"),
    Some("text/turtle"),
    Some("application/ld+json"),
    Some("application/rdf+xml"),
    Some("*/*"),
];

/// A browser's `User-Agent`, asked with and without when a group reads it.
pub const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

/// One request: a path (with its query, percent-encoded as sent) and header fields.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Question {
    /// The path and query.
    pub target: String,
    /// Header fields (name, value).
    pub headers: Vec<(String, String)>,
}

/// Characters a made-up path prefers, where the expression lets it choose.
const SAFE: &str = "abcdefghijklmnopqrstuvwxyz0123456789-_.~/";

/// Up to `limit` strings `pattern` matches (searched, as mod_rewrite searches), made from the
/// expression: each alternative and repetition count in turn, checked against the expression.
pub fn examples(pattern: &str, nocase: bool, limit: usize) -> Vec<String> {
    let Ok(hir) = regex_syntax::ParserBuilder::new()
        .case_insensitive(nocase)
        .build()
        .parse(pattern)
    else {
        return Vec::new();
    };
    let Ok(check) = regex::RegexBuilder::new(pattern)
        .case_insensitive(nocase)
        .build()
    else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    for variant in 0..limit * 3 {
        let mut text = String::new();
        make(&hir, variant, &mut text);
        if text.len() < 2000 && check.is_match(&text) && !out.contains(&text) {
            out.push(text);
            if out.len() >= limit {
                break;
            }
        }
    }
    out
}

fn make(hir: &Hir, variant: usize, out: &mut String) {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => {}
        HirKind::Literal(lit) => out.push_str(&String::from_utf8_lossy(&lit.0)),
        HirKind::Class(class) => {
            if let Some(c) = pick(class, variant) {
                out.push(c);
            }
        }
        HirKind::Repetition(rep) => {
            let mut count = rep.min as usize + variant % 3;
            if let Some(max) = rep.max {
                count = count.min(max as usize);
            }
            for k in 0..count {
                make(&rep.sub, variant / 3 + k, out);
            }
        }
        HirKind::Capture(cap) => make(&cap.sub, variant, out),
        HirKind::Concat(parts) => {
            for p in parts {
                make(p, variant, out);
            }
        }
        HirKind::Alternation(options) => {
            let n = options.len().max(1);
            if let Some(o) = options.get(variant % n) {
                make(o, variant / n, out);
            }
        }
    }
}

/// A character of `class`: a safe one when it has some, else its first.
fn pick(class: &Class, variant: usize) -> Option<char> {
    let ranges: Vec<(char, char)> = match class {
        Class::Unicode(c) => c.ranges().iter().map(|r| (r.start(), r.end())).collect(),
        Class::Bytes(c) => c
            .ranges()
            .iter()
            .map(|r| (char::from(r.start()), char::from(r.end())))
            .collect(),
    };
    let safe: Vec<char> = SAFE
        .chars()
        .filter(|c| ranges.iter().any(|(a, b)| a <= c && c <= b))
        .collect();
    if !safe.is_empty() {
        return Some(safe[variant % safe.len()]);
    }
    ranges.first().map(|(a, _)| *a)
}

/// The path as a client sends it: characters outside a path's percent-encoded.
fn as_sent(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || "-._~/!$&'()*+,;=:@%".contains(c) {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

/// The requests that exercise `rules`' groups.
pub fn questions(rules: &[RuleSpec]) -> Vec<Question> {
    let mut out = BTreeSet::new();
    for rule in rules.iter().filter(|r| r.kind() == Some(Kind::Scope)) {
        let Some(scope) = rule.scope.as_deref() else {
            continue;
        };
        let mut paths = BTreeSet::new();
        paths.insert(scope.to_owned());
        paths.insert(format!("{scope}zz-unknown"));
        if scope != "/" {
            paths.insert(scope.trim_end_matches('/').to_owned());
        }
        let mut reads_accept = false;
        let mut reads_agent = false;
        for step in &rule.steps {
            for e in examples(&step.regex, step.nocase, PER_EXPRESSION) {
                paths.insert(format!("{scope}{}", e.trim_start_matches('/')));
            }
            for c in &step.when {
                let test = c.test.to_ascii_lowercase();
                reads_accept |= test.contains("{header:accept}");
                reads_agent |= test.contains("{header:user-agent}");
                if c.test == "{path}" && !c.negate {
                    for e in examples(&c.regex, c.nocase, PER_EXPRESSION) {
                        if e.starts_with('/') {
                            paths.insert(e);
                        }
                    }
                }
            }
        }
        for e in &rule.env {
            let test = e.test.to_ascii_lowercase();
            reads_accept |= test.contains("{header:accept}");
            reads_agent |= test.contains("{header:user-agent}");
        }
        let accepts: &[Option<&str>] = if reads_accept { ACCEPTS } else { &[None] };
        let agents: &[Option<&str>] = if reads_agent {
            &[None, Some(BROWSER)]
        } else {
            &[None]
        };
        for path in paths {
            let target = as_sent(&path);
            for accept in accepts {
                for agent in agents {
                    let mut headers = Vec::new();
                    if let Some(a) = accept {
                        headers.push(("Accept".to_owned(), (*a).to_owned()));
                    }
                    if let Some(a) = agent {
                        headers.push(("User-Agent".to_owned(), (*a).to_owned()));
                    }
                    out.insert(Question {
                        target: target.clone(),
                        headers,
                    });
                }
            }
        }
    }
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples_match_their_expression() {
        let e = examples(r"^v([0-9.]+)/([^/]+)\.ttl$", false, 4);
        assert!(!e.is_empty());
        let re = regex::Regex::new(r"^v([0-9.]+)/([^/]+)\.ttl$").unwrap();
        assert!(e.iter().all(|x| re.is_match(x)), "{e:?}");
        let alt = examples("^(a|bb|ccc)$", false, 4);
        assert_eq!(alt.len(), 3, "{alt:?}");
        assert!(
            examples("(?=x)", false, 4).is_empty(),
            "what the engine refuses gives none"
        );
    }
}
