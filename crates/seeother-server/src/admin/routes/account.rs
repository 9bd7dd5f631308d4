//! Signing in and out.

use std::sync::Arc;

use crate::http::body::RequestBody;
use bytes::Bytes;
use http::header::{AUTHORIZATION, HOST};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri};
use seeother_core::guard::Guard;
use url::Url;

use super::MAX_FORM;
use crate::admin::form::{self, FieldError, Fields};
use crate::admin::session::{self, Session};
use crate::admin::{reply, view};
use crate::http::service::App;

/// Where signing in leads when no (acceptable) `next` was asked for.
const HOME: &str = "/-/admin/rules";

/// `303` to the sign-in page, remembering the page asked for in `next`.
pub(super) fn to_sign_in(method: &Method, uri: &Uri) -> Response<Bytes> {
    let asked = uri.path_and_query().map_or(HOME, |p| p.as_str());
    let next: String = form_urlencoded::byte_serialize(asked.as_bytes()).collect();
    reply::see_other(method, &format!("/-/admin/sign-in?next={next}"), None)
}

fn no_session(method: &Method) -> Response<Bytes> {
    reply::message(
        method,
        StatusCode::SERVICE_UNAVAILABLE,
        "Service Unavailable",
        "No session could be started (too many at once, or no randomness available). Try again in a minute.",
        ("/-/admin/sign-in", "Sign in"),
    )
}

/// The sign-in form; starts an anonymous session (for the form's CSRF token) when there is none.
pub(super) fn sign_in_page(app: &Arc<App>, req: &Request<RequestBody>) -> Response<Bytes> {
    let method = req.method();
    let next = Fields::from_query(req.uri().query()).get("next").to_owned();
    let (session, cookie) = match app.admin.sessions.find(req.headers()) {
        Some(s) => (s, None),
        None => match app.admin.sessions.create(false) {
            Some(s) => {
                let c = session::set_cookie(&s, app.admin.tls());
                (s, Some(c))
            }
            None => return no_session(method),
        },
    };
    let notice = if session.signed_in {
        "You are signed in; signing in again starts a new session."
    } else {
        ""
    };
    reply::with_cookie(
        reply::html(
            method,
            StatusCode::OK,
            view::sign_in::page(&session, &next, &[], notice),
        ),
        cookie,
    )
}

/// Whether `token` is the admin token, by the same constant-time check the API makes.
fn token_ok(app: &App, token: &str) -> bool {
    let Ok(value) = HeaderValue::from_str(&format!("Bearer {}", token.trim())) else {
        return false;
    };
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, value);
    app.token.verify(&headers)
}

/// Where to go after signing in: `next` when the core's guard finds it on this site and it is
/// an admin page, else the rule list.
fn next_target(app: &App, headers: &HeaderMap, next: &str) -> String {
    let scheme = if app.admin.tls() { "https" } else { "http" };
    let host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let origin = Url::parse(&format!("{scheme}://{host}/"))
        .or_else(|_| Url::parse("http://localhost/"))
        .expect("a fixed URL parses");
    if next.is_empty() {
        return HOME.to_owned();
    }
    // The open-redirect policy is the core's: only targets on this site's own origin pass.
    match Guard::new(origin).check(next) {
        Ok(location) if location.as_str().starts_with("/-/admin/") => location.as_str().to_owned(),
        Ok(_) => HOME.to_owned(),
        Err(e) => {
            tracing::info!(error = %e, "sign-in: `next` refused");
            HOME.to_owned()
        }
    }
}

/// The sign-in form's POST: a new signed-in session and `303` to `next`, or the form again.
pub(super) async fn sign_in(app: &Arc<App>, req: Request<RequestBody>) -> Response<Bytes> {
    let method = Method::POST;
    let (parts, body) = req.into_parts();
    let fields = match form::read(&parts.headers, body, MAX_FORM).await {
        Ok(f) => f,
        Err(e) => {
            return reply::message(
                &method,
                e.status,
                "Bad Request",
                &e.message,
                ("/-/admin/sign-in", "Sign in"),
            );
        }
    };
    let sessions = &app.admin.sessions;
    let Some(old) = sessions
        .find(&parts.headers)
        .filter(|s| s.csrf_matches(fields.get("csrf")))
    else {
        return reply::forbidden(&method);
    };
    let next = fields.get("next");
    if !token_ok(app, fields.get("token")) {
        let errors = [FieldError {
            field: "token",
            message: "This is not the admin token. Copy it from the token file or the \
                      SEEOTHER_ADMIN_TOKEN the server was started with."
                .to_owned(),
        }];
        return reply::html(
            &method,
            StatusCode::UNPROCESSABLE_ENTITY,
            view::sign_in::page(&old, next, &errors, ""),
        );
    }
    // OWASP session management: a new id at sign-in, so no id set beforehand is ever trusted.
    sessions.revoke(&old.id);
    let Some(new): Option<Session> = sessions.create(true) else {
        return no_session(&method);
    };
    let target = next_target(app, &parts.headers, next);
    reply::see_other(
        &method,
        &target,
        Some(session::set_cookie(&new, app.admin.tls())),
    )
}

/// Sign out: the session ends, the cookie is cleared, `303` to the sign-in page.
pub(super) async fn sign_out(app: &Arc<App>, req: Request<RequestBody>) -> Response<Bytes> {
    let method = Method::POST;
    let (parts, body) = req.into_parts();
    let fields = form::read(&parts.headers, body, MAX_FORM)
        .await
        .unwrap_or_default();
    let Some(session) = app
        .admin
        .sessions
        .find(&parts.headers)
        .filter(|s| s.csrf_matches(fields.get("csrf")))
    else {
        return reply::forbidden(&method);
    };
    app.admin.sessions.revoke(&session.id);
    reply::see_other(
        &method,
        "/-/admin/sign-in",
        Some(session::clear_cookie(app.admin.tls())),
    )
}
