//! The client's error type: which request failed, and what happened.

use std::fmt;
use std::time::Duration;

use seeother_core::FollowError;

use crate::history::History;

/// A boxed error from a lower layer (hyper, rustls, an inner service).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Which time limit ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timeout {
    /// Opening the TCP connection took longer than this.
    Connect(Duration),
    /// One request (response head and body) took longer than this.
    Hop(Duration),
    /// The whole chain of requests took longer than this.
    Chain(Duration),
}

/// What went wrong.
#[derive(Debug)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The redirect rules refused to go on (too many redirects, a loop, a bad `Location` …).
    Follow(FollowError),
    /// No connection could be opened (refused, unreachable, name not resolved).
    Connect,
    /// A time limit ran out.
    Timeout(Timeout),
    /// The TLS handshake failed (unknown issuer, wrong name, no common protocol …).
    Tls,
    /// The peer broke HTTP: a malformed or truncated message, a reset stream.
    Protocol,
    /// The final response's body is larger than the limit, in bytes.
    BodyTooLarge {
        /// The limit that was exceeded.
        limit: u64,
    },
    /// The final response's body, decoded, is larger than the limit (a decompression bomb, or
    /// a body too large); its kind name is `body_too_large`.
    DecodedBodyTooLarge {
        /// The limit that was exceeded.
        limit: u64,
    },
    /// The final response's body is not valid data of its `Content-Encoding`.
    Decode,
    /// The final response's body ended before it was complete: the connection was closed or
    /// reset, or a `Content-Length` was not met.
    BodyIncomplete {
        /// Bytes of body received.
        received: u64,
        /// The length announced by `Content-Length`, if any.
        expected: Option<u64>,
    },
    /// The request cannot be sent as given (e.g. its URI is not an absolute URL).
    InvalidRequest(String),
    /// The service wrapped by [`crate::FollowLayer`] failed.
    Service,
}

impl ErrorKind {
    /// A stable snake_case name: the core's [`FollowError::kind`] names, then `connect`,
    /// `timeout`, `tls`, `protocol`, `body_too_large`, `decode`, `body_incomplete`,
    /// `invalid_request` and `service`.
    pub fn name(&self) -> &'static str {
        match self {
            ErrorKind::Follow(e) => e.kind(),
            ErrorKind::Connect => "connect",
            ErrorKind::Timeout(_) => "timeout",
            ErrorKind::Tls => "tls",
            ErrorKind::Protocol => "protocol",
            ErrorKind::BodyTooLarge { .. } | ErrorKind::DecodedBodyTooLarge { .. } => {
                "body_too_large"
            }
            ErrorKind::Decode => "decode",
            ErrorKind::BodyIncomplete { .. } => "body_incomplete",
            ErrorKind::InvalidRequest(_) => "invalid_request",
            ErrorKind::Service => "service",
        }
    }
}

/// Why a request produced no eventual response.
///
/// It says which request of the chain failed ([`Error::hop`], [`Error::url`]) and carries the
/// requests sent up to then ([`Error::history`]).
pub struct Error(Box<Inner>);

struct Inner {
    kind: ErrorKind,
    hop: usize,
    method: http::Method,
    url: Option<url::Url>,
    history: Option<History>,
    source: Option<BoxError>,
}

impl Error {
    pub(crate) fn new(
        kind: ErrorKind,
        hop: usize,
        method: http::Method,
        url: Option<url::Url>,
        source: Option<BoxError>,
    ) -> Self {
        Error(Box::new(Inner {
            kind,
            hop,
            method,
            url,
            history: None,
            source,
        }))
    }

    pub(crate) fn with_history(mut self, history: History) -> Self {
        self.0.history = Some(history);
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.0.kind
    }

    /// The stable name of [`Error::kind`], e.g. `"timeout"` (see [`ErrorKind::name`]).
    pub fn kind_name(&self) -> &'static str {
        self.0.kind.name()
    }

    /// The redirect rule that ended the chain, if that is what happened.
    pub fn follow_error(&self) -> Option<&FollowError> {
        match &self.0.kind {
            ErrorKind::Follow(e) => Some(e),
            _ => None,
        }
    }

    /// Which request of the chain failed, counting from 1. For a redirect refused by the rules,
    /// the request whose response was refused.
    pub fn hop(&self) -> usize {
        self.0.hop
    }

    /// The URL of that request, when there is one.
    pub fn url(&self) -> Option<&url::Url> {
        self.0.url.as_ref()
    }

    /// The requests sent before the chain ended, with what they got (`None` when the request
    /// could not even be started).
    pub fn history(&self) -> Option<&History> {
        self.0.history.as_ref()
    }

    fn advice(&self) -> &'static str {
        match &self.0.kind {
            ErrorKind::Follow(_) => "",
            ErrorKind::Connect => "; check the host and port, and that the server is running",
            ErrorKind::Timeout(Timeout::Connect(_)) => {
                "; the host may be down or filtered, or raise the connect timeout"
            }
            ErrorKind::Timeout(_) => "; the server is slow or stuck, or raise the timeout",
            ErrorKind::Tls => self.tls_advice(),
            ErrorKind::Protocol => "; the server sent something that is not valid HTTP",
            ErrorKind::BodyTooLarge { .. } => "; raise the body size limit to accept it",
            ErrorKind::DecodedBodyTooLarge { .. } => {
                "; a small compressed body that expands this much is likely a decompression \
                 bomb; raise the body size limit only if it is expected"
            }
            ErrorKind::Decode => {
                "; the server sent data that is not in the Content-Encoding it names: fetch \
                 without decoding to see what it sent"
            }
            ErrorKind::BodyIncomplete { .. } => {
                "; the server closed or reset the connection before the end of the body: try \
                 again, and if it keeps happening the server is failing mid-response"
            }
            ErrorKind::InvalidRequest(_) => "",
            ErrorKind::Service => "",
        }
    }
}

