//! HTTP/1.1 framing for the simplest requests a redirect server gets (RFC 9112), sans-IO.
//!
//! Most requests to an identifier resolver are a `GET` or `HEAD` of one path, or the `POST` of
//! a form that is answered `303 See Other`, with nothing that changes the connection.
//! [`parse`] recognises exactly those, complete in a buffer, and [`write_response`] writes the
//! answer's bytes, so a server can answer them without a general HTTP engine. Anything else is
//! [`Parsed::Other`]: another method, a chunked body, a `Connection` or `Upgrade` field,
//! HTTP/1.0, an absolute-form target, a character outside RFC 3986's set, a malformed
//! message… and is left to a full HTTP/1.1 implementation, from the first byte of that
//! request on.
//!
//! ```
//! use http::{Method, Response, StatusCode};
//! use seeother_core::h1::{self, Parsed};
//! use seeother_core::respond::Body;
//!
//! let buf = b"GET /id/42?x=1 HTTP/1.1\r\nHost: example.org\r\n\r\n";
//! let Parsed::Simple(req) = h1::parse(buf) else { panic!("a simple GET") };
//! assert_eq!((&req.method, req.path, req.query), (&Method::GET, "/id/42", Some("x=1")));
//! assert_eq!((req.host, req.len), ("example.org", buf.len()));
//!
//! let mut response = Response::new(Body::from("hi"));
//! *response.status_mut() = StatusCode::NOT_FOUND;
//! let mut out = Vec::new();
//! h1::write_response(&response, &req.method, b"Tue, 24 Nov 2026 23:00:00 GMT", &mut out);
//! assert_eq!(
//!     out,
//!     b"HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\ndate: Tue, 24 Nov 2026 23:00:00 GMT\r\n\r\nhi"
//! );
//! ```

use std::mem::MaybeUninit;

use http::header::{ACCEPT, CONTENT_LENGTH, DATE};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Response, StatusCode};

use crate::note;
use crate::respond::{Body, Plain};

/// Most header fields a simple request may have; a request with more is [`Parsed::Other`].
pub const MAX_HEADERS: usize = 48;

/// What the start of a buffer holds.
#[derive(Debug)]
pub enum Parsed<'b> {
    /// A complete simple request.
    Simple(Simple<'b>),
    /// The start of a message whose header block has not all arrived.
    Partial,
    /// A request this module does not answer (or not a valid message at all).
    Other,
}

/// A complete `GET`, `HEAD` or `POST` request in origin form, over HTTP/1.1. Only a `POST`
/// may have a body, framed by `Content-Length`; it is skipped (a redirect does not read it).
#[derive(Debug)]
pub struct Simple<'b> {
    /// `GET`, `HEAD` or `POST`.
    pub method: Method,
    /// The path, as received (percent-encoded).
    pub path: &'b str,
    /// The query without `?`, if the target has one.
    pub query: Option<&'b str>,
    /// The `Host` field's value, a valid one ([`crate::host::check`]).
    pub host: &'b str,
    /// The request's `Accept` fields and those named by [`parse_keeping`]'s `keep`; no others
    /// (no allocation when there are none).
    pub headers: HeaderMap,
    /// Bytes of the request line and header block (a server's header size limit applies to
    /// these).
    pub head_len: usize,
    /// Bytes the request, body included, takes at the start of the buffer.
    pub len: usize,
}

/// Read the request at the start of `buf`, keeping its `Accept` fields (content negotiation
/// needs them) and no others.
pub fn parse(buf: &[u8]) -> Parsed<'_> {
    parse_keeping(buf, &[])
}

