//! Rule pages: the searchable list, a rule's page (fields, variants, hits, history, "try it"),
//! the create/edit form and the delete confirmation.

use std::fmt::Write as _;

use seeother_core::note::escape;

use super::{Field, checkbox, csrf_input, error_summary, layout, time};
use crate::admin::form::{FieldError, RuleForm};
use crate::admin::try_it::{Tried, TryError};
use crate::rule::RuleSpec;
use crate::session::Session;
use crate::store::{HistoryEntry, Page};

/// The list's search, as asked.
#[derive(Clone, Debug, Default)]
pub struct Search {
    /// Text in the path, prefix, pattern or target.
    pub q: String,
    /// The host (empty: every host).
    pub host: String,
    /// Rules after this id.
    pub after: i64,
}

impl Search {
    fn query(&self, after: Option<i64>) -> String {
        let mut s = form_urlencoded::Serializer::new(String::new());
        if !self.q.is_empty() {
            s.append_pair("q", &self.q);
        }
        if !self.host.is_empty() {
            s.append_pair("host", &self.host);
        }
        if let Some(a) = after {
            s.append_pair("after", &a.to_string());
        }
        s.finish()
    }
}

fn rule_url(id: i64) -> String {
    format!("/-/admin/rules/{id}")
}

fn badges(rule: &RuleSpec) -> String {
    let mut b = format!("<span class=\"badge\">{}</span>", rule.status);
    if rule.gone {
        b = "<span class=\"badge gone\">410 tombstone</span>".to_owned();
    }
    b
}

/// The rule list.
pub fn list(session: &Session, search: &Search, page: &Page, notice: &str) -> String {
    let mut html = String::new();
    if !notice.is_empty() {
        let _ = write!(
            html,
            "<p class=\"flash\" role=\"status\">{}</p>",
            escape(notice)
        );
    }
    let _ = write!(
        html,
        "<form class=\"inline\" method=\"get\" action=\"/-/admin/rules\" role=\"search\">\
         <div class=\"field\"><label for=\"q\">Search path or target</label>\
         <input type=\"search\" id=\"q\" name=\"q\" value=\"{}\"></div>\
         <div class=\"field\"><label for=\"host\">Host</label>\
         <input type=\"text\" id=\"host\" name=\"host\" value=\"{}\" placeholder=\"any\"></div>\
         <button type=\"submit\">Search</button>\
         <a class=\"button secondary\" href=\"/-/admin/rules/new\">New rule</a></form>",
        escape(&search.q),
        escape(&search.host)
    );
    if page.rules.is_empty() {
        html.push_str(
            if search.q.is_empty() && search.host.is_empty() && search.after == 0 {
                "<p>No rules yet. <a href=\"/-/admin/rules/new\">Create one</a> or \
             <a href=\"/-/admin/import\">import a rule file</a>.</p>"
            } else {
                "<p>No rule matches this search.</p>"
            },
        );
    } else {
        html.push_str(
            "<table><caption class=\"muted\">Rules, by id</caption><thead><tr><th scope=\"col\">Id</th>\
             <th scope=\"col\">Matches</th><th scope=\"col\">Host</th><th scope=\"col\">Target</th>\
             <th scope=\"col\">Status</th><th scope=\"col\">Hits</th></tr></thead><tbody>",
        );
        for r in &page.rules {
            let id = r.id.unwrap_or_default();
            let _ = write!(
                html,
                "<tr><td><a href=\"{}\">{id}</a></td><td>{} <code>{}</code></td><td>{}</td>\
                 <td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                rule_url(id),
                r.kind().map_or("?", |k| k.as_str()),
                escape(r.matcher()),
                r.host.as_deref().map_or_else(
                    || "<span class=\"muted\">any</span>".to_owned(),
                    |h| escape(h).into_owned()
                ),
                escape(&r.to),
                badges(r),
                r.hits.unwrap_or(0)
            );
        }
        html.push_str("</tbody></table>");
    }
    html.push_str("<nav class=\"actions\" aria-label=\"Pages\">");
    if search.after > 0 {
        let _ = write!(
            html,
            "<a href=\"/-/admin/rules?{}\">First page</a>",
            escape(&search.query(None))
        );
    }
    if let Some(next) = page.next {
        let _ = write!(
            html,
            "<a href=\"/-/admin/rules?{}\" rel=\"next\">Next page</a>",
            escape(&search.query(Some(next)))
        );
    }
    html.push_str("</nav>");
    layout("Rules", Some(session), &html)
}

