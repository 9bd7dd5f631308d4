//! Which request header fields a redirect removes, and how `Cookie` is put together.

use http::header::{
    AUTHORIZATION, CONTENT_ENCODING, CONTENT_LANGUAGE, CONTENT_LENGTH, CONTENT_LOCATION,
    CONTENT_TYPE, COOKIE, HOST, PROXY_AUTHORIZATION, TRANSFER_ENCODING,
};
use http::{HeaderMap, HeaderName, HeaderValue};

/// The fields that describe the request body, removed with it: Fetch's request-body-header names
/// (Fetch §4.4 step 12) plus the framing fields `Content-Length` and `Transfer-Encoding`
/// (RFC 9110 §8.6, RFC 9112 §6.1).
pub const BODY_HEADERS: [HeaderName; 6] = [
    CONTENT_TYPE,
    CONTENT_LENGTH,
    CONTENT_ENCODING,
    CONTENT_LANGUAGE,
    CONTENT_LOCATION,
    TRANSFER_ENCODING,
];

/// The fields removed, for the rest of the chain, once a redirect leaves the origin: credentials
/// (Fetch §4.4 step 13 removes `Authorization`; curl, Go and reqwest also drop
/// `Proxy-Authorization` and a caller-set `Cookie`), and a caller-set `Host`, which names the
/// old host (RFC 9110 §7.2).
pub const CROSS_ORIGIN_HEADERS: [HeaderName; 4] =
    [AUTHORIZATION, PROXY_AUTHORIZATION, COOKIE, HOST];

/// Remove every field in `names` from `headers`.
pub(crate) fn remove_all(headers: &mut HeaderMap, names: &[HeaderName]) {
    for name in names {
        headers.remove(name);
    }
}

/// Every value of `name` in `headers` joined into one with `separator`, or `None`.
pub(crate) fn take_joined(
    headers: &mut HeaderMap,
    name: &HeaderName,
    separator: &[u8],
) -> Option<HeaderValue> {
    let mut values = match headers.entry(name) {
        http::header::Entry::Occupied(entry) => entry.remove_entry_mult().1,
        http::header::Entry::Vacant(_) => return None,
    };
    let first = values.next()?;
    let mut joined = first;
    for next in values {
        joined = join(Some(&joined), Some(&next), separator)?;
    }
    Some(joined)
}

/// `a` and `b` joined with `separator`; whichever is present when only one is.
pub(crate) fn join(
    a: Option<&HeaderValue>,
    b: Option<&HeaderValue>,
    separator: &[u8],
) -> Option<HeaderValue> {
    match (a, b) {
        (Some(a), Some(b)) => {
            let mut bytes = Vec::with_capacity(a.len() + separator.len() + b.len());
            bytes.extend_from_slice(a.as_bytes());
            bytes.extend_from_slice(separator);
            bytes.extend_from_slice(b.as_bytes());
            // Two valid field values and a visible separator make a valid field value; should
            // that ever fail, keep the first rather than send something malformed.
            Some(HeaderValue::from_bytes(&bytes).unwrap_or_else(|_| a.clone()))
        }
        (Some(one), None) | (None, Some(one)) => Some(one.clone()),
        (None, None) => None,
    }
}