/// Read the request at the start of `buf`, keeping its `Accept` fields and the fields named in
/// `keep` (those a server's rules read), in order.
///
/// ```
/// use http::header::USER_AGENT;
/// use seeother_core::h1::{self, Parsed};
///
/// let buf = b"GET / HTTP/1.1\r\nHost: a.example\r\nUser-Agent: Mozilla/5.0\r\nDNT: 1\r\n\r\n";
/// let Parsed::Simple(req) = h1::parse_keeping(buf, &[USER_AGENT]) else { panic!() };
/// assert_eq!(req.headers[USER_AGENT], "Mozilla/5.0");
/// assert_eq!(req.headers.len(), 1);
/// ```
pub fn parse_keeping<'b>(buf: &'b [u8], keep: &[HeaderName]) -> Parsed<'b> {
    // Left uninitialised: httparse writes only the fields it finds, and hands back only those.
    let mut fields = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut []);
    let len = match req.parse_with_uninit_headers(buf, &mut fields) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(_) => return Parsed::Other,
    };
    // RFC 9112 §9.3: HTTP/1.0 has other persistence rules; leave it to the full engine.
    if req.version != Some(1) {
        return Parsed::Other;
    }
    // RFC 9110 §9.1: method names are case-sensitive.
    let method = match req.method {
        Some("GET") => Method::GET,
        Some("HEAD") => Method::HEAD,
        Some("POST") => Method::POST,
        _ => return Parsed::Other,
    };
    let Some(target) = req.path.filter(|t| is_origin_form(t.as_bytes())) else {
        return Parsed::Other;
    };
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    };
    let mut host = None;
    let mut body = None;
    let mut headers = HeaderMap::new();
    for field in req.headers.iter() {
        let name = field.name;
        if name.eq_ignore_ascii_case("host") {
            // RFC 9112 §3.2: exactly one valid Host field; a request with none, two or a
            // bad one is the full engine's to refuse (400).
            if host.is_some() {
                return Parsed::Other;
            }
            match crate::host::check(field.value) {
                Ok(value) => host = Some(value),
                Err(_) => return Parsed::Other,
            }
        } else if name.eq_ignore_ascii_case("accept") {
            // RFC 9110 §12.5.1: several Accept fields are one list.
            match HeaderValue::from_bytes(field.value) {
                Ok(value) => {
                    headers.append(ACCEPT, value);
                }
                Err(_) => return Parsed::Other,
            }
        } else if name.eq_ignore_ascii_case("connection") {
            // RFC 9112 §9.3: keep-alive is HTTP/1.1's default; any other option (close,
            // upgrade) changes the connection.
            if !field.value.eq_ignore_ascii_case(b"keep-alive") {
                return Parsed::Other;
            }
        } else if name.eq_ignore_ascii_case("content-length") {
            // RFC 9110 §8.6: Content-Length = 1*DIGIT. A list, a sign or a second field is
            // the full engine's to judge (RFC 9112 §6.3 step 5).
            match (body, digits(field.value)) {
                (None, Some(n)) => body = Some(n),
                _ => return Parsed::Other,
            }
        } else if is_framing(name) {
            return Parsed::Other;
        } else if let Some(kept) = keep.iter().find(|k| name.eq_ignore_ascii_case(k.as_str())) {
            // Several fields of one name are one list (RFC 9110 §5.3): appended in order.
            match HeaderValue::from_bytes(field.value) {
                Ok(value) => {
                    headers.append(kept.clone(), value);
                }
                Err(_) => return Parsed::Other,
            }
        }
    }
    let Some(host) = host else {
        return Parsed::Other;
    };
    // RFC 9112 §6.3 step 7: no Content-Length or Transfer-Encoding, no body. RFC 9110
    // §9.3.1, §9.3.2: a body on GET or HEAD has no meaning; leave it to the full engine.
    let body = body.unwrap_or(0);
    if body > 0 && method != Method::POST {
        return Parsed::Other;
    }
    let head_len = len;
    let len = match head_len.checked_add(body) {
        Some(end) if end <= buf.len() => end,
        Some(_) => return Parsed::Partial,
        None => return Parsed::Other,
    };
    Parsed::Simple(Simple {
        method,
        path,
        query,
        host,
        headers,
        head_len,
        len,
    })
}

