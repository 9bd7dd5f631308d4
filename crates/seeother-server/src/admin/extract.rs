//! Reading an admin request: the signed-in session ([`SignedIn`], checked before any body is
//! read), the forms posted from its pages ([`SignedForm`], CSRF token checked first), the
//! query ([`Params`]) and the ids in the path ([`RuleId`], [`ReportId`]). Every axum
//! rejection becomes a [`Refusal`] page with the status it calls for.

use std::error::Error as StdError;
use std::sync::Arc;

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, FromRequest, FromRequestParts, OriginalUri, Path, Query, Request};
use axum::response::{IntoResponse, Response};
use http::header::CONTENT_TYPE;
use http::request::Parts;
use http::{HeaderMap, Method, StatusCode};
use seeother_axum::RedirectContext;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::page::Refusal;
use super::view::Back;
use crate::app::App;
use crate::http::body::read_error_status;
use crate::http::peer::ForwardedProto;
use crate::session::Session;

/// Largest body of a form (rule forms, sign-in, sign-out, delete).
pub const MAX_FORM: usize = 64 << 10;
/// Largest body of an import.
pub const MAX_IMPORT: usize = 32 << 20;

/// The live signed-in session whose id the request's cookie carries.
///
/// Without one, a page (GET, HEAD) answers `303` to the sign-in form, remembering the page
/// in `next`; anything else is refused with 403 before its body is read, since no form can
/// be valid without a session.
#[derive(Clone, Debug)]
pub struct SignedIn(pub Session);

impl FromRequestParts<Arc<App>> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Response> {
        let session = app
            .admin
            .sessions
            .find(&app.catalog, &parts.headers)
            .await
            .map_err(|e| Refusal::from(e).into_response())?;
        match session.filter(|s| s.signed_in) {
            Some(session) => Ok(SignedIn(session)),
            None if parts.method == Method::GET || parts.method == Method::HEAD => {
                Err(to_sign_in(parts))
            }
            None => Err(Refusal::Forbidden.into_response()),
        }
    }
}

/// `303` to the sign-in page, with the page asked for in `next`.
fn to_sign_in(parts: &Parts) -> Response {
    let uri = parts
        .extensions
        .get::<OriginalUri>()
        .map_or(&parts.uri, |o| &o.0);
    let asked = uri
        .path_and_query()
        .map_or("/-/admin/rules", |p| p.as_str());
    let next: String = form_urlencoded::byte_serialize(asked.as_bytes()).collect();
    let redirect = RedirectContext::new(&parts.method, &parts.headers);
    match redirect.see_other(&format!("/-/admin/sign-in?next={next}")) {
        Ok(r) => r.into_response(),
        Err(e) => Refusal::from(e).into_response(),
    }
}

/// A form posted from a signed-in page: the session, then the fields as `T` (every field
/// given a default, so any urlencoded body fits).
///
/// The session is checked before the body is read (403 without one), the body is read
/// under the route's [`axum::extract::DefaultBodyLimit`] (`LIMIT`, named in the 413 page),
/// and the form's `csrf` field is compared with the session's token before anything else
/// (403 when it is not the same).
#[derive(Debug)]
pub struct SignedForm<T, const LIMIT: usize = MAX_FORM>(pub Session, pub T);

/// A form's fields with its CSRF token.
#[derive(Deserialize)]
struct WithCsrf<T> {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    fields: T,
}

impl<T: DeserializeOwned + Send, const LIMIT: usize> FromRequest<Arc<App>>
    for SignedForm<T, LIMIT>
{
    type Rejection = Response;

    async fn from_request(req: Request, app: &Arc<App>) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let SignedIn(session) = SignedIn::from_request_parts(&mut parts, app).await?;
        let req = Request::from_parts(parts, body);
        let form: WithCsrf<T> = read_form(req, app, LIMIT, Back::rules())
            .await
            .map_err(IntoResponse::into_response)?;
        // OWASP CSRF prevention: a synchroniser token per session, checked before anything
        // else.
        if !session.csrf_matches(&form.csrf) {
            return Err(Refusal::Forbidden.into_response());
        }
        Ok(SignedForm(session, form.fields))
    }
}

