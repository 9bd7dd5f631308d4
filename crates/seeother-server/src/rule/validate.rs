//! Validation and canonical form of a rule.

use std::fmt;

use http::HeaderValue;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use seeother_core::location::{Location, LocationError};
use seeother_core::respond::RedirectStatus;

use super::{Kind, Pattern, PatternError, RuleSpec, Template};

/// Characters of a rule path written as text that a request path carries percent-encoded
/// (RFC 3986 §3.3: a path holds only `pchar`s; non-ASCII is always encoded).
const PATH_ENCODE: &AsciiSet = &CONTROLS.add(b' ').add(b'"').add(b'<').add(b'>').add(b'`');

/// Why a rule was refused. The message names the field and says what to write instead.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RuleError {
    /// None of `path`, `prefix`, `pattern` is set.
    NoMatcher,
    /// More than one of `path`, `prefix`, `pattern` is set.
    SeveralMatchers,
    /// The path, prefix or pattern is not a usable request path.
    BadPath {
        /// `path`, `prefix` or `pattern`.
        field: &'static str,
        /// The value given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The pattern or a target's placeholders are wrong.
    Pattern {
        /// The field at fault.
        field: String,
        /// What is wrong.
        error: PatternError,
    },
    /// A target can never be sent as a `Location` (control characters, forbidden scheme …).
    Target {
        /// `to` or `variants[N].to`.
        field: String,
        /// Why the core refused it.
        error: LocationError,
    },
    /// A status that is not a redirect seeother answers with.
    Status(u16),
    /// A host that is not a host name or IP literal.
    Host(String),
    /// A media type that is not `type/subtype`.
    MediaType {
        /// `type` or `variants[N].type`.
        field: String,
        /// The value given.
        value: String,
    },
    /// Two variants for the same media type.
    DuplicateVariant(String),
    /// A `Cache-Control` value that cannot be a header field value.
    CacheControl(String),
    /// A rule in the store that cannot be read back (damaged by hand).
    Damaged(String),
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleError::NoMatcher => f.write_str(
                "the rule has none of `path`, `prefix`, `pattern`; give exactly one (e.g. path = \"/id/x\")",
            ),
            RuleError::SeveralMatchers => {
                f.write_str("the rule has more than one of `path`, `prefix`, `pattern`; keep exactly one")
            }
            RuleError::BadPath { field, value, reason } => {
                write!(f, "`{field}` {:?} is not usable: {reason}", value)
            }
            RuleError::Pattern { field, error } => write!(f, "`{field}`: {error}"),
            RuleError::Target { field, error } => write!(f, "`{field}` is refused: {error}"),
            RuleError::Status(code) => write!(
                f,
                "`status` {code} is not a redirect status seeother answers with; use 303 (default), 301, 302, 307 or 308"
            ),
            RuleError::Host(h) => write!(
                f,
                "`host` {h:?} is not a host name; write a name such as `id.example.org` (no scheme, port or path)"
            ),
            RuleError::MediaType { field, value } => write!(
                f,
                "`{field}` {value:?} is not a media type; write `type/subtype` such as `text/turtle`"
            ),
            RuleError::DuplicateVariant(t) => {
                write!(f, "two variants have the type {t:?}; keep one target per media type")
            }
            RuleError::Damaged(why) => write!(
                f,
                "the stored rule is damaged ({why}); update it through the API or import it again"
            ),
            RuleError::CacheControl(v) => write!(
                f,
                "`cache_control` {v:?} cannot be a header value; write directives such as `max-age=3600`"
            ),
        }
    }
}

impl std::error::Error for RuleError {}

/// RFC 9110 §5.6.2: `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// RFC 9110 §8.3.1: `media-type = type "/" subtype` (parameters are not used by rules).
fn valid_media_type(s: &str) -> bool {
    match s.split_once('/') {
        Some((t, st)) => {
            !t.is_empty() && !st.is_empty() && t.bytes().all(is_tchar) && st.bytes().all(is_tchar)
        }
        None => false,
    }
}

