//! The in-memory index: every rule, looked up without touching the store.
//!
//! Precedence (documented in `docs/rules.md`): rules scoped to the request's host before rules
//! for any host; within each, an exact path, then patterns (more literal segments first, then
//! without `{*rest}` before with, then the older rule), then the longest matching prefix.
//! Exact and prefix lookups are hash lookups; prefixes are tried only at the lengths that
//! some prefix has, longest first, so no lookup scans the rules.
//!
//! Two stores of rules make one index: the [packed table](packed) holds the plain rules
//! (nearly all of a large table) in a few large allocations, built when rules are loaded; the
//! [scopes](scope) hold compiled rules (patterns, rules with variants or header fields of
//! their own) and the plain rules changed since the table was packed. A change makes a new
//! index that shares the packed table and copies only the scopes (plus the set of packed rules
//! it hides), so its cost does not grow with the table; past [`repack_limit`] changed rules the
//! table is packed again.

mod compiled;
mod huge;
mod image;
mod packed;
mod parts;
mod scope;
mod table;

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use http::HeaderName;
use http::header::ACCEPT;

pub use compiled::{CompiledRule, DEFAULT_TYPE, PREBUILT_LIMIT};
pub use image::{ImageError, In, Out};
pub use packed::PackedRule;
pub use parts::RuleParts;

use crate::rule::{Captures, Kind, RuleError};
use packed::{ANY_HOST, Packed};
use scope::Scope;
use seeother_core::respond::RedirectStatus;

/// Where a rule is filed: host (`None` for any), kind and matcher.
pub type RuleKey = (Option<String>, Kind, String);

/// A rule of the index: packed or compiled.
#[derive(Clone, Copy, Debug)]
pub enum Rule<'i> {
    /// A plain rule of the packed table.
    Packed(PackedRule<'i>),
    /// A compiled rule.
    Compiled(&'i Arc<CompiledRule>),
}

impl<'i> Rule<'i> {
    /// The rule's id in the store.
    pub fn id(&self) -> i64 {
        match self {
            Rule::Packed(p) => p.id(),
            Rule::Compiled(c) => c.id(),
        }
    }

    /// How it matches.
    pub fn kind(&self) -> Kind {
        match self {
            Rule::Packed(p) => p.kind(),
            Rule::Compiled(c) => c.kind(),
        }
    }

    /// The host it is scoped to, if any.
    pub fn host(&self) -> Option<&'i str> {
        match self {
            Rule::Packed(p) => p.host(),
            Rule::Compiled(c) => c.host(),
        }
    }

    /// The path, prefix or pattern.
    pub fn matcher(&self) -> &'i str {
        match self {
            Rule::Packed(p) => p.matcher(),
            Rule::Compiled(c) => c.matcher(),
        }
    }

    /// The redirect status.
    pub fn status(&self) -> RedirectStatus {
        match self {
            Rule::Packed(p) => p.status(),
            Rule::Compiled(c) => c.status(),
        }
    }

    /// Whether the rule is a tombstone (410 Gone).
    pub fn is_gone(&self) -> bool {
        match self {
            Rule::Packed(p) => p.is_gone(),
            Rule::Compiled(c) => c.is_gone(),
        }
    }

    /// Whether the rule has content-negotiation variants.
    pub fn has_variants(&self) -> bool {
        matches!(self, Rule::Compiled(c) if c.has_variants())
    }

    /// The media types offered, default first (empty without variants).
    pub fn offered(&self) -> &'i [Box<str>] {
        match self {
            Rule::Packed(_) => &[],
            Rule::Compiled(c) => c.offered(),
        }
    }

    /// Count one answered request.
    #[inline]
    pub fn hit(&self) {
        match self {
            Rule::Packed(p) => p.hit(),
            Rule::Compiled(c) => c.hit(),
        }
    }

    /// Count one answer with the target offered at `variant`, for a rule with variants.
    #[inline]
    pub fn served(&self, variant: usize) {
        if let Rule::Compiled(c) = self {
            c.served(variant);
        }
    }

    /// Take what the rule was asked for since the last flush (`None`: nothing), as its own
    /// counts: a rule replaced keeps them under its id, with the variants it served and its
    /// 410s as they were, whatever the new rule offers or is.
    pub fn take_counts(&self) -> Option<Counted> {
        let hits = self.take_hits();
        let mut served = Vec::new();
        if let Rule::Compiled(c) = self {
            c.take_served(&mut served);
        }
        (hits > 0 || !served.is_empty()).then(|| Counted {
            id: self.id(),
            hits,
            gone: if self.is_gone() { hits } else { 0 },
            served,
        })
    }

    /// Take the hits counted since the last flush.
    pub fn take_hits(&self) -> u64 {
        match self {
            Rule::Packed(p) => p.take_hits(),
            Rule::Compiled(c) => c.take_hits(),
        }
    }

    /// Add hits (carried over, or given back after a failed flush).
    pub fn add_hits(&self, n: u64) {
        match self {
            Rule::Packed(p) => p.add_hits(n),
            Rule::Compiled(c) => c.add_hits(n),
        }
    }

    /// The hits counted since the last flush, left in place.
    pub fn pending_hits(&self) -> u64 {
        match self {
            Rule::Packed(p) => p.pending_hits(),
            Rule::Compiled(c) => c.pending_hits(),
        }
    }
}

