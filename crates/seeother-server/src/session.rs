//! Cookie sessions of the admin pages, the CSRF token each one carries, and the signed token
//! of the sign-in form.
//!
//! Only signed-in sessions are kept on the server. A session id is 32 random bytes from the
//! operating system's CSPRNG, kept in memory with an expiry; signing out removes it. There is
//! one identity (the admin token) and at most [`MAX_SIGNED_IN`] sessions for it: a new one
//! evicts the oldest. Every form of a signed-in page carries the session's CSRF token,
//! compared in constant time.
//!
//! The sign-in form is shown to anyone, so it keeps nothing on the server: its CSRF token is a
//! signed double-submit cookie ([`FormKey`]), a random nonce and its issue time under an HMAC
//! with a key drawn at process start. A flood of visitors to the sign-in page therefore cannot
//! push anyone's session out. Signing in always starts a new session id (no session fixation).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use http::HeaderMap;
use http::header::COOKIE;
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The session cookie's name.
pub const COOKIE_NAME: &str = "seeother_admin";
/// The path the cookie is sent to.
pub const COOKIE_PATH: &str = "/-/admin";
/// How long a signed-in session lasts.
pub const SIGNED_IN_FOR: Duration = Duration::from_secs(8 * 3600);
/// Signed-in sessions kept at most for the one identity (the admin token); a new one evicts
/// the oldest.
pub const MAX_SIGNED_IN: usize = 64;

/// The sign-in form's cookie (its signed CSRF token).
pub const FORM_COOKIE_NAME: &str = "seeother_sign_in";
/// The only path the sign-in form's cookie is sent to.
pub const FORM_COOKIE_PATH: &str = "/-/admin/sign-in";
/// How long a sign-in form's token is accepted after it was issued.
pub const FORM_TOKEN_FOR: Duration = Duration::from_secs(3600);

/// One signed-in session.
#[derive(Clone, Debug)]
pub struct Session {
    /// The id sent in the cookie (64 hex digits).
    pub id: String,
    /// The CSRF token its forms carry (64 hex digits).
    pub csrf: String,
    /// Whether the admin token was given: always true for a kept session (the server keeps no
    /// other), read by the pages' layout.
    pub signed_in: bool,
    created: Instant,
    expires: Instant,
}

impl Session {
    /// Whether `given` is this session's CSRF token (constant time).
    pub fn csrf_matches(&self, given: &str) -> bool {
        given.as_bytes().ct_eq(self.csrf.as_bytes()).into()
    }
}

/// The signed-in sessions of one server.
#[derive(Debug, Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
}

/// 32 random bytes as hex, or `None` when the CSPRNG fails (the page then says so).
fn random_hex() -> Option<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).ok()?;
    Some(hex(&bytes))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new signed-in session. When [`MAX_SIGNED_IN`] are kept, expired ones are dropped,
    /// then the oldest.
    pub fn create(&self) -> Option<Session> {
        let now = Instant::now();
        let session = Session {
            id: random_hex()?,
            csrf: random_hex()?,
            signed_in: true,
            created: now,
            expires: now + SIGNED_IN_FOR,
        };
        let mut map = self.lock();
        if map.len() >= MAX_SIGNED_IN {
            map.retain(|_, s| s.expires > now);
        }
        // OWASP session management cheat sheet: limit the sessions of one identity.
        while map.len() >= MAX_SIGNED_IN {
            let Some(oldest) = map.values().min_by_key(|s| s.created).map(|s| s.id.clone()) else {
                break;
            };
            map.remove(&oldest);
        }
        map.insert(session.id.clone(), session.clone());
        Some(session)
    }

    /// The live session whose id the request's cookie carries.
    pub fn find(&self, headers: &HeaderMap) -> Option<Session> {
        let id = cookie_value(headers, COOKIE_NAME)?;
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

/// The value of cookie `name` in `headers`, if any.
fn cookie_value<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    // RFC 6265 §5.4: `Cookie: a=b; c=d`, possibly in several fields (HTTP/2 splits them).
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.trim_matches('"'))
}

