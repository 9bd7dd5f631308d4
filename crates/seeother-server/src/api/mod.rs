//! The admin JSON API under `/-/api/` (bearer-token auth; see `docs/server.md`).
//!
//! - `GET /-/api/openapi.json`: the OpenAPI document (no token needed).
//! - `GET /-/api/rules?q=&host=&after=&limit=`: a page of rules.
//! - `POST /-/api/rules`: create; `201 Created` with `Location`.
//! - `GET | PUT | PATCH | DELETE /-/api/rules/{id}` (`PATCH`: a JSON Merge Patch, RFC 7396;
//!   `DELETE …?tombstone=true` keeps a 410 tombstone).
//! - `GET /-/api/rules/{id}/history`: every change of the rule.
//! - `POST /-/api/import?format=toml|json|csv`: a whole rule file, applied all or nothing.
//! - `GET /-/api/unknown?limit=`: the most asked-for paths that match no rule.
//! - `GET /-/api/rules/{id}/check`, `GET /-/api/checks?state=broken`: the latest link checks
//!   (`serve --check-interval`).
//! - `GET /-/api/stats/days|rules|gone|unknown`, `GET /-/api/stats/rules/{id}[/variants]`:
//!   counts per day, as JSON or CSV.
//!
//! Each route is registered with its `#[utoipa::path]` description ([`utoipa_axum`]), so the
//! router and the document list the same operations; a method a path does not list is a 405
//! whose `Allow` is taken from the document.

mod checks;
mod extract;
mod import;
mod openapi;
mod patch;
mod reply;
mod rules;
mod stats;
mod unknown;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use http::{HeaderValue, Uri};
use tower::ServiceExt;
use utoipa::OpenApi as _;
use utoipa::openapi::security::SecurityRequirement;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::app::App;
use extract::Authenticated;
use reply::ApiError;

/// Largest body for a single rule.
const MAX_RULE_BODY: usize = 1 << 20;
/// Largest body for an import.
const MAX_IMPORT_BODY: usize = 256 << 20;

/// The routes of `/-/api`.
pub fn router() -> Router<Arc<App>> {
    let (api, _) = operations().split_for_parts();
    // A path with trailing slashes is the resource without them (the routes and the 404).
    let trimmed = api.clone().fallback(no_such_resource);
    let elsewhere =
        any(move |State(app): State<Arc<App>>, req: Request| elsewhere(trimmed.clone(), app, req));
    api.route("/-/api", elsewhere.clone())
        .route("/-/api/", elsewhere.clone())
        .route("/-/api/{*rest}", elsewhere)
}

/// The OpenAPI document of the API, as generated from its operations.
pub(crate) fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut doc) = operations().split_for_parts();
    openapi::finish(&mut doc);
    doc
}

/// Every operation, each with its description.
fn operations() -> OpenApiRouter<Arc<App>> {
    let rule = DefaultBodyLimit::max(MAX_RULE_BODY);
    let file = DefaultBodyLimit::max(MAX_IMPORT_BODY);
    OpenApiRouter::with_openapi(openapi::Base::openapi())
        .routes(closed(routes!(openapi::document)))
        .routes(closed(routes!(rules::list, rules::create)).layer(rule))
        .routes(
            closed(routes!(
                rules::get,
                rules::replace,
                patch::patch,
                rules::delete
            ))
            .layer(rule),
        )
        .routes(closed(routes!(rules::history)))
        .routes(closed(routes!(import::import)).layer(file))
        .routes(closed(routes!(unknown::unknown)))
        .routes(closed(routes!(checks::rule_check)))
        .routes(closed(routes!(checks::checks)))
        .routes(closed(routes!(stats::days)))
        .routes(closed(routes!(stats::top_rules)))
        .routes(closed(routes!(stats::gone)))
        .routes(closed(routes!(stats::rule)))
        .routes(closed(routes!(stats::rule_variants)))
        .routes(closed(routes!(stats::unknown)))
}

/// `route` with every method its document does not list answered 405, its `Allow` naming
/// those it does (RFC 9110 §15.5.6). The 405 is for a client with the token, as the
/// operations are, unless they need none; only those answer HEAD as GET (RFC 9110 §9.3.2).
fn closed(route: UtoipaMethodRouter<Arc<App>>) -> UtoipaMethodRouter<Arc<App>> {
    let (schemas, paths, methods) = route;
    let Some(item) = paths.paths.values().next() else {
        return (schemas, paths, methods);
    };
    let operations = [
        ("GET", &item.get),
        ("POST", &item.post),
        ("PUT", &item.put),
        ("DELETE", &item.delete),
        ("PATCH", &item.patch),
    ];
    let mut allow: Vec<&str> = operations
        .iter()
        .filter(|(_, op)| op.is_some())
        .map(|(m, _)| *m)
        .collect();
    let public = operations.iter().all(|(_, op)| {
        op.as_ref().is_none_or(|op| {
            op.security
                .as_ref()
                .is_some_and(|s| s.iter().all(|r| *r == SecurityRequirement::default()))
        })
    });
    let get = item.get.is_some();
    if public && get {
        allow.insert(1, "HEAD");
    }
    let allow = HeaderValue::from_str(&allow.join(", ")).unwrap_or(HeaderValue::from_static(""));
    let methods = if public {
        methods.fallback(move || {
            let allow = allow.clone();
            async move { ApiError::not_allowed(allow) }
        })
    } else {
        let refuse = move |_: Authenticated| {
            let allow = allow.clone();
            async move { ApiError::not_allowed(allow) }
        };
        let methods = if get {
            methods.head(refuse.clone())
        } else {
            methods
        };
        methods.fallback(refuse)
    };
    (schemas, paths, methods)
}

/// A path under `/-/api` that is no route: the route it names without its trailing slashes
/// (`api`), else a 404.
async fn elsewhere(api: Router<Arc<App>>, app: Arc<App>, req: Request) -> Response {
    let path = req.uri().path();
    let trimmed = path.trim_end_matches('/');
    if trimmed.len() == path.len() {
        let (mut parts, _) = req.into_parts();
        return match Authenticated::from_request_parts(&mut parts, &app).await {
            Ok(_) => ApiError::no_such_resource().into_response(),
            Err(r) => r,
        };
    }
    let target = match req.uri().query() {
        Some(q) => format!("{trimmed}?{q}"),
        None => trimmed.to_owned(),
    };
    let (mut parts, body) = req.into_parts();
    let mut uri = parts.uri.into_parts();
    uri.path_and_query = target.parse().ok();
    parts.uri = Uri::from_parts(uri).unwrap_or_default();
    let api = api.with_state(app);
    match api.oneshot(Request::from_parts(parts, body)).await {
        Ok(r) => r,
        Err(never) => match never {},
    }
}

/// Any other path under `/-/api`, for a client with the token.
async fn no_such_resource(_: Authenticated) -> ApiError {
    ApiError::no_such_resource()
}
