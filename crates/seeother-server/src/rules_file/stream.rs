//! A rule file read from its file in chunks of validated rules, for an import that writes
//! them while it reads: neither the file's text nor its parsed rules are ever all in memory
//! (a million rules held parsed take several times the file's size).
//!
//! Only the plain case is read this way: every rule reads and is valid, no two rules share a
//! key, and the file has no tests. At the first doubt the reader stops and says so; the
//! caller then reads the file whole with [`super::parse`], whose report of the problems (by
//! line) is the one given, and applies nothing of the chunks already given.

use std::fmt;
use std::hash::BuildHasher;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::{Format, csv_format, key_of};
use crate::rule::RuleSpec;

/// Rules in a chunk.
pub const CHUNK: usize = 1024;

/// Read the rule file at `path` in `format`, giving `sink` each chunk of valid rules while
/// it says go on; true when every rule of the file was given and the file is of the plain
/// case (see the module's documentation).
pub fn read_file(path: &Path, format: Format, sink: impl FnMut(Vec<RuleSpec>) -> bool) -> bool {
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    let expected = file.metadata().map_or(0, |m| m.len() / 32) as usize;
    read(
        BufReader::with_capacity(1 << 16, file),
        format,
        expected,
        sink,
    )
}

/// As [`read_file`], from `input`; `expected` is a bound on its rules, for sizing (untouched,
/// an overestimate costs no memory).
pub fn read(
    input: impl BufRead,
    format: Format,
    expected: usize,
    sink: impl FnMut(Vec<RuleSpec>) -> bool,
) -> bool {
    let mut chunks = Chunks::new(sink, expected);
    let whole = match format {
        Format::Csv => read_csv(input, &mut chunks),
        Format::Toml => read_toml(input, &mut chunks),
        Format::Json => read_json(input, &mut chunks),
    };
    whole && chunks.finish()
}

/// Validated rules gathered into chunks for `sink`, and the keys seen.
struct Chunks<S> {
    chunk: Vec<RuleSpec>,
    /// The 64-bit hash of every key: a hash found twice is a doubt (two rules with one key,
    /// or two keys with one hash), left to [`super::parse`] to tell apart. Sorted at the
    /// end (8 bytes a rule; a hash set would take twice that).
    keys: Vec<u64>,
    state: foldhash::quality::RandomState,
    sink: S,
}

impl<S: FnMut(Vec<RuleSpec>) -> bool> Chunks<S> {
    fn new(sink: S, expected: usize) -> Self {
        Chunks {
            chunk: Vec::with_capacity(CHUNK),
            keys: Vec::with_capacity(expected),
            state: foldhash::quality::RandomState::default(),
            sink,
        }
    }

    /// Take `rule` as read: false when it is not valid or `sink` said stop.
    fn push(&mut self, rule: RuleSpec) -> bool {
        let Ok(rule) = rule.without_server_fields().validate() else {
            return false;
        };
        self.keys.push(self.state.hash_one(key_of(&rule)));
        self.chunk.push(rule);
        self.chunk.len() < CHUNK || self.flush()
    }

    fn flush(&mut self) -> bool {
        let chunk = std::mem::replace(&mut self.chunk, Vec::with_capacity(CHUNK));
        chunk.is_empty() || (self.sink)(chunk)
    }

    /// Give the last chunk; true when no two rules had one key's hash.
    fn finish(mut self) -> bool {
        if !self.flush() {
            return false;
        }
        self.keys.sort_unstable();
        self.keys.windows(2).all(|w| w[0] != w[1])
    }
}

fn read_csv<S: FnMut(Vec<RuleSpec>) -> bool>(input: impl Read, chunks: &mut Chunks<S>) -> bool {
    let mut whole = true;
    let read = csv_format::rows(input, |row| {
        whole = match row {
            Ok((_, rule)) => chunks.push(rule),
            Err(_) => false,
        };
        whole
    });
    read.is_ok() && whole
}

/// One `[[rules]]` table of a TOML file made of such tables.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlTable {
    #[serde(default)]
    rules: Vec<RuleSpec>,
    #[serde(default, deserialize_with = "present")]
    tests: bool,
}

/// Whether the field is there, whatever its value.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    IgnoredAny::deserialize(d).map(|_| true)
}

/// A TOML file made of `[[rules]]` tables only, each read as its own document, as
/// [`super::parse`] reads such a file (its `rule_starts`): a line `[[rules]]` (comment and
/// blanks aside) starts a table, and only blank lines and comments may come before the first.
fn read_toml<S: FnMut(Vec<RuleSpec>) -> bool>(
    mut input: impl BufRead,
    chunks: &mut Chunks<S>,
) -> bool {
    let table = |text: &str, chunks: &mut Chunks<S>| match toml::from_str::<TomlTable>(text) {
        Ok(table) if !table.tests => table.rules.into_iter().all(|rule| chunks.push(rule)),
        _ => false,
    };
    let (mut text, mut line) = (String::new(), String::new());
    let mut started = false;
    loop {
        line.clear();
        match input.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(_) => return false,
        }
        let bare = line.split('#').next().unwrap_or("").trim();
        if bare == "[[rules]]" {
            if started && !table(&text, chunks) {
                return false;
            }
            started = true;
            text.clear();
        } else if !started && !bare.is_empty() {
            return false;
        }
        text.push_str(&line);
    }
    !started || table(&text, chunks)
}

/// A JSON file, `{"rules": [...]}` or a bare array of rules, each rule given as it is read.
fn read_json<S: FnMut(Vec<RuleSpec>) -> bool>(input: impl Read, chunks: &mut Chunks<S>) -> bool {
    let mut de = serde_json::Deserializer::from_reader(input);
    TopLevel(chunks).deserialize(&mut de).is_ok() && de.end().is_ok()
}

/// The top level of a JSON rule file. Errors stop the reading (and say nothing: the whole
/// file's reading says what is wrong).
struct TopLevel<'c, S>(&'c mut Chunks<S>);

impl<'de, S: FnMut(Vec<RuleSpec>) -> bool> DeserializeSeed<'de> for TopLevel<'_, S> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, S: FnMut(Vec<RuleSpec>) -> bool> Visitor<'de> for TopLevel<'_, S> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{\"rules\": [...]} or an array of rules")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        Rules(self.0).visit_seq(seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut rules = false;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "rules" if !rules => {
                    rules = true;
                    map.next_value_seed(Rules(&mut *self.0))?;
                }
                // Tests, or a key of no rule file: read whole.
                _ => return Err(de::Error::custom("not the plain case")),
            }
        }
        if rules {
            Ok(())
        } else {
            Err(de::Error::custom("no rules"))
        }
    }
}

/// The array of rules of a JSON rule file.
struct Rules<'c, S>(&'c mut Chunks<S>);

impl<'de, S: FnMut(Vec<RuleSpec>) -> bool> DeserializeSeed<'de> for Rules<'_, S> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, S: FnMut(Vec<RuleSpec>) -> bool> Visitor<'de> for Rules<'_, S> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of rules")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(rule) = seq.next_element::<RuleSpec>()? {
            if !self.0.push(rule) {
                return Err(de::Error::custom("stopped"));
            }
        }
        Ok(())
    }
}
