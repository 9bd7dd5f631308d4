//! The packed table: plain rules (exact paths and prefixes whose answer has no header field of
//! its own, nearly every rule of a large table) stored for memory and start-up time.
//!
//! All their text lives in one shared buffer; each rule is a fixed 32-byte record, and the
//! records are kept in two open-addressed tables (`table.rs`), exact paths and prefixes, so a
//! lookup reads a few tag bytes (small enough to stay cached), about one record and the
//! rule's text, with no separate bucket array to miss in. Nothing is allocated per rule, and
//! answering shares the buffer's bytes (the `Location` value and the note's link are slices
//! of it). Targets were stored in their wire form (rule validation puts them so), which the
//! first request for each rule confirms; loading parses nothing. Hit counters are in the
//! records, with a bitmap of the records counted since the last flush, so a flush visits only
//! the rules that were asked for.

use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};

use bytes::Bytes;
use seeother_core::location::{Location, LocationError};
use seeother_core::respond::RedirectStatus;

use super::RuleParts;
use super::image::{ImageError, In, Out};
use super::table::{Slot, Table, USED};
use crate::rule::{Kind, QueryMode};

/// Host number of rules for any host.
pub(crate) const ANY_HOST: u16 = 0;

/// A rule's target not yet checked against [`Location::parse`].
const UNCHECKED: u8 = 0;
/// A target that is its own wire form: sent straight from the table's bytes.
const WIRE: u8 = 1;
/// A target that is not (edited in the store by hand): parsed for every request.
const NOT_WIRE: u8 = 2;

const PREFIX: u8 = 1;
const DROP_QUERY: u8 = 2;
const GONE: u8 = 4;
const STATUS_SHIFT: u8 = 3;

const STATUSES: [RedirectStatus; 5] = [
    RedirectStatus::SeeOther,
    RedirectStatus::MovedPermanently,
    RedirectStatus::Found,
    RedirectStatus::TemporaryRedirect,
    RedirectStatus::PermanentRedirect,
];

/// The hasher of the tables: fast, seeded at random per table (the seed is kept in a
/// snapshot, so a table read back hashes as it was built). Only rules (written by the
/// operator) are inserted; requests only look up, so there is no flooding to resist.
type Fast = foldhash::fast::FixedState;

/// A random seed for a new table's hasher.
fn new_seed() -> u64 {
    let mut b = [0; 8];
    // Without the system's randomness the table still works, only with a seed others know.
    let _ = getrandom::fill(&mut b);
    u64::from_le_bytes(b)
}

/// The hash of a rule's host number and matcher, as each record keeps it: the high half of
/// the hasher's (its best-mixed bits).
fn hash(state: &Fast, host: u16, matcher: &[u8]) -> u32 {
    let mut h = state.build_hasher();
    h.write_u16(host);
    h.write(matcher);
    (h.finish() >> 32) as u32
}

/// The matcher of record `s`, whose text is in `text`.
fn matcher_of<'t>(text: &'t [u8], s: &Slot) -> &'t [u8] {
    &text[s.start as usize..(s.start + s.matcher_len) as usize]
}

/// Plain rules, packed. Immutable once built (but for the counters); shared by every version
/// of the index until rules are repacked.
#[derive(Debug)]
pub(crate) struct Packed {
    text: Bytes,
    /// Records numbered from 0.
    exact: Table,
    /// Records numbered from `exact.places()`.
    prefixes: Table,
    /// One bit per record number: counted since the last [`Packed::take_hits`].
    dirty: Box<[AtomicU64]>,
    hosts: HashMap<Box<str>, u16>,
    host_names: Box<[Box<str>]>,
    /// Per host number: the distinct prefix lengths, longest first.
    prefix_lens: Box<[Box<[u32]>]>,
    state: Fast,
    seed: u64,
    /// Whether huge pages were asked for.
    collapsed: AtomicBool,
}

impl Default for Packed {
    fn default() -> Self {
        Builder::with_capacity(0, 0).finish()
    }
}

