//! The direct HTTP/2 path: an HTTP/2 connection (h2c by prior knowledge, or h2 chosen by
//! ALPN) served with the `h2` crate, its plain redirects answered in the connection's task.
//!
//! Every stream the connection has ready is accepted at once; each complete `GET`, `HEAD` or
//! `POST` outside `/-/` (its request stream ended with its header block, RFC 9113 §8.1) is
//! answered on the spot by the same hot path as every other request ([`redirect`]), and the
//! answers to one read leave together when the connection is next polled. Any other stream
//! (the control plane, a request with a body, a bad `Host`) is answered by
//! [`handle`] in a task of its own, its body read under the body deadline. A redirect gets no
//! task, service future or request extensions, which made hyper's HTTP/2 cost more per
//! request than the direct HTTP/1.1 path; and the io says it has no vectored writes, so h2
//! copies small DATA frames into its buffer and a batch of answers leaves in one write.

use std::cell::RefCell;
use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use h2::server::{Connection, SendResponse};
use h2::{Ping, Reason, RecvStream};
use http::header::{self, HOST, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response};
use http_body_util::BodyExt;
use hyper::body::{Frame, SizeHint};
use seeother_core::host;
use seeother_core::respond::Body;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::sync::watch;
use tokio::time::Instant;

use super::Limits;
use super::io::Activity;
use crate::http::body::RequestBody;
use crate::http::peer::Peer;
use crate::http::service::{Service, Target, handle, redirect};
use crate::resolve::Reply;
use crate::rule::RESERVED_PREFIX;

/// RFC 9113 §3.4: the client connection preface of HTTP/2.
pub(super) const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// How long a keep-alive ping may wait for its answer (hyper's default, as before).
const PING_TIMEOUT: Duration = Duration::from_secs(20);

/// The HTTP/2 settings of every connection: the limits hyper was given, and hyper's own
/// defaults for the rest (windows, frame and send buffer sizes), so a client sees the same
/// SETTINGS frame whichever path serves it.
pub(super) fn builder(limits: &Limits) -> h2::server::Builder {
    let mut b = h2::server::Builder::new();
    b.initial_window_size(1024 * 1024)
        .initial_connection_window_size(1024 * 1024)
        .max_frame_size(16 * 1024)
        .max_header_list_size(limits.max_header_bytes as u32)
        .max_local_error_reset_streams(Some(1024))
        .max_send_buffer_size(400 * 1024)
        .max_concurrent_streams(256);
    b
}

/// Whether `read`, the first bytes of a connection, are (or begin) the HTTP/2 preface; None
/// while they are a part of it too short to tell.
pub(super) fn is_preface(read: &[u8]) -> Option<bool> {
    if read.len() >= PREFACE.len() {
        Some(read.starts_with(PREFACE))
    } else if PREFACE.starts_with(read) {
        None
    } else {
        Some(false)
    }
}

/// Read on from `read` (a part of the preface) until the connection's first bytes say
/// whether they are the HTTP/2 preface; the bytes read, or None if the connection ended.
pub(super) async fn read_preface<T: AsyncRead + Unpin>(
    io: &mut T,
    read: Bytes,
    by: Instant,
) -> Option<(Bytes, bool)> {
    let mut buf = Vec::from(read);
    loop {
        if let Some(yes) = is_preface(&buf) {
            return Some((buf.into(), yes));
        }
        match tokio::time::timeout_at(by, io.read_buf(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => {}
            _ => return None,
        }
    }
}

/// Serve the HTTP/2 connection `io` until it ends: closed by the client, on a connection
/// error, a keep-alive ping left unanswered, or at shutdown once its streams are done.
pub(super) async fn serve<T>(
    io: T,
    builder: &h2::server::Builder,
    service: &Arc<Service>,
    activity: &Arc<Activity>,
    limits: &Limits,
    peer: SocketAddr,
    stop: &mut watch::Receiver<bool>,
) where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut conn: Connection<T, Body> = match builder.handshake(io).await {
        Ok(conn) => conn,
        Err(e) => {
            tracing::debug!(%peer, error = %e, "HTTP/2 handshake failed");
            return;
        }
    };
    let mut keep_alive = KeepAlive::new(conn.ping_pong(), limits.idle_timeout / 2, activity);
    let mut batch = Vec::new();
    let mut stopping = false;
    loop {
        let ended = tokio::select! {
            biased;
            r = poll_fn(|cx| poll_streams(&mut conn, &mut batch, cx)) => match r {
                Ok(more) => !more,
                Err(e) => {
                    tracing::debug!(%peer, error = %e, "HTTP/2 connection ended with an error");
                    true
                }
            },
            _ = stop.changed(), if !stopping => {
                // RFC 9113 §6.8: GOAWAY, then the streams already begun are finished.
                stopping = true;
                conn.graceful_shutdown();
                continue;
            }
            alive = keep_alive.poll(activity) => {
                if !alive {
                    tracing::debug!(%peer, "keep-alive ping unanswered; closing");
                    conn.abrupt_shutdown(Reason::NO_ERROR);
                }
                continue;
            }
        };
        if !batch.is_empty() {
            answer(&mut batch, service, activity, limits, peer);
        }
        if ended {
            return;
        }
    }
}

