//! A redirect-following HTTP client on hyper, and a tower layer, driven by `seeother_core::follow`.
//!
//! Every redirect decision (which status is followed, with which method, which header fields
//! survive, when to stop) is taken by [`seeother_core::Follow`]; this crate only does the I/O:
//! a pooled hyper client over TCP and rustls (HTTP/1.1 and HTTP/2 by ALPN), timeouts, bounded
//! bodies, an RFC 6265 cookie jar, and a record of every hop.
//!
//! - [`Client`]: `send(request)` → [`Response`] with its [`History`].
//! - [`FollowLayer`]: the same following for any `tower::Service<http::Request<_>>`.
//! - `reqwest` (feature): a reqwest client under the [`FollowLayer`].
//! - [`check::Checker`]: link health for many targets, a few requests per host at a time.
//!
//! `http::Uri` cannot hold a fragment; to have one inherited through the chain (RFC 9110
//! §10.2.2) and reported in the final URL, put the full [`url::Url`] in the request's
//! extensions.

mod body;
mod chain;
pub mod check;
mod client;
mod connect;
mod decode;
mod error;
mod history;
mod jar;
mod layer;
mod proxy;
pub mod redact;
#[cfg(feature = "reqwest")]
pub mod reqwest;
mod stream;
mod tls;

pub use body::Body;
pub use client::{Client, ClientBuilder};
pub use error::{BoxError, Error, ErrorKind, Timeout};
pub use history::{History, HopRecord, Response};
pub use jar::{CookieJar, CookieRefused, NetscapeError};
pub use layer::{FollowLayer, FollowService};
pub use seeother_core::follow::Policy;
pub use stream::{BodyStream, StreamingResponse};

/// The URL of an original request: a [`url::Url`] in its extensions when there is one (the
/// only way to keep a fragment, which `http::Uri` drops), else its URI, which must be absolute.
fn request_url(parts: &http::request::Parts) -> Result<url::Url, Error> {
    if let Some(url) = parts.extensions.get::<url::Url>() {
        return Ok(url.clone());
    }
    url::Url::parse(&parts.uri.to_string()).map_err(|e| {
        let why = format!("the URI {} is not an absolute URL ({e})", parts.uri);
        Error::new(
            ErrorKind::InvalidRequest(why),
            1,
            parts.method.clone(),
            None,
            None,
        )
    })
}
