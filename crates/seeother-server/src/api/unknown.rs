//! `GET /-/api/unknown`: the most asked-for paths that match no rule.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use http::StatusCode;
use serde::{Deserialize, Serialize};

use super::extract::{Authenticated, Params, bounded};
use super::openapi::{BadRequest, TooManyFailures, Unauthorized, Unavailable};
use super::reply::{ApiError, json};
use crate::app::App;
use crate::catalog::blocking;
use crate::store::UnknownPath;

/// Most paths in one answer (`limit`).
const MAX_UNKNOWN_LIMIT: i64 = 10_000;

/// The parameters of `GET /-/api/unknown`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct UnknownParams {
    /// How many; out of range is a 400, not clamped
    #[param(value_type = Option<i64>, minimum = 1, maximum = 10000, default = 100)]
    limit: Option<String>,
}

/// Paths asked for that match no rule.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct Unknown {
    /// Most asked first.
    unknown: Vec<UnknownPath>,
}

/// The most asked-for paths that match no rule
#[utoipa::path(
    get,
    path = "/-/api/unknown",
    operation_id = "unknownPaths",
    params(UnknownParams),
    responses(
        (status = 200, description = "Paths with counts, most asked first", body = Unknown),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 429, response = TooManyFailures),
        (status = 503, response = Unavailable),
    )
)]
pub(super) async fn unknown(
    _: Authenticated,
    State(app): State<Arc<App>>,
    Params(p): Params<UnknownParams>,
) -> Result<Response, ApiError> {
    let limit = bounded("limit", p.limit.as_deref(), 100, 1, MAX_UNKNOWN_LIMIT)? as u32;
    let unknown = blocking(&app.catalog, move |c| Ok(c.store().unknown(limit)?)).await?;
    Ok(json(StatusCode::OK, &Unknown { unknown }))
}
