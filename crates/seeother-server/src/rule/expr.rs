//! A rule's regular expression: the `regex` crate's engines when they can run it, else
//! (look-around: `(?=…)`, `(?!…)`, `(?<=…)`, `(?<!…)`) the look-around engine of
//! [`super::pikevm`]. Both run in time linear in the input; what neither can run
//! (back-references) is refused with the reason.

use regex_automata::meta::{self, Regex};
use regex_automata::util::captures::Captures;
use regex_automata::{Input, PatternID};

use super::pikevm::{self, MAX_AROUND, PLACEHOLDER, Program};

/// A compiled expression.
#[derive(Clone, Debug)]
pub enum Expr {
    /// No look-around: the `regex` crate's engines (regex-automata's meta regex).
    Plain(Box<Plain>),
    /// With look-around.
    Around(Box<Around>),
}

/// An expression without look-around.
#[derive(Clone, Debug)]
pub struct Plain {
    text: Box<str>,
    re: Regex,
}

/// An expression with look-around: its look-arounds, innermost first, and the outer program.
#[derive(Clone, Debug)]
pub struct Around {
    text: Box<str>,
    /// Each look-around's body and whether it is negative.
    parts: Box<[(Program, bool)]>,
    outer: Program,
}

/// The groups of one match.
pub enum Caps<'h> {
    /// From the `regex` crate's engines.
    Plain(&'h str, Captures),
    /// From the look-around engine: two slots per group.
    Slots(&'h str, Vec<Option<usize>>),
}

/// The last line of an engine's error: what is wrong, without the pattern drawn above it.
fn reason(e: &dyn std::fmt::Display) -> String {
    e.to_string()
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// `text` parsed as the `regex` crate parses it (its defaults), case-insensitive with
/// `nocase`.
fn parse(text: &str, nocase: bool) -> Result<regex_syntax::hir::Hir, String> {
    regex_syntax::ParserBuilder::new()
        .case_insensitive(nocase)
        .build()
        .parse(text)
        .map_err(|e| reason(&e))
}

impl<'h> Caps<'h> {
    /// The text group `i` matched, if it took part.
    pub fn get(&self, i: usize) -> Option<&'h str> {
        match self {
            Caps::Plain(hay, c) => c.get_group(i).and_then(|m| hay.get(m.range())),
            Caps::Slots(hay, s) => match (s.get(2 * i)?, s.get(2 * i + 1)?) {
                (Some(a), Some(b)) => hay.get(*a..*b),
                _ => None,
            },
        }
    }
}

impl Expr {
    /// Compile `text` (case-insensitive with `nocase`); compiled size at most `size_limit`
    /// bytes on the `regex` crate. The error says what cannot run.
    pub fn new(text: &str, nocase: bool, size_limit: usize) -> Result<Expr, String> {
        let err = match parse(text, nocase) {
            Ok(hir) => {
                // No full DFA: building one is most of the time a small expression takes to
                // compile (w3id.org's 5,033 took 0.4 s of CPU), and the lazy DFA searches as
                // fast once warm.
                let config = meta::Config::new()
                    .dfa(false)
                    .nfa_size_limit(Some(size_limit))
                    .onepass_size_limit(Some(size_limit));
                return meta::Builder::new()
                    .configure(config)
                    .build_from_hir(&hir)
                    .map(|re| {
                        Expr::Plain(Box::new(Plain {
                            text: text.into(),
                            re,
                        }))
                    })
                    .map_err(|e| reason(&e));
            }
            Err(e) => e,
        };
        let mut split = Split::default();
        let outer = match split.text(text, 0) {
            Ok((outer, _)) if !split.parts.is_empty() => outer,
            Ok(_) => return Err(err),
            Err(why) => return Err(why),
        };
        if text
            .chars()
            .any(|c| (PLACEHOLDER..PLACEHOLDER + MAX_AROUND).contains(&u32::from(c)))
        {
            return Err("characters U+F0000 and above are not taken with look-around".to_owned());
        }
        let parse = |t: &str| parse(t, nocase);
        let mut parts = Vec::with_capacity(split.parts.len());
        for (body, kind) in &split.parts {
            let hir = parse(body)?;
            let prog = Program::new(&hir, kind.ahead(), true)?;
            parts.push((prog, kind.negative()));
        }
        let outer = Program::new(&parse(&outer)?, false, false)?;
        Ok(Expr::Around(Box::new(Around {
            text: text.into(),
            parts: parts.into(),
            outer,
        })))
    }

    /// Whether it matches somewhere in `hay`.
    pub fn is_match(&self, hay: &str) -> bool {
        match self {
            Expr::Plain(p) => p.re.is_match(hay),
            Expr::Around(a) => pikevm::search(&a.outer, hay, &a.positions(hay), true).is_some(),
        }
    }

    /// The groups of its leftmost-first match in `hay`.
    pub fn captures<'h>(&self, hay: &'h str) -> Option<Caps<'h>> {
        match self {
            Expr::Plain(p) => {
                let mut caps = p.re.create_captures();
                p.re.captures(Input::new(hay), &mut caps);
                caps.is_match().then_some(Caps::Plain(hay, caps))
            }
            Expr::Around(a) => {
                pikevm::search(&a.outer, hay, &a.positions(hay), false).map(|s| Caps::Slots(hay, s))
            }
        }
    }

    /// The number of groups, group 0 included.
    pub fn captures_len(&self) -> usize {
        match self {
            Expr::Plain(p) => p.re.group_info().group_len(PatternID::ZERO),
            Expr::Around(a) => a.outer.groups(),
        }
    }

    /// The expression as written.
    pub fn as_str(&self) -> &str {
        match self {
            Expr::Plain(p) => &p.text,
            Expr::Around(a) => &a.text,
        }
    }
}

