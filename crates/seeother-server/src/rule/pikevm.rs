//! A Pike VM over `regex-syntax`'s HIR, for expressions with look-around: the `regex` crate
//! runs everything else. A look-around is a zero-width assertion whose truth at each position
//! of the haystack is computed beforehand, in one pass over it, by running its body as a set
//! of threads started at every position (a lookahead's body reversed, from the end; a
//! lookbehind's forwards). The outer expression then runs with those positions as assertions.
//! Time is linear in the haystack times the size of the expression, look-around included;
//! matches are leftmost-first, as the `regex` crate (and PCRE) choose them.

use regex_syntax::hir::{Class, Hir, HirKind, Look};

/// Most instructions one program may hold (bounds memory and time per rule, as the `regex`
/// crate's size limit does).
const MAX_INSTS: usize = 20_000;

/// The first code point that stands for a look-around in the outer expression's text.
pub const PLACEHOLDER: u32 = 0xF0000;
/// How many look-arounds one expression may hold.
pub const MAX_AROUND: u32 = 0xFFF0;

#[derive(Clone, Debug)]
enum Inst {
    /// Consume one character in one of the ranges.
    Chars(Box<[(char, char)]>, usize),
    /// Go on at both; the first is preferred.
    Split(usize, usize),
    /// Record the position in slot N.
    Save(usize, usize),
    /// Go on when the assertion holds here.
    Look(Look, usize),
    /// Go on when look-around N holds here.
    Around(usize, usize),
    /// A match.
    Match,
}

/// A compiled expression.
#[derive(Clone, Debug)]
pub struct Program {
    insts: Vec<Inst>,
    start: usize,
    /// Consumes characters from the end towards the start.
    reverse: bool,
    /// Two per group, group 0 included (none in a look-around's body).
    slots: usize,
}

impl Program {
    /// Compile `hir`; `reverse` compiles it to be run from the end of the haystack (a
    /// lookahead's body). A look-around's body (`body`) may hold no capturing group.
    pub fn new(hir: &Hir, reverse: bool, body: bool) -> Result<Program, String> {
        let mut c = Compiler {
            insts: vec![Inst::Match],
            reverse,
            body,
            groups: 1,
        };
        let end = if body { 0 } else { c.push(Inst::Save(1, 0))? };
        let mut start = c.comp(hir, end)?;
        if !body {
            start = c.push(Inst::Save(0, start))?;
        }
        Ok(Program {
            slots: if body { 0 } else { 2 * c.groups },
            insts: c.insts,
            start,
            reverse,
        })
    }

    /// The number of groups, group 0 included.
    pub fn groups(&self) -> usize {
        self.slots / 2
    }
}

struct Compiler {
    insts: Vec<Inst>,
    reverse: bool,
    body: bool,
    groups: usize,
}

impl Compiler {
    fn push(&mut self, i: Inst) -> Result<usize, String> {
        if self.insts.len() >= MAX_INSTS {
            return Err("the expression is too large for the look-around engine".to_owned());
        }
        self.insts.push(i);
        Ok(self.insts.len() - 1)
    }

