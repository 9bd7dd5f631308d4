//! Cookie sessions of the admin pages, and the CSRF token each one carries.
//!
//! A session id is 32 random bytes from the operating system's CSPRNG, kept only in memory with
//! an expiry; signing out removes it. Every form carries the session's CSRF token, compared in
//! constant time. Visitors who have not signed in get a short-lived anonymous session so the
//! sign-in form has a token too; signing in replaces it with a new id (no session fixation).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use http::HeaderMap;
use http::header::COOKIE;
use subtle::ConstantTimeEq;

/// The session cookie's name.
pub const COOKIE_NAME: &str = "seeother_admin";
/// The path the cookie is sent to.
pub const COOKIE_PATH: &str = "/-/admin";
/// How long a signed-in session lasts.
pub const SIGNED_IN_FOR: Duration = Duration::from_secs(8 * 3600);
/// How long an anonymous session (sign-in form shown, not signed in) lasts.
pub const ANONYMOUS_FOR: Duration = Duration::from_secs(3600);
/// Sessions kept at most; when full, expired ones are dropped, then the oldest anonymous.
const MAX_SESSIONS: usize = 10_000;

/// One session.
#[derive(Clone, Debug)]
pub struct Session {
    /// The id sent in the cookie (64 hex digits).
    pub id: String,
    /// The CSRF token its forms carry (64 hex digits).
    pub csrf: String,
    /// Whether the admin token was given.
    pub signed_in: bool,
    expires: Instant,
}

impl Session {
    /// Whether `given` is this session's CSRF token (constant time).
    pub fn csrf_matches(&self, given: &str) -> bool {
        given.as_bytes().ct_eq(self.csrf.as_bytes()).into()
    }
}

/// The sessions of one server.
#[derive(Debug, Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
}

/// 32 random bytes as hex, or `None` when the CSPRNG fails (the page then says so).
fn random_hex() -> Option<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new session, signed in or anonymous.
    pub fn create(&self, signed_in: bool) -> Option<Session> {
        let life = if signed_in {
            SIGNED_IN_FOR
        } else {
            ANONYMOUS_FOR
        };
        let session = Session {
            id: random_hex()?,
            csrf: random_hex()?,
            signed_in,
            expires: Instant::now() + life,
        };
        let mut map = self.lock();
        if map.len() >= MAX_SESSIONS {
            let now = Instant::now();
            map.retain(|_, s| s.expires > now);
        }
        if map.len() >= MAX_SESSIONS {
            // Under a flood of anonymous visits, signed-in sessions are kept.
            let oldest = map
                .values()
                .filter(|s| !s.signed_in)
                .min_by_key(|s| s.expires)
                .map(|s| s.id.clone());
            match oldest {
                Some(id) => {
                    map.remove(&id);
                }
                None if !signed_in => return None,
                None => {}
            }
        }
        map.insert(session.id.clone(), session.clone());
        Some(session)
    }

    /// The live session whose id the request's cookie carries.
    pub fn find(&self, headers: &HeaderMap) -> Option<Session> {
        let id = cookie_value(headers)?;
        let mut map = self.lock();
        let session = map.get(id)?;
        if session.expires <= Instant::now() {
            map.remove(id);
            return None;
        }
        Some(session.clone())
    }

    /// End the session `id`.
    pub fn revoke(&self, id: &str) {
        self.lock().remove(id);
    }

    /// How many sessions are kept (expired ones included until swept).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no session is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The value of the session cookie in `headers`, if any.
fn cookie_value(headers: &HeaderMap) -> Option<&str> {
    // RFC 6265 §5.4: `Cookie: a=b; c=d`, possibly in several fields (HTTP/2 splits them).
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.trim_matches('"'))
}

/// The `Set-Cookie` value that stores `session` in the browser.
pub fn set_cookie(session: &Session, secure: bool) -> String {
    let life = if session.signed_in {
        SIGNED_IN_FOR
    } else {
        ANONYMOUS_FOR
    };
    // RFC 6265 §4.1: HttpOnly keeps it from scripts, Secure sends it over TLS only;
    // RFC 6265bis §4.1.2.7: SameSite=Strict keeps it off cross-site requests.
    format!(
        "{COOKIE_NAME}={}; Path={COOKIE_PATH}; Max-Age={}; HttpOnly; SameSite=Strict{}",
        session.id,
        life.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that removes the cookie.
pub fn clear_cookie(secure: bool) -> String {
    // RFC 6265 §5.3 step 3: Max-Age=0 expires it at once.
    format!(
        "{COOKIE_NAME}=; Path={COOKIE_PATH}; Max-Age=0; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn with_cookie(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(COOKIE, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn sessions_are_random_found_by_cookie_and_revoked() {
        let sessions = Sessions::default();
        let a = sessions.create(true).unwrap();
        let b = sessions.create(false).unwrap();
        assert_ne!(a.id, b.id);
        assert_ne!(a.csrf, b.csrf);
        assert_eq!(a.id.len(), 64);
        let h = with_cookie(&format!("other=1; {COOKIE_NAME}={}", a.id));
        assert_eq!(sessions.find(&h).unwrap().id, a.id);
        assert!(sessions.find(&with_cookie("seeother_admin=nope")).is_none());
        assert!(a.csrf_matches(&a.csrf));
        assert!(!a.csrf_matches(&b.csrf));
        assert!(!a.csrf_matches(""));
        sessions.revoke(&a.id);
        assert!(sessions.find(&h).is_none());
    }

    #[test]
    fn cookie_attributes() {
        let s = Sessions::default().create(true).unwrap();
        let c = set_cookie(&s, false);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict"));
        assert!(c.contains("Path=/-/admin") && !c.contains("Secure"));
        assert!(set_cookie(&s, true).ends_with("; Secure"));
    }
}
