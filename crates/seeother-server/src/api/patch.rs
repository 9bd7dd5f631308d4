//! `PATCH /-/api/rules/{id}`: change some fields of a rule with a JSON Merge Patch (RFC
//! 7396), and what a `PUT` would drop.

use std::sync::Arc;

use axum::extract::{FromRequest, Request, State};
use axum::response::Response;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, StatusCode};
use serde_json::Value;

use super::MAX_RULE_BODY;
use super::extract::{Actor, Authenticated, RuleId, Whole};
use super::openapi::{
    BadRequest, Conflict, NotFound, NotMergePatch, Refused, RequestTimeout, TooLarge,
    TooManyFailures, Unauthorized, Unavailable,
};
use super::reply::{ApiError, json};
use crate::app::App;
use crate::catalog::{CatalogError, blocking};
use crate::rule::RuleSpec;
use crate::rules_file::unknown_field;
use crate::store::StoreError;

/// The header field of a `PUT`'s answer naming the fields the rule had before and has no
/// more: left out of the body (or set to their default), so the replacement removed them
/// (`cache_control, variants`).
pub(super) const DROPPED: &str = "seeother-dropped-fields";

/// A merge patch: a JSON object (RFC 7396 §2: any JSON value is a patch, but one that is not
/// an object would replace the whole rule with something that is no rule).
pub(super) struct MergePatch(serde_json::Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for MergePatch {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        // RFC 6902's JSON Patch is a list of operations, another thing with another type.
        let json_patch = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';')
                    .next()
                    .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json-patch+json"))
            });
        if json_patch {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "JSON Patch (RFC 6902) is not taken; send a JSON Merge Patch (RFC 7396) as application/merge-patch+json: the fields to change, null for one to remove, e.g. {\"status\": 308}",
            ));
        }
        let Whole(bytes) = Whole::<MAX_RULE_BODY>::from_request(req, state).await?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(MergePatch(map)),
            Ok(_) => Err(ApiError::bad_request(
                "a merge patch of a rule is a JSON object of the fields to change, null for one to remove, e.g. {\"status\": 308}",
            )),
            Err(e) => Err(ApiError::bad_request(format!(
                "the body is not JSON ({e}); send the fields to change, e.g. {{\"status\": 308}}"
            ))),
        }
    }
}

/// `rule` as the JSON object a client writes: no `id`, no `hits`.
fn writable(rule: &RuleSpec) -> serde_json::Map<String, Value> {
    match serde_json::to_value(rule.clone().without_server_fields()) {
        Ok(Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    }
}

/// The fields `old` has that `new` lacks, by name (a field at its default is not written).
pub(super) fn dropped(old: &RuleSpec, new: &RuleSpec) -> Vec<String> {
    let new = writable(new);
    writable(old)
        .into_iter()
        .map(|(k, _)| k)
        .filter(|k| !new.contains_key(k))
        .collect()
}

/// The `Seeother-Dropped-Fields` value for `fields`, when there are any.
pub(super) fn dropped_header(fields: &[String]) -> Option<HeaderValue> {
    (!fields.is_empty())
        .then(|| HeaderValue::from_str(&fields.join(", ")).ok())
        .flatten()
}

/// Change some fields of a rule (JSON Merge Patch, RFC 7396)
///
/// The body names the fields to change and `null` for each to remove; the others stay as
/// they are. The patched rule is validated as a whole, as a `PUT` would be.
#[utoipa::path(
    patch,
    path = "/-/api/rules/{id}",
    operation_id = "patchRule",
    params(RuleId, Actor),
    request_body(content = super::openapi::RulePatch, content_type = "application/merge-patch+json",
        description = "The fields to change; `null` removes one"),
    responses(
        (status = 200, description = "The rule as stored", body = super::openapi::StoredRule),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 408, response = RequestTimeout),
        (status = 409, response = Conflict),
        (status = 413, response = TooLarge),
        (status = 415, response = NotMergePatch),
        (status = 422, response = Refused),
        (status = 429, response = TooManyFailures),
        (status = 503, response = Unavailable),
    )
)]
pub(super) async fn patch(
    _: Authenticated,
    State(app): State<Arc<App>>,
    RuleId(id): RuleId,
    actor: Actor,
    MergePatch(patch): MergePatch,
) -> Result<Response, ApiError> {
    let done = blocking(&app.catalog, move |c| {
        let Some(old) = c.get(id)? else {
            return Err(CatalogError::Store(StoreError::NotFound(id)));
        };
        let mut doc = Value::Object(writable(&old));
        // RFC 7396 §2: MergePatch(Target, Patch).
        json_patch::merge(&mut doc, &Value::Object(patch));
        let rule = match serde_json::from_value::<RuleSpec>(doc) {
            Ok(rule) => rule,
            Err(e) => return Ok(Err(unknown_field::explain(&e.to_string()))),
        };
        c.update(id, rule, &actor.name).map(Ok)
    })
    .await?;
    match done {
        Ok(stored) => Ok(json(StatusCode::OK, &stored)),
        Err(why) => Err(ApiError::bad_request(format!(
            "the patched rule cannot be read ({why}); send the fields to change, e.g. {{\"status\": 308}}"
        ))),
    }
}
