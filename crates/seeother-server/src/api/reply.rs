//! JSON replies and errors of the API.

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::header::{ALLOW, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderValue, StatusCode};
use serde::Serialize;

use crate::catalog::{CatalogError, TaskError};
use crate::rules_file::{FileError, FileErrors};
use crate::store::{BUSY_RETRY_AFTER_SECS, StoreError};

/// A JSON response: `value`, pretty-printed, with `status`.
pub(super) fn json<T: Serialize>(status: StatusCode, value: &T) -> Response {
    let mut body = serde_json::to_vec_pretty(value).unwrap_or_default();
    body.push(b'\n');
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// The body of every error: what was wrong and what to do.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub(super) struct ErrorBody<'a> {
    /// What was wrong and what to do.
    error: &'a str,
    /// For rule files: every problem, by line.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    #[schema(required = false)]
    problems: &'a [FileError],
}

/// An API error: a status and a message saying what to do, sent as
/// `{"error": "...", "problems": [...]}`.
#[derive(Debug)]
pub(super) struct ApiError {
    status: StatusCode,
    message: String,
    problems: Vec<FileError>,
    allow: Option<HeaderValue>,
    unauthorized: bool,
    retry_after: bool,
}

impl ApiError {
    pub(super) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            problems: Vec::new(),
            allow: None,
            unauthorized: false,
            retry_after: false,
        }
    }

    /// 400 with `message`.
    pub(super) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 401: no token, or not the right one.
    pub(super) fn unauthorized() -> Self {
        ApiError {
            unauthorized: true,
            ..Self::new(
                StatusCode::UNAUTHORIZED,
                "missing or wrong admin token; send `Authorization: Bearer TOKEN` with the token the server printed at start",
            )
        }
    }

    /// 405 for a resource that allows the methods `allow` (`GET, POST`).
    pub(super) fn not_allowed(allow: HeaderValue) -> Self {
        let message = format!(
            "this resource allows {}",
            allow.to_str().unwrap_or_default()
        );
        ApiError {
            allow: Some(allow),
            ..Self::new(StatusCode::METHOD_NOT_ALLOWED, message)
        }
    }

    /// 404 for a path that is no resource of the API.
    pub(super) fn no_such_resource() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "no such API resource; see /-/api/openapi.json",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = json(
            self.status,
            &ErrorBody {
                error: &self.message,
                problems: &self.problems,
            },
        );
        let h = r.headers_mut();
        if let Some(allow) = self.allow {
            // RFC 9110 §15.5.6: a 405 lists the allowed methods.
            h.insert(ALLOW, allow);
        }
        if self.retry_after {
            // RFC 9110 §10.2.3, §15.6.4: how long to wait before trying again.
            h.insert(RETRY_AFTER, HeaderValue::from(BUSY_RETRY_AFTER_SECS));
        }
        if self.unauthorized {
            // RFC 9110 §15.5.2, RFC 6750 §3: a 401 names the scheme to use.
            h.insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"seeother\""),
            );
        }
        r
    }
}

impl From<FileErrors> for ApiError {
    fn from(e: FileErrors) -> Self {
        ApiError {
            problems: e.errors,
            ..Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "the rule file has problems (listed by line); nothing was imported",
            )
        }
    }
}

impl From<TaskError> for ApiError {
    fn from(e: TaskError) -> Self {
        match e {
            // A busy store (another process holds its write lock) is a 503.
            TaskError::Catalog(e) => e.into(),
            TaskError::Panicked(e) => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the operation failed: {e}"),
            ),
        }
    }
}

impl From<CatalogError> for ApiError {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::Invalid(e) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
            CatalogError::InvalidImport(list) => ApiError {
                problems: list
                    .into_iter()
                    .map(|(i, e)| FileError {
                        line: None,
                        message: format!("rule {}: {e}", i + 1),
                    })
                    .collect(),
                ..Self::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "some rules are not valid; nothing was imported",
                )
            },
            CatalogError::Store(e @ StoreError::NotFound(_)) => {
                Self::new(StatusCode::NOT_FOUND, e.to_string())
            }
            CatalogError::Store(e @ StoreError::Conflict { .. }) => {
                Self::new(StatusCode::CONFLICT, e.to_string())
            }
            CatalogError::Store(e @ StoreError::Busy(_)) => {
                tracing::warn!(error = %e, "store busy; answered 503");
                ApiError {
                    retry_after: true,
                    ..Self::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
                }
            }
            CatalogError::Store(e) => {
                tracing::error!(error = %e, "store failure");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
            }
        }
    }
}
