//! Rule files in TOML, JSON and CSV: the same fields in three notations (see `docs/rules.md`).
//!
//! [`parse`] reads and validates a whole file and reports every bad rule by line number, so a
//! file is applied completely or not at all.

mod csv_format;
pub mod stream;
pub mod tests;
pub mod unknown_field;

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::hash::BuildHasher;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::rule::{Kind, RuleSpec};

/// A rule file notation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// TOML: `[[rules]]` tables.
    Toml,
    /// JSON: `{"rules": [...]}` or a bare array of rule objects.
    Json,
    /// CSV: a header row naming the fields, one rule per row.
    Csv,
}

impl Format {
    /// The format named `name` (`toml`, `json`, `csv`).
    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "toml" => Some(Format::Toml),
            "json" => Some(Format::Json),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }

    /// The format a file name's extension says.
    pub fn from_path(path: &Path) -> Option<Self> {
        Self::from_name(path.extension()?.to_str()?)
    }

    /// The format for a `Content-Type` value (`application/toml`, `application/json`,
    /// `text/csv`).
    pub fn from_media_type(value: &str) -> Option<Self> {
        let essence = value
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "application/toml" | "text/toml" => Some(Format::Toml),
            "application/json" => Some(Format::Json),
            "text/csv" => Some(Format::Csv),
            _ => None,
        }
    }

    /// The media type of this notation.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Toml => "application/toml",
            Format::Json => "application/json",
            Format::Csv => "text/csv; charset=utf-8",
        }
    }
}

/// One problem in a rule file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FileError {
    /// The line (1-based), when known.
    #[schema(required = true)]
    pub line: Option<usize>,
    /// What is wrong and what to do.
    pub message: String,
}

/// Every problem found in a rule file; nothing of it was applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileErrors {
    /// The file's name, as given.
    pub file: String,
    /// The problems, in file order.
    pub errors: Vec<FileError>,
}

impl fmt::Display for FileErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            match e.line {
                Some(line) => write!(f, "{}:{line}: {}", self.file, e.message)?,
                None => write!(f, "{}: {}", self.file, e.message)?,
            }
        }
        write!(
            f,
            "\n{}: {} problem(s); nothing from this file was applied",
            self.file,
            self.errors.len()
        )
    }
}

impl std::error::Error for FileErrors {}

/// Where each line of a text starts, found in one pass, so that the line of any byte offset
/// is a binary search (counting newlines from the start for every rule made reading a
/// file quadratic).
pub(super) struct Lines {
    /// The offset of every `\n`, in order.
    newlines: Vec<usize>,
}

impl Lines {
    pub(super) fn of(text: &str) -> Lines {
        Lines {
            newlines: text
                .bytes()
                .enumerate()
                .filter_map(|(i, b)| (b == b'\n').then_some(i))
                .collect(),
        }
    }

    /// The line (1-based) of byte `offset`.
    pub(super) fn line_of(&self, offset: usize) -> usize {
        self.newlines.partition_point(|&n| n < offset) + 1
    }
}

/// Rules read from a file, each with its line, before validation, and the rules that could
/// not be read; `Err` when the file as a whole cannot be read.
type Located = Result<Read, Vec<FileError>>;

/// Rules read, each with its line, and the rules that could not be read.
type Read = (Vec<(usize, RuleSpec)>, Vec<FileError>);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlFile {
    #[serde(default)]
    rules: Vec<toml::Spanned<RuleSpec>>,
    /// Read by [`tests`].
    #[serde(default)]
    #[allow(dead_code)]
    tests: serde::de::IgnoredAny,
}

/// A TOML error as a file problem: its line (from `offset`, where the document read
/// starts) and message.
fn toml_error(e: &toml::de::Error, lines: &Lines, offset: usize) -> FileError {
    FileError {
        line: e.span().map(|s| lines.line_of(offset + s.start)),
        message: unknown_field::explain(e.message().trim()),
    }
}

fn read_toml(text: &str) -> Located {
    let lines = Lines::of(text);
    let Some(starts) = rule_starts(text) else {
        return read_toml_whole(text, &lines);
    };
    let read = read_toml_by_rule(text, &lines, &starts);
    if read.1.is_empty() {
        return Ok(read);
    }
    // A rule that does not read: when the whole document reads as TOML into as many rule
    // tables, each table's problem is its own (a type, an unknown field), and all are
    // reported. Otherwise the split went wrong (a `[[rules]]` line inside a multi-line
    // string) or the syntax is broken: what TOML says of the whole document is the truth.
    match toml::from_str::<LooseFile>(text) {
        Ok(file) if file.rules.len() == starts.len() => Ok(read),
        Ok(_) => read_toml_whole(text, &lines),
        Err(_) if read.1.len() > 1 => Ok(read),
        Err(_) => read_toml_whole(text, &lines),
    }
}

