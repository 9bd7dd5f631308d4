//! Signing in and out.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::response::{AppendHeaders, IntoResponse};
use http::header::{AUTHORIZATION, SET_COOKIE};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, StatusCode};
use seeother_axum::{Next, NextPolicy, RedirectContext};
use serde::Deserialize;

use crate::admin::extract::{Https, MAX_FORM, Params, SignedForm, read_form};
use crate::admin::form::FieldError;
use crate::admin::page::{Answer, Page, Refusal};
use crate::admin::view::{self, Back};
use crate::app::App;
use crate::http::peer::{ForwardedProto, Peer};
use crate::metrics::AuthVia;
use crate::session;

/// Where signing in leads when no (acceptable) `next` was asked for.
const HOME: &str = "/-/admin/rules";

/// The sign-in page's query.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SignInParams {
    next: String,
}

/// `GET /-/admin/sign-in`: the form. It keeps nothing on the server: its CSRF token is
/// signed and sent back in a cookie (the one the request carried while it has half its life
/// left, else a new one).
pub async fn sign_in_page(
    State(app): State<Arc<App>>,
    Https(https): Https,
    headers: HeaderMap,
    Params(query): Params<SignInParams>,
) -> Answer {
    let key = app.admin.form_key.get(&app.catalog).await?;
    let (csrf, new) = key.reuse_or_issue(&headers).ok_or(Refusal::NoRandomness)?;
    let notice = if app
        .admin
        .sessions
        .find(&app.catalog, &headers)
        .await?
        .is_some()
    {
        "You are signed in; signing in again starts a new session."
    } else {
        ""
    };
    let page = Page::ok(view::sign_in::page(&csrf, &query.next, &[], notice));
    let cookie = new.then(|| session::set_form_cookie(&csrf, https));
    Ok((AppendHeaders(cookie.map(|c| (SET_COOKIE, c))), page).into_response())
}

/// The sign-in form's signed token, from its cookie: without a valid one the POST is refused
/// (403) before its body is read.
pub struct FormToken(String);

impl FromRequestParts<Arc<App>> for FormToken {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Refusal> {
        let key = app.admin.form_key.get(&app.catalog).await?;
        key.from_cookie(&parts.headers)
            .map(|token| FormToken(token.to_owned()))
            .ok_or(Refusal::Forbidden)
    }
}

/// The client's address, when it is not over the limit of wrong tokens: else 429 with
/// `Retry-After`, before the body is read, even for the right token.
pub struct Unthrottled(IpAddr);

impl FromRequestParts<Arc<App>> for Unthrottled {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Refusal> {
        // As `throttle::client_of` counts a request: by the listener's `Peer`.
        let client = parts
            .extensions
            .get::<Peer>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |p| {
                Peer::client_key(p.0.ip())
            });
        match app.throttle.check(client) {
            Ok(()) => Ok(Unthrottled(client)),
            Err(wait) => {
                app.metrics.count_auth_throttled(AuthVia::SignIn);
                Err(Refusal::TooMany(wait))
            }
        }
    }
}

/// The sign-in form's fields.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SignInFields {
    csrf: String,
    token: String,
    next: String,
}

/// The sign-in form, and where it leads: its `next` judged by the core's open-redirect guard
/// through [`NextPolicy`], on this server's own origin.
pub struct SignInForm(SignInFields, Next);

impl FromRequest<Arc<App>> for SignInForm {
    type Rejection = Refusal;

    async fn from_request(req: Request, app: &Arc<App>) -> Result<Self, Refusal> {
        let (parts, body) = req.into_parts();
        let req = Request::from_parts(parts.clone(), body);
        let fields: SignInFields = read_form(req, app, MAX_FORM, Back::sign_in()).await?;
        // The origin is the request's own Host, with the scheme the browser used.
        let https = ForwardedProto::is_secure(&parts.extensions, app.admin.tls());
        let policy = NextPolicy::request_host(https).params(["next"]);
        let policy = policy.clone().fallback(HOME).unwrap_or(policy);
        let given = Some(fields.next.as_str()).filter(|n| !n.is_empty());
        let next = policy.judge(&parts, given).map_err(|e| Refusal::Input {
            status: StatusCode::BAD_REQUEST,
            message: e.to_string(),
            back: Back::sign_in(),
        })?;
        if let Some(e) = next.refused() {
            tracing::info!(error = %e, "sign-in: `next` refused");
        }
        Ok(SignInForm(fields, next))
    }
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

/// `POST /-/admin/sign-in`: a new signed-in session and `303` to `next`, or the form again.
///
/// Before the body is read, the request must carry the sign-in form's signed cookie (else
/// 403) and its client must not be over the limit of wrong tokens (else 429).
pub async fn sign_in(
    State(app): State<Arc<App>>,
    Https(tls): Https,
    FormToken(form_token): FormToken,
    Unthrottled(client): Unthrottled,
    headers: HeaderMap,
    redirect: RedirectContext,
    SignInForm(fields, next): SignInForm,
) -> Answer {
    // OWASP CSRF prevention cheat sheet, signed double-submit cookie: the form's token is the
    // cookie's, which this server signed.
    if !session::form_token_matches(&form_token, &fields.csrf) {
        return Err(Refusal::Forbidden);
    }
    if !token_ok(&app, &fields.token) {
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
        let html = view::sign_in::page(&form_token, &fields.next, &errors, "");
        return Ok(Page::new(StatusCode::UNPROCESSABLE_ENTITY, html).into_response());
    }
    let sessions = &app.admin.sessions;
    // OWASP session management: a new id at sign-in, so no id set beforehand is ever trusted;
    // the session signing in again is ended.
    if let Some(old) = sessions.find(&app.catalog, &headers).await? {
        sessions.revoke(&app.catalog, &old.id).await?;
    }
    let new = sessions.create(&app.catalog).await?;
    // Only admin pages on this origin; anything else the guard let through leads home.
    let target = match next.as_str() {
        t if next.refused().is_none() && t.starts_with("/-/admin/") => t,
        _ => HOME,
    };
    let cookies = AppendHeaders([
        (SET_COOKIE, session::set_cookie(&new, tls)),
        (SET_COOKIE, session::clear_form_cookie(tls)),
    ]);
    // RFC 9110 §15.4.4: the sign-in is done; the page asked for is retrieved with GET.
    Ok((cookies, redirect.see_other(target)?).into_response())
}

/// The sign-out form's fields: its CSRF token only.
#[derive(Debug, Default, Deserialize)]
pub struct NoFields {}

/// `POST /-/admin/sign-out`: the session ends, the cookie is cleared, `303` to the sign-in
/// page. Without a signed-in session it is refused (403) before the body is read.
pub async fn sign_out(
    State(app): State<Arc<App>>,
    Https(https): Https,
    redirect: RedirectContext,
    SignedForm(session, NoFields {}): SignedForm<NoFields>,
) -> Answer {
    app.admin.sessions.revoke(&app.catalog, &session.id).await?;
    let cookie = AppendHeaders([(SET_COOKIE, session::clear_cookie(https))]);
    Ok((cookie, redirect.see_other("/-/admin/sign-in")?).into_response())
}