/// What a rule was asked for since the last flush.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counted {
    /// The rule's id in the store.
    pub id: i64,
    /// Requests it answered.
    pub hits: u64,
    /// Of those, answered 410 Gone (while it was a tombstone).
    pub gone: u64,
    /// For a rule with variants: answers per media type served.
    pub served: Vec<(Box<str>, u64)>,
}

impl Counted {
    /// Add `other`'s counts (of the same rule) to these.
    pub fn add(&mut self, other: Counted) {
        self.hits += other.hits;
        self.gone += other.gone;
        for (t, n) in other.served {
            match self.served.iter_mut().find(|(u, _)| *u == t) {
                Some((_, m)) => *m += n,
                None => self.served.push((t, n)),
            }
        }
    }

    /// `counts` with one entry per rule, in id order (each rule's counts added up).
    pub fn merged(mut counts: Vec<Counted>) -> Vec<Counted> {
        counts.sort_by_key(|c| c.id);
        let mut out: Vec<Counted> = Vec::with_capacity(counts.len());
        for c in counts {
            match out.last_mut() {
                Some(last) if last.id == c.id => last.add(c),
                _ => out.push(c),
            }
        }
        out
    }
}

/// A rule that matched a request path.
#[derive(Clone, Debug)]
pub struct Hit<'i, 'p> {
    /// The rule.
    pub rule: Rule<'i>,
    /// For patterns: the captured values.
    pub captures: Captures<'p>,
    /// For prefixes: the rest of the path after the prefix.
    pub remainder: &'p str,
}