/// The `Set-Cookie` value that stores `session` in the browser.
pub fn set_cookie(session: &Session, secure: bool) -> String {
    // RFC 6265 §4.1: HttpOnly keeps it from scripts, Secure sends it over TLS only;
    // RFC 6265bis §4.1.2.7: SameSite=Strict keeps it off cross-site requests.
    format!(
        "{COOKIE_NAME}={}; Path={COOKIE_PATH}; Max-Age={}; HttpOnly; SameSite=Strict{}",
        session.id,
        SIGNED_IN_FOR.as_secs(),
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

/// The key that signs the sign-in form's tokens: 32 random bytes drawn at process start, never
/// stored, so a restart voids every sign-in form shown before it (not the sessions' cookies:
/// those end with the process anyway).
///
/// A token is `ISSUED.NONCE.MAC`: the issue time in Unix seconds, 16 random bytes in hex, and
/// HMAC-SHA-256 over both in hex. The same value goes in the [`FORM_COOKIE_NAME`] cookie and the
/// form's hidden `csrf` field; a POST needs both, equal, signed by this key and younger than
/// [`FORM_TOKEN_FOR`].
// OWASP CSRF prevention cheat sheet: "signed double-submit cookie" (HMAC over a random value;
// without server state). Login CSRF does not apply: there is one identity, and signing a
// victim in takes the admin token itself.
pub struct FormKey([u8; 32]);

impl std::fmt::Debug for FormKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FormKey(…)")
    }
}

/// What the MAC of a form token is computed over, before its issue time and nonce.
const FORM_MAC_LABEL: &[u8] = b"seeother admin sign-in form v1\n";

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl FormKey {
    /// A fresh random key, or `None` when the CSPRNG fails.
    pub fn generate() -> Option<FormKey> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).ok()?;
        Some(FormKey(key))
    }

    fn mac(&self, issued: u64, nonce: &str) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0)
            .expect("HMAC takes a key of any length");
        mac.update(FORM_MAC_LABEL);
        mac.update(issued.to_string().as_bytes());
        mac.update(b".");
        mac.update(nonce.as_bytes());
        hex(&mac.finalize().into_bytes())
    }

    /// A new token issued now.
    pub fn issue(&self) -> Option<String> {
        self.issue_at(unix_now())
    }

    fn issue_at(&self, issued: u64) -> Option<String> {
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).ok()?;
        let nonce = hex(&nonce);
        let mac = self.mac(issued, &nonce);
        Some(format!("{issued}.{nonce}.{mac}"))
    }

    /// How old `token` is, if this key signed it and it has not expired.
    fn age(&self, token: &str, now: u64) -> Option<u64> {
        let mut parts = token.splitn(3, '.');
        let (issued, nonce, mac) = (parts.next()?, parts.next()?, parts.next()?);
        if issued.is_empty() || !issued.bytes().all(|b| b.is_ascii_digit()) || nonce.len() != 32 {
            return None;
        }
        let issued: u64 = issued.parse().ok()?;
        let expected = self.mac(issued, nonce);
        // Constant time: where the first wrong digit is says nothing.
        if !bool::from(mac.as_bytes().ct_eq(expected.as_bytes())) {
            return None;
        }
        // A token from the future (a clock set back) is refused too, past a minute's slack.
        let age = now
            .checked_sub(issued)
            .or_else(|| (issued - now <= 60).then_some(0))?;
        (age < FORM_TOKEN_FOR.as_secs()).then_some(age)
    }

    /// The sign-in form's token the request's cookie carries, if it is valid.
    pub fn from_cookie<'h>(&self, headers: &'h HeaderMap) -> Option<&'h str> {
        let token = cookie_value(headers, FORM_COOKIE_NAME)?;
        self.age(token, unix_now()).map(|_| token)
    }

    /// The token the request's cookie carries when it is valid for at least half its life
    /// more (the sign-in page then shows it again, so two tabs share one), else a new one.
    /// The flag says whether the token is new (and needs a `Set-Cookie`).
    pub fn reuse_or_issue(&self, headers: &HeaderMap) -> Option<(String, bool)> {
        let now = unix_now();
        let kept = cookie_value(headers, FORM_COOKIE_NAME).filter(|token| {
            self.age(token, now)
                .is_some_and(|age| age < FORM_TOKEN_FOR.as_secs() / 2)
        });
        if let Some(token) = kept {
            return Some((token.to_owned(), false));
        }
        self.issue_at(now).map(|t| (t, true))
    }
}

/// Whether the form's `given` token is the cookie's `cookie` token (constant time).
pub fn form_token_matches(cookie: &str, given: &str) -> bool {
    given.as_bytes().ct_eq(cookie.as_bytes()).into()
}

