//! The connector: hyper-util's TCP connector under rustls (ALPN `h2`, `http/1.1`), wrapped so
//! that every new connection carries a label. hyper-util copies a connection's label into the
//! extensions of each response it carries, which tells, per request, whether the connection
//! was new or taken from the pool.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http::Uri;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::{Connected, Connection};

use crate::error::BoxError;

/// The label of one connection.
#[derive(Clone, Debug)]
pub(crate) struct ConnectionLabel {
    /// Unique within one connector (and its clones).
    pub(crate) id: u64,
    used: Arc<AtomicBool>,
}

impl ConnectionLabel {
    /// Mark a response as received on this connection; true when an earlier one was.
    pub(crate) fn reused(&self) -> bool {
        self.used.swap(true, Ordering::SeqCst)
    }
}

/// A connector whose connections carry a [`ConnectionLabel`].
#[derive(Clone, Debug)]
pub(crate) struct LabelingConnector<C> {
    inner: C,
    next_id: Arc<AtomicU64>,
}

impl<C> LabelingConnector<C> {
    pub(crate) fn new(inner: C) -> Self {
        Self {
            inner,
            next_id: Arc::new(AtomicU64::new(1)),
        }
    }

    /// How many connections have been opened.
    pub(crate) fn opened(&self) -> u64 {
        self.next_id.load(Ordering::SeqCst) - 1
    }
}

impl<C> tower::Service<Uri> for LabelingConnector<C>
where
    C: tower::Service<Uri>,
    C::Future: Send + 'static,
    C::Error: Into<BoxError>,
{
    type Response = Labeled<C::Response>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connecting = self.inner.call(uri);
        let next_id = self.next_id.clone();
        Box::pin(async move {
            let io = connecting.await.map_err(Into::into)?;
            let label = ConnectionLabel {
                id: next_id.fetch_add(1, Ordering::SeqCst),
                used: Arc::new(AtomicBool::new(false)),
            };
            Ok(Labeled { io, label })
        })
    }
}

/// A connection with its label.
#[derive(Debug)]
pub(crate) struct Labeled<T> {
    io: T,
    label: ConnectionLabel,
}

impl<T: Connection> Connection for Labeled<T> {
    fn connected(&self) -> Connected {
        self.io.connected().extra(self.label.clone())
    }
}

/// `Read` and `Write` for a wrapper that only adds to what its connection reports: each call
/// goes to the stream in its `io` field.
macro_rules! delegate_io {
    ($wrapper:ident) => {
        impl<T: Read + Unpin> Read for $wrapper<T> {
            fn poll_read(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: ReadBufCursor<'_>,
            ) -> Poll<std::io::Result<()>> {
                Pin::new(&mut self.io).poll_read(cx, buf)
            }
        }

        impl<T: Write + Unpin> Write for $wrapper<T> {
            fn poll_write(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<std::io::Result<usize>> {
                Pin::new(&mut self.io).poll_write(cx, buf)
            }

            fn poll_flush(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
            ) -> Poll<std::io::Result<()>> {
                Pin::new(&mut self.io).poll_flush(cx)
            }

            fn poll_shutdown(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
            ) -> Poll<std::io::Result<()>> {
                Pin::new(&mut self.io).poll_shutdown(cx)
            }

            fn is_write_vectored(&self) -> bool {
                self.io.is_write_vectored()
            }

            fn poll_write_vectored(
                mut self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> Poll<std::io::Result<usize>> {
                Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
            }
        }
    };
}

delegate_io!(Labeled);

/// Fixed addresses for some `host:port` pairs (curl's `--resolve`): a connection to one of them
/// goes to the address given instead of the one the name resolves to. The URL, `Host`, TLS
/// server name and cookies are still the host's; only the TCP connection's address changes.
#[derive(Clone, Debug)]
pub(crate) struct OverrideConnector<C> {
    inner: C,
    overrides: Arc<HashMap<(String, u16), IpAddr>>,
}

impl<C> OverrideConnector<C> {
    pub(crate) fn new(inner: C, overrides: HashMap<(String, u16), IpAddr>) -> Self {
        Self {
            inner,
            overrides: Arc::new(overrides),
        }
    }

    /// The URI to connect to: `uri` with its authority replaced when it has an override.
    fn target(&self, uri: Uri) -> Uri {
        if self.overrides.is_empty() {
            return uri;
        }
        let Some(host) = uri.host() else { return uri };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port = uri
            .port_u16()
            .unwrap_or(if uri.scheme_str() == Some("https") {
                443
            } else {
                80
            });
        let Some(addr) = self.overrides.get(&(host.to_ascii_lowercase(), port)) else {
            return uri;
        };
        let authority = std::net::SocketAddr::new(*addr, port).to_string();
        let mut parts = uri.clone().into_parts();
        match authority.parse() {
            Ok(a) => parts.authority = Some(a),
            Err(_) => return uri,
        }
        Uri::from_parts(parts).unwrap_or(uri)
    }
}

impl<C> tower::Service<Uri> for OverrideConnector<C>
where
    C: tower::Service<Uri>,
    C::Future: Send + 'static,
{
    type Response = Timed<C::Response>;
    type Error = C::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, C::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), C::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let target = self.target(uri);
        let started = Instant::now();
        let connecting = self.inner.call(target);
        Box::pin(async move {
            let io = connecting.await?;
            Ok(Timed {
                io,
                took: ConnectTime(started.elapsed()),
                proxied: false,
            })
        })
    }
}

/// How long a TCP connection took to open (before any TLS handshake), carried in the
/// extensions of each response on it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConnectTime(pub(crate) Duration);

/// A TCP connection with the time it took to open.
#[derive(Debug)]
pub(crate) struct Timed<T> {
    io: T,
    took: ConnectTime,
    /// Whether it goes to an HTTP proxy that takes absolute-form requests.
    proxied: bool,
}

impl<T> Timed<T> {
    /// The same connection, to an HTTP proxy.
    pub(crate) fn proxied(mut self) -> Self {
        self.proxied = true;
        self
    }
}

impl<T: Connection> Connection for Timed<T> {
    fn connected(&self) -> Connected {
        self.io.connected().proxy(self.proxied).extra(self.took)
    }
}

delegate_io!(Timed);
