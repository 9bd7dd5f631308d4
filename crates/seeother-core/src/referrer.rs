//! The `Referer` a redirected request carries, by the Referrer Policy standard.
//!
//! seeother sends no `Referer` unless asked; when asked, the default policy is
//! `strict-origin-when-cross-origin` (Fetch §4.1 "determine request's referrer", Referrer
//! Policy §3), and a `Referrer-Policy` on a redirect response replaces it (Fetch §4.4 step 14).

use http::{HeaderMap, HeaderValue};
use url::Url;

/// A referrer policy (Referrer Policy §3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ReferrerPolicy {
    /// `no-referrer`
    NoReferrer,
    /// `no-referrer-when-downgrade`
    NoReferrerWhenDowngrade,
    /// `same-origin`
    SameOrigin,
    /// `origin`
    Origin,
    /// `strict-origin`
    StrictOrigin,
    /// `origin-when-cross-origin`
    OriginWhenCrossOrigin,
    /// `strict-origin-when-cross-origin`, the default (Referrer Policy §3).
    #[default]
    StrictOriginWhenCrossOrigin,
    /// `unsafe-url`
    UnsafeUrl,
}

impl ReferrerPolicy {
    /// Parse one policy token, e.g. `"same-origin"`.
    pub fn from_token(token: &str) -> Option<Self> {
        let _ = token;
        todo!()
    }

    /// The policy a response's `Referrer-Policy` fields set: the last token that is a known
    /// policy (Referrer Policy §8.1), or `None`.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let _ = headers;
        todo!()
    }

    /// The `Referer` value for a request from `referrer` to `target`, or `None` when none may be
    /// sent. Userinfo and fragment are always stripped (Referrer Policy §8.4).
    pub fn referer(self, referrer: &Url, target: &Url) -> Option<HeaderValue> {
        let _ = (referrer, target);
        todo!()
    }
}
