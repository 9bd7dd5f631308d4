//! A connection's I/O, watched for activity so idle connections can be closed.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Whether a connection moves bytes, and how many requests it has in flight.
///
/// Activity is counted, not timed: reading the clock on every read and write would cost more
/// than the count, and idleness only needs to be known to a fraction of the limit.
#[derive(Debug, Default)]
pub(super) struct Activity {
    /// Reads, writes and finished requests so far.
    moves: AtomicU64,
    in_flight: AtomicUsize,
    /// Whether a request has been answered or handed to the service yet.
    served: AtomicBool,
}

/// Marks a request in flight until dropped.
pub(super) struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// How many looks at a connection's activity make up one idle limit.
const LOOKS_PER_LIMIT: u32 = 4;

impl Activity {
    pub(super) fn new() -> Self {
        Activity::default()
    }

    #[inline]
    fn touch(&self) {
        // One task drives the connection: no other writer races this count, and the idle
        // watcher only needs to see that it changed.
        let n = self.moves.load(Ordering::Relaxed);
        self.moves.store(n.wrapping_add(1), Ordering::Relaxed);
    }

    /// Reads, writes and finished requests so far: a count that changes while the
    /// connection is active.
    pub(super) fn moves(&self) -> u64 {
        self.moves.load(Ordering::Relaxed)
    }

    /// Count a request in flight until the returned guard is dropped.
    pub(super) fn start(self: &Arc<Self>) -> Busy {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.mark_served();
        Busy(self.clone())
    }

    /// Record that a whole request head has arrived.
    pub(super) fn mark_served(&self) {
        self.served.store(true, Ordering::Relaxed);
    }

    /// Completes at `deadline` if no request has arrived by then; never, if one has.
    pub(super) async fn first_request_by(&self, deadline: tokio::time::Instant) {
        tokio::time::sleep_until(deadline).await;
        if self.served.load(Ordering::Relaxed) {
            std::future::pending::<()>().await;
        }
    }

    /// Completes once the connection has been idle (no bytes, no request in flight) for
    /// `limit` (give or take a quarter of it).
    pub(super) async fn idle(&self, limit: Duration) {
        let step = limit / LOOKS_PER_LIMIT;
        let mut seen = self.moves.load(Ordering::Relaxed);
        let mut quiet = 0;
        loop {
            tokio::time::sleep(step).await;
            let now = self.moves.load(Ordering::Relaxed);
            if now != seen || self.in_flight.load(Ordering::Relaxed) > 0 {
                seen = now;
                quiet = 0;
            } else {
                quiet += 1;
                if quiet >= LOOKS_PER_LIMIT {
                    return;
                }
            }
        }
    }
}

/// An I/O stream that records activity, and gives back first any bytes read from it already
/// (so a connection the direct path has started reading can be handed to hyper as it stands).
pub(super) struct Tracked<T> {
    inner: T,
    activity: Arc<Activity>,
    unread: bytes::Bytes,
    /// Whether to offer vectored writes when the stream has them.
    vectored: bool,
}

impl<T> Tracked<T> {
    pub(super) fn new(inner: T, activity: Arc<Activity>) -> Self {
        Tracked {
            inner,
            activity,
            unread: bytes::Bytes::new(),
            vectored: true,
        }
    }

    /// Say that writes are not vectored, whatever the stream can do: `h2` then copies DATA
    /// frames under 1 KiB into its write buffer rather than chaining them, and a batch of
    /// small responses leaves in one write (each chained frame is written on its own).
    pub(super) fn unvectored(&mut self) {
        self.vectored = false;
    }

    /// Give `bytes` back: the next reads return them before reading the stream again.
    pub(super) fn unread(&mut self, bytes: bytes::Bytes) {
        self.unread = bytes;
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Tracked<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        if !this.unread.is_empty() {
            let n = this.unread.len().min(buf.remaining());
            buf.put_slice(&this.unread.split_to(n));
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        let r = Pin::new(&mut this.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.activity.touch();
        }
        r
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Tracked<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write(cx, data);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.touch();
        }
        r
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.touch();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.vectored && self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
