//! The user agent's redirect state machine (RFC 9110 §15.4, Fetch §4.4 "HTTP-redirect fetch").
//!
//! Feed it the original request, then each response's status and header fields; it answers
//! with the next request to send, with "this response is the answer", or with a typed error.
//! It never touches a socket or a body: the caller sends, and keeps the body bytes.
//!
//! ```
//! use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
//! use seeother_core::follow::{BodyKind, Follow, Policy, Step};
//! use url::Url;
//!
//! let mut headers = HeaderMap::new();
//! headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded"));
//! let url = Url::parse("https://shop.example/orders")?;
//! let mut follow = Follow::new(Policy::default(), Method::POST, url, headers, BodyKind::Replayable)?;
//! assert!(follow.request().send_body);
//!
//! // Hop 1: the form's POST is answered with 303 See Other.
//! let mut response = HeaderMap::new();
//! response.insert(header::LOCATION, HeaderValue::from_static("/orders/42"));
//! let Step::Redirect(next) = follow.on_response(StatusCode::SEE_OTHER, &response)? else {
//!     unreachable!("a 303 with a Location is followed");
//! };
//! // RFC 9110 §15.4.4: the target is retrieved with GET, without the form body.
//! assert_eq!(next.method, Method::GET);
//! assert_eq!(next.url.as_str(), "https://shop.example/orders/42");
//! assert!(!next.send_body);
//! assert!(next.headers.get(header::CONTENT_TYPE).is_none());
//!
//! // Hop 2: the order page itself is the answer.
//! assert!(matches!(follow.on_response(StatusCode::OK, &HeaderMap::new())?, Step::Done));
//! assert_eq!(follow.history().len(), 2);
//! assert_eq!(follow.original_url().as_str(), "https://shop.example/orders");
//! assert_eq!(follow.request().url.as_str(), "https://shop.example/orders/42");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The client drives it in a loop, here against a made-up server:
//!
//! ```
//! use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
//! use seeother_core::follow::{BodyKind, Follow, Policy, Request, Step};
//! use url::Url;
//!
//! // The caller's I/O: /old answers 301 to /new, which answers 200.
//! let send = |request: &Request| {
//!     let mut headers = HeaderMap::new();
//!     match request.target().path() {
//!         "/old" => {
//!             headers.insert(header::LOCATION, HeaderValue::from_static("/new"));
//!             (StatusCode::MOVED_PERMANENTLY, headers)
//!         }
//!         _ => (StatusCode::OK, headers),
//!     }
//! };
//! let url = Url::parse("http://a.example/old")?;
//! let mut follow = Follow::new(Policy::default(), Method::GET, url, HeaderMap::new(), BodyKind::Empty)?;
//! let status = loop {
//!     let (status, headers) = send(follow.request());
//!     match follow.on_response(status, &headers)? {
//!         Step::Redirect(_) => continue, // `follow.request()` is now the next hop
//!         Step::Done => break status,    // the eventual result (RFC 9110 §15.4.4)
//!     }
//! };
//! assert_eq!(status, StatusCode::OK);
//! assert_eq!(follow.request().url.as_str(), "http://a.example/new");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

// One `Step` or `FollowError` is made per hop, next to a network round trip: their size (URLs
// held by value, as the client matches on them) costs nothing worth a box.
#![allow(clippy::large_enum_variant, clippy::result_large_err)]

mod error;
mod headers;
mod method;

use http::header::{COOKIE, LOCATION, REFERER};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use url::Url;

use crate::location;
use crate::referrer::ReferrerPolicy;

pub use error::FollowError;
pub use headers::{BODY_HEADERS, CROSS_ORIGIN_HEADERS};
pub use method::{Rewrite, rewrite};

