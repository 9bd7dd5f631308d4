//! The CSV notation: a header row naming fields, one rule per row; `variants` holds
//! space-separated `type=target` pairs.

use std::str::FromStr;

use super::{FileError, Located};
use crate::rule::{QueryMode, RuleSpec, Variant};

/// The columns, in the order `write` uses.
const COLUMNS: &[&str] = &[
    "host",
    "path",
    "prefix",
    "pattern",
    "to",
    "status",
    "query",
    "type",
    "variants",
    "cache_control",
    "described_by",
    "gone",
];

fn parse_bool(column: &str, value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "" | "false" | "no" | "0" => Ok(false),
        "true" | "yes" | "1" => Ok(true),
        _ => Err(format!("`{column}` is {value:?}; write true or false")),
    }
}

fn row_to_rule(headers: &[String], record: &csv::StringRecord) -> Result<RuleSpec, String> {
    let mut rule = RuleSpec {
        status: 303,
        ..RuleSpec::default()
    };
    let some = |v: &str| (!v.is_empty()).then(|| v.to_owned());
    for (column, value) in headers.iter().zip(record.iter()) {
        let value = value.trim();
        match column.as_str() {
            "host" => rule.host = some(value),
            "path" => rule.path = some(value),
            "prefix" => rule.prefix = some(value),
            "pattern" => rule.pattern = some(value),
            "to" => rule.to = value.to_owned(),
            "status" if value.is_empty() => {}
            "status" => {
                rule.status = u16::from_str(value)
                    .map_err(|_| format!("`status` is {value:?}; write a number such as 303"))?
            }
            "query" if value.is_empty() => {}
            "query" => {
                rule.query = QueryMode::from_name(value)
                    .ok_or_else(|| format!("`query` is {value:?}; write append or drop"))?
            }
            "type" => rule.default_type = some(value),
            "variants" => {
                for pair in value.split_whitespace() {
                    let (t, to) = pair.split_once('=').ok_or_else(|| {
                        format!(
                            "variant {pair:?} is not `type=target`; write e.g. text/turtle=https://example.org/x.ttl"
                        )
                    })?;
                    rule.variants.push(Variant {
                        media_type: t.to_owned(),
                        to: to.to_owned(),
                    });
                }
            }
            "cache_control" => rule.cache_control = some(value),
            "described_by" => rule.described_by = parse_bool(column, value)?,
            "gone" => rule.gone = parse_bool(column, value)?,
            _ => {}
        }
    }
    Ok(rule)
}

/// Read a CSV rule file.
pub(super) fn read(text: &str) -> Located {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    rows(text.as_bytes(), |row| {
        match row {
            Ok(rule) => out.push(rule),
            Err(e) => errors.push(e),
        }
        true
    })?;
    Ok((out, errors))
}

/// Read the header row of `input`, then give `each` every row as a rule with its line, or
/// its problem, while it says go on. `Err` when the header row is not one of rules.
pub(super) fn rows(
    input: impl std::io::Read,
    mut each: impl FnMut(Result<(usize, RuleSpec), FileError>) -> bool,
) -> Result<(), Vec<FileError>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::Headers)
        .comment(Some(b'#'))
        .buffer_capacity(1 << 16)
        .from_reader(input);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| {
            vec![FileError {
                line: Some(1),
                message: format!("cannot read the header row: {e}"),
            }]
        })?
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    let unknown: Vec<&String> = headers
        .iter()
        .filter(|h| !COLUMNS.contains(&h.as_str()))
        .collect();
    if !headers.iter().any(|h| h == "to") || !unknown.is_empty() {
        return Err(vec![FileError {
            line: Some(1),
            message: format!(
                "the header row must name the columns, among: {} (`to` and one of path/prefix/pattern are needed){}",
                COLUMNS.join(","),
                if unknown.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; unknown: {}",
                        unknown
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(",")
                    )
                }
            ),
        }]);
    }
    // One record, read into again and again.
    let mut record = csv::StringRecord::new();
    loop {
        let row = match reader.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {
                let line = record.position().map_or(0, |p| p.line() as usize);
                row_to_rule(&headers, &record)
                    .map(|rule| (line, rule))
                    .map_err(|message| FileError {
                        line: Some(line),
                        message,
                    })
            }
            Err(e) => Err(FileError {
                line: e.position().map(|p| p.line() as usize),
                message: e.to_string(),
            }),
        };
        if !each(row) {
            return Ok(());
        }
    }
}

/// Write rules as CSV with every column.
pub(super) fn write(rules: &[RuleSpec]) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let _ = writer.write_record(COLUMNS);
    for r in rules {
        let variants = r
            .variants
            .iter()
            .map(|v| format!("{}={}", v.media_type, v.to))
            .collect::<Vec<_>>()
            .join(" ");
        let status = r.status.to_string();
        let bool_str = |b: bool| if b { "true" } else { "" };
        let _ = writer.write_record([
            r.host.as_deref().unwrap_or(""),
            r.path.as_deref().unwrap_or(""),
            r.prefix.as_deref().unwrap_or(""),
            r.pattern.as_deref().unwrap_or(""),
            &r.to,
            &status,
            r.query.as_str(),
            r.default_type.as_deref().unwrap_or(""),
            &variants,
            r.cache_control.as_deref().unwrap_or(""),
            bool_str(r.described_by),
            bool_str(r.gone),
        ]);
    }
    String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
}
