//! Signing in and out.

use std::sync::Arc;

use axum::body::Body;
use bytes::Bytes;
use http::header::{AUTHORIZATION, HOST, RETRY_AFTER, SET_COOKIE};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri};
use seeother_core::guard::Guard;
use url::Url;

use super::MAX_FORM;
use crate::admin::form::{self, FieldError, Fields};
use crate::admin::{reply, view};
use crate::app::App;
use crate::metrics::AuthVia;
use crate::session::{self, Session};
use crate::throttle::{self, Wait};

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
        "No session could be started (no randomness available from the operating system). \
         Try again in a minute, and check the server's log.",
        ("/-/admin/sign-in", "Sign in"),
    )
}

/// `429` with `Retry-After` for a client that gave too many wrong tokens.
fn too_many(method: &Method, wait: Wait) -> Response<Bytes> {
    let mut r = reply::message(
        method,
        // RFC 6585 §4: 429 Too Many Requests.
        StatusCode::TOO_MANY_REQUESTS,
        "Too Many Requests",
        &format!(
            "Too many wrong admin tokens were sent from your address. Wait {} second{}, then \
             sign in again; until then even the right token is refused.",
            wait.seconds(),
            if wait.seconds() == 1 { "" } else { "s" }
        ),
        ("/-/admin/sign-in", "Sign in"),
    );
    // RFC 9110 §10.2.3: Retry-After in delay-seconds.
    r.headers_mut().insert(RETRY_AFTER, wait.retry_after());
    r
}

/// The sign-in form. It keeps nothing on the server: its CSRF token is signed and sent back in
/// a cookie (the one the request carried while it has half its life left, else a new one).
pub(super) fn sign_in_page(app: &Arc<App>, req: &Request<Body>) -> Response<Bytes> {
    let method = req.method();
    let next = Fields::from_query(req.uri().query()).get("next").to_owned();
    let Some((csrf, new)) = app
        .admin
        .form_key
        .as_ref()
        .and_then(|key| key.reuse_or_issue(req.headers()))
    else {
        return no_session(method);
    };
    let notice = if app.admin.sessions.find(req.headers()).is_some() {
        "You are signed in; signing in again starts a new session."
    } else {
        ""
    };
    let cookie = new.then(|| session::set_form_cookie(&csrf, app.admin.tls()));
    reply::with_cookie(
        reply::html(
            method,
            StatusCode::OK,
            view::sign_in::page(&csrf, &next, &[], notice),
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
///
/// Before the body is read, the request must carry the sign-in form's signed cookie (else 403)
/// and its client must not be over the limit of wrong tokens (else 429).
pub(super) async fn sign_in(app: &Arc<App>, req: Request<Body>) -> Response<Bytes> {
    let method = Method::POST;
    let Some(form_token) = app
        .admin
        .form_key
        .as_ref()
        .and_then(|key| key.from_cookie(req.headers()))
        .map(str::to_owned)
    else {
        return reply::forbidden(&method);
    };
    let client = throttle::client_of(&req);
    if let Err(wait) = app.throttle.check(client) {
        app.metrics.count_auth_throttled(AuthVia::SignIn);
        return too_many(&method, wait);
    }
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
    // OWASP CSRF prevention cheat sheet, signed double-submit cookie: the form's token is the
    // cookie's, which this server signed.
    if !session::form_token_matches(&form_token, fields.get("csrf")) {
        return reply::forbidden(&method);
    }
    let next = fields.get("next");
    if !token_ok(app, fields.get("token")) {
        app.throttle.failed(client);
        app.metrics.count_auth_failure(AuthVia::SignIn);
        let limit = app.throttle.config();
        let errors = [FieldError {
            field: "token",
            message: format!(
                "This is not the admin token. Copy it from the token file or the \
                 SEEOTHER_ADMIN_TOKEN the server was started with. After {} wrong tokens, \
                 your address must wait {} s for each next try.",
                limit.burst,
                limit.interval.as_secs_f64()
            ),
        }];
        return reply::html(
            &method,
            StatusCode::UNPROCESSABLE_ENTITY,
            view::sign_in::page(&form_token, next, &errors, ""),
        );
    }
    let sessions = &app.admin.sessions;
    // OWASP session management: a new id at sign-in, so no id set beforehand is ever trusted;
    // the session signing in again is ended.
    if let Some(old) = sessions.find(&parts.headers) {
        sessions.revoke(&old.id);
    }
    let Some(new): Option<Session> = sessions.create() else {
        return no_session(&method);
    };
    let target = next_target(app, &parts.headers, next);
    let mut r = reply::see_other(
        &method,
        &target,
        Some(session::set_cookie(&new, app.admin.tls())),
    );
    if let Ok(v) = HeaderValue::from_str(&session::clear_form_cookie(app.admin.tls())) {
        r.headers_mut().append(SET_COOKIE, v);
    }
    r
}

/// Sign out: the session ends, the cookie is cleared, `303` to the sign-in page. Without a
/// signed-in session it is refused (403) before the body is read.
pub(super) async fn sign_out(app: &Arc<App>, req: Request<Body>) -> Response<Bytes> {
    let method = Method::POST;
    let Some(session) = app.admin.sessions.find(req.headers()) else {
        return reply::forbidden(&method);
    };
    let (parts, body) = req.into_parts();
    let fields = form::read(&parts.headers, body, MAX_FORM)
        .await
        .unwrap_or_default();
    if !session.csrf_matches(fields.get("csrf")) {
        return reply::forbidden(&method);
    }
    app.admin.sessions.revoke(&session.id);
    reply::see_other(
        &method,
        "/-/admin/sign-in",
        Some(session::clear_cookie(app.admin.tls())),
    )
}