/// A rule's page.
pub fn show(
    session: &Session,
    rule: &RuleSpec,
    history: &[HistoryEntry],
    tried: Option<Result<Tried, TryError>>,
    try_defaults: (&str, &str),
) -> String {
    let id = rule.id.unwrap_or_default();
    let mut html = String::new();
    let kind = rule.kind().map_or("path", |k| k.as_str());
    let _ = write!(
        html,
        "<dl class=\"fields\"><dt>Matches</dt><dd>{kind} <code>{}</code></dd>\
         <dt>Host</dt><dd>{}</dd><dt>Target</dt><dd><code>{}</code></dd>\
         <dt>Status</dt><dd>{}</dd><dt>Query string</dt><dd>{}</dd>\
         <dt>Default type</dt><dd>{}</dd><dt>Cache-Control</dt><dd>{}</dd>\
         <dt>Link describedby</dt><dd>{}</dd><dt>Hits</dt><dd>{}</dd></dl>",
        escape(rule.matcher()),
        rule.host
            .as_deref()
            .map_or_else(|| "any host".to_owned(), |h| escape(h).into_owned()),
        escape(&rule.to),
        badges(rule),
        rule.query.as_str(),
        escape(rule.default_type.as_deref().unwrap_or("text/html")),
        rule.cache_control.as_deref().map_or_else(
            || "<span class=\"muted\">none</span>".to_owned(),
            |c| format!("<code>{}</code>", escape(c))
        ),
        if rule.described_by { "yes" } else { "no" },
        rule.hits.unwrap_or(0),
    );
    let _ = write!(
        html,
        "<div class=\"actions\"><a class=\"button\" href=\"{0}/edit\">Edit</a>\
         <a class=\"button secondary\" href=\"{0}/delete\">Delete…</a>\
         <a href=\"/-/api/rules/{id}\">As JSON (API)</a></div>",
        rule_url(id)
    );
    html.push_str("<h2>Variants</h2>");
    if rule.variants.is_empty() {
        html.push_str("<p class=\"muted\">None: every request goes to the target.</p>");
    } else {
        html.push_str(
            "<table><thead><tr><th scope=\"col\">Media type</th><th scope=\"col\">Target</th></tr></thead><tbody>",
        );
        for v in &rule.variants {
            let _ = write!(
                html,
                "<tr><td><code>{}</code></td><td><code>{}</code></td></tr>",
                escape(&v.media_type),
                escape(&v.to)
            );
        }
        html.push_str("</tbody></table>");
    }
    try_box(&mut html, id, tried, try_defaults);
    html.push_str("<h2>History</h2>");
    if history.is_empty() {
        html.push_str("<p class=\"muted\">No recorded change.</p>");
    } else {
        html.push_str(
            "<table><thead><tr><th scope=\"col\">When</th><th scope=\"col\">Who</th>\
             <th scope=\"col\">Change</th><th scope=\"col\">Target before</th>\
             <th scope=\"col\">Target after</th></tr></thead><tbody>",
        );
        for h in history.iter().rev() {
            let target = |t: &Option<String>| {
                t.as_deref()
                    .map_or_else(String::new, |t| format!("<code>{}</code>", escape(t)))
            };
            let _ = write!(
                html,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                time(h.at),
                escape(&h.actor),
                escape(&h.action),
                target(&h.old_target),
                target(&h.new_target)
            );
        }
        html.push_str("</tbody></table>");
    }
    layout(&format!("Rule {id}"), Some(session), &html)
}

fn try_box(
    html: &mut String,
    id: i64,
    tried: Option<Result<Tried, TryError>>,
    (url, accept): (&str, &str),
) {
    let _ = write!(
        html,
        "<h2 id=\"try\">Try it</h2><p class=\"hint\">What the server answers a GET for a URL \
         (a path, or http://host/path for host rules) with an <code>Accept</code> header, \
         computed as <code>seeother explain</code> does; no hit is counted.</p>\
         <form class=\"inline\" method=\"get\" action=\"{}#try\">\
         <div class=\"field\"><label for=\"try-url\">URL</label>\
         <input type=\"text\" id=\"try-url\" name=\"try\" value=\"{}\" size=\"40\"></div>\
         <div class=\"field\"><label for=\"try-accept\">Accept</label>\
         <input type=\"text\" id=\"try-accept\" name=\"accept\" value=\"{}\" size=\"24\"></div>\
         <button type=\"submit\">Try</button></form>",
        rule_url(id),
        escape(url),
        escape(accept)
    );
    match tried {
        None => {}
        Some(Err(e)) => {
            let _ = write!(
                html,
                "<p class=\"error\" role=\"alert\">{}</p>",
                escape(&e.0)
            );
        }
        Some(Ok(t)) => {
            let whose = match t.rule {
                Some(r) if r == id => " (this rule)".to_owned(),
                Some(r) => format!(" (<a href=\"{}\">another rule</a>)", rule_url(r)),
                None => String::new(),
            };
            let _ = write!(
                html,
                "<p role=\"status\"><strong>{}</strong>: {}{whose}.</p><pre class=\"answer\">{}</pre>",
                t.status,
                escape(&t.decision),
                escape(&t.response)
            );
        }
    }
}

