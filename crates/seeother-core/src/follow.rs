//! The user agent's redirect state machine (RFC 9110 §15.4, Fetch §4.4 "HTTP-redirect fetch").
//!
//! Feed it the original request, then each response's status and header fields; it answers
//! with the next request to send, with "this response is the answer", or with a typed error.
//! It never touches a socket or a body: the caller sends, and keeps the body bytes.
//!
//! ```ignore
//! let mut follow = Follow::new(Policy::default(), Method::POST, url, headers, BodyKind::Replayable)?;
//! loop {
//!     let req = follow.request();            // method, URL, headers, whether to send the body
//!     let resp = send(req)?;                 // the caller's I/O
//!     match follow.on_response(resp.status(), resp.headers())? {
//!         Step::Redirect(_) => continue,     // `follow.request()` is now the next hop
//!         Step::Done => break resp,          // the eventual result (RFC 9110 §15.4.4)
//!     }
//! }
//! ```

use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use url::Url;

use crate::location::LocationError;
use crate::referrer::ReferrerPolicy;

/// How the user agent follows redirects.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Redirects followed before [`FollowError::TooManyRedirects`]; 0 follows none. Default 20
    /// (Fetch §4.4 step 5).
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
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            max_redirects: 20,
            keep_post: false,
            allow_downgrade: false,
            referrer: None,
            sensitive_headers: Vec::new(),
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

/// The redirect state machine for one original request.
#[derive(Debug)]
pub struct Follow<J: Jar = NoJar> {
    policy: Policy,
    jar: J,
    original_url: Url,
    body: BodyKind,
    current: Request,
    history: Vec<Hop>,
    // Implementation state (caller-set headers, removed sensitive headers, seen requests for
    // loop detection, referrer policy in force) lives here too.
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
    pub fn with_jar(
        policy: Policy,
        method: Method,
        url: Url,
        headers: HeaderMap,
        body: BodyKind,
        jar: J,
    ) -> Result<Self, FollowError> {
        let _ = (policy, method, url, headers, body, jar);
        todo!()
    }

    /// The request to send now.
    pub fn request(&self) -> &Request {
        &self.current
    }

    /// Take the response to [`Follow::request`]: its status and header fields.
    pub fn on_response(
        &mut self,
        status: StatusCode,
        headers: &HeaderMap,
    ) -> Result<Step, FollowError> {
        let _ = (status, headers);
        todo!()
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

    /// The jar.
    pub fn jar(&self) -> &J {
        &self.jar
    }

    /// Give back the jar, e.g. to save its cookies.
    pub fn into_jar(self) -> J {
        self.jar
    }
}

/// Why a redirect chain ended without an eventual result.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FollowError {
    /// More than [`Policy::max_redirects`] redirects; `url` is the one not followed.
    TooManyRedirects { limit: u32, url: Url },
    /// The same method, URL and cookies were requested twice.
    RedirectLoop { url: Url },
    /// A `Location` that cannot be resolved, or several that disagree.
    InvalidLocation { url: Url, error: LocationError },
    /// A URL whose scheme is not http or https.
    UnsupportedScheme { url: String },
    /// An https URL redirected to http while [`Policy::allow_downgrade`] is off.
    InsecureDowngrade { from: Url, to: Url },
    /// A 307/308 (or kept POST) must resend a body that was a one-shot stream.
    BodyNotReplayable { status: StatusCode, url: Url },
}

impl FollowError {
    /// A stable snake_case name for the error's kind, e.g. `"too_many_redirects"`.
    pub fn kind(&self) -> &'static str {
        match self {
            FollowError::TooManyRedirects { .. } => "too_many_redirects",
            FollowError::RedirectLoop { .. } => "redirect_loop",
            FollowError::InvalidLocation { .. } => "invalid_location",
            FollowError::UnsupportedScheme { .. } => "unsupported_scheme",
            FollowError::InsecureDowngrade { .. } => "insecure_downgrade",
            FollowError::BodyNotReplayable { .. } => "body_not_replayable",
        }
    }
}

impl std::fmt::Display for FollowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let _ = f;
        todo!()
    }
}

impl std::error::Error for FollowError {}
