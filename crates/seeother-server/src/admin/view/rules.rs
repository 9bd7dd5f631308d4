//! Rule pages: the searchable list, a rule's page (fields, variants, hits, history, "try it"),
//! the create/edit form and the delete confirmation.

use maud::{Markup, html};

use super::{Field, breakable, checkbox, csrf_input, error_summary, flash, layout, time};
use crate::admin::form::{FieldError, RuleForm};
use crate::admin::try_it::{Tried, TryError};
use crate::rule::RuleSpec;
use crate::session::Session;
use crate::store::daily::{Day, DayCount, date};
use crate::store::{Browsed, Cursor, HistoryEntry, Order};

/// The list's search, as asked.
#[derive(Clone, Debug)]
pub struct Search {
    /// Text in the path, prefix, pattern or target.
    pub q: String,
    /// The host (empty: every host).
    pub host: String,
    /// The order.
    pub order: Order,
    /// Which page this is.
    pub place: Place,
}

/// Which page of the list a page is, as its links say: counted from the first page, or
/// (reached from the last page while the count is not known) from the last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// The `n`-th page (from 1).
    Page(u64),
    /// The `n`-th page from the end (1: the last).
    FromEnd(u64),
}

/// Where a link of the list reads its page from: after or before a rule's place, or from
/// the page's own place (the first page; the last).
enum Link {
    After(Cursor),
    Before(Cursor),
    Place,
}

/// The orders of the list: (the `sort` parameter, the label, the order).
const ORDERS: [(&str, &str, Order); 3] = [
    ("id", "Id (oldest first)", Order::Id),
    ("hits", "Most hits", Order::Hits),
    ("changed", "Last changed", Order::Changed),
];

/// The order the `sort` parameter names; by id when it names none.
pub fn order_named(name: &str) -> Order {
    ORDERS
        .iter()
        .find(|(n, _, _)| *n == name.trim())
        .map_or(Order::Id, |(_, _, o)| *o)
}

fn order_name(order: Order) -> &'static str {
    ORDERS
        .iter()
        .find(|(_, _, o)| *o == order)
        .map_or("id", |(n, _, _)| n)
}

/// Pages of `per` rules that `matching` rules fill (at least one, empty).
pub fn pages(matching: u64, per: u32) -> u64 {
    matching.div_ceil(u64::from(per)).max(1)
}

/// `n` with a comma between each group of three digits: 1,000,000.
pub(crate) fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl Search {
    /// The list's URL for this search and order: the page at `place`, read from `link`.
    fn url(&self, link: Link, place: Place) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        if !self.q.is_empty() {
            s.append_pair("q", &self.q);
        }
        if !self.host.is_empty() {
            s.append_pair("host", &self.host);
        }
        if self.order != Order::Id {
            s.append_pair("sort", order_name(self.order));
        }
        match link {
            Link::After(c) => s.append_pair("after", &c.text(self.order)),
            Link::Before(c) => s.append_pair("before", &c.text(self.order)),
            Link::Place => &mut s,
        };
        match place {
            Place::Page(1) => &mut s,
            Place::Page(n) => s.append_pair("page", &n.to_string()),
            Place::FromEnd(n) => s.append_pair("end", &n.to_string()),
        };
        match s.finish() {
            q if q.is_empty() => "/-/admin/rules".to_owned(),
            q => format!("/-/admin/rules?{q}"),
        }
    }

    fn filtered(&self) -> bool {
        !self.q.is_empty() || !self.host.is_empty()
    }
}

fn rule_url(id: i64) -> String {
    format!("/-/admin/rules/{id}")
}

fn kind(rule: &RuleSpec) -> &'static str {
    rule.kind().map_or("path", |k| k.as_str())
}

fn badge(rule: &RuleSpec) -> Markup {
    html! {
        @if rule.gone {
            span class="badge gone" { "410 tombstone" }
        } @else {
            span class="badge" { (rule.status) }
        }
    }
}

