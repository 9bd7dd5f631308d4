//! Responses of the admin pages: HTML pages with their protective header fields, and 303
//! redirects built by the core.

use bytes::Bytes;
use http::header::{
    ALLOW, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, HeaderName, REFERRER_POLICY, SET_COOKIE,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode};
use seeother_core::Location;
use seeother_core::note::{self, escape};
use seeother_core::respond::Redirect;

use super::style;

/// Only this server's own stylesheet, forms and links; the inline style of the core's page
/// shell is allowed; no script, no framing.
const CSP: &str = "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self'; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

fn protect(headers: &mut HeaderMap) {
    // RFC 9111 §5.2.2.5: pages carry per-session tokens; keep them out of every cache.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        HeaderName::from_static("content-security-policy"),
        HeaderValue::from_static(CSP),
    );
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
}

/// An HTML page with `status`; HEAD gets the header fields only (RFC 9110 §9.3.2).
pub fn html(method: &Method, status: StatusCode, html: String) -> Response<Bytes> {
    let len = html.len();
    let body = if method == Method::HEAD {
        Bytes::new()
    } else {
        Bytes::from(html)
    };
    let mut r = Response::new(body);
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(note::CONTENT_TYPE));
    h.insert(CONTENT_LENGTH, HeaderValue::from(len));
    protect(h);
    r
}

/// An HTML page with a `Set-Cookie`.
pub fn with_cookie(mut r: Response<Bytes>, cookie: Option<String>) -> Response<Bytes> {
    if let Some(v) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        r.headers_mut().append(SET_COOKIE, v);
    }
    r
}

/// A short message page (errors, refusals) in the admin look.
pub fn message(
    method: &Method,
    status: StatusCode,
    title: &str,
    text: &str,
    link: (&str, &str),
) -> Response<Bytes> {
    let body = format!(
        "<p>{}</p><p><a href=\"{}\">{}</a></p>",
        escape(text),
        escape(link.0),
        escape(link.1)
    );
    html(method, status, super::view::layout(title, None, &body))
}

/// 405 with `Allow` (RFC 9110 §15.5.6).
pub fn not_allowed(method: &Method, allow: &'static str) -> Response<Bytes> {
    let mut r = message(
        method,
        StatusCode::METHOD_NOT_ALLOWED,
        "Method Not Allowed",
        &format!("This page takes {allow}."),
        ("/-/admin/rules", "Back to the rules"),
    );
    r.headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    r
}

/// 404 in the admin look.
pub fn not_found(method: &Method, text: &str) -> Response<Bytes> {
    message(
        method,
        StatusCode::NOT_FOUND,
        "Not Found",
        text,
        ("/-/admin/rules", "Back to the rules"),
    )
}

/// 403 for a form without a valid CSRF token: nothing was changed.
pub fn forbidden(method: &Method) -> Response<Bytes> {
    message(
        method,
        StatusCode::FORBIDDEN,
        "Forbidden",
        "The form's security token is missing, wrong or from a session that has ended, so \
         nothing was changed. Open the page again (sign in if asked) and submit the form from it.",
        ("/-/admin/sign-in", "Sign in"),
    )
}

/// `303 See Other` to `target` (a path of this server), built by the core; `cookie` is set
/// with it.
pub fn see_other(method: &Method, target: &str, cookie: Option<String>) -> Response<Bytes> {
    let location = match Location::parse(target) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(target, error = %e, "admin redirect target refused");
            return message(
                method,
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal Server Error",
                "The page to go to next could not be named.",
                ("/-/admin/rules", "Back to the rules"),
            );
        }
    };
    // RFC 9110 §15.4.4: the result of a POST is another resource, retrieved with GET.
    let mut redirect = Redirect::see_other(location);
    if let Some(v) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        redirect = redirect.header(SET_COOKIE, v);
    }
    let mut r = redirect.to_response(method);
    protect(r.headers_mut());
    r
}

/// The stylesheet, cacheable (RFC 9111 §5.2.2.1 max-age).
pub fn stylesheet(method: &Method) -> Response<Bytes> {
    let body = if method == Method::HEAD {
        Bytes::new()
    } else {
        Bytes::from_static(style::CSS.as_bytes())
    };
    let mut r = Response::new(body);
    let h = r.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    h.insert(CONTENT_LENGTH, HeaderValue::from(style::CSS.len()));
    h.insert(
        CACHE_CONTROL,
        HeaderValue::from_static(style::CACHE_CONTROL),
    );
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    r
}