/// The `Set-Cookie` value that stores the sign-in form's token.
pub fn set_form_cookie(token: &str, secure: bool) -> String {
    // RFC 6265 §4.1 and RFC 6265bis §4.1.2.7, as for the session cookie; sent only to the
    // sign-in form's own path.
    format!(
        "{FORM_COOKIE_NAME}={token}; Path={FORM_COOKIE_PATH}; Max-Age={}; HttpOnly; SameSite=Strict{}",
        FORM_TOKEN_FOR.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that removes the sign-in form's cookie (once signed in).
pub fn clear_form_cookie(secure: bool) -> String {
    format!(
        "{FORM_COOKIE_NAME}=; Path={FORM_COOKIE_PATH}; Max-Age=0; HttpOnly; SameSite=Strict{}",
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
        let a = sessions.create().unwrap();
        let b = sessions.create().unwrap();
        assert_ne!(a.id, b.id);
        assert_ne!(a.csrf, b.csrf);
        assert_eq!(a.id.len(), 64);
        assert!(a.signed_in);
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
    fn at_most_max_signed_in_sessions_the_oldest_evicted() {
        let sessions = Sessions::default();
        let first = sessions.create().unwrap();
        let second = sessions.create().unwrap();
        for _ in 2..MAX_SIGNED_IN {
            sessions.create().unwrap();
        }
        assert_eq!(sessions.len(), MAX_SIGNED_IN);
        let cookie = |s: &Session| with_cookie(&format!("{COOKIE_NAME}={}", s.id));
        assert!(sessions.find(&cookie(&first)).is_some());
        let newest = sessions.create().unwrap();
        assert_eq!(sessions.len(), MAX_SIGNED_IN);
        assert!(sessions.find(&cookie(&first)).is_none(), "the oldest went");
        assert!(sessions.find(&cookie(&second)).is_some());
        assert!(sessions.find(&cookie(&newest)).is_some());
    }

    #[test]
    fn cookie_attributes() {
        let s = Sessions::default().create().unwrap();
        let c = set_cookie(&s, false);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict"));
        assert!(c.contains("Path=/-/admin") && !c.contains("Secure"));
        assert!(set_cookie(&s, true).ends_with("; Secure"));
        let f = set_form_cookie("t", true);
        assert!(f.contains("Path=/-/admin/sign-in; Max-Age=3600; HttpOnly; SameSite=Strict"));
        assert!(f.ends_with("; Secure"));
    }

    #[test]
    fn form_tokens_are_signed_and_expire() {
        let key = FormKey::generate().unwrap();
        let now = unix_now();
        let t = key.issue_at(now).unwrap();
        assert_eq!(key.age(&t, now), Some(0));
        assert_eq!(key.age(&t, now + 3599), Some(3599));
        assert_eq!(key.age(&t, now + 3600), None, "expired after an hour");
        assert_eq!(key.age(&t, now - 30), Some(0), "a little clock slack");
        assert_eq!(key.age(&t, now - 61), None, "not from the future");
        // Another process's key, a changed time, nonce or MAC: refused.
        assert_eq!(FormKey::generate().unwrap().age(&t, now), None);
        let (issued, rest) = t.split_once('.').unwrap();
        let later = format!("{}.{rest}", issued.parse::<u64>().unwrap() + 1000);
        assert_eq!(key.age(&later, now + 1000), None);
        let mut flipped = t.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
        assert_eq!(key.age(&String::from_utf8(flipped).unwrap(), now), None);
        for bad in ["", "1.2.3", "x.y.z", &format!("{now}..")] {
            assert_eq!(key.age(bad, now), None, "{bad:?}");
        }
        // Two tokens differ; the cookie's is found and checked.
        let u = key.issue_at(now).unwrap();
        assert_ne!(t, u);
        let h = with_cookie(&format!("a=b; {FORM_COOKIE_NAME}={t}"));
        assert_eq!(key.from_cookie(&h), Some(t.as_str()));
        assert_eq!(key.reuse_or_issue(&h), Some((t.clone(), false)));
        let (fresh, new) = key.reuse_or_issue(&HeaderMap::new()).unwrap();
        assert!(new && fresh != t);
        let old = key.issue_at(now - 1900).unwrap();
        let h = with_cookie(&format!("{FORM_COOKIE_NAME}={old}"));
        assert_eq!(key.from_cookie(&h), Some(old.as_str()), "still valid");
        assert!(
            key.reuse_or_issue(&h).unwrap().1,
            "but renewed past half its life"
        );
        assert!(form_token_matches(&t, &t));
        assert!(!form_token_matches(&t, &u));
        assert!(!form_token_matches(&t, ""));
    }
}