/// The rule list: the counts, one page of `per` rules, links to the first, previous, next
/// and last pages. `total` is the rules in the store; `matching`, how many match the search
/// (`None`: more than the store counts, [`crate::store::COUNT_BOUND`]).
pub fn list(
    session: &Session,
    search: &Search,
    found: &Browsed,
    (total, matching): (u64, Option<u64>),
    per: u32,
    notice: &str,
) -> String {
    let last = matching.map(|m| pages(m, per));
    let (previous, next) = match search.place {
        Place::Page(n) => (Place::Page(n.saturating_sub(1).max(1)), Place::Page(n + 1)),
        Place::FromEnd(n) => (
            Place::FromEnd(n + 1),
            Place::FromEnd(n.saturating_sub(1).max(1)),
        ),
    };
    let body = html! {
        (flash(notice))
        form class="inline" method="get" action="/-/admin/rules" role="search" {
            div class="field" {
                label for="q" { "Search path or target" }
                input type="search" id="q" name="q" value=(search.q);
            }
            div class="field" {
                label for="host" { "Host" }
                input type="text" id="host" name="host" value=(search.host) placeholder="any";
            }
            div class="field" {
                label for="sort" { "Order" }
                select id="sort" name="sort" {
                    @for (name, label, order) in ORDERS {
                        option value=(name) selected[order == search.order] { (label) }
                    }
                }
            }
            button type="submit" { "Show" }
            a class="button secondary" href="/-/admin/rules/new" { "New rule" }
        }
        p class="counts" role="status" {
            @if total == 1 { "1 rule" } @else { (grouped(total)) " rules" }
            @if search.filtered() {
                "; " strong {
                    @match matching {
                        Some(n) => (grouped(n)),
                        None => { "more than " (grouped(crate::store::COUNT_BOUND)) },
                    }
                } " match"
            }
            @if !found.rules.is_empty() {
                ". Showing "
                @match search.place {
                    Place::Page(n) => {
                        @let first = (n - 1).saturating_mul(u64::from(per)) + 1;
                        (grouped(first)) "–" (grouped(first + found.rules.len() as u64 - 1))
                        ", page " (grouped(n))
                        @if let Some(last) = last { " of " (grouped(last)) }
                    }
                    Place::FromEnd(1) => { "the last page" }
                    Place::FromEnd(n) => { "page " (grouped(n)) " from the end" }
                }
                "."
            }
        }
        @if found.rules.is_empty() {
            @if !search.filtered() {
                p {
                    "No rules yet. " a href="/-/admin/rules/new" { "Create one" } " or "
                    a href="/-/admin/import" { "import a rule file" } "."
                }
            } @else {
                p { "No rule matches this search." }
            }
        } @else {
            table class="rules" {
                caption class="muted" {
                    "Rules, by " (match search.order {
                        Order::Id => "id",
                        Order::Hits => "hits, most first",
                        Order::Changed => "last change, newest first",
                    })
                }
                thead { tr {
                    th scope="col" { "Id" } th scope="col" { "Matches" } th scope="col" { "Host" }
                    th scope="col" { "Target" } th scope="col" { "Status" } th scope="col" { "Hits" }
                } }
                tbody {
                    @for r in &found.rules {
                        @let id = r.id.unwrap_or_default();
                        tr {
                            td { a href=(rule_url(id)) { (id) } }
                            td { (r.kind().map_or("?", |k| k.as_str())) " " code { (r.matcher()) } }
                            td {
                                @match &r.host {
                                    Some(h) => (h),
                                    None => span class="muted" { "any" },
                                }
                            }
                            td class="target" { code { (breakable(&r.to)) } }
                            td { (badge(r)) }
                            td class="number" { (grouped(r.hits.unwrap_or(0))) }
                        }
                    }
                }
            }
        }
        @if found.before || found.after {
            // Each link reads its page from an index: after the last rule shown, before the
            // first, from the start, or backwards from the end (see `store::browse`).
            nav class="actions pages" aria-label="Pages" {
                @if found.before {
                    a href=(search.url(Link::Place, Place::Page(1))) { "First page" }
                    @if let Some(first) = found.first {
                        a href=(search.url(Link::Before(first), previous)) rel="prev" { "Previous page" }
                    }
                }
                @if found.after {
                    @if let Some(last) = found.last {
                        a href=(search.url(Link::After(last), next)) rel="next" { "Next page" }
                    }
                    a href=(search.url(Link::Place, Place::FromEnd(1))) { "Last page" }
                }
            }
        }
    };
    layout("Rules", Some(session), body)
}

/// A rule's answers per day, for its page's chart.
pub struct Usage {
    /// Days with answers.
    pub days: Vec<DayCount>,
    /// The first and last day shown.
    pub from: Day,
    pub to: Day,
}

