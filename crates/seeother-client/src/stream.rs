//! [`StreamingResponse`]: the eventual response with its body still on the connection, read
//! chunk by chunk under the same limits as a buffered body.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Method, StatusCode, Version};
use http_body::Body as _;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use url::Url;

use crate::check::Permit;
use crate::decode::{Coding, Decoder};
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
/// body does, `protocol` otherwise; `decode` for compressed data that does not decode.
///
/// With [`crate::ClientBuilder::decompress`] on, a body in a content coding the client knows
/// comes decoded, and the limit counts decoded bytes (a decompression bomb stops there).
pub struct BodyStream {
    source: Source,
    limit: u64,
    received: Arc<AtomicU64>,
    expected: Option<u64>,
    /// When the hop began.
    started: Instant,
    context: Context,
    /// The hop's place under a checker's limits, given back with the body.
    _permit: Option<Permit>,
}

enum Source {
    Raw(Box<RawBody>),
    Decoded(Decoder),
}

/// The body as it comes off the connection.
struct RawBody {
    incoming: Incoming,
    limit: u64,
    received: Arc<AtomicU64>,
    expected: Option<u64>,
    deadline: Option<(Instant, Timeout)>,
    started: Instant,
    context: Context,
    done: bool,
}

/// What an error of the last hop names.
#[derive(Clone)]
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
            .field("received", &self.received())
            .field("limit", &self.limit)
            .field("decoded", &matches!(self.source, Source::Decoded(_)))
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
        let context = Context {
            hop,
            method,
            url,
            history,
        };
        let received = Arc::new(AtomicU64::new(0));
        let expected = incoming.size_hint().exact();
        Self {
            source: Source::Raw(Box::new(RawBody {
                incoming,
                limit,
                received: received.clone(),
                expected,
                deadline,
                started,
                context: context.clone(),
                done: false,
            })),
            limit,
            received,
            expected,
            started,
            context,
            _permit: None,
        }
    }

    /// Keep `permit` for as long as the body lives.
    pub(crate) fn holding(mut self, permit: Option<Permit>) -> Self {
        self._permit = permit;
        self
    }

    /// Decode the body, which these codings were applied to (in this order).
    pub(crate) fn decoding(mut self, codings: &[Coding]) -> Self {
        let Source::Raw(raw) = self.source else {
            return self;
        };
        let chunks = futures_util::stream::unfold(*raw, |mut raw| async move {
            match raw.chunk().await {
                Ok(Some(bytes)) => Some((Ok(bytes), raw)),
                Ok(None) => None,
                // Carried through the decoder as an io::Error, and taken out again.
                Err(e) => Some((Err(std::io::Error::other(e)), raw)),
            }
        });
        let reader = tokio_util::io::StreamReader::new(Box::pin(chunks));
        self.source = Source::Decoded(Decoder::new(reader, codings));
        self
    }

    /// The body's length as announced by `Content-Length`, when it was (before decoding).
    pub fn expected(&self) -> Option<u64> {
        self.expected
    }

    /// Bytes of body received off the connection so far (before decoding).
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// The next piece of the body as it comes (decoded, when decoding is on); `None` at its
    /// end.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, Error> {
        let decoder = match &mut self.source {
            Source::Raw(raw) => return raw.chunk().await,
            Source::Decoded(decoder) => decoder,
        };
        match decoder.piece().await {
            Ok(Some(_)) if decoder.produced > self.limit => {
                let limit = self.limit;
                Err(self.fail(ErrorKind::DecodedBodyTooLarge { limit }, None))
            }
            Ok(piece) => Ok(piece),
            Err(e) => {
                let inner = e
                    .get_ref()
                    .is_some_and(|inner| inner.is::<Error>())
                    .then(|| e.into_inner().map(|b| b.downcast::<Error>()));
                match inner {
                    Some(Some(Ok(error))) => Err(*error),
                    _ => Err(self.fail(ErrorKind::Decode, None)),
                }
            }
        }
    }

    fn fail(&mut self, kind: ErrorKind, source: Option<BoxError>) -> Error {
        fail(&self.context, self.started, kind, source)
    }
}

impl RawBody {
    async fn chunk(&mut self) -> Result<Option<Bytes>, Error> {
        if self.done {
            return Ok(None);
        }
        let received = self.received.load(Ordering::Relaxed);
        if received == 0 && self.expected.is_some_and(|n| n > self.limit) {
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
                            received: self.received.load(Ordering::Relaxed),
                            expected: self.expected,
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
            let received = self
                .received
                .fetch_add(data.len() as u64, Ordering::Relaxed)
                + data.len() as u64;
            if received > self.limit {
                return Err(self.fail(ErrorKind::BodyTooLarge { limit: self.limit }, None));
            }
            return Ok(Some(data));
        }
    }

    fn fail(&mut self, kind: ErrorKind, source: Option<BoxError>) -> Error {
        self.done = true;
        fail(&self.context, self.started, kind, source)
    }
}

/// An error of the last hop, its time running to now.
fn fail(context: &Context, started: Instant, kind: ErrorKind, source: Option<BoxError>) -> Error {
    let mut history = context.history.clone();
    if let Some(last) = history.hops.last_mut() {
        last.elapsed = started.elapsed();
    }
    Error::new(
        kind,
        context.hop,
        context.method.clone(),
        Some(context.url.clone()),
        source,
    )
    .with_history(history)
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
