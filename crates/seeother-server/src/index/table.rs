//! The open-addressed table of packed records: linear probing over a quarter more places than
//! rules, one tag byte per place (a filter of the hash, like a SwissTable's control bytes)
//! read eight at a time, and the records in the places themselves. Rules are inserted
//! straight into their places while the table is built, so closing it moves nothing.

use super::image::{ImageError, In, Out};
use std::sync::atomic::{AtomicU8, AtomicU64};

/// One packed rule, or an empty place: its text is `matcher`, then the target. Everything a
/// request touches beside the text (counter and target check included) is in these 32
/// bytes, so answering costs about one cache miss here and one in the text. The rule's id,
/// needed only to flush counters, is kept apart ([`Table::ids`]).
#[derive(Debug, Default)]
#[repr(align(32))]
pub(super) struct Slot {
    /// Hits since the last flush.
    pub(super) hits: AtomicU64,
    pub(super) start: u32,
    pub(super) matcher_len: u32,
    pub(super) target_len: u32,
    /// The high half of the rule's hash: where its probe starts, and a filter before the
    /// matcher's text is compared.
    pub(super) hash: u32,
    pub(super) host: u16,
    /// [`USED`] and what the rule does (see `packed.rs`).
    pub(super) flags: u8,
    /// Whether the target is its own wire form (see `packed.rs`).
    pub(super) checked: AtomicU8,
}

/// `len` empty places, with room for `capacity`, in memory the system gives zeroed: its
/// pages become resident only as records are written into them (in order, when a table is
/// built), not all at once as writing `len` empty places would make them; a table of
/// 1,000,000 rules is 40 MB of places.
fn zeroed_slots(len: usize, capacity: usize) -> Vec<Slot> {
    let capacity = capacity.max(len).max(1);
    let Ok(layout) = std::alloc::Layout::array::<Slot>(capacity) else {
        let mut slots = Vec::with_capacity(capacity);
        slots.resize_with(len, Slot::default);
        return slots;
    };
    // SAFETY: the layout is of `capacity` slots (not zero-sized: capacity ≥ 1 and a slot is
    // 32 bytes); an empty place is all zeros (`Slot::default`: integers and atomics at 0), so
    // the first `len` zeroed slots are initialised values; the Vec is given the pointer, the
    // length and the capacity of the global allocator's allocation of that layout, which is
    // what it frees with.
    unsafe {
        let ptr = std::alloc::alloc_zeroed(layout).cast::<Slot>();
        if ptr.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        Vec::from_raw_parts(ptr, len, capacity)
    }
}

/// A place holding a rule (places without are empty).
pub(super) const USED: u8 = 128;

/// Tags read at once.
const GROUP: usize = 8;

/// The tag of a record with hash `h`: never 0 (an empty place).
fn tag(h: u32) -> u8 {
    (h as u8).max(1)
}