/// A packed rule: the table and its record number.
#[derive(Clone, Copy, Debug)]
pub struct PackedRule<'i> {
    table: &'i Packed,
    slot: u32,
}

impl Packed {
    /// Back the text and the records with huge pages (see [`super::huge`]), the first time
    /// only; gives the bytes asked for.
    pub(crate) fn collapse_once(&self) -> usize {
        if self.collapsed.swap(true, Ordering::Relaxed) {
            return 0;
        }
        super::huge::collapse(&self.text) + self.exact.collapse() + self.prefixes.collapse()
    }

    /// The table holding record `n`, and its place there.
    fn table_of(&self, n: u32) -> (&Table, usize) {
        let n = n as usize;
        match n.checked_sub(self.exact.places()) {
            None => (&self.exact, n),
            Some(p) => (&self.prefixes, p),
        }
    }

    fn slot(&self, n: u32) -> &Slot {
        static EMPTY: Slot = Slot {
            hits: AtomicU64::new(0),
            start: 0,
            matcher_len: 0,
            target_len: 0,
            hash: 0,
            host: 0,
            flags: 0,
            checked: AtomicU8::new(UNCHECKED),
        };
        let (table, place) = self.table_of(n);
        // Record numbers come from this table's own lookups: always in range.
        table.slot(place).unwrap_or(&EMPTY)
    }

    /// The rule for `matcher` on host number `host` in `table`, whose records are numbered
    /// from `base`.
    fn find(&self, table: &Table, base: usize, host: u16, matcher: &str) -> Option<PackedRule<'_>> {
        if table.rules() == 0 {
            return None;
        }
        let h = hash(&self.state, host, matcher.as_bytes());
        let place = table
            .probe(h, |s| {
                s.host == host && matcher_of(&self.text, s) == matcher.as_bytes()
            })
            .ok()?;
        Some(PackedRule {
            table: self,
            slot: (base + place) as u32,
        })
    }

    /// The number of `host`, if some packed rule is scoped to it.
    pub(crate) fn host_number(&self, host: &str) -> Option<u16> {
        self.hosts.get(host).copied()
    }

    /// Whether rules scoped to hosts are packed.
    pub(crate) fn has_hosts(&self) -> bool {
        !self.hosts.is_empty()
    }

    /// The exact rule for `path` on host number `host`.
    #[inline]
    pub(crate) fn exact(&self, host: u16, path: &str) -> Option<PackedRule<'_>> {
        self.find(&self.exact, 0, host, path)
    }

    /// The prefix rule `prefix` on host number `host`.
    pub(crate) fn prefix(&self, host: u16, prefix: &str) -> Option<PackedRule<'_>> {
        self.find(&self.prefixes, self.exact.places(), host, prefix)
    }

    /// The rule filed under `kind` and `matcher` on host number `host`.
    pub(crate) fn get(&self, host: u16, kind: Kind, matcher: &str) -> Option<PackedRule<'_>> {
        match kind {
            Kind::Path => self.exact(host, matcher),
            Kind::Prefix => self.prefix(host, matcher),
            Kind::Pattern | Kind::Scope => None,
        }
    }

    /// The distinct prefix lengths of host number `host`, longest first.
    pub(crate) fn prefix_lens(&self, host: u16) -> &[u32] {
        self.prefix_lens.get(host as usize).map_or(&[], |l| l)
    }

    /// How many record numbers there are (used or not).
    pub(crate) fn places(&self) -> usize {
        self.exact.places() + self.prefixes.places()
    }

    /// Whether `n` is the number of a record that holds a rule.
    pub(crate) fn is_record(&self, n: u32) -> bool {
        if n as usize >= self.places() {
            return false;
        }
        let (table, place) = self.table_of(n);
        table.slot(place).is_some_and(|s| s.flags & USED != 0)
    }

    /// How many rules (each filed once).
    pub(crate) fn len(&self) -> usize {
        self.exact.rules() + self.prefixes.rules()
    }

    /// Every rule.
    pub(crate) fn rules(&self) -> impl Iterator<Item = PackedRule<'_>> {
        let base = self.exact.places();
        self.exact
            .used()
            .chain(self.prefixes.used().map(move |n| base + n))
            .map(|n| PackedRule {
                table: self,
                slot: n as u32,
            })
    }

    /// Move the hits counted since the last call into `out`, as (rule id, hits), visiting only
    /// the rules counted meanwhile.
    pub(crate) fn take_hits(&self, out: &mut Vec<super::Counted>) {
        for (w, word) in self.dirty.iter().enumerate() {
            if word.load(Ordering::Relaxed) == 0 {
                continue;
            }
            let mut bits = word.swap(0, Ordering::Relaxed);
            while bits != 0 {
                let n = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let slot = self.slot(n as u32);
                let hits = slot.hits.swap(0, Ordering::Relaxed);
                if hits > 0 {
                    out.push(super::Counted {
                        id: self.id(n as u32),
                        hits,
                        gone: if slot.flags & GONE != 0 { hits } else { 0 },
                        served: Vec::new(),
                    });
                }
            }
        }
    }

    /// The store id of record `n`.
    fn id(&self, n: u32) -> i64 {
        let (table, place) = self.table_of(n);
        table.id(place)
    }

    fn add_hits(&self, slot: u32, n: u64) {
        // The first count since a flush marks the rule; a count racing with the flush is
        // either taken by it or marks the rule again for the next one.
        if self.slot(slot).hits.fetch_add(n, Ordering::Relaxed) == 0 {
            self.dirty[slot as usize / 64].fetch_or(1 << (slot % 64), Ordering::Relaxed);
        }
    }
}

