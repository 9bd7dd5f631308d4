//! The admin pages under `/-/admin`: server-rendered HTML on Post/Redirect/Get.
//!
//! Every successful form submission answers `303 See Other` to the page of what it produced
//! (built by `seeother_core::respond::Redirect`), so the result can be bookmarked and
//! reloaded, and reload or back never submits twice. A failed submission re-renders its form
//! with 422, the input kept and each error beside its field. The pages change rules only
//! through [`crate::catalog::Catalog`], the same in-process API the JSON API uses.
//!
//! - [`crate::session`]: cookie sessions of signed-in admins, their CSRF tokens, and the
//!   signed token of the sign-in form (no server state for visitors who have not signed in).
//! - [`form`]: reading form bodies; the rule form and its errors.
//! - [`view`]: the HTML of every page; [`style`]: the stylesheet.
//! - [`crate::reports`]: import reports as bookmarkable resources; [`try_it`]: the "try it"
//!   box.

pub mod form;
mod reply;
mod routes;
pub mod style;
pub mod try_it;
pub mod view;

use std::sync::Arc;

use axum::body::Body;
use http::{Request, Response};

use crate::app::App;

/// The routes of `/-/admin`.
pub fn router() -> axum::Router<Arc<App>> {
    axum::Router::new()
        .route("/-/admin", axum::routing::any(handle))
        .route("/-/admin/{*rest}", axum::routing::any(handle))
}

/// Answer a request under `/-/admin`. Never panics on input: every request gets a page.
async fn handle(
    axum::extract::State(app): axum::extract::State<Arc<App>>,
    req: Request<Body>,
) -> Response<Body> {
    let response = routes::route(&app, req).await.map(Body::from);
    app.metrics.set_admin_sessions(app.admin.sessions.len());
    response
}