/// A TOML rule file read as tables, to tell its syntax from its rules' problems.
#[derive(Deserialize)]
struct LooseFile {
    #[serde(default)]
    rules: Vec<toml::Spanned<toml::Table>>,
}

/// The file read as one document: every rule's problem is found (each table read on its own),
/// at the cost of the whole document's tree in memory (several times the file's size). A
/// document that is not TOML has one problem: where TOML stopped reading.
fn read_toml_whole(text: &str, lines: &Lines) -> Located {
    let strict = toml::from_str::<TomlFile>(text);
    let first = match strict {
        Ok(file) => {
            return Ok((
                file.rules
                    .into_iter()
                    .map(|s| (lines.line_of(s.span().start), s.into_inner()))
                    .collect(),
                Vec::new(),
            ));
        }
        Err(e) => toml_error(&e, lines, 0),
    };
    let Ok(loose) = toml::from_str::<LooseFile>(text) else {
        return Err(vec![first]);
    };
    let mut out = Vec::with_capacity(loose.rules.len());
    let mut errors = Vec::new();
    for table in loose.rules {
        let line = lines.line_of(table.span().start);
        let end = lines.line_of(table.span().end);
        match toml::Value::Table(table.into_inner()).try_into::<RuleSpec>() {
            Ok(rule) => out.push((line, rule)),
            // The whole document's own error is the more exact one (its line is the
            // field's): kept for the rule it falls in.
            Err(_) if first.line.is_some_and(|l| (line..=end).contains(&l)) => {
                errors.push(first.clone())
            }
            Err(e) => errors.push(FileError {
                line: Some(line),
                message: unknown_field::explain(e.message().trim()),
            }),
        }
    }
    if errors.is_empty() {
        // The problem is outside the rules (an unknown top-level key, the tests).
        errors.push(first);
    }
    Ok((out, errors))
}

/// Where each `[[rules]]` table starts, when the file is made only of such tables (with their
/// `[[rules.variants]]` and the like, and `[[tests]]` after them); `None` when anything comes
/// before the first.
fn rule_starts(text: &str) -> Option<Vec<usize>> {
    let mut starts = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let bare = line.split('#').next().unwrap_or("").trim();
        if bare == "[[rules]]" {
            starts.push(offset);
        } else if starts.is_empty() && !bare.is_empty() {
            // Keys or tables before the first rule: not a file of rules only.
            return None;
        }
        offset += line.len();
    }
    Some(starts)
}

/// The file read one `[[rules]]` table at a time: each is its own small document, so memory
/// stays near the file's size, and a table that does not read is one problem among others.
///
/// A line `[[rules]]` inside a multi-line string would end a table early; that table then has
/// a string without its end and does not read, and [`read_toml`] reads the whole document.
fn read_toml_by_rule(text: &str, lines: &Lines, starts: &[usize]) -> Read {
    let mut out = Vec::with_capacity(starts.len());
    let mut errors = Vec::new();
    for (i, &start) in starts.iter().enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(text.len());
        match toml::from_str::<TomlFile>(&text[start..end]) {
            Ok(file) => {
                for rule in file.rules {
                    out.push((lines.line_of(start + rule.span().start), rule.into_inner()));
                }
            }
            Err(e) => errors.push(toml_error(&e, lines, start)),
        }
    }
    (out, errors)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonFile<'a> {
    #[serde(borrow)]
    rules: Vec<&'a RawValue>,
    /// Read by [`tests`].
    #[serde(default)]
    #[allow(dead_code)]
    tests: serde::de::IgnoredAny,
}

fn read_json(text: &str) -> Located {
    let parsed = if text.trim_start().starts_with('[') {
        serde_json::from_str::<Vec<&RawValue>>(text)
    } else {
        serde_json::from_str::<JsonFile<'_>>(text).map(|f| f.rules)
    };
    let raws = parsed.map_err(|e| {
        vec![FileError {
            line: Some(e.line()),
            message: format!(
                "{}; a JSON rule file is {{\"rules\": [ {{\"path\": \"/id/x\", \"to\": \"https://…\"}} ]}}",
                unknown_field::explain(&e.to_string())
            ),
        }]
    })?;
    let lines = Lines::of(text);
    let mut out = Vec::with_capacity(raws.len());
    let mut errors = Vec::new();
    for raw in raws {
        let offset = raw.get().as_ptr() as usize - text.as_ptr() as usize;
        let line = lines.line_of(offset);
        match serde_json::from_str::<RuleSpec>(raw.get()) {
            Ok(rule) => out.push((line, rule)),
            Err(e) => {
                // The position inside the rule is replaced by the line in the file.
                let message = e.to_string();
                let message = message.split(" at line ").next().unwrap_or(&message);
                errors.push(FileError {
                    line: Some(line + e.line() - 1),
                    message: unknown_field::explain(message),
                })
            }
        }
    }
    Ok((out, errors))
}

