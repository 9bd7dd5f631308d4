//! The control plane: everything under `/-/` (health and readiness, metrics, the JSON API, the admin
//! pages) as one axum [`Router`].
//!
//! [`crate::http::service`] sends only requests under [`crate::rule::RESERVED_PREFIX`] here;
//! the redirect data plane never reaches axum. The request's body stays the listener's
//! [`crate::http::body::RequestBody`] (under the body deadline) inside axum's `Body`, and its
//! [`crate::http::peer::Peer`] extension stays in place for the handlers.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::header::{CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::app::App;
use crate::{admin, api, resolve};

/// The router of `/-/…`, over `app`.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/-/healthz", get(healthz))
        .route("/-/readyz", get(readyz))
        .route("/-/metrics", get(metrics))
        .merge(api::router())
        .merge(admin::router())
        .fallback(not_found)
        .with_state(app)
}

/// `GET /-/healthz`, liveness: always 200 while the process answers, since redirects are
/// served from memory whatever the store does; the JSON body says whether the store is `ok`
/// or `degraded`, and why.
async fn healthz(State(app): State<Arc<App>>) -> Response {
    Json(app.catalog.health()).into_response()
}

/// `GET /-/readyz`, readiness: 200 when the node takes writes and follows the other nodes'
/// changes, else 503 with `Retry-After` and the same JSON body as `/-/healthz`.
async fn readyz(State(app): State<Arc<App>>) -> Response {
    let health = app.catalog.health();
    if health.is_ready() {
        return Json(health).into_response();
    }
    // RFC 9110 §15.6.4, §10.2.3: unavailable for now, and when to ask again.
    let wait = HeaderValue::from(crate::store::BUSY_RETRY_AFTER_SECS);
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(RETRY_AFTER, wait)],
        Json(health),
    )
        .into_response()
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