/// The create or edit form; `id` is the rule being edited.
pub fn form(session: &Session, id: Option<i64>, f: &RuleForm, errors: &[FieldError]) -> String {
    let field = |name, label, hint| Field {
        name,
        label,
        hint,
        errors,
    };
    let (title, action, button) = match id {
        Some(id) => (
            format!("Edit rule {id}"),
            rule_url(id),
            "Save changes".to_owned(),
        ),
        None => (
            "New rule".to_owned(),
            "/-/admin/rules".to_owned(),
            "Create rule".to_owned(),
        ),
    };
    let mut html = error_summary(errors);
    let _ = write!(
        html,
        "<form class=\"stack\" method=\"post\" action=\"{action}\" novalidate>{}",
        csrf_input(session)
    );
    html.push_str(&field("kind", "Match by", "").select(
        &[
            ("path", "path: exactly this path"),
            (
                "prefix",
                "prefix: paths starting with it (the rest is appended)",
            ),
            ("pattern", "pattern: {name} segments and a final {*rest}"),
        ],
        &f.kind,
    ));
    html.push_str(
        &field(
            "matcher",
            "Path, prefix or pattern",
            "Starts with <code>/</code>, e.g. <code>/id/berlin</code> or <code>/id/{name}</code>.",
        )
        .text("text", &f.matcher),
    );
    html.push_str(
        &field(
            "to",
            "Target",
            "A path or an absolute http(s) URL; a pattern's captures go in as <code>{name}</code>.",
        )
        .text("text", &f.to),
    );
    html.push_str(&field("status", "Status", "").select(
        &[
            ("303", "303 See Other (default)"),
            ("301", "301 Moved Permanently"),
            ("302", "302 Found"),
            ("307", "307 Temporary Redirect"),
            ("308", "308 Permanent Redirect"),
        ],
        &f.status,
    ));
    html.push_str(
        &field(
            "host",
            "Host",
            "Answer only requests for this host; empty for any host.",
        )
        .text("text", &f.host),
    );
    html.push_str(&field("query", "Request's query string", "").select(
        &[("append", "append it to the target"), ("drop", "drop it")],
        &f.query,
    ));
    html.push_str(
        &field(
            "type",
            "Media type of the target",
            "Offered first in content negotiation; <code>text/html</code> when empty.",
        )
        .text("text", &f.media_type),
    );
    html.push_str(&field("variants", "Variants", "One per line: a media type, a space, its target (<code>text/turtle https://example.org/x.ttl</code>).").textarea(3, &f.variants));
    html.push_str(&field("cache_control", "Cache-Control", "A 303 is cached only with explicit freshness, e.g. <code>max-age=3600</code>; empty for none.").text("text", &f.cache_control));
    html.push_str(&checkbox(
        "described_by",
        "Add Link: rel=\"describedby\" to the target",
        f.described_by,
    ));
    if id.is_some() {
        html.push_str(&checkbox(
            "gone",
            "Tombstone: answer 410 Gone instead of redirecting",
            f.gone,
        ));
    }
    let cancel = id.map_or_else(|| "/-/admin/rules".to_owned(), rule_url);
    let _ = write!(
        html,
        "<div class=\"actions\"><button type=\"submit\">{button}</button>\
         <a href=\"{cancel}\">Cancel</a></div></form>"
    );
    layout(&title, Some(session), &html)
}

/// The delete confirmation.
pub fn confirm_delete(session: &Session, rule: &RuleSpec) -> String {
    let id = rule.id.unwrap_or_default();
    let html = format!(
        "<p>Rule {id} matches {} <code>{}</code> and sends requests to <code>{}</code>.</p>\
         <form class=\"stack\" method=\"post\" action=\"{url}/delete\">{}\
         <fieldset><legend>What should requests for it get?</legend>\
         <div><input type=\"radio\" id=\"mode-delete\" name=\"mode\" value=\"delete\" checked> \
         <label for=\"mode-delete\">404 Not Found: delete the rule</label></div>\
         <div><input type=\"radio\" id=\"mode-tombstone\" name=\"mode\" value=\"tombstone\"> \
         <label for=\"mode-tombstone\">410 Gone: keep it as a tombstone</label></div></fieldset>\
         <div class=\"actions\"><button class=\"danger\" type=\"submit\">Delete rule {id}</button>\
         <a href=\"{url}\">Cancel</a></div></form>",
        rule.kind().map_or("path", |k| k.as_str()),
        escape(rule.matcher()),
        escape(&rule.to),
        csrf_input(session),
        url = rule_url(id),
    );
    layout(&format!("Delete rule {id}?"), Some(session), &html)
}
