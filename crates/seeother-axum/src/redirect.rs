//! [`SeeOther`]: a validated redirect with its note, and [`RedirectContext`] to negotiate it.

use std::convert::Infallible;

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, IntoResponseParts, Response, ResponseParts};
use http::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use seeother_core::respond::{MAX_LOCATION_LEN, negotiated};
use seeother_core::{Location, LocationError, RedirectStatus};

/// A redirect to a validated target: `303 See Other` by default, or 301/302/307/308.
///
/// The target is checked when the value is made ([`Location::parse`]): control characters,
/// a forbidden scheme (`javascript:`) or a value too long are a [`RedirectError`], never a
/// panic and never a redirect without `Location`. A relative reference stays relative; spaces
/// and non-ASCII are percent-encoded as browsers encode them.
///
/// As a response it carries `Location`, the hypertext note (RFC 9110 §15.4.4) with its
/// `Content-Type` and `Content-Length`, and nothing else:
///
/// - made with [`SeeOther::to`] and friends, the note is HTML, since the value has not seen
///   the request (`PrgLayer` then negotiates it on the request's `Accept`);
/// - made through a [`RedirectContext`] (or [`SeeOther::negotiate`]), the note is negotiated
///   on the request's `Accept` (HTML or plain text), `Vary: Accept` is added, and a HEAD gets
///   GET's header fields with no body (RFC 9110 §9.3.2).
///
/// Used as [`IntoResponseParts`] (not last in a tuple), it can only add header fields: it sets
/// `Location` and nothing else, and the tuple's `StatusCode` and body decide the rest.
///
/// ```
/// use axum::{Router, http::header::SET_COOKIE, response::IntoResponse, routing::post};
/// use seeother_axum::{RedirectError, SeeOther};
///
/// async fn sign_in() -> Result<impl IntoResponse, RedirectError> {
///     // Cookies and other header fields compose in a tuple, as with any axum response.
///     Ok(([(SET_COOKIE, "session=1; HttpOnly")], SeeOther::to("/account")?))
/// }
/// let app: Router = Router::new().route("/sign-in", post(sign_in));
/// ```
#[derive(Clone, Debug)]
#[must_use = "a redirect does nothing until it is returned as a response"]
pub struct SeeOther {
    status: RedirectStatus,
    location: Location,
    request: Option<RedirectContext>,
}

impl SeeOther {
    /// A `303 See Other` to `target`: the answer to a POST that has done its work
    /// (Post/Redirect/Get), whose target the client fetches with GET (RFC 9110 §15.4.4).
    ///
    /// ```
    /// use seeother_axum::SeeOther;
    ///
    /// assert_eq!(SeeOther::to("/orders/42")?.location().as_str(), "/orders/42");
    /// assert!(SeeOther::to("/a\r\nSet-Cookie: x=1").is_err());
    /// # Ok::<(), seeother_axum::RedirectError>(())
    /// ```
    pub fn to(target: &str) -> Result<Self, RedirectError> {
        Self::with_status(RedirectStatus::SeeOther, target)
    }

    /// A `307 Temporary Redirect` to `target`: the client repeats the same method and body
    /// (RFC 9110 §15.4.8).
    pub fn temporary(target: &str) -> Result<Self, RedirectError> {
        Self::with_status(RedirectStatus::TemporaryRedirect, target)
    }

    /// A `308 Permanent Redirect` to `target` (RFC 9110 §15.4.9).
    pub fn permanent(target: &str) -> Result<Self, RedirectError> {
        Self::with_status(RedirectStatus::PermanentRedirect, target)
    }

    /// A redirect with `status` to `target`.
    ///
    /// ```
    /// use seeother_axum::SeeOther;
    /// use seeother_core::RedirectStatus;
    ///
    /// let moved = SeeOther::with_status(RedirectStatus::MovedPermanently, "https://new.example/")?;
    /// assert_eq!(moved.status().code(), 301);
    /// # Ok::<(), seeother_axum::RedirectError>(())
    /// ```
    pub fn with_status(status: RedirectStatus, target: &str) -> Result<Self, RedirectError> {
        // RFC 9110 §4.1: a Location past 8 KiB may be cut or refused on the way.
        if target.len() > MAX_LOCATION_LEN {
            return Err(RedirectError::TooLong {
                len: target.len(),
                limit: MAX_LOCATION_LEN,
            });
        }
        let location = Location::parse(target)?;
        if location.as_str().len() > MAX_LOCATION_LEN {
            return Err(RedirectError::TooLong {
                len: location.as_str().len(),
                limit: MAX_LOCATION_LEN,
            });
        }
        Ok(Self::from_location(status, location))
    }

    /// A redirect with `status` to a target validated already (by the guard, say).
    pub fn from_location(status: RedirectStatus, location: Location) -> Self {
        SeeOther {
            status,
            location,
            request: None,
        }
    }

    /// The same redirect, its note negotiated for the request `context` describes.
    pub fn negotiate(mut self, context: &RedirectContext) -> Self {
        self.request = Some(context.clone());
        self
    }

    /// The status.
    pub fn status(&self) -> RedirectStatus {
        self.status
    }

    /// The target, as it is sent.
    pub fn location(&self) -> &Location {
        &self.location
    }
}

