//! Why a redirect chain ended without an eventual result.

use std::fmt;

use http::StatusCode;
use url::Url;

use crate::location::LocationError;

/// Why a redirect chain ended without an eventual result.
///
/// Its [`Display`](fmt::Display) is one line that names the URL and says what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FollowError {
    /// More than [`Policy::max_redirects`](super::Policy::max_redirects) redirects; `url` is the
    /// redirect target not followed.
    TooManyRedirects { limit: u32, url: Url },
    /// The same request (method, URL, cookies) got the same redirect (status, target) twice:
    /// `url` is that request's URL, `status` the redirect's, and `cycle` the URLs requested
    /// from its first time to its second (`A → B → A`).
    RedirectLoop {
        url: Url,
        status: StatusCode,
        cycle: Vec<Url>,
    },
    /// A `Location` that cannot be resolved, or several that disagree; `url` is the URL whose
    /// response carried it.
    InvalidLocation { url: Url, error: LocationError },
    /// A `Location` value, or the target it resolves to, longer than
    /// [`Policy::max_location_len`](super::Policy::max_location_len); `url` is the URL whose
    /// response carried it. Its kind is `invalid_location`.
    LocationTooLong {
        url: Url,
        /// Its length in bytes.
        length: usize,
        /// The limit.
        limit: usize,
        /// Its first characters, for the message.
        start: String,
    },
    /// A URL whose scheme is not http or https.
    UnsupportedScheme { url: String },
    /// An https URL redirected to http while
    /// [`Policy::allow_downgrade`](super::Policy::allow_downgrade) is off.
    InsecureDowngrade { from: Url, to: Url },
    /// A 307/308 (or kept POST) must resend a body that was a one-shot stream; `url` is the
    /// redirect target.
    BodyNotReplayable { status: StatusCode, url: Url },
}

impl FollowError {
    /// A stable snake_case name for the error's kind, e.g. `"too_many_redirects"`.
    pub fn kind(&self) -> &'static str {
        match self {
            FollowError::TooManyRedirects { .. } => "too_many_redirects",
            FollowError::RedirectLoop { .. } => "redirect_loop",
            FollowError::InvalidLocation { .. } | FollowError::LocationTooLong { .. } => {
                "invalid_location"
            }
            FollowError::UnsupportedScheme { .. } => "unsupported_scheme",
            FollowError::InsecureDowngrade { .. } => "insecure_downgrade",
            FollowError::BodyNotReplayable { .. } => "body_not_replayable",
        }
    }
}

impl fmt::Display for FollowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FollowError::TooManyRedirects { limit: 0, url } => write!(
                f,
                "redirect to {url} not followed: the redirect limit is 0 (raise --max-redirs, \
                 or use --no-follow to get the redirect itself)"
            ),
            FollowError::TooManyRedirects { limit, url } => write!(
                f,
                "too many redirects: stopped after {limit} at {url} (raise --max-redirs)"
            ),
            FollowError::RedirectLoop { status, cycle, .. } => {
                f.write_str("redirect loop: ")?;
                for (i, u) in cycle.iter().enumerate() {
                    let arrow = if i == 0 { "" } else { " → " };
                    write!(f, "{arrow}{u}")?;
                }
                write!(
                    f,
                    ": the same request got the same {} redirect twice (the server \
                     sends the chain in a circle; fix its redirects)",
                    status.as_u16()
                )
            }
            // The LocationError says what is wrong with the value and quotes it.
            FollowError::InvalidLocation { url, error } => {
                write!(f, "the redirect from {url} cannot be followed: {error}")
            }
            FollowError::LocationTooLong {
                url,
                length,
                limit,
                start,
            } => write!(
                f,
                "the redirect from {url} cannot be followed: its Location is {length} bytes long, \
                 over the limit of {limit} (it starts {start:?}…); a target that long is a \
                 fault of the server, not a page to go to"
            ),
            FollowError::UnsupportedScheme { url } => write!(
                f,
                "unsupported URL scheme in {url}: only http and https URLs are fetched"
            ),
            FollowError::InsecureDowngrade { from, to } => write!(
                f,
                "refused to follow an https to http redirect from {from} to {to} \
                 (use --allow-downgrade to follow it anyway)"
            ),
            FollowError::BodyNotReplayable { status, url } => write!(
                f,
                "the {status} redirect to {url} needs the request body again, but it was a \
                 one-shot stream (send the body from a buffer or file so it can be replayed)"
            ),
        }
    }
}

// The `LocationError` of `InvalidLocation` is part of the message, so it is not also a `source`.
impl std::error::Error for FollowError {}

/// The first characters of a long value (at most 64 bytes, cut on a character boundary), for
/// an error message of bounded length.
pub(super) fn start_of(value: &[u8]) -> String {
    let text = String::from_utf8_lossy(&value[..value.len().min(64)]).into_owned();
    // A multi-byte character cut in two comes out as U+FFFD; drop it.
    text.trim_end_matches('\u{fffd}').to_owned()
}
