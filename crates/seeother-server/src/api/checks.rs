//! `GET /-/api/rules/{id}/check`: a rule's latest link check; `GET /-/api/checks`: the latest
//! checks, filtered by state (`serve --check-interval`).

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use http::StatusCode;
use serde::{Deserialize, Serialize};

use super::extract::{Authenticated, Params, RuleId, bounded, number};
use super::openapi::{BadRequest, NotFound, TooManyFailures, Unauthorized, Unavailable};
use super::reply::{ApiError, json};
use crate::app::App;
use crate::catalog::blocking;
use crate::check::report::TargetReport;
use crate::store::CheckRow;

/// Most checks in one answer (`limit`).
const MAX_CHECKS_LIMIT: i64 = 1000;

/// A rule's latest link check.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct RuleCheck {
    /// The rule's id.
    rule: i64,
    /// When, in Unix seconds.
    checked_at: i64,
    /// Its worst target's state.
    #[schema(example = "client_error")]
    state: String,
    /// Whether that state is a broken one.
    broken: bool,
    /// Each target: the default one first, then the variants.
    targets: Vec<TargetReport>,
}

impl RuleCheck {
    fn from_row(row: CheckRow) -> Self {
        let broken = seeother_core::check::State::from_name(&row.state)
            .is_none_or(seeother_core::check::State::is_broken);
        RuleCheck {
            rule: row.rule_id,
            checked_at: row.checked_at,
            broken,
            state: row.state,
            targets: serde_json::from_str(&row.result).unwrap_or_default(),
        }
    }
}

/// The latest link check of a rule (404 when it is not checked yet)
#[utoipa::path(
    get,
    path = "/-/api/rules/{id}/check",
    operation_id = "ruleCheck",
    params(RuleId),
    responses(
        (status = 200, description = "The latest check", body = RuleCheck),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 429, response = TooManyFailures),
        (status = 503, response = Unavailable),
    )
)]
pub(super) async fn rule_check(
    _: Authenticated,
    State(app): State<Arc<App>>,
    RuleId(id): RuleId,
) -> Result<Response, ApiError> {
    let (exists, check) = blocking(&app.catalog, move |c| {
        Ok((c.store().get(id)?.is_some(), c.store().rule_check(id)?))
    })
    .await?;
    match (exists, check) {
        (_, Some(row)) => Ok(json(StatusCode::OK, &RuleCheck::from_row(row))),
        (true, None) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!(
                "rule {id} has not been checked yet; start the server with --check-interval, \
                 or run `seeother check`"
            ),
        )),
        (false, None) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no rule has id {id}; list the rules to find its id"),
        )),
    }
}

/// The parameters of `GET /-/api/checks`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ChecksParams {
    /// Only these states, comma-separated (`ok`, `permanent_redirect`, `temporary_redirect`,
    /// `client_error`, `server_error`, `unreachable`, `timeout`, `redirect_loop`, `invalid`,
    /// `skipped`), or `broken` for every broken one
    #[param(
        example = "broken",
        pattern = r"^(broken|ok|permanent_redirect|temporary_redirect|client_error|server_error|unreachable|timeout|redirect_loop|invalid|skipped)?(,(broken|ok|permanent_redirect|temporary_redirect|client_error|server_error|unreachable|timeout|redirect_loop|invalid|skipped)?)*$"
    )]
    state: Option<String>,
    /// Only rules with a greater id: the `next` of the page before
    #[param(value_type = Option<i64>, minimum = -9223372036854775808_i64, maximum = 9223372036854775807_i64, default = 0)]
    after: Option<String>,
    /// Checks per page; out of range is a 400, not clamped
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000, default = 100)]
    limit: Option<String>,
}

/// A page of latest checks.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct Checks {
    /// By rule id.
    checks: Vec<RuleCheck>,
    /// The `after` value for the next page, when there is one.
    #[schema(required = true)]
    next: Option<i64>,
}

/// The state names `state` asks for (empty: all).
fn states(state: Option<&str>) -> Result<Vec<&'static str>, ApiError> {
    use seeother_core::check::State;
    let mut out = Vec::new();
    for name in state.unwrap_or("").split(',').map(str::trim) {
        match name {
            "" => {}
            "broken" => out.extend(
                State::ALL
                    .into_iter()
                    .filter(|s| s.is_broken())
                    .map(State::name),
            ),
            _ => match State::from_name(name) {
                Some(s) => out.push(s.name()),
                None => {
                    return Err(ApiError::bad_request(format!(
                        "state {name:?} is not one; use broken, or one of {}",
                        State::ALL.map(State::name).join(", ")
                    )));
                }
            },
        }
    }
    Ok(out)
}

/// The latest link checks, by rule id (`?state=broken` for the broken targets)
#[utoipa::path(
    get,
    path = "/-/api/checks",
    operation_id = "listChecks",
    params(ChecksParams),
    responses(
        (status = 200, description = "A page", body = Checks),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 429, response = TooManyFailures),
        (status = 503, response = Unavailable),
    )
)]
pub(super) async fn checks(
    _: Authenticated,
    State(app): State<Arc<App>>,
    Params(p): Params<ChecksParams>,
) -> Result<Response, ApiError> {
    let wanted = states(p.state.as_deref())?;
    let after = number("after", p.after.as_deref())?.unwrap_or(0);
    let limit = bounded("limit", p.limit.as_deref(), 100, 1, MAX_CHECKS_LIMIT)? as u32;
    let mut rows = blocking(&app.catalog, move |c| {
        Ok(c.store().checks(&wanted, after, limit + 1)?)
    })
    .await?;
    let next = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(|r| r.rule_id)
    } else {
        None
    };
    let checks = rows.into_iter().map(RuleCheck::from_row).collect();
    Ok(json(StatusCode::OK, &Checks { checks, next }))
}
