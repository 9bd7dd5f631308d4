//! The cookie jar: an in-memory RFC 6265 store (the `cookie_store` crate) behind the core's
//! [`Jar`] trait, so the redirect state machine stores each response's `Set-Cookie` and sends the
//! matching `Cookie` on the next request.

mod netscape;

use std::sync::{Arc, Mutex, MutexGuard};

use cookie_store::{CookieStore, RawCookie};
use http::header::SET_COOKIE;
use http::{HeaderMap, HeaderValue};
use seeother_core::follow::Jar;
use url::Url;

pub use netscape::NetscapeError;

/// An in-memory cookie jar, cheap to clone: clones share one store.
///
/// Domain, path, `Secure`, `HttpOnly` and expiry are applied by the RFC 6265 storage and
/// retrieval rules (§5.3, §5.4).
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

    /// Store one `Set-Cookie` value as if `url`'s response had sent it.
    pub fn add(&self, set_cookie: &str, url: &Url) -> Result<(), cookie_store::CookieError> {
        self.lock().parse(set_cookie, url).map(|_| ())
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
        let cookies = headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| std::str::from_utf8(v.as_bytes()).ok())
            .filter_map(|s| RawCookie::parse(s.to_owned()).ok())
            .collect::<Vec<_>>();
        if !cookies.is_empty() {
            self.lock().store_response_cookies(cookies.into_iter(), url);
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
