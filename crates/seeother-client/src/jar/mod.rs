//! The cookie jar: an in-memory RFC 6265 store (the `cookie_store` crate) behind the core's
//! [`Jar`] trait, so the redirect state machine stores each response's `Set-Cookie` and sends the
//! matching `Cookie` on the next request.

mod netscape;

use std::sync::{Arc, Mutex, MutexGuard};

use cookie_store::{CookieDomain, CookieStore, RawCookie};
use http::header::SET_COOKIE;
use http::{HeaderMap, HeaderValue};
use seeother_core::follow::Jar;
use url::Url;

pub use netscape::NetscapeError;

/// An in-memory cookie jar, cheap to clone: clones share one store.
///
/// Domain, path, `Secure`, `HttpOnly` and expiry are applied by the RFC 6265 storage and
/// retrieval rules (§5.3, §5.4). On top of the store's rules, a cookie is refused when its
/// `Domain` is a public suffix (`com`, `co.uk`, `github.io`: RFC 6265 §5.3 step 5, with the
/// Public Suffix List compiled into the `psl` crate), and a `Secure` cookie is refused when it
/// comes over plain http, or a cookie from plain http would replace a `Secure` one (RFC 6265bis
/// §5.7).
///
/// ```
/// use seeother_client::CookieJar;
/// use seeother_core::follow::Jar;
///
/// let jar = CookieJar::new();
/// let url = url::Url::parse("http://example.com/login").unwrap();
/// jar.add("sid=42; Path=/", &url).unwrap();
/// let home = url::Url::parse("http://example.com/home").unwrap();
/// assert_eq!(jar.cookie(&home).unwrap(), "sid=42");
/// let other = url::Url::parse("http://example.org/").unwrap();
/// assert!(jar.cookie(&other).is_none());
/// ```
#[derive(Clone, Default)]
pub struct CookieJar {
    store: Arc<Mutex<CookieStore>>,
}

impl std::fmt::Debug for CookieJar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CookieJar")
            .field("cookies", &self.len())
            .finish()
    }
}

impl CookieJar {
    /// An empty jar.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, CookieStore> {
        // A panic while holding the lock cannot leave the store half-updated in a way that
        // matters more than losing the jar; keep going with what is there.
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Store one `Set-Cookie` value as if `url`'s response had sent it, or say why it is
    /// refused.
    pub fn add(&self, set_cookie: &str, url: &Url) -> Result<(), CookieRefused> {
        let raw = RawCookie::parse(set_cookie.to_owned())
            .map_err(|_| CookieRefused::Store(cookie_store::CookieError::Parse))?;
        self.insert(&raw, url)
    }

    /// RFC 6265 §5.3 with the two rules `cookie_store` leaves to its caller, then the store's
    /// own insertion.
    fn insert(&self, raw: &RawCookie<'static>, url: &Url) -> Result<(), CookieRefused> {
        // RFC 6265bis §5.7 (storage model): "If the scheme component of the request-uri does
        // not denote a 'secure' protocol … and the cookie's secure-only-flag is true, then
        // abort these steps and ignore the cookie entirely."
        if raw.secure() == Some(true) && !secure_protocol(url) {
            return Err(CookieRefused::SecureOverHttp {
                name: raw.name().to_owned(),
            });
        }
        let mut cookie = cookie_store::Cookie::try_from_raw_cookie(raw, url)?;
        if let CookieDomain::Suffix(domain) = &cookie.domain {
            if is_public_suffix(domain) {
                // RFC 6265 §5.3 step 5: a Domain that is a public suffix is allowed only when it
                // is the request host itself, and then as a host-only cookie.
                if url.host_str() == Some(domain.as_str()) {
                    cookie.domain = CookieDomain::host_only(url)?;
                } else {
                    return Err(CookieRefused::PublicSuffix {
                        domain: domain.clone(),
                    });
                }
            }
        }
        let mut store = self.lock();
        // RFC 6265bis §5.7 ("leave secure cookies alone"): a non-Secure cookie from a non-secure
        // origin is ignored if a Secure cookie of the same name, for a domain that domain-
        // matches its own (or the other way round), and a path its own path-matches, is stored.
        if !secure_protocol(url) {
            let domain = cookie.domain.as_cow().unwrap_or_default().into_owned();
            let path = String::from(&cookie.path);
            let shadows = store.iter_any().any(|old| {
                old.name() == raw.name()
                    && old.secure() == Some(true)
                    && old
                        .domain
                        .as_cow()
                        .is_some_and(|d| domain_match(&domain, &d) || domain_match(&d, &domain))
                    && path_match(&path, &String::from(&old.path))
            });
            if shadows {
                return Err(CookieRefused::ShadowsSecure {
                    name: raw.name().to_owned(),
                });
            }
        }
        store.insert(cookie, url)?;
        Ok(())
    }

    /// How many unexpired cookies the jar holds.
    pub fn len(&self) -> usize {
        self.lock().iter_unexpired().count()
    }

