//! Link health: what the answer to a rule's target says about that target.
//!
//! A link checker follows a target and reads the chain of statuses it got. [`classify`] turns
//! that chain into a [`State`] (and how far the target moved for good); [`State::of_follow`]
//! does the same for a chain the redirect rules stopped; [`retry_after`] reads how long a
//! rate-limited server asks to be left alone. The I/O (which requests, how many at once) is
//! the caller's.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, StatusCode};

use crate::follow::FollowError;

/// How a target fared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    /// It answered, without redirects.
    Ok,
    /// It answered after a permanent redirect (301 or 308): the link could point at the new
    /// place.
    PermanentRedirect,
    /// It answered after a redirect that is not permanent (302, 303, 307).
    TemporaryRedirect,
    /// The eventual answer is a 4xx.
    ClientError,
    /// The eventual answer is a 5xx.
    ServerError,
    /// No connection: the name does not resolve, the connection is refused, the TLS handshake
    /// fails.
    Unreachable,
    /// No complete answer in time.
    Timeout,
    /// A redirect loop, or more redirects than the limit.
    RedirectLoop,
    /// The answer is not HTTP, or its redirect cannot be followed (a bad `Location`, an https
    /// to http downgrade).
    Invalid,
    /// Not checked: the target is a template, a tombstone or otherwise not a URL.
    Skipped,
}

impl State {
    /// Every state, in the order reports list them.
    pub const ALL: [State; 10] = [
        State::Ok,
        State::PermanentRedirect,
        State::TemporaryRedirect,
        State::ClientError,
        State::ServerError,
        State::Unreachable,
        State::Timeout,
        State::RedirectLoop,
        State::Invalid,
        State::Skipped,
    ];

    /// A stable snake_case name, e.g. `"permanent_redirect"`.
    pub fn name(self) -> &'static str {
        match self {
            State::Ok => "ok",
            State::PermanentRedirect => "permanent_redirect",
            State::TemporaryRedirect => "temporary_redirect",
            State::ClientError => "client_error",
            State::ServerError => "server_error",
            State::Unreachable => "unreachable",
            State::Timeout => "timeout",
            State::RedirectLoop => "redirect_loop",
            State::Invalid => "invalid",
            State::Skipped => "skipped",
        }
    }

    /// The state named `name` (see [`State::name`]).
    pub fn from_name(name: &str) -> Option<State> {
        State::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Whether the target is broken: its readers get no answer, or an error.
    pub fn is_broken(self) -> bool {
        !matches!(
            self,
            State::Ok | State::PermanentRedirect | State::TemporaryRedirect | State::Skipped
        )
    }

    /// The state of a chain that the redirect rules refused to go on with.
    pub fn of_follow(error: &FollowError) -> State {
        match error {
            FollowError::TooManyRedirects { .. } | FollowError::RedirectLoop { .. } => {
                State::RedirectLoop
            }
            _ => State::Invalid,
        }
    }
}

/// Whether a redirect status says the target moved for good: 301 (RFC 9110 §15.4.2) and 308
/// (§15.4.9) invite the user agent to replace its links; 302, 303 and 307 do not.
pub fn is_permanent(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 308)
}

/// The verdict on a complete chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// How the target fared.
    pub state: State,
    /// How many redirects at the start of the chain were permanent: the request after them
    /// (its index in the chain) is the place the link could point at instead.
    pub moved: usize,
}

/// The verdict on a chain of statuses, one per request, the last being the eventual answer.
///
/// The eventual answer decides first: a 4xx or 5xx is broken however it was reached. Else a
/// chain that starts with a permanent redirect is [`State::PermanentRedirect`] (the new place
/// is where the permanent redirects lead), one that starts with another redirect
/// [`State::TemporaryRedirect`], and one without redirects [`State::Ok`].
///
/// ```
/// use http::StatusCode;
/// use seeother_core::check::{State, classify};
///
/// let chain = [StatusCode::MOVED_PERMANENTLY, StatusCode::FOUND, StatusCode::OK];
/// let verdict = classify(&chain);
/// assert_eq!((verdict.state, verdict.moved), (State::PermanentRedirect, 1));
/// assert_eq!(classify(&[StatusCode::FOUND, StatusCode::NOT_FOUND]).state, State::ClientError);
/// ```
pub fn classify(chain: &[StatusCode]) -> Verdict {
    let Some(last) = chain.last() else {
        return Verdict {
            state: State::Invalid,
            moved: 0,
        };
    };
    let redirects = &chain[..chain.len() - 1];
    let moved = redirects.iter().take_while(|s| is_permanent(**s)).count();
    // RFC 9110 §15.5 and §15.6: the client or the server failed.
    let state = if last.is_client_error() {
        State::ClientError
    } else if last.is_server_error() {
        State::ServerError
    } else if moved > 0 {
        State::PermanentRedirect
    } else if redirects.is_empty() {
        State::Ok
    } else {
        State::TemporaryRedirect
    };
    Verdict { state, moved }
}

/// Whether an answer asks the client to come back later: 429 Too Many Requests
/// (RFC 6585 §4), or 503 Service Unavailable with a `Retry-After` (RFC 9110 §15.6.4).
pub fn is_rate_limited(status: StatusCode, headers: &HeaderMap) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS
        || (status == StatusCode::SERVICE_UNAVAILABLE
            && headers.contains_key(http::header::RETRY_AFTER))
}

/// How long `Retry-After` asks the client to wait from `now`: delay-seconds or an HTTP-date
/// (RFC 9110 §10.2.3); a date in the past is no wait. `None` without a valid field.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use http::{HeaderMap, HeaderValue};
///
/// let mut headers = HeaderMap::new();
/// headers.insert("retry-after", HeaderValue::from_static("120"));
/// let wait = seeother_core::check::retry_after(&headers, SystemTime::now());
/// assert_eq!(wait, Some(Duration::from_secs(120)));
/// ```
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    // delay-seconds = 1*DIGIT (RFC 9110 §10.2.3)
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}
