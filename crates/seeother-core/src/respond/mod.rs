//! Redirect responses for the origin server: one builder for 301, 302, 303, 307 and 308.
//!
//! RFC 9110 §15.4.4: a 303 carries `Location` and, except for HEAD, a short hypertext note that
//! links the same URI reference.
//!
//! [`Redirect`] and [`Plain`] build the HTML note once, for a server's table of targets;
//! [`negotiated`] and [`Note`] answer one request, the note in the format its `Accept` prefers
//! (HTML or plain text); [`prg`] judges a response a framework's handler made (303 after an
//! unsafe method, a missing note, a bad `Location`).

mod body;
mod negotiated;
pub mod prg;

use std::fmt::Write as _;
use std::sync::OnceLock;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, LINK, LOCATION, TRANSFER_ENCODING, VARY};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Response, StatusCode};

use crate::location::Location;
use crate::note;

pub use body::Body;
pub use negotiated::{Note, NoteFormat, negotiated};

/// The longest `Location` a server should send, in bytes as sent: 8 KiB.
///
/// RFC 9110 §4.1 recommends that senders and recipients support URIs of at least 8000 octets;
/// past that, user agents and proxies may cut or refuse the field. The guard, seeother-axum
/// and the server's rule validation refuse longer targets.
pub const MAX_LOCATION_LEN: usize = 8 * 1024;

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
    ///
    /// ```
    /// use seeother_core::RedirectStatus;
    ///
    /// assert_eq!(RedirectStatus::default().code().as_u16(), 303);
    /// ```
    pub fn code(self) -> StatusCode {
        match self {
            Self::MovedPermanently => StatusCode::MOVED_PERMANENTLY,
            Self::Found => StatusCode::FOUND,
            Self::SeeOther => StatusCode::SEE_OTHER,
            Self::TemporaryRedirect => StatusCode::TEMPORARY_REDIRECT,
            Self::PermanentRedirect => StatusCode::PERMANENT_REDIRECT,
        }
    }

    /// The redirect status for `code`, or `None` when seeother does not answer with it.
    ///
    /// 300 Multiple Choices, 304 Not Modified and 305/306 are not redirects to one `Location`
    /// that a server builds this way (RFC 9110 §15.4), so they give `None`.
    ///
    /// ```
    /// use seeother_core::RedirectStatus;
    ///
    /// assert_eq!(RedirectStatus::from_code(308), Some(RedirectStatus::PermanentRedirect));
    /// assert_eq!(RedirectStatus::from_code(304), None);
    /// ```
    pub fn from_code(code: u16) -> Option<Self> {
        match code {
            301 => Some(Self::MovedPermanently),
            302 => Some(Self::Found),
            303 => Some(Self::SeeOther),
            307 => Some(Self::TemporaryRedirect),
            308 => Some(Self::PermanentRedirect),
            _ => None,
        }
    }
}

