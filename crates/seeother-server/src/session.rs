//! Cookie sessions of the admin pages, the CSRF token each one carries, and the signed token
//! of the sign-in form.
//!
//! Only signed-in sessions are kept, in the store, so that every node of a fleet knows them
//! and they survive a restart. A session id is 32 random bytes from the operating system's
//! CSPRNG; the store keeps its SHA-256, never the id itself, with the session's CSRF token and
//! expiry. Signing out deletes it (for every node at once). There is one identity (the admin
//! token) and at most [`MAX_SIGNED_IN`] sessions for it: a new one evicts the oldest, and
//! expired ones are deleted whenever a session starts. Every form of a signed-in page carries
//! the session's CSRF token, compared in constant time.
//!
//! The sign-in form is shown to anyone, so it keeps nothing on the server: its CSRF token is a
//! signed double-submit cookie ([`FormKey`]), a random nonce and its issue time under an HMAC
//! with a key drawn once and kept in the store (a form shown by one node is accepted by the
//! others). A flood of visitors to the sign-in page therefore cannot push anyone's session
//! out. Signing in always starts a new session id (no session fixation).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use http::HeaderMap;
use http::header::COOKIE;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::catalog::{Catalog, CatalogError, TaskError, blocking};
use crate::store::SessionRow;

/// The session cookie's name.
pub const COOKIE_NAME: &str = "seeother_admin";
/// The path the cookie is sent to: the admin pages, and the API, which takes a signed-in
/// session for reading (GET, HEAD) so that a page's "As JSON" link works; never a rule's path.
pub const COOKIE_PATH: &str = "/-/";
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

/// Why a session (or the sign-in form's key) could not be had.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The operating system gave no randomness for a new id or key.
    #[error("the operating system's random number generator failed")]
    NoRandomness,
    /// The store failed or could not be reached.
    #[error(transparent)]
    Store(#[from] TaskError),
}

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
    /// When it ends (Unix seconds).
    pub expires_at: i64,
}

impl Session {
    /// Whether `given` is this session's CSRF token (constant time).
    pub fn csrf_matches(&self, given: &str) -> bool {
        given.as_bytes().ct_eq(self.csrf.as_bytes()).into()
    }
}

/// The signed-in sessions, kept in the store; this remembers only how many there were when
/// last counted (for the `seeother_admin_sessions` gauge).
#[derive(Debug, Default)]
pub struct Sessions {
    counted: AtomicUsize,
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

/// What the store keeps in place of a session's id.
fn id_hash(id: &str) -> Vec<u8> {
    Sha256::digest(id.as_bytes()).to_vec()
}

/// Whether `id` has the form of a session id (64 lowercase hex digits): anything else is not
/// looked up.
fn well_formed(id: &str) -> bool {
    id.len() == 64 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Run `f` on the store on a blocking thread.
async fn on_store<T: Send + 'static>(
    catalog: &Arc<Catalog>,
    f: impl FnOnce(&crate::store::Store) -> Result<T, crate::store::StoreError> + Send + 'static,
) -> Result<T, TaskError> {
    blocking(catalog, move |c| f(c.store()).map_err(CatalogError::Store)).await
}

impl Sessions {
    /// A new signed-in session, stored; expired ones are deleted, then the oldest beyond
    /// [`MAX_SIGNED_IN`].
    pub async fn create(&self, catalog: &Arc<Catalog>) -> Result<Session, SessionError> {
        let id = random_hex().ok_or(SessionError::NoRandomness)?;
        let csrf = random_hex().ok_or(SessionError::NoRandomness)?;
        let now = unix_now() as i64;
        let row = SessionRow {
            csrf,
            created_at: now,
            expires_at: now + SIGNED_IN_FOR.as_secs() as i64,
        };
        let (hash, stored) = (id_hash(&id), row.clone());
        // OWASP session management cheat sheet: limit the sessions of one identity.
        let count = on_store(catalog, move |s| {
            s.create_session(&hash, &stored, MAX_SIGNED_IN)?;
            s.session_count(now)
        })
        .await?;
        self.counted.store(count as usize, Ordering::Relaxed);
        Ok(Session {
            id,
            csrf: row.csrf,
            signed_in: true,
            expires_at: row.expires_at,
        })
    }

