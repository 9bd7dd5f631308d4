//! The link checks' pages: the broken targets, and one rule's latest check.

use maud::{Markup, html};

use super::{layout, time};
use crate::check::report::TargetReport;
use crate::rule::RuleSpec;
use crate::session::Session;
use crate::store::CheckRow;

/// The states the list's filter offers.
const FILTERS: [&str; 11] = [
    "broken",
    "all",
    "ok",
    "permanent_redirect",
    "temporary_redirect",
    "client_error",
    "server_error",
    "unreachable",
    "timeout",
    "redirect_loop",
    "invalid",
];

fn state_badge(state: &str) -> Markup {
    let broken = seeother_core::check::State::from_name(state).is_none_or(|s| s.is_broken());
    html! { span class=(if broken { "badge gone" } else { "badge" }) { (state) } }
}

/// The rules whose latest check is in `shown`, by id.
pub fn list(
    session: &Session,
    shown: &str,
    rows: &[CheckRow],
    after: i64,
    next: Option<i64>,
) -> String {
    let body = html! {
        form class="inline" method="get" action="/-/admin/checks" {
            div class="field" {
                label for="state" { "State" }
                select id="state" name="state" {
                    @for f in FILTERS {
                        option value=(f) selected[f == shown] { (f) }
                    }
                }
            }
            button type="submit" { "Show" }
        }
        @if rows.is_empty() {
            p { "No rule's latest check is " (shown) ". Checks run with "
                code { "seeother serve --check-interval" } "." }
        } @else {
            table {
                caption class="muted" { "Rules by id, as of their latest check" }
                thead { tr {
                    th scope="col" { "Rule" } th scope="col" { "State" }
                    th scope="col" { "Checked" } th scope="col" { "Targets" }
                } }
                tbody {
                    @for r in rows {
                        @let targets: Vec<TargetReport> = serde_json::from_str(&r.result).unwrap_or_default();
                        tr {
                            td { a href=(format!("/-/admin/rules/{}/check", r.rule_id)) { (r.rule_id) } }
                            td { (state_badge(&r.state)) }
                            td { (time(r.checked_at)) }
                            td {
                                @for t in &targets {
                                    div {
                                        code { (t.url.as_deref().unwrap_or(&t.to)) }
                                        " " (t.state)
                                        @if let Some(s) = t.status { " " (s) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        nav class="actions" aria-label="Pages" {
            @if after > 0 {
                a href=(format!("/-/admin/checks?state={shown}")) { "First page" }
            }
            @if let Some(n) = next {
                a href=(format!("/-/admin/checks?state={shown}&after={n}")) rel="next" { "Next page" }
            }
        }
    };
    layout("Link checks", Some(session), body)
}

/// One rule's latest check: when, its state, and each target with its hop chain.
pub fn show(
    session: &Session,
    rule: &RuleSpec,
    check: Option<&(i64, String, Vec<TargetReport>)>,
) -> String {
    let id = rule.id.unwrap_or_default();
    let body = html! {
        p {
            a href=(format!("/-/admin/rules/{id}")) { "Rule " (id) } ": "
            code { (rule.matcher()) }
        }
        @match check {
            None => p { "Not checked yet: checks run with "
                code { "seeother serve --check-interval" } "." },
            Some((at, state, targets)) => {
                p { (state_badge(state)) " as of " (time(*at)) }
                @for t in targets {
                    section {
                        h2 {
                            @match &t.variant {
                                Some(v) => { "Variant " code { (v) } }
                                None => "Target",
                            }
                        }
                        p { code { (t.url.as_deref().unwrap_or(&t.to)) } " " (state_badge(&t.state)) }
                        @if let Some(to) = &t.moved_to {
                            p { "Moved permanently to " code { (to) } ": the rule could point there." }
                        }
                        @if let Some(e) = &t.error { p class="muted" { (e) } }
                        @if !t.hops.is_empty() {
                            ol {
                                @for h in &t.hops {
                                    li { (h.status) " " code { (h.url) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    layout(&format!("Link check of rule {id}"), Some(session), body)
}