impl<'i, 'p> Hit<'i, 'p> {
    pub(crate) fn whole(rule: Rule<'i>) -> Self {
        Hit {
            rule,
            captures: Captures::default(),
            remainder: "",
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

/// How many plain rules may wait in the scopes before the table is packed again: enough that
/// a run of admin changes stays cheap, few enough that memory stays packed.
pub fn repack_limit(packed: usize) -> usize {
    4096 + packed / 32
}

/// Every rule, filed for lookup. Immutable: a change makes a new index (sharing the packed
/// table and the unchanged compiled rules), which is swapped in atomically.
#[derive(Clone, Debug, Default)]
pub struct Index {
    packed: Arc<Packed>,
    /// Packed rules removed or replaced since the table was packed, by record number.
    hidden: Arc<HashSet<u32>>,
    hosts: HashMap<Box<str>, Scope>,
    any: Scope,
    /// Plain rules waiting in the scopes.
    loose: usize,
    len: usize,
    /// The request header fields rule groups read, besides `Accept`.
    reads: Arc<[HeaderName]>,
}

/// Fills an [`Index`]: plain rules are packed, the others compiled.
pub struct IndexBuilder {
    packed: packed::Builder,
    /// A packed table read from a snapshot, with the records it hides: then every rule
    /// pushed is compiled.
    read: Option<(Packed, HashSet<u32>)>,
    hosts: HashMap<Box<str>, Scope>,
    any: Scope,
}

impl IndexBuilder {
    /// A builder sized for about `rules` rules.
    pub fn with_capacity(rules: usize) -> Self {
        IndexBuilder {
            // Text reserved at a typical 128 bytes a rule: pages never written are never
            // resident, so guessing high costs address space, not memory.
            packed: packed::Builder::with_capacity(rules, rules.saturating_mul(128)),
            read: None,
            hosts: HashMap::new(),
            any: Scope::default(),
        }
    }

    /// A builder over the packed table of a snapshot ([`PackedBase::write`]); the rules
    /// pushed then are the snapshot's others, compiled.
    pub fn read_packed<R: std::io::Read>(inp: &mut In<R>) -> Result<Self, ImageError> {
        let packed = Packed::read(inp)?;
        let count = inp.count(4, "hidden records")?;
        let mut hidden = HashSet::with_capacity(count);
        for _ in 0..count {
            let n = inp.u32()?;
            if !packed.is_record(n) || !hidden.insert(n) {
                return Err(ImageError::invalid("it hides a record it does not have"));
            }
        }
        Ok(IndexBuilder {
            packed: packed::Builder::with_capacity(0, 0),
            read: Some((packed, hidden)),
            hosts: HashMap::new(),
            any: Scope::default(),
        })
    }

    fn scope_mut(&mut self, host: Option<&str>) -> &mut Scope {
        match host {
            None => &mut self.any,
            Some(h) => self.hosts.entry(h.into()).or_default(),
        }
    }

    /// Add a rule (a rule with the same host, kind and matcher as an earlier one replaces
    /// it). Fails only on a rule that never passed validation.
    pub fn push(&mut self, rule: RuleParts<'_>) -> Result<(), RuleError> {
        let (host, kind, matcher) = (rule.host, rule.kind, rule.matcher);
        let packed = match &self.read {
            None => self.packed.push(rule),
            Some(_) => Err(rule),
        };
        match packed {
            Ok(()) => {
                // It replaces a compiled rule pushed earlier with its key, if any: looked up
                // without making a scope for its host (most rules of a large table).
                let scope = match host {
                    None => Some(&mut self.any),
                    Some(h) => self.hosts.get_mut(h),
                };
                if let Some(scope) = scope
                    && !scope.is_empty()
                {
                    scope.remove(kind, matcher);
                }
                Ok(())
            }
            Err(rule) => {
                let compiled = Arc::new(CompiledRule::build(rule)?);
                self.scope_mut(host).insert(compiled);
                Ok(())
            }
        }
    }

    /// Close the index.
    pub fn finish(self) -> Index {
        let (packed, hidden) = match self.read {
            Some(read) => read,
            None => (self.packed.finish(), HashSet::new()),
        };
        let mut index = Index {
            packed: Arc::new(packed),
            hidden: Arc::default(),
            hosts: self.hosts,
            any: self.any,
            loose: 0,
            len: 0,
            reads: Arc::default(),
        };
        // A compiled rule pushed after a packed one with the same key replaced it.
        let shadowed: Vec<u32> = index
            .compiled()
            .filter_map(|c| index.packed_of(c.host(), c.kind(), c.matcher()))
            .map(|p| p.slot())
            .collect();
        let mut hidden = hidden;
        hidden.extend(shadowed);
        index.hidden = Arc::new(hidden);
        index.recount();
        index
    }
}

/// The plain rules of a snapshot, written from a packed table already in memory (the one
/// being served), so that writing a snapshot needs no second table beside it: a stored rule
/// the table holds exactly as it is stored is kept as its record; every other rule is handed
/// back, to be kept as its row; the table's records that no stored rule matched are written
/// as hidden.
pub struct PackedBase {
    packed: Arc<Packed>,
    /// One bit per record number: kept for a stored rule.
    kept: Vec<u64>,
    count: usize,
}

impl PackedBase {
    /// A base of `index`'s packed table.
    pub fn of(index: &Index) -> Self {
        let places = index.packed.places();
        PackedBase {
            packed: index.packed.clone(),
            kept: vec![0; places.div_ceil(64)],
            count: 0,
        }
    }

    /// Whether the table holds `rule` exactly (the same id, key, target, status, query and
    /// tombstone): then it is kept as the table's record.
    pub fn keep(&mut self, rule: &RuleParts<'_>) -> bool {
        if !rule.is_plain() {
            return false;
        }
        let Some(p) = self.packed_of(rule) else {
            return false;
        };
        let same = p.id() == rule.id
            && p.target() == rule.to
            && p.status().code().as_u16() == rule.status
            && p.query() == rule.query
            && p.is_gone() == rule.gone;
        let (word, bit) = (p.slot() as usize / 64, 1u64 << (p.slot() % 64));
        // A key is stored once; a second row for it would be kept as a row.
        if !same || self.kept[word] & bit != 0 {
            return false;
        }
        self.kept[word] |= bit;
        self.count += 1;
        true
    }

    fn packed_of(&self, rule: &RuleParts<'_>) -> Option<PackedRule<'_>> {
        let number = match rule.host {
            None => ANY_HOST,
            Some(h) => self.packed.host_number(h)?,
        };
        self.packed.get(number, rule.kind, rule.matcher)
    }

    /// Write the table and the numbers of its records not kept; gives how many rules were
    /// kept. Read back by [`IndexBuilder::read_packed`].
    pub fn write<W: std::io::Write>(self, out: &mut Out<W>) -> std::io::Result<usize> {
        self.packed.write(out)?;
        let hidden: Vec<u32> = self
            .packed
            .rules()
            .map(|r| r.slot())
            .filter(|&n| self.kept[n as usize / 64] & (1 << (n % 64)) == 0)
            .collect();
        out.u64(hidden.len() as u64)?;
        for n in hidden {
            out.u32(n)?;
        }
        Ok(self.count)
    }
}

impl Index {
    /// An index of `rules` (a later rule with the same host, kind and matcher replaces an
    /// earlier one).
    pub fn build<'a>(rules: impl IntoIterator<Item = RuleParts<'a>>) -> Result<Self, RuleError> {
        let rules = rules.into_iter();
        let mut builder = IndexBuilder::with_capacity(rules.size_hint().0);
        for rule in rules {
            builder.push(rule)?;
        }
        Ok(builder.finish())
    }

    fn compiled(&self) -> impl Iterator<Item = &Arc<CompiledRule>> {
        self.hosts
            .values()
            .flat_map(Scope::rules)
            .chain(self.any.rules())
    }

    fn visible<'i>(&self, rule: Option<PackedRule<'i>>) -> Option<PackedRule<'i>> {
        rule.filter(|p| self.hidden.is_empty() || !self.hidden.contains(&p.slot()))
    }

    /// The packed rule filed under `host`, `kind` and `matcher`, hidden or not.
    fn packed_of(&self, host: Option<&str>, kind: Kind, matcher: &str) -> Option<PackedRule<'_>> {
        let number = match host {
            None => ANY_HOST,
            Some(h) => self.packed.host_number(h)?,
        };
        self.packed.get(number, kind, matcher)
    }