impl<'i> PackedRule<'i> {
    fn s(&self) -> &'i Slot {
        self.table.slot(self.slot)
    }

    fn text(&self, from: u32, len: u32) -> &'i str {
        let bytes = &self.table.text[from as usize..(from + len) as usize];
        // Invariant: the buffer holds only text copied from `&str` at `str` boundaries.
        std::str::from_utf8(bytes).unwrap_or_default()
    }

    /// The rule's id in the store.
    pub fn id(&self) -> i64 {
        self.table.id(self.slot)
    }

    /// How it matches.
    pub fn kind(&self) -> Kind {
        if self.s().flags & PREFIX != 0 {
            Kind::Prefix
        } else {
            Kind::Path
        }
    }

    /// The host it is scoped to, if any.
    pub fn host(&self) -> Option<&'i str> {
        let host = self.s().host;
        (host != ANY_HOST).then(|| &*self.table.host_names[host as usize])
    }

    /// The path or prefix.
    pub fn matcher(&self) -> &'i str {
        let s = self.s();
        self.text(s.start, s.matcher_len)
    }

    /// The target as written.
    pub fn target(&self) -> &'i str {
        let s = self.s();
        self.text(s.start + s.matcher_len, s.target_len)
    }

    /// The target as a `Location`, sharing the table's bytes (for exact rules answered
    /// without a query); the parse error of a target that is not one.
    pub(crate) fn location(&self) -> Result<Location, LocationError> {
        let checked = &self.s().checked;
        match checked.load(Ordering::Relaxed) {
            WIRE => {
                let s = self.s();
                let from = (s.start + s.matcher_len) as usize;
                let wire = self.table.text.slice(from..from + s.target_len as usize);
                Location::from_parsed(wire)
            }
            NOT_WIRE => Location::parse(self.target()),
            _ => {
                let parsed = Location::parse(self.target());
                let wire = matches!(&parsed, Ok(l) if l.as_str() == self.target());
                checked.store(if wire { WIRE } else { NOT_WIRE }, Ordering::Relaxed);
                parsed
            }
        }
    }

    /// The redirect status.
    pub fn status(&self) -> RedirectStatus {
        // Bits 3 to 5 (`USED` is above them).
        STATUSES[((self.s().flags >> STATUS_SHIFT) & 7) as usize % STATUSES.len()]
    }

    /// What happens to the request's query.
    pub fn query(&self) -> QueryMode {
        if self.s().flags & DROP_QUERY != 0 {
            QueryMode::Drop
        } else {
            QueryMode::Append
        }
    }

    /// Whether the rule is a tombstone.
    pub fn is_gone(&self) -> bool {
        self.s().flags & GONE != 0
    }

    /// Count one answered request.
    #[inline]
    pub fn hit(&self) {
        self.table.add_hits(self.slot, 1);
    }

    /// Add hits (carried over, or given back after a failed flush).
    pub fn add_hits(&self, n: u64) {
        if n > 0 {
            self.table.add_hits(self.slot, n);
        }
    }

    /// Take the hits counted since the last flush.
    pub fn take_hits(&self) -> u64 {
        self.s().hits.swap(0, Ordering::Relaxed)
    }

    /// The hits counted since the last flush, left in place.
    pub fn pending_hits(&self) -> u64 {
        self.s().hits.load(Ordering::Relaxed)
    }

    /// The record number, unique within its table.
    pub(crate) fn slot(&self) -> u32 {
        self.slot
    }
}

