//! The listener: accepts connections (at most `max_connections` at once), optionally over
//! TLS, and serves HTTP/1.1 (keep-alive) and HTTP/2 (h2c by prior knowledge, or h2 by ALPN),
//! on the direct paths or with hyper, under a header-read timeout (from accept), a body deadline, an idle timeout, a
//! header-size cap and a cap on connections per client. On shutdown it stops accepting, lets
//! requests in flight finish, then closes.

mod clients;
mod direct;
mod direct_h2;
mod io;
#[cfg(target_os = "linux")]
mod uring;

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use ipnet::IpNet;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;

use super::body::{BodyDeadline, RequestBody};
use super::peer::Peer;
use super::service::{Service, handle};
use crate::app::App;
use clients::Clients;
use io::{Activity, Tracked};

/// Limits and timeouts of the listener, and its HTTP/1.1 path.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Connections served at once; more wait in the accept queue.
    pub max_connections: usize,
    /// Connections one client address (an IPv6 /64) may hold at once; more are closed as
    /// soon as they are accepted. 0 is no limit (behind a proxy, every client has its address).
    pub max_connections_per_client: usize,
    /// Time a client has to send a request's header block: the first one from the moment
    /// its connection is accepted (TLS handshake included), each later one over HTTP/1.1
    /// from the previous response.
    pub header_read_timeout: Duration,
    /// Time a request body may take to arrive, and the rate that extends it.
    pub body: BodyDeadline,
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
    /// Serve HTTP/2 connections on the direct HTTP/2 path (the default; only with
    /// `fast_path`): plain redirects answered in the connection's task, everything else by
    /// the service in a task per stream. If false, hyper serves HTTP/2.
    pub fast_path_h2: bool,
    /// Run the direct path's plain-text connections on io_uring where the kernel offers it
    /// (the default; Linux only), batching many connections' receives and sends into one
    /// system call; if false, or without io_uring, on tokio's epoll loop.
    pub io_uring: bool,
    /// Reverse proxies whose forwarding fields are believed (`--trust-proxy`): from these
    /// peers only, `Forwarded` / `X-Forwarded-*` give the host, scheme and client address.
    /// Their connections skip the direct path and the per-client connection limit (every
    /// client of a proxy comes from its address).
    pub trusted_proxies: Arc<[IpNet]>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 10_000,
            max_connections_per_client: 256,
            header_read_timeout: Duration::from_secs(10),
            body: BodyDeadline::default(),
            idle_timeout: Duration::from_secs(60),
            max_header_bytes: 16 * 1024,
            shutdown_grace: Duration::from_secs(30),
            fast_path: true,
            fast_path_h2: true,
            io_uring: true,
            trusted_proxies: Arc::default(),
        }
    }
}

impl Limits {
    /// Whether `ip` is one of the trusted proxies.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        super::peer::is_trusted(&self.trusted_proxies, ip)
    }

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

