//! The admin JSON API under `/-/api/` (bearer-token auth; see `docs/server.md`).
//!
//! - `GET /-/api/openapi.json`: the OpenAPI document (no token needed).
//! - `GET /-/api/rules?q=&host=&after=&limit=`: a page of rules.
//! - `POST /-/api/rules`: create; `201 Created` with `Location`.
//! - `GET | PUT | DELETE /-/api/rules/{id}` (`DELETE …?tombstone=true` keeps a 410 tombstone).
//! - `GET /-/api/rules/{id}/history`: every change of the rule.
//! - `POST /-/api/import?format=toml|json|csv`: a whole rule file, applied all or nothing.
//! - `GET /-/api/unknown?limit=`: the most asked-for paths that match no rule.

mod query;
mod reply;

use std::sync::Arc;

use axum::body::Body;
use bytes::Bytes;
use http::header::{CONTENT_TYPE, LOCATION};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};

use crate::app::App;
use crate::catalog::{Catalog, CatalogError};
use crate::rule::RuleSpec;
use crate::rules_file::{self, Format};
use crate::store::{ListQuery, StoreError};
use query::Query;
use reply::{ApiError, json};

/// The OpenAPI document of this API.
pub const OPENAPI: &str = include_str!("openapi.json");

/// Largest body for a single rule.
const MAX_RULE_BODY: usize = 1 << 20;
/// Largest body for an import.
const MAX_IMPORT_BODY: usize = 256 << 20;
/// Most rules in one page of `GET /-/api/rules` (`limit`).
const MAX_LIST_LIMIT: i64 = 1000;
/// Most paths in one answer of `GET /-/api/unknown` (`limit`).
const MAX_UNKNOWN_LIMIT: i64 = 10_000;

/// The routes of `/-/api`.
pub fn router() -> axum::Router<Arc<App>> {
    axum::Router::new()
        .route("/-/api", axum::routing::any(handle))
        .route("/-/api/{*rest}", axum::routing::any(handle))
}

/// Answer a request under `/-/api/`.
async fn handle(
    axum::extract::State(app): axum::extract::State<Arc<App>>,
    req: Request<Body>,
) -> Response<Body> {
    match route(&app, req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
    .map(Body::new)
}

/// Who made a change, for the history: the `X-Actor` header (printable, 64 bytes at most)
/// or `api`.
fn actor(req: &Request<Body>) -> String {
    req.headers()
        .get("x-actor")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= 64)
        .map_or_else(|| "api".to_owned(), |v| format!("api:{v}"))
}

async fn body(req: Request<Body>, limit: usize) -> Result<Bytes, ApiError> {
    match Limited::new(req.into_body(), limit).collect().await {
        Ok(b) => Ok(b.to_bytes()),
        Err(e) => Err(match crate::http::body::read_error_status(&*e) {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body is larger than {limit} bytes; split it into smaller requests"),
            ),
            status => ApiError::new(status, format!("could not read the body: {e}")),
        }),
    }
}

fn parse_rule(bytes: &[u8]) -> Result<RuleSpec, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "the body is not a rule object ({e}); send JSON such as {{\"path\": \"/id/x\", \"to\": \"https://example.org/x\"}}"
            ),
        )
    })
}

/// Run blocking store work off the async runtime.
async fn blocking<T: Send + 'static>(
    catalog: &Arc<Catalog>,
    f: impl FnOnce(&Catalog) -> Result<T, CatalogError> + Send + 'static,
) -> Result<T, ApiError> {
    let catalog = catalog.clone();
    match tokio::task::spawn_blocking(move || f(&catalog)).await {
        // A busy store (another process holds its write lock) is a 503 (`ApiError::from`).
        Ok(r) => r.map_err(ApiError::from),
        Err(e) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the operation failed: {e}"),
        )),
    }
}

fn parse_id(s: &str) -> Result<i64, ApiError> {
    s.parse().map_err(|_| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!("{s:?} is not a rule id; ids are numbers, as in /-/api/rules/42"),
        )
    })
}

fn not_allowed(allow: &'static str) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("this resource allows {allow}"),
    )
    .allow(allow)
}

