//! The method table: what each redirect status does to the request's method and body.

use http::{Method, StatusCode};

/// The next request's method, and whether it carries the original body again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rewrite {
    /// The method of the next request.
    pub method: Method,
    /// Whether the original body (and its `Content-*` fields) goes with it.
    pub keep_body: bool,
}

/// What a redirect with `status` does to a request made with `method`, or `None` when the status
/// is not one a user agent follows (300, 304, 305, 306, 3xx not defined, anything else).
///
/// | status   | method                     | next method  | body    |
/// |----------|----------------------------|--------------|---------|
/// | 303      | GET, HEAD                  | the same     | dropped |
/// | 303      | any other                  | GET          | dropped |
/// | 301, 302 | POST (`keep_post` off)     | GET          | dropped |
/// | 301, 302 | any other                  | the same     | kept    |
/// | 307, 308 | any                        | the same     | kept    |
///
/// ```
/// use http::{Method, StatusCode};
/// use seeother_core::follow::rewrite;
///
/// let next = rewrite(StatusCode::SEE_OTHER, &Method::PUT, false).unwrap();
/// assert_eq!(next.method, Method::GET);
/// assert!(!next.keep_body);
/// assert!(rewrite(StatusCode::NOT_MODIFIED, &Method::GET, false).is_none());
/// ```
pub fn rewrite(status: StatusCode, method: &Method, keep_post: bool) -> Option<Rewrite> {
    match status.as_u16() {
        // RFC 9110 §15.4.4: the 303 target is retrieved with GET (or HEAD); Fetch §4.4 step 12:
        // a method other than GET or HEAD becomes GET and the body is dropped.
        303 => Some(Rewrite {
            method: if method == Method::HEAD {
                Method::HEAD
            } else {
                Method::GET
            },
            keep_body: false,
        }),
        // Fetch §4.4 step 12 (RFC 9110 §15.4.2, §15.4.3 note): only POST becomes GET on 301/302;
        // curl's --post301/--post302 keep it.
        301 | 302 if method == Method::POST && !keep_post => Some(Rewrite {
            method: Method::GET,
            keep_body: false,
        }),
        // RFC 9110 §15.4.2, §15.4.3, §15.4.8, §15.4.9: the request is repeated as it was
        // (307/308 forbid changing the method).
        301 | 302 | 307 | 308 => Some(Rewrite {
            method: method.clone(),
            keep_body: true,
        }),
        // RFC 9110 §15.4.1 (300), §15.4.5 (304), §15.4.6 (305, deprecated), §15.4.7 (306, unused):
        // no automatic redirection; the response is the answer.
        _ => None,
    }
}