/// How the user agent follows redirects.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Redirects followed before [`FollowError::TooManyRedirects`]: with `N`, `N` redirects are
    /// followed and the `N+1`th redirect response is the error; with 0 the first one is.
    /// Default 20 (Fetch §4.4 step 5).
    pub max_redirects: u32,
    /// 301 and 302 keep POST as POST (curl's `--post301`/`--post302`). Default: POST becomes GET
    /// (Fetch §4.4 step 12).
    pub keep_post: bool,
    /// Follow an https URL's redirect to http. Default: refused.
    pub allow_downgrade: bool,
    /// Send `Referer` under this policy; `None` (the default) sends none.
    pub referrer: Option<ReferrerPolicy>,
    /// Header fields removed, like `Authorization`, once the chain leaves the original origin.
    pub sensitive_headers: Vec<HeaderName>,
    /// The longest `Location` value, and resolved redirect target, followed, in bytes; a longer
    /// one is [`FollowError::LocationTooLong`]. Default 32 KiB: four times the 8000 octets
    /// RFC 9110 §4.1 asks every recipient to support, and within what an `http::Uri` carries.
    pub max_location_len: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            max_redirects: 20,
            keep_post: false,
            allow_downgrade: false,
            referrer: None,
            sensitive_headers: Vec::new(),
            max_location_len: 32 << 10,
        }
    }
}

/// What the caller can do with the original request body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BodyKind {
    /// There is no body.
    Empty,
    /// The body is held in full and can be sent again.
    Replayable,
    /// The body is a stream that can be sent only once.
    Streaming,
}

/// The request the caller must send now.
#[derive(Clone, Debug)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The URL, with its fragment (which is never sent: use [`Request::target`] on the wire).
    pub url: Url,
    /// The header fields to send, `Cookie` and `Referer` included.
    pub headers: HeaderMap,
    /// Whether to send the original body with this request.
    pub send_body: bool,
}

impl Request {
    /// The URL to put on the wire: [`Request::url`] without its fragment.
    pub fn target(&self) -> Url {
        let mut url = self.url.clone();
        url.set_fragment(None);
        url
    }
}

/// One request sent, and what it got.
#[derive(Clone, Debug)]
pub struct Hop {
    /// The method sent.
    pub method: Method,
    /// The URL requested.
    pub url: Url,
    /// The response's status.
    pub status: StatusCode,
    /// The response's `Location` value as received, if any.
    pub location: Option<HeaderValue>,
}

/// What to do after a response.
#[derive(Clone, Debug)]
pub enum Step {
    /// Follow: send this request next (also available as [`Follow::request`]).
    Redirect(Request),
    /// This response is the eventual result of the original request (RFC 9110 §15.4.4).
    Done,
}

/// A cookie store the state machine consults: it sees every response's header fields and
/// supplies each request's `Cookie`.
pub trait Jar {
    /// Take in the `Set-Cookie` fields of a response to a request for `url`.
    fn store(&mut self, url: &Url, headers: &HeaderMap);
    /// The `Cookie` value to send with a request for `url`, if any.
    fn cookie(&self, url: &Url) -> Option<HeaderValue>;
}

/// The jar that keeps nothing: no cookies beyond what the caller set.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoJar;

impl Jar for NoJar {
    fn store(&mut self, _: &Url, _: &HeaderMap) {}
    fn cookie(&self, _: &Url) -> Option<HeaderValue> {
        None
    }
}

/// A request as loop detection compares them: method, URL without fragment, and the `Cookie`
/// sent.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Seen {
    method: Method,
    url: Url,
    cookie: Option<HeaderValue>,
}

/// A redirect followed: the request, and the status and resolved target (without fragment) it
/// was answered with.
#[derive(Debug, PartialEq, Eq)]
struct Answered {
    request: Seen,
    status: StatusCode,
    target: Url,
}