/// A redirect response, built once and written many times.
///
/// The note and the header block are built when the `Redirect` is made, so writing it is a
/// few reference-count bumps.
///
/// ```
/// use http::{Method, header};
/// use seeother_core::{Location, Redirect};
///
/// let redirect = Redirect::see_other(Location::parse("/orders/42")?).vary_accept();
///
/// let get = redirect.to_response(&Method::POST);
/// assert_eq!(get.status(), 303);
/// assert_eq!(get.headers()[header::LOCATION], "/orders/42");
/// assert_eq!(get.headers()[header::CONTENT_TYPE], "text/html; charset=utf-8");
/// assert_eq!(get.headers()[header::VARY], "Accept");
/// assert!(std::str::from_utf8(get.body())?.contains(r#"<a href="/orders/42">"#));
///
/// // RFC 9110 §9.3.2: HEAD gets the same header fields, Content-Length included, and no body.
/// let head = redirect.to_response(&Method::HEAD);
/// assert_eq!(head.headers(), get.headers());
/// assert_eq!(head.headers()[header::CONTENT_LENGTH], get.body().len().to_string().as_str());
/// assert!(head.body().is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
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
    ///
    /// The header block holds `Location` (RFC 9110 §10.2.2), `Content-Type` and the note's
    /// `Content-Length` (RFC 9110 §8.6); the note is [`note::render`]'s.
    pub fn new(status: RedirectStatus, location: Location) -> Self {
        // RFC 9110 §15.4.4: a short hypertext note linking the same URI reference.
        let body = Bytes::from(note::render(status.code(), &location));
        let mut headers = HeaderMap::with_capacity(8);
        insert_framing(&mut headers, &location, body.len());
        Self {
            status,
            location,
            headers,
            body,
        }
    }

    /// Add a header to every response (e.g. `Cache-Control`).
    ///
    /// `Location`, `Content-Length` and `Transfer-Encoding` belong to the redirect itself: a
    /// value given for them here is ignored, so the framing always matches the note
    /// (RFC 9112 §6.2: never both framings) and the target stays the validated one. A
    /// `Content-Type` given here replaces the note's (one field only, RFC 9110 §8.3); any other
    /// field is appended.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        if name == LOCATION || name == CONTENT_LENGTH || name == TRANSFER_ENCODING {
            return self;
        }
        if name == CONTENT_TYPE {
            self.headers.insert(name, value);
        } else {
            self.headers.append(name, value);
        }
        self
    }

    /// Add `Vary: Accept`, for a target chosen by content negotiation (RFC 9110 §12.5.5).
    ///
    /// Nothing is added when a `Vary` field already lists `Accept` or `*`.
    pub fn vary_accept(mut self) -> Self {
        add_vary_accept(&mut self.headers);
        self
    }

    /// Add `Link: <location>; rel="describedby"` (RFC 8288), for an identifier that redirects to
    /// a document describing it.
    ///
    /// ```
    /// use http::{Method, header};
    /// use seeother_core::{Location, Redirect};
    ///
    /// let redirect = Redirect::see_other(Location::parse("/doc/alice")?).described_by();
    /// let response = redirect.to_response(&Method::GET);
    /// assert_eq!(response.headers()[header::LINK], r#"</doc/alice>; rel="describedby""#);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn described_by(mut self) -> Self {
        // RFC 8288 §3: `<URI-Reference>` then parameters. A Location holds no `<`, `>`, spaces
        // or controls, so it can stand between the angle brackets as it is, still relative if
        // it was (RFC 8288 §3.1: resolved against the request's target like Location).
        let mut value = Vec::with_capacity(self.location.as_str().len() + 20);
        value.push(b'<');
        value.extend_from_slice(self.location.as_str().as_bytes());
        value.extend_from_slice(b">; rel=\"describedby\"");
        // Invariant: built from a valid header value and visible ASCII.
        if let Ok(value) = HeaderValue::from_bytes(&value) {
            self.headers.append(LINK, value);
        }
        self
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

    /// The header fields every response carries, `Content-Length` included.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The response to a request with `method`. HEAD gets the same header fields as GET and no
    /// body (RFC 9110 §9.3.2).
    ///
    /// Every other method, POST, PUT, DELETE and extension methods included, gets the note
    /// (RFC 9110 §15.4.4: "except for responses to a HEAD request").
    pub fn to_response(&self, method: &Method) -> Response<Bytes> {
        // RFC 9110 §9.3.2: HEAD is GET without content; the header block stays identical.
        let body = if method == Method::HEAD {
            Bytes::new()
        } else {
            self.body.clone()
        };
        let mut response = Response::new(body);
        *response.status_mut() = self.status.code();
        *response.headers_mut() = self.headers.clone();
        response
    }

    /// The response [`Redirect::new`]`(status, location.clone())` would give to `method`,
    /// built straight from `location`: for the hot path of a server, where keeping a
    /// `Redirect` per target would cost too much memory.
    ///
    /// The note is [`note::render`]'s, as a [`Body`] of parts: its fixed text (made once per
    /// status) around two copies of the target, which share the bytes of `location`; a target
    /// that needs escaping in HTML (`&` or `'`) gets the whole note in one buffer instead.
    /// `Location`, `Content-Type` and `Content-Length` are shared values too. So the only
    /// allocations are the header map's (which the response needs), plus that one buffer.
    ///
    /// ```
    /// use http::{Method, header};
    /// use seeother_core::{Location, Redirect, RedirectStatus};
    ///
    /// let location = Location::parse("/orders/42?a&b")?;
    /// let fast = Redirect::respond(RedirectStatus::SeeOther, &location, &Method::GET);
    /// let slow = Redirect::see_other(location).to_response(&Method::GET);
    /// assert_eq!(fast.status(), slow.status());
    /// assert_eq!(fast.headers(), slow.headers());
    /// assert_eq!(fast.body().to_bytes(), slow.body());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn respond(status: RedirectStatus, location: &Location, method: &Method) -> Response<Body> {
        Plain::new(status, location.clone(), method).into_response()
    }
}