    /// Compile `h` to go on at `next`; returns where it starts.
    fn comp(&mut self, h: &Hir, next: usize) -> Result<usize, String> {
        match h.kind() {
            HirKind::Empty => Ok(next),
            HirKind::Literal(lit) => {
                let text = std::str::from_utf8(&lit.0)
                    .map_err(|_| "an expression that matches bytes, not text".to_owned())?;
                let mut at = next;
                let reverse = self.reverse;
                let mut one = |c: char, at: usize| match around_index(c) {
                    Some(n) => self.push(Inst::Around(n, at)),
                    None => self.push(Inst::Chars([(c, c)].into(), at)),
                };
                // The last character is compiled first (it goes on at `next`), unless the
                // program runs backwards.
                if reverse {
                    for c in text.chars() {
                        at = one(c, at)?;
                    }
                } else {
                    for c in text.chars().rev() {
                        at = one(c, at)?;
                    }
                }
                Ok(at)
            }
            HirKind::Class(class) => {
                let ranges: Box<[(char, char)]> = match class {
                    Class::Unicode(u) => u.ranges().iter().map(|r| (r.start(), r.end())).collect(),
                    Class::Bytes(b) if b.is_ascii() => b
                        .ranges()
                        .iter()
                        .map(|r| (char::from(r.start()), char::from(r.end())))
                        .collect(),
                    Class::Bytes(_) => {
                        return Err("a class of bytes beyond ASCII".to_owned());
                    }
                };
                // A placeholder is one character (case folding leaves it alone); the text
                // holds no other in its range, so a wider class is an ordinary one.
                if let [(a, b)] = &*ranges
                    && a == b
                    && let Some(n) = around_index(*a)
                {
                    return self.push(Inst::Around(n, next));
                }
                self.push(Inst::Chars(ranges, next))
            }
            HirKind::Look(look) => {
                supported(*look)?;
                self.push(Inst::Look(*look, next))
            }
            HirKind::Capture(cap) => {
                if self.body {
                    return Err("a capturing group inside a look-around; write it (?:…)".to_owned());
                }
                let n = cap.index as usize;
                self.groups = self.groups.max(n + 1);
                let close = self.push(Inst::Save(2 * n + 1, next))?;
                let inner = self.comp(&cap.sub, close)?;
                self.push(Inst::Save(2 * n, inner))
            }
            HirKind::Concat(parts) => {
                let mut at = next;
                if self.reverse {
                    for p in parts {
                        at = self.comp(p, at)?;
                    }
                } else {
                    for p in parts.iter().rev() {
                        at = self.comp(p, at)?;
                    }
                }
                Ok(at)
            }
            HirKind::Alternation(alts) => {
                let mut starts = Vec::with_capacity(alts.len());
                for a in alts {
                    starts.push(self.comp(a, next)?);
                }
                let mut at = starts.pop().unwrap_or(next);
                while let Some(s) = starts.pop() {
                    at = self.push(Inst::Split(s, at))?;
                }
                Ok(at)
            }
            HirKind::Repetition(rep) => {
                let split = |greedy: bool, body: usize, out: usize| {
                    if greedy {
                        Inst::Split(body, out)
                    } else {
                        Inst::Split(out, body)
                    }
                };
                let mut at = match rep.max {
                    None => {
                        let lp = self.push(Inst::Match)?;
                        let body = self.comp(&rep.sub, lp)?;
                        self.insts[lp] = split(rep.greedy, body, next);
                        lp
                    }
                    Some(max) => {
                        let mut at = next;
                        for _ in rep.min..max {
                            let body = self.comp(&rep.sub, at)?;
                            at = self.push(split(rep.greedy, body, next))?;
                        }
                        at
                    }
                };
                for _ in 0..rep.min {
                    at = self.comp(&rep.sub, at)?;
                }
                Ok(at)
            }
        }
    }
}

/// The look-around a placeholder character stands for.
fn around_index(c: char) -> Option<usize> {
    let c = u32::from(c);
    (PLACEHOLDER..PLACEHOLDER + MAX_AROUND)
        .contains(&c)
        .then(|| (c - PLACEHOLDER) as usize)
}

fn supported(look: Look) -> Result<(), String> {
    match look {
        Look::Start
        | Look::End
        | Look::StartLF
        | Look::EndLF
        | Look::StartCRLF
        | Look::EndCRLF
        | Look::WordAscii
        | Look::WordAsciiNegate
        | Look::WordUnicode
        | Look::WordUnicodeNegate => Ok(()),
        other => Err(format!("the assertion {other:?} together with look-around")),
    }
}

/// Whether `look` holds at `at` in `hay`.
fn holds(look: Look, hay: &str, at: usize) -> bool {
    let b = hay.as_bytes();
    let before = hay[..at].chars().next_back();
    let after = hay[at..].chars().next();
    let ascii = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    let word = |c: Option<char>| c.is_some_and(regex_syntax::is_word_character);
    match look {
        Look::Start => at == 0,
        Look::End => at == b.len(),
        Look::StartLF => at == 0 || b[at - 1] == b'\n',
        Look::EndLF => at == b.len() || b[at] == b'\n',
        Look::StartCRLF => {
            at == 0 || b[at - 1] == b'\n' || (b[at - 1] == b'\r' && b.get(at) != Some(&b'\n'))
        }
        Look::EndCRLF => {
            at == b.len() || b[at] == b'\r' || (b[at] == b'\n' && (at == 0 || b[at - 1] != b'\r'))
        }
        Look::WordAscii => ascii(before) != ascii(after),
        Look::WordAsciiNegate => ascii(before) == ascii(after),
        Look::WordUnicode => word(before) != word(after),
        Look::WordUnicodeNegate => word(before) == word(after),
        _ => false,
    }
}

/// The threads at one position: a set of instructions in priority order, with each one's
/// slots.
struct Threads {
    dense: Vec<usize>,
    sparse: Vec<usize>,
    slots: Vec<Option<usize>>,
}

impl Threads {
    fn new(insts: usize, slots: usize) -> Threads {
        Threads {
            dense: Vec::with_capacity(insts),
            sparse: vec![usize::MAX; insts],
            slots: vec![None; insts * slots],
        }
    }

    fn clear(&mut self) {
        self.dense.clear();
    }

    fn contains(&self, pc: usize) -> bool {
        let i = self.sparse[pc];
        i < self.dense.len() && self.dense[i] == pc
    }

    fn insert(&mut self, pc: usize) -> bool {
        if self.contains(pc) {
            return false;
        }
        self.sparse[pc] = self.dense.len();
        self.dense.push(pc);
        true
    }
}

enum Frame {
    Explore(usize),
    Restore(usize, Option<usize>),
}

/// One run's working memory.
struct Run<'a> {
    prog: &'a Program,
    hay: &'a str,
    arounds: &'a [Vec<bool>],
    stack: Vec<Frame>,
}