/// A host name or an IP literal, lower-cased, without a trailing dot.
fn canonical_host(host: &str) -> Result<String, RuleError> {
    let h = host.trim().trim_end_matches('.').to_ascii_lowercase();
    let ok = if let Some(inner) = h.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
        inner.parse::<std::net::Ipv6Addr>().is_ok()
    } else {
        // RFC 3986 §3.2.2 reg-name, restricted to what DNS names use.
        !h.is_empty()
            && h.split('.')
                .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    };
    if ok {
        Ok(h)
    } else {
        Err(RuleError::Host(host.to_owned()))
    }
}

fn canonical_path(field: &'static str, value: &str) -> Result<String, RuleError> {
    let bad = |reason: &str| RuleError::BadPath {
        field,
        value: value.to_owned(),
        reason: reason.to_owned(),
    };
    if !value.starts_with('/') {
        return Err(bad("it must start with `/`"));
    }
    if let Some(b) = value.bytes().find(|b| b.is_ascii_control()) {
        return Err(bad(&format!(
            "it holds the control character {b:#04x}; remove it"
        )));
    }
    if value.contains(['?', '#']) {
        return Err(bad(
            "it holds `?` or `#`; rules match the path only (use `query` for the query string)",
        ));
    }
    // RFC 3986 §3.3: requests carry such characters percent-encoded, so match them that way.
    Ok(utf8_percent_encode(value, PATH_ENCODE).to_string())
}

fn check_target(field: String, text: &str, pattern: Option<&Pattern>) -> Result<String, RuleError> {
    let sample = match pattern {
        Some(p) => {
            let template = Template::parse(text, p).map_err(|error| RuleError::Pattern {
                field: field.clone(),
                error,
            })?;
            let samples: Vec<&str> = p.names().map(|_| "x").collect();
            template.render(&samples)
        }
        None => text.to_owned(),
    };
    let location = Location::parse(&sample).map_err(|error| RuleError::Target {
        field: field.clone(),
        error,
    })?;
    // A literal target is stored exactly as it will be sent; a template keeps its placeholders.
    Ok(match pattern {
        Some(_) => text.trim().to_owned(),
        None => location.as_str().to_owned(),
    })
}

impl RuleSpec {
    /// Check every field and return the rule in canonical form (host lower-cased, paths and
    /// literal targets as they go on the wire), or say what is wrong.
    pub fn validate(mut self) -> Result<RuleSpec, RuleError> {
        let kind = match (&self.path, &self.prefix, &self.pattern) {
            (None, None, None) => return Err(RuleError::NoMatcher),
            _ => self.kind().ok_or(RuleError::SeveralMatchers)?,
        };
        let field = kind.as_str();
        let matcher = canonical_path(field, self.matcher())?;
        let pattern = match kind {
            Kind::Pattern => {
                Some(
                    Pattern::parse(&matcher).map_err(|error| RuleError::Pattern {
                        field: field.to_owned(),
                        error,
                    })?,
                )
            }
            _ => None,
        };
        *self.matcher_slot(kind) = Some(matcher);

        self.to = check_target("to".to_owned(), &self.to, pattern.as_ref())?;
        if RedirectStatus::from_code(self.status).is_none() {
            return Err(RuleError::Status(self.status));
        }
        self.host = match self.host.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(h) => Some(canonical_host(h)?),
        };
        if let Some(t) = &self.default_type {
            if !valid_media_type(t) {
                return Err(RuleError::MediaType {
                    field: "type".to_owned(),
                    value: t.clone(),
                });
            }
            self.default_type = Some(t.to_ascii_lowercase());
        }
        let mut seen: Vec<String> = Vec::new();
        for (i, v) in self.variants.iter_mut().enumerate() {
            if !valid_media_type(&v.media_type) {
                return Err(RuleError::MediaType {
                    field: format!("variants[{i}].type"),
                    value: v.media_type.clone(),
                });
            }
            v.media_type = v.media_type.to_ascii_lowercase();
            if seen.contains(&v.media_type) {
                return Err(RuleError::DuplicateVariant(v.media_type.clone()));
            }
            seen.push(v.media_type.clone());
            v.to = check_target(format!("variants[{i}].to"), &v.to, pattern.as_ref())?;
        }
        self.cache_control = match self.cache_control.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(cc) => {
                HeaderValue::from_str(cc).map_err(|_| RuleError::CacheControl(cc.to_owned()))?;
                Some(cc.to_owned())
            }
        };
        Ok(self)
    }
}
