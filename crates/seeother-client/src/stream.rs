//! [`StreamingResponse`]: the eventual response with its body still on the connection, read
//! chunk by chunk under the same limits as a buffered body.

use std::time::Instant;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Method, StatusCode, Version};
use http_body::Body as _;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use url::Url;

use crate::error::{BoxError, Error, ErrorKind, Timeout};
use crate::history::{History, HopRecord, Response};

/// The eventual result of a fetch through [`crate::Client::send_streaming`]: its head, the
/// history of the chain, and the body as it arrives.
///
/// ```no_run
/// # async fn demo() -> Result<(), seeother_client::Error> {
/// use std::io::Write;
/// let client = seeother_client::Client::new()?;
/// let request = http::Request::get("http://127.0.0.1:8080/big").body(()).unwrap();
/// let mut response = client.send_streaming(request).await?;
/// let mut file = std::fs::File::create("big.bin").unwrap();
/// while let Some(chunk) = response.body.chunk().await? {
///     file.write_all(&chunk).unwrap(); // memory stays at one chunk
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct StreamingResponse {
    /// The final response's status.
    pub status: StatusCode,
    /// The final response's HTTP version.
    pub version: Version,
    /// The final response's header fields.
    pub headers: HeaderMap,
    /// The original URL, the final URL and every hop. The last hop's `elapsed` runs to its
    /// response head.
    pub history: History,
    /// The final response's body, not read yet.
    pub body: BodyStream,
}

impl StreamingResponse {
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

    /// Read the rest of the body into memory (within the client's body size limit) and give
    /// the [`Response`] that [`crate::Client::send`] gives; the last hop's `elapsed` then runs
    /// to the end of the body.
    pub async fn into_buffered(mut self) -> Result<Response, Error> {
        let capacity = self.body.expected().map_or(0, |n| n.min(self.body.limit));
        let mut bytes = BytesMut::with_capacity(usize::try_from(capacity).unwrap_or(0));
        while let Some(chunk) = self.body.chunk().await? {
            bytes.extend_from_slice(&chunk);
        }
        if let Some(last) = self.history.hops.last_mut() {
            last.elapsed = self.body.started.elapsed();
        }
        Ok(Response {
            status: self.status,
            version: self.version,
            headers: self.headers,
            body: bytes.freeze(),
            history: self.history,
        })
    }
}

/// The body of a [`StreamingResponse`], read with [`BodyStream::chunk`].
///
/// It keeps the client's limits: no more than the body size limit in all (a `Content-Length`
/// over it fails before anything is read), and nothing after the hop's or the chain's
/// deadline. A failure is an [`Error`] of the last hop, like one before the head:
/// `body_too_large`, `timeout`, `body_incomplete` when the connection ends or breaks before the
/// body does, `protocol` otherwise.
pub struct BodyStream {
    incoming: Incoming,
    limit: u64,
    received: u64,
    expected: Option<u64>,
    deadline: Option<(Instant, Timeout)>,
    /// When the hop began.
    started: Instant,
    context: Context,
    done: bool,
}

/// What an error of the last hop names.
struct Context {
    hop: usize,
    method: Method,
    url: Url,
    history: History,
}

impl std::fmt::Debug for BodyStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BodyStream")
            .field("expected", &self.expected)
            .field("received", &self.received)
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

impl BodyStream {
    pub(crate) fn new(
        incoming: Incoming,
        limit: u64,
        deadline: Option<(Instant, Timeout)>,
        started: Instant,
        (hop, method, url, history): (usize, Method, Url, History),
    ) -> Self {
        Self {
            expected: incoming.size_hint().exact(),
            incoming,
            limit,
            received: 0,
            deadline,
            started,
            context: Context {
                hop,
                method,
                url,
                history,
            },
            done: false,
        }
    }

    /// The body's length as announced by `Content-Length`, when it was.
    pub fn expected(&self) -> Option<u64> {
        self.expected
    }

    /// Bytes of body received so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The next piece of the body as it comes off the connection; `None` at its end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, Error> {
        if self.done {
            return Ok(None);
        }
        if self.received == 0 && self.expected().is_some_and(|n| n > self.limit) {
            return Err(self.fail(ErrorKind::BodyTooLarge { limit: self.limit }, None));
        }
        loop {
            let frame = match self.deadline {
                Some((at, limit)) => {
                    match tokio::time::timeout_at(at.into(), self.incoming.frame()).await {
                        Ok(f) => f,
                        Err(_) => return Err(self.fail(ErrorKind::Timeout(limit), None)),
                    }
                }
                None => self.incoming.frame().await,
            };
            let frame = match frame {
                None => {
                    self.done = true;
                    return Ok(None);
                }
                Some(Ok(frame)) => frame,
                Some(Err(e)) => {
                    let kind = if broke_off(&e) {
                        ErrorKind::BodyIncomplete {
                            received: self.received,
                            expected: self.expected(),
                        }
                    } else {
                        ErrorKind::Protocol
                    };
                    return Err(self.fail(kind, Some(Box::new(e))));
                }
            };
            // Trailers carry no body bytes.
            let Ok(data) = frame.into_data() else {
                continue;
            };
            self.received += data.len() as u64;
            if self.received > self.limit {
                return Err(self.fail(ErrorKind::BodyTooLarge { limit: self.limit }, None));
            }
            return Ok(Some(data));
        }
    }

    fn fail(&mut self, kind: ErrorKind, source: Option<BoxError>) -> Error {
        self.done = true;
        let mut history = self.context.history.clone();
        if let Some(last) = history.hops.last_mut() {
            last.elapsed = self.started.elapsed();
        }
        Error::new(
            kind,
            self.context.hop,
            self.context.method.clone(),
            Some(self.context.url.clone()),
            source,
        )
        .with_history(history)
    }
}

/// Whether a body error means the connection ended or broke before the body did (rather than
/// the body being malformed): hyper's incomplete message, or an I/O error of that sort.
fn broke_off(e: &hyper::Error) -> bool {
    if e.is_incomplete_message() || e.is_closed() || e.is_canceled() {
        return true;
    }
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = next {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind as K;
            if matches!(
                io.kind(),
                K::UnexpectedEof | K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe
            ) {
                return true;
            }
        }
        next = err.source();
    }
    false
}
