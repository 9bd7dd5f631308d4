//! Path patterns (`/id/{name}`, `/docs/{*rest}`) and the target templates they fill.

use std::fmt;

/// One segment of a pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    /// Must equal this text.
    Literal(Box<str>),
    /// Matches one non-empty segment.
    Capture,
    /// Matches the rest of the path (zero or more segments); last only.
    Rest,
}

/// A compiled path pattern: `/`-separated segments, each a literal, a `{name}` capturing one
/// segment, or (last only) a `{*name}` capturing the rest of the path, slashes included.
///
/// ```
/// use seeother_server::rule::Pattern;
///
/// let p = Pattern::parse("/id/{name}/{*rest}").unwrap();
/// let caps = p.matches("/id/berlin/a/b").unwrap();
/// assert_eq!(caps.get(0), Some("berlin"));
/// assert_eq!(caps.get(1), Some("a/b"));
/// assert!(p.matches("/page/berlin").is_none());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    segments: Box<[Segment]>,
    names: Box<[Box<str>]>,
}

/// Values captured by a pattern, in the order of the pattern's names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Captures<'a> {
    values: Vec<&'a str>,
}

impl<'a> Captures<'a> {
    /// The value of the `i`-th capture.
    pub fn get(&self, i: usize) -> Option<&'a str> {
        self.values.get(i).copied()
    }

    /// Every value, in order.
    pub fn values(&self) -> &[&'a str] {
        &self.values
    }
}

/// Why a pattern or a template was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PatternError {
    /// A `{` without its `}` or the other way round.
    Unbalanced,
    /// A capture that is not a whole segment (`/id/x{name}`).
    PartialSegment(String),
    /// A capture name that is empty or holds characters other than letters, digits and `_`.
    BadName(String),
    /// The same name twice.
    Duplicate(String),
    /// `{*rest}` not in the last segment.
    RestNotLast,
    /// A target placeholder that the pattern does not capture.
    Unknown(String),
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PatternError::Unbalanced => {
                f.write_str("a `{` or `}` has no partner; write captures as `{name}`")
            }
            PatternError::PartialSegment(s) => write!(
                f,
                "segment `{s}` mixes text and a capture; a capture must be a whole segment such as `/{{name}}`"
            ),
            PatternError::BadName(s) => write!(
                f,
                "capture name `{s}` is not valid; use letters, digits and `_` (e.g. `{{name}}`)"
            ),
            PatternError::Duplicate(s) => write!(
                f,
                "capture `{s}` appears twice; give each capture its own name"
            ),
            PatternError::RestNotLast => f.write_str(
                "`{*name}` captures the rest of the path, so it must be the last segment",
            ),
            PatternError::Unknown(s) => write!(
                f,
                "the target uses `{{{s}}}` but the pattern captures no `{s}`; use one of the pattern's names"
            ),
        }
    }
}

impl std::error::Error for PatternError {}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

