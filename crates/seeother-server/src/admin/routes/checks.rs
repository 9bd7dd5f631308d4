//! The link checks' pages (`serve --check-interval`): the rules whose targets are broken (or
//! in any one state), and one rule's latest check with every target's hops.

use std::sync::Arc;

use axum::extract::State;
use axum::response::IntoResponse;
use http::StatusCode;
use seeother_core::check::State as CheckState;
use serde::Deserialize;

use crate::admin::extract::{Params, RuleId, SignedIn};
use crate::admin::page::{Answer, Page, Refusal};
use crate::admin::view::Back;
use crate::admin::view::checks as view;
use crate::app::App;
use crate::catalog::blocking;
use crate::check::report::TargetReport;

/// Rules per page of the list.
const PAGE: u32 = 100;

/// The list's query: the state shown (`broken` by default, `all`, or one state) and a page.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ChecksParams {
    state: String,
    after: String,
}

/// `GET /-/admin/checks`.
pub async fn list(
    State(app): State<Arc<App>>,
    SignedIn(session): SignedIn,
    Params(query): Params<ChecksParams>,
) -> Answer {
    let shown = match query.state.trim() {
        "" => "broken".to_owned(),
        s => s.to_owned(),
    };
    let wanted: Vec<&'static str> = match shown.as_str() {
        "broken" => CheckState::ALL
            .into_iter()
            .filter(|s| s.is_broken())
            .map(CheckState::name)
            .collect(),
        "all" => Vec::new(),
        name => match CheckState::from_name(name) {
            Some(s) => vec![s.name()],
            None => {
                return Err(Refusal::Input {
                    status: StatusCode::BAD_REQUEST,
                    message: format!(
                        "{name:?} is not a state; choose broken, all, or one of {}.",
                        CheckState::ALL.map(CheckState::name).join(", ")
                    ),
                    back: Back {
                        href: "/-/admin/checks".to_owned(),
                        text: "Back to the broken targets",
                    },
                });
            }
        },
    };
    let after = query.after.parse().unwrap_or(0).max(0);
    let mut rows = blocking(&app.catalog, move |c| {
        Ok(c.store().checks(&wanted, after, PAGE + 1)?)
    })
    .await?;
    let next = (rows.len() > PAGE as usize).then(|| {
        rows.truncate(PAGE as usize);
        rows.last().map_or(0, |r| r.rule_id)
    });
    let html = view::list(&session, &shown, &rows, after, next);
    Ok(Page::ok(html).into_response())
}

/// `GET /-/admin/rules/{id}/check`.
pub async fn show(
    State(app): State<Arc<App>>,
    SignedIn(session): SignedIn,
    RuleId(id): RuleId,
) -> Answer {
    let (rule, check) = blocking(&app.catalog, move |c| {
        Ok((c.get(id)?, c.store().rule_check(id)?))
    })
    .await?;
    let Some(rule) = rule else {
        return Err(Refusal::NotFound(format!(
            "No rule has id {id}; it may have been deleted. The list shows the rules there are."
        )));
    };
    let targets: Option<(i64, String, Vec<TargetReport>)> = check.map(|c| {
        let targets = serde_json::from_str(&c.result).unwrap_or_default();
        (c.checked_at, c.state, targets)
    });
    Ok(Page::ok(view::show(&session, &rule, targets.as_ref())).into_response())
}