    /// The live session whose id the request's cookie carries.
    pub async fn find(
        &self,
        catalog: &Arc<Catalog>,
        headers: &HeaderMap,
    ) -> Result<Option<Session>, SessionError> {
        let Some(id) = cookie_value(headers, COOKIE_NAME).filter(|id| well_formed(id)) else {
            return Ok(None);
        };
        let (id, hash) = (id.to_owned(), id_hash(id));
        let row = on_store(catalog, move |s| s.session(&hash, unix_now() as i64)).await?;
        Ok(row.map(|row| Session {
            id,
            csrf: row.csrf,
            signed_in: true,
            expires_at: row.expires_at,
        }))
    }

    /// End the session `id`, on every node.
    pub async fn revoke(&self, catalog: &Arc<Catalog>, id: &str) -> Result<(), SessionError> {
        let hash = id_hash(id);
        let count = on_store(catalog, move |s| {
            s.delete_session(&hash)?;
            s.session_count(unix_now() as i64)
        })
        .await?;
        self.counted.store(count as usize, Ordering::Relaxed);
        Ok(())
    }

    /// How many live sessions the store kept when this node last started or ended one.
    pub fn len(&self) -> usize {
        self.counted.load(Ordering::Relaxed)
    }

    /// Whether [`Sessions::len`] is 0.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The sign-in form's key, read from the store (or drawn and stored, by the first node that
/// needs it) at its first use.
#[derive(Debug, Default)]
pub struct FormKeyCell(OnceLock<FormKey>);

impl FormKeyCell {
    /// The key.
    pub async fn get(&self, catalog: &Arc<Catalog>) -> Result<&FormKey, SessionError> {
        if let Some(key) = self.0.get() {
            return Ok(key);
        }
        let fresh = FormKey::generate().ok_or(SessionError::NoRandomness)?;
        let stored = on_store(catalog, move |s| s.admin_key(&fresh.0)).await?;
        Ok(self.0.get_or_init(|| FormKey(stored)))
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

/// The key that signs the sign-in form's tokens: 32 random bytes, drawn once and kept in the
/// store ([`FormKeyCell`]), so that every node accepts the forms any of them showed.
///
/// A token is `ISSUED.NONCE.MAC`: the issue time in Unix seconds, 16 random bytes in hex, and
/// HMAC-SHA-256 over both in hex. The same value goes in the [`FORM_COOKIE_NAME`] cookie and the
/// form's hidden `csrf` field; a POST needs both, equal, signed by this key and younger than
/// [`FORM_TOKEN_FOR`].
// OWASP CSRF prevention cheat sheet: "signed double-submit cookie" (HMAC over a random value;
// without server state). Login CSRF does not apply: there is one identity, and signing a
// victim in takes the admin token itself.
pub struct FormKey(Vec<u8>);

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
        let mut key = vec![0u8; 32];
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
    fn ids_are_random_hex_and_stored_hashed() {
        let (a, b) = (random_hex().unwrap(), random_hex().unwrap());
        assert_ne!(a, b);
        assert!(well_formed(&a) && well_formed(&b));
        assert_eq!(id_hash(&a).len(), 32);
        assert_ne!(id_hash(&a), id_hash(&b));
        assert_ne!(id_hash(&a), a.as_bytes());
        for bad in ["", "nope", &a[..63], &a.to_uppercase(), &format!("{a}0")] {
            assert!(!well_formed(bad), "{bad:?}");
        }
        let h = with_cookie(&format!("other=1; {COOKIE_NAME}={a}"));
        assert_eq!(cookie_value(&h, COOKIE_NAME), Some(a.as_str()));
    }

    #[test]
    fn cookie_attributes() {
        let s = Session {
            id: random_hex().unwrap(),
            csrf: random_hex().unwrap(),
            signed_in: true,
            expires_at: 0,
        };
        let c = set_cookie(&s, false);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict"));
        assert!(c.contains("; Path=/-/;") && !c.contains("Secure"));
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
