//! What `seeother check` prints: a table for people, or one JSON document.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use seeother_client::redact;
use seeother_core::check::State;
use seeother_server::check::report::TargetReport;
use serde::Serialize;

use super::Row;

/// The rule as the report names it: `host/path`, or the path alone for any host, and the
/// variant's media type.
fn rule_name(row: &Row) -> String {
    let mut name = match &row.host {
        Some(h) => format!("{h}{}", row.matcher),
        None => row.matcher.clone(),
    };
    if let Some(v) = &row.planned.variant {
        let _ = write!(name, " ({v})");
    }
    name
}

fn counts(rows: &[Row]) -> BTreeMap<State, usize> {
    let mut counts = BTreeMap::new();
    for row in rows {
        *counts.entry(row.state()).or_insert(0) += 1;
    }
    counts
}

/// One line per target (a second, indented, for the new place or what went wrong), then the
/// counts.
pub fn table(rows: &[Row]) -> String {
    let width = rows
        .iter()
        .map(|r| rule_name(r).chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, 48);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<18} {:>6}  {:<width$}  TARGET",
        "STATE", "STATUS", "RULE"
    );
    for row in rows {
        let outcome = row.outcome.as_ref();
        let status = outcome
            .and_then(|o| o.status)
            .map_or(String::new(), |s| s.as_u16().to_string());
        let target = match &row.planned.url {
            Ok(url) => redact::url(url).into_owned(),
            Err(_) => redact::userinfo(&row.planned.to).into_owned(),
        };
        let _ = writeln!(
            out,
            "{:<18} {:>6}  {:<width$}  {target}",
            row.state().name(),
            status,
            rule_name(row)
        );
        let detail = match (outcome, row.skip()) {
            (_, Some(skip)) => Some(skip.reason().to_owned()),
            (Some(o), None) => match (&o.moved_to, &o.error) {
                (Some(to), _) => Some(format!("moved to {}", redact::url(to))),
                (None, Some(e)) => Some(redact::message(e).into_owned()),
                (None, None) => None,
            },
            (None, None) => None,
        };
        if let Some(detail) = detail {
            let _ = writeln!(out, "{:27}{detail}", "");
        }
    }
    let counts = counts(rows);
    let broken: usize = counts
        .iter()
        .filter(|(s, _)| s.is_broken())
        .map(|(_, n)| n)
        .sum();
    let list: Vec<String> = counts
        .iter()
        .map(|(s, n)| format!("{n} {}", s.name()))
        .collect();
    let _ = writeln!(
        out,
        "\n{} targets: {}; {broken} broken",
        rows.len(),
        if list.is_empty() {
            "none".to_owned()
        } else {
            list.join(", ")
        }
    );
    out
}

/// One target in the JSON document: the rule, then its [`TargetReport`].
#[derive(Serialize)]
struct Entry<'a> {
    rule: Option<i64>,
    host: Option<&'a str>,
    matcher: &'a str,
    #[serde(flatten)]
    target: TargetReport,
}

/// The JSON document: the counts first, then every target.
#[derive(Serialize)]
struct Document<'a> {
    summary: BTreeMap<&'static str, usize>,
    targets: Vec<Entry<'a>>,
}

/// `{"summary": {...}, "targets": [...]}`, written straight from the rows (no tree of values
/// in between: for 10,000 targets that tree cost more than writing the text).
pub fn json(rows: &[Row]) -> String {
    let targets: Vec<Entry<'_>> = rows
        .iter()
        .map(|row| Entry {
            rule: row.planned.rule,
            host: row.host.as_deref(),
            matcher: &row.matcher,
            target: TargetReport::new(&row.planned, row.outcome.as_ref()),
        })
        .collect();
    let counts = counts(rows);
    let mut summary: BTreeMap<&'static str, usize> = State::ALL
        .iter()
        .map(|state| (state.name(), counts.get(state).copied().unwrap_or(0)))
        .collect();
    let broken = rows.iter().filter(|r| r.state().is_broken()).count();
    summary.insert("broken", broken);
    summary.insert("total", rows.len());
    let doc = Document { summary, targets };
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}