/// A rule's page.
pub fn show(
    session: &Session,
    rule: &RuleSpec,
    history: &[HistoryEntry],
    usage: &Usage,
    tried: Option<Result<Tried, TryError>>,
    try_defaults: (&str, &str),
) -> String {
    let id = rule.id.unwrap_or_default();
    let body = html! {
        dl class="fields" {
            dt { "Matches" } dd { (kind(rule)) " " code { (rule.matcher()) } }
            dt { "Host" } dd { (rule.host.as_deref().unwrap_or("any host")) }
            dt { "Target" } dd { code { (rule.to) } }
            dt { "Status" } dd { (badge(rule)) }
            dt { "Query string" } dd { (rule.query.as_str()) }
            dt { "Default type" } dd { (rule.default_type.as_deref().unwrap_or("text/html")) }
            dt { "Cache-Control" } dd {
                @match &rule.cache_control {
                    Some(c) => code { (c) },
                    None => span class="muted" { "none" },
                }
            }
            dt { "Link describedby" } dd { (if rule.described_by { "yes" } else { "no" }) }
            dt { "Hits" } dd { (rule.hits.unwrap_or(0)) }
        }
        div class="actions" {
            a class="button" href={ (rule_url(id)) "/edit" } { "Edit" }
            a class="button secondary" href={ (rule_url(id)) "/delete" } { "Delete…" }
            a href={ "/-/api/rules/" (id) } { "As JSON (API)" }
        }
        h2 id="usage" { "Hits over time" }
        (super::stats::ranges(&rule_url(id), usage.to - usage.from + 1))
        (super::chart::days("rule", &format!("Requests per day, rule {id}"), &usage.days, usage.from, usage.to))
        p {
            a href={ "/-/api/stats/rules/" (id) "?format=csv&from=" (date(usage.from)) "&to=" (date(usage.to)) } {
                "Download as CSV"
            }
            @if !rule.variants.is_empty() {
                " · "
                a href={ "/-/api/stats/rules/" (id) "/variants?format=csv&from=" (date(usage.from)) "&to=" (date(usage.to)) } {
                    "Per variant served, as CSV"
                }
            }
        }
        h2 { "Variants" }
        @if rule.variants.is_empty() {
            p class="muted" { "None: every request goes to the target." }
        } @else {
            table {
                thead { tr { th scope="col" { "Media type" } th scope="col" { "Target" } } }
                tbody {
                    @for v in &rule.variants {
                        tr { td { code { (v.media_type) } } td { code { (v.to) } } }
                    }
                }
            }
        }
        (try_box(id, tried, try_defaults))
        h2 { "History" }
        @if history.is_empty() {
            p class="muted" { "No recorded change." }
        } @else {
            table {
                thead { tr {
                    th scope="col" { "When" } th scope="col" { "Who" } th scope="col" { "Change" }
                    th scope="col" { "Target before" } th scope="col" { "Target after" }
                } }
                tbody {
                    @for h in history.iter().rev() {
                        tr {
                            td { (time(h.at)) }
                            td { (h.actor) }
                            td { (h.action) }
                            td { @if let Some(t) = &h.old_target { code { (t) } } }
                            td { @if let Some(t) = &h.new_target { code { (t) } } }
                        }
                    }
                }
            }
        }
    };
    layout(&format!("Rule {id}"), Some(session), body)
}

fn try_box(id: i64, tried: Option<Result<Tried, TryError>>, (url, accept): (&str, &str)) -> Markup {
    html! {
        h2 id="try" { "Try it" }
        p class="hint" {
            "What the server answers a GET for a URL (a path, or http://host/path for host \
             rules) with an " code { "Accept" } " header, computed as "
            code { "seeother explain" } " does; no hit is counted."
        }
        form class="inline" method="get" action={ (rule_url(id)) "#try" } {
            div class="field" {
                label for="try-url" { "URL" }
                input type="text" id="try-url" name="try" value=(url) size="40";
            }
            div class="field" {
                label for="try-accept" { "Accept" }
                input type="text" id="try-accept" name="accept" value=(accept) size="24";
            }
            button type="submit" { "Try" }
        }
        @match tried {
            None => {},
            Some(Err(e)) => p class="error" role="alert" { (e.0) },
            Some(Ok(t)) => {
                p role="status" {
                    strong { (t.status) } ": " (t.decision)
                    @match t.rule {
                        Some(r) if r == id => " (this rule)",
                        Some(r) => { " (" a href=(rule_url(r)) { "another rule" } ")" },
                        None => {},
                    }
                    "."
                }
                pre class="answer" { (t.response) }
            },
        }
    }
}

