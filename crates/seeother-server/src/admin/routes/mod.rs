//! Routing of `/-/admin/…`, the session check every page makes and the CSRF check every POST
//! makes.

mod account;
mod import;
mod rules;

use std::sync::Arc;

use axum::body::Body;
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};

use super::form::{self, Fields};
use super::reply;
use crate::app::App;
use crate::catalog::{Catalog, CatalogError};
use crate::session::Session;

/// Largest body of a form (rule forms, sign-in, delete).
const MAX_FORM: usize = 64 << 10;
/// Largest body of an import.
const MAX_IMPORT: usize = 32 << 20;

/// Who made a change, for the rule history.
const ACTOR: &str = "admin";

/// Answer a request under `/-/admin`.
pub async fn route(app: &Arc<App>, req: Request<Body>) -> Response<Bytes> {
    let path = req.uri().path().to_owned();
    let rest = path.strip_prefix("/-/admin").unwrap_or("");
    let segments: Vec<&str> = rest.split('/').skip(1).collect();
    let method = req.method().clone();
    let read = method == Method::GET || method == Method::HEAD;
    match (segments.as_slice(), read) {
        (["style.css"], true) => return reply::stylesheet(&method),
        (["style.css"], false) => return reply::not_allowed(&method, "GET, HEAD"),
        (["sign-in"], true) => return account::sign_in_page(app, &req),
        (["sign-in"], false) if method == Method::POST => return account::sign_in(app, req).await,
        (["sign-in"], false) => return reply::not_allowed(&method, "GET, HEAD, POST"),
        (["sign-out"], _) if method == Method::POST => return account::sign_out(app, req).await,
        (["sign-out"], _) => return reply::not_allowed(&method, "POST"),
        _ => {}
    }
    let session = app
        .admin
        .sessions
        .find(req.headers())
        .filter(|s| s.signed_in);
    if read {
        let Some(session) = session else {
            return account::to_sign_in(&method, req.uri());
        };
        let (parts, _) = req.into_parts();
        return get(app, &session, &parts, &segments).await;
    }
    if method != Method::POST {
        return reply::not_allowed(&method, allowed(&segments));
    }
    // Without a signed-in session no token can be valid: refused before the body is read.
    let Some(session) = session else {
        return reply::forbidden(&method);
    };
    let limit = if segments == ["import"] {
        MAX_IMPORT
    } else {
        MAX_FORM
    };
    let (parts, body) = req.into_parts();
    let fields = match form::read(&parts.headers, body, limit).await {
        Ok(f) => f,
        Err(e) => {
            return reply::message(
                &method,
                e.status,
                e.status.canonical_reason().unwrap_or("Bad Request"),
                &e.message,
                ("/-/admin/rules", "Back to the rules"),
            );
        }
    };
    // OWASP CSRF prevention: a synchroniser token per session, checked before anything else.
    if !session.csrf_matches(fields.get("csrf")) {
        return reply::forbidden(&method);
    }
    post(app, &session, &segments, &fields).await
}

fn allowed(segments: &[&str]) -> &'static str {
    match segments {
        ["rules"] | ["rules", _] | ["rules", _, "delete"] | ["import"] => "GET, HEAD, POST",
        _ => "GET, HEAD",
    }
}

async fn get(
    app: &Arc<App>,
    session: &Session,
    req: &http::request::Parts,
    segments: &[&str],
) -> Response<Bytes> {
    let method = &req.method;
    let query = Fields::from_query(req.uri.query());
    match segments {
        [] | [""] => reply::see_other(method, "/-/admin/rules", None),
        ["rules"] => rules::list(app, session, method, &query).await,
        ["rules", "new"] => rules::new_form(session, method),
        ["rules", id] => match id.parse() {
            Ok(id) => rules::show(app, session, method, id, &query).await,
            Err(_) => no_rule(method, id),
        },
        ["rules", id, "edit"] => match id.parse() {
            Ok(id) => rules::edit_form(app, session, method, id).await,
            Err(_) => no_rule(method, id),
        },
        ["rules", id, "delete"] => match id.parse() {
            Ok(id) => rules::confirm_delete(app, session, method, id).await,
            Err(_) => no_rule(method, id),
        },
        ["import"] => import::form_page(session, method),
        ["imports", id] => match id.parse() {
            Ok(id) => import::report(app, session, method, id),
            Err(_) => reply::not_found(
                method,
                "Import reports are numbered, as in /-/admin/imports/1.",
            ),
        },
        _ => reply::not_found(method, "There is no admin page here."),
    }
}

async fn post(
    app: &Arc<App>,
    session: &Session,
    segments: &[&str],
    fields: &Fields,
) -> Response<Bytes> {
    let method = &Method::POST;
    match segments {
        ["rules"] => rules::create(app, session, fields).await,
        ["rules", id] => match id.parse() {
            Ok(id) => rules::update(app, session, id, fields).await,
            Err(_) => no_rule(method, id),
        },
        ["rules", id, "delete"] => match id.parse() {
            Ok(id) => rules::delete(app, id, fields).await,
            Err(_) => no_rule(method, id),
        },
        ["import"] => import::submit(app, session, fields).await,
        _ => reply::not_allowed(method, allowed(segments)),
    }
}

fn no_rule(method: &Method, id: &str) -> Response<Bytes> {
    reply::not_found(
        method,
        &format!("{id:?} is not a rule id; rule pages are numbered, as in /-/admin/rules/42."),
    )
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

/// The page for a catalog failure that is not the user's input: 404 for a missing rule, 500
/// otherwise.
fn failure(method: &Method, e: &Fail) -> Response<Bytes> {
    use crate::store::StoreError;
    let e = match e {
        Fail::Catalog(e @ CatalogError::Store(StoreError::NotFound(_))) => {
            return reply::not_found(method, &e.to_string());
        }
        Fail::Catalog(e @ CatalogError::Store(StoreError::Busy(_))) => {
            tracing::warn!(error = %e, "admin page: store busy; answered 503");
            let mut r = reply::message(
                method,
                // RFC 9110 §15.6.4: the store is held by another process for now.
                StatusCode::SERVICE_UNAVAILABLE,
                "Service Unavailable",
                &format!("{e}. Nothing was changed; send the form again in a moment."),
                ("/-/admin/rules", "Back to the rules"),
            );
            // RFC 9110 §10.2.3: Retry-After in delay-seconds, as the API sends it.
            let wait = http::HeaderValue::from(crate::store::BUSY_RETRY_AFTER_SECS);
            r.headers_mut().insert(http::header::RETRY_AFTER, wait);
            return r;
        }
        Fail::Catalog(e) => e.to_string(),
        Fail::Task(e) => e.clone(),
    };
    tracing::error!(error = %e, "admin page: store failure");
    reply::message(
        method,
        StatusCode::INTERNAL_SERVER_ERROR,
        "Internal Server Error",
        &format!(
            "The store failed: {e}. Nothing was changed; try again, and check the server's log."
        ),
        ("/-/admin/rules", "Back to the rules"),
    )
}
