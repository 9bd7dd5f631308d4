//! `Location` values: validation and serialisation for servers, resolution for user agents.
//!
//! RFC 9110 §10.2.2: `Location = URI-reference`, resolved against the target URI of the request;
//! a target without a fragment inherits the request's fragment.
//!
//! - Server side: [`Location::parse`] turns a target into the exact bytes to send: ASCII only,
//!   no control characters, an allowed scheme, percent-encoded the way browsers encode.
//! - User-agent side: [`from_headers`] picks the one `Location` of a response, [`resolve`] turns
//!   it into the next URL, [`same_origin`] compares origins.

mod agent;
mod serialize;

use bytes::Bytes;
use http::HeaderValue;

pub use agent::{from_headers, inherit_fragment, resolve, same_origin};

/// The URI schemes a server-side target may use. `http`, `https` and relative references are
/// always allowed; anything else (`javascript:`, `data:`, `file:` …) must be allowed by name.
///
/// ```
/// use seeother_core::location::{Location, Schemes};
///
/// let schemes = Schemes::default().allow("mailto");
/// assert!(schemes.allows("MailTo"));
/// assert!(!schemes.allows("javascript"));
/// assert_eq!(Location::parse_with("mailto:a@b.example", &schemes).unwrap().as_str(), "mailto:a@b.example");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Schemes {
    extra: Vec<String>,
}

impl Schemes {
    /// Also allow `scheme` (compared ASCII case-insensitively), e.g. `"mailto"` or `"urn"`.
    pub fn allow(mut self, scheme: &str) -> Self {
        self.extra.push(scheme.to_ascii_lowercase());
        self
    }

    /// Whether `scheme` may be used.
    pub fn allows(&self, scheme: &str) -> bool {
        // RFC 3986 §3.1: schemes are case-insensitive.
        scheme.eq_ignore_ascii_case("http")
            || scheme.eq_ignore_ascii_case("https")
            || self.extra.iter().any(|s| s.eq_ignore_ascii_case(scheme))
    }
}

/// A validated `Location` field value: a URI reference exactly as it will be sent.
///
/// It is ASCII only (non-ASCII and spaces are percent-encoded the way browsers do), holds no
/// control characters, and uses an allowed scheme. A relative reference stays relative.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Location {
    /// The wire form; `value` shares these bytes.
    wire: Bytes,
    value: HeaderValue,
}

/// The bytes of a header value built from `Bytes`, shared rather than copied.
fn shared(wire: &Bytes) -> Result<HeaderValue, http::header::InvalidHeaderValue> {
    HeaderValue::from_maybe_shared(wire.clone())
}

impl Location {
    /// Validate `input` with the default [`Schemes`] (http, https, relative).
    ///
    /// Control characters are refused (response splitting), surrounding spaces are trimmed,
    /// non-ASCII, spaces, `"`, `<`, `>`, `` ` ``, `\`, `^`, `{`, `|`, `}` are percent-encoded,
    /// an existing `%XX` is kept and a stray `%` becomes `%25`. Absolute http(s) URLs come out
    /// in the form browsers give them (lower-case host, IDNA, dot segments removed).
    ///
    /// ```
    /// use seeother_core::location::{Location, LocationError};
    ///
    /// let loc = Location::parse("/search?q=see other&x=\"<b>\"").unwrap();
    /// assert_eq!(loc.as_str(), "/search?q=see%20other&x=%22%3Cb%3E%22");
    /// assert_eq!(Location::parse("/caf%C3%A9 100%").unwrap().as_str(), "/caf%C3%A9%20100%25");
    /// assert_eq!(Location::parse("https://Bücher.example/ä").unwrap().as_str(),
    ///            "https://xn--bcher-kva.example/%C3%A4");
    ///
    /// assert!(matches!(Location::parse("/a\r\nSet-Cookie: x=1"),
    ///                  Err(LocationError::Control { byte: b'\r', index: 2 })));
    /// assert!(matches!(Location::parse("JaVaScRiPt:alert(1)"),
    ///                  Err(LocationError::ForbiddenScheme { .. })));
    /// ```
    pub fn parse(input: &str) -> Result<Self, LocationError> {
        Self::parse_with(input, &Schemes::default())
    }

    /// Validate `input`, allowing the schemes in `schemes`.
    pub fn parse_with(input: &str, schemes: &Schemes) -> Result<Self, LocationError> {
        Self::serialized(input, schemes, serialize::Encoding::Strict)
    }

    /// Validate `input` as [`Location::parse_with`] does, but send it as written where
    /// browsers read it alike: `|`, `^`, `{`, `}`, `[`, `]` and a second `#` are not
    /// percent-encoded (RFC 9110 §10.2.2 asks for a URI-reference, and RFC 3986 §2 has no
    /// place for them unencoded, but browsers take them as written: the WHATWG URL parser
    /// leaves them alone). This is
    /// mod_rewrite's `NE` flag ("special characters … will not be converted to their
    /// hexcode equivalents"); controls are still refused, and spaces, `"`, `<`, `>`, `` ` ``,
    /// `\` and non-ASCII still encoded, as browsers encode them.
    ///
    /// ```
    /// use seeother_core::location::{Location, Schemes};
    ///
    /// let l = Location::parse_as_written("https://a.example/x|y#p#q", &Schemes::default())?;
    /// assert_eq!(l.as_str(), "https://a.example/x|y#p#q");
    /// assert_eq!(Location::parse("https://a.example/x|y#p#q")?.as_str(),
    ///            "https://a.example/x%7Cy#p%23q");
    /// # Ok::<(), seeother_core::location::LocationError>(())
    /// ```
    pub fn parse_as_written(input: &str, schemes: &Schemes) -> Result<Self, LocationError> {
        Self::serialized(input, schemes, serialize::Encoding::AsWritten)
    }

