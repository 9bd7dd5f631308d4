//! `/-/api/rules`: list and create; `/-/api/rules/{id}`: read, replace, delete;
//! `/-/api/rules/{id}/history`: every change of a rule.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::header::LOCATION;
use http::{HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};

use super::MAX_RULE_BODY;
use super::extract::{Actor, Authenticated, Params, RuleBody, RuleId, bounded, flag, number};
use super::openapi::{
    BadRequest, Conflict, NotFound, Refused, RequestTimeout, TooLarge, TooManyFailures,
    Unauthorized, Unavailable,
};
use super::patch;
use super::reply::{ApiError, json};
use crate::app::App;
use crate::catalog::CatalogError;
use crate::catalog::blocking;
use crate::store::{HistoryEntry, ListQuery, Page, StoreError};

/// Most rules in one page of `GET /-/api/rules` (`limit`).
const MAX_LIST_LIMIT: i64 = 1000;

/// The parameters of `GET /-/api/rules`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ListParams {
    /// Only rules whose path/prefix/pattern or target contains this text, literally (ASCII
    /// case aside; `%`, `_` and NUL are plain characters)
    q: Option<String>,
    /// Only rules for this host (empty: rules for any host)
    host: Option<String>,
    /// Only rules with a greater id: the `next` of the page before
    #[param(value_type = Option<i64>, minimum = -9223372036854775808_i64, maximum = 9223372036854775807_i64, default = 0)]
    after: Option<String>,
    /// Rules per page; out of range is a 400, not clamped
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000, default = 100)]
    limit: Option<String>,
}

/// List rules, by id
#[utoipa::path(
    get,
    path = "/-/api/rules",
    operation_id = "listRules",
    params(ListParams),
    responses(
        (status = 200, description = "A page", body = Page),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 429, response = TooManyFailures),
        (status = 503, response = Unavailable),
    )
)]
pub(super) async fn list(
    _: Authenticated,
    State(app): State<Arc<App>>,
    Params(p): Params<ListParams>,
) -> Result<Response, ApiError> {
    let list = ListQuery {
        search: p.q,
        host: p.host,
        after: number("after", p.after.as_deref())?.unwrap_or(0),
        limit: bounded("limit", p.limit.as_deref(), 100, 1, MAX_LIST_LIMIT)? as u32,
    };
    let page = blocking(&app.catalog, move |c| Ok(c.list(&list)?)).await?;
    Ok(json(StatusCode::OK, &page))
}

/// Create a rule (durable when acknowledged)
#[utoipa::path(
    post,
    path = "/-/api/rules",
    operation_id = "createRule",
    params(Actor),
    request_body(content = crate::rule::RuleSpec, content_type = "application/json"),
    responses(
        (status = 201, description = "Created; `Location` names the rule",
            body = super::openapi::StoredRule,
            headers(("Location" = String, description = "`/-/api/rules/{id}`"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 408, response = RequestTimeout),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 422, response = Refused),
        (status = 429, response = TooManyFailures),
        (status = 503, response = Unavailable),
    )
)]
pub(super) async fn create(
    _: Authenticated,
    State(app): State<Arc<App>>,
    actor: Actor,
    RuleBody(rule): RuleBody<MAX_RULE_BODY>,
) -> Result<Response, ApiError> {
    let stored = blocking(&app.catalog, move |c| c.create(rule, &actor.name)).await?;
    let mut r = json(StatusCode::CREATED, &stored);
    let location = format!("/-/api/rules/{}", stored.id.unwrap_or_default());
    if let Ok(v) = HeaderValue::from_str(&location) {
        // RFC 9110 §15.3.2: a 201 names the resource it created.
        r.headers_mut().insert(LOCATION, v);
    }
    Ok(r)
}

/// One rule
#[utoipa::path(
    get,
    path = "/-/api/rules/{id}",
    operation_id = "getRule",
    params(RuleId),
    responses(
        (status = 200, description = "The rule", body = super::openapi::StoredRule),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 429, response = TooManyFailures),
        (status = 503, response = Unavailable),
    )
)]
pub(super) async fn get(
    _: Authenticated,
    State(app): State<Arc<App>>,
    RuleId(id): RuleId,
) -> Result<Response, ApiError> {
    let rule = blocking(&app.catalog, move |c| Ok(c.get(id)?)).await?;
    rule.map(|r| json(StatusCode::OK, &r))
        .ok_or_else(|| CatalogError::Store(StoreError::NotFound(id)).into())
}

