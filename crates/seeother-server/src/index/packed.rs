//! The packed table: plain rules (exact paths and prefixes whose answer has no header field of
//! its own, nearly every rule of a large table) stored for memory and start-up time.
//!
//! All their text lives in one shared buffer; each rule is a fixed 32-byte record, and the
//! records themselves are the hash table: open addressing with linear probing, a quarter more
//! places than rules. Beside the records, one tag byte per place (a filter of the hash, like
//! the control bytes of a SwissTable) lets a probe skip records without reading them. A
//! lookup reads a few tag bytes (small enough to stay cached), about one record and the
//! rule's text, with no separate bucket array to miss in. Nothing is allocated per rule, and
//! answering shares the buffer's bytes (the `Location` value and the note's link are slices
//! of it). Targets were stored in their wire form (rule validation puts them so), which the
//! first request for each rule confirms; loading parses nothing. Hit counters are in the
//! records, with a bitmap of the records counted since the last flush, so a flush visits only
//! the rules that were asked for.

use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

use bytes::Bytes;
use hashbrown::HashTable;
use seeother_core::location::{Location, LocationError};
use seeother_core::respond::RedirectStatus;

use super::RuleParts;
use crate::rule::{Kind, QueryMode};

/// Host number of rules for any host.
pub(crate) const ANY_HOST: u16 = 0;

/// A rule's target not yet checked against [`Location::parse`].
const UNCHECKED: u8 = 0;
/// A target that is its own wire form: sent straight from the table's bytes.
const WIRE: u8 = 1;
/// A target that is not (edited in the store by hand): parsed for every request.
const NOT_WIRE: u8 = 2;

/// One packed rule, or an empty place in the table: its text is `matcher`, then the target.
/// Everything a request touches beside the text (counter and target check included) is in
/// these 32 bytes, so answering costs about one cache miss here and one in the text. The
/// rule's id, needed only to flush counters, is kept apart (`Packed::ids`).
#[derive(Debug, Default)]
#[repr(align(32))]
struct Slot {
    /// Hits since the last flush.
    hits: AtomicU64,
    start: u32,
    matcher_len: u32,
    target_len: u32,
    /// The high half of the rule's hash: where its probe starts, and a filter before the
    /// matcher's text is compared.
    hash: u32,
    host: u16,
    flags: u8,
    /// Whether the target is its own wire form ([`UNCHECKED`], [`WIRE`] or [`NOT_WIRE`]).
    checked: AtomicU8,
}

/// A place holding a rule (places without are empty).
const USED: u8 = 128;
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

/// The hasher of the tables: fast, seeded per process. Only rules (written by the operator) are
/// inserted; requests only look up, so there is no flooding to resist.
type Fast = foldhash::fast::RandomState;

fn hash(state: &Fast, host: u16, matcher: &[u8]) -> u64 {
    let mut h = state.build_hasher();
    h.write_u16(host);
    h.write(matcher);
    h.finish()
}

/// The high half of [`hash`], kept in each record.
fn hash32(state: &Fast, host: u16, matcher: &[u8]) -> u32 {
    (hash(state, host, matcher) >> 32) as u32
}

/// The tag of a record with hash `h` in `Packed::tags`: never 0 (an empty place).
fn tag(h: u32) -> u8 {
    (h as u8).max(1)
}

/// Tags read at once.
const GROUP: usize = 8;