/// A redirect with only the fields every redirect carries (`Location`, and the note's
/// `Content-Type` and `Content-Length`) and the note, not yet an [`http::Response`]: what
/// [`Redirect::respond`] builds, before the header map. A server that writes HTTP/1.1 itself
/// sends it with [`crate::h1::write_plain`] and allocates nothing for it.
///
/// ```
/// use http::Method;
/// use seeother_core::respond::Plain;
/// use seeother_core::{Location, RedirectStatus};
///
/// let location = Location::parse("/orders/42")?;
/// let plain = Plain::new(RedirectStatus::SeeOther, location, &Method::GET);
/// assert_eq!(plain.status().as_u16(), 303);
/// let response = plain.into_response();
/// assert_eq!(response.headers()["location"], "/orders/42");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Plain {
    status: RedirectStatus,
    location: Location,
    body: Body,
    /// The note's length, which a HEAD answer announces too.
    note_len: usize,
}

impl Plain {
    /// The answer to a request with `method` (see [`Redirect::respond`]).
    pub fn new(status: RedirectStatus, location: Location, method: &Method) -> Self {
        let skeleton = Skeleton::of(status);
        let target = location.as_str();
        let escaped = note::escaped_len(target);
        let note_len = skeleton.len(escaped);
        // RFC 9110 §9.3.2: HEAD is GET without content; the header block stays identical.
        let body = if method == Method::HEAD {
            Body::default()
        } else if escaped == target.len() {
            skeleton.fill(location.wire().clone())
        } else {
            skeleton.fill_escaped(target, note_len)
        };
        Plain {
            status,
            location,
            body,
            note_len,
        }
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status.code()
    }

    /// The target.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// The body: the note, or nothing for HEAD.
    pub fn body(&self) -> &Body {
        &self.body
    }

    /// The `Content-Length` value: the note's length, for HEAD too.
    pub fn content_length(&self) -> usize {
        self.note_len
    }

    /// The response, its fields in a header map.
    pub fn into_response(self) -> Response<Body> {
        let mut response = Response::new(self.body);
        *response.status_mut() = self.status.code();
        let headers = response.headers_mut();
        headers.reserve(3);
        insert_framing(headers, &self.location, self.note_len);
        response
    }
}

/// The note of one status cut around its two copies of the escaped target: `head`, target,
/// `middle`, target, `tail`. Derived once from [`note::render`] itself, so the note stays
/// defined in one place.
struct Skeleton {
    head: Bytes,
    middle: Bytes,
    tail: Bytes,
}

/// A target whose escaped form appears nowhere else in a note.
const SENTINEL: &str = "/seeother-note-target-7f3a9c";

