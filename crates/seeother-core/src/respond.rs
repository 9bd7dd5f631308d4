//! Redirect responses for the origin server: one builder for 301, 302, 303, 307 and 308.
//!
//! RFC 9110 §15.4.4: a 303 carries `Location` and, except for HEAD, a short hypertext note that
//! links the same URI reference.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Response, StatusCode};

use crate::location::Location;

/// The redirect statuses a server may answer with. `SeeOther` (303) is the default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum RedirectStatus {
    /// 301 Moved Permanently (RFC 9110 §15.4.2).
    MovedPermanently,
    /// 302 Found (RFC 9110 §15.4.3).
    Found,
    /// 303 See Other (RFC 9110 §15.4.4).
    #[default]
    SeeOther,
    /// 307 Temporary Redirect (RFC 9110 §15.4.8).
    TemporaryRedirect,
    /// 308 Permanent Redirect (RFC 9110 §15.4.9).
    PermanentRedirect,
}

impl RedirectStatus {
    /// The status code.
    pub fn code(self) -> StatusCode {
        todo!()
    }

    /// The redirect status for `code`, or `None` when seeother does not answer with it.
    pub fn from_code(code: u16) -> Option<Self> {
        let _ = code;
        todo!()
    }
}

/// A redirect response, built once and written many times.
///
/// The note and the header block are built when the `Redirect` is made, so writing it is a
/// few reference-count bumps.
#[derive(Clone, Debug)]
pub struct Redirect {
    status: RedirectStatus,
    location: Location,
    headers: HeaderMap,
    body: Bytes,
}

impl Redirect {
    /// A `303 See Other` to `location`.
    pub fn see_other(location: Location) -> Self {
        Self::new(RedirectStatus::SeeOther, location)
    }

    /// A redirect with the given status to `location`.
    pub fn new(status: RedirectStatus, location: Location) -> Self {
        let _ = (status, location);
        todo!()
    }

    /// Add a header to every response (e.g. `Cache-Control`).
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }

    /// Add `Vary: Accept`, for a target chosen by content negotiation (RFC 9110 §12.5.5).
    pub fn vary_accept(self) -> Self {
        todo!()
    }

    /// Add `Link: <location>; rel="describedby"` (RFC 8288), for an identifier that redirects to
    /// a document describing it.
    pub fn described_by(self) -> Self {
        todo!()
    }

    /// The status.
    pub fn status(&self) -> RedirectStatus {
        self.status
    }

    /// The target.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// The hypertext note sent to every method but HEAD.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The response to a request with `method`. HEAD gets the same header fields as GET and no
    /// body (RFC 9110 §9.3.2).
    pub fn to_response(&self, method: &Method) -> Response<Bytes> {
        let _ = method;
        todo!()
    }
}
