//! The open-redirect guard for targets taken from user input, such as a `?next=` parameter.
//!
//! Targets are parsed the way browsers parse them (WHATWG URL), so `/\evil.example`,
//! `\\evil.example`, `//evil.example`, `https:evil.example`, tabs or newlines inside the scheme,
//! and userinfo tricks are judged by the host a browser would really go to.

use url::{Host, Position, Url};

use crate::location::{Location, LocationError, same_origin};
use crate::respond::MAX_LOCATION_LEN;

/// Which hosts a user-supplied target may lead to: by default only the site's own origin.
///
/// Hosts are compared exactly: allowing `example.com` does not allow `www.example.com`.
#[derive(Clone, Debug)]
pub struct Guard {
    origin: Url,
    hosts: Vec<String>,
}

impl Guard {
    /// A guard that lets through only targets on `origin` (the site's own URL). Relative
    /// targets are resolved against it.
    pub fn new(origin: Url) -> Self {
        Self {
            origin,
            hosts: Vec::new(),
        }
    }

    /// Also allow targets on `host` (any scheme among http/https, any port). The host is
    /// normalised as browsers do (lower case, IDNA); an IPv6 address may be given with or
    /// without brackets.
    pub fn allow_host(mut self, host: &str) -> Self {
        let bracketed;
        let host = if host.contains(':') && !host.starts_with('[') {
            bracketed = format!("[{host}]");
            &bracketed
        } else {
            host
        };
        // WHATWG URL host parser, so the entry compares equal to `Url::host_str`.
        let normal =
            Host::parse(host).map_or_else(|_| host.to_ascii_lowercase(), |h| h.to_string());
        self.hosts.push(normal);
        self
    }

    /// Check `input` and return the `Location` to send, or say which host was refused and why.
    ///
    /// `input` is resolved against the site's URL as a browser would resolve it. A target on
    /// the site's own origin comes back as a path-absolute reference (never one a browser could
    /// read as `//host`); a target on an allow-listed host comes back absolute. Userinfo and
    /// schemes other than http(s) are refused, and so is an input that would lead elsewhere if
    /// the page were served over the other of http and https (`https:evil.example`).
    ///
    /// ```
    /// use seeother_core::guard::{Guard, GuardError};
    /// use url::Url;
    ///
    /// let guard = Guard::new(Url::parse("https://shop.example/").unwrap())
    ///     .allow_host("pay.example");
    /// assert_eq!(guard.check("/cart?id=7").unwrap().as_str(), "/cart?id=7");
    /// assert_eq!(guard.check("https://shop.example/a b").unwrap().as_str(), "/a%20b");
    /// assert_eq!(guard.check("https://pay.example/x").unwrap().as_str(), "https://pay.example/x");
    /// for trick in ["//evil.example", "/\\evil.example", "\\\\evil.example", "https:evil.example",
    ///               "ht\ttps://evil.example", "https://shop.example@evil.example"] {
    ///     let err = guard.check(trick).unwrap_err();
    ///     assert!(err.to_string().contains("evil.example"), "{trick}: {err}");
    /// }
    /// assert!(matches!(guard.check("javascript:alert(1)"), Err(GuardError::Invalid(_))));
    /// ```
    pub fn check(&self, input: &str) -> Result<Location, GuardError> {
        // WHATWG URL §4.4: leading and trailing C0 controls and spaces are stripped.
        if input.trim_matches(|c: char| c <= ' ').is_empty() {
            return Err(GuardError::Invalid(LocationError::Empty));
        }
        // RFC 9110 §4.1: past 8000 octets or so a URI may be cut or refused on the way.
        if input.len() > MAX_LOCATION_LEN {
            return Err(GuardError::TooLong {
                len: input.len(),
                limit: MAX_LOCATION_LEN,
            });
        }
        let target = self.judge(&self.origin, input)?;
        if let Some(other) = other_scheme(&self.origin) {
            // WHATWG URL "special relative or authority state": `https:host` is a path when the
            // base has the same scheme and a host otherwise; the answer must not depend on it.
            self.judge(&other, input)?;
        }
        let wire = if same_origin(&target, &self.origin) {
            let tail = &target[Position::BeforePath..];
            // WHATWG URL serialising: a path that starts with `//` gets `/.` so that it is not
            // read as an authority (RFC 3986 §4.2 network-path reference).
            if tail.starts_with("//") {
                format!("/.{tail}")
            } else {
                tail.to_owned()
            }
        } else {
            target.as_str().to_owned()
        };
        let location = Location::parse(&wire).map_err(GuardError::Invalid)?;
        if location.as_str().len() > MAX_LOCATION_LEN {
            return Err(GuardError::TooLong {
                len: location.as_str().len(),
                limit: MAX_LOCATION_LEN,
            });
        }
        Ok(location)
    }

