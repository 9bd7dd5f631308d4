//! The bulk import form and the import report.

use maud::html;

use super::{Field, csrf_input, error_summary, layout, time};
use crate::admin::form::FieldError;
use crate::reports::Report;
use crate::session::Session;

/// The import form, with what was pasted and chosen kept.
pub fn form(session: &Session, text: &str, format: &str, errors: &[FieldError]) -> String {
    let file = Field::new("file", "Rule file", errors).hint(html! {
        "A .toml, .json or .csv file; its name tells the format unless one is chosen below."
    });
    let body = html! {
        p {
            "Upload or paste a rule file in TOML, JSON or CSV (see the rules documentation). \
             Every rule is checked first: the file is applied completely or not at all. A rule \
             that matches the same host and path as a stored one updates it."
        }
        (error_summary(errors))
        form class="stack" method="post" action="/-/admin/import" enctype="multipart/form-data" {
            (csrf_input(session))
            (file.text("file", ""))
            (Field::new("text", "Or paste the rules", errors).textarea(10, text))
            (Field::new("format", "Format", errors).select(
                &[
                    ("", "from the file name"),
                    ("toml", "TOML"),
                    ("json", "JSON"),
                    ("csv", "CSV"),
                ],
                format,
            ))
            div class="actions" { button type="submit" { "Import" } }
        }
    };
    layout("Import rules", Some(session), body)
}

/// The report of one import.
pub fn report(session: &Session, r: &Report) -> String {
    let body = html! {
        p class="flash" role="status" {
            "Imported " (r.source) " (" (r.format) ") at " (time(r.at)) ": "
            strong { (r.created) } " created, "
            strong { (r.updated) } " updated, "
            strong { (r.unchanged) } " unchanged."
        }
        @if r.changed.is_empty() {
            p { "Nothing changed: every rule was already stored as given." }
        } @else {
            table {
                thead { tr {
                    th scope="col" { "Rule" } th scope="col" { "Change" }
                    th scope="col" { "Matches" } th scope="col" { "Target" }
                } }
                tbody {
                    @for (what, rule) in &r.changed {
                        @let id = rule.id.unwrap_or_default();
                        tr {
                            td { a href={ "/-/admin/rules/" (id) } { (id) } }
                            td { (what) }
                            td { (rule.kind().map_or("path", |k| k.as_str())) " " code { (rule.matcher()) } }
                            td { code { (rule.to) } }
                        }
                    }
                }
            }
        }
        div class="actions" {
            a class="button" href="/-/admin/rules" { "All rules" }
            a class="button secondary" href="/-/admin/import" { "Import another file" }
        }
    };
    layout(&format!("Import {}", r.id), Some(session), body)
}
