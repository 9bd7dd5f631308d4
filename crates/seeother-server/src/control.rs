//! The control plane: everything under `/-/` (health, metrics, the JSON API, the admin
//! pages) as one axum [`Router`].
//!
//! [`crate::http::service`] sends only requests under [`crate::rule::RESERVED_PREFIX`] here;
//! the redirect data plane never reaches axum. The request's body stays the listener's
//! [`crate::http::body::RequestBody`] (under the body deadline) inside axum's `Body`, and its
//! [`crate::http::peer::Peer`] extension stays in place for the handlers.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::app::App;
use crate::{admin, api, resolve};

/// The router of `/-/…`, over `app`.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/-/healthz", get(healthz))
        .route("/-/metrics", get(metrics))
        .merge(api::router())
        .merge(admin::router())
        .fallback(not_found)
        .with_state(app)
}

/// `GET /-/healthz`: the process is up.
async fn healthz() -> impl IntoResponse {
    ([(CONTENT_TYPE, "text/plain; charset=utf-8")], "ok\n")
}

/// `GET /-/metrics`: Prometheus text exposition format 0.0.4.
async fn metrics(State(app): State<Arc<App>>) -> impl IntoResponse {
    let body = app.metrics.render(
        app.catalog.index().len(),
        app.catalog.reloads(),
        app.unknown.overflow(),
    );
    (
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        body,
    )
}

/// Any other path under `/-/`: the shared 404 page.
async fn not_found(req: Request) -> Response {
    resolve::page(
        req.method(),
        StatusCode::NOT_FOUND,
        "Not Found",
        "<p>Nothing here. The API is under <code>/-/api/</code>.</p>",
    )
    .map(axum::body::Body::from)
}