/// The high bit of each byte of `x` that is zero, exact up to the lowest zero byte (a borrow
/// can mark a byte above it too, which only adds a candidate that the full check turns down).
fn zero_bytes(x: u64) -> u64 {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// Records of one kind (exact paths, or prefixes) in their places.
#[derive(Debug, Default)]
pub(super) struct Table {
    /// `homes` home places, the places records were pushed to past the last home, and one
    /// empty place that ends every probe. A `Vec`, never shrunk: shrinking would copy it (its
    /// alignment is above what `realloc` keeps), and room never written is address space only.
    slots: Vec<Slot>,
    /// One per place, then [`GROUP`] zeros: 0 for an empty place, else [`tag`] of its hash.
    tags: Vec<u8>,
    /// The store id of the rule in each place (0 for empty places).
    ids: Vec<i64>,
    homes: u32,
    rules: u32,
}

impl Table {
    /// A table with room for `rules` rules before it grows.
    pub(super) fn with_room(rules: usize) -> Self {
        let homes = (rules + rules / 4).clamp(1, (u32::MAX / 4) as usize);
        let mut table = Table {
            // A few places past the last home are reserved with the rest.
            slots: zeroed_slots(homes + 1, homes + 1024),
            tags: Vec::new(),
            ids: Vec::new(),
            homes: homes as u32,
            rules: 0,
        };
        table.tags = vec![0; homes + 1 + GROUP];
        table.ids = vec![0; homes + 1];
        table
    }

    /// Back the records with huge pages (see [`super::huge`]); gives the bytes asked for.
    pub(super) fn collapse(&self) -> usize {
        super::huge::collapse(&self.slots)
    }

    /// How many rules.
    pub(super) fn rules(&self) -> usize {
        self.rules as usize
    }

    /// How many places (the numbers of records run from 0 to this).
    pub(super) fn places(&self) -> usize {
        self.slots.len()
    }

    /// The record in place `n` (an empty one past the end).
    pub(super) fn slot(&self, n: usize) -> Option<&Slot> {
        self.slots.get(n)
    }

    /// The store id of the rule in place `n`.
    pub(super) fn id(&self, n: usize) -> i64 {
        self.ids.get(n).copied().unwrap_or_default()
    }

    /// The home place of a record with hash `h`: where its probe starts.
    #[inline]
    pub(super) fn home(&self, h: u32) -> usize {
        ((u64::from(h) * u64::from(self.homes)) >> 32) as usize
    }

    /// The place of the record with hash `h` for which `same` holds, or else the empty
    /// place where such a record would go.
    #[inline]
    pub(super) fn probe(&self, h: u32, same: impl Fn(&Slot) -> bool) -> Result<usize, usize> {
        let start = self.home(h);
        let want = u64::from_ne_bytes([tag(h); GROUP]);
        let mut at = start;
        // Linear probing: a record is never past the first empty place after its home, and
        // the last place is always empty (`tags` has GROUP zeros past it).
        loop {
            let Some(bytes) = self.tags.get(at..at + GROUP) else {
                return Err(self.slots.len() - 1);
            };
            let group = u64::from_le_bytes(bytes.try_into().unwrap_or([0; GROUP]));
            let empty = zero_bytes(group);
            // Candidates before the first empty place, in order.
            let before = match empty {
                0 => u64::MAX,
                e => (e & e.wrapping_neg()) - 1,
            };
            let mut candidates = zero_bytes(group ^ want) & before;
            while candidates != 0 {
                let n = at + candidates.trailing_zeros() as usize / 8;
                candidates &= candidates - 1;
                if self.slots[n].hash == h && same(&self.slots[n]) {
                    return Ok(n);
                }
            }
            if empty != 0 {
                return Err(at + empty.trailing_zeros() as usize / 8);
            }
            at += GROUP;
        }
    }

    /// Put `slot` (rule `id`) in place `n`, an empty place [`Table::probe`] gave for it or
    /// the place of the rule it replaces; gives the place back. Grows the table first when
    /// it is four fifths full, so a place found before the call may change.
    pub(super) fn put(&mut self, n: Result<usize, usize>, slot: Slot, id: i64) -> usize {
        let n = match n {
            Ok(n) => n,
            Err(n) if self.rules < self.homes - self.homes / 5 => {
                self.rules += 1;
                n
            }
            Err(_) => {
                self.grow();
                self.rules += 1;
                self.free_place(slot.hash)
            }
        };
        self.place(n, slot, id);
        n
    }

    /// Write `slot` into place `n`, keeping one empty place after the last record.
    fn place(&mut self, n: usize, slot: Slot, id: i64) {
        if n + 1 == self.slots.len() {
            self.slots.push(Slot::default());
            self.ids.push(0);
            self.tags.push(0);
        }
        self.tags[n] = tag(slot.hash);
        self.slots[n] = slot;
        self.ids[n] = id;
    }

    /// The first empty place from the home of hash `h` on.
    fn free_place(&self, h: u32) -> usize {
        match self.probe(h, |_| false) {
            Ok(n) | Err(n) => n,
        }
    }

    /// Room for twice the rules, every record placed again (in the order of their places).
    fn grow(&mut self) {
        let room = (self.rules as usize + 1) * 2;
        let old = std::mem::replace(self, Table::with_room(room));
        self.rules = old.rules;
        for (slot, id) in old.slots.into_iter().zip(old.ids) {
            if slot.flags & USED != 0 {
                let n = self.free_place(slot.hash);
                self.place(n, slot, id);
            }
        }
    }

    /// Every used place.
    pub(super) fn used(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.slots.len()).filter(|&n| self.slots[n].flags & USED != 0)
    }
}