/// A rule pushed to a [`Builder`], placed when the table is closed.
struct Pending {
    hash: u32,
    start: u32,
    matcher_len: u32,
    target_len: u32,
    host: u16,
    flags: u8,
    id: i64,
    /// Hits counted before it was packed.
    hits: u64,
}

/// Fills a [`Packed`] table. Rules are kept in the order they come and placed when the
/// table is closed, sorted by their home place: each record is then written next to the last
/// one, where placing them as they came wrote every record, its tag and its id to a random
/// place of tables far larger than the caches (a third of the time of loading a million
/// rules).
pub(crate) struct Builder {
    text: Vec<u8>,
    exact: Vec<Pending>,
    prefixes: Vec<Pending>,
    hosts: HashMap<Box<str>, u16>,
    host_names: Vec<Box<str>>,
    /// Whether the rule pushed last was a prefix.
    last: Option<bool>,
    /// Whether some rule was given hits counted before it was packed.
    carried: bool,
    state: Fast,
    seed: u64,
}

impl Builder {
    /// A builder sized for `rules` rules with `text` bytes of text.
    pub(crate) fn with_capacity(rules: usize, text: usize) -> Self {
        let seed = new_seed();
        Builder {
            text: Vec::with_capacity(text),
            // Most rules of a large table are exact.
            exact: Vec::with_capacity(rules),
            prefixes: Vec::with_capacity(rules / 16),
            hosts: HashMap::new(),
            host_names: vec!["".into()],
            last: None,
            carried: false,
            state: Fast::with_seed(seed),
            seed,
        }
    }

