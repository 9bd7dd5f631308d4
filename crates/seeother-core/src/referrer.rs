//! The `Referer` a redirected request carries, by the Referrer Policy standard.
//!
//! seeother sends no `Referer` unless asked; when asked, the default policy is
//! `strict-origin-when-cross-origin` (Fetch §4.1 "determine request's referrer", Referrer
//! Policy §3), and a `Referrer-Policy` on a redirect response replaces it (Fetch §4.4 step 14).

use http::header::REFERRER_POLICY;
use http::{HeaderMap, HeaderValue};
use url::{Host, Url};

use crate::location;

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
    /// Every policy, in the order of Referrer Policy §3.
    pub const ALL: [ReferrerPolicy; 8] = [
        ReferrerPolicy::NoReferrer,
        ReferrerPolicy::NoReferrerWhenDowngrade,
        ReferrerPolicy::SameOrigin,
        ReferrerPolicy::Origin,
        ReferrerPolicy::StrictOrigin,
        ReferrerPolicy::OriginWhenCrossOrigin,
        ReferrerPolicy::StrictOriginWhenCrossOrigin,
        ReferrerPolicy::UnsafeUrl,
    ];

    /// Parse one policy token, e.g. `"same-origin"`. ASCII case and surrounding whitespace are
    /// ignored, as browsers do; the empty string and unknown tokens are `None`.
    ///
    /// ```
    /// use seeother_core::referrer::ReferrerPolicy;
    /// assert_eq!(ReferrerPolicy::from_token("same-origin"), Some(ReferrerPolicy::SameOrigin));
    /// assert_eq!(ReferrerPolicy::from_token("never"), None);
    /// ```
    pub fn from_token(token: &str) -> Option<Self> {
        let token = token.trim_matches([' ', '\t']);
        Self::ALL
            .into_iter()
            .find(|policy| policy.token().eq_ignore_ascii_case(token))
    }

    /// The policy's token, e.g. `"strict-origin-when-cross-origin"` (Referrer Policy §3).
    pub fn token(self) -> &'static str {
        match self {
            ReferrerPolicy::NoReferrer => "no-referrer",
            ReferrerPolicy::NoReferrerWhenDowngrade => "no-referrer-when-downgrade",
            ReferrerPolicy::SameOrigin => "same-origin",
            ReferrerPolicy::Origin => "origin",
            ReferrerPolicy::StrictOrigin => "strict-origin",
            ReferrerPolicy::OriginWhenCrossOrigin => "origin-when-cross-origin",
            ReferrerPolicy::StrictOriginWhenCrossOrigin => "strict-origin-when-cross-origin",
            ReferrerPolicy::UnsafeUrl => "unsafe-url",
        }
    }

    /// The policy a response's `Referrer-Policy` fields set: the last token that is a known
    /// policy (Referrer Policy §8.1), or `None`.
    ///
    /// ```
    /// use http::{HeaderMap, HeaderValue};
    /// use seeother_core::referrer::ReferrerPolicy;
    ///
    /// let mut headers = HeaderMap::new();
    /// headers.insert("referrer-policy", HeaderValue::from_static("no-referrer, origin, future-x"));
    /// assert_eq!(ReferrerPolicy::from_headers(&headers), Some(ReferrerPolicy::Origin));
    /// ```
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        // Referrer Policy §8.1: the fields are one comma-separated list (RFC 9110 §5.3); each
        // known token replaces the one before, unknown ones are skipped (§11.1 fallbacks).
        headers
            .get_all(REFERRER_POLICY)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .filter_map(Self::from_token)
            .next_back()
    }

    /// The `Referer` value for a request from `referrer` to `target`, or `None` when none may be
    /// sent. Userinfo and fragment are always stripped (Referrer Policy §8.4).
    ///
    /// ```
    /// use seeother_core::referrer::ReferrerPolicy;
    /// use url::Url;
    ///
    /// let from = Url::parse("https://user:pw@a.example/private?q=1#top")?;
    /// let policy = ReferrerPolicy::default(); // strict-origin-when-cross-origin
    /// let same = policy.referer(&from, &Url::parse("https://a.example/next")?).unwrap();
    /// assert_eq!(same, "https://a.example/private?q=1");
    /// let cross = policy.referer(&from, &Url::parse("https://b.example/")?).unwrap();
    /// assert_eq!(cross, "https://a.example/");
    /// assert!(policy.referer(&from, &Url::parse("http://b.example/")?).is_none());
    /// # Ok::<(), url::ParseError>(())
    /// ```
    pub fn referer(self, referrer: &Url, target: &Url) -> Option<HeaderValue> {
        // Referrer Policy §8.4: no referrer from a local scheme.
        if matches!(referrer.scheme(), "about" | "blob" | "data") {
            return None;
        }
        let full = || {
            let url = strip(referrer, false);
            // Referrer Policy §8.3 step 6: a URL longer than 4096 bytes is sent as its origin.
            if url.as_str().len() > 4096 {
                strip(referrer, true)
            } else {
                url
            }
        };
        let origin = || strip(referrer, true);
        let same_origin = || location::same_origin(referrer, target);
        // "If referrerURL is a potentially trustworthy URL and request's current URL is not."
        let downgrade = || trustworthy(referrer) && !trustworthy(target);
        // Referrer Policy §8.3 step 7, policy by policy.
        let url = match self {
            ReferrerPolicy::NoReferrer => return None,
            ReferrerPolicy::Origin => origin(),
            ReferrerPolicy::UnsafeUrl => full(),
            ReferrerPolicy::StrictOrigin if downgrade() => return None,
            ReferrerPolicy::StrictOrigin => origin(),
            ReferrerPolicy::StrictOriginWhenCrossOrigin if same_origin() => full(),
            ReferrerPolicy::StrictOriginWhenCrossOrigin if downgrade() => return None,
            ReferrerPolicy::StrictOriginWhenCrossOrigin => origin(),
            ReferrerPolicy::SameOrigin if same_origin() => full(),
            ReferrerPolicy::SameOrigin => return None,
            ReferrerPolicy::OriginWhenCrossOrigin if same_origin() => full(),
            ReferrerPolicy::OriginWhenCrossOrigin => origin(),
            ReferrerPolicy::NoReferrerWhenDowngrade if downgrade() => return None,
            ReferrerPolicy::NoReferrerWhenDowngrade => full(),
        };
        // A serialised URL is ASCII without controls, so this only fails on a broken invariant.
        HeaderValue::from_str(url.as_str()).ok()
    }
}

