//! Compiled rules of one host (or of any host): patterns, rules with variants or header fields
//! of their own, and plain rules changed since the packed table was built.

use std::borrow::Borrow;
use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use super::CompiledRule;
use crate::rule::{Captures, Kind};

/// A rule filed in a hash set under its path or prefix: the set's entry is one pointer, and
/// lookups by `&str` need no key of their own.
#[derive(Clone, Debug)]
struct ByMatcher(Arc<CompiledRule>);

impl Hash for ByMatcher {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Must hash exactly as `str` does, for `Borrow<str>`.
        (*self.0.matcher).hash(state)
    }
}

impl PartialEq for ByMatcher {
    fn eq(&self, other: &Self) -> bool {
        self.0.matcher == other.0.matcher
    }
}

impl Eq for ByMatcher {}

impl Borrow<str> for ByMatcher {
    fn borrow(&self) -> &str {
        &self.0.matcher
    }
}

/// The hasher of the sets: fast, seeded per process (rules only are inserted).
type Fast = foldhash::fast::RandomState;

/// The compiled rules of one host (or of any host), ready for lookup.
#[derive(Clone, Debug, Default)]
pub(crate) struct Scope {
    exact: HashSet<ByMatcher, Fast>,
    prefixes: HashSet<ByMatcher, Fast>,
    /// Distinct prefix lengths and how many prefixes have each.
    prefix_lens: BTreeMap<usize, u32>,
    /// Patterns whose first segment is a literal, by that literal, in precedence order.
    patterns_by_first: HashMap<Box<str>, Vec<Arc<CompiledRule>>>,
    /// Patterns whose first segment is a capture, in precedence order.
    patterns_wild: Vec<Arc<CompiledRule>>,
    /// Rule groups, by scope.
    groups: HashSet<ByMatcher, Fast>,
}

/// How a pattern ranks: lower is more specific.
fn pattern_rank(rule: &CompiledRule) -> (Reverse<usize>, bool, i64) {
    let p = rule.pattern();
    (
        Reverse(p.map_or(0, |p| p.literal_segments())),
        p.is_some_and(|p| p.has_rest()),
        rule.id,
    )
}

/// The first path segment (without the leading `/`).
fn first_segment(path: &str) -> &str {
    let p = path.strip_prefix('/').unwrap_or(path);
    p.split('/').next().unwrap_or("")
}

impl Scope {
    pub(crate) fn is_empty(&self) -> bool {
        self.exact.is_empty()
            && self.prefixes.is_empty()
            && self.patterns_by_first.is_empty()
            && self.patterns_wild.is_empty()
            && self.groups.is_empty()
    }

    /// File `rule`, replacing a rule with the same kind and matcher.
    pub(crate) fn insert(&mut self, rule: Arc<CompiledRule>) {
        match rule.kind {
            Kind::Path => {
                self.exact.replace(ByMatcher(rule));
            }
            Kind::Prefix => {
                let len = rule.matcher.len();
                if self.prefixes.replace(ByMatcher(rule)).is_none() {
                    *self.prefix_lens.entry(len).or_default() += 1;
                }
            }
            Kind::Scope => {
                self.groups.replace(ByMatcher(rule));
            }
            Kind::Pattern => {
                let list = match rule.pattern().and_then(|p| p.first_literal()) {
                    Some(first) => self.patterns_by_first.entry(first.into()).or_default(),
                    None => &mut self.patterns_wild,
                };
                list.retain(|r| r.matcher != rule.matcher);
                let at = list.partition_point(|r| pattern_rank(r) < pattern_rank(&rule));
                list.insert(at, rule);
            }
        }
    }

    /// Remove the rule filed under `kind` and `matcher`, if any.
    pub(crate) fn remove(&mut self, kind: Kind, matcher: &str) {
        match kind {
            Kind::Path => {
                self.exact.remove(matcher);
            }
            Kind::Prefix => {
                if self.prefixes.remove(matcher) {
                    let len = matcher.len();
                    if let Some(n) = self.prefix_lens.get_mut(&len) {
                        *n -= 1;
                        if *n == 0 {
                            self.prefix_lens.remove(&len);
                        }
                    }
                }
            }
            Kind::Scope => {
                self.groups.remove(matcher);
            }
            Kind::Pattern => {
                let first = first_segment(matcher);
                if let Some(list) = self.patterns_by_first.get_mut(first) {
                    list.retain(|r| &*r.matcher != matcher);
                    if list.is_empty() {
                        self.patterns_by_first.remove(first);
                    }
                }
                self.patterns_wild.retain(|r| &*r.matcher != matcher);
            }
        }
    }

