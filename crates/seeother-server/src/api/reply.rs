//! JSON replies and errors of the API.

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderValue, Response, StatusCode};
use http_body_util::Full;
use serde::Serialize;

use crate::catalog::CatalogError;
use crate::rules_file::{FileError, FileErrors};
use crate::store::{BUSY_RETRY_AFTER_SECS, StoreError};

/// A response with `body` of `content_type`.
pub(super) fn raw(
    status: StatusCode,
    content_type: &'static str,
    body: Bytes,
) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// A JSON response.
pub(super) fn json<T: Serialize>(status: StatusCode, value: &T) -> Response<Full<Bytes>> {
    let mut body = serde_json::to_vec_pretty(value).unwrap_or_default();
    body.push(b'\n');
    raw(status, "application/json", body.into())
}

/// An API error: a status and a message saying what to do, sent as
/// `{"error": "...", "problems": [...]}`.
#[derive(Debug)]
pub(super) struct ApiError {
    status: StatusCode,
    message: String,
    problems: Vec<FileError>,
    allow: Option<&'static str>,
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

    pub(super) fn unauthorized() -> Self {
        ApiError {
            unauthorized: true,
            ..Self::new(
                StatusCode::UNAUTHORIZED,
                "missing or wrong admin token; send `Authorization: Bearer TOKEN` with the token the server printed at start",
            )
        }
    }

    pub(super) fn allow(mut self, allow: &'static str) -> Self {
        self.allow = Some(allow);
        self
    }

    pub(super) fn into_response(self) -> Response<Full<Bytes>> {
        #[derive(Serialize)]
        struct Body<'a> {
            error: &'a str,
            #[serde(skip_serializing_if = "<[_]>::is_empty")]
            problems: &'a [FileError],
        }
        let mut r = json(
            self.status,
            &Body {
                error: &self.message,
                problems: &self.problems,
            },
        );
        if let Some(allow) = self.allow {
            // RFC 9110 §15.5.6: a 405 lists the allowed methods.
            r.headers_mut()
                .insert(ALLOW, HeaderValue::from_static(allow));
        }
        if self.retry_after {
            // RFC 9110 §10.2.3, §15.6.4: how long to wait before trying again.
            r.headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(BUSY_RETRY_AFTER_SECS));
        }
        if self.unauthorized {
            // RFC 9110 §15.5.2, RFC 6750 §3: a 401 names the scheme to use.
            r.headers_mut().insert(
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
            CatalogError::Store(StoreError::NotFound(id)) => {
                Self::new(StatusCode::NOT_FOUND, StoreError::NotFound(id).to_string())
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
