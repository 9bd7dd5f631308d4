//! The listener: accepts connections (at most `max_connections` at once), optionally over
//! TLS, and serves HTTP/1.1 (keep-alive) and HTTP/2 (h2c by prior knowledge, or h2 by ALPN)
//! with hyper, under a header-read timeout, an idle timeout and a header-size cap. On shutdown
//! it stops accepting, lets requests in flight finish, then closes.

mod direct;
mod io;

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

use super::peer::Peer;
use super::service::{App, handle};
use io::{Activity, Tracked};

/// Limits and timeouts of the listener, and its HTTP/1.1 path.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Connections served at once; more wait in the accept queue.
    pub max_connections: usize,
    /// Time a client has to send a request's header block.
    pub header_read_timeout: Duration,
    /// A connection with no traffic and no request in flight for this long is closed.
    pub idle_timeout: Duration,
    /// Largest request header block, in bytes (over HTTP/1.1 never below 8,192: see
    /// [`Limits::http1_header_bytes`]).
    pub max_header_bytes: usize,
    /// How long shutdown waits for requests in flight.
    pub shutdown_grace: Duration,
    /// Answer HTTP/1.1 `GET`, `HEAD` and `POST` requests for identifiers directly, and
    /// hand a connection to hyper at its first other request (the default); if false, hyper
    /// serves every connection from its first byte.
    pub fast_path: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 10_000,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_header_bytes: 16 * 1024,
            shutdown_grace: Duration::from_secs(30),
            fast_path: true,
        }
    }
}

impl Limits {
    /// The largest HTTP/1.1 header block served, on either path: `max_header_bytes`, but not
    /// below hyper's smallest read buffer (8,192 bytes), under which it cannot be set.
    pub fn http1_header_bytes(&self) -> usize {
        self.max_header_bytes.max(8192)
    }
}

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read.
    #[error("cannot read {path}: {reason}; give a PEM file")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The certificate and key do not make a TLS configuration.
    #[error("TLS certificate/key rejected: {0}; check that the key belongs to the certificate")]
    Config(#[from] rustls::Error),
}

/// A TLS configuration from a PEM certificate chain and a PEM private key, offering h2 and
/// http/1.1 by ALPN.
pub fn tls_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let read_err = |path: &Path, e: &dyn std::fmt::Display| TlsError::Read {
        path: path.to_owned(),
        reason: e.to_string(),
    };
    let certs = CertificateDer::pem_file_iter(cert)
        .map_err(|e| read_err(cert, &e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| read_err(cert, &e))?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| read_err(key, &e))?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn builder(limits: &Limits) -> auto::Builder<TokioExecutor> {
    let mut b = auto::Builder::new(TokioExecutor::new());
    b.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true)
        // Responses are small: copying the body into hyper's buffer and writing once costs
        // less than a vectored write of the header block and the note's parts (measured).
        .writev(false)
        .max_buf_size(limits.http1_header_bytes());
    b.http2()
        .timer(TokioTimer::new())
        .max_header_list_size(limits.max_header_bytes as u32)
        .max_concurrent_streams(256)
        .keep_alive_interval(Some(limits.idle_timeout / 2))
        .keep_alive_timeout(Duration::from_secs(20));
    b
}

/// Serve `app` on `listener` until `shutdown` completes; then stop accepting and wait (at
/// most `limits.shutdown_grace`) for requests in flight.
pub async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    limits: Limits,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()>,
) {
    let builder = Arc::new(builder(&limits));
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let (stop_tx, stop_rx) = watch::channel(false);
    let tls = tls.map(tokio_rustls::TlsAcceptor::from);
    app.admin.set_tls(tls.is_some());
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            _ = &mut shutdown => break,
            p = permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
        };
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            r = listener.accept() => match r {
                Ok(s) => s,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let (app, builder, limits, tls, stop) = (
            app.clone(),
            builder.clone(),
            limits.clone(),
            tls.clone(),
            stop_rx.clone(),
        );
        tokio::spawn(async move {
            connection(stream, peer, app, &builder, &limits, tls, stop).await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    tracing::info!("shutting down: finishing requests in flight");
    let all = limits.max_connections as u32;
    if tokio::time::timeout(limits.shutdown_grace, permits.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("shutdown grace period over; closing remaining connections");
    }
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Arc<App>,
    builder: &auto::Builder<TokioExecutor>,
    limits: &Limits,
    tls: Option<tokio_rustls::TlsAcceptor>,
    stop: watch::Receiver<bool>,
) {
    let activity = Arc::new(Activity::new());
    match tls {
        None => {
            let io = Tracked::new(stream, activity.clone());
            serve_io(io, true, peer, app, builder, limits, activity, stop).await
        }
        Some(acceptor) => {
            let handshake =
                tokio::time::timeout(limits.header_read_timeout, acceptor.accept(stream)).await;
            match handshake {
                Ok(Ok(tls_stream)) => {
                    // RFC 7301: the protocol chosen by ALPN; h2 is hyper's from the start.
                    let h2 = tls_stream.get_ref().1.alpn_protocol() == Some(b"h2");
                    let io = Tracked::new(tls_stream, activity.clone());
                    serve_io(io, !h2, peer, app, builder, limits, activity, stop).await
                }
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        }
    }
}

/// Serve a connection: when it may speak HTTP/1.1 (`h1`), on the direct path first (unless
/// it is off), then with hyper from the first request the direct path does not answer.
#[allow(clippy::too_many_arguments)]
async fn serve_io<T>(
    mut io: Tracked<T>,
    h1: bool,
    peer: SocketAddr,
    app: Arc<App>,
    builder: &auto::Builder<TokioExecutor>,
    limits: &Limits,
    activity: Arc<Activity>,
    mut stop: watch::Receiver<bool>,
) where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    if h1 && limits.fast_path {
        let end = direct::serve(&mut io, &app, &activity, limits, &mut stop).await;
        let direct::End::Handoff(read) = end else {
            return;
        };
        io.unread(read);
    }
    let busy = activity.clone();
    let service = service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(Peer(peer));
        let app = app.clone();
        let guard = busy.start();
        async move {
            let r = handle(app, req).await;
            drop(guard);
            r
        }
    });
    let conn = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    let mut stopping = false;
    loop {
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            _ = activity.idle(limits.idle_timeout) => {
                tracing::debug!("idle connection closed");
                return;
            }
            _ = stop.changed(), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}
