//! Post/Redirect/Get: what a server's own redirect answer must be fixed into before it is sent.
//!
//! A middleware (seeother-axum's `PrgLayer`) looks at each response with [`review`] and applies
//! the verdict: a 301/302 to an unsafe method becomes a 303, a redirect without one valid
//! `Location` becomes a 500, and a redirect with an empty body gets its note.

use http::header::LOCATION;
use http::{HeaderMap, Method, StatusCode};

use crate::location::{Location, LocationError};

use super::RedirectStatus;

/// The rules a review applies. The default applies them all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rules {
    /// Turn a 301 or 302 to a method other than GET and HEAD into a 303.
    pub see_other_after_unsafe: bool,
    /// Give a redirect with an empty body its note.
    pub add_note: bool,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            see_other_after_unsafe: true,
            add_note: true,
        }
    }
}

/// What to do with one response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Send it as it is: not a redirect this module knows (not 301/302/303/307/308), or a
    /// redirect that needs nothing.
    Keep,
    /// A sound redirect to fix: send `status` (changed or not) and, if `add_note`, the note
    /// for `location` in place of the empty body.
    Fix {
        status: RedirectStatus,
        location: Location,
        add_note: bool,
    },
    /// A redirect without one valid `Location`: answer 500 instead, and log `error`.
    Broken {
        status: StatusCode,
        error: LocationError,
    },
}

/// Judge the response (`status`, `headers`, whether its body is known to be empty) that a
/// service gave to a request with `method`.
///
/// ```
/// use http::{HeaderMap, HeaderValue, Method, StatusCode, header::LOCATION};
/// use seeother_core::RedirectStatus;
/// use seeother_core::respond::prg::{Rules, Verdict, review};
///
/// let mut headers = HeaderMap::new();
/// headers.insert(LOCATION, HeaderValue::from_static("/done"));
/// let verdict = review(&Method::POST, StatusCode::FOUND, &headers, true, Rules::default());
/// assert!(matches!(verdict, Verdict::Fix { status: RedirectStatus::SeeOther, add_note: true, .. }));
///
/// let verdict = review(&Method::GET, StatusCode::FOUND, &HeaderMap::new(), true, Rules::default());
/// assert!(matches!(verdict, Verdict::Broken { .. }));
/// ```
pub fn review(
    method: &Method,
    status: StatusCode,
    headers: &HeaderMap,
    body_empty: bool,
    rules: Rules,
) -> Verdict {
    let Some(redirect) = RedirectStatus::from_code(status.as_u16()) else {
        return Verdict::Keep;
    };
    let location = match one_location(headers) {
        Ok(location) => location,
        Err(error) => return Verdict::Broken { status, error },
    };
    let unsafe_method = method != Method::GET && method != Method::HEAD;
    // RFC 9110 §15.4.2, §15.4.3: a user agent may turn POST into GET after 301 or 302, or may
    // not; RFC 9110 §15.4.4: 303 says so. 307 and 308 keep the method on purpose (§15.4.8).
    let status = match redirect {
        RedirectStatus::MovedPermanently | RedirectStatus::Found
            if unsafe_method && rules.see_other_after_unsafe =>
        {
            RedirectStatus::SeeOther
        }
        other => other,
    };
    // RFC 9110 §15.4.4: the note, for every method; HEAD gets its header fields (§9.3.2).
    let add_note = rules.add_note && body_empty;
    if status == redirect && !add_note && headers.get(LOCATION) == Some(location.header_value()) {
        return Verdict::Keep;
    }
    Verdict::Fix {
        status,
        location,
        add_note,
    }
}

/// The one `Location` of a redirect the server itself made, validated as any target it sends.
fn one_location(headers: &HeaderMap) -> Result<Location, LocationError> {
    let mut values = headers.get_all(LOCATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        let values: Vec<String> = headers
            .get_all(LOCATION)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        // RFC 9110 §10.2.2: a redirect carries exactly one Location.
        return Err(if values.is_empty() {
            LocationError::Empty
        } else {
            LocationError::Conflicting { values }
        });
    };
    let text = value.to_str().map_err(|_| LocationError::Invalid {
        value: String::from_utf8_lossy(value.as_bytes()).into_owned(),
        reason: "bytes outside visible ASCII".to_owned(),
    })?;
    Location::parse(text)
}
