//! Which steps of a large group can match a path, found without running them: each step's
//! regular expression is read for the literal text every match of it starts with (when it is
//! anchored with `^`), and the group files its steps by that text. A request then runs only
//! the steps whose text its path starts with, and those nothing is known of, in their order:
//! the cost of a request no longer grows with the number of steps in its group.

use std::collections::HashMap;

use foldhash::fast::FixedState;
use regex_syntax::hir::Look;
use regex_syntax::hir::literal::{ExtractKind, Extractor};

use super::Step;

/// Groups with fewer steps run them all: looking up takes longer than trying so few.
pub const MIN_STEPS: usize = 8;

/// More literals than this for one step: it is tried on every path.
const MAX_LITERALS: usize = 32;

/// The literals every match of `regex` starts with, when it is anchored at the start of the
/// text: ASCII-lowercased with `nocase`. `None` when nothing is known (not anchored, a match
/// may start with anything, or the engine's parser cannot read it: look-around).
pub fn anchored_literals(regex: &str, nocase: bool) -> Option<Vec<Box<[u8]>>> {
    // Parsed as written: with `nocase` the literals are compared without regard to ASCII
    // case, which a case-folded parse would spell out as every mix of cases.
    let hir = regex_syntax::ParserBuilder::new()
        .build()
        .parse(regex)
        .ok()?;
    if !hir.properties().look_set_prefix().contains(Look::Start) {
        return None;
    }
    let seq = Extractor::new().kind(ExtractKind::Prefix).extract(&hir);
    let literals = seq.literals()?;
    if literals.is_empty() || literals.len() > MAX_LITERALS {
        return None;
    }
    let mut out = Vec::with_capacity(literals.len());
    for lit in literals {
        let bytes = lit.as_bytes();
        // Empty: every path starts with it. Not ASCII without case: Unicode's case folding
        // pairs ASCII letters with others (K with U+212A), which a byte comparison misses.
        if bytes.is_empty() || (nocase && !bytes.is_ascii()) {
            return None;
        }
        out.push(if nocase {
            bytes.to_ascii_lowercase()
        } else {
            bytes.to_vec()
        });
    }
    // A literal that starts with another adds nothing: the path starts with the shorter one
    // whenever it starts with the longer.
    out.sort_unstable();
    let mut kept: Vec<Box<[u8]>> = Vec::with_capacity(out.len());
    for lit in out {
        if !kept.last().is_some_and(|k| lit.starts_with(k)) {
            kept.push(lit.into());
        }
    }
    Some(kept)
}

/// A group's steps filed by the literal text their matches start with.
#[derive(Clone, Debug, Default)]
pub struct StepFilter {
    /// Steps tried on every path, in order.
    always: Box<[u32]>,
    /// Case-sensitive literal → its steps.
    exact: HashMap<Box<[u8]>, Vec<u32>, FixedState>,
    /// ASCII-lowercased literal → its steps (matched without regard to case).
    folded: HashMap<Box<[u8]>, Vec<u32>, FixedState>,
    /// The lengths of the literals, ascending, without repeats.
    lens: Box<[usize]>,
}

impl StepFilter {
    /// The filter of `steps`, or none for a group too small to need one.
    pub fn new(steps: &[Step]) -> Option<Self> {
        if steps.len() < MIN_STEPS {
            return None;
        }
        let mut f = StepFilter::default();
        let mut always = Vec::new();
        let mut lens = Vec::new();
        for (i, s) in steps.iter().enumerate() {
            let i = u32::try_from(i).ok()?;
            // A negated step applies where its regex does not match; a chained one that does
            // not apply skips the steps after it: both must be seen on every path.
            let literals = if s.negate || s.chain {
                None
            } else {
                anchored_literals(&s.regex, s.nocase)
            };
            let Some(literals) = literals else {
                always.push(i);
                continue;
            };
            let map = if s.nocase {
                &mut f.folded
            } else {
                &mut f.exact
            };
            for lit in literals {
                lens.push(lit.len());
                map.entry(lit).or_default().push(i);
            }
        }
        lens.sort_unstable();
        lens.dedup();
        f.always = always.into();
        f.lens = lens.into();
        Some(f)
    }

