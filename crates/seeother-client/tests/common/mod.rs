//! Loopback test servers: hyper over a real TCP listener, recording every request and
//! counting accepted connections.
#![allow(dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

/// A request as the server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: Method,
    /// Path and query, as sent on the wire.
    pub target: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub version: http::Version,
}

/// What the handler answers.
pub enum Reply {
    Response(http::Response<Full<Bytes>>),
    /// Never answer (until the test ends).
    Hang,
}

pub fn ok(body: &str) -> Reply {
    Reply::Response(http::Response::new(Full::new(Bytes::from(body.to_owned()))))
}

pub fn redirect(status: u16, location: &str) -> Reply {
    Reply::Response(
        http::Response::builder()
            .status(StatusCode::from_u16(status).unwrap())
            .header("location", location)
            .body(Full::new(Bytes::from_static(b"see other")))
            .unwrap(),
    )
}

pub fn reply(status: u16, headers: &[(&str, &str)], body: &str) -> Reply {
    let mut b = http::Response::builder().status(status);
    for (n, v) in headers {
        b = b.header(*n, *v);
    }
    Reply::Response(b.body(Full::new(Bytes::from(body.to_owned()))).unwrap())
}

type Handler = Arc<dyn Fn(&Seen) -> Reply + Send + Sync>;

/// A loopback HTTP server (HTTP/1.1 and HTTP/2 prior knowledge; TLS with ALPN when given a
/// config), stopped when dropped.
pub struct Server {
    pub addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
    scheme: &'static str,
    host: String,
}

impl Server {
    pub async fn start(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Server {
        Self::start_inner(Arc::new(handler), None).await
    }

    pub async fn start_tls(
        tls: Arc<rustls::ServerConfig>,
        handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static,
    ) -> Server {
        Self::start_inner(Arc::new(handler), Some(tls)).await
    }

    async fn start_inner(handler: Handler, tls: Option<Arc<rustls::ServerConfig>>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let scheme = if tls.is_some() { "https" } else { "http" };
        let host = if tls.is_some() {
            format!("localhost:{}", addr.port())
        } else {
            addr.to_string()
        };
        let task = {
            let accepted = accepted.clone();
            let seen = seen.clone();
            let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
            tokio::spawn(async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        return;
                    };
                    accepted.fetch_add(1, Ordering::SeqCst);
                    let handler = handler.clone();
                    let seen = seen.clone();
                    let acceptor = acceptor.clone();
                    tokio::spawn(async move {
                        let service =
                            service_fn(move |req: http::Request<hyper::body::Incoming>| {
                                let handler = handler.clone();
                                let seen = seen.clone();
                                async move {
                                    let (parts, body) = req.into_parts();
                                    let body = body.collect().await.map(|c| c.to_bytes());
                                    let record = Seen {
                                        method: parts.method,
                                        target: parts
                                            .uri
                                            .path_and_query()
                                            .map(|p| p.to_string())
                                            .unwrap_or_default(),
                                        headers: parts.headers,
                                        body: body.unwrap_or_default(),
                                        version: parts.version,
                                    };
                                    seen.lock().unwrap().push(record.clone());
                                    match handler(&record) {
                                        Reply::Response(r) => Ok::<_, Infallible>(r),
                                        Reply::Hang => {
                                            tokio::time::sleep(Duration::from_secs(600)).await;
                                            Ok(http::Response::new(Full::new(Bytes::new())))
                                        }
                                    }
                                }
                            });
                        let builder =
                            hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                        match acceptor {
                            Some(acceptor) => {
                                if let Ok(tls) = acceptor.accept(stream).await {
                                    let _ =
                                        builder.serve_connection(TokioIo::new(tls), service).await;
                                }
                            }
                            None => {
                                let _ = builder
                                    .serve_connection(TokioIo::new(stream), service)
                                    .await;
                            }
                        }
                    });
                }
            })
        };
        Server {
            addr,
            accepted,
            seen,
            task,
            scheme,
            host,
        }
    }

    /// An absolute URL on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}://{}{}", self.scheme, self.host, path)
    }

    /// The requests received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A self-signed certificate for `localhost`, and a server config offering h2 and http/1.1.
pub fn tls_pair() -> (
    Arc<rustls::ServerConfig>,
    rustls::pki_types::CertificateDer<'static>,
) {
    tls_pair_for(&["localhost"])
}

/// A self-signed certificate for these names, and a server config offering h2 and http/1.1.
pub fn tls_pair_for(
    names: &[&str],
) -> (
    Arc<rustls::ServerConfig>,
    rustls::pki_types::CertificateDer<'static>,
) {
    let names = names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    let cert = rcgen::generate_simple_self_signed(names).unwrap();
    let der = cert.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::try_from(cert.key_pair.serialize_der()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![der.clone()], key)
        .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    (Arc::new(config), der)
}

/// The `Host` a request was sent with, without the port.
pub fn host(seen: &Seen) -> String {
    let host = seen
        .headers
        .get("host")
        .map(|h| h.to_str().unwrap().to_owned());
    let host = host.unwrap_or_default();
    host.rsplit_once(':')
        .map_or(host.clone(), |(h, _)| h.to_owned())
}

/// A loopback port with nothing listening on it.
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A path number from `/prefix/N`.
pub fn number(target: &str) -> u32 {
    target.rsplit('/').next().unwrap().parse().unwrap()
}