    fn serialized(
        input: &str,
        schemes: &Schemes,
        enc: serialize::Encoding,
    ) -> Result<Self, LocationError> {
        let wire = Bytes::from(serialize::serialize(input, schemes, enc)?);
        let value = shared(&wire).map_err(|e| LocationError::Invalid {
            value: input.to_owned(),
            reason: e.to_string(),
        })?;
        Ok(Self { wire, value })
    }

    /// The `Location` whose wire form is `wire`, taken from one that [`Location::parse`] made
    /// earlier (kept in a table of rules, say), sharing the bytes instead of parsing again.
    ///
    /// Only what a header field needs is checked (no CR, LF or other control byte gets
    /// through); bytes that `parse` did not produce are kept as they are, not normalised.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use seeother_core::location::{Location, LocationError};
    ///
    /// let parsed = Location::parse("https://Example.org/a b")?;
    /// let kept = Bytes::copy_from_slice(parsed.as_str().as_bytes());
    /// assert_eq!(Location::from_parsed(kept)?, parsed);
    /// assert!(matches!(Location::from_parsed(Bytes::from_static(b"/a\r\nx: y")),
    ///                  Err(LocationError::Control { byte: b'\r', index: 2 })));
    /// # Ok::<(), LocationError>(())
    /// ```
    pub fn from_parsed(wire: Bytes) -> Result<Self, LocationError> {
        if wire.is_empty() {
            return Err(LocationError::Empty);
        }
        // RFC 9110 §5.5: no CR, LF or NUL in a field value; other controls are refused too.
        if let Some(index) = wire.iter().position(|&b| b < 0x20 || b == 0x7f) {
            return Err(LocationError::Control {
                byte: wire[index],
                index,
            });
        }
        let invalid = |reason: String| LocationError::Invalid {
            value: String::from_utf8_lossy(&wire).into_owned(),
            reason,
        };
        if !wire.is_ascii() {
            return Err(invalid(
                "non-ASCII bytes; parse the target first".to_owned(),
            ));
        }
        let value = shared(&wire).map_err(|e| invalid(e.to_string()))?;
        Ok(Self { wire, value })
    }

    /// The wire form as shared bytes (for a note that links it without copying).
    pub(crate) fn wire(&self) -> &Bytes {
        &self.wire
    }

    /// The value as it goes on the wire.
    pub fn as_str(&self) -> &str {
        // Invariant: built only from ASCII.
        self.value.to_str().unwrap_or_default()
    }

    /// The value as a header value, ready for a `Location` field.
    pub fn header_value(&self) -> &HeaderValue {
        &self.value
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Location {
    type Err = LocationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Why a `Location` value was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LocationError {
    /// The value is empty.
    Empty,
    /// A control character (CR, LF, NUL, other C0 or DEL) at byte `index`: response splitting.
    Control { byte: u8, index: usize },
    /// The scheme is not allowed (e.g. `javascript:`).
    ForbiddenScheme { scheme: String },
    /// The value is not a URI reference that can be parsed or resolved.
    Invalid { value: String, reason: String },
    /// A response carried several `Location` fields that disagree.
    Conflicting { values: Vec<String> },
}

/// The name of a control byte, for error messages.
fn control_name(byte: u8) -> &'static str {
    match byte {
        0x00 => "a NUL byte",
        b'\t' => "a tab",
        b'\n' => "a line feed",
        b'\r' => "a carriage return",
        0x7f => "a DEL character",
        _ => "a control character",
    }
}

impl std::fmt::Display for LocationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LocationError::Empty => {
                f.write_str("Location is empty; give a path such as `/` or an absolute http(s) URL")
            }
            LocationError::Control { byte, index } => write!(
                f,
                "Location contains {} (byte {byte:#04x} at {index}): response splitting; \
                 remove control characters from the target",
                control_name(*byte)
            ),
            LocationError::ForbiddenScheme { scheme } => write!(
                f,
                "Location uses the `{scheme}:` scheme, which is not allowed (only http, https and \
                 relative references are); use an http(s) URL or a path, or allow the scheme \
                 explicitly with `Schemes::allow`"
            ),
            LocationError::Invalid { value, reason } => write!(
                f,
                "Location `{}` is not a valid URI reference ({reason}); use a path such as \
                 `/next` or an absolute URL such as `https://host.example/next`",
                value.escape_debug()
            ),
            LocationError::Conflicting { values } => {
                f.write_str("the response has Location fields that disagree (")?;
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "`{}`", v.escape_debug())?;
                }
                f.write_str("); the server must send exactly one Location field")
            }
        }
    }
}

impl std::error::Error for LocationError {}