/// The redirect state machine for one original request.
///
/// Rules, each cited where it is applied:
///
/// - 301, 302, 303, 307 and 308 are followed, by the table of [`rewrite`]; other statuses, and a
///   redirect without `Location`, are the answer ([`Step::Done`]).
/// - `Location` is resolved against the current request URL, and inherits its fragment.
/// - Only http and https are followed, and https → http only with
///   [`Policy::allow_downgrade`].
/// - When the body is dropped, so are the [`BODY_HEADERS`]; when it must be sent again and is a
///   one-shot stream, the chain ends in [`FollowError::BodyNotReplayable`].
/// - Leaving the origin removes the [`CROSS_ORIGIN_HEADERS`] and [`Policy::sensitive_headers`]
///   for the rest of the chain, even back on the original origin.
/// - The [`Jar`] sees every response and gives every request its cookies.
/// - The `N+1`th redirect with [`Policy::max_redirects`] `= N` is an error, and so is a loop:
///   the same request (method, URL, cookies) answered with the same redirect (status and
///   target) a second time. A request repeated is not a loop by itself: a server may answer it
///   differently the second time (a cookie set, a `Location: #top` to the page itself).
/// - Once [`Step::Done`] or an error has been returned, further calls to
///   [`Follow::on_response`] return it again and change nothing.
#[derive(Debug)]
pub struct Follow<J: Jar = NoJar> {
    policy: Policy,
    jar: J,
    original_url: Url,
    body: BodyKind,
    current: Request,
    history: Vec<Hop>,
    /// The caller's header fields still allowed, without `Cookie` and `Referer`.
    base: HeaderMap,
    /// The caller's `Cookie`, until the chain leaves the origin.
    caller_cookie: Option<HeaderValue>,
    /// Whether the original body still goes with the request (until a redirect drops it).
    body_kept: bool,
    /// The referrer policy in force, `None` when no `Referer` is sent.
    referrer: Option<ReferrerPolicy>,
    /// Redirects followed so far.
    followed: u32,
    /// The request in flight, as loop detection compares them.
    current_key: Seen,
    /// Every redirect followed so far, for loop detection.
    answered: Vec<Answered>,
    /// The outcome, once the chain is over.
    outcome: Option<Result<(), FollowError>>,
}

impl Follow<NoJar> {
    /// Start a chain for the original request, with no cookie jar.
    pub fn new(
        policy: Policy,
        method: Method,
        url: Url,
        headers: HeaderMap,
        body: BodyKind,
    ) -> Result<Self, FollowError> {
        Follow::with_jar(policy, method, url, headers, body, NoJar)
    }
}

impl<J: Jar> Follow<J> {
    /// Start a chain for the original request, with a cookie jar.
    ///
    /// The first request carries the caller's fields as given (its `Referer` included), with the
    /// caller's `Cookie` fields and the jar's cookies joined into one `Cookie`. A URL that is
    /// not http or https is [`FollowError::UnsupportedScheme`].
    pub fn with_jar(
        policy: Policy,
        method: Method,
        url: Url,
        mut headers: HeaderMap,
        body: BodyKind,
        jar: J,
    ) -> Result<Self, FollowError> {
        check_scheme(&url)?;
        // RFC 6265 §5.4: one `Cookie` field, its pairs separated by "; ".
        let caller_cookie = headers::take_joined(&mut headers, &COOKIE, b"; ");
        let caller_referer = headers::take_joined(&mut headers, &REFERER, b", ");
        let original_url_key = url.clone();
        let mut follow = Follow {
            current: Request {
                method: method.clone(),
                url: url.clone(),
                headers: HeaderMap::new(),
                send_body: body != BodyKind::Empty,
            },
            referrer: policy.referrer,
            policy,
            jar,
            original_url: url,
            body,
            history: Vec::new(),
            base: headers,
            caller_cookie,
            body_kept: true,
            followed: 0,
            current_key: Seen {
                method,
                url: without_fragment(&original_url_key),
                cookie: None,
            },
            answered: Vec::new(),
            outcome: None,
        };
        let cookie = follow.cookie_for(&follow.current.url);
        follow.current.headers = follow.headers_for(cookie.clone(), caller_referer);
        follow.current_key.cookie = cookie;
        Ok(follow)
    }

    /// The request to send now.
    pub fn request(&self) -> &Request {
        &self.current
    }

