//! The usage dashboard: requests per day as a chart, the most asked-for rules, the unknown
//! paths most asked for (each with a link that starts a rule for it), and the tombstones
//! still asked for; the same figures are in the API (`/-/api/stats/…`, JSON or CSV).

use maud::{Markup, html};

use super::rules::grouped;
use super::{chart, layout};
use crate::session::Session;
use crate::store::daily::{Day, DayCount, RuleCount, UnknownCount, date};

/// The ranges offered, in days.
pub const RANGES: [i64; 3] = [30, 90, 400];

/// What the dashboard shows.
pub struct Usage {
    /// The first and last day.
    pub from: Day,
    pub to: Day,
    /// Every rule's answers per day.
    pub days: Vec<DayCount>,
    /// The most asked-for rules.
    pub top: Vec<RuleCount>,
    /// The most asked-for unknown paths.
    pub unknown: Vec<UnknownCount>,
    /// The tombstones most asked for.
    pub gone: Vec<RuleCount>,
}

/// Links to the same page over each of [`RANGES`].
pub fn ranges(base: &str, shown: i64) -> Markup {
    html! {
        nav class="ranges" aria-label="Days shown" {
            @for n in RANGES {
                @if n == shown {
                    strong aria-current="page" { (n) " days" }
                } @else {
                    a href={ (base) "?days=" (n) } { (n) " days" }
                }
            }
        }
    }
}

/// `/-/admin/stats`.
pub fn dashboard(session: &Session, u: &Usage) -> String {
    let span = u.to - u.from + 1;
    let q = format!("from={}&to={}", date(u.from), date(u.to));
    let body = html! {
        (ranges("/-/admin/stats", span))
        h2 { "Requests per day" }
        (chart::days("all", "Requests per day, all rules", &u.days, u.from, u.to))
        p { a href={ "/-/api/stats/days?format=csv&" (q) } { "Download as CSV" } }
        h2 { "Most asked-for rules" }
        @if u.top.is_empty() {
            p class="muted" { "No rule was asked for in these days." }
        } @else {
            (rule_table(&u.top, false))
            p { a href={ "/-/api/stats/rules?format=csv&" (q) } { "Download as CSV" } }
        }
        h2 { "Unknown paths most asked for" }
        p class="hint" { "Paths that matched no rule (404): each may be worth a rule." }
        @if u.unknown.is_empty() {
            p class="muted" { "None in these days." }
        } @else {
            table class="rules" {
                thead { tr {
                    th scope="col" { "Host" } th scope="col" { "Path" }
                    th scope="col" class="number" { "Requests" } th scope="col" { "" }
                } }
                tbody {
                    @for p in &u.unknown {
                        tr {
                            td { @if p.host.is_empty() { span class="muted" { "any" } } @else { (p.host) } }
                            td { code { (p.path) } }
                            td class="number" { (grouped(p.hits)) }
                            td { a href=(new_rule_link(p)) { "Make a rule" } }
                        }
                    }
                }
            }
            p { a href={ "/-/api/stats/unknown?format=csv&" (q) } { "Download as CSV" } }
        }
        h2 { "Tombstones still asked for (410 Gone)" }
        @if u.gone.is_empty() {
            p class="muted" { "No 410 answered in these days." }
        } @else {
            (rule_table(&u.gone, true))
            p { a href={ "/-/api/stats/gone?format=csv&" (q) } { "Download as CSV" } }
        }
    };
    layout("Usage", Some(session), body)
}

fn rule_table(rules: &[RuleCount], gone: bool) -> Markup {
    html! {
        table class="rules" {
            thead { tr {
                th scope="col" { "Id" } th scope="col" { "Host" } th scope="col" { "Path" }
                th scope="col" class="number" { (if gone { "410 Gone" } else { "Requests" }) }
            } }
            tbody {
                @for r in rules {
                    tr {
                        td { a href={ "/-/admin/rules/" (r.rule_id) } { (r.rule_id) } }
                        td { @if r.host.is_empty() { span class="muted" { "any" } } @else { (r.host) } }
                        td { code { (r.matcher) } }
                        td class="number" { (grouped(if gone { r.gone } else { r.hits })) }
                    }
                }
            }
        }
    }
}

/// The new-rule form, filled in with `p`'s path and host.
fn new_rule_link(p: &UnknownCount) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    q.append_pair("path", &p.path);
    if !p.host.is_empty() {
        q.append_pair("host", &p.host);
    }
    format!("/-/admin/rules/new?{}", q.finish())
}