    fn scope_mut(&mut self, host: Option<&str>) -> &mut Scope {
        match host {
            None => &mut self.any,
            Some(h) => self.hosts.entry(h.into()).or_default(),
        }
    }

    fn recount(&mut self) {
        self.hosts.retain(|_, s| !s.is_empty());
        self.loose = self
            .compiled()
            .filter(|c| c.packable_parts().is_some())
            .count();
        self.len = self.packed.len() - self.hidden.len() + self.compiled().count();
        let mut reads: Vec<HeaderName> = self
            .compiled()
            .filter_map(|c| c.group())
            .flat_map(|g| g.reads())
            .filter(|h| *h != ACCEPT)
            .cloned()
            .collect();
        reads.sort_unstable_by(|a, b| a.as_str().cmp(b.as_str()));
        reads.dedup();
        if *reads != *self.reads {
            self.reads = reads.into();
        }
    }

    /// The request header fields, besides `Accept`, that some rule reads: a request parser
    /// may drop every other field.
    pub fn reads(&self) -> &[HeaderName] {
        &self.reads
    }

    /// A new index: this one without the rules filed under `removed`, plus `added`.
    pub fn with_changes(&self, removed: &[RuleKey], added: Vec<Arc<CompiledRule>>) -> Index {
        let mut next = self.clone();
        let hide = |next: &mut Index, host: Option<&str>, kind, matcher: &str| {
            if let Some(p) = self.visible(self.packed_of(host, kind, matcher)) {
                Arc::make_mut(&mut next.hidden).insert(p.slot());
            }
        };
        for (host, kind, matcher) in removed {
            next.scope_mut(host.as_deref()).remove(*kind, matcher);
            hide(&mut next, host.as_deref(), *kind, matcher);
        }
        for rule in added {
            hide(&mut next, rule.host(), rule.kind(), rule.matcher());
            let host = rule.host.clone();
            next.scope_mut(host.as_deref()).insert(rule);
        }
        next.recount();
        if next.loose > repack_limit(next.packed.len()) {
            next = next.repack();
        }
        next
    }