    /// Take the response to [`Follow::request`]: its status and header fields.
    ///
    /// Records the hop in [`Follow::history`] and hands the fields to the jar, then answers
    /// [`Step::Redirect`] with the next request (which [`Follow::request`] now returns too),
    /// [`Step::Done`] when this response is the answer, or why the chain cannot go on.
    pub fn on_response(
        &mut self,
        status: StatusCode,
        headers: &HeaderMap,
    ) -> Result<Step, FollowError> {
        if let Some(outcome) = &self.outcome {
            return outcome.clone().map(|()| Step::Done);
        }
        self.history.push(Hop {
            method: self.current.method.clone(),
            url: self.current.url.clone(),
            status,
            location: headers.get(LOCATION).cloned(),
        });
        // RFC 6265 §5.3: cookies are stored from every response, redirects included.
        self.jar.store(&self.current.url, headers);
        let step = self.next(status, headers);
        match &step {
            Ok(Step::Redirect(_)) => {}
            Ok(Step::Done) => self.outcome = Some(Ok(())),
            Err(e) => self.outcome = Some(Err(e.clone())),
        }
        step
    }

    /// Every request sent so far, with what it got, in order.
    pub fn history(&self) -> &[Hop] {
        &self.history
    }

    /// The URL originally requested. The final URL is [`Follow::request`]`().url`; the two are
    /// never treated as equivalent (RFC 9110 §15.4.4).
    pub fn original_url(&self) -> &Url {
        &self.original_url
    }

    /// Redirects followed so far.
    pub fn redirects(&self) -> u32 {
        self.followed
    }

    /// The jar.
    pub fn jar(&self) -> &J {
        &self.jar
    }

    /// Give back the jar, e.g. to save its cookies.
    pub fn into_jar(self) -> J {
        self.jar
    }