/// Read `req`'s urlencoded body (of at most `limit` bytes, the route's body limit) as `T`,
/// any failure as the refusal it calls for.
pub async fn read_form<T: DeserializeOwned>(
    req: Request,
    app: &Arc<App>,
    limit: usize,
    back: Back,
) -> Result<T, Refusal> {
    let content_type = essence(req.headers());
    match Form::<T>::from_request(req, app).await {
        Ok(Form(form)) => Ok(form),
        Err(FormRejection::InvalidFormContentType(_)) => Err(unsupported(&content_type, back)),
        Err(
            e @ (FormRejection::FailedToDeserializeForm(_)
            | FormRejection::FailedToDeserializeFormBody(_)),
        ) => Err(Refusal::Input {
            status: StatusCode::BAD_REQUEST,
            message: format!("the form's fields could not be read ({e}); send the page's form"),
            back,
        }),
        Err(e) => Err(unreadable(&e, e.status(), limit, back)),
    }
}

/// The media type of the request's body, lowercased, without parameters.
pub fn essence(headers: &HeaderMap) -> String {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// 415 for a body that is not a form.
pub fn unsupported(essence: &str, back: Back) -> Refusal {
    Refusal::Input {
        status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
        message: format!(
            "a form is sent as application/x-www-form-urlencoded or multipart/form-data, \
             not {:?}",
            essence
        ),
        back,
    }
}

/// The refusal for a body that could not be read: 413 over `limit` (axum's `status` says
/// so: its body-limit error is boxed twice, out of reach of a downcast), 408 past the body
/// deadline, else 400.
pub fn unreadable(
    e: &(dyn StdError + 'static),
    status: StatusCode,
    limit: usize,
    back: Back,
) -> Refusal {
    let status = match status {
        StatusCode::PAYLOAD_TOO_LARGE => status,
        _ => read_error_status(e),
    };
    let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
        format!(
            "the form is larger than {} KiB; send a smaller file",
            limit / 1024
        )
    } else {
        // The innermost cause says what happened (the body deadline's says what to do).
        let cause = std::iter::successors(Some(e), |&e| e.source())
            .last()
            .unwrap_or(e);
        format!("could not read the form: {cause}")
    };
    Refusal::Input {
        status,
        message,
        back,
    }
}

/// The query string as `T`; one that cannot be read is a 400 page.
#[derive(Debug)]
pub struct Params<T>(pub T);

impl<T: DeserializeOwned> FromRequestParts<Arc<App>> for Params<T> {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Refusal> {
        match Query::<T>::from_request_parts(parts, app).await {
            Ok(Query(value)) => Ok(Params(value)),
            Err(e) => Err(Refusal::Input {
                status: StatusCode::BAD_REQUEST,
                message: format!(
                    "the query string could not be read ({e}); give each parameter once"
                ),
                back: Back::rules(),
            }),
        }
    }
}

/// Whether the browser reached this server over HTTPS: this server's own TLS, or the
/// scheme a trusted proxy said its client used (`--trust-proxy`). Cookies get `Secure` then.
#[derive(Clone, Copy, Debug)]
pub struct Https(pub bool);

impl FromRequestParts<Arc<App>> for Https {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<App>,
    ) -> Result<Self, std::convert::Infallible> {
        Ok(Https(ForwardedProto::is_secure(
            &parts.extensions,
            app.admin.tls(),
        )))
    }
}

/// The id of a rule page (`/-/admin/rules/{id}…`); anything else is a 404 that says so.
#[derive(Clone, Copy, Debug)]
pub struct RuleId(pub i64);

impl FromRequestParts<Arc<App>> for RuleId {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Refusal> {
        let raw = Path::<String>::from_request_parts(parts, app)
            .await
            .map(|Path(raw)| raw)
            .unwrap_or_default();
        raw.parse().map(RuleId).map_err(|_| {
            Refusal::NotFound(format!(
                "{raw:?} is not a rule id; rule pages are numbered, as in /-/admin/rules/42."
            ))
        })
    }
}

/// The id of an import report (`/-/admin/imports/{id}`); anything else is a 404.
#[derive(Clone, Copy, Debug)]
pub struct ReportId(pub u64);

impl FromRequestParts<Arc<App>> for ReportId {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Refusal> {
        let raw = Path::<String>::from_request_parts(parts, app).await;
        raw.ok()
            .and_then(|Path(raw)| raw.parse().ok())
            .map(ReportId)
            .ok_or_else(|| {
                Refusal::NotFound(
                    "Import reports are numbered, as in /-/admin/imports/1.".to_owned(),
                )
            })
    }
}