/// A decimal number of at most 18 digits (more is no body this path would wait for).
fn digits(value: &[u8]) -> Option<usize> {
    if value.is_empty() || value.len() > 18 || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = value.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
    usize::try_from(n).ok()
}

/// Fields that give a request a body of unknown length (RFC 9112 §6.1), ask for an interim
/// response (RFC 9110 §10.1.1) or switch protocols (RFC 9110 §7.8).
fn is_framing(name: &str) -> bool {
    ["transfer-encoding", "expect", "upgrade", "te"]
        .iter()
        .any(|f| name.eq_ignore_ascii_case(f))
}

/// RFC 9112 §3.2.1 origin-form (`/path?query`) in RFC 3986's characters only (§3.3, §3.4:
/// unreserved, percent-encoded, sub-delims, `:`, `@`, `/`, `?`). `//` at the start is left
/// to the full engine, which may read it as an authority.
fn is_origin_form(target: &[u8]) -> bool {
    target.first() == Some(&b'/')
        && target.get(1) != Some(&b'/')
        && target.iter().all(|&b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'-' | b'.'
                        | b'_'
                        | b'~'
                        | b'%'
                        | b'!'
                        | b'$'
                        | b'&'
                        | b'\''
                        | b'('
                        | b')'
                        | b'*'
                        | b'+'
                        | b','
                        | b';'
                        | b'='
                        | b':'
                        | b'@'
                        | b'/'
                        | b'?'
                )
        })
}

/// Append `response` as HTTP/1.1 bytes to `out`: status line, the response's fields in order,
/// `Content-Length` when it has none, `Date` (an IMF-fixdate, e.g. from
/// `httpdate::fmt_http_date`) when it has none, then the body unless `method` is HEAD.
pub fn write_response(response: &Response<Body>, method: &Method, date: &[u8], out: &mut Vec<u8>) {
    let head = method == Method::HEAD;
    status_line(out, response.status());
    let headers = response.headers();
    for (name, value) in headers {
        field(out, name.as_str().as_bytes(), value.as_bytes());
    }
    let body = response.body();
    // RFC 9110 §8.6: a HEAD response may leave Content-Length out; any other must frame its
    // body on a persistent connection (RFC 9112 §6.3).
    if !head && !headers.contains_key(CONTENT_LENGTH) {
        let mut digits = [0u8; 20];
        field(out, b"content-length", decimal(body.len(), &mut digits));
    }
    // RFC 9110 §6.6.1: an origin server with a clock sends Date.
    if !headers.contains_key(DATE) {
        field(out, b"date", date);
    }
    // RFC 9110 §9.3.2: no content in an answer to HEAD, whatever the response holds.
    let empty = Body::EMPTY;
    end_head_and_body(out, if head { &empty } else { body });
}

/// Append `plain` as HTTP/1.1 bytes to `out`, with `date` (as [`write_response`] would
/// write `plain.into_response()`, without building the header map).
pub fn write_plain(plain: &Plain, date: &[u8], out: &mut Vec<u8>) {
    status_line(out, plain.status());
    // The fields of `respond::insert_framing`, in its order.
    field(out, b"location", plain.location().as_str().as_bytes());
    field(out, b"content-type", note::CONTENT_TYPE.as_bytes());
    let mut digits = [0u8; 20];
    field(
        out,
        b"content-length",
        decimal(plain.content_length(), &mut digits),
    );
    // RFC 9110 §6.6.1: an origin server with a clock sends Date.
    field(out, b"date", date);
    end_head_and_body(out, plain.body());
}

/// RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ].
fn status_line(out: &mut Vec<u8>, status: StatusCode) {
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// The empty line that ends the header block, then the body (empty for HEAD).
fn end_head_and_body(out: &mut Vec<u8>, body: &Body) {
    out.extend_from_slice(b"\r\n");
    for part in body.parts() {
        out.extend_from_slice(part);
    }
}

/// `n` in decimal, in the end of `buf`.
fn decimal(mut n: usize, buf: &mut [u8; 20]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[at..];
        }
    }
}

fn field(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}
