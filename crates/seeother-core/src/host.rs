//! The authority a request is for: its `Host` field, judged as RFC 9112 §3.2 requires of a
//! server, or the authority of its target (absolute form, HTTP/2's `:authority`).
//!
//! ```
//! use http::Version;
//! use seeother_core::host::{self, HostError};
//!
//! let one = [&b"id.example.org"[..]];
//! assert_eq!(host::of_request(Version::HTTP_11, None, one), Ok(Some("id.example.org")));
//! assert_eq!(host::of_request(Version::HTTP_11, None, []), Err(HostError::Missing));
//! let two = [&b"a.example"[..], &b"b.example"[..]];
//! assert_eq!(host::of_request(Version::HTTP_11, None, two), Err(HostError::Multiple));
//! assert_eq!(host::of_request(Version::HTTP_10, None, []), Ok(None));
//! ```

use std::fmt;

use http::Version;

/// Why a request's `Host` makes it a bad request (`400`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostError {
    /// An HTTP/1.1 request without a `Host` field.
    Missing,
    /// More than one `Host` field line.
    Multiple,
    /// A `Host` that is empty: an `http` or `https` target always has a host.
    Empty,
    /// A `Host` that is not `uri-host [ ":" port ]`.
    Invalid,
    /// An HTTP/2 or HTTP/3 request whose `Host` names another authority than `:authority`.
    Conflicting,
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HostError::Missing => {
                "the request has no Host header field; HTTP/1.1 requires one (RFC 9112 §3.2)"
            }
            HostError::Multiple => {
                "the request has more than one Host header field; send exactly one (RFC 9112 §3.2)"
            }
            HostError::Empty => {
                "the Host header field is empty; name the host the request is for (RFC 9110 §4.2.1)"
            }
            HostError::Invalid => {
                "the Host header field is not a host with an optional port (RFC 9110 §7.2)"
            }
            HostError::Conflicting => {
                "the Host header field names another authority than :authority (RFC 9113 §8.3.1)"
            }
        })
    }
}

impl std::error::Error for HostError {}

/// The authority a request of `version` is for, from the authority of its target
/// (`target_authority`: absolute form, or HTTP/2's `:authority`) and the values of its
/// `Host` fields; `Ok(None)` when it names none and need not (HTTP/1.0, HTTP/2 without
/// either).
pub fn of_request<'a>(
    version: Version,
    target_authority: Option<&'a str>,
    hosts: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Option<&'a str>, HostError> {
    let mut hosts = hosts.into_iter();
    let host = match (hosts.next(), hosts.next()) {
        // RFC 9112 §3.2: more than one Host field line is a bad request.
        (Some(_), Some(_)) => return Err(HostError::Multiple),
        (Some(value), None) => Some(check(value)?),
        (None, _) => None,
    };
    let h1 = matches!(
        version,
        Version::HTTP_09 | Version::HTTP_10 | Version::HTTP_11
    );
    if h1 {
        // RFC 9112 §3.2: an HTTP/1.1 request must have a Host (HTTP/1.0 predates it).
        if host.is_none() && version == Version::HTTP_11 {
            return Err(HostError::Missing);
        }
        // RFC 9112 §3.2.2: with an absolute-form target, Host is ignored for the target's.
        return Ok(target_authority.or(host));
    }
    // RFC 9113 §8.3.1: `:authority` stands for Host; a Host that differs is malformed.
    match (target_authority, host) {
        (Some(a), Some(h)) if !a.eq_ignore_ascii_case(h) => Err(HostError::Conflicting),
        (a, h) => Ok(a.or(h)),
    }
}

/// `value` as a `Host`: `uri-host [ ":" port ]` (RFC 9110 §7.2, RFC 3986 §3.2.2–3.2.3) with
/// a host that is not empty.
pub fn check(value: &[u8]) -> Result<&str, HostError> {
    // RFC 9110 §5.5: a field value has no leading or trailing whitespace.
    let value = value.trim_ascii();
    if value.is_empty() {
        return Err(HostError::Empty);
    }
    let (host, port) = if value[0] == b'[' {
        // RFC 3986 §3.2.2: IP-literal = "[" ( IPv6address / IPvFuture ) "]"
        let end = value
            .iter()
            .position(|&b| b == b']')
            .ok_or(HostError::Invalid)?;
        let literal = &value[1..end];
        let ok = std::str::from_utf8(literal)
            .ok()
            .is_some_and(|s| s.parse::<std::net::Ipv6Addr>().is_ok() || is_ipv_future(literal));
        if !ok {
            return Err(HostError::Invalid);
        }
        match &value[end + 1..] {
            [] => (&value[..=end], None),
            [b':', port @ ..] => (&value[..=end], Some(port)),
            _ => return Err(HostError::Invalid),
        }
    } else {
        match value.iter().rposition(|&b| b == b':') {
            Some(i) => (&value[..i], Some(&value[i + 1..])),
            None => (value, None),
        }
    };
    if host.is_empty() {
        return Err(HostError::Empty);
    }
    // RFC 3986 §3.2.2: reg-name = *( unreserved / pct-encoded / sub-delims ); an IPv4
    // address is one too.
    if host[0] != b'[' && !host.iter().all(|&b| is_reg_name(b)) {
        return Err(HostError::Invalid);
    }
    // RFC 3986 §3.2.3: port = *DIGIT
    if port.is_some_and(|p| !p.iter().all(u8::is_ascii_digit)) {
        return Err(HostError::Invalid);
    }
    // Every byte checked is ASCII.
    std::str::from_utf8(value).map_err(|_| HostError::Invalid)
}

fn is_reg_name(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=".contains(&b)
}

/// RFC 3986 §3.2.2: IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )
fn is_ipv_future(s: &[u8]) -> bool {
    let Some(rest) = s.strip_prefix(b"v").or_else(|| s.strip_prefix(b"V")) else {
        return false;
    };
    let Some(dot) = rest.iter().position(|&b| b == b'.') else {
        return false;
    };
    dot > 0
        && rest[..dot].iter().all(u8::is_ascii_hexdigit)
        && rest.len() > dot + 1
        && rest[dot + 1..]
            .iter()
            .all(|&b| (is_reg_name(b) && b != b'%') || b == b':')
}
