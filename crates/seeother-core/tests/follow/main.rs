//! The redirect state machine, rule by rule (RFC 9110 §15.4, Fetch §4.4).

mod cookies;
mod limits;
mod location;
mod methods;
mod origins;
mod referrer;

use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use seeother_core::follow::{BodyKind, Follow, FollowError, Jar, Policy, Request, Step};
use url::Url;

/// Parse a URL the test spells out.
pub fn url(s: &str) -> Url {
    Url::parse(s).unwrap_or_else(|e| panic!("test URL {s:?}: {e}"))
}

/// A status code the test spells out.
pub fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap()
}

/// Header fields from `(name, value)` pairs, repeated names appended.
pub fn fields(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    map
}

/// A redirect response's fields: just `Location`.
pub fn to(location: &str) -> HeaderMap {
    fields(&[("location", location)])
}

/// A GET chain with no fields and the given policy.
pub fn get(policy: Policy, start: &str) -> Follow {
    Follow::new(
        policy,
        Method::GET,
        url(start),
        HeaderMap::new(),
        BodyKind::Empty,
    )
    .unwrap()
}

/// Feed a response that must be followed; the next request.
pub fn hop<J: Jar>(follow: &mut Follow<J>, code: u16, headers: &HeaderMap) -> Request {
    match follow.on_response(status(code), headers) {
        Ok(Step::Redirect(next)) => {
            assert_eq!(next.url, follow.request().url, "Step and request() agree");
            next
        }
        Ok(Step::Done) => panic!("{code} with {headers:?} was not followed"),
        Err(e) => panic!("{code} with {headers:?} failed: {e}"),
    }
}

/// Feed a response that must end the chain with an error; the error.
pub fn fail<J: Jar>(follow: &mut Follow<J>, code: u16, headers: &HeaderMap) -> FollowError {
    match follow.on_response(status(code), headers) {
        Err(e) => e,
        Ok(step) => panic!("{code} with {headers:?} gave {step:?}, not an error"),
    }
}

/// Feed a response that must be the answer.
pub fn done<J: Jar>(follow: &mut Follow<J>, code: u16, headers: &HeaderMap) {
    match follow.on_response(status(code), headers) {
        Ok(Step::Done) => {}
        other => panic!("{code} with {headers:?} gave {other:?}, not Done"),
    }
}

/// The value of `name` in a request, as text.
pub fn field<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request.headers.get(name).map(|v| v.to_str().unwrap())
}
