//! The in-memory index: every rule compiled, looked up without touching the store.
//!
//! Precedence (documented in `docs/rules.md`): rules scoped to the request's host before rules
//! for any host; within each, an exact path, then patterns (more literal segments first, then
//! without `{*rest}` before with, then the older rule), then the longest matching prefix.
//! Exact and prefix lookups are hash lookups; prefixes are tried only at the lengths that
//! some prefix has, longest first, so no lookup scans the rules.

mod compiled;

use std::borrow::Borrow;
use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

pub use compiled::{CompiledRule, DEFAULT_TYPE, PREBUILT_LIMIT};

use crate::rule::{Captures, Kind};

/// Where a rule is filed: host (`None` for any), kind and matcher.
pub type RuleKey = (Option<String>, Kind, String);

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

/// The hasher of the index's sets: fast, seeded per process. Only rules (written by the
/// operator) are ever inserted; requests only look up, so there is no flooding to resist.
type Fast = foldhash::fast::RandomState;

/// The rules of one host (or of any host), ready for lookup.
#[derive(Clone, Debug, Default)]
struct Scope {
    exact: HashSet<ByMatcher, Fast>,
    prefixes: HashSet<ByMatcher, Fast>,
    /// Distinct prefix lengths and how many prefixes have each.
    prefix_lens: BTreeMap<usize, u32>,
    /// Patterns whose first segment is a literal, by that literal, in precedence order.
    patterns_by_first: HashMap<Box<str>, Vec<Arc<CompiledRule>>>,
    /// Patterns whose first segment is a capture, in precedence order.
    patterns_wild: Vec<Arc<CompiledRule>>,
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
    fn is_empty(&self) -> bool {
        self.exact.is_empty()
            && self.prefixes.is_empty()
            && self.patterns_by_first.is_empty()
            && self.patterns_wild.is_empty()
    }

    fn insert(&mut self, rule: Arc<CompiledRule>) {
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

    fn remove(&mut self, kind: Kind, matcher: &str) {
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

    fn lookup<'i, 'p>(&'i self, path: &'p str) -> Option<Hit<'i, 'p>> {
        if let Some(ByMatcher(rule)) = self.exact.get(path) {
            return Some(Hit::new(rule, Captures::default(), ""));
        }
        if let Some(hit) = self.lookup_pattern(path) {
            return Some(hit);
        }
        for &len in self.prefix_lens.keys().rev() {
            if let Some(head) = path.get(..len)
                && let Some(ByMatcher(rule)) = self.prefixes.get(head)
            {
                return Some(Hit::new(rule, Captures::default(), &path[len..]));
            }
        }
        None
    }

    fn lookup_pattern<'i, 'p>(&'i self, path: &'p str) -> Option<Hit<'i, 'p>> {
        let first_match = |list: &'i [Arc<CompiledRule>]| {
            list.iter().find_map(|rule| {
                let caps = rule.pattern()?.matches(path)?;
                Some(Hit::new(rule, caps, ""))
            })
        };
        let bucket = self
            .patterns_by_first
            .get(first_segment(path))
            .and_then(|l| first_match(l));
        let wild = first_match(&self.patterns_wild);
        match (bucket, wild) {
            (Some(a), Some(b)) => Some(if pattern_rank(b.rule) < pattern_rank(a.rule) {
                b
            } else {
                a
            }),
            (a, b) => a.or(b),
        }
    }

    fn get(&self, kind: Kind, matcher: &str) -> Option<&Arc<CompiledRule>> {
        match kind {
            Kind::Path => self.exact.get(matcher).map(|b| &b.0),
            Kind::Prefix => self.prefixes.get(matcher).map(|b| &b.0),
            Kind::Pattern => self
                .patterns_by_first
                .get(first_segment(matcher))
                .into_iter()
                .flatten()
                .chain(&self.patterns_wild)
                .find(|r| &*r.matcher == matcher),
        }
    }

    fn rules(&self) -> impl Iterator<Item = &Arc<CompiledRule>> {
        self.exact
            .iter()
            .chain(self.prefixes.iter())
            .map(|b| &b.0)
            .chain(self.patterns_by_first.values().flatten())
            .chain(self.patterns_wild.iter())
    }

    /// Every rule of this scope that matches `path`, in precedence order.
    fn all_matches<'i, 'p>(&'i self, path: &'p str, out: &mut Vec<Hit<'i, 'p>>) {
        if let Some(ByMatcher(rule)) = self.exact.get(path) {
            out.push(Hit::new(rule, Captures::default(), ""));
        }
        let mut patterns: Vec<&Arc<CompiledRule>> = self
            .patterns_by_first
            .values()
            .flatten()
            .chain(&self.patterns_wild)
            .collect();
        patterns.sort_by_key(|r| pattern_rank(r));
        for rule in patterns {
            if let Some(caps) = rule.pattern().and_then(|p| p.matches(path)) {
                out.push(Hit::new(rule, caps, ""));
            }
        }
        for &len in self.prefix_lens.keys().rev() {
            if let Some(head) = path.get(..len)
                && let Some(ByMatcher(rule)) = self.prefixes.get(head)
            {
                out.push(Hit::new(rule, Captures::default(), &path[len..]));
            }
        }
    }
}

/// A rule that matched a request path.
#[derive(Clone, Debug)]
pub struct Hit<'i, 'p> {
    /// The rule.
    pub rule: &'i Arc<CompiledRule>,
    /// For patterns: the captured values.
    pub captures: Captures<'p>,
    /// For prefixes: the rest of the path after the prefix.
    pub remainder: &'p str,
}

impl<'i, 'p> Hit<'i, 'p> {
    fn new(rule: &'i Arc<CompiledRule>, captures: Captures<'p>, remainder: &'p str) -> Self {
        Hit {
            rule,
            captures,
            remainder,
        }
    }
}

/// The request's host as rules name it: port and trailing dot removed, lower case.
pub fn normalize_host(authority: &str) -> Cow<'_, str> {
    let host = if authority.starts_with('[') {
        match authority.find(']') {
            Some(i) => &authority[..=i],
            None => authority,
        }
    } else {
        authority.split(':').next().unwrap_or(authority)
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    if host.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(host.to_ascii_lowercase())
    } else {
        Cow::Borrowed(host)
    }
}