/// The create or edit form; `id` is the rule being edited.
pub fn form(session: &Session, id: Option<i64>, f: &RuleForm, errors: &[FieldError]) -> String {
    let field = |name, label| Field::new(name, label, errors);
    let (title, action, button) = match id {
        Some(id) => (format!("Edit rule {id}"), rule_url(id), "Save changes"),
        None => (
            "New rule".to_owned(),
            "/-/admin/rules".to_owned(),
            "Create rule",
        ),
    };
    let cancel = id.map_or_else(|| "/-/admin/rules".to_owned(), rule_url);
    let body = html! {
        (error_summary(errors))
        form class="stack" method="post" action=(action) novalidate {
            (csrf_input(session))
            (field("kind", "Match by").select(
                &[
                    ("path", "path: exactly this path"),
                    ("prefix", "prefix: paths starting with it (the rest is appended)"),
                    ("pattern", "pattern: {name} segments and a final {*rest}"),
                ],
                &f.kind,
            ))
            (field("matcher", "Path, prefix or pattern").hint(html! {
                "Starts with " code { "/" } ", e.g. " code { "/id/berlin" } " or "
                code { "/id/{name}" } "."
            }).text("text", &f.matcher))
            (field("to", "Target").hint(html! {
                "A path or an absolute http(s) URL; a pattern's captures go in as "
                code { "{name}" } "."
            }).text("text", &f.to))
            (field("status", "Status").select(
                &[
                    ("303", "303 See Other (default)"),
                    ("301", "301 Moved Permanently"),
                    ("302", "302 Found"),
                    ("307", "307 Temporary Redirect"),
                    ("308", "308 Permanent Redirect"),
                ],
                &f.status,
            ))
            (field("host", "Host").hint(html! {
                "Answer only requests for this host; empty for any host."
            }).text("text", &f.host))
            (field("query", "Request's query string").select(
                &[("append", "append it to the target"), ("drop", "drop it")],
                &f.query,
            ))
            (field("type", "Media type of the target").hint(html! {
                "Offered first in content negotiation; " code { "text/html" } " when empty."
            }).text("text", &f.media_type))
            (field("variants", "Variants").hint(html! {
                "One per line: a media type, a space, its target ("
                code { "text/turtle https://example.org/x.ttl" } ")."
            }).textarea(3, &f.variants))
            (field("cache_control", "Cache-Control").hint(html! {
                "A 303 is cached only with explicit freshness, e.g. " code { "max-age=3600" }
                "; empty for none."
            }).text("text", &f.cache_control))
            (checkbox("described_by", "Add Link: rel=\"describedby\" to the target", f.described_by))
            @if id.is_some() {
                (checkbox("gone", "Tombstone: answer 410 Gone instead of redirecting", f.gone))
            }
            div class="actions" {
                button type="submit" { (button) }
                a href=(cancel) { "Cancel" }
            }
        }
    };
    layout(&title, Some(session), body)
}

/// The delete confirmation.
pub fn confirm_delete(session: &Session, rule: &RuleSpec) -> String {
    let id = rule.id.unwrap_or_default();
    let url = rule_url(id);
    let body = html! {
        p {
            "Rule " (id) " matches " (kind(rule)) " " code { (rule.matcher()) }
            " and sends requests to " code { (rule.to) } "."
        }
        form class="stack" method="post" action={ (url) "/delete" } {
            (csrf_input(session))
            fieldset {
                legend { "What should requests for it get?" }
                div {
                    input type="radio" id="mode-delete" name="mode" value="delete" checked;
                    " " label for="mode-delete" { "404 Not Found: delete the rule" }
                }
                div {
                    input type="radio" id="mode-tombstone" name="mode" value="tombstone";
                    " " label for="mode-tombstone" { "410 Gone: keep it as a tombstone" }
                }
            }
            div class="actions" {
                button class="danger" type="submit" { "Delete rule " (id) }
                a href=(url) { "Cancel" }
            }
        }
    };
    layout(&format!("Delete rule {id}?"), Some(session), body)
}
