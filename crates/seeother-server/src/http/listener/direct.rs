//! The direct HTTP/1.1 path: plain `GET`, `HEAD` and `POST` requests for identifiers,
//! answered without hyper.
//!
//! An HTTP/1.1 connection (plain text, or TLS where ALPN chose no other protocol) is read here
//! first. Each complete simple request (see [`seeother_core::h1`]) outside `/-/` is answered
//! by the same hot path hyper's requests take ([`redirect`]), and all the answers to one read
//! leave in one write. The first request that is anything else (another method, a chunked
//! body, `/-/`, HTTP/2's preface, HTTP/1.0, a request not complete in what was read, a
//! malformed message) hands the connection to hyper with the bytes read and not yet
//! answered; hyper serves the rest of it, with its own limits and timeouts.

use std::borrow::Cow;
use std::cell::RefCell;
use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::Version;
use http::header::{HeaderName, REFERER, USER_AGENT};
use seeother_core::h1::{self, Parsed};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;
use tokio::time::Instant;

use super::Limits;
use super::io::Activity;
use crate::app::App;
use crate::http::service::{Target, redirect};
use crate::rule::RESERVED_PREFIX;

/// Bytes read at most at once: a few dozen pipelined requests.
pub(super) const READ_SIZE: usize = 8 * 1024;

/// How the direct path left a connection.
pub(super) enum End {
    /// Closed: by the client, on an error, idle or at shutdown.
    Closed,
    /// For hyper (or the direct HTTP/2 path, when `read` is HTTP/2's preface) to serve from
    /// here on, starting with `read`, the bytes already read;
    /// `answered` if the direct path answered a request first (the connection has spoken
    /// HTTP/1.1).
    Handoff { read: Bytes, answered: bool },
}

/// Serve `io` until the client closes it, sends no request by `first_by` (the header timeout
/// from accept), is quiet between requests for the header timeout (as hyper's header timer
/// runs from one response to the next request), stalls for `limits.idle_timeout`, the server
/// stops, or a request comes that the direct path does not answer.
pub(super) async fn serve<T>(
    io: &mut T,
    app: &App,
    activity: &Activity,
    limits: &Limits,
    first_by: Instant,
    client: IpAddr,
    stop: &mut watch::Receiver<bool>,
) -> End
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    let idle = activity.idle(limits.header_read_timeout.min(limits.idle_timeout));
    let first = tokio::time::sleep_until(first_by);
    let stopped = stop.changed();
    tokio::pin!(idle, first, stopped);
    let mut buf = Vec::with_capacity(READ_SIZE);
    // Allocated at the first answer: a connection that sends nothing holds only `buf`.
    let mut out = Vec::new();
    let mut served = false;
    loop {
        // Nothing is buffered and nothing is owed: the one place to stop or give up.
        buf.clear();
        let read = tokio::select! {
            biased;
            _ = &mut stopped => return End::Closed,
            r = io.read_buf(&mut buf) => r,
            () = &mut first, if !served => {
                app.metrics.count_header_timeout();
                return End::Closed;
            }
            () = &mut idle => return End::Closed,
        };
        if !matches!(read, Ok(n) if n > 0) {
            return End::Closed;
        }
        let turn = answer(app, limits, client, &buf, &mut out);
        if turn.answered > 0 {
            if !served {
                served = true;
                activity.mark_served();
            }
            // RFC 9112 §9.3.2: responses to pipelined requests go in the requests' order.
            // Flushed too: a TLS stream may hold the last record back until then.
            let wrote = tokio::select! {
                biased;
                r = async {
                    io.write_all(&out).await?;
                    io.flush().await
                } => r,
                () = &mut idle => return End::Closed,
            };
            if wrote.is_err() {
                return End::Closed;
            }
            out.clear();
        }
        if turn.handoff {
            return End::Handoff {
                read: Bytes::copy_from_slice(&buf[turn.used..]),
                answered: served,
            };
        }
    }
}

/// What one read came to: the requests answered, and whether the connection goes to hyper.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Turn {
    /// Bytes of the read taken by the requests answered.
    pub(super) used: usize,
    /// Requests answered (their responses appended to `out`, in order).
    pub(super) answered: usize,
    /// Whether a request the direct path does not answer starts at `used` (or is not
    /// complete there): the connection is hyper's from there, with `read[used..]`.
    pub(super) handoff: bool,
}

/// Answer the complete simple requests at the start of `read` (one read from a client),
/// appending their responses to `out`, and count them (the listener counts a handoff to
/// hyper when it hands the connection over). Both event loops (tokio's here and
/// the io_uring one) call this, so a protocol question has one answer.
pub(super) fn answer(
    app: &App,
    limits: &Limits,
    client: IpAddr,
    read: &[u8],
    out: &mut Vec<u8>,
) -> Turn {
    let date = http_date();
    let mut at = 0;
    let mut answered = 0;
    // The fields rule groups read: none for most rule sets, and then no allocation (the
    // access log, when there is one, keeps `Referer` and `User-Agent` too).
    let index = app.catalog.index();
    let keep: Cow<'_, [HeaderName]> = match &app.access {
        None => Cow::Borrowed(index.reads()),
        Some(_) => Cow::Owned(
            index
                .reads()
                .iter()
                .cloned()
                .chain([REFERER, USER_AGENT])
                .collect(),
        ),
    };
    let handoff = loop {
        match h1::parse_keeping(&read[at..], &keep) {
            // A header block over the limit is hyper's to refuse (431), as it would be.
            Parsed::Simple(req)
                if !req.path.starts_with(RESERVED_PREFIX)
                    && req.head_len <= limits.http1_header_bytes() =>
            {
                let target = Target {
                    method: &req.method,
                    authority: Some(req.host),
                    path: req.path,
                    query: req.query,
                    headers: &req.headers,
                    client: Some(client),
                    version: Version::HTTP_11,
                };
                redirect(app, &target).write_h1(&req.method, &date, out);
                at += req.len;
                answered += 1;
                if at == read.len() {
                    break false;
                }
            }
            _ => break true,
        }
    };
    if answered > 0 {
        app.metrics.count_direct(answered as u64);
    }
    Turn {
        used: at,
        answered,
        handoff,
    }
}

/// Length of an IMF-fixdate (RFC 9110 §5.6.7), e.g. `Tue, 24 Nov 2026 23:00:00 GMT`.
pub(super) const DATE_LEN: usize = 29;

thread_local! {
    /// The date of the last second asked for on this thread, formatted once.
    static DATE: RefCell<(u64, [u8; DATE_LEN])> = const { RefCell::new((u64::MAX, [0; DATE_LEN])) };
}

/// Now as an IMF-fixdate, formatted at most once a second per thread.
pub(super) fn http_date() -> [u8; DATE_LEN] {
    let now = SystemTime::now();
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    DATE.with(|cell| {
        let mut cached = cell.borrow_mut();
        if cached.0 != secs {
            let text = httpdate::fmt_http_date(now);
            if let Ok(bytes) = <[u8; DATE_LEN]>::try_from(text.as_bytes()) {
                *cached = (secs, bytes);
            }
        }
        cached.1
    })
}