impl Pattern {
    /// Parse `pattern` (it starts with `/`; the caller checks that).
    pub fn parse(pattern: &str) -> Result<Self, PatternError> {
        let body = pattern.strip_prefix('/').unwrap_or(pattern);
        let parts: Vec<&str> = body.split('/').collect();
        let mut segments = Vec::with_capacity(parts.len());
        let mut names: Vec<Box<str>> = Vec::new();
        for (i, part) in parts.iter().enumerate() {
            let opens = part.matches('{').count();
            let closes = part.matches('}').count();
            if opens != closes || opens > 1 {
                return Err(if opens == closes {
                    PatternError::PartialSegment((*part).to_owned())
                } else {
                    PatternError::Unbalanced
                });
            }
            if opens == 0 {
                segments.push(Segment::Literal((*part).into()));
                continue;
            }
            let Some(inner) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) else {
                return Err(PatternError::PartialSegment((*part).to_owned()));
            };
            let (name, rest) = match inner.strip_prefix('*') {
                Some(name) => (name, true),
                None => (inner, false),
            };
            if !valid_name(name) {
                return Err(PatternError::BadName(name.to_owned()));
            }
            if names.iter().any(|n| &**n == name) {
                return Err(PatternError::Duplicate(name.to_owned()));
            }
            if rest && i + 1 != parts.len() {
                return Err(PatternError::RestNotLast);
            }
            names.push(name.into());
            segments.push(if rest {
                Segment::Rest
            } else {
                Segment::Capture
            });
        }
        Ok(Pattern {
            segments: segments.into(),
            names: names.into(),
        })
    }

    /// The capture names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(|n| &**n)
    }

    /// How many literal segments the pattern has (more is more specific).
    pub fn literal_segments(&self) -> usize {
        self.segments
            .iter()
            .filter(|s| matches!(s, Segment::Literal(_)))
            .count()
    }

    /// Whether the pattern ends with `{*rest}`.
    pub fn has_rest(&self) -> bool {
        matches!(self.segments.last(), Some(Segment::Rest))
    }

    /// The first segment when it is a literal (used to bucket patterns).
    pub fn first_literal(&self) -> Option<&str> {
        match self.segments.first() {
            Some(Segment::Literal(s)) => Some(s),
            _ => None,
        }
    }

    /// The captures when `path` matches.
    pub fn matches<'a>(&self, path: &'a str) -> Option<Captures<'a>> {
        let mut rest = path.strip_prefix('/')?;
        let mut values = Vec::with_capacity(self.names.len());
        let mut segments = self.segments.iter().peekable();
        while let Some(segment) = segments.next() {
            if let Segment::Rest = segment {
                values.push(rest);
                return Some(Captures { values });
            }
            let (head, tail) = match rest.find('/') {
                Some(i) => (&rest[..i], Some(&rest[i + 1..])),
                None => (rest, None),
            };
            match segment {
                Segment::Literal(lit) if **lit == *head => {}
                Segment::Capture if !head.is_empty() => values.push(head),
                _ => return None,
            }
            match (tail, segments.peek()) {
                (Some(t), Some(_)) => rest = t,
                (None, None) => return Some(Captures { values }),
                // `/docs` against `/docs/{*rest}`: the rest is empty.
                (None, Some(Segment::Rest)) => {
                    values.push("");
                    return Some(Captures { values });
                }
                _ => return None,
            }
        }
        None
    }
}

/// A target with `{name}` placeholders filled from a pattern's captures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template(Repr);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Repr {
    /// No placeholders (every rule but patterns): one allocation.
    Literal(Box<str>),
    Parts(Box<[Part]>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Text(Box<str>),
    Capture(usize),
}

impl Template {
    /// A template without placeholders: `text` verbatim.
    pub fn literal(text: &str) -> Self {
        Template(Repr::Literal(text.into()))
    }

    /// Parse `text`, whose `{name}` (or `{*name}`) placeholders must be names of `pattern`.
    pub fn parse(text: &str, pattern: &Pattern) -> Result<Self, PatternError> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            let close = rest[open..].find('}').ok_or(PatternError::Unbalanced)? + open;
            if open > 0 {
                parts.push(Part::Text(rest[..open].into()));
            }
            let name = &rest[open + 1..close];
            let name = name.strip_prefix('*').unwrap_or(name);
            let index = pattern
                .names()
                .position(|n| n == name)
                .ok_or_else(|| PatternError::Unknown(name.to_owned()))?;
            parts.push(Part::Capture(index));
            rest = &rest[close + 1..];
        }
        if rest.contains('}') {
            return Err(PatternError::Unbalanced);
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.into()));
        }
        Ok(match parts.as_slice() {
            [] => Template::literal(""),
            [Part::Text(t)] => Template::literal(t),
            _ => Template(Repr::Parts(parts.into())),
        })
    }

    /// The literal text when the template has no placeholder.
    pub fn as_literal(&self) -> Option<&str> {
        match &self.0 {
            Repr::Literal(t) => Some(t),
            Repr::Parts(_) => None,
        }
    }

    /// Append the template filled with `captures` to `out`.
    pub fn render_into(&self, captures: &[&str], out: &mut String) {
        let parts = match &self.0 {
            Repr::Literal(t) => return out.push_str(t),
            Repr::Parts(parts) => parts,
        };
        for part in parts.iter() {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Capture(i) => out.push_str(captures.get(*i).copied().unwrap_or("")),
            }
        }
    }

    /// The template filled with `captures`.
    pub fn render(&self, captures: &[&str]) -> String {
        let mut out = String::new();
        self.render_into(captures, &mut out);
        out
    }
}
