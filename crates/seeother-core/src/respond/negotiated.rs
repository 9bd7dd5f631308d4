//! A redirect answered to one request: the note in the format its `Accept` prefers.

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode};

use crate::location::Location;
use crate::negotiate;
use crate::note;

use super::RedirectStatus;

/// The formats a redirect's note comes in. HTML is the default and the server's preference.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum NoteFormat {
    /// `text/html`: [`note::render`], a page with one link.
    #[default]
    Html,
    /// `text/plain`: [`note::render_text`], the target on one line.
    Text,
}

impl NoteFormat {
    /// The media types offered, in the server's order of preference.
    const OFFERED: [&'static str; 2] = ["text/html", "text/plain"];

    /// The format the request's `Accept` fields prefer (RFC 9110 §12.5.1).
    ///
    /// On a tie, and when neither is acceptable (`Accept: application/json`), the note is
    /// HTML: a redirect is not refused with 406 over its note, which only informs
    /// (RFC 9110 §12.5.1 lets a server disregard `Accept`).
    ///
    /// ```
    /// use http::{HeaderMap, HeaderValue, header::ACCEPT};
    /// use seeother_core::respond::NoteFormat;
    ///
    /// let mut headers = HeaderMap::new();
    /// assert_eq!(NoteFormat::negotiate(&headers), NoteFormat::Html);
    /// headers.insert(ACCEPT, HeaderValue::from_static("text/plain"));
    /// assert_eq!(NoteFormat::negotiate(&headers), NoteFormat::Text);
    /// headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    /// assert_eq!(NoteFormat::negotiate(&headers), NoteFormat::Html);
    /// ```
    pub fn negotiate(request: &HeaderMap) -> NoteFormat {
        match negotiate::choose(request, &Self::OFFERED) {
            Some(1) => NoteFormat::Text,
            _ => NoteFormat::Html,
        }
    }

    /// The `Content-Type` of a note in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            NoteFormat::Html => note::CONTENT_TYPE,
            NoteFormat::Text => note::TEXT_CONTENT_TYPE,
        }
    }

    /// The note for `status` and `location` in this format.
    pub fn render(self, status: StatusCode, location: &Location) -> String {
        match self {
            NoteFormat::Html => note::render(status, location),
            NoteFormat::Text => note::render_text(status, location),
        }
    }
}

/// The note a request is answered with: its format and bytes, and whether the body is sent.
///
/// ```
/// use http::{HeaderMap, Method, StatusCode};
/// use seeother_core::Location;
/// use seeother_core::respond::Note;
///
/// let location = Location::parse("/orders/42")?;
/// let note = Note::for_request(StatusCode::SEE_OTHER, &location, &Method::HEAD, &HeaderMap::new());
/// assert!(note.body().is_empty());
/// assert_eq!(note.content_length(), note::render(StatusCode::SEE_OTHER, &location).len());
/// # use seeother_core::note;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Note {
    format: NoteFormat,
    body: Bytes,
    len: usize,
}

impl Note {
    /// The note for a request with `method` and header fields `request`: negotiated on
    /// `Accept`, and empty for HEAD, whose `Content-Length` is still that of the GET body
    /// (RFC 9110 §9.3.2).
    pub fn for_request(
        status: StatusCode,
        location: &Location,
        method: &Method,
        request: &HeaderMap,
    ) -> Note {
        let format = NoteFormat::negotiate(request);
        let note = format.render(status, location);
        let len = note.len();
        // RFC 9110 §15.4.4: the note goes to every method "except for responses to a HEAD
        // request"; RFC 9110 §9.3.2: HEAD keeps the header fields GET would have.
        let body = if method == Method::HEAD {
            Bytes::new()
        } else {
            Bytes::from(note)
        };
        Note { format, body, len }
    }

    /// The chosen format.
    pub fn format(&self) -> NoteFormat {
        self.format
    }

    /// The bytes to send: the note, or nothing for HEAD.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The `Content-Length` to announce: the note's length, for HEAD too.
    pub fn content_length(&self) -> usize {
        self.len
    }

    /// Set `Content-Type`, `Content-Length` and `Vary: Accept` in `headers` (the response's),
    /// and return the body.
    ///
    /// RFC 9110 §12.5.5: the note was chosen on `Accept`, so `Vary` lists it (added only when
    /// no `Vary` field lists `Accept` or `*` already).
    pub fn apply(self, headers: &mut HeaderMap) -> Bytes {
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static(self.format.content_type()),
        );
        headers.insert(CONTENT_LENGTH, HeaderValue::from(self.len));
        super::add_vary_accept(headers);
        self.body
    }
}

/// The whole answer to one request: `status`, `Location`, the note negotiated on the request's
/// `Accept` with `Vary: Accept`, and no body for HEAD (same header fields as GET).
///
/// ```
/// use http::{HeaderMap, HeaderValue, Method, header};
/// use seeother_core::respond::negotiated;
/// use seeother_core::{Location, RedirectStatus};
///
/// let location = Location::parse("/orders/42")?;
/// let mut request = HeaderMap::new();
/// request.insert(header::ACCEPT, HeaderValue::from_static("text/plain"));
/// let get = negotiated(RedirectStatus::SeeOther, &location, &Method::POST, &request);
/// assert_eq!(get.status(), 303);
/// assert_eq!(get.headers()[header::CONTENT_TYPE], "text/plain; charset=utf-8");
/// assert_eq!(get.headers()[header::VARY], "Accept");
/// assert_eq!(get.body().as_ref(), b"See /orders/42\n");
///
/// let head = negotiated(RedirectStatus::SeeOther, &location, &Method::HEAD, &request);
/// assert_eq!(head.headers(), get.headers());
/// assert!(head.body().is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn negotiated(
    status: RedirectStatus,
    location: &Location,
    method: &Method,
    request: &HeaderMap,
) -> Response<Bytes> {
    let note = Note::for_request(status.code(), location, method, request);
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = status.code();
    let headers = response.headers_mut();
    // RFC 9110 §10.2.2: the validated target.
    headers.insert(LOCATION, location.header_value().clone());
    *response.body_mut() = note.apply(response.headers_mut());
    response
}
