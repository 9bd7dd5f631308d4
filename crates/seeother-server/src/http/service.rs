//! The request handler: `/-/…` for operations and the admin API, everything else answered
//! from the index.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use seeother_core::respond::Body;

use crate::auth::AdminToken;
use crate::catalog::Catalog;
use crate::index::normalize_host;
use crate::metrics::{Handler, Metrics};
use crate::resolve::{self, Outcome};
use crate::rule::Kind;
use crate::stats::Unknown;
use crate::{admin, api};

/// The path prefix reserved for the server's own pages and API; rules never answer under it.
pub const RESERVED_PREFIX: &str = "/-/";

/// What every request handler shares.
#[derive(Debug)]
pub struct App {
    /// The rules.
    pub catalog: Arc<Catalog>,
    /// The admin token.
    pub token: AdminToken,
    /// Request metrics.
    pub metrics: Metrics,
    /// Unknown-path counters.
    pub unknown: Arc<Unknown>,
    /// The admin pages' sessions and import reports.
    pub admin: admin::State,
}

impl App {
    /// An app over `catalog` with admin token `token`.
    pub fn new(catalog: Arc<Catalog>, token: AdminToken) -> Self {
        App {
            catalog,
            token,
            metrics: Metrics::default(),
            unknown: Arc::new(Unknown::default()),
            admin: admin::State::default(),
        }
    }
}

/// Answer one request. Never fails and never panics on input: every request gets a response.
pub async fn handle(
    app: Arc<App>,
    req: Request<Incoming>,
) -> Result<Response<Full<Body>>, Infallible> {
    let start = Instant::now();
    let (response, handler) = if req.uri().path().starts_with(RESERVED_PREFIX) {
        // Boxed: the API's and admin pages' futures are kilobytes, and held inline they would
        // make every request's future that large, to be moved into hyper on each request.
        (Box::pin(reserved(&app, req)).await, Handler::Admin)
    } else {
        redirect(&app, &req)
    };
    app.metrics
        .record(response.status().as_u16(), handler, start.elapsed());
    Ok(response)
}

/// A request under [`RESERVED_PREFIX`], its body collected.
async fn reserved(app: &Arc<App>, req: Request<Incoming>) -> Response<Full<Body>> {
    let (parts, body) = operations(app, req).await.into_parts();
    // Full bodies are ready at once and cannot fail.
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    Response::from_parts(parts, Full::new(Body::from(body)))
}

/// The hot path: index lookup, then a (usually prebuilt) response from the core.
fn redirect<B>(app: &App, req: &Request<B>) -> (Response<Full<Body>>, Handler) {
    let authority = req
        .uri()
        .authority()
        .map(|a| a.as_str())
        .or_else(|| req.headers().get(HOST).and_then(|h| h.to_str().ok()));
    let host = authority.map(normalize_host);
    let index = app.catalog.index();
    let request = resolve::Request {
        method: req.method(),
        host: host.as_deref(),
        path: req.uri().path(),
        query: req.uri().query(),
        headers: req.headers(),
    };
    let answer = resolve::answer(&index, &request);
    let handler = match answer.outcome.rule() {
        Some(rule) => {
            rule.hit();
            match rule.kind() {
                Kind::Path => Handler::Path,
                Kind::Prefix => Handler::Prefix,
                Kind::Pattern => Handler::Pattern,
            }
        }
        None => {
            app.unknown
                .record(host.as_deref().unwrap_or(""), request.path);
            Handler::None
        }
    };
    if let Outcome::BrokenTarget { hit, error } = &answer.outcome {
        tracing::warn!(rule = hit.rule.id(), %error, "rule produced a target that cannot be sent");
    }
    tracing::debug!(method = %req.method(), path = request.path, status = answer.response.status().as_u16(), "answered");
    (answer.response.map(Full::new), handler)
}

/// `/-/healthz`, `/-/metrics`, `/-/api/…`; `/-/admin` is reserved for the admin pages.
async fn operations(app: &Arc<App>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path();
    match path {
        "/-/healthz" => text(StatusCode::OK, "text/plain; charset=utf-8", "ok\n".into()),
        "/-/metrics" => {
            let body = app.metrics.render(
                app.catalog.index().len(),
                app.catalog.reloads(),
                app.unknown.overflow(),
            );
            text(
                StatusCode::OK,
                "text/plain; version=0.0.4; charset=utf-8",
                body,
            )
        }
        p if p == "/-/api" || p.starts_with("/-/api/") => api::handle(app, req).await,
        p if p == "/-/admin" || p.starts_with("/-/admin/") => admin::handle(app, req).await,
        _ => resolve::page(
            req.method(),
            StatusCode::NOT_FOUND,
            "Not Found",
            "<p>Nothing here. The API is under <code>/-/api/</code>.</p>",
        )
        .map(Full::new),
    }
}

fn text(status: StatusCode, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, http::HeaderValue::from_static(content_type));
    r
}
