//! `Location` values: validation and serialisation for servers, resolution for user agents.
//!
//! RFC 9110 §10.2.2: `Location = URI-reference`, resolved against the target URI of the request;
//! a target without a fragment inherits the request's fragment.

use http::{HeaderMap, HeaderValue};
use url::Url;

/// The URI schemes a server-side target may use. `http`, `https` and relative references are
/// always allowed; anything else (`javascript:`, `data:`, `file:` …) must be allowed by name.
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
        let _ = scheme;
        todo!()
    }
}

/// A validated `Location` field value: a URI reference exactly as it will be sent.
///
/// It is ASCII only (non-ASCII and spaces are percent-encoded the way browsers do), holds no
/// control characters, and uses an allowed scheme. A relative reference stays relative.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Location {
    value: HeaderValue,
}

impl Location {
    /// Validate `input` with the default [`Schemes`] (http, https, relative).
    pub fn parse(input: &str) -> Result<Self, LocationError> {
        Self::parse_with(input, &Schemes::default())
    }

    /// Validate `input`, allowing the schemes in `schemes`.
    pub fn parse_with(input: &str, schemes: &Schemes) -> Result<Self, LocationError> {
        let _ = (input, schemes);
        todo!()
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

impl std::fmt::Display for LocationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let _ = f;
        todo!()
    }
}

impl std::error::Error for LocationError {}

/// The one `Location` value of a response: `Ok(None)` when there is none, an error when several
/// fields disagree. Identical repeated fields count as one.
pub fn from_headers(headers: &HeaderMap) -> Result<Option<&HeaderValue>, LocationError> {
    let _ = headers;
    todo!()
}

/// Resolve a received `Location` value against the URL of the request that got it, leniently as
/// browsers do: raw UTF-8 is percent-encoded, bytes that are not UTF-8 are percent-encoded as
/// they are, and a target without a fragment inherits `current`'s fragment (RFC 9110 §10.2.2).
pub fn resolve(current: &Url, location: &[u8]) -> Result<Url, LocationError> {
    let _ = (current, location);
    todo!()
}

/// Give `target` the fragment of `current` when it has none of its own (RFC 9110 §10.2.2).
pub fn inherit_fragment(current: &Url, target: &mut Url) {
    let _ = (current, target);
    todo!()
}

/// Whether two URLs have the same origin: scheme, host and port, default ports made explicit
/// (RFC 6454 §5, Fetch's "same origin").
pub fn same_origin(a: &Url, b: &Url) -> bool {
    let _ = (a, b);
    todo!()
}
