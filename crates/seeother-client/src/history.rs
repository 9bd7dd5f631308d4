//! What a fetch did: one record per request sent, and the response it ends with.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode, Version};
use url::Url;

/// One request sent, and what came back.
///
/// Its `Debug` masks the password of the URL and credentials of the header fields sent, like
/// everything the client prints ([`crate::redact`]).
#[derive(Clone)]
pub struct HopRecord {
    /// The method sent.
    pub method: Method,
    /// The URL requested, fragment included (the fragment itself is never sent), userinfo
    /// included: print it through [`crate::redact::url`].
    pub url: Url,
    /// The response's status.
    pub status: StatusCode,
    /// The HTTP version of the response.
    pub version: Version,
    /// The response's `Location` value exactly as received, if any (print it through
    /// [`crate::redact::userinfo`] or [`crate::redact::message`]).
    pub location: Option<HeaderValue>,
    /// The response's header fields, as received.
    pub response_headers: HeaderMap,
    /// The header fields sent, credentials included (print them through
    /// [`crate::redact::header`]). `Host` is listed when the request went over HTTP/1 (it is
    /// written from the URL's authority); over HTTP/2 the authority travels as `:authority`.
    pub request_headers: HeaderMap,
    /// Bytes of request body sent.
    pub body_sent: u64,
    /// Whether the request went over a connection that had already carried a request; `None`
    /// when the service underneath does not say (see [`crate::FollowLayer`]).
    pub reused: Option<bool>,
    /// A number naming the connection the request went over, unique within a [`crate::Client`].
    pub connection: Option<u64>,
    /// Time from sending the request to the end of its response body (read or drained).
    pub elapsed: Duration,
    /// How long opening the TCP connection took, when this request opened one (`None` when it
    /// reused a connection, or the service underneath does not say).
    pub connect: Option<Duration>,
}

/// The chain of requests made for one original request (its `Debug` masks passwords).
#[derive(Clone)]
pub struct History {
    /// The URL originally requested.
    pub url: Url,
    /// The URL of the last request; for a complete fetch, the URL the eventual result is the
    /// representation of (fragment inherited through the chain, RFC 9110 §10.2.2).
    pub final_url: Url,
    /// Every request sent, in order; the last is the one the chain ended on.
    pub hops: Vec<HopRecord>,
}

/// The eventual result of a fetch through [`crate::Client::send`], body read in full.
#[derive(Clone, Debug)]
pub struct Response {
    /// The final response's status.
    pub status: StatusCode,
    /// The final response's HTTP version.
    pub version: Version,
    /// The final response's header fields.
    pub headers: HeaderMap,
    /// The final response's body.
    pub body: Bytes,
    /// The original URL, the final URL and every hop.
    pub history: History,
}

impl Response {
    /// The URL originally requested.
    pub fn url(&self) -> &Url {
        &self.history.url
    }

    /// The URL of the request that got this response.
    pub fn final_url(&self) -> &Url {
        &self.history.final_url
    }

    /// Every request sent, in order; the last one got this response.
    pub fn hops(&self) -> &[HopRecord] {
        &self.history.hops
    }
}

impl std::fmt::Debug for HopRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let location = self
            .location
            .as_ref()
            .map(|l| crate::redact::userinfo(&String::from_utf8_lossy(l.as_bytes())).into_owned());
        let sent: Vec<(&str, String)> = self
            .request_headers
            .iter()
            .map(|(n, v)| (n.as_str(), crate::redact::header(n, v)))
            .collect();
        f.debug_struct("HopRecord")
            .field("method", &self.method)
            .field("url", &crate::redact::url(&self.url))
            .field("status", &self.status)
            .field("version", &self.version)
            .field("location", &location)
            .field("request_headers", &sent)
            .field("body_sent", &self.body_sent)
            .field("reused", &self.reused)
            .field("connection", &self.connection)
            .field("elapsed", &self.elapsed)
            .field("connect", &self.connect)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("History")
            .field("url", &crate::redact::url(&self.url))
            .field("final_url", &crate::redact::url(&self.final_url))
            .field("hops", &self.hops)
            .finish()
    }
}
