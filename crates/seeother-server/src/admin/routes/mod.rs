//! The handlers of `/-/admin/…`, by page, and what they share: running catalog work off the
//! async runtime and the page for a catalog failure.

pub mod account;
pub mod import;
pub mod rules;

use std::sync::Arc;

use axum::response::{IntoResponse, Response};
use seeother_axum::RedirectContext;

use super::extract::SignedIn;
use super::page::{Answer, Refusal};
use crate::catalog::{Catalog, CatalogError};
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

/// Why catalog work failed.
#[derive(Debug)]
enum Fail {
    /// The catalog refused or failed.
    Catalog(CatalogError),
    /// The blocking task did not finish (it panicked).
    Task(String),
}

/// Run blocking catalog work off the async runtime.
async fn blocking<T: Send + 'static>(
    catalog: &Arc<Catalog>,
    f: impl FnOnce(&Catalog) -> Result<T, CatalogError> + Send + 'static,
) -> Result<T, Fail> {
    let catalog = catalog.clone();
    match tokio::task::spawn_blocking(move || f(&catalog)).await {
        Ok(r) => r.map_err(Fail::Catalog),
        Err(e) => Err(Fail::Task(e.to_string())),
    }
}

impl From<Fail> for Refusal {
    /// The page for a catalog failure that is not the user's input: 404 for a missing rule,
    /// 503 for a busy store, 500 otherwise.
    fn from(e: Fail) -> Self {
        let e = match e {
            Fail::Catalog(e @ CatalogError::Store(StoreError::NotFound(_))) => {
                return Refusal::NotFound(e.to_string());
            }
            Fail::Catalog(e @ CatalogError::Store(StoreError::Busy(_))) => {
                tracing::warn!(error = %e, "admin page: store busy; answered 503");
                return Refusal::Busy(e.to_string());
            }
            Fail::Catalog(e) => e.to_string(),
            Fail::Task(e) => e,
        };
        tracing::error!(error = %e, "admin page: store failure");
        Refusal::Failed(format!(
            "The store failed: {e}. Nothing was changed; try again, and check the server's log."
        ))
    }
}