    /// Resolve `input` against `base` and judge where it leads.
    fn judge(&self, base: &Url, input: &str) -> Result<Url, GuardError> {
        // RFC 3986 §5.2, parsed as browsers parse (WHATWG URL basic URL parser with a base).
        let url = base.join(input).map_err(|e| {
            GuardError::Invalid(LocationError::Invalid {
                value: input.to_owned(),
                reason: e.to_string(),
            })
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(GuardError::Invalid(LocationError::ForbiddenScheme {
                scheme: url.scheme().to_owned(),
            }));
        }
        let host = url.host_str().unwrap_or_default().to_owned();
        // RFC 9110 §4.2.4: userinfo is deprecated in http(s) URIs, and `trusted@evil` is the
        // classic disguise of a foreign host.
        if !url.username().is_empty() || url.password().is_some() {
            return Err(GuardError::Userinfo { host });
        }
        let own = same_origin(&url, base) || same_origin(&url, &self.origin);
        if own || self.hosts.contains(&host) {
            return Ok(url);
        }
        let reason = self.reason(base, &url, input);
        Err(GuardError::ForeignHost { host, reason })
    }

    /// Why `url` (from `input`, resolved against `base`) is not acceptable.
    fn reason(&self, base: &Url, url: &Url, input: &str) -> String {
        let origin = self.origin.origin().ascii_serialization();
        // WHATWG URL: tabs and newlines vanish, and `\` is a `/` in http(s) URLs.
        let cleaned: String = input
            .trim_matches(|c: char| c <= ' ')
            .chars()
            .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
            .collect();
        if base.scheme() != self.origin.scheme() {
            format!(
                "on a page served over {} a browser reads `{}` as a link to another host \
                 (a scheme without `//`)",
                base.scheme(),
                input.escape_debug()
            )
        } else if cleaned.starts_with(['/', '\\']) && cleaned[1..].starts_with(['/', '\\']) {
            format!(
                "`{}` is protocol-relative (browsers read `\\` as `/`), leading away from \
                 this site's origin {origin}",
                input.escape_debug()
            )
        } else if url.host_str() == self.origin.host_str() {
            format!(
                "it is this site's host but not its origin {origin} (different scheme or port), \
                 and the host is not on the allow-list"
            )
        } else {
            format!("it is neither this site's origin {origin} nor on the allow-list")
        }
    }
}

/// `url` with http and https swapped, or `None` for other schemes.
fn other_scheme(url: &Url) -> Option<Url> {
    let other = match url.scheme() {
        "http" => "https",
        "https" => "http",
        _ => return None,
    };
    let mut url = url.clone();
    url.set_scheme(other).ok()?;
    Some(url)
}

/// Why the guard refused a target.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GuardError {
    /// The target leads to `host`, which is neither the site's own nor allow-listed.
    ForeignHost { host: String, reason: String },
    /// The target is not a valid location at all.
    Invalid(LocationError),
    /// The target carries userinfo (`user@` or `user:pass@`) before `host`: refused outright.
    Userinfo { host: String },
    /// The target is `len` bytes long (as given or once encoded), over `limit`
    /// ([`MAX_LOCATION_LEN`]).
    TooLong { len: usize, limit: usize },
}

impl std::fmt::Display for GuardError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GuardError::ForeignHost { host, reason } => write!(
                f,
                "refused redirect to host `{host}`: {reason}; redirect within this site or add \
                 the host with `Guard::allow_host`"
            ),
            GuardError::Invalid(error) => write!(f, "refused redirect target: {error}"),
            GuardError::Userinfo { host } => write!(
                f,
                "refused redirect to host `{host}`: the target carries userinfo (`user@`), a \
                 way to make a foreign host look trusted; remove everything up to the `@`"
            ),
            GuardError::TooLong { len, limit } => write!(
                f,
                "refused redirect target of {len} bytes: the limit is {limit} bytes, past which \
                 user agents and proxies may cut or refuse a Location; shorten it"
            ),
        }
    }
}

impl std::error::Error for GuardError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            GuardError::Invalid(error) => Some(error),
            _ => None,
        }
    }
}
