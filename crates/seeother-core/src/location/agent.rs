//! The user agent's side: pick the one `Location` of a response, resolve it, compare origins.

use std::borrow::Cow;

use http::{HeaderMap, HeaderValue, header::LOCATION};
use percent_encoding::{AsciiSet, percent_encode};
use url::Url;

use super::LocationError;

/// Optional whitespace around a field value: SP and HTAB (RFC 9110 §5.6.3).
fn trim_ows(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| !matches!(b, b' ' | b'\t'));
    let Some(start) = start else { return &[] };
    let end = bytes.iter().rposition(|b| !matches!(b, b' ' | b'\t'));
    &bytes[start..=end.unwrap_or(start)]
}

/// The one `Location` value of a response: `Ok(None)` when there is none, an error when several
/// fields disagree. Identical repeated fields count as one.
///
/// ```
/// use http::{HeaderMap, HeaderValue, header::LOCATION};
/// use seeother_core::location::{from_headers, LocationError};
///
/// let mut headers = HeaderMap::new();
/// assert_eq!(from_headers(&headers), Ok(None));
/// headers.append(LOCATION, HeaderValue::from_static("/a"));
/// headers.append(LOCATION, HeaderValue::from_static("/a"));
/// assert_eq!(from_headers(&headers).unwrap().unwrap(), "/a");
/// headers.append(LOCATION, HeaderValue::from_static("/b"));
/// assert!(matches!(from_headers(&headers), Err(LocationError::Conflicting { .. })));
/// ```
pub fn from_headers(headers: &HeaderMap) -> Result<Option<&HeaderValue>, LocationError> {
    let all = headers.get_all(LOCATION);
    let Some(first) = all.iter().next() else {
        return Ok(None);
    };
    let key = trim_ows(first.as_bytes()); // RFC 9110 §5.5: OWS is not part of the value
    if all.iter().all(|v| trim_ows(v.as_bytes()) == key) {
        // RFC 9110 §5.3: repeated identical fields say the same thing once.
        return Ok(Some(first));
    }
    // RFC 9110 §10.2.2: Location is a single URI-reference; disagreeing fields are an error
    // (as browsers treat them), never a guess.
    let values = all
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    Err(LocationError::Conflicting { values })
}

/// Resolve a received `Location` value against the URL of the request that got it, leniently as
/// browsers do: raw UTF-8 is percent-encoded, bytes that are not UTF-8 are percent-encoded as
/// they are, and a target without a fragment inherits `current`'s fragment (RFC 9110 §10.2.2).
/// Whitespace around the value is trimmed; an empty value resolves to `current` itself
/// (RFC 3986 §5.4.1).
///
/// ```
/// use seeother_core::location::resolve;
/// use url::Url;
///
/// let current = Url::parse("http://a/b/c/d;p?q#top").unwrap();
/// assert_eq!(resolve(&current, b"../g").unwrap().as_str(), "http://a/b/g#top");
/// assert_eq!(resolve(&current, b" g#s ").unwrap().as_str(), "http://a/b/c/g#s");
/// assert_eq!(resolve(&current, "/caf\u{e9}".as_bytes()).unwrap().as_str(), "http://a/caf%C3%A9#top");
/// assert_eq!(resolve(&current, b"/caf\xe9").unwrap().as_str(), "http://a/caf%E9#top");
/// assert!(resolve(&current, b"http://a:99999/").is_err());
/// ```
pub fn resolve(current: &Url, location: &[u8]) -> Result<Url, LocationError> {
    // RFC 9110 §5.5: surrounding whitespace is not part of the value. An empty value is a
    // same-document reference and resolves to `current` (RFC 3986 §5.4.1 `""`).
    let trimmed = trim_ows(location);
    let text: Cow<'_, str> = match std::str::from_utf8(trimmed) {
        Ok(s) => Cow::Borrowed(s),
        // Bytes that are not UTF-8 are percent-encoded as they are (RFC 3986 §2.1); ASCII
        // stays for the WHATWG parser to judge.
        Err(_) => Cow::Owned(percent_encode(trimmed, &AsciiSet::EMPTY).to_string()),
    };
    // RFC 3986 §5.2, parsed leniently as browsers do (WHATWG URL "basic URL parser" with base).
    let mut target = current.join(&text).map_err(|e| LocationError::Invalid {
        value: String::from_utf8_lossy(location).into_owned(),
        reason: e.to_string(),
    })?;
    inherit_fragment(current, &mut target);
    Ok(target)
}

/// Give `target` the fragment of `current` when it has none of its own (RFC 9110 §10.2.2).
///
/// An empty fragment (`#`) is a fragment of its own and is kept.
pub fn inherit_fragment(current: &Url, target: &mut Url) {
    if target.fragment().is_none() {
        target.set_fragment(current.fragment()); // RFC 9110 §10.2.2
    }
}

/// Whether two URLs have the same origin: scheme, host and port, default ports made explicit
/// (RFC 6454 §5, Fetch's "same origin").
///
/// URLs without a tuple origin (`data:`, `file:` …) are never the same origin as anything.
///
/// ```
/// use seeother_core::location::same_origin;
/// use url::Url;
///
/// let u = |s| Url::parse(s).unwrap();
/// assert!(same_origin(&u("http://A.example:80/x"), &u("http://a.example/y?z")));
/// assert!(!same_origin(&u("http://a.example/"), &u("https://a.example/")));
/// ```
pub fn same_origin(a: &Url, b: &Url) -> bool {
    // RFC 6454 §5 / HTML "same origin": opaque origins differ from every other origin; url's
    // `Origin` gives each call a fresh opaque origin, so they never compare equal here.
    let (a, b) = (a.origin(), b.origin());
    a.is_tuple() && a == b
}
