//! Request bodies under a deadline, so a client that trickles a body cannot hold a
//! connection (and the request's task) for ever.
//!
//! The rule is Apache's `mod_reqtimeout` (`RequestReadTimeout body=20,MinRate=500`): a body
//! must be complete within [`BodyDeadline::timeout`] of the request, extended by one second
//! for every [`BodyDeadline::min_rate`] bytes received. Each byte resetting an idle timer
//! would let one byte every few seconds keep a request open indefinitely.

use std::error::Error as StdError;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

/// How long a request body may take to arrive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyDeadline {
    /// Time the whole body may take, before any extension (`--body-timeout`).
    pub timeout: Duration,
    /// Bytes per second that earn one more second (`--body-min-rate`); 0 earns none.
    pub min_rate: u64,
}

impl Default for BodyDeadline {
    fn default() -> Self {
        BodyDeadline {
            timeout: Duration::from_secs(20),
            min_rate: 500,
        }
    }
}

/// The error a [`RequestBody`] ends with when its deadline passes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyTimeout {
    /// Bytes of the body received by then.
    pub received: u64,
    /// How long the body had.
    pub after: Duration,
}

impl fmt::Display for BodyTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the request body did not arrive in time ({} bytes in {:.1} s); send it faster, or \
             in smaller requests",
            self.received,
            self.after.as_secs_f64()
        )
    }
}

impl StdError for BodyTimeout {}

/// Whether a body-reading error (possibly wrapped by `http_body_util::Limited` or a
/// multipart parser) is a [`BodyTimeout`].
pub fn is_timeout(e: &(dyn StdError + 'static)) -> bool {
    causes(e).any(|e| e.is::<BodyTimeout>())
}

/// The status for a request whose body could not be read: `413 Content Too Large` over the
/// size limit (RFC 9110 §15.5.14), `408 Request Timeout` past the deadline (RFC 9110
/// §15.5.9; hyper then closes the connection, as the body was not read to its end), else
/// `400 Bad Request`.
pub fn read_error_status(e: &(dyn StdError + 'static)) -> http::StatusCode {
    if causes(e).any(|e| e.is::<http_body_util::LengthLimitError>()) {
        http::StatusCode::PAYLOAD_TOO_LARGE
    } else if is_timeout(e) {
        http::StatusCode::REQUEST_TIMEOUT
    } else {
        http::StatusCode::BAD_REQUEST
    }
}

fn causes<'a>(
    e: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(e), |&e| e.source())
}

/// A request body that fails with [`BodyTimeout`] once its deadline passes, counted from
/// the first time it is read.
///
/// Nothing is set up until then: a redirect, which never reads its request's body, pays
/// neither a clock read nor a timer.
#[derive(Debug)]
pub struct RequestBody<B = hyper::body::Incoming> {
    inner: B,
    deadline: BodyDeadline,
    received: u64,
    /// When reading began, and the timer, once reading has had to wait.
    timer: Option<(Instant, Pin<Box<Sleep>>)>,
    expired: bool,
}

impl<B> RequestBody<B> {
    /// `inner` under `deadline`.
    pub fn new(inner: B, deadline: BodyDeadline) -> Self {
        RequestBody {
            inner,
            deadline,
            received: 0,
            timer: None,
            expired: false,
        }
    }
}

impl BodyDeadline {
    /// The deadline of a body that began at `start` and has brought `received` bytes: the
    /// timeout, plus a second per `min_rate` bytes.
    fn due(&self, start: Instant, received: u64) -> Instant {
        let earned = match self.min_rate {
            0 => Duration::ZERO,
            rate => Duration::from_secs_f64(received as f64 / rate as f64),
        };
        start + self.timeout + earned
    }
}

impl<B> Body for RequestBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn StdError + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.expired {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.received += data.len() as u64;
                }
                return Poll::Ready(Some(Ok(frame)));
            }
            Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => {}
        }
        let deadline = this.deadline.timeout;
        let (start, timer) = this.timer.get_or_insert_with(|| {
            let start = Instant::now();
            (start, Box::pin(tokio::time::sleep_until(start + deadline)))
        });
        let start = *start;
        // The timer is moved on only when it fires, not for every frame.
        while timer.as_mut().poll(cx).is_ready() {
            let due = this.deadline.due(start, this.received);
            if due <= Instant::now() {
                this.expired = true;
                return Poll::Ready(Some(Err(Box::new(BodyTimeout {
                    received: this.received,
                    after: due - start,
                }))));
            }
            timer.as_mut().reset(due);
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.expired || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use http_body_util::channel::Channel;

    /// A body that sends `n` bytes, one every `every`.
    fn trickle(every: Duration, n: usize) -> Channel<Bytes> {
        let (mut tx, body) = Channel::new(1);
        tokio::spawn(async move {
            for _ in 0..n {
                tokio::time::sleep(every).await;
                if tx.send_data(Bytes::from_static(b"x")).await.is_err() {
                    return;
                }
            }
        });
        body
    }

    const APACHE: BodyDeadline = BodyDeadline {
        timeout: Duration::from_secs(20),
        min_rate: 500,
    };

    #[tokio::test(start_paused = true)]
    async fn a_trickled_body_times_out_though_each_byte_comes_within_the_timeout() {
        let start = Instant::now();
        let body = RequestBody::new(trickle(Duration::from_secs(5), 1000), APACHE);
        let err = body.collect().await.unwrap_err();
        assert!(is_timeout(&*err), "{err}");
        let took = start.elapsed();
        assert!(took >= Duration::from_secs(20), "{took:?}");
        assert!(took < Duration::from_secs(21), "{took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn each_min_rate_bytes_earn_a_second() {
        // 6,000 bytes at 200 a second take 30 s, and earn 12 s: due at 32 s, not at 20 s.
        let (mut tx, inner) = Channel::<Bytes>::new(1);
        tokio::spawn(async move {
            for _ in 0..30 {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let _ = tx.send_data(Bytes::from(vec![b'x'; 200])).await;
            }
        });
        let body = RequestBody::new(inner, APACHE);
        let got = body.collect().await.unwrap().to_bytes();
        assert_eq!(got.len(), 6000);
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_never_comes_times_out_at_the_timeout() {
        let (_tx, inner) = Channel::<Bytes>::new(1);
        let start = Instant::now();
        let err = RequestBody::new(inner, APACHE).collect().await.unwrap_err();
        assert!(is_timeout(&*err));
        assert_eq!(start.elapsed(), Duration::from_secs(20));
        assert!(err.to_string().contains("0 bytes in 20.0 s"), "{err}");
    }
}
