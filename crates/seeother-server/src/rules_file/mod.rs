//! Rule files in TOML, JSON and CSV: the same fields in three notations (see `docs/rules.md`).
//!
//! [`parse`] reads and validates a whole file and reports every bad rule by line number, so a
//! file is applied completely or not at all.

mod csv_format;
pub mod tests;

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::rule::RuleSpec;

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

/// The line (1-based) of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Rules read from a file, each with its line, before validation, and the rules that could
/// not be read; `Err` when the file as a whole cannot be read.
type Located = Result<(Vec<(usize, RuleSpec)>, Vec<FileError>), Vec<FileError>>;

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

fn read_toml(text: &str) -> Located {
    let file: TomlFile = toml::from_str(text).map_err(|e| {
        vec![FileError {
            line: e.span().map(|s| line_of(text, s.start)),
            message: e.message().trim().to_owned(),
        }]
    })?;
    Ok((
        file.rules
            .into_iter()
            .map(|s| (line_of(text, s.span().start), s.into_inner()))
            .collect(),
        Vec::new(),
    ))
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
                "{e}; a JSON rule file is {{\"rules\": [ {{\"path\": \"/id/x\", \"to\": \"https://…\"}} ]}}"
            ),
        }]
    })?;
    let mut out = Vec::with_capacity(raws.len());
    let mut errors = Vec::new();
    for raw in raws {
        let offset = raw.get().as_ptr() as usize - text.as_ptr() as usize;
        let line = line_of(text, offset);
        match serde_json::from_str::<RuleSpec>(raw.get()) {
            Ok(rule) => out.push((line, rule)),
            Err(e) => {
                // The position inside the rule is replaced by the line in the file.
                let message = e.to_string();
                let message = message.split(" at line ").next().unwrap_or(&message);
                errors.push(FileError {
                    line: Some(line + e.line() - 1),
                    message: message.to_owned(),
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
    let (located, mut errors) = located.map_err(fail)?;
    let mut rules = Vec::with_capacity(located.len());
    let mut seen = std::collections::HashMap::with_capacity(located.len());
    for (line, rule) in located {
        match rule.without_server_fields().validate() {
            Ok(rule) => {
                if let Some(first) = seen.insert(rule.key(), line) {
                    errors.push(FileError {
                        line: Some(line),
                        message: format!(
                            "this rule matches the same {} {:?} as the rule on line {first}; keep one",
                            rule.kind().map_or("path", |k| k.as_str()),
                            rule.matcher()
                        ),
                    });
                }
                rules.push(rule);
            }
            Err(e) => errors.push(FileError {
                line: Some(line),
                message: e.to_string(),
            }),
        }
    }
    errors.sort_by_key(|e| e.line);
    if errors.is_empty() {
        Ok(rules)
    } else {
        Err(fail(errors))
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