impl Table {
    /// Write the table to a snapshot (counters and target checks are not kept).
    pub(super) fn write<W: std::io::Write>(&self, out: &mut Out<W>) -> std::io::Result<()> {
        out.u32(self.homes)?;
        out.u32(self.rules)?;
        out.u64(self.slots.len() as u64)?;
        let mut buf = Vec::with_capacity(SLOT_BYTES * 4096);
        for chunk in self.slots.chunks(4096) {
            buf.clear();
            for s in chunk {
                buf.extend_from_slice(&s.start.to_le_bytes());
                buf.extend_from_slice(&s.matcher_len.to_le_bytes());
                buf.extend_from_slice(&s.target_len.to_le_bytes());
                buf.extend_from_slice(&s.hash.to_le_bytes());
                buf.extend_from_slice(&s.host.to_le_bytes());
                buf.push(s.flags);
                buf.push(0);
            }
            out.bytes(&buf)?;
        }
        out.bytes(&self.tags)?;
        for chunk in self.ids.chunks(4096) {
            buf.clear();
            for id in chunk {
                buf.extend_from_slice(&id.to_le_bytes());
            }
            out.bytes(&buf)?;
        }
        Ok(())
    }

    /// Read a table [`Table::write`] wrote, whose records' text is `text` bytes long and
    /// whose hosts are numbered below `hosts`: every record is checked to lie in the text and
    /// every probe to end inside the table, so nothing read can make a lookup go out of bounds.
    pub(super) fn read<R: std::io::Read>(
        inp: &mut In<R>,
        text: usize,
        hosts: usize,
    ) -> Result<Table, ImageError> {
        let homes = inp.u32()?;
        let rules = inp.u32()?;
        let places = inp.count(SLOT_BYTES + 1 + 8, "places")?;
        if homes == 0 || places <= homes as usize || rules as usize >= places {
            return Err(ImageError::invalid("a table's sizes do not fit together"));
        }
        let mut slots = Vec::with_capacity(places);
        let mut buf = vec![0; SLOT_BYTES * 4096];
        let mut used = 0usize;
        while slots.len() < places {
            let n = (places - slots.len()).min(4096);
            let bytes = &mut buf[..n * SLOT_BYTES];
            inp.fill(bytes)?;
            for r in bytes.chunks_exact(SLOT_BYTES) {
                let word = |i: usize| u32::from_le_bytes([r[i], r[i + 1], r[i + 2], r[i + 3]]);
                let slot = Slot {
                    hits: AtomicU64::new(0),
                    start: word(0),
                    matcher_len: word(4),
                    target_len: word(8),
                    hash: word(12),
                    host: u16::from_le_bytes([r[16], r[17]]),
                    flags: r[18],
                    checked: AtomicU8::new(0),
                };
                if slot.flags & USED != 0 {
                    let end = u64::from(slot.start)
                        + u64::from(slot.matcher_len)
                        + u64::from(slot.target_len);
                    if end > text as u64 || usize::from(slot.host) >= hosts {
                        return Err(ImageError::invalid("a record points outside the text"));
                    }
                    used += 1;
                }
                slots.push(slot);
            }
        }
        let tags = inp.bytes(places + GROUP)?;
        // Every probe ends at an empty place: the last place and the padding are empty, and
        // a tag is set exactly where a record is.
        let tags_agree = slots
            .iter()
            .zip(&tags)
            .all(|(s, &t)| (s.flags & USED != 0) == (t != 0) && (t == 0 || t == tag(s.hash)));
        if used != rules as usize
            || slots[places - 1].flags & USED != 0
            || tags[places..].iter().any(|&t| t != 0)
            || !tags_agree
        {
            return Err(ImageError::invalid("a table's places and tags disagree"));
        }
        let mut ids = Vec::with_capacity(places);
        let mut left = places;
        while left > 0 {
            let n = left.min(4096);
            let bytes = &mut buf[..n * 8];
            inp.fill(bytes)?;
            ids.extend(
                bytes
                    .chunks_exact(8)
                    .map(|b| i64::from_le_bytes(b.try_into().unwrap_or([0; 8]))),
            );
            left -= n;
        }
        Ok(Table {
            slots,
            tags,
            ids,
            homes,
            rules,
        })
    }
}

/// Bytes of one record in a snapshot.
const SLOT_BYTES: usize = 20;