    /// The exact rule for `path`.
    #[inline]
    pub(crate) fn exact(&self, path: &str) -> Option<&Arc<CompiledRule>> {
        if self.exact.is_empty() {
            return None;
        }
        self.exact.get(path).map(|b| &b.0)
    }

    /// The prefix rule `prefix`.
    pub(crate) fn prefix(&self, prefix: &str) -> Option<&Arc<CompiledRule>> {
        self.prefixes.get(prefix).map(|b| &b.0)
    }

    /// The distinct prefix lengths, longest first.
    pub(crate) fn prefix_lens(&self) -> impl Iterator<Item = usize> + '_ {
        self.prefix_lens.keys().rev().copied()
    }

    /// The most specific pattern that matches `path`, with its captures.
    pub(crate) fn pattern<'i, 'p>(
        &'i self,
        path: &'p str,
    ) -> Option<(&'i Arc<CompiledRule>, Captures<'p>)> {
        if self.patterns_by_first.is_empty() && self.patterns_wild.is_empty() {
            return None;
        }
        let first_match = |list: &'i [Arc<CompiledRule>]| {
            list.iter()
                .find_map(|rule| Some((rule, rule.pattern()?.matches(path)?)))
        };
        let bucket = self
            .patterns_by_first
            .get(first_segment(path))
            .and_then(|l| first_match(l));
        let wild = first_match(&self.patterns_wild);
        match (bucket, wild) {
            (Some(a), Some(b)) => Some(if pattern_rank(b.0) < pattern_rank(a.0) {
                b
            } else {
                a
            }),
            (a, b) => a.or(b),
        }
    }

    /// The group whose scope is the longest directory of `path` (`/a/b/c` is in `/a/b/`,
    /// `/a/`, `/`), or the group `path` is the scope of without its slash (`/a/b` for
    /// `/a/b/`, the directory's slash redirect): one hash lookup per segment.
    pub(crate) fn group(&self, path: &str) -> Option<&Arc<CompiledRule>> {
        if self.groups.is_empty() {
            return None;
        }
        if !path.ends_with('/') && path.len() < 4096 {
            let mut dir = String::with_capacity(path.len() + 1);
            dir.push_str(path);
            dir.push('/');
            if let Some(g) = self.groups.get(dir.as_str()) {
                return Some(&g.0);
            }
        }
        let mut end = path.len();
        while let Some(i) = path[..end].rfind('/') {
            if let Some(g) = self.groups.get(&path[..=i]) {
                return Some(&g.0);
            }
            end = i;
        }
        None
    }

    /// Every pattern that matches `path`, most specific first.
    pub(crate) fn all_patterns<'i, 'p>(
        &'i self,
        path: &'p str,
    ) -> Vec<(&'i Arc<CompiledRule>, Captures<'p>)> {
        let mut patterns: Vec<&Arc<CompiledRule>> = self
            .patterns_by_first
            .values()
            .flatten()
            .chain(&self.patterns_wild)
            .collect();
        patterns.sort_by_key(|r| pattern_rank(r));
        patterns
            .into_iter()
            .filter_map(|rule| Some((rule, rule.pattern()?.matches(path)?)))
            .collect()
    }

    /// The rule filed under `kind` and `matcher`.
    pub(crate) fn get(&self, kind: Kind, matcher: &str) -> Option<&Arc<CompiledRule>> {
        match kind {
            Kind::Path => self.exact.get(matcher).map(|b| &b.0),
            Kind::Prefix => self.prefixes.get(matcher).map(|b| &b.0),
            Kind::Scope => self.groups.get(matcher).map(|b| &b.0),
            Kind::Pattern => self
                .patterns_by_first
                .get(first_segment(matcher))
                .into_iter()
                .flatten()
                .chain(&self.patterns_wild)
                .find(|r| &*r.matcher == matcher),
        }
    }

    /// Every rule.
    pub(crate) fn rules(&self) -> impl Iterator<Item = &Arc<CompiledRule>> {
        self.exact
            .iter()
            .chain(self.prefixes.iter())
            .chain(self.groups.iter())
            .map(|b| &b.0)
            .chain(self.patterns_by_first.values().flatten())
            .chain(self.patterns_wild.iter())
    }
}
