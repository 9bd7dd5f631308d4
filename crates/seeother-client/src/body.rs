//! Request bodies (replayable or one-shot) and bounded reading of response bodies.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, Full, Limited};
use seeother_core::follow::BodyKind;

use crate::error::BoxError;

/// The body type the client hands to hyper.
pub(crate) type HopBody = UnsyncBoxBody<Bytes, BoxError>;

/// A request body for [`crate::Client::send`]: none, bytes held in full (sent again when a
/// 307/308 asks), or a one-shot stream.
///
/// ```
/// use seeother_client::Body;
/// let form: Body = "user=ann&pass=secret".into();
/// assert!(form.is_replayable());
/// ```
#[derive(Debug, Default)]
pub struct Body(Inner);

#[derive(Default)]
enum Inner {
    #[default]
    Empty,
    Full(Bytes),
    Stream(Option<HopBody>),
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Inner::Empty => f.write_str("Empty"),
            Inner::Full(b) => write!(f, "Full({} bytes)", b.len()),
            Inner::Stream(_) => f.write_str("Stream"),
        }
    }
}

impl Body {
    /// No body.
    pub fn empty() -> Self {
        Body(Inner::Empty)
    }

    /// A stream sent at most once; a redirect that must resend it ends the chain with
    /// `body_not_replayable`.
    pub fn stream<B>(body: B) -> Self
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        Body(Inner::Stream(Some(body.map_err(Into::into).boxed_unsync())))
    }

    /// Whether the body can be sent more than once.
    pub fn is_replayable(&self) -> bool {
        !matches!(self.0, Inner::Stream(_))
    }

    /// The kind the redirect state machine needs.
    pub(crate) fn kind(&self) -> BodyKind {
        match self.0 {
            Inner::Empty => BodyKind::Empty,
            Inner::Full(_) => BodyKind::Replayable,
            Inner::Stream(_) => BodyKind::Streaming,
        }
    }

    /// The exact length when known.
    pub(crate) fn len(&self) -> Option<u64> {
        match &self.0 {
            Inner::Empty => Some(0),
            Inner::Full(b) => Some(b.len() as u64),
            Inner::Stream(_) => None,
        }
    }

    /// The body for one hop, and a counter of the bytes that go out. `None` when a stream was
    /// already sent.
    pub(crate) fn for_hop(&mut self, send: bool) -> Option<(HopBody, Arc<AtomicU64>)> {
        let counter = Arc::new(AtomicU64::new(0));
        let body = match (&mut self.0, send) {
            (_, false) | (Inner::Empty, true) => {
                Empty::new().map_err(|e| match e {}).boxed_unsync()
            }
            (Inner::Full(bytes), true) => {
                counter.store(bytes.len() as u64, Ordering::Relaxed);
                Full::new(bytes.clone())
                    .map_err(|e| match e {})
                    .boxed_unsync()
            }
            (Inner::Stream(stream), true) => {
                let count = counter.clone();
                stream
                    .take()?
                    .map_frame(move |frame| {
                        if let Some(data) = frame.data_ref() {
                            count.fetch_add(data.len() as u64, Ordering::Relaxed);
                        }
                        frame
                    })
                    .boxed_unsync()
            }
        };
        Some((body, counter))
    }
}

impl From<Bytes> for Body {
    fn from(b: Bytes) -> Self {
        Body(Inner::Full(b))
    }
}

impl From<Vec<u8>> for Body {
    fn from(b: Vec<u8>) -> Self {
        Body(Inner::Full(b.into()))
    }
}

impl From<String> for Body {
    fn from(s: String) -> Self {
        Body(Inner::Full(s.into()))
    }
}

impl From<&'static str> for Body {
    fn from(s: &'static str) -> Self {
        Body(Inner::Full(Bytes::from_static(s.as_bytes())))
    }
}

impl From<&'static [u8]> for Body {
    fn from(s: &'static [u8]) -> Self {
        Body(Inner::Full(Bytes::from_static(s)))
    }
}

impl From<()> for Body {
    fn from(_: ()) -> Self {
        Body::empty()
    }
}

/// Read and discard a redirect's body so its connection can go back to the pool; a body larger
/// than `limit` or slower than `budget` is dropped instead, which closes its connection.
pub(crate) async fn drain<B>(body: B, limit: u64, budget: Duration)
where
    B: http_body::Body,
    B::Error: Into<BoxError>,
{
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let _ = tokio::time::timeout(budget, Limited::new(body, limit).collect()).await;
}