    /// Whether the jar holds no unexpired cookie.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The unexpired cookies as `(domain, path, name, value)`.
    pub fn cookies(&self) -> Vec<(String, String, String, String)> {
        self.lock()
            .iter_unexpired()
            .map(|c| {
                (
                    c.domain.as_cow().unwrap_or_default().into_owned(),
                    String::from(&c.path),
                    c.name().to_owned(),
                    c.value().to_owned(),
                )
            })
            .collect()
    }
}

impl Jar for CookieJar {
    fn store(&mut self, url: &Url, headers: &HeaderMap) {
        // RFC 6265 §5.2: each Set-Cookie field is one cookie; one that cannot be parsed is
        // ignored (§5.3 step 1 onwards, applied by the store).
        // A refused cookie is dropped, as a browser drops it.
        for value in headers.get_all(SET_COOKIE) {
            let Ok(text) = std::str::from_utf8(value.as_bytes()) else {
                continue;
            };
            if let Ok(raw) = RawCookie::parse(text.to_owned()) {
                let _ = self.insert(&raw, url);
            }
        }
    }

    fn cookie(&self, url: &Url) -> Option<HeaderValue> {
        // RFC 6265 §5.4: the cookies whose domain, path and secure flag match, as
        // `name=value` pairs joined by "; ".
        let store = self.lock();
        let value = store
            .get_request_values(url)
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ");
        if value.is_empty() {
            None
        } else {
            HeaderValue::from_str(&value).ok()
        }
    }
}

/// Why a cookie was not stored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CookieRefused {
    /// Its `Domain` is a public suffix other than the request host (RFC 6265 §5.3 step 5).
    #[error(
        "the cookie's Domain={domain} is a public suffix: it would go to every site under it; \
         a server may set cookies for its own registrable domain only"
    )]
    PublicSuffix {
        /// The `Domain` attribute, canonicalized.
        domain: String,
    },
    /// A `Secure` cookie sent over plain http (RFC 6265bis §5.7).
    #[error(
        "the cookie {name} is Secure but came over plain http; only an https response (or a \
         loopback host) may set a Secure cookie"
    )]
    SecureOverHttp {
        /// The cookie's name.
        name: String,
    },
    /// A non-Secure cookie over plain http that would overwrite or shadow a stored Secure one
    /// (RFC 6265bis §5.7).
    #[error(
        "the cookie {name} came over plain http and would replace a Secure cookie of the same \
         name; only an https response may"
    )]
    ShadowsSecure {
        /// The cookie's name.
        name: String,
    },
    /// The store's own RFC 6265 rules refused it (domain mismatch, expired, unparsable …).
    #[error("{0}")]
    Store(#[from] cookie_store::CookieError),
}

/// Whether `domain` (canonical, lower-case ASCII) is a public suffix: a rule of the Public
/// Suffix List, ICANN or private section, matches it whole. The implicit `*` rule for unknown
/// top-level names does not count (so `localhost` or `internal` are not suffixes), as in
/// browsers and `cookie_store`.
pub(crate) fn is_public_suffix(domain: &str) -> bool {
    psl::suffix(domain.as_bytes())
        .is_some_and(|s| s.is_known() && s.as_bytes() == domain.as_bytes())
}

/// A "secure" protocol for cookies, as the store decides when to send a Secure cookie: https,
/// or a loopback host (Secure Contexts §3.1, "potentially trustworthy"), so that the two agree.
fn secure_protocol(url: &Url) -> bool {
    match url.host() {
        _ if url.scheme() == "https" => true,
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// RFC 6265 §5.1.3: `string` domain-matches `domain` (both canonical).
fn domain_match(string: &str, domain: &str) -> bool {
    string == domain
        || (string.len() > domain.len()
            && string.ends_with(domain)
            && string.as_bytes()[string.len() - domain.len() - 1] == b'.'
            && string.parse::<std::net::IpAddr>().is_err())
}

/// RFC 6265 §5.1.4: `path` path-matches `cookie_path`.
fn path_match(path: &str, cookie_path: &str) -> bool {
    path == cookie_path
        || (path.starts_with(cookie_path)
            && (cookie_path.ends_with('/') || path.as_bytes()[cookie_path.len()] == b'/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_suffixes_are_the_lists_rules_only() {
        // ICANN, private, wildcard (`*.ck`), and an internationalized one in its ASCII form
        // (the form the store keeps domains in).
        for suffix in ["com", "co.uk", "github.io", "foo.ck", "xn--55qx5d.cn"] {
            assert!(is_public_suffix(suffix), "{suffix}");
        }
        // A registrable domain, an exception rule (`!www.ck`), and names the list lacks.
        for name in [
            "example.com",
            "www.ck",
            "localhost",
            "internal",
            "127.0.0.1",
        ] {
            assert!(!is_public_suffix(name), "{name}");
        }
    }
}