impl Around {
    /// Where each look-around holds in `hay`, innermost first.
    fn positions(&self, hay: &str) -> Vec<Vec<bool>> {
        let mut sets: Vec<Vec<bool>> = Vec::with_capacity(self.parts.len());
        for (prog, negate) in self.parts.iter() {
            let set = pikevm::positions(prog, hay, &sets, *negate);
            sets.push(set);
        }
        sets
    }
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Ahead,
    NotAhead,
    Behind,
    NotBehind,
}

impl Kind {
    fn ahead(self) -> bool {
        matches!(self, Kind::Ahead | Kind::NotAhead)
    }

    fn negative(self) -> bool {
        matches!(self, Kind::NotAhead | Kind::NotBehind)
    }
}

/// The look-arounds taken out of an expression's text, innermost first, each replaced by the
/// placeholder character of its number.
#[derive(Default)]
struct Split {
    parts: Vec<(String, Kind)>,
}

impl Split {
    /// Copy `t` from byte `i` up to its end or the `)` that closes the group it is in; returns
    /// the copy and where it stopped (at the `)`).
    fn text(&mut self, t: &str, mut i: usize) -> Result<(String, usize), String> {
        let b = t.as_bytes();
        let mut out = String::new();
        let mut depth = 0usize;
        while i < b.len() {
            let rest = &t[i..];
            let kind = [
                ("(?=", Kind::Ahead),
                ("(?!", Kind::NotAhead),
                ("(?<=", Kind::Behind),
                ("(?<!", Kind::NotBehind),
            ]
            .into_iter()
            .find(|(open, _)| rest.starts_with(open));
            if let Some((open, kind)) = kind {
                let (body, close) = self.text(t, i + open.len())?;
                if close >= b.len() {
                    return Err(format!("the look-around at byte {i} is not closed"));
                }
                let n = u32::try_from(self.parts.len())
                    .ok()
                    .filter(|n| *n < MAX_AROUND)
                    .ok_or("too many look-arounds")?;
                self.parts.push((body, kind));
                out.push(char::from_u32(PLACEHOLDER + n).unwrap_or('\u{F0000}'));
                i = close + 1;
                continue;
            }
            // Inline flags would not reach the bodies taken out.
            if rest.starts_with("(?") && rest[2..].starts_with(|c: char| "imsxuUR-".contains(c)) {
                return Err(
                    "inline flags ((?i) …) together with look-around; use the rule's nocase"
                        .to_owned(),
                );
            }
            match b[i] {
                b'\\' => {
                    let len = rest[1..].chars().next().map_or(0, char::len_utf8);
                    out.push_str(&rest[..1 + len]);
                    i += 1 + len;
                    continue;
                }
                b'[' => {
                    let end = class_end(t, i).ok_or("a character class is not closed")?;
                    out.push_str(&t[i..end]);
                    i = end;
                    continue;
                }
                b'(' => depth += 1,
                b')' if depth == 0 => return Ok((out, i)),
                b')' => depth -= 1,
                _ => {}
            }
            let len = rest.chars().next().map_or(1, char::len_utf8);
            out.push_str(&rest[..len]);
            i += len;
        }
        Ok((out, i))
    }
}

