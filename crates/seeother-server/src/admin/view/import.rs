//! The bulk import form and the import report.

use maud::html;

use super::{Field, breakable, csrf_input, error_summary, layout, time};
use crate::admin::form::FieldError;
use crate::reports::Report;
use crate::rule::RuleSpec;
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

/// Page `page` (from 1) of the report of one import, `per` rules a page: the rules updated
/// first (a change to what was there deserves the first look), then those created.
pub fn report(session: &Session, r: &Report, page: usize, per: usize) -> String {
    let mut rows: Vec<&(&str, RuleSpec)> = r.changed.iter().collect();
    // Stable: the file's order within each group.
    rows.sort_by_key(|(what, _)| *what != "updated");
    let pages = rows.len().div_ceil(per).max(1);
    let page = page.min(pages);
    let shown = rows.iter().skip((page - 1) * per).take(per);
    let url = |p: usize| {
        if p == 1 {
            format!("/-/admin/imports/{}", r.id)
        } else {
            format!("/-/admin/imports/{}?page={p}", r.id)
        }
    };
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
            p class="counts" {
                (rows.len()) " rules changed; page " (page) " of " (pages)
                @if pages > 1 { " (" (per) " a page)" }
                ", updated rules first."
            }
            table class="rules" {
                thead { tr {
                    th scope="col" { "Rule" } th scope="col" { "Change" }
                    th scope="col" { "Matches" } th scope="col" { "Target" }
                } }
                tbody {
                    @for (what, rule) in shown {
                        @let id = rule.id.unwrap_or_default();
                        tr {
                            td { a href={ "/-/admin/rules/" (id) } { (id) } }
                            td { (what) }
                            td { (rule.kind().map_or("path", |k| k.as_str())) " " code { (rule.matcher()) } }
                            td class="target" { code { (breakable(&rule.to)) } }
                        }
                    }
                }
            }
            @if pages > 1 {
                nav class="actions pages" aria-label="Pages" {
                    @if page > 1 {
                        a href=(url(1)) { "First page" }
                        a href=(url(page - 1)) rel="prev" { "Previous page" }
                    }
                    @if page < pages {
                        a href=(url(page + 1)) rel="next" { "Next page" }
                        a href=(url(pages)) { "Last page" }
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