impl Skeleton {
    fn of(status: RedirectStatus) -> &'static Skeleton {
        static CACHE: [OnceLock<Skeleton>; 5] = [const { OnceLock::new() }; 5];
        let slot = match status {
            RedirectStatus::MovedPermanently => 0,
            RedirectStatus::Found => 1,
            RedirectStatus::SeeOther => 2,
            RedirectStatus::TemporaryRedirect => 3,
            RedirectStatus::PermanentRedirect => 4,
        };
        CACHE[slot].get_or_init(|| Skeleton::derive(status))
    }

    fn derive(status: RedirectStatus) -> Skeleton {
        // Invariant: the sentinel is a valid relative reference, sent as is.
        let location = Location::parse(SENTINEL).expect("sentinel is a valid Location");
        let html = note::render(status.code(), &location);
        let mut parts = html.split(SENTINEL);
        // Made once per status for the life of the process: static bytes are shared without
        // touching a reference count.
        let mut next = || {
            let part: &'static str = Box::leak(parts.next().unwrap_or_default().into());
            Bytes::from_static(part.as_bytes())
        };
        let skeleton = Skeleton {
            head: next(),
            middle: next(),
            tail: next(),
        };
        debug_assert!(
            parts.next().is_none(),
            "the sentinel appears exactly twice in a note"
        );
        skeleton
    }

    fn len(&self, target: usize) -> usize {
        self.head.len() + self.middle.len() + self.tail.len() + 2 * target
    }

    /// The note in one buffer of `len` bytes, the target escaped twice into it.
    fn fill_escaped(&self, target: &str, len: usize) -> Body {
        let mut note = Vec::with_capacity(len);
        note.extend_from_slice(&self.head);
        note::escape_into(target, &mut note);
        note.extend_from_slice(&self.middle);
        note::escape_into(target, &mut note);
        note.extend_from_slice(&self.tail);
        debug_assert_eq!(note.len(), len);
        Body::from(Bytes::from(note))
    }

    /// The note in parts that share `target` (needing no escaping) and the fixed text.
    fn fill(&self, target: Bytes) -> Body {
        Body::from_parts([
            self.head.clone(),
            target.clone(),
            self.middle.clone(),
            target,
            self.tail.clone(),
        ])
    }
}

/// Append `Vary: Accept` unless a `Vary` field lists `Accept` or `*` already.
pub(crate) fn add_vary_accept(headers: &mut HeaderMap) {
    // RFC 9110 §12.5.5: Vary is a list of case-insensitive field names, or `*`.
    let listed = headers.get_all(VARY).iter().any(|value| {
        value.as_bytes().split(|&b| b == b',').any(|name| {
            let name = name.trim_ascii();
            name == b"*" || name.eq_ignore_ascii_case(b"accept")
        })
    });
    if !listed {
        headers.append(VARY, HeaderValue::from_static("Accept"));
    }
}

/// The fields every redirect carries, whichever way it is built: the validated target and the
/// framing of its note, `note_len` bytes long. [`crate::h1::write_plain`] writes the same
/// fields in the same order (`tests/h1.rs` holds the two to the same bytes).
fn insert_framing(headers: &mut HeaderMap, location: &Location, note_len: usize) {
    // RFC 9110 §10.2.2 and §15.4.4: the validated target, and a note that links it.
    headers.insert(LOCATION, location.header_value().clone());
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(note::CONTENT_TYPE));
    // RFC 9110 §8.6: the length of the GET body, which HEAD answers carry too (§9.3.2).
    headers.insert(CONTENT_LENGTH, content_length(note_len));
}

/// A shared `Content-Length` value for `len`: notes are short, so their lengths come from one
/// table made once; a longer one is formatted.
fn content_length(len: usize) -> HeaderValue {
    const TABLE: usize = 4096;
    static VALUES: OnceLock<Box<[HeaderValue]>> = OnceLock::new();
    if len >= TABLE {
        return HeaderValue::from(len);
    }
    // Static values: cloning one is a copy, with no reference count to touch.
    let values = VALUES.get_or_init(|| {
        let mut digits = String::with_capacity(TABLE * 4);
        for n in 0..TABLE {
            let _ = write!(digits, "{n}");
        }
        let digits: &'static str = digits.leak();
        let mut at = 0;
        (0..TABLE)
            .map(|n| {
                let width = n.checked_ilog10().unwrap_or(0) as usize + 1;
                at += width;
                HeaderValue::from_static(&digits[at - width..at])
            })
            .collect()
    });
    values[len].clone()
}