    /// The steps that can match `path`, in order: those whose literal `path` starts with, and
    /// those tried on every path. `None`: every step.
    pub fn candidates(&self, path: &str) -> Option<Vec<u32>> {
        let bytes = path.as_bytes();
        // A path that is not ASCII may match a case-insensitive literal through Unicode's
        // case folding.
        if !self.folded.is_empty() && !bytes.is_ascii() {
            return None;
        }
        let mut out = self.always.to_vec();
        let mut lower = Vec::new();
        if !self.folded.is_empty() {
            let longest = self.lens.last().copied().unwrap_or(0).min(bytes.len());
            lower = bytes[..longest].to_ascii_lowercase();
        }
        for &len in self.lens.iter() {
            if len > bytes.len() {
                break;
            }
            if let Some(steps) = self.exact.get(&bytes[..len]) {
                out.extend_from_slice(steps);
            }
            if !lower.is_empty()
                && let Some(steps) = self.folded.get(&lower[..len])
            {
                out.extend_from_slice(steps);
            }
        }
        out.sort_unstable();
        out.dedup();
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lits(regex: &str, nocase: bool) -> Option<Vec<String>> {
        anchored_literals(regex, nocase).map(|v| {
            v.into_iter()
                .map(|b| String::from_utf8(b.into()).unwrap())
                .collect()
        })
    }

    #[test]
    fn the_literals_an_anchored_regex_starts_with() {
        assert_eq!(lits("^ADD-ERM/?$", false).unwrap(), ["ADD-ERM"]);
        assert_eq!(lits("^ADD-ERM/?$", true).unwrap(), ["add-erm"]);
        let mut kds = lits("^(KDs|kds).*$", false).unwrap();
        kds.sort();
        assert_eq!(kds, ["KDs", "kds"]);
        assert_eq!(lits("^v[12]/(.*)$", false).unwrap(), ["v1/", "v2/"]);
        // Not anchored, anchored after a newline only, or any start: nothing known.
        assert_eq!(lits("ADD-ERM", false), None);
        assert_eq!(lits("(?m)^ADD", false), None);
        assert_eq!(lits("^(.*)$", false), None);
        assert_eq!(lits("^$", false), None);
        assert_eq!(lits("^a?b", false).unwrap(), ["ab", "b"]);
        assert_eq!(lits("^(a|ab|b)c", false).unwrap(), ["abc", "ac", "bc"]);
        assert_eq!(lits("^(a|ab)", false).unwrap(), ["a"]);
        // Look-around is not read; neither is a non-ASCII literal without case.
        assert_eq!(lits("^a(?=b)", false), None);
        assert_eq!(lits("^été", true), None);
        assert_eq!(lits("^été", false).unwrap(), ["été"]);
    }

    fn step(regex: &str, nocase: bool) -> Step {
        Step {
            regex: regex.to_owned(),
            nocase,
            ..Step::default()
        }
    }

    fn group(n: usize) -> Vec<Step> {
        (0..n).map(|i| step(&format!("^id{i}/?$"), false)).collect()
    }

    #[test]
    fn small_groups_run_every_step() {
        assert!(StepFilter::new(&group(MIN_STEPS - 1)).is_none());
        assert!(StepFilter::new(&group(MIN_STEPS)).is_some());
    }

    #[test]
    fn candidates_keep_the_steps_order() {
        let mut steps = group(20);
        steps[3] = step("^(.*)$", false);
        steps[5].negate = true;
        steps[7].chain = true;
        steps[9] = step("^ID1", true);
        let f = StepFilter::new(&steps).unwrap();
        // id1 and id1x…: step 1 (its literal "id1"), 9 (case aside), the unknown ones.
        assert_eq!(f.candidates("id1").unwrap(), [1, 3, 5, 7, 9]);
        assert_eq!(f.candidates("Id1").unwrap(), [3, 5, 7, 9]);
        assert_eq!(f.candidates("id12").unwrap(), [1, 3, 5, 7, 9, 12]);
        assert_eq!(f.candidates("x").unwrap(), [3, 5, 7]);
        assert_eq!(f.candidates("").unwrap(), [3, 5, 7]);
        // Not ASCII with case-insensitive steps: every step.
        assert_eq!(f.candidates("\u{212A}"), None);
    }
}