/// The high bit of each byte of `x` that is zero, exact up to the lowest zero byte (a borrow
/// can mark a byte above it too, which only adds a candidate that the full check turns down).
fn zero_bytes(x: u64) -> u64 {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// One of the two tables (exact paths, prefixes) inside `Packed::slots`: `homes` home
/// positions from `base`, followed by the records pushed past the last home and one empty
/// place that ends every probe.
#[derive(Debug, Clone, Copy, Default)]
struct Region {
    base: u32,
    homes: u32,
    rules: u32,
}

impl Region {
    /// The home position of a rule with hash `h`, relative to `base` (a multiply-shift
    /// range reduction: the table need not be a power of two).
    #[inline]
    fn home(&self, h: u32) -> u32 {
        ((u64::from(h) * u64::from(self.homes)) >> 32) as u32
    }
}
/// Plain rules, packed. Immutable once built (but for the counters); shared by every version
/// of the index until rules are repacked.
#[derive(Debug)]
pub(crate) struct Packed {
    text: Bytes,
    /// The exact region, then the prefix region. A `Vec`, not a boxed slice: shrinking it
    /// to its length would copy it (its alignment is above what `realloc` keeps), and room
    /// past its length was never written, so it is address space only.
    slots: Vec<Slot>,
    /// One byte per place, then [`GROUP`] zeros: 0 when empty, else a tag of the record's
    /// hash ([`tag`]). A probe scans these (a few bytes of one cache line, small enough to
    /// stay cached) and reads only the records whose tag matches; the first empty place ends
    /// it.
    tags: Box<[u8]>,
    /// The store id of the rule in each place (0 for empty places).
    ids: Box<[i64]>,
    /// One bit per slot: counted since the last [`Packed::take_hits`].
    dirty: Box<[AtomicU64]>,
    exact: Region,
    prefixes: Region,
    hosts: HashMap<Box<str>, u16>,
    host_names: Box<[Box<str>]>,
    /// Per host number: the distinct prefix lengths, longest first.
    prefix_lens: Box<[Box<[u32]>]>,
    state: Fast,
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
    fn slot(&self, n: u32) -> &Slot {
        &self.slots[n as usize]
    }

    fn matcher_bytes(&self, s: &Slot) -> &[u8] {
        &self.text[s.start as usize..(s.start + s.matcher_len) as usize]
    }

    fn find(&self, region: &Region, host: u16, matcher: &str) -> Option<PackedRule<'_>> {
        if region.rules == 0 {
            return None;
        }
        let h = hash32(&self.state, host, matcher.as_bytes());
        let start = (region.base + region.home(h)) as usize;
        // Linear probing: a record is never past the first empty place after its home, and
        // every region ends with an empty place. Tags are read eight at a time (`tags` has
        // eight zero bytes past its last place).
        let want = u64::from_ne_bytes([tag(h); GROUP]);
        let mut at = start;
        loop {
            let group = u64::from_le_bytes(self.tags.get(at..at + GROUP)?.try_into().ok()?);
            let empty = zero_bytes(group);
            // Candidates before the first empty place, in order.
            let before = match empty {
                0 => u64::MAX,
                e => (e & e.wrapping_neg()) - 1,
            };
            let mut candidates = zero_bytes(group ^ want) & before;
            while candidates != 0 {
                let n = (at + candidates.trailing_zeros() as usize / 8) as u32;
                candidates &= candidates - 1;
                let s = self.slot(n);
                if s.hash == h && s.host == host && self.matcher_bytes(s) == matcher.as_bytes() {
                    return Some(PackedRule {
                        table: self,
                        slot: n,
                    });
                }
            }
            if empty != 0 {
                return None;
            }
            at += GROUP;
        }
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
        self.find(&self.exact, host, path)
    }

    /// The prefix rule `prefix` on host number `host`.
    pub(crate) fn prefix(&self, host: u16, prefix: &str) -> Option<PackedRule<'_>> {
        self.find(&self.prefixes, host, prefix)
    }

    /// The rule filed under `kind` and `matcher` on host number `host`.
    pub(crate) fn get(&self, host: u16, kind: Kind, matcher: &str) -> Option<PackedRule<'_>> {
        match kind {
            Kind::Path => self.find(&self.exact, host, matcher),
            Kind::Prefix => self.find(&self.prefixes, host, matcher),
            Kind::Pattern => None,
        }
    }

    /// The distinct prefix lengths of host number `host`, longest first.
    pub(crate) fn prefix_lens(&self, host: u16) -> &[u32] {
        self.prefix_lens.get(host as usize).map_or(&[], |l| l)
    }

    /// How many rules (each filed once).
    pub(crate) fn len(&self) -> usize {
        self.exact.rules as usize + self.prefixes.rules as usize
    }

    /// Every rule.
    pub(crate) fn rules(&self) -> impl Iterator<Item = PackedRule<'_>> {
        (0..self.slots.len() as u32)
            .filter(|&n| self.slot(n).flags & USED != 0)
            .map(|slot| PackedRule { table: self, slot })
    }

    /// Move the hits counted since the last call into `out`, as (rule id, hits), visiting only
    /// the rules counted meanwhile.
    pub(crate) fn take_hits(&self, out: &mut Vec<(i64, u64)>) {
        for (w, word) in self.dirty.iter().enumerate() {
            if word.load(Ordering::Relaxed) == 0 {
                continue;
            }
            let mut bits = word.swap(0, Ordering::Relaxed);
            while bits != 0 {
                let n = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let hits = self.slots[n].hits.swap(0, Ordering::Relaxed);
                if hits > 0 {
                    out.push((self.ids[n], hits));
                }
            }
        }
    }

    fn add_hits(&self, slot: u32, n: u64) {
        // The first count since a flush marks the rule; a count racing with the flush is
        // either taken by it or marks the rule again for the next one.
        if self.slots[slot as usize]
            .hits
            .fetch_add(n, Ordering::Relaxed)
            == 0
        {
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
        self.table.ids[self.slot as usize]
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

/// Fills a [`Packed`] table.
pub(crate) struct Builder {
    text: Vec<u8>,
    /// Records in the order pushed (replaced ones stay, unreferenced), laid out by `finish`.
    /// Until then each record's `hits` holds its rule's id.
    slots: Vec<Slot>,
    /// Record numbers, to find the rule a later push replaces.
    exact: HashTable<u32>,
    prefixes: HashTable<u32>,
    hosts: HashMap<Box<str>, u16>,
    host_names: Vec<Box<str>>,
    prefix_lens: Vec<BTreeSet<u32>>,
    /// Hits to give packed rules (by record number) once the table is closed.
    carried: Vec<(u32, u64)>,
    state: Fast,
}

impl Builder {
    /// A builder sized for `rules` rules with `text` bytes of text.
    pub(crate) fn with_capacity(rules: usize, text: usize) -> Self {
        Builder {
            text: Vec::with_capacity(text),
            // Laid out, the records take a quarter more places (and a few past the last
            // home): room for them is reserved now (address space only until written), so
            // they are moved in place, not copied to a larger buffer.
            slots: Vec::with_capacity(rules + rules / 4 + 4096),
            exact: HashTable::with_capacity(rules),
            prefixes: HashTable::new(),
            hosts: HashMap::new(),
            host_names: vec!["".into()],
            prefix_lens: vec![BTreeSet::new()],
            carried: Vec::new(),
            state: Fast::default(),
        }
    }

    /// Pack `rule` (a rule with the same host, kind and matcher as an earlier one replaces
    /// it). Gives the rule back when it is not plain or the table is full.
    pub(crate) fn push<'a>(&mut self, rule: RuleParts<'a>) -> Result<(), RuleParts<'a>> {
        let size = rule.matcher.len() + rule.to.len();
        if !rule.is_plain()
            || self.text.len() + size > u32::MAX as usize
            // Laid out, a table has a quarter more places than rules, numbered in `u32`.
            || self.slots.len() >= (u32::MAX / 2) as usize
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
                    self.prefix_lens.push(BTreeSet::new());
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
        let h = hash(&self.state, host, rule.matcher.as_bytes());
        let slot = Slot {
            start,
            matcher_len: rule.matcher.len() as u32,
            target_len: rule.to.len() as u32,
            hash: (h >> 32) as u32,
            host,
            flags: flags | USED,
            // The id, until `finish` moves it out.
            hits: AtomicU64::new(rule.id as u64),
            checked: AtomicU8::new(UNCHECKED),
        };
        let n = self.slots.len() as u32;
        self.slots.push(slot);
        let Builder {
            text,
            slots,
            exact,
            prefixes,
            state,
            ..
        } = self;
        let matcher_of = |n: u32| {
            let s = &slots[n as usize];
            (
                s.host,
                &text[s.start as usize..(s.start + s.matcher_len) as usize],
            )
        };
        let set = if prefix { prefixes } else { exact };
        match set.entry(
            h,
            |&m| matcher_of(m) == (host, rule.matcher.as_bytes()),
            |&m| {
                let (host, matcher) = matcher_of(m);
                hash(state, host, matcher)
            },
        ) {
            hashbrown::hash_table::Entry::Occupied(mut e) => {
                // The replaced record stays in the buffer, unused: `finish` leaves it out.
                let old = std::mem::replace(e.get_mut(), n);
                slots[old as usize].flags &= !USED;
            }
            hashbrown::hash_table::Entry::Vacant(e) => {
                e.insert(n);
                if prefix {
                    self.prefix_lens[host as usize].insert(rule.matcher.len() as u32);
                }
            }
        }
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
        };
        if self.push(parts).is_ok() {
            self.carry(rule.take_hits());
        }
    }

    /// Give the rule pushed last `n` hits counted before it was packed.
    pub(crate) fn carry(&mut self, n: u64) {
        if n > 0
            && let Some(last) = self.slots.len().checked_sub(1)
        {
            self.carried.push((last as u32, n));
        }
    }

    /// Close the table: lay each set's records out as its open-addressed table, moving them
    /// within the one buffer (no second copy of the records).
    pub(crate) fn finish(self) -> Packed {
        let Builder {
            text,
            mut slots,
            exact,
            prefixes,
            hosts,
            host_names,
            prefix_lens,
            carried,
            state,
        } = self;
        // Where each record goes; replaced records go nowhere.
        let mut place = vec![u32::MAX; slots.len()];
        let mut end = 0;
        let (exact_rules, prefix_rules) = (exact.len() as u32, prefixes.len() as u32);
        drop((exact, prefixes));
        let exact = plan(&slots, false, exact_rules, &mut place, &mut end);
        let prefixes = plan(&slots, true, prefix_rules, &mut place, &mut end);
        let carried: Vec<(u32, u64)> = carried
            .into_iter()
            .filter_map(|(n, hits)| Some((*place.get(n as usize)?, hits)))
            .filter(|&(p, _)| p != u32::MAX)
            .collect();
        let len = end as usize;
        if slots.len() < len {
            slots.resize_with(len, Slot::default);
            place.resize(len, u32::MAX);
        }
        // Each swap puts one record where it belongs, for good.
        for i in 0..slots.len() {
            while place[i] != u32::MAX && place[i] as usize != i {
                let j = place[i] as usize;
                slots.swap(i, j);
                place.swap(i, j);
            }
        }
        drop(place.split_off(len));
        slots.truncate(len);
        let ids: Vec<i64> = slots
            .iter_mut()
            .zip(place)
            .enumerate()
            .map(|(i, (s, p))| {
                if p as usize == i {
                    std::mem::take(s.hits.get_mut()) as i64
                } else {
                    // An empty place, or a replaced record left here by the swaps.
                    *s = Slot::default();
                    0
                }
            })
            .collect();
        let tags = slots
            .iter()
            .map(|s| if s.flags & USED != 0 { tag(s.hash) } else { 0 })
            .chain([0; GROUP])
            .collect();
        let dirty: Box<[AtomicU64]> = (0..len.div_ceil(64)).map(|_| AtomicU64::new(0)).collect();
        let packed = Packed {
            // Room guessed for and never written is address space only, not memory.
            text: Bytes::from(text),
            slots,
            tags,
            ids: ids.into(),
            dirty,
            exact,
            prefixes,
            hosts,
            host_names: host_names.into(),
            prefix_lens: prefix_lens
                .into_iter()
                .map(|lens| lens.into_iter().rev().collect())
                .collect(),
            state,
        };
        for (p, hits) in carried {
            packed.add_hits(p, hits);
        }
        packed
    }
}

/// Plan the region of the `rules` live records that are prefixes (or not), from place `end`
/// on (moved past it): a quarter more home places than rules, and linear probing in the
/// order pushed, so each record goes to the first free place from its home on (and no empty
/// place lies between a record and its home), then one empty place that ends every probe.
/// `place` learns where each record goes.
fn plan(slots: &[Slot], prefix: bool, rules: u32, place: &mut [u32], end: &mut u32) -> Region {
    let region = Region {
        base: *end,
        homes: rules.saturating_add(rules / 4).max(1),
        rules,
    };
    // At worst every record probes past the last home.
    let mut taken = vec![false; region.homes as usize + rules as usize + 1];
    let mut next = 0;
    for (n, s) in slots.iter().enumerate() {
        if s.flags & USED == 0 || (s.flags & PREFIX != 0) != prefix {
            continue;
        }
        let mut at = region.home(s.hash) as usize;
        while taken[at] {
            at += 1;
        }
        taken[at] = true;
        place[n] = region.base + at as u32;
        next = next.max(at as u32 + 1);
    }
    *end = region.base + region.homes.max(next) + 1;
    region
}