impl Run<'_> {
    /// Add the thread at `pc` (and all it reaches without consuming) to `list` at `at`.
    fn add(&mut self, list: &mut Threads, pc: usize, at: usize, cur: &mut [Option<usize>]) {
        let n = self.prog.slots;
        self.stack.push(Frame::Explore(pc));
        while let Some(frame) = self.stack.pop() {
            let mut pc = match frame {
                Frame::Restore(slot, old) => {
                    cur[slot] = old;
                    continue;
                }
                Frame::Explore(pc) => pc,
            };
            loop {
                if !list.insert(pc) {
                    break;
                }
                match &self.prog.insts[pc] {
                    Inst::Chars(..) | Inst::Match => {
                        list.slots[pc * n..(pc + 1) * n].copy_from_slice(cur);
                        break;
                    }
                    Inst::Split(a, b) => {
                        self.stack.push(Frame::Explore(*b));
                        pc = *a;
                    }
                    Inst::Save(slot, next) => {
                        self.stack.push(Frame::Restore(*slot, cur[*slot]));
                        cur[*slot] = Some(at);
                        pc = *next;
                    }
                    Inst::Look(look, next) => {
                        if !holds(*look, self.hay, at) {
                            break;
                        }
                        pc = *next;
                    }
                    Inst::Around(i, next) => {
                        if !self.arounds[*i].get(at).copied().unwrap_or(false) {
                            break;
                        }
                        pc = *next;
                    }
                }
            }
        }
    }
}

/// The positions of `hay` (byte offsets, `hay.len() + 1` of them) where the look-around
/// whose body is `prog` holds: a lookahead's body compiled reversed, a lookbehind's forward.
/// `arounds` are the look-arounds inside the body, already computed.
pub fn positions(prog: &Program, hay: &str, arounds: &[Vec<bool>], negate: bool) -> Vec<bool> {
    let mut out = vec![negate; hay.len() + 1];
    let mut run = Run {
        prog,
        hay,
        arounds,
        stack: Vec::new(),
    };
    let n = prog.insts.len();
    let (mut clist, mut nlist) = (Threads::new(n, 0), Threads::new(n, 0));
    let mut at = if prog.reverse { hay.len() } else { 0 };
    loop {
        run.add(&mut clist, prog.start, at, &mut []);
        if clist.contains(0) {
            out[at] = !negate;
        }
        let c = if prog.reverse {
            hay[..at].chars().next_back()
        } else {
            hay[at..].chars().next()
        };
        let Some(c) = c else { break };
        let next_at = if prog.reverse {
            at - c.len_utf8()
        } else {
            at + c.len_utf8()
        };
        nlist.clear();
        for &pc in &clist.dense {
            if let Inst::Chars(ranges, next) = &prog.insts[pc]
                && ranges.iter().any(|&(a, b)| a <= c && c <= b)
            {
                run.add(&mut nlist, *next, next_at, &mut []);
            }
        }
        std::mem::swap(&mut clist, &mut nlist);
        at = next_at;
    }
    out
}

/// The leftmost-first match of the forward program `prog` in `hay`: its slots (two per group:
/// start, end), or `None`. With `first`, stop at the first match found (its groups may not be
/// the ones preferred).
pub fn search(
    prog: &Program,
    hay: &str,
    arounds: &[Vec<bool>],
    first: bool,
) -> Option<Vec<Option<usize>>> {
    let n = prog.slots;
    let mut run = Run {
        prog,
        hay,
        arounds,
        stack: Vec::new(),
    };
    let len = prog.insts.len();
    let (mut clist, mut nlist) = (Threads::new(len, n), Threads::new(len, n));
    let mut cur = vec![None; n];
    let mut matched: Option<Vec<Option<usize>>> = None;
    let mut at = 0;
    loop {
        if matched.is_none() {
            cur.fill(None);
            run.add(&mut clist, prog.start, at, &mut cur);
        }
        if clist.dense.is_empty() {
            break;
        }
        let c = hay[at..].chars().next();
        let next_at = at + c.map_or(0, char::len_utf8);
        nlist.clear();
        for i in 0..clist.dense.len() {
            let pc = clist.dense[i];
            match &prog.insts[pc] {
                Inst::Match => {
                    matched = Some(clist.slots[pc * n..(pc + 1) * n].to_vec());
                    if first {
                        return matched;
                    }
                    // Threads after this one are less preferred.
                    break;
                }
                Inst::Chars(ranges, next) => {
                    if let Some(c) = c
                        && ranges.iter().any(|&(a, b)| a <= c && c <= b)
                    {
                        cur.copy_from_slice(&clist.slots[pc * n..(pc + 1) * n]);
                        run.add(&mut nlist, *next, next_at, &mut cur);
                    }
                }
                _ => {}
            }
        }
        std::mem::swap(&mut clist, &mut nlist);
        if c.is_none() {
            break;
        }
        at = next_at;
    }
    matched
}