/// Read and validate every rule of `text` in `format`. `file` names the source in errors.
/// Two rules with the same host, kind and matcher are an error too.
pub fn parse(text: &str, format: Format, file: &str) -> Result<Vec<RuleSpec>, FileErrors> {
    let located = match format {
        Format::Toml => read_toml(text),
        Format::Json => read_json(text),
        Format::Csv => csv_format::read(text),
    };
    let fail = |errors| FileErrors {
        file: file.to_owned(),
        errors,
    };
    let (mut located, mut errors) = located.map_err(fail)?;
    // Validated in place: a second list of a million rules would double the memory.
    let mut seen = Seen::with_capacity(located.len());
    for i in 0..located.len() {
        let line = located[i].0;
        match std::mem::take(&mut located[i].1)
            .without_server_fields()
            .validate()
        {
            Ok(rule) => {
                if let Some(first) = seen.first(&located, i, &rule) {
                    errors.push(FileError {
                        line: Some(line),
                        message: format!(
                            "this rule matches the same {} {:?} as the rule on line {first}; keep one",
                            rule.kind().map_or("path", |k| k.as_str()),
                            rule.matcher()
                        ),
                    });
                }
                located[i].1 = rule;
            }
            Err(e) => errors.push(FileError {
                line: Some(line),
                message: e.to_string(),
            }),
        }
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.line);
        return Err(fail(errors));
    }
    Ok(located.into_iter().map(|(_, rule)| rule).collect())
}

/// A rule's key: host (empty for any), kind and matcher; two rules of a file may not share one.
fn key_of(rule: &RuleSpec) -> (&str, Option<Kind>, &str) {
    (
        rule.host.as_deref().unwrap_or(""),
        rule.kind(),
        rule.matcher(),
    )
}

/// The keys of a file's valid rules seen so far, to find two rules with the same one: each
/// key's 64-bit hash with the place of its first rule (a million rules cost a few megabytes,
/// not a copy of every key). A key whose hash an earlier, other key had (rare) is kept whole.
struct Seen {
    places: HashMap<u64, usize>,
    collided: HashMap<(String, Option<Kind>, String), usize>,
    state: foldhash::quality::RandomState,
}

impl Seen {
    fn with_capacity(n: usize) -> Seen {
        Seen {
            places: HashMap::with_capacity(n),
            collided: HashMap::new(),
            state: foldhash::quality::RandomState::default(),
        }
    }

    /// Note `rule`, validated, at place `i` of `located` (whose earlier valid rules were
    /// noted); the line of an earlier rule with the same key, if any.
    fn first(&mut self, located: &[(usize, RuleSpec)], i: usize, rule: &RuleSpec) -> Option<usize> {
        let key = key_of(rule);
        let place = *self.places.entry(self.state.hash_one(key)).or_insert(i);
        if place == i {
            return None;
        }
        let (first_line, first) = &located[place];
        if key_of(first) == key {
            return Some(*first_line);
        }
        let (host, kind, matcher) = key;
        match self
            .collided
            .entry((host.to_owned(), kind, matcher.to_owned()))
        {
            Entry::Occupied(o) => Some(*o.get()),
            Entry::Vacant(v) => {
                v.insert(located[i].0);
                None
            }
        }
    }
}

/// Write `rules` in `format` (ids and hit counts left out), ready to be read back by [`parse`].
pub fn write(rules: &[RuleSpec], format: Format) -> String {
    let rules: Vec<RuleSpec> = rules
        .iter()
        .cloned()
        .map(RuleSpec::without_server_fields)
        .collect();
    match format {
        Format::Toml => {
            #[derive(Serialize)]
            struct Out<'a> {
                rules: &'a [RuleSpec],
            }
            toml::to_string(&Out { rules: &rules }).unwrap_or_default()
        }
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&serde_json::json!({ "rules": rules }))
                .unwrap_or_default();
            s.push('\n');
            s
        }
        Format::Csv => csv_format::write(&rules),
    }
}

/// Why a rule file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be read.
    #[error("cannot read rule file {path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The notation cannot be told from the name.
    #[error(
        "cannot tell the format of {0} from its name; name it .toml, .json or .csv, or give the format"
    )]
    UnknownFormat(std::path::PathBuf),
    /// The file has problems.
    #[error("{0}")]
    Invalid(#[from] FileErrors),
}

/// Read and validate the rule file at `path`, in `format` or the one its extension says.
pub fn read_path(path: &Path, format: Option<Format>) -> Result<Vec<RuleSpec>, ReadError> {
    let format = format
        .or_else(|| Format::from_path(path))
        .ok_or_else(|| ReadError::UnknownFormat(path.to_owned()))?;
    let text = std::fs::read_to_string(path).map_err(|source| ReadError::Io {
        path: path.to_owned(),
        source,
    })?;
    Ok(parse(&text, format, &path.display().to_string())?)
}
