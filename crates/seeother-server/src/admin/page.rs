//! What the admin pages answer: an HTML [`Page`] with its status, the [`Refusal`]s (every
//! error, as a page in the same look and never axum's plain text), and the protective header
//! fields every answer carries.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header::{
    ALLOW, CACHE_CONTROL, CONTENT_TYPE, HeaderName, REFERRER_POLICY, RETRY_AFTER,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use http::{HeaderValue, StatusCode};
use seeother_axum::RedirectError;
use seeother_core::note;

use super::view::{self, Back};
use crate::throttle::Wait;

/// What a handler answers: a response (a page or a redirect), or a refusal.
pub type Answer = Result<Response, Refusal>;

/// A complete HTML page with its status.
#[derive(Debug)]
pub struct Page {
    status: StatusCode,
    html: String,
}

impl Page {
    /// `html` (a whole document, from [`view::layout`]) with `200 OK`.
    pub fn ok(html: String) -> Self {
        Self::new(StatusCode::OK, html)
    }

    /// `html` with `status`.
    pub fn new(status: StatusCode, html: String) -> Self {
        Page { status, html }
    }
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        // axum sets Content-Length from the body, and keeps it for HEAD when it drops the body
        // (RFC 9110 §9.3.2).
        let content_type = HeaderValue::from_static(note::CONTENT_TYPE);
        (self.status, [(CONTENT_TYPE, content_type)], self.html).into_response()
    }
}

/// Only this server's own stylesheet, forms and links; the inline style of the core's page
/// shell is allowed; no script, no framing.
const CSP: &str = "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self'; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Middleware: the protective header fields of every admin answer, pages and redirects
/// alike; a field the handler set (the stylesheet's `Cache-Control`) is kept.
pub async fn protect(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let h = response.headers_mut();
    // RFC 9111 §5.2.2.5: pages carry per-session tokens; keep them out of every cache.
    h.entry(CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    h.insert(
        HeaderName::from_static("content-security-policy"),
        HeaderValue::from_static(CSP),
    );
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    response
}

/// Why a request was not done: each is a short page saying what was wrong and what to do.
#[derive(Debug)]
pub enum Refusal {
    /// 403: no signed-in session, or a form without its valid CSRF token; nothing changed.
    Forbidden,
    /// 404, saying what is not there.
    NotFound(String),
    /// 405 with `Allow` (RFC 9110 §15.5.6).
    NotAllowed(&'static str),
    /// A request whose body or query could not be read or used: 400, 408, 413, 415 or 422.
    Input {
        /// The status.
        status: StatusCode,
        /// What was wrong and what to do.
        message: String,
        /// Where to go from there.
        back: Back,
    },
    /// 429 with `Retry-After`: too many wrong admin tokens from this address.
    TooMany(Wait),
    /// 503: no session can be started (the operating system gave no randomness).
    NoRandomness,
    /// 503 with `Retry-After`: the store is held by another process, or cannot be reached.
    Busy(String),
    /// 500: the store or the server failed; the text says so and what to do.
    Failed(String),
}

impl From<RedirectError> for Refusal {
    fn from(e: RedirectError) -> Self {
        tracing::error!(error = %e, "admin redirect target refused");
        Refusal::Failed("The page to go to next could not be named.".to_owned())
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (status, text, back) = match &self {
            Refusal::Forbidden => (
                StatusCode::FORBIDDEN,
                "The form's security token is missing, wrong or from a session that has ended, \
                 so nothing was changed. Open the page again (sign in if asked) and submit the \
                 form from it."
                    .to_owned(),
                Back::sign_in(),
            ),
            Refusal::NotFound(text) => (StatusCode::NOT_FOUND, text.clone(), Back::rules()),
            Refusal::NotAllowed(allow) => (
                StatusCode::METHOD_NOT_ALLOWED,
                format!("This page takes {allow}."),
                Back::rules(),
            ),
            Refusal::Input {
                status,
                message,
                back,
            } => (*status, message.clone(), back.clone()),
            Refusal::TooMany(wait) => (
                // RFC 6585 §4: 429 Too Many Requests.
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "Too many wrong admin tokens were sent from your address. Wait {} second{}, \
                     then sign in again; until then even the right token is refused.",
                    wait.seconds(),
                    if wait.seconds() == 1 { "" } else { "s" }
                ),
                Back::sign_in(),
            ),
            Refusal::NoRandomness => (
                StatusCode::SERVICE_UNAVAILABLE,
                "No session could be started (no randomness available from the operating \
                 system). Try again in a minute, and check the server's log."
                    .to_owned(),
                Back::sign_in(),
            ),
            Refusal::Busy(e) => (
                // RFC 9110 §15.6.4: the store is held by another process for now.
                StatusCode::SERVICE_UNAVAILABLE,
                format!("{e}. Nothing was changed; send the form again in a moment."),
                Back::rules(),
            ),
            Refusal::Failed(text) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                text.clone(),
                Back::rules(),
            ),
        };
        let title = status.canonical_reason().unwrap_or("Error");
        let mut response = Page::new(status, view::message(title, &text, &back)).into_response();
        let h = response.headers_mut();
        match self {
            Refusal::NotAllowed(allow) => {
                h.insert(ALLOW, HeaderValue::from_static(allow));
            }
            Refusal::TooMany(wait) => {
                // RFC 9110 §10.2.3: Retry-After in delay-seconds.
                h.insert(RETRY_AFTER, wait.retry_after());
            }
            Refusal::Busy(_) => {
                // RFC 9110 §10.2.3: as the API sends it.
                h.insert(
                    RETRY_AFTER,
                    HeaderValue::from(crate::store::BUSY_RETRY_AFTER_SECS),
                );
            }
            _ => {}
        }
        response
    }
}