    /// The same rules with every plain one packed into a new table (hit counts carried).
    pub fn repack(&self) -> Index {
        let mut builder = IndexBuilder::with_capacity(self.len);
        for p in self.packed.rules() {
            if self.visible(Some(p)).is_some() {
                builder.packed.push_packed(&p);
            }
        }
        for c in self.compiled() {
            match c.packable_parts() {
                Some(parts) => {
                    if builder.packed.push(parts).is_ok() {
                        builder.packed.carry(c.take_hits());
                    } else {
                        builder.scope_mut(c.host()).insert(c.clone());
                    }
                }
                None => builder.scope_mut(c.host()).insert(c.clone()),
            }
        }
        builder.finish()
    }

    /// The rule filed under `host`, `kind` and `matcher`.
    pub fn get(&self, host: Option<&str>, kind: Kind, matcher: &str) -> Option<Rule<'_>> {
        let scope = match host {
            None => Some(&self.any),
            Some(h) => self.hosts.get(h),
        };
        if let Some(c) = scope.and_then(|s| s.get(kind, matcher)) {
            return Some(Rule::Compiled(c));
        }
        self.visible(self.packed_of(host, kind, matcher))
            .map(Rule::Packed)
    }

    /// How many rules.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Ask for the packed table to be backed by huge pages, once per table (later calls
    /// give 0); gives the bytes asked for. It makes lookups in a large table miss the TLB
    /// less, and takes a while (the kernel copies the memory): call it off the serving
    /// threads, after the index is in service.
    pub fn collapse_huge_pages(&self) -> usize {
        self.packed.collapse_once()
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many plain rules wait in the scopes for the next repacking.
    pub fn loose(&self) -> usize {
        self.loose
    }

    /// Every rule (in no particular order).
    pub fn rules(&self) -> impl Iterator<Item = Rule<'_>> {
        self.packed
            .rules()
            .filter(|p| self.visible(Some(*p)).is_some())
            .map(Rule::Packed)
            .chain(self.compiled().map(Rule::Compiled))
    }

    /// Move the hits counted since the last call into `out`, visiting only the packed rules
    /// that were asked for (and every compiled rule).
    pub fn take_hits(&self, out: &mut Vec<Counted>) {
        self.packed.take_hits(out);
        for c in self.compiled() {
            let n = c.take_hits();
            let mut served = Vec::new();
            c.take_served(&mut served);
            if n > 0 || !served.is_empty() {
                out.push(Counted {
                    id: c.id(),
                    hits: n,
                    gone: if c.is_gone() { n } else { 0 },
                    served,
                });
            }
        }
    }

    /// The rule that answers a request for `path` on `host` (already normalised with
    /// [`normalize_host`]), by the precedence order above.
    #[inline]
    pub fn lookup<'i, 'p>(&'i self, host: Option<&str>, path: &'p str) -> Option<Hit<'i, 'p>> {
        if let Some(h) = host
            && (!self.hosts.is_empty() || self.packed.has_hosts())
        {
            let scope = self.hosts.get(h);
            let number = self.packed.host_number(h);
            if (scope.is_some() || number.is_some())
                && let Some(hit) = self.lookup_in(scope, number, path)
            {
                return Some(hit);
            }
        }
        self.lookup_in(Some(&self.any), Some(ANY_HOST), path)
    }

    /// The best match in one host's rules: compiled `scope` and packed host `number`.
    #[inline]
    fn lookup_in<'i, 'p>(
        &'i self,
        scope: Option<&'i Scope>,
        number: Option<u16>,
        path: &'p str,
    ) -> Option<Hit<'i, 'p>> {
        if let Some(c) = scope.and_then(|s| s.exact(path)) {
            return Some(Hit::whole(Rule::Compiled(c)));
        }
        if let Some(p) = self.visible(number.and_then(|n| self.packed.exact(n, path))) {
            return Some(Hit::whole(Rule::Packed(p)));
        }
        if let Some((c, captures)) = scope.and_then(|s| s.pattern(path)) {
            return Some(Hit {
                rule: Rule::Compiled(c),
                captures,
                remainder: "",
            });
        }
        self.prefixes(scope, number, path)
            .next()
            .or_else(|| Some(Hit::whole(Rule::Compiled(scope?.group(path)?))))
    }

    /// Every prefix rule of one host's rules that matches `path`, longest first.
    fn prefixes<'i, 'p>(
        &'i self,
        scope: Option<&'i Scope>,
        number: Option<u16>,
        path: &'p str,
    ) -> impl Iterator<Item = Hit<'i, 'p>> {
        let packed_lens = number.map_or(&[][..], |n| self.packed.prefix_lens(n));
        let mut compiled_lens = scope.into_iter().flat_map(|s| s.prefix_lens()).peekable();
        let mut packed_lens = packed_lens.iter().map(|&l| l as usize).peekable();
        // The two lists of lengths, merged longest first without repeats.
        let lens = std::iter::from_fn(move || {
            let next = match (compiled_lens.peek(), packed_lens.peek()) {
                (Some(&a), Some(&b)) => a.max(b),
                (Some(&a), None) => a,
                (None, Some(&b)) => b,
                (None, None) => return None,
            };
            compiled_lens.next_if_eq(&next);
            packed_lens.next_if_eq(&next);
            Some(next)
        });
        lens.filter_map(move |len| {
            let head = path.get(..len)?;
            let rule = match scope.and_then(|s| s.prefix(head)) {
                Some(c) => Rule::Compiled(c),
                None => Rule::Packed(self.visible(self.packed.prefix(number?, head))?),
            };
            Some(Hit {
                rule,
                captures: Captures::default(),
                remainder: &path[len..],
            })
        })
    }

    /// Every rule that matches, best first (the first is what [`Index::lookup`] returns); for
    /// `explain`.
    pub fn all_matches<'i, 'p>(&'i self, host: Option<&str>, path: &'p str) -> Vec<Hit<'i, 'p>> {
        let mut out = Vec::new();
        if let Some(h) = host {
            let scope = self.hosts.get(h);
            let number = self.packed.host_number(h);
            if scope.is_some() || number.is_some() {
                self.all_in(scope, number, path, &mut out);
            }
        }
        self.all_in(Some(&self.any), Some(ANY_HOST), path, &mut out);
        out
    }

    fn all_in<'i, 'p>(
        &'i self,
        scope: Option<&'i Scope>,
        number: Option<u16>,
        path: &'p str,
        out: &mut Vec<Hit<'i, 'p>>,
    ) {
        if let Some(c) = scope.and_then(|s| s.exact(path)) {
            out.push(Hit::whole(Rule::Compiled(c)));
        } else if let Some(p) = self.visible(number.and_then(|n| self.packed.exact(n, path))) {
            out.push(Hit::whole(Rule::Packed(p)));
        }
        for (c, captures) in scope.map(|s| s.all_patterns(path)).unwrap_or_default() {
            out.push(Hit {
                rule: Rule::Compiled(c),
                captures,
                remainder: "",
            });
        }
        out.extend(self.prefixes(scope, number, path));
        if let Some(g) = scope.and_then(|s| s.group(path)) {
            out.push(Hit::whole(Rule::Compiled(g)));
        }
    }
}
