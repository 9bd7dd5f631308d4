//! The admin pages under `/-/admin`: server-rendered HTML on Post/Redirect/Get, an axum
//! [`axum::Router`] over the shared [`App`].
//!
//! Every successful form submission answers `303 See Other` to the page of what it produced
//! (`seeother_axum::SeeOther`), so the result can be bookmarked and reloaded, and reload or
//! back never submits twice. A failed submission re-renders its form with 422, the input kept
//! and each error beside its field. The pages change rules only through
//! [`crate::catalog::Catalog`], the same in-process API the JSON API uses.
//!
//! - [`extract`]: the signed-in session (checked before any body is read), the forms posted
//!   from its pages (CSRF token checked first), the query and the ids in the path.
//! - [`page`]: pages, refusals as pages, the protective header fields.
//! - [`routes`]: the handlers; [`form`]: the rule form and its errors.
//! - [`view`]: the HTML of every page (`maud`, escaped by default); [`style`]: the stylesheet.
//! - [`try_it`]: the "try it" box; [`crate::session`], [`crate::reports`]: what is kept
//!   between requests.

pub mod extract;
pub mod form;
pub mod page;
pub mod routes;
pub mod style;
pub mod try_it;
pub mod view;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::handler::Handler;
use axum::middleware;
use axum::response::Response;
use axum::routing::{MethodRouter, any, get, post};

use crate::app::App;
use extract::{MAX_FORM, MAX_IMPORT};
use routes::{account, checks, import, not_allowed, rules, stats};

/// The routes of `/-/admin`, under their full paths.
pub fn router() -> Router<Arc<App>> {
    let form = || DefaultBodyLimit::max(MAX_FORM);
    let pages = "GET, HEAD";
    let forms = "GET, HEAD, POST";
    Router::new()
        .route("/-/admin", read(routes::home, pages))
        .route("/-/admin/", read(routes::home, pages))
        .route(
            style::ICON_PATH,
            get(style::icon).fallback(not_allowed(pages)),
        )
        .route(
            style::PATH,
            get(style::stylesheet).fallback(not_allowed(pages)),
        )
        .route(
            "/-/admin/sign-in",
            read(account::sign_in_page, forms)
                .post(gauged(account::sign_in))
                .layer(form()),
        )
        .route(
            "/-/admin/sign-out",
            post(gauged(account::sign_out))
                .fallback(not_allowed("POST"))
                .layer(form()),
        )
        .route(
            "/-/admin/rules",
            read(rules::list, forms)
                .post(gauged(rules::create))
                .layer(form()),
        )
        .route("/-/admin/rules/new", read(rules::new_form, pages))
        .route(
            "/-/admin/rules/{id}",
            read(rules::show, forms)
                .post(gauged(rules::update))
                .layer(form()),
        )
        .route("/-/admin/rules/{id}/edit", read(rules::edit_form, pages))
        .route(
            "/-/admin/rules/{id}/delete",
            read(rules::confirm_delete, forms)
                .post(gauged(rules::delete))
                .layer(form()),
        )
        .route(
            "/-/admin/import",
            read(import::form_page, forms)
                .post(gauged(import::submit))
                .layer(DefaultBodyLimit::max(MAX_IMPORT)),
        )
        .route("/-/admin/imports/{id}", read(import::report, pages))
        .route("/-/admin/checks", read(checks::list, pages))
        .route("/-/admin/rules/{id}/check", read(checks::show, pages))
        .route("/-/admin/stats", read(stats::dashboard, pages))
        .route("/-/admin/{*rest}", any(gauged(routes::unknown)))
        .layer(middleware::from_fn(page::protect))
}

/// GET (and so HEAD) by `handler`; other methods 405 with `Allow: allow`.
fn read<H, T>(handler: H, allow: &'static str) -> MethodRouter<Arc<App>>
where
    H: Handler<T, Arc<App>>,
    T: 'static,
{
    get(gauged(handler)).fallback(not_allowed(allow))
}

/// `handler`, followed by setting the `seeother_admin_sessions` gauge: every admin request
/// may start, end or sweep sessions, and the state is only at hand inside a handler.
fn gauged<H, T>(handler: H) -> Gauged<H>
where
    H: Handler<T, Arc<App>>,
    T: 'static,
{
    Gauged(handler)
}

/// A handler that sets the sessions gauge once it has answered.
#[derive(Clone)]
struct Gauged<H>(H);

impl<H, T> Handler<T, Arc<App>> for Gauged<H>
where
    H: Handler<T, Arc<App>>,
    T: 'static,
{
    type Future = Pin<Box<dyn Future<Output = Response> + Send>>;

    fn call(self, req: Request, app: Arc<App>) -> Self::Future {
        Box::pin(async move {
            let response = self.0.call(req, app.clone()).await;
            app.metrics.set_admin_sessions(app.admin.sessions.len());
            response
        })
    }
}