    /// Pack `rule` (a rule with the same host, kind and matcher as an earlier one replaces
    /// it). Gives the rule back when it is not plain or the table is full.
    // The `Err` is no error but the rule handed back to be compiled; boxing it would cost an
    // allocation per compiled rule.
    #[allow(clippy::result_large_err)]
    pub(crate) fn push<'a>(&mut self, rule: RuleParts<'a>) -> Result<(), RuleParts<'a>> {
        let size = rule.matcher.len() + rule.to.len();
        let records = self.exact.len() + self.prefixes.len();
        if !rule.is_plain()
            || self.text.len() + size > u32::MAX as usize
            // Records are numbered in `u32`: a table has a quarter more places than rules.
            || records + records / 4 + 2 >= (u32::MAX / 4) as usize
        {
            return Err(rule);
        }
        let status = RedirectStatus::from_code(rule.status).unwrap_or_default();
        let status = STATUSES.iter().position(|&x| x == status).unwrap_or(0);
        let host = match rule.host {
            None => ANY_HOST,
            Some(h) => match self.hosts.get(h) {
                Some(&n) => n,
                None if self.host_names.len() < u16::MAX as usize => {
                    let n = self.host_names.len() as u16;
                    self.hosts.insert(h.into(), n);
                    self.host_names.push(h.into());
                    n
                }
                None => return Err(rule),
            },
        };
        let start = self.text.len() as u32;
        self.text.extend_from_slice(rule.matcher.as_bytes());
        self.text.extend_from_slice(rule.to.as_bytes());
        let prefix = rule.kind == Kind::Prefix;
        let flags = (status as u8) << STATUS_SHIFT
            | if prefix { PREFIX } else { 0 }
            | if rule.query == QueryMode::Drop {
                DROP_QUERY
            } else {
                0
            }
            | if rule.gone { GONE } else { 0 };
        let pending = Pending {
            hash: hash(&self.state, host, rule.matcher.as_bytes()),
            start,
            matcher_len: rule.matcher.len() as u32,
            target_len: rule.to.len() as u32,
            host,
            flags: flags | USED,
            id: rule.id,
            hits: 0,
        };
        if prefix {
            self.prefixes.push(pending);
        } else {
            self.exact.push(pending);
        }
        self.last = Some(prefix);
        Ok(())
    }

    /// Pack a rule of another table (when repacking), with its pending hits.
    pub(crate) fn push_packed(&mut self, rule: &PackedRule<'_>) {
        let parts = RuleParts {
            id: rule.id(),
            kind: rule.kind(),
            host: rule.host(),
            matcher: rule.matcher(),
            to: rule.target(),
            status: rule.status().code().as_u16(),
            query: rule.query(),
            default_type: None,
            variants: Default::default(),
            cache_control: None,
            described_by: false,
            gone: rule.is_gone(),
            group: None,
        };
        if self.push(parts).is_ok() {
            self.carry(rule.take_hits());
        }
    }

    /// Give the rule pushed last `n` hits counted before it was packed.
    pub(crate) fn carry(&mut self, n: u64) {
        let last = match self.last {
            Some(true) => self.prefixes.last_mut(),
            Some(false) => self.exact.last_mut(),
            None => None,
        };
        if n > 0
            && let Some(p) = last
        {
            p.hits += n;
            self.carried = true;
        }
    }

    /// Place `pending` in a table of their own, in the order of their home places, and in
    /// the order they were pushed within one (of two rules with one key, the one pushed later
    /// replaces the other). Each new
    /// prefix's length is added to its host's in `lens`.
    fn place(
        mut pending: Vec<Pending>,
        text: &[u8],
        mut lens: Option<&mut [BTreeSet<u32>]>,
    ) -> Table {
        let mut table = Table::with_room(pending.len());
        // Taken from the end in home order, so the list shrinks as the table fills (at
        // 1,000,000 rules the list is 40 MB). Sorted in place, with no scratch buffer (a
        // stable sort takes half the list again): of two rules with one key and one home,
        // the one pushed later has its text later, so it still comes later.
        pending.sort_unstable_by_key(|p| std::cmp::Reverse((table.home(p.hash), p.start)));
        let mut placed = 0usize;
        while let Some(p) = pending.pop() {
            placed += 1;
            if placed % (1 << 16) == 0 {
                pending.shrink_to_fit();
            }
            let matcher = &text[p.start as usize..(p.start + p.matcher_len) as usize];
            let found = table.probe(p.hash, |s| {
                s.host == p.host && matcher_of(text, s) == matcher
            });
            if let Some(lens) = lens.as_deref_mut()
                && found.is_err()
            {
                lens[p.host as usize].insert(p.matcher_len);
            }
            let slot = Slot {
                hits: AtomicU64::new(p.hits),
                start: p.start,
                matcher_len: p.matcher_len,
                target_len: p.target_len,
                hash: p.hash,
                host: p.host,
                flags: p.flags,
                checked: AtomicU8::new(UNCHECKED),
            };
            table.put(found, slot, p.id);
        }
        table
    }

    /// Close the table.
    pub(crate) fn finish(self) -> Packed {
        let exact = Self::place(self.exact, &self.text, None);
        let mut lens = vec![BTreeSet::new(); self.host_names.len()];
        let prefixes = Self::place(self.prefixes, &self.text, Some(&mut lens));
        let records = exact.places() + prefixes.places();
        let dirty: Box<[AtomicU64]> = (0..records.div_ceil(64))
            .map(|_| AtomicU64::new(0))
            .collect();
        let packed = Packed {
            // Room guessed for and never written is address space only, not memory.
            text: Bytes::from(self.text),
            exact,
            prefixes,
            dirty,
            hosts: self.hosts,
            host_names: self.host_names.into(),
            prefix_lens: lens
                .into_iter()
                .map(|lens| lens.into_iter().rev().collect())
                .collect(),
            state: self.state,
            seed: self.seed,
            collapsed: AtomicBool::new(false),
        };
        if self.carried {
            // Mark the rules given hits, for the next flush.
            for rule in packed.rules() {
                let n = rule.take_hits();
                packed.add_hits(rule.slot, n);
            }
        }
        packed
    }
}