    /// Decide what follows `status` and `headers`, and build the next request.
    fn next(&mut self, status: StatusCode, headers: &HeaderMap) -> Result<Step, FollowError> {
        let Some(rewrite) = rewrite(status, &self.current.method, self.policy.keep_post) else {
            return Ok(Step::Done);
        };
        let from = &self.current.url;
        let invalid = |error| FollowError::InvalidLocation {
            url: from.clone(),
            error,
        };
        // Fetch §4.4 step 4 (RFC 9110 §15.4): without a Location there is nothing to follow,
        // and the redirect response is the answer.
        let Some(value) = location::from_headers(headers).map_err(invalid)? else {
            return Ok(Step::Done);
        };
        // RFC 9110 §4.1: URI length is the implementation's limit to set ("at a minimum, 8000
        // octets"); past it the redirect is refused before the value is resolved.
        let too_long = |length: usize, shown: &[u8]| FollowError::LocationTooLong {
            url: from.clone(),
            length,
            limit: self.policy.max_location_len,
            start: error::start_of(shown),
        };
        if value.len() > self.policy.max_location_len {
            return Err(too_long(value.len(), value.as_bytes()));
        }
        // RFC 9110 §10.2.2: resolved against the current request URL, fragment inherited.
        let target = location::resolve(from, value.as_bytes()).map_err(invalid)?;
        if target.as_str().len() > self.policy.max_location_len {
            return Err(too_long(target.as_str().len(), target.as_str().as_bytes()));
        }
        // Fetch §4.4 step 6: only HTTP(S) URLs are fetched.
        check_scheme(&target)?;
        // RFC 9110 §17.1 (an https origin's protection ends at an http hop): refused unless asked.
        if from.scheme() == "https" && target.scheme() == "http" && !self.policy.allow_downgrade {
            return Err(FollowError::InsecureDowngrade {
                from: from.clone(),
                to: target,
            });
        }
        // A loop is the same request answered with the same redirect twice (RFC 9110 §15.4
        // leaves detecting "infinite redirection loops" to the client; the Fetch limit alone
        // would let one run to its end). Checked before the limit, which it would also reach.
        let answered = Answered {
            request: self.current_key.clone(),
            status,
            // The fragment is never sent, and an inherited one differs by where it came from.
            target: without_fragment(&target),
        };
        if let Some(first) = self.answered.iter().position(|a| *a == answered) {
            let cycle = self.history[first..]
                .iter()
                .map(|h| h.url.clone())
                .collect();
            return Err(FollowError::RedirectLoop {
                url: self.current.url.clone(),
                status,
                cycle,
            });
        }
        // Fetch §4.4 steps 7-8: the limit is on redirects followed.
        if self.followed >= self.policy.max_redirects {
            return Err(FollowError::TooManyRedirects {
                limit: self.policy.max_redirects,
                url: target,
            });
        }
        let keep_body = self.body_kept && rewrite.keep_body;
        // Fetch §4.4 step 11: a body that must go again needs a source to replay. (Unlike Fetch,
        // a body about to be dropped by step 12 is not asked for.)
        if keep_body && self.body == BodyKind::Streaming {
            return Err(FollowError::BodyNotReplayable {
                status,
                url: target,
            });
        }
        if !keep_body {
            // Fetch §4.4 step 12: the body goes, and the fields that describe it with it.
            headers::remove_all(&mut self.base, &BODY_HEADERS);
        }
        if !location::same_origin(from, &target) {
            // Fetch §4.4 step 13: credentials do not cross origins. Removed from the request
            // itself, so a later hop back to the first origin does not get them back.
            headers::remove_all(&mut self.base, &CROSS_ORIGIN_HEADERS);
            headers::remove_all(&mut self.base, &self.policy.sensitive_headers);
            self.caller_cookie = None;
        }
        if self.referrer.is_some() {
            // Fetch §4.4 step 14 (Referrer Policy §8.2): the redirect's policy applies from now.
            if let Some(policy) = ReferrerPolicy::from_headers(headers) {
                self.referrer = Some(policy);
            }
        }
        // The referrer of each hop is the URL that redirected (curl's `--referer ';auto'`),
        // stripped by the policy in force (Referrer Policy §8.3, §8.4).
        let referer = self.referrer.and_then(|p| p.referer(from, &target));

        let cookie = self.cookie_for(&target);
        let seen = Seen {
            method: rewrite.method.clone(),
            url: without_fragment(&target),
            cookie,
        };
        self.answered.push(answered);
        self.followed += 1;
        self.body_kept = keep_body;
        self.current = Request {
            headers: self.headers_for(seen.cookie.clone(), referer),
            method: rewrite.method,
            url: target,
            send_body: keep_body && self.body != BodyKind::Empty,
        };
        self.current_key = seen;
        Ok(Step::Redirect(self.current.clone()))
    }

    /// The `Cookie` for a request to `url`: the caller's (while allowed), then the jar's.
    fn cookie_for(&self, url: &Url) -> Option<HeaderValue> {
        let from_jar = self.jar.cookie(url);
        // RFC 6265 §5.4 step 4: cookie-pairs separated by "; ".
        headers::join(self.caller_cookie.as_ref(), from_jar.as_ref(), b"; ")
    }

    /// The fields of the next request: the caller's still allowed, `Cookie` and `Referer`.
    fn headers_for(&self, cookie: Option<HeaderValue>, referer: Option<HeaderValue>) -> HeaderMap {
        let mut fields = self.base.clone();
        if let Some(cookie) = cookie {
            fields.insert(COOKIE, cookie);
        }
        if let Some(referer) = referer {
            fields.insert(REFERER, referer);
        }
        fields
    }
}

/// Fetch §4.4 step 6 (and §4.1 for the first request): only http and https URLs are fetched.
fn check_scheme(url: &Url) -> Result<(), FollowError> {
    match url.scheme() {
        "http" | "https" => Ok(()),
        _ => Err(FollowError::UnsupportedScheme {
            url: url.to_string(),
        }),
    }
}

fn without_fragment(url: &Url) -> Url {
    let mut url = url.clone();
    url.set_fragment(None);
    url
}
