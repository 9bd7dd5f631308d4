//! A redirect-following HTTP client on hyper, and a tower layer, driven by `seeother_core::follow`.
//!
//! Every redirect decision (which status is followed, with which method, which header fields
//! survive, when to stop) is taken by [`seeother_core::Follow`]; this crate only does the I/O:
//! a pooled hyper client over TCP and rustls (HTTP/1.1 and HTTP/2 by ALPN), timeouts, bounded
//! bodies, an RFC 6265 cookie jar, and a record of every hop.
//!
//! - [`Client`]: `send(request)` → [`Response`] with its [`History`].
//! - [`FollowLayer`]: the same following for any `tower::Service<http::Request<_>>`.

mod body;
mod client;
mod connect;
mod error;
mod history;
mod jar;
mod layer;
mod tls;

pub use body::Body;
pub use client::{Client, ClientBuilder};
pub use error::{BoxError, Error, ErrorKind, Timeout};
pub use history::{History, HopRecord, Response};
pub use jar::{CookieJar, NetscapeError};
pub use layer::{FollowLayer, FollowService};
pub use seeother_core::follow::Policy;