/// Every rule, compiled and filed for lookup. Immutable: a change makes a new index (sharing
/// the unchanged rules), which is swapped in atomically.
#[derive(Clone, Debug, Default)]
pub struct Index {
    hosts: HashMap<Box<str>, Scope>,
    any: Scope,
    len: usize,
}

impl Index {
    /// An index of `rules` (a later rule with the same host, kind and matcher replaces an
    /// earlier one).
    pub fn build(rules: impl IntoIterator<Item = Arc<CompiledRule>>) -> Self {
        let rules = rules.into_iter();
        let mut index = Index::with_capacity(rules.size_hint().0);
        index.extend(rules);
        index.finish()
    }

    /// An empty index sized for `n` rules, to fill with [`Index::extend`] and close with
    /// [`Index::finish`].
    pub fn with_capacity(n: usize) -> Self {
        let mut index = Index::default();
        // Most rules are exact paths for any host: size that set once.
        index.any.exact.reserve(n);
        index
    }

    /// Add `rules` (a rule with the same host, kind and matcher as an earlier one replaces it).
    pub fn extend(&mut self, rules: impl IntoIterator<Item = Arc<CompiledRule>>) {
        for rule in rules {
            self.insert(rule);
        }
    }

    /// Close a filled index: give back spare room and count the rules.
    pub fn finish(mut self) -> Self {
        self.any.exact.shrink_to_fit();
        self.recount();
        self
    }

    fn scope_mut(&mut self, host: Option<&str>) -> &mut Scope {
        match host {
            None => &mut self.any,
            Some(h) => self.hosts.entry(h.into()).or_default(),
        }
    }

    fn insert(&mut self, rule: Arc<CompiledRule>) {
        let host = rule.host.clone();
        self.scope_mut(host.as_deref()).insert(rule);
    }

    fn recount(&mut self) {
        self.hosts.retain(|_, s| !s.is_empty());
        self.len = self.rules().count();
    }

    /// A new index: this one without the rules filed under `removed`, plus `added`.
    pub fn with_changes(&self, removed: &[RuleKey], added: Vec<Arc<CompiledRule>>) -> Index {
        let mut next = self.clone();
        for (host, kind, matcher) in removed {
            next.scope_mut(host.as_deref()).remove(*kind, matcher);
        }
        for rule in added {
            next.insert(rule);
        }
        next.recount();
        next
    }

    /// The rule filed under `host`, `kind` and `matcher`.
    pub fn get(&self, host: Option<&str>, kind: Kind, matcher: &str) -> Option<&Arc<CompiledRule>> {
        match host {
            None => self.any.get(kind, matcher),
            Some(h) => self.hosts.get(h)?.get(kind, matcher),
        }
    }

    /// How many rules.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every rule (in no particular order).
    pub fn rules(&self) -> impl Iterator<Item = &Arc<CompiledRule>> {
        self.hosts
            .values()
            .flat_map(Scope::rules)
            .chain(self.any.rules())
    }

    /// The rule that answers a request for `path` on `host` (already normalised with
    /// [`normalize_host`]), by the precedence order above.
    #[inline]
    pub fn lookup<'i, 'p>(&'i self, host: Option<&str>, path: &'p str) -> Option<Hit<'i, 'p>> {
        if !self.hosts.is_empty()
            && let Some(scope) = host.and_then(|h| self.hosts.get(h))
            && let Some(hit) = scope.lookup(path)
        {
            return Some(hit);
        }
        self.any.lookup(path)
    }

    /// Every rule that matches, best first (the first is what [`Index::lookup`] returns); for
    /// `explain`.
    pub fn all_matches<'i, 'p>(&'i self, host: Option<&str>, path: &'p str) -> Vec<Hit<'i, 'p>> {
        let mut out = Vec::new();
        if let Some(scope) = host.and_then(|h| self.hosts.get(h)) {
            scope.all_matches(path, &mut out);
        }
        self.any.all_matches(path, &mut out);
        out
    }
}
