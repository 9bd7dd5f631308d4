//! Validation and canonical form of a rule.

use std::fmt;

use http::HeaderValue;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use seeother_core::location::{Location, LocationError};
use seeother_core::respond::RedirectStatus;

use super::RESERVED_PREFIX;
use super::{Kind, Pattern, PatternError, RuleSpec, Template};

/// The longest target a rule may have, in bytes, as written and as sent: the core's limit on a
/// `Location` a server sends (RFC 9110 §4.1).
pub const MAX_TARGET_LEN: usize = seeother_core::respond::MAX_LOCATION_LEN;

/// Last labels that name a file type rather than a top-level domain: `berlin.html` is a
/// relative path, `example.org` a host written without its scheme.
const FILE_EXTENSIONS: &[&str] = &[
    "asp", "aspx", "bz2", "cgi", "css", "csv", "doc", "docx", "epub", "gif", "gz", "htm", "html",
    "ico", "jpeg", "jpg", "js", "json", "jsonld", "jsp", "md", "mjs", "mp3", "mp4", "n3", "nq",
    "nt", "ogg", "owl", "pdf", "php", "pl", "png", "ppt", "pptx", "py", "rb", "rdf", "shtml",
    "svg", "tar", "tgz", "toml", "trig", "tsv", "ttl", "txt", "wasm", "webm", "webp", "xhtml",
    "xls", "xlsx", "xml", "xz", "yaml", "yml", "zip",
];

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
    /// A target without a scheme that starts with what looks like a host name
    /// (`example.org/d`): sent as is, the user agent would take it as a path relative to the
    /// request URL.
    HostLikeTarget {
        /// `to` or `variants[N].to`.
        field: String,
        /// The target as written.
        value: String,
        /// What was probably meant, `https://` added.
        suggestion: String,
    },
    /// A target longer than [`MAX_TARGET_LEN`].
    TargetTooLong {
        /// `to` or `variants[N].to`.
        field: String,
        /// Its length in bytes (the longer of as written and as it would be sent).
        len: usize,
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
    /// A rule group's field is wrong (or a group field is set on a rule that is no group).
    Group {
        /// The field at fault, e.g. `steps[2].regex`.
        field: String,
        /// What is wrong and what to do.
        reason: String,
    },
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
            RuleError::Group { field, reason } => write!(f, "`{field}`: {reason}"),
            // The core's message names its API (`Schemes::allow`); a rule's author needs
            // what to write instead.
            RuleError::Target {
                field,
                error: LocationError::ForbiddenScheme { scheme },
            } => write!(
                f,
                "`{field}` is refused: it uses the `{scheme}:` scheme, which a rule may not redirect to (only http and https URLs and paths); write a URL such as https://example.org/page or a path such as /page"
            ),
            RuleError::Target { field, error } => write!(f, "`{field}` is refused: {error}"),
            RuleError::HostLikeTarget {
                field,
                value,
                suggestion,
            } => write!(
                f,
                "`{field}` {value:?} has no scheme but starts with a host name, so user agents would take it as a path relative to the request URL; did you mean {suggestion}? (for a relative path that starts with a dotted name, write ./{value})"
            ),
            RuleError::TargetTooLong { field, len } => write!(
                f,
                "`{field}` is {len} bytes long; the limit is {MAX_TARGET_LEN} bytes (8 KiB), past which user agents and proxies may cut or refuse a Location (RFC 9110 §4.1); shorten it, e.g. move data from the query into the target's path or a lookup behind it"
            ),
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
    let canonical = utf8_percent_encode(value, PATH_ENCODE).to_string();
    // The server answers every path under `/-/` itself (`http::service::handle`), before any
    // rule is looked up: a rule all of whose matches are there could never answer.
    if let Some(rest) = canonical.strip_prefix(RESERVED_PREFIX) {
        return Err(bad(&format!(
            "paths under `{RESERVED_PREFIX}` belong to the server (its health check, metrics, API and admin pages) and never reach a rule, so this rule could never answer; choose a path outside `{RESERVED_PREFIX}`, such as \"/{rest}\""
        )));
    }
    Ok(canonical)
}

