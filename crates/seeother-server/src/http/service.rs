//! The request handler: `/-/…` for operations and the admin API, everything else answered
//! from the index.

use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::header::HOST;
use http::{HeaderMap, Method, Request, Response, StatusCode, Version};
use http_body_util::{BodyExt, Full};
use seeother_core::respond::Body;
use seeother_core::{host, note};
use tower::ServiceExt;

use crate::access_log::Entry;
use crate::app::App;
use crate::control;
use crate::http::body::RequestBody;
use crate::http::peer::Peer;
use crate::index::normalize_host;
use crate::metrics::Handler;
use crate::resolve::{self, Outcome, Reply};
use crate::rule::{Kind, RESERVED_PREFIX};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What answers requests: the app, and the control plane's router for `/-/…`.
#[derive(Debug)]
pub struct Service {
    app: Arc<App>,
    control: axum::Router,
}

impl Service {
    /// The service of `app`; builds the control plane's router once.
    pub fn new(app: Arc<App>) -> Self {
        let control = control::router(app.clone());
        Service { app, control }
    }

    /// The app this service answers from.
    pub fn app(&self) -> &Arc<App> {
        &self.app
    }
}

/// Answer one request. Never fails and never panics on input: every request gets a response.
/// `B` is the connection's body: hyper's, or an HTTP/2 stream's on the direct path.
pub async fn handle<B>(
    service: Arc<Service>,
    req: Request<RequestBody<B>>,
) -> Result<Response<Full<Body>>, Infallible>
where
    RequestBody<B>: hyper::body::Body<Data = bytes::Bytes, Error = BoxError> + Send + 'static,
{
    let app = &service.app;
    let uri = req.uri();
    let hosts = req.headers().get_all(HOST).iter().map(|v| v.as_bytes());
    // RFC 9112 §3.2: no Host, two, or a bad one is a bad request, whatever the path.
    let authority =
        match host::of_request(req.version(), uri.authority().map(|a| a.as_str()), hosts) {
            Ok(authority) => authority,
            Err(e) => {
                let page = resolve::page(
                    req.method(),
                    StatusCode::BAD_REQUEST,
                    "Bad Request",
                    &format!("<p>{}</p>", note::escape(&e.to_string())),
                );
                app.metrics.record(400, Handler::None, Duration::ZERO);
                return Ok(page.map(|b| Full::new(Body::from(b))));
            }
        };
    if uri.path().starts_with(RESERVED_PREFIX) {
        let start = Instant::now();
        // Boxed: held across the router's await, it would make every request's future larger.
        let entry = app.access.as_ref().map(|_| {
            Box::new(Entry::of_request(
                req.method(),
                authority,
                uri.path(),
                uri.query(),
                req.version(),
                Peer::of(&req).map(|a| a.ip()),
                req.headers(),
            ))
        });
        // Boxed: the router's futures are kilobytes, and held inline they would make every
        // request's future that large, to be moved into hyper on each request.
        let response = Box::pin(reserved(service.control.clone(), req)).await;
        app.metrics
            .record(response.status().as_u16(), Handler::Admin, start.elapsed());
        if let (Some(log), Some(mut e)) = (&app.access, entry) {
            e.status = response.status().as_u16();
            e.bytes = hyper::body::Body::size_hint(response.body())
                .exact()
                .unwrap_or(0) as usize;
            e.location = location_of(response.headers());
            e.duration_ms = start.elapsed().as_secs_f64() * 1e3;
            log.log(*e);
        }
        return Ok(response);
    }
    let target = Target {
        method: req.method(),
        authority,
        path: uri.path(),
        query: uri.query(),
        headers: req.headers(),
        client: Peer::of(&req).map(|a| a.ip()),
        version: req.version(),
    };
    Ok(redirect(app, &target).into_response().map(Full::new))
}

/// A request under [`RESERVED_PREFIX`], answered by the control plane's router, its body
/// collected.
async fn reserved<B>(control: axum::Router, req: Request<RequestBody<B>>) -> Response<Full<Body>>
where
    RequestBody<B>: hyper::body::Body<Data = bytes::Bytes, Error = BoxError> + Send + 'static,
{
    // The router's service is always ready and its error type is `Infallible`.
    let Ok(response) = control.oneshot(req).await;
    let (parts, body) = response.into_parts();
    // The control plane's bodies are complete in memory; none can fail.
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    Response::from_parts(parts, Full::new(Body::from(body)))
}

/// A request outside [`RESERVED_PREFIX`], as the hot path needs it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Target<'a> {
    pub method: &'a Method,
    /// The authority of an absolute-form target, else the `Host` field.
    pub authority: Option<&'a str>,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    /// The client's address, for the access log.
    pub client: Option<IpAddr>,
    /// The protocol version, for the access log.
    pub version: Version,
}

/// The hot path, for hyper's connections and the direct HTTP/1.1 path alike: index lookup,
/// then a (usually prebuilt) response from the core; counted in the metrics.
pub(crate) fn redirect(app: &App, target: &Target<'_>) -> Reply {
    let start = Instant::now();
    let host = target.authority.map(normalize_host);
    let index = app.catalog.index();
    let request = resolve::Request {
        method: target.method,
        host: host.as_deref(),
        path: target.path,
        query: target.query,
        headers: target.headers,
    };
    let answer = resolve::answer(&index, &request);
    let handler = match answer.outcome.rule() {
        Some(rule) => {
            rule.hit();
            if let Outcome::Redirect { variant, .. } = answer.outcome
                && rule.has_variants()
            {
                rule.served(variant);
            }
            match rule.kind() {
                Kind::Path => Handler::Path,
                Kind::Prefix => Handler::Prefix,
                Kind::Pattern | Kind::Scope => Handler::Pattern,
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
    let status = answer.reply.status().as_u16();
    tracing::debug!(method = %target.method, path = request.path, status, "answered");
    app.metrics.record(status, handler, start.elapsed());
    // Nothing is made for the log when there is none: the hot path allocates nothing.
    if let Some(log) = &app.access {
        let mut e = Entry::of_request(
            target.method,
            host.as_deref(),
            target.path,
            target.query,
            target.version,
            target.client,
            target.headers,
        );
        e.status = status;
        e.rule = answer.outcome.rule().map(|r| r.id());
        (e.bytes, e.location) = match &answer.reply {
            Reply::Plain(p) => (p.body().len(), Some(p.location().as_str().to_owned())),
            Reply::Full(r) => (r.body().len(), location_of(r.headers())),
        };
        e.duration_ms = start.elapsed().as_secs_f64() * 1e3;
        log.log(e);
    }
    answer.reply
}

/// The `Location` of a response, as text.
fn location_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get(http::header::LOCATION)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}