/// Accept every stream `conn` has ready into `batch`; ready once there is one at least
/// (true) or the connection has ended (false).
fn poll_streams<T>(
    conn: &mut Connection<T, Body>,
    batch: &mut Vec<(Request<RecvStream>, SendResponse<Body>)>,
    cx: &mut Context<'_>,
) -> Poll<Result<bool, h2::Error>>
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    loop {
        let next = pin!(conn.accept()).poll(cx);
        match next {
            Poll::Ready(Some(Ok(stream))) => batch.push(stream),
            Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(e)),
            Poll::Ready(None) => return Poll::Ready(Ok(false)),
            Poll::Pending if batch.is_empty() => return Poll::Pending,
            Poll::Pending => return Poll::Ready(Ok(true)),
        }
    }
}

/// Answer the streams of `batch`: plain redirects here, the others in a task each.
fn answer(
    batch: &mut Vec<(Request<RecvStream>, SendResponse<Body>)>,
    service: &Arc<Service>,
    activity: &Arc<Activity>,
    limits: &Limits,
    peer: SocketAddr,
) {
    activity.mark_served();
    let app = service.app();
    let date = http_date();
    let mut answered = 0;
    for (req, respond) in batch.drain(..) {
        let (parts, recv) = req.into_parts();
        // RFC 9113 §8.1: a request whose HEADERS frame ended the stream has no content.
        let simple = matches!(parts.method, Method::GET | Method::HEAD | Method::POST)
            && recv.is_end_stream()
            && !parts.uri.path().starts_with(RESERVED_PREFIX);
        if simple {
            let hosts = parts.headers.get_all(HOST).iter().map(|v| v.as_bytes());
            // RFC 9113 §8.3.1: `:authority`, else `Host`; a bad one is the service's 400.
            let authority = parts.uri.authority().map(|a| a.as_str());
            if let Ok(authority) = host::of_request(parts.version, authority, hosts) {
                let target = Target {
                    method: &parts.method,
                    authority,
                    path: parts.uri.path(),
                    query: parts.uri.query(),
                    headers: &parts.headers,
                    client: Some(peer.ip()),
                    version: parts.version,
                };
                let reply = redirect(app, &target);
                let plain = matches!(reply, Reply::Plain(_));
                send(respond, reply.into_response(), &date, plain);
                answered += 1;
                continue;
            }
        }
        let body = RequestBody::new(StreamBody::new(recv, &parts.headers), limits.body);
        let mut req = Request::from_parts(parts, body);
        req.extensions_mut().insert(Peer(peer));
        tokio::spawn(serve_stream(
            service.clone(),
            req,
            respond,
            activity.start(),
        ));
    }
    if answered > 0 {
        app.metrics.count_direct_h2(answered);
    }
}

/// Answer one stream with the service, unless the client resets it first (then the service's
/// future is dropped, as hyper does).
async fn serve_stream(
    service: Arc<Service>,
    req: Request<RequestBody<StreamBody>>,
    mut respond: SendResponse<Body>,
    busy: super::io::Busy,
) {
    let response = {
        let handled = pin!(handle(service, req));
        let reset = poll_fn(|cx| respond.poll_reset(cx));
        tokio::select! {
            r = handled => {
                let Ok(response) = r;
                response
            }
            _ = reset => return,
        }
    };
    let (head, body) = response.into_parts();
    // A `Full` body is one frame, ready at once.
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(never) => match never {},
    };
    send(
        respond,
        Response::from_parts(head, Body::from(body)),
        &http_date(),
        false,
    );
    drop(busy);
}

/// Send `response` on a stream, as hyper would: connection-specific fields removed (unless
/// `plain`: a redirect of the core has none), a `Date`, and `Content-Length` for a body.
fn send(
    mut respond: SendResponse<Body>,
    response: Response<Body>,
    date: &HeaderValue,
    plain: bool,
) {
    let (mut head, body) = response.into_parts();
    if !plain {
        strip_connection_fields(&mut head.headers);
    }
    head.headers
        .entry(header::DATE)
        .or_insert_with(|| date.clone());
    // HEAD's answer has no body (RFC 9110 §9.3.2): its HEADERS frame ends the stream.
    let end = body.is_empty();
    if !end && !head.headers.contains_key(header::CONTENT_LENGTH) {
        head.headers
            .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    }
    match respond.send_response(Response::from_parts(head, ()), end) {
        Ok(mut stream) => {
            if !end {
                // Queued whole; flow control sends it as the client's window allows.
                let _ = stream.send_data(body, true);
            }
        }
        // The stream was reset by the client, or the connection is going away.
        Err(e) => {
            tracing::debug!(error = %e, "could not send a response");
            respond.send_reset(Reason::INTERNAL_ERROR);
        }
    }
}