/// A DNS name (RFC 1123 §2.1 labels: letters, digits, hyphens) of at least two labels.
fn dotted_name(s: &str) -> bool {
    s.contains('.')
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Whether `target`, a reference without a scheme (or with what RFC 3986 §3.1 would read as
/// one), starts with a host name that its author meant as the authority: `example.org/d`,
/// `www.example.org`, `example.org:8080/x`, `192.0.2.1/x`. Such a target is a relative path
/// (RFC 3986 §4.2) that the user agent resolves against the request URL, which is never what
/// was meant. The first segment (up to `/`, `?` or `#`) is taken as a host when it is
/// - a dotted name or `localhost`, then `:` and a port of 1 to 5 digits; or
/// - an IPv4 address (four numbers); or
/// - a dotted name that starts with `www.`, or whose last label is 2 to 63 letters that
///   are not a common file extension (`html`, `json`, `ttl` …: `berlin.html` is a path).
///
/// Anything that starts with `/`, `.`, `?` or `#` is a plain relative reference and never
/// host-like, so `./example.org/d` is the way to write a path that looks like a host.
fn host_like(target: &str) -> bool {
    if target.starts_with(['/', '.', '?', '#']) {
        return false;
    }
    let first = target.split(['/', '?', '#']).next().unwrap_or("");
    if let Some((host, port)) = first.rsplit_once(':') {
        return (1..=5).contains(&port.len())
            && port.bytes().all(|b| b.is_ascii_digit())
            && (host.eq_ignore_ascii_case("localhost") || dotted_name(host));
    }
    if !dotted_name(first) {
        return false;
    }
    let labels: Vec<&str> = first.split('.').collect();
    let ipv4 = labels.len() == 4
        && labels
            .iter()
            .all(|l| l.len() <= 3 && l.bytes().all(|b| b.is_ascii_digit()));
    let last = labels[labels.len() - 1];
    let tld = (2..=63).contains(&last.len())
        && last.bytes().all(|b| b.is_ascii_alphabetic())
        && !FILE_EXTENSIONS.contains(&last.to_ascii_lowercase().as_str());
    ipv4 || tld
        || first
            .get(..4)
            .is_some_and(|w| w.eq_ignore_ascii_case("www."))
}

fn check_target(field: String, text: &str, pattern: Option<&Pattern>) -> Result<String, RuleError> {
    let too_long = |len: usize| RuleError::TargetTooLong {
        field: field.clone(),
        len,
    };
    if text.len() > MAX_TARGET_LEN {
        return Err(too_long(text.len()));
    }
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
    // Before parsing: `example.org:8080/x` would be read as the scheme `example.org`.
    if host_like(sample.trim()) {
        return Err(RuleError::HostLikeTarget {
            field,
            value: text.trim().to_owned(),
            suggestion: format!("https://{}", text.trim()),
        });
    }
    let location = Location::parse(&sample).map_err(|error| RuleError::Target {
        field: field.clone(),
        error,
    })?;
    // A literal target is stored exactly as it will be sent; a template keeps its placeholders.
    let stored = match pattern {
        Some(_) => text.trim().to_owned(),
        None => location.as_str().to_owned(),
    };
    // Percent-encoding makes a target longer as sent than as written.
    let sent = location.as_str().len().max(stored.len());
    if sent > MAX_TARGET_LEN {
        return Err(too_long(sent));
    }
    Ok(stored)
}

impl RuleSpec {
    /// Check every field and return the rule in canonical form (host lower-cased, paths and
    /// literal targets as they go on the wire), or say what is wrong.
    pub fn validate(mut self) -> Result<RuleSpec, RuleError> {
        let kind = match (&self.path, &self.prefix, &self.pattern, &self.scope) {
            (None, None, None, None) => return Err(RuleError::NoMatcher),
            _ => self.kind().ok_or(RuleError::SeveralMatchers)?,
        };
        let field = kind.as_str();
        if kind == Kind::Scope {
            let scope = canonical_path(field, self.matcher())?;
            self.scope = Some(scope);
            self.host = match self.host.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(h) => Some(canonical_host(h)?),
            };
            return self.validate_group();
        }
        if let Some(field) = self.group_field() {
            return Err(RuleError::Group {
                field: field.to_owned(),
                reason: "only a rule group (`scope`) has this field; move it to a group or drop it"
                    .to_owned(),
            });
        }
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