/// The byte after the `]` that closes the class opened at `i` (a `]` first in the class is
/// itself, `[:name:]` and nested classes are whole).
fn class_end(t: &str, i: usize) -> Option<usize> {
    let b = t.as_bytes();
    let mut j = i + 1;
    if b.get(j) == Some(&b'^') {
        j += 1;
    }
    if b.get(j) == Some(&b']') {
        j += 1;
    }
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            b'[' if b.get(j + 1) == Some(&b':') => {
                j = t[j + 2..].find(":]").map(|k| j + 2 + k + 2)?;
            }
            b'[' => j = class_end(t, j)?,
            b']' => return Some(j + 1),
            _ => j += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn around(text: &str) -> Expr {
        let e = Expr::new(text, false, 1 << 20).unwrap();
        assert!(
            matches!(e, Expr::Around(_)),
            "{text} ran on the regex crate"
        );
        e
    }

    fn groups(e: &Expr, hay: &str) -> Option<Vec<Option<String>>> {
        let c = e.captures(hay)?;
        Some(
            (0..e.captures_len())
                .map(|i| c.get(i).map(str::to_owned))
                .collect(),
        )
    }

    fn some(v: &[Option<&str>]) -> Option<Vec<Option<String>>> {
        Some(v.iter().map(|s| s.map(str::to_owned)).collect())
    }

    #[test]
    fn without_look_around_the_regex_crate_runs_it() {
        let e = Expr::new("^a(b)$", false, 1 << 20).unwrap();
        assert!(matches!(e, Expr::Plain(_)));
        assert_eq!(groups(&e, "ab"), some(&[Some("ab"), Some("b")]));
    }

    #[test]
    fn positive_lookahead() {
        let e = around(r"^(\w+)(?=\.ttl$)");
        assert_eq!(groups(&e, "core.ttl"), some(&[Some("core"), Some("core")]));
        assert_eq!(groups(&e, "core.ttl2"), None);
    }

    #[test]
    fn negative_lookahead_inside_a_group() {
        let e = around(r"^(specialist|organization)/((?!synthetic-)[A-Za-z0-9._~-]+)/?$");
        assert_eq!(
            groups(&e, "organization/acme/"),
            some(&[
                Some("organization/acme/"),
                Some("organization"),
                Some("acme")
            ])
        );
        assert_eq!(groups(&e, "organization/synthetic-x"), None);
        assert!(e.is_match("specialist/synthetic"));
        let agri = around(r"^agri/(?!.*context)(.*)$");
        assert_eq!(
            groups(&agri, "agri/a/b"),
            some(&[Some("agri/a/b"), Some("a/b")])
        );
        assert!(!agri.is_match("agri/a/context.jsonld"));
    }

    #[test]
    fn lookbehind_both_ways() {
        let e = around(r"^([a-z][a-zA-Z]*(?<!/))$");
        assert_eq!(groups(&e, "abC"), some(&[Some("abC"), Some("abC")]));
        let not = around(r"(?<!x)y");
        assert_eq!(groups(&not, "xyzy"), some(&[Some("y")]));
        let c = not.captures("xyzy").unwrap();
        assert_eq!(c.get(0), Some("y"));
        let Caps::Slots(_, s) = c else { panic!() };
        assert_eq!(s[0], Some(3), "the first y follows an x");
        let pos = around(r"(?<=a+)b(c)");
        assert_eq!(groups(&pos, "xaabc"), some(&[Some("bc"), Some("c")]));
        assert!(!pos.is_match("xbc"));
    }

    #[test]
    fn an_accept_field_with_q_zero_is_refused() {
        let e = around(
            r"(?:^|,)\s*application/ld\+json\s*(?=;|,|$)(?![^,]*;\s*q\s*=\s*0(?:\.0*)?\s*(?:;|,|$))",
        );
        assert!(e.is_match("application/ld+json"));
        assert!(e.is_match("text/html,application/ld+json;q=0.9"));
        assert!(e.is_match("application/ld+json;q=0.5, text/html;q=0"));
        assert!(!e.is_match("application/ld+json;q=0"));
        assert!(!e.is_match("application/ld+json ; q = 0.000"));
        assert!(!e.is_match("application/ld+jsonx"));
        assert!(!e.is_match("text/html"));
    }

    #[test]
    fn nested_look_around_and_case() {
        let e = around(r"^a(?=b(?!c))");
        assert!(e.is_match("abd") && e.is_match("ab") && !e.is_match("abc"));
        let nocase = Expr::new(r"^(?!ONT)([a-z]+)$", true, 1 << 20).unwrap();
        assert!(!nocase.is_match("ontology") && nocase.is_match("Data"));
        let e = around(r"^x(?=[)(]|\))");
        assert!(e.is_match("x(") && e.is_match("x)") && !e.is_match("xa"));
    }

    #[test]
    fn leftmost_first_as_the_regex_crate() {
        for (pat, hay) in [
            (r"(a|ab)(c|bcd)(d*)", "abcd"),
            (r"(a+?)(a*)", "aaa"),
            (r"(a*)*(b)", "aab"),
            (r"(x?)*?y", "xxy"),
        ] {
            let re = regex::Regex::new(pat).unwrap();
            let e = around(&format!("(?=[\\s\\S]){pat}"));
            let want: Vec<Option<String>> = (0..re.captures_len())
                .map(|i| {
                    re.captures(hay)
                        .unwrap()
                        .get(i)
                        .map(|m| m.as_str().to_owned())
                })
                .collect();
            assert_eq!(groups(&e, hay), Some(want), "{pat}");
        }
    }

    #[test]
    fn what_cannot_run_is_refused_with_the_reason() {
        let e = Expr::new(r"(a)\1", false, 1 << 20).unwrap_err();
        assert!(e.contains("backreferences"), "{e}");
        let e = Expr::new(r"(?=(a))a", false, 1 << 20).unwrap_err();
        assert!(e.contains("capturing group inside a look-around"), "{e}");
        let e = Expr::new(r"(?i)a(?=b)", false, 1 << 20).unwrap_err();
        assert!(e.contains("inline flags"), "{e}");
        let e = Expr::new(r"a(?=b", false, 1 << 20).unwrap_err();
        assert!(e.contains("not closed"), "{e}");
    }

    #[test]
    fn a_pathological_input_is_answered_in_linear_time() {
        let e = around(r"^(?!z)(a|a)*(a|aa)*b$");
        let hay = "a".repeat(8192);
        let t = std::time::Instant::now();
        assert!(!e.is_match(&hay));
        assert!(e.captures(&hay).is_none());
        let mut b = hay.clone();
        b.push('b');
        assert_eq!(
            e.captures(&b).and_then(|c| c.get(0)).map(str::len),
            Some(8193)
        );
        // Backtracking takes 2^8192 steps; this takes milliseconds (seconds unoptimised).
        assert!(
            t.elapsed() < std::time::Duration::from_secs(20),
            "{:?}",
            t.elapsed()
        );
    }
}