impl std::fmt::Display for ReferrerPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.token())
    }
}

/// Referrer Policy §8.4 "strip url for use as a referrer": no userinfo, no fragment, and for
/// `origin_only` no path and no query either.
fn strip(url: &Url, origin_only: bool) -> Url {
    let mut url = url.clone();
    // Setting userinfo fails only on URLs without a host, which carry none to strip.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_fragment(None);
    if origin_only {
        url.set_path("");
        url.set_query(None);
    }
    url
}

/// Secure Contexts §3.1 "Is origin potentially trustworthy?", for the URLs a redirect chain
/// can hold: https and wss, loopback addresses, `localhost` names, and `file`.
fn trustworthy(url: &Url) -> bool {
    match url.scheme() {
        "https" | "wss" | "file" => return true,
        _ => {}
    }
    match url.host() {
        // Secure Contexts §3.1 step 5: 127.0.0.0/8 and ::1/128.
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        // Secure Contexts §3.1 step 6 (RFC 6761 §6.3): `localhost` and `*.localhost`.
        Some(Host::Domain(name)) => {
            let name = name.strip_suffix('.').unwrap_or(name);
            name.eq_ignore_ascii_case("localhost")
                || name
                    .len()
                    .checked_sub(".localhost".len())
                    .is_some_and(|at| name.as_bytes()[at..].eq_ignore_ascii_case(b".localhost"))
        }
        None => false,
    }
}