/// RFC 9113 §8.2.2: fields that are about one HTTP/1.1 connection have no place in HTTP/2.
fn strip_connection_fields(headers: &mut HeaderMap) {
    const FIELDS: [HeaderName; 5] = [
        header::TRANSFER_ENCODING,
        header::UPGRADE,
        header::TE,
        HeaderName::from_static("keep-alive"),
        HeaderName::from_static("proxy-connection"),
    ];
    for name in FIELDS {
        headers.remove(name);
    }
    if let Some(connection) = headers.remove(header::CONNECTION)
        && let Ok(names) = connection.to_str()
    {
        for name in names.split(',') {
            headers.remove(name.trim());
        }
    }
}

/// The keep-alive of a connection: a PING once it has been quiet for the interval, and the
/// connection closed if the answer does not come within [`PING_TIMEOUT`].
struct KeepAlive {
    pings: Option<h2::PingPong>,
    interval: Duration,
    timer: Pin<Box<tokio::time::Sleep>>,
    seen: u64,
    waiting: bool,
}

impl KeepAlive {
    fn new(pings: Option<h2::PingPong>, interval: Duration, activity: &Activity) -> Self {
        KeepAlive {
            pings,
            interval,
            timer: Box::pin(tokio::time::sleep(interval)),
            seen: activity.moves(),
            waiting: false,
        }
    }

    /// Completes when something was done: true if the connection lives on, false if its
    /// ping went unanswered.
    async fn poll(&mut self, activity: &Activity) -> bool {
        poll_fn(|cx| {
            if self.waiting
                && let Some(pings) = &mut self.pings
                && let Poll::Ready(r) = pings.poll_pong(cx)
            {
                self.waiting = false;
                self.seen = activity.moves();
                self.timer.as_mut().reset(Instant::now() + self.interval);
                return Poll::Ready(r.is_ok());
            }
            if self.timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            if self.waiting {
                return Poll::Ready(false);
            }
            let now = activity.moves();
            if now != self.seen {
                self.seen = now;
                self.timer.as_mut().reset(Instant::now() + self.interval);
            } else if let Some(pings) = &mut self.pings
                && pings.send_ping(Ping::opaque()).is_ok()
            {
                self.waiting = true;
                self.timer.as_mut().reset(Instant::now() + PING_TIMEOUT);
            } else {
                self.timer.as_mut().reset(Instant::now() + self.interval);
            }
            Poll::Ready(true)
        })
        .await
    }
}

/// An HTTP/2 request stream as a body: its DATA frames, then its trailers; each frame's
/// flow-control capacity is given back as it is taken (RFC 9113 §6.9).
#[derive(Debug)]
pub(crate) struct StreamBody {
    recv: RecvStream,
    /// `Content-Length`, when the request gave one (h2 holds the stream to it).
    length: Option<u64>,
    data_done: bool,
}

impl StreamBody {
    fn new(recv: RecvStream, headers: &HeaderMap) -> Self {
        let length = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        StreamBody {
            recv,
            length,
            data_done: false,
        }
    }
}

impl hyper::body::Body for StreamBody {
    type Data = Bytes;
    type Error = h2::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, h2::Error>>> {
        let this = self.get_mut();
        if !this.data_done {
            match this.recv.poll_data(cx) {
                Poll::Ready(Some(Ok(data))) => {
                    let _ = this.recv.flow_control().release_capacity(data.len());
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => this.data_done = true,
                Poll::Pending => return Poll::Pending,
            }
        }
        match this.recv.poll_trailers(cx) {
            Poll::Ready(Ok(Some(trailers))) => Poll::Ready(Some(Ok(Frame::trailers(trailers)))),
            Poll::Ready(Ok(None)) => Poll::Ready(None),
            Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.recv.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        match self.length {
            Some(n) => SizeHint::with_exact(n),
            None => SizeHint::default(),
        }
    }
}

thread_local! {
    /// The date the direct HTTP/1.1 path gave last on this thread, as a field value.
    static DATE: RefCell<([u8; super::direct::DATE_LEN], HeaderValue)> =
        const { RefCell::new(([0; super::direct::DATE_LEN], HeaderValue::from_static(""))) };
}

/// Now as an IMF-fixdate (RFC 9110 §5.6.7) field value: the direct HTTP/1.1 path's date,
/// made into a value at most once a second per thread.
fn http_date() -> HeaderValue {
    let date = super::direct::http_date();
    DATE.with(|cell| {
        let mut cached = cell.borrow_mut();
        if cached.0 != date
            && let Ok(value) = HeaderValue::from_bytes(&date)
        {
            *cached = (date, value);
        }
        cached.1.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_preface_is_told_from_its_first_bytes() {
        assert_eq!(is_preface(PREFACE), Some(true));
        assert_eq!(is_preface(&PREFACE[..10]), None);
        assert_eq!(is_preface(b""), None);
        assert_eq!(is_preface(b"PRI * HTTP/1.1\r\n"), Some(false));
        assert_eq!(is_preface(b"GET / HTTP/1.1\r\n\r\n"), Some(false));
    }

    #[test]
    fn connection_fields_are_removed() {
        let mut h = HeaderMap::new();
        h.insert(header::CONNECTION, HeaderValue::from_static("close, x-hop"));
        h.insert("x-hop", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert(header::LOCATION, HeaderValue::from_static("/a"));
        strip_connection_fields(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key(header::LOCATION));
    }
}
