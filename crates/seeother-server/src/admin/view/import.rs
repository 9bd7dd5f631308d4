//! The bulk import form and the import report.

use std::fmt::Write as _;

use seeother_core::note::escape;

use super::{Field, csrf_input, error_summary, layout, time};
use crate::admin::form::FieldError;
use crate::reports::Report;
use crate::session::Session;

/// The import form, with what was pasted and chosen kept.
pub fn form(session: &Session, text: &str, format: &str, errors: &[FieldError]) -> String {
    let field = |name, label, hint| Field {
        name,
        label,
        hint,
        errors,
    };
    let mut html = String::from(
        "<p>Upload or paste a rule file in TOML, JSON or CSV (see the rules documentation). \
         Every rule is checked first: the file is applied completely or not at all. A rule that \
         matches the same host and path as a stored one updates it.</p>",
    );
    html.push_str(&error_summary(errors));
    let _ = write!(
        html,
        "<form class=\"stack\" method=\"post\" action=\"/-/admin/import\" enctype=\"multipart/form-data\">{}",
        csrf_input(session)
    );
    html.push_str(
        &field(
            "file",
            "Rule file",
            "A .toml, .json or .csv file; its name tells the format unless one is chosen below.",
        )
        .text("file", ""),
    );
    html.push_str(&field("text", "Or paste the rules", "").textarea(10, text));
    html.push_str(&field("format", "Format", "").select(
        &[
            ("", "from the file name"),
            ("toml", "TOML"),
            ("json", "JSON"),
            ("csv", "CSV"),
        ],
        format,
    ));
    html.push_str("<div class=\"actions\"><button type=\"submit\">Import</button></div></form>");
    layout("Import rules", Some(session), &html)
}

/// The report of one import.
pub fn report(session: &Session, r: &Report) -> String {
    let mut html = format!(
        "<p class=\"flash\" role=\"status\">Imported {} ({}) at {}: <strong>{}</strong> created, \
         <strong>{}</strong> updated, <strong>{}</strong> unchanged.</p>",
        escape(&r.source),
        r.format,
        time(r.at),
        r.created,
        r.updated,
        r.unchanged
    );
    if r.changed.is_empty() {
        html.push_str("<p>Nothing changed: every rule was already stored as given.</p>");
    } else {
        html.push_str(
            "<table><thead><tr><th scope=\"col\">Rule</th><th scope=\"col\">Change</th>\
             <th scope=\"col\">Matches</th><th scope=\"col\">Target</th></tr></thead><tbody>",
        );
        for (what, rule) in &r.changed {
            let id = rule.id.unwrap_or_default();
            let _ = write!(
                html,
                "<tr><td><a href=\"/-/admin/rules/{id}\">{id}</a></td><td>{what}</td>\
                 <td>{} <code>{}</code></td><td><code>{}</code></td></tr>",
                rule.kind().map_or("path", |k| k.as_str()),
                escape(rule.matcher()),
                escape(&rule.to)
            );
        }
        html.push_str("</tbody></table>");
    }
    html.push_str(
        "<div class=\"actions\"><a class=\"button\" href=\"/-/admin/rules\">All rules</a>\
         <a class=\"button secondary\" href=\"/-/admin/import\">Import another file</a></div>",
    );
    layout(&format!("Import {}", r.id), Some(session), &html)
}