/// hyper's server for a connection whose protocol is not known yet (HTTP/1.1, or HTTP/2 by
/// its preface), or is HTTP/1.1 for sure.
struct Builders {
    auto: auto::Builder<TokioExecutor>,
    /// RFC 9113 §3.4: the HTTP/2 preface opens a connection; one that has spoken HTTP/1.1
    /// stays HTTP/1.1, and a preface later on it is a malformed HTTP/1.1 request.
    http1: auto::Builder<TokioExecutor>,
    /// The direct HTTP/2 path's settings.
    h2: h2::server::Builder,
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
    let builders = Arc::new(Builders {
        auto: builder(&limits),
        http1: builder(&limits).http1_only(),
        h2: direct_h2::builder(&limits),
    });
    let clients = Clients::new(limits.max_connections_per_client);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let (stop_tx, stop_rx) = watch::channel(false);
    let tls = tls.map(tokio_rustls::TlsAcceptor::from);
    app.admin.set_tls(tls.is_some());
    let uring = uring_pool(&app, &limits);
    let service = Arc::new(Service::new(app));
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
        let slot = if limits.trusts(peer.ip()) {
            Some(None)
        } else {
            clients.enter(peer.ip())
        };
        let Some(slot) = slot else {
            service.app().metrics.count_refused_per_client();
            tracing::debug!(%peer, "connection refused: the client holds its maximum");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (service, builders, limits, tls, stop, uring) = (
            service.clone(),
            builders.clone(),
            limits.clone(),
            tls.clone(),
            stop_rx.clone(),
            uring.clone(),
        );
        tokio::spawn(async move {
            let conn = Conn {
                peer,
                // The first request's header block is due this long after accept, whatever
                // the path.
                first_by: Instant::now() + limits.header_read_timeout,
                service,
                builders: &builders,
                limits: &limits,
                activity: Arc::new(Activity::new()),
            };
            conn.start(stream, tls, stop, uring.as_deref()).await;
            drop((permit, slot));
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    if let Some(pool) = &uring {
        pool.stop();
    }
    tracing::info!("shutting down: finishing requests in flight");
    let all = limits.max_connections as u32;
    if tokio::time::timeout(limits.shutdown_grace, permits.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("shutdown grace period over; closing remaining connections");
    }
}

/// The io_uring workers for the direct path, when it is on and the kernel offers them.
#[cfg(target_os = "linux")]
fn uring_pool(app: &Arc<App>, limits: &Limits) -> Option<Arc<uring::Pool>> {
    if !limits.fast_path {
        return None;
    }
    if !limits.io_uring {
        tracing::info!("direct HTTP/1.1 path on epoll (io_uring turned off)");
        return None;
    }
    // One worker per runtime thread, as the connections would spread over them.
    let workers = tokio::runtime::Handle::current().metrics().num_workers();
    match uring::Pool::start(app.clone(), limits, workers) {
        Ok(pool) => {
            tracing::info!(workers, "direct HTTP/1.1 path on io_uring");
            Some(Arc::new(pool))
        }
        Err(e) => {
            tracing::info!(error = %e, "direct HTTP/1.1 path on epoll (no io_uring)");
            None
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn uring_pool(_: &Arc<App>, _: &Limits) -> Option<Arc<Pool>> {
    None
}

/// Stands for the io_uring workers where there are none.
#[cfg(not(target_os = "linux"))]
enum Pool {}

#[cfg(not(target_os = "linux"))]
impl Pool {
    fn stop(&self) {
        match *self {}
    }
}

#[cfg(target_os = "linux")]
use uring::Pool;

/// What a connection is known to speak before its first byte is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Protocol {
    /// HTTP/1.1, or HTTP/2 by prior knowledge (RFC 9113 §3.3): the first bytes tell.
    Unknown,
    /// HTTP/1.1, chosen by ALPN.
    Http1,
    /// HTTP/2, chosen by ALPN.
    Http2,
}

/// One accepted connection and what serving it needs.
struct Conn<'a> {
    peer: SocketAddr,
    /// When the first request's header block is due.
    first_by: Instant,
    service: Arc<Service>,
    builders: &'a Builders,
    limits: &'a Limits,
    activity: Arc<Activity>,
}

impl Conn<'_> {
    /// Serve an accepted connection: the TLS handshake if any, then [`Conn::serve`]; a
    /// plain-text one that would take the direct path goes to the io_uring workers first,
    /// when there are some.
    async fn start(
        self,
        stream: TcpStream,
        tls: Option<tokio_rustls::TlsAcceptor>,
        stop: watch::Receiver<bool>,
        uring: Option<&Pool>,
    ) {
        let first_by = self.first_by;
        match tls {
            None => {
                let direct = self.limits.fast_path && !self.limits.trusts(self.peer.ip());
                #[cfg(target_os = "linux")]
                if let (Some(pool), true) = (uring, direct) {
                    return self.on_uring(stream, pool, stop).await;
                }
                #[cfg(not(target_os = "linux"))]
                let _ = uring;
                let io = Tracked::new(stream, self.activity.clone());
                self.serve(io, Protocol::Unknown, None, stop).await
            }
            Some(acceptor) => {
                let peer = self.peer;
                let handshake = tokio::time::timeout_at(first_by, acceptor.accept(stream)).await;
                match handshake {
                    Ok(Ok(tls_stream)) => {
                        // RFC 7301: the protocol chosen by ALPN; h2 is hyper's from the start.
                        let protocol = match tls_stream.get_ref().1.alpn_protocol() {
                            Some(b"h2") => Protocol::Http2,
                            Some(b"http/1.1") => Protocol::Http1,
                            _ => Protocol::Unknown,
                        };
                        let io = Tracked::new(tls_stream, self.activity.clone());
                        self.serve(io, protocol, None, stop).await
                    }
                    Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                    Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                }
            }
        }
    }

    /// The direct path on an io_uring worker, then [`Conn::serve`] if the worker hands it
    /// back.
    #[cfg(target_os = "linux")]
    async fn on_uring(self, stream: TcpStream, pool: &Pool, stop: watch::Receiver<bool>) {
        let Ok(std) = stream.into_std() else {
            return;
        };
        let outcome = pool.hand(std.into(), self.peer.ip(), self.first_by.into_std());
        let Ok(uring::Outcome::Handoff { fd, read, answered }) = outcome.await else {
            return;
        };
        let Ok(stream) = TcpStream::from_std(std::net::TcpStream::from(fd)) else {
            return;
        };
        if answered {
            self.activity.mark_served();
        }
        let io = Tracked::new(stream, self.activity.clone());
        self.serve(io, Protocol::Unknown, Some((read, answered)), stop)
            .await
    }

    /// Serve a connection: when it may speak HTTP/1.1, on the direct path first (unless it
    /// is off, or `handed` says it has run already: the bytes it read and did not answer,
    /// and whether it answered), then on the HTTP/2 path or with hyper from the first
    /// request the direct path does not answer.
    async fn serve<T>(
        self,
        mut io: Tracked<T>,
        protocol: Protocol,
        handed: Option<(Bytes, bool)>,
        mut stop: watch::Receiver<bool>,
    ) where
        T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let Conn {
            peer,
            first_by,
            service,
            builders,
            limits,
            activity,
        } = self;
        let app = service.app().clone();
        let mut http1 = protocol == Protocol::Http1;
        // A proxy's requests are rewritten from its forwarding fields first: hyper's path.
        let proxy = limits
            .trusts(peer.ip())
            .then(|| limits.trusted_proxies.clone());
        let direct = limits.fast_path && proxy.is_none();
        let mut h2 = direct && limits.fast_path_h2 && protocol == Protocol::Http2;
        let mut handed = handed;
        if handed.is_none() && protocol != Protocol::Http2 && direct {
            let end = direct::serve(
                &mut io,
                &app,
                &activity,
                limits,
                first_by,
                peer.ip(),
                &mut stop,
            )
            .await;
            let direct::End::Handoff { read, answered } = end else {
                return;
            };
            handed = Some((read, answered));
        }
        // Handed over by the direct path (here, or on an io_uring worker).
        if let Some((read, answered)) = handed {
            http1 |= answered;
            // RFC 9113 §3.3: HTTP/2 by prior knowledge opens with the preface.
            let mut read = read;
            if !http1 && limits.fast_path_h2 {
                match direct_h2::is_preface(&read) {
                    Some(yes) => h2 = yes,
                    None => match direct_h2::read_preface(&mut io, read, first_by).await {
                        Some((bytes, yes)) => (read, h2) = (bytes, yes),
                        None => return,
                    },
                }
            }
            if !h2 {
                app.metrics.count_handoff();
            }
            io.unread(read);
        }
        if h2 {
            io.unvectored();
            let conn = direct_h2::serve(
                io,
                &builders.h2,
                &service,
                &activity,
                limits,
                peer,
                &mut stop,
            );
            let first = activity.first_request_by(first_by);
            tokio::select! {
                () = conn => {}
                () = first => {
                    app.metrics.count_header_timeout();
                    tracing::debug!(%peer, "no request within the header timeout of accept");
                }
                _ = activity.idle(limits.idle_timeout) => tracing::debug!("idle connection closed"),
            }
            return;
        }
        let busy = activity.clone();
        let body = limits.body;
        let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
            let mut req = req.map(|b| RequestBody::new(b, body));
            let client = match &proxy {
                Some(trusted) => super::peer::forwarded(&mut req, peer, trusted),
                None => peer,
            };
            req.extensions_mut().insert(Peer(client));
            let service = service.clone();
            let guard = busy.start();
            async move {
                let r = handle(service, req).await;
                drop(guard);
                r
            }
        });
        let builder = if http1 {
            &builders.http1
        } else {
            &builders.auto
        };
        let conn = builder.serve_connection(TokioIo::new(io), service);
        tokio::pin!(conn);
        let first = activity.first_request_by(first_by);
        tokio::pin!(first);
        let mut stopping = false;
        loop {
            tokio::select! {
                r = conn.as_mut() => {
                    if let Err(e) = r {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                    return;
                }
                () = &mut first => {
                    app.metrics.count_header_timeout();
                    tracing::debug!(%peer, "no request within the header timeout of accept");
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
}