async fn route(app: &Arc<App>, req: Request<Body>) -> Result<Response<Full<Bytes>>, ApiError> {
    let path = req.uri().path().trim_end_matches('/').to_owned();
    let rest = path.strip_prefix("/-/api").unwrap_or("");
    // The document is only read (RFC 9110 §15.5.6: a 405 says which methods are allowed).
    if rest == "/openapi.json" && !matches!(*req.method(), Method::GET | Method::HEAD) {
        return Err(not_allowed("GET, HEAD"));
    }
    if rest == "/openapi.json" {
        return Ok(reply::raw(
            StatusCode::OK,
            "application/json",
            OPENAPI.into(),
        ));
    }
    // A client that gave too many wrong tokens waits (429, Retry-After) before its token is
    // looked at; only a wrong token (not a missing one) counts. See `crate::throttle`.
    let client = crate::throttle::client_of(&req);
    if let Err(wait) = app.throttle.check(client) {
        app.metrics
            .count_auth_throttled(crate::metrics::AuthVia::Api);
        return Ok(wait.api_response());
    }
    if !app.token.verify(req.headers()) {
        if req.headers().contains_key(http::header::AUTHORIZATION) {
            app.throttle.failed(client);
            app.metrics.count_auth_failure(crate::metrics::AuthVia::Api);
        }
        return Err(ApiError::unauthorized());
    }
    let query = Query::parse(req.uri().query());
    let segments: Vec<&str> = rest.split('/').skip(1).collect();
    let catalog = &app.catalog;
    let method = req.method().clone();
    match (segments.as_slice(), &method) {
        (["rules"], &Method::GET) => {
            let list = ListQuery {
                search: query.get("q").map(str::to_owned),
                host: query.get("host").map(str::to_owned),
                after: query.number("after")?.unwrap_or(0),
                limit: query.bounded("limit", 100, 1, MAX_LIST_LIMIT)? as u32,
            };
            let page = blocking(catalog, move |c| Ok(c.list(&list)?)).await?;
            Ok(json(StatusCode::OK, &page))
        }
        (["rules"], &Method::POST) => {
            let actor = actor(&req);
            let rule = parse_rule(&body(req, MAX_RULE_BODY).await?)?;
            let stored = blocking(catalog, move |c| c.create(rule, &actor)).await?;
            let mut r = json(StatusCode::CREATED, &stored);
            let location = format!("/-/api/rules/{}", stored.id.unwrap_or_default());
            if let Ok(v) = HeaderValue::from_str(&location) {
                r.headers_mut().insert(LOCATION, v);
            }
            Ok(r)
        }
        (["rules"], _) => Err(not_allowed("GET, POST")),
        (["rules", id], &Method::GET) => {
            let id = parse_id(id)?;
            let rule = blocking(catalog, move |c| Ok(c.get(id)?)).await?;
            rule.map(|r| json(StatusCode::OK, &r))
                .ok_or_else(|| ApiError::from(CatalogError::Store(StoreError::NotFound(id))))
        }
        (["rules", id], &Method::PUT) => {
            let id = parse_id(id)?;
            let actor = actor(&req);
            let rule = parse_rule(&body(req, MAX_RULE_BODY).await?)?;
            let stored = blocking(catalog, move |c| c.update(id, rule, &actor)).await?;
            Ok(json(StatusCode::OK, &stored))
        }
        (["rules", id], &Method::DELETE) => {
            let id = parse_id(id)?;
            let tombstone = query.flag("tombstone")?;
            let actor = actor(&req);
            match blocking(catalog, move |c| c.delete(id, tombstone, &actor)).await? {
                Some(rule) => Ok(json(StatusCode::OK, &rule)),
                None => Ok(reply::raw(
                    StatusCode::NO_CONTENT,
                    "text/plain",
                    Bytes::new(),
                )),
            }
        }
        (["rules", _], _) => Err(not_allowed("GET, PUT, DELETE")),
        (["rules", id, "history"], &Method::GET) => {
            let id = parse_id(id)?;
            let history = blocking(catalog, move |c| {
                if c.store().get(id)?.is_none() && c.history(id)?.is_empty() {
                    return Err(StoreError::NotFound(id).into());
                }
                Ok(c.history(id)?)
            })
            .await?;
            Ok(json(
                StatusCode::OK,
                &serde_json::json!({ "history": history }),
            ))
        }
        (["rules", _, "history"], _) => Err(not_allowed("GET")),
        (["import"], &Method::POST) => {
            let format = match query.get("format") {
                Some(name) => Format::from_name(name),
                None => req
                    .headers()
                    .get(CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(Format::from_media_type),
            }
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "say the file's format with ?format=toml|json|csv or a Content-Type of application/toml, application/json or text/csv",
                )
            })?;
            let actor = format!("{}:import", actor(&req));
            let bytes = body(req, MAX_IMPORT_BODY).await?;
            if bytes.is_empty() {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "the body is empty; send the rule file as the body (curl --data-binary @rules.toml)",
                ));
            }
            let text = std::str::from_utf8(&bytes).map_err(|_| {
                ApiError::new(StatusCode::BAD_REQUEST, "the rule file is not UTF-8 text")
            })?;
            let rules = rules_file::parse(text, format, "body").map_err(ApiError::from)?;
            let report = blocking(catalog, move |c| c.import(rules, &actor)).await?;
            Ok(json(
                StatusCode::OK,
                &serde_json::json!({
                    "created": report.created,
                    "updated": report.updated,
                    "unchanged": report.unchanged,
                }),
            ))
        }
        (["import"], _) => Err(not_allowed("POST")),
        (["unknown"], &Method::GET) => {
            let limit = query.bounded("limit", 100, 1, MAX_UNKNOWN_LIMIT)? as u32;
            let unknown = blocking(catalog, move |c| Ok(c.store().unknown(limit)?)).await?;
            Ok(json(
                StatusCode::OK,
                &serde_json::json!({ "unknown": unknown }),
            ))
        }
        (["unknown"], _) => Err(not_allowed("GET")),
        _ => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no such API resource; see /-/api/openapi.json",
        )),
    }
}
