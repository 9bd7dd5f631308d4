//! The handlers of `/-/admin/…`, by page, and what they share: the page for a catalog failure.

pub mod account;
pub mod checks;
pub mod import;
pub mod rules;
pub mod stats;

use axum::response::{IntoResponse, Response};
use seeother_axum::RedirectContext;

use super::extract::SignedIn;
use super::page::{Answer, Refusal};
use crate::catalog::{CatalogError, TaskError};
use crate::session::SessionError;
use crate::store::StoreError;

/// Who made a change, for the rule history.
const ACTOR: &str = "admin";

/// `GET /-/admin`: the rule list is the home page.
pub async fn home(_: SignedIn, redirect: RedirectContext) -> Answer {
    Ok(redirect.see_other("/-/admin/rules")?.into_response())
}

/// Any other path under `/-/admin/`: a 404 in the admin look (for a signed-in admin; others
/// are sent to sign in, or refused before their body is read).
pub async fn unknown(_: SignedIn) -> Refusal {
    Refusal::NotFound("There is no admin page here.".to_owned())
}

/// A 405 with `Allow: allow` (RFC 9110 §15.5.6), for a route's other methods.
pub fn not_allowed(
    allow: &'static str,
) -> impl Fn() -> std::future::Ready<Response> + Clone + Send + Sync + 'static {
    move || std::future::ready(Refusal::NotAllowed(allow).into_response())
}

impl From<SessionError> for Refusal {
    /// 503 without randomness; else as a store failure.
    fn from(e: SessionError) -> Self {
        match e {
            SessionError::NoRandomness => Refusal::NoRandomness,
            SessionError::Store(e) => e.into(),
        }
    }
}

impl From<TaskError> for Refusal {
    /// The page for a catalog failure that is not the user's input: 404 for a missing rule,
    /// 503 for a busy store, 500 otherwise.
    fn from(e: TaskError) -> Self {
        let e = match e {
            TaskError::Catalog(e @ CatalogError::Store(StoreError::NotFound(_))) => {
                return Refusal::NotFound(e.to_string());
            }
            TaskError::Catalog(e @ CatalogError::Store(StoreError::Busy(_))) => {
                tracing::warn!(error = %e, "admin page: store busy; answered 503");
                return Refusal::Busy(e.to_string());
            }
            TaskError::Catalog(e) => e.to_string(),
            TaskError::Panicked(e) => e,
        };
        tracing::error!(error = %e, "admin page: store failure");
        Refusal::Failed(format!(
            "The store failed: {e}. Nothing was changed; try again, and check the server's log."
        ))
    }
}