/// Replace a rule (fields left out are removed; `PATCH` changes only some)
#[utoipa::path(
    put,
    path = "/-/api/rules/{id}",
    operation_id = "replaceRule",
    params(RuleId, Actor),
    request_body(content = crate::rule::RuleSpec, content_type = "application/json"),
    responses(
        (status = 200, description = "The rule as stored", body = super::openapi::StoredRule,
            headers(("Seeother-Dropped-Fields" = String,
                description = "Fields the rule had before and has no more, left out of the body or set to their default (e.g. `cache_control, variants`); absent when none"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 408, response = RequestTimeout),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 422, response = Refused),
        (status = 429, response = TooManyFailures),
        (status = 503, response = Unavailable),
    )
)]
pub(super) async fn replace(
    _: Authenticated,
    State(app): State<Arc<App>>,
    RuleId(id): RuleId,
    actor: Actor,
    RuleBody(rule): RuleBody<MAX_RULE_BODY>,
) -> Result<Response, ApiError> {
    // A replacement that leaves out a field the rule had removes it: said in the answer, as
    // PATCH (a merge patch) is the way to change only some fields.
    let (stored, dropped) = blocking(&app.catalog, move |c| {
        let old = c.get(id)?;
        let stored = c.update(id, rule, &actor.name)?;
        let dropped = old.map(|o| patch::dropped(&o, &stored)).unwrap_or_default();
        Ok((stored, dropped))
    })
    .await?;
    let mut r = json(StatusCode::OK, &stored);
    if let Some(v) = patch::dropped_header(&dropped) {
        r.headers_mut().insert(patch::DROPPED, v);
    }
    Ok(r)
}

/// The parameters of `DELETE /-/api/rules/{id}`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct DeleteParams {
    /// Keep the rule answering 410 Gone
    #[param(value_type = Option<bool>, default = false)]
    tombstone: Option<String>,
}

/// Delete a rule, or keep it as a 410 Gone tombstone
#[utoipa::path(
    delete,
    path = "/-/api/rules/{id}",
    operation_id = "deleteRule",
    params(RuleId, Actor, DeleteParams),
    responses(
        (status = 200, description = "Now a tombstone", body = super::openapi::StoredRule),
        (status = 204, description = "Deleted"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 429, response = TooManyFailures),
        (status = 503, response = Unavailable),
    )
)]
pub(super) async fn delete(
    _: Authenticated,
    State(app): State<Arc<App>>,
    RuleId(id): RuleId,
    actor: Actor,
    Params(p): Params<DeleteParams>,
) -> Result<Response, ApiError> {
    let tombstone = flag("tombstone", p.tombstone.as_deref())?;
    match blocking(&app.catalog, move |c| c.delete(id, tombstone, &actor.name)).await? {
        Some(rule) => Ok(json(StatusCode::OK, &rule)),
        None => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

/// The changes of one rule.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct History {
    /// Oldest first.
    history: Vec<HistoryEntry>,
}

/// Every change of a rule, oldest first (kept after a deletion)
#[utoipa::path(
    get,
    path = "/-/api/rules/{id}/history",
    operation_id = "ruleHistory",
    params(RuleId),
    responses(
        (status = 200, description = "History", body = History),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 429, response = TooManyFailures),
        (status = 503, response = Unavailable),
    )
)]
pub(super) async fn history(
    _: Authenticated,
    State(app): State<Arc<App>>,
    RuleId(id): RuleId,
) -> Result<Response, ApiError> {
    let history = blocking(&app.catalog, move |c| {
        if c.store().get(id)?.is_none() && c.history(id)?.is_empty() {
            return Err(StoreError::NotFound(id).into());
        }
        Ok(c.history(id)?)
    })
    .await?;
    Ok(json(StatusCode::OK, &History { history }))
}
