//! What the API's handlers take from a request, each refusal an [`ApiError`] in JSON: the
//! token, the rule id, the query's parameters, the body, the actor.

use std::sync::Arc;

use axum::extract::rejection::{BytesRejection, FailedToBufferBody};
use axum::extract::{FromRequest, FromRequestParts, Query, RawPathParams, Request};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::StatusCode;
use http::request::Parts;
use serde::de::DeserializeOwned;

use super::reply::ApiError;
use crate::app::App;
use crate::metrics::AuthVia;
use crate::rule::RuleSpec;

/// Proof that the request carried the admin token.
///
/// A client that gave too many wrong tokens waits (429, `Retry-After`) before its token is
/// looked at; only a wrong token (not a missing one) counts as a failure. See
/// [`crate::throttle`].
pub(super) struct Authenticated;

impl FromRequestParts<Arc<App>> for Authenticated {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Response> {
        let client = crate::throttle::client_in(&parts.extensions);
        if let Err(wait) = app.throttle.check(client) {
            app.metrics.count_auth_throttled(AuthVia::Api);
            return Err(wait.api_response().map(axum::body::Body::new));
        }
        if app.token.verify(&parts.headers) {
            return Ok(Authenticated);
        }
        let has_token = parts.headers.contains_key(http::header::AUTHORIZATION);
        // A signed-in admin's browser may read (the pages' "As JSON" links), never write: a
        // write needs the token, which no page holds, so a cross-site form cannot make one
        // with the cookie (SameSite=Strict keeps it off cross-site requests anyway). RFC 9110
        // §9.2.1: GET and HEAD are safe.
        if !has_token && (parts.method == http::Method::GET || parts.method == http::Method::HEAD) {
            match app.admin.sessions.find(&app.catalog, &parts.headers).await {
                Ok(Some(s)) if s.signed_in => return Ok(Authenticated),
                Ok(_) => {}
                Err(e) => {
                    return Err(ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        format!("the admin session cannot be checked ({e}); try again, or send the token"),
                    )
                    .into_response());
                }
            }
        }
        if has_token {
            app.throttle.failed(client);
            app.metrics.count_auth_failure(AuthVia::Api);
        }
        Err(ApiError::unauthorized().into_response())
    }
}

/// The `{id}` of a rule's path. Anything but a number names no rule: 404, as for an id that
/// is not in the store.
#[derive(utoipa::IntoParams)]
#[into_params(names("id"), parameter_in = Path)]
pub(super) struct RuleId(
    #[param(minimum = -9223372036854775808_i64, maximum = 9223372036854775807_i64)] pub i64,
);

impl<S: Send + Sync> FromRequestParts<S> for RuleId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let not_an_id = |what: &str| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                format!("{what} is not a rule id; ids are numbers, as in /-/api/rules/42"),
            )
        };
        // A segment that is not UTF-8 once decoded is no number either.
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| not_an_id("a segment that is not UTF-8"))?;
        // By name: a path given with a trailing slash carries the catch-all's parameter too.
        let id = params
            .iter()
            .filter(|(name, _)| *name == "id")
            .last()
            .map_or("", |(_, value)| value);
        id.parse()
            .map(RuleId)
            .map_err(|_| not_an_id(&format!("{id:?}")))
    }
}

/// The query's parameters as `T` (serde); a query that cannot be read is a 400.
pub(super) struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(t) = Query::<T>::from_request_parts(parts, state)
            .await
            .map_err(|e| {
                ApiError::bad_request(format!(
                    "the query string cannot be read ({}); give each parameter once, as in ?limit=100",
                    std::error::Error::source(&e).map_or_else(|| e.body_text(), |s| s.to_string())
                ))
            })?;
        Ok(Params(t))
    }
}

/// `value` of parameter `name` as a whole number.
pub(super) fn number(name: &str, value: Option<&str>) -> Result<Option<i64>, ApiError> {
    value
        .map(|v| {
            v.parse().map_err(|_| {
                ApiError::bad_request(format!("parameter `{name}` is {v:?}; give a whole number"))
            })
        })
        .transpose()
}

/// `value` of parameter `name` as a number from `min` to `max`, `default` when absent. A
/// number out of range is an error rather than clamped, as the OpenAPI document's `minimum`
/// and `maximum` say.
pub(super) fn bounded(
    name: &str,
    value: Option<&str>,
    default: i64,
    min: i64,
    max: i64,
) -> Result<i64, ApiError> {
    match number(name, value)?.unwrap_or(default) {
        n if (min..=max).contains(&n) => Ok(n),
        n => Err(ApiError::bad_request(format!(
            "parameter `{name}` is {n}; give a number from {min} to {max}"
        ))),
    }
}

/// `value` of parameter `name` as a flag (`true`/`1`/`yes`, or present without a value).
pub(super) fn flag(name: &str, value: Option<&str>) -> Result<bool, ApiError> {
    match value {
        None => Ok(false),
        Some("" | "true" | "1" | "yes") => Ok(true),
        Some("false" | "0" | "no") => Ok(false),
        Some(v) => Err(ApiError::bad_request(format!(
            "parameter `{name}` is {v:?}; give true or false"
        ))),
    }
}

/// The body, whole, at most `LIMIT` bytes (the route's `DefaultBodyLimit` is the same).
/// Larger is a 413, a body past its deadline a 408 (`crate::http::body`), else a 400.
pub(super) struct Whole<const LIMIT: usize>(pub Bytes);

impl<S: Send + Sync, const LIMIT: usize> FromRequest<S> for Whole<LIMIT> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        Bytes::from_request(req, state)
            .await
            .map(Whole)
            .map_err(|e| match e {
                BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_)) => {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        format!(
                            "the body is larger than {LIMIT} bytes; split it into smaller requests"
                        ),
                    )
                }
                BytesRejection::FailedToBufferBody(FailedToBufferBody::UnknownBodyError(e)) => {
                    // The cause: the body's own error (a timeout is a 408).
                    let cause = std::error::Error::source(&e)
                        .and_then(std::error::Error::source)
                        .unwrap_or(&e);
                    ApiError::new(
                        crate::http::body::read_error_status(&e),
                        format!("could not read the body: {cause}"),
                    )
                }
                e => ApiError::bad_request(format!("could not read the body: {}", e.body_text())),
            })
    }
}

/// A rule, as the JSON body (at most `LIMIT` bytes; no `Content-Type` asked for).
pub(super) struct RuleBody<const LIMIT: usize>(pub RuleSpec);

impl<S: Send + Sync, const LIMIT: usize> FromRequest<S> for RuleBody<LIMIT> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let Whole(bytes) = Whole::<LIMIT>::from_request(req, state).await?;
        serde_json::from_slice(&bytes).map(RuleBody).map_err(|e| {
            ApiError::bad_request(format!(
                "the body is not a rule object ({}); send JSON such as {{\"path\": \"/id/x\", \"to\": \"https://example.org/x\"}}",
                crate::rules_file::unknown_field::explain(&e.to_string())
            ))
        })
    }
}

/// Who made a change, for the history: `api:NAME` from the `X-Actor` header (printable, 64
/// bytes at most), else `api`.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub(super) struct Actor {
    /// Who made the change, for the history (`api:NAME`; printable, 64 bytes at most, else
    /// `api`)
    #[param(rename = "X-Actor", value_type = String, required = false)]
    pub name: String,
}

impl<S: Send + Sync> FromRequestParts<S> for Actor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let name = parts
            .headers
            .get("x-actor")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty() && v.len() <= 64)
            .map_or_else(|| "api".to_owned(), |v| format!("api:{v}"));
        Ok(Actor { name })
    }
}