impl Packed {
    /// Write the table to a snapshot: the hasher's seed, the text, the hosts, the prefix
    /// lengths and both tables (counters are not kept: they are flushed to the store).
    pub(crate) fn write<W: std::io::Write>(&self, out: &mut Out<W>) -> std::io::Result<()> {
        out.u64(self.seed)?;
        out.block(&self.text)?;
        out.u64(self.host_names.len() as u64)?;
        for (name, lens) in self.host_names.iter().zip(&self.prefix_lens) {
            out.block(name.as_bytes())?;
            out.u64(lens.len() as u64)?;
            for &len in lens.iter() {
                out.u32(len)?;
            }
        }
        self.exact.write(out)?;
        self.prefixes.write(out)
    }

    /// Read a table [`Packed::write`] wrote; refused unless every part fits the others.
    pub(crate) fn read<R: std::io::Read>(inp: &mut In<R>) -> Result<Packed, ImageError> {
        let seed = inp.u64()?;
        let text = inp.block()?;
        let count = inp.count(16, "hosts")?;
        if count == 0 || count > u16::MAX as usize {
            return Err(ImageError::invalid("its host count is out of range"));
        }
        let mut host_names = Vec::with_capacity(count);
        let mut prefix_lens = Vec::with_capacity(count);
        let mut hosts = HashMap::with_capacity(count);
        for n in 0..count {
            let name = String::from_utf8(inp.block()?)
                .map_err(|_| ImageError::invalid("a host name is not text"))?;
            let lens = inp.count(4, "prefix lengths")?;
            let lens = (0..lens)
                .map(|_| inp.u32())
                .collect::<Result<Box<[u32]>, _>>()?;
            if (n == 0) != name.is_empty() || !lens.windows(2).all(|w| w[0] > w[1]) {
                return Err(ImageError::invalid("its hosts are out of order"));
            }
            if n > 0 {
                hosts.insert(name.clone().into_boxed_str(), n as u16);
            }
            host_names.push(name.into_boxed_str());
            prefix_lens.push(lens);
        }
        if std::str::from_utf8(&text).is_err() {
            return Err(ImageError::invalid("its text is not UTF-8"));
        }
        let exact = Table::read(inp, text.len(), count)?;
        let prefixes = Table::read(inp, text.len(), count)?;
        if exact.places() + prefixes.places() >= (u32::MAX / 4) as usize {
            return Err(ImageError::invalid("it has more places than a table may"));
        }
        let records = exact.places() + prefixes.places();
        Ok(Packed {
            text: Bytes::from(text),
            exact,
            prefixes,
            dirty: (0..records.div_ceil(64))
                .map(|_| AtomicU64::new(0))
                .collect(),
            hosts,
            host_names: host_names.into(),
            prefix_lens: prefix_lens.into(),
            state: Fast::with_seed(seed),
            seed,
            collapsed: AtomicBool::new(false),
        })
    }
}