/// Marks a response whose note was made without the request: `PrgLayer` negotiates it.
#[derive(Clone, Debug)]
pub(crate) struct Unnegotiated {
    pub(crate) status: RedirectStatus,
    pub(crate) location: Location,
}

impl IntoResponse for SeeOther {
    fn into_response(self) -> Response {
        let (method, accept, negotiated_here) = match &self.request {
            Some(context) => (&context.method, &context.accept, true),
            None => (&Method::GET, &HeaderMap::new(), false),
        };
        let response = negotiated(self.status, &self.location, method, accept);
        let mut response = response.map(Body::from);
        if !negotiated_here {
            // Nothing was negotiated: the note is HTML whatever the request accepts, so no
            // `Vary` is owed (RFC 9110 §12.5.5).
            response.headers_mut().remove(http::header::VARY);
            response.extensions_mut().insert(Unnegotiated {
                status: self.status,
                location: self.location,
            });
        }
        response
    }
}

impl IntoResponseParts for SeeOther {
    type Error = Infallible;

    /// Sets `Location` only: parts cannot set the status, and the tuple's body is not the note.
    fn into_response_parts(self, mut res: ResponseParts) -> Result<ResponseParts, Self::Error> {
        // RFC 9110 §10.2.2: one Location field.
        res.headers_mut()
            .insert(LOCATION, self.location.header_value().clone());
        Ok(res)
    }
}

/// What a redirect's note is negotiated on: the request's method and `Accept` fields.
///
/// An extractor that never fails. Take it in a handler and make redirects through it, so the
/// note is HTML for a browser, plain text for `Accept: text/plain`, and absent for HEAD.
///
/// ```
/// use axum::{Router, routing::post};
/// use seeother_axum::{RedirectContext, RedirectError, SeeOther};
///
/// async fn save(redirect: RedirectContext) -> Result<SeeOther, RedirectError> {
///     redirect.see_other("/saved")
/// }
/// let app: Router = Router::new().route("/save", post(save));
/// ```
#[derive(Clone, Debug)]
pub struct RedirectContext {
    method: Method,
    accept: HeaderMap,
}

impl RedirectContext {
    /// The context of a request with `method` and header fields `headers` (only `Accept` is
    /// kept).
    pub fn new(method: &Method, headers: &HeaderMap) -> Self {
        let mut accept = HeaderMap::new();
        for value in headers.get_all(ACCEPT) {
            accept.append(ACCEPT, value.clone());
        }
        RedirectContext {
            method: method.clone(),
            accept,
        }
    }

    /// A `303 See Other` to `target`, negotiated for this request.
    pub fn see_other(&self, target: &str) -> Result<SeeOther, RedirectError> {
        Ok(SeeOther::to(target)?.negotiate(self))
    }

    /// A redirect with `status` to `target`, negotiated for this request.
    pub fn redirect(
        &self,
        status: RedirectStatus,
        target: &str,
    ) -> Result<SeeOther, RedirectError> {
        Ok(SeeOther::with_status(status, target)?.negotiate(self))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RedirectContext {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(RedirectContext::new(&parts.method, &parts.headers))
    }
}

/// A redirect target that cannot be sent.
///
/// As a response it is a `500 Internal Server Error` (the server chose the target, so the
/// fault is the server's) with a short plain-text body that does not echo the target, and
/// the reason goes to the log (`tracing`, level error).
///
/// ```
/// use seeother_axum::{RedirectError, SeeOther};
///
/// let error = SeeOther::to("javascript:alert(1)").unwrap_err();
/// assert!(matches!(error, RedirectError::Invalid(_)));
/// assert!(error.to_string().contains("use an http(s) URL or a path"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RedirectError {
    /// Not a valid `Location`: control characters, a forbidden scheme, empty, unparsable.
    Invalid(LocationError),
    /// `len` bytes (as given or once encoded), over `limit`
    /// ([`MAX_LOCATION_LEN`](seeother_core::respond::MAX_LOCATION_LEN)).
    TooLong { len: usize, limit: usize },
}

impl From<LocationError> for RedirectError {
    fn from(error: LocationError) -> Self {
        RedirectError::Invalid(error)
    }
}

impl std::fmt::Display for RedirectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RedirectError::Invalid(error) => write!(f, "cannot redirect: {error}"),
            RedirectError::TooLong { len, limit } => write!(
                f,
                "cannot redirect: the target is {len} bytes long, over the limit of {limit} \
                 bytes past which user agents and proxies may cut or refuse a Location; \
                 shorten it (keep state on the server, not in the URL)"
            ),
        }
    }
}

impl std::error::Error for RedirectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RedirectError::Invalid(error) => Some(error),
            RedirectError::TooLong { .. } => None,
        }
    }
}

impl IntoResponse for RedirectError {
    fn into_response(self) -> Response {
        tracing::error!(error = %self, "refused to send a redirect to an invalid target");
        server_error()
    }
}

/// The body of the 500 sent in place of a redirect that cannot be sent.
pub(crate) const SERVER_ERROR_BODY: &str = "500 Internal Server Error: this server tried to \
                                            redirect to an invalid target; the reason is in its \
                                            log\n";

/// The 500 sent in place of a redirect that cannot be sent.
pub(crate) fn server_error() -> Response {
    let mut response = Response::new(Body::from(SERVER_ERROR_BODY));
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(CONTENT_LENGTH, HeaderValue::from(SERVER_ERROR_BODY.len()));
    response
}