impl Error {
    /// What to do about a failed handshake, by what rustls said.
    fn tls_advice(&self) -> &'static str {
        use rustls::CertificateError as C;
        let cause = self
            .0
            .source
            .as_deref()
            .and_then(|e| rustls_cause(e as &(dyn std::error::Error + 'static)));
        let webpki_says = |what: &str| {
            matches!(cause, Some(rustls::Error::InvalidCertificate(C::Other(e)))
                if format!("{e:?}").contains(what))
        };
        match cause {
            Some(rustls::Error::InvalidCertificate(C::UnknownIssuer)) => {
                "; the server's certificate is not issued by a trusted root: pass its issuer's \
                 certificate (or a self-signed server's own) with --cacert FILE, or -k to skip \
                 the check (anyone on the path can then read the traffic)"
            }
            Some(rustls::Error::InvalidCertificate(
                C::NotValidForName | C::NotValidForNameContext { .. },
            )) => {
                "; the server's certificate is for other names: use a name it lists in the URL \
                 (--resolve NAME:PORT:ADDR connects to an address under that name)"
            }
            Some(rustls::Error::InvalidCertificate(
                C::Expired
                | C::ExpiredContext { .. }
                | C::NotValidYet
                | C::NotValidYetContext { .. },
            )) => {
                "; the server's certificate is expired or not yet valid: renew it, or check the clock"
            }
            _ if webpki_says("CaUsedAsEndEntity") => {
                "; the server presents a CA certificate as its own (e.g. one made by `openssl req \
                 -x509`): pass that very certificate with --cacert FILE to trust it, or -k to skip \
                 the check (anyone on the path can then read the traffic)"
            }
            _ => "; check the URL's host name and that its certificate is issued by a trusted root",
        }
    }
}

/// The rustls error among an error's sources (io::Error hides what it wraps from `source()`).
fn rustls_cause<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut next = Some(e);
    while let Some(err) = next {
        if let Some(r) = err.downcast_ref::<rustls::Error>() {
            return Some(r);
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if let Some(inner) = io.get_ref() {
                if let Some(r) = rustls_cause(inner) {
                    return Some(r);
                }
            }
        }
        next = err.source();
    }
    None
}

impl fmt::Display for Error {
    /// One line that names the request and says what to do; passwords in URLs masked and
    /// over-long URLs cut ([`crate::redact::message`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = String::new();
        self.write_message(&mut text)?;
        f.write_str(&crate::redact::message(&text))
    }
}

impl Error {
    fn write_message(&self, f: &mut impl fmt::Write) -> fmt::Result {
        let at = match &self.0.url {
            Some(url) => format!("request #{} ({} {})", self.0.hop, self.0.method, url),
            None => format!("request #{}", self.0.hop),
        };
        match &self.0.kind {
            ErrorKind::Follow(e) => write!(f, "redirect not followed after {at}: {e}")?,
            ErrorKind::Connect => write!(f, "{at}: could not connect")?,
            ErrorKind::Timeout(Timeout::Connect(d)) => {
                write!(f, "{at}: no connection within {}", secs(*d))?
            }
            ErrorKind::Timeout(Timeout::Hop(d)) => {
                write!(f, "{at}: no complete response within {}", secs(*d))?
            }
            ErrorKind::Timeout(Timeout::Chain(d)) => {
                write!(f, "{at}: the whole fetch took longer than {}", secs(*d))?
            }
            ErrorKind::Tls => write!(f, "{at}: TLS handshake failed")?,
            ErrorKind::Protocol => write!(f, "{at}: HTTP protocol error")?,
            ErrorKind::BodyTooLarge { limit } => {
                write!(f, "{at}: response body larger than {limit} bytes")?
            }
            ErrorKind::DecodedBodyTooLarge { limit } => {
                write!(f, "{at}: decoded response body larger than {limit} bytes")?
            }
            ErrorKind::Decode => write!(f, "{at}: the response body does not decode")?,
            ErrorKind::BodyIncomplete { received, expected } => match expected {
                Some(n) => write!(
                    f,
                    "{at}: the response body broke off after {received} of {n} bytes"
                )?,
                None => write!(
                    f,
                    "{at}: the response body broke off after {received} bytes"
                )?,
            },
            ErrorKind::InvalidRequest(why) => write!(f, "{at}: invalid request: {why}")?,
            ErrorKind::Service => write!(f, "{at}: the inner service failed")?,
        }
        if let Some(source) = &self.0.source {
            write!(f, ": {}", chain(source.as_ref()))?;
        }
        f.write_str(self.advice())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the fields' own Debug: a `Url`'s shows its password.
        f.debug_struct("Error")
            .field("kind", &self.0.kind.name())
            .field("hop", &self.0.hop)
            .field("message", &self.to_string())
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.0.kind {
            ErrorKind::Follow(e) => Some(e),
            _ => self
                .0
                .source
                .as_ref()
                .map(|e| e.as_ref() as &(dyn std::error::Error + 'static)),
        }
    }
}

fn secs(d: Duration) -> String {
    let s = format!("{:.3}", d.as_secs_f64());
    format!("{}s", s.trim_end_matches('0').trim_end_matches('.'))
}

/// An error and its sources, `: `-separated, with repeated messages said once.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(e);
    while let Some(err) = next {
        let text = err.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = err.source();
    }
    parts.join(": ")
}
