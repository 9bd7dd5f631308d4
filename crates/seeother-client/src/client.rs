//! [`Client`]: hyper's pooled client, driven hop by hop by the core's
//! [`Follow`](seeother_core::Follow) state machine through [`Chain`].

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::header::{ACCEPT, CONTENT_LENGTH, HOST, USER_AGENT};
use http::{HeaderMap, HeaderValue, Method};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use seeother_core::follow::{BodyKind, Jar, NoJar, Policy, Step};
use url::Url;

use crate::body::{self, Body, HopBody};
use crate::chain::Chain;
use crate::check::Hosts;
use crate::connect::{LabelingConnector, OverrideConnector};
use crate::error::{BoxError, Error, ErrorKind, Timeout};
use crate::history::Response;
use crate::jar::CookieJar;
use crate::proxy::{Matcher, ProxyConnector};
use crate::stream::{BodyStream, StreamingResponse};

type Connector =
    LabelingConnector<HttpsConnector<ProxyConnector<OverrideConnector<HttpConnector>>>>;

/// A redirect-following HTTP client: HTTP/1.1 and HTTP/2 (ALPN) over `http://` and `https://`,
/// with a connection pool, timeouts, a body size limit and a per-fetch cookie jar.
///
/// Cheap to clone: clones share the pool.
///
/// ```no_run
/// # async fn demo() -> Result<(), seeother_client::Error> {
/// let client = seeother_client::Client::new()?;
/// let request = http::Request::post("http://127.0.0.1:8080/login")
///     .header("content-type", "application/x-www-form-urlencoded")
///     .body("user=ann&pass=secret")
///     .expect("a valid request");
/// let response = client.send(request).await?; // POST → 303 → GET, signed in
/// for hop in response.hops() {
///     println!("{} {} {}", hop.method, hop.url, hop.status);
/// }
/// println!("{} bytes from {}", response.body.len(), response.final_url());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Client {
    hyper: HyperClient<Connector, HopBody>,
    connector: Connector,
    config: Arc<Config>,
}

#[derive(Clone, Debug)]
struct Config {
    policy: Policy,
    follow: bool,
    cookies: bool,
    connect_timeout: Option<Duration>,
    hop_timeout: Option<Duration>,
    chain_timeout: Option<Duration>,
    max_body: u64,
    drain_limit: u64,
    decompress: bool,
    default_headers: HeaderMap,
    proxy: Option<Arc<Matcher>>,
    /// Per-host places every hop waits for (a [`crate::check::Checker`]'s).
    gate: Option<Arc<Hosts>>,
}

/// Settings for a [`Client`].
#[derive(Clone, Debug)]
pub struct ClientBuilder {
    config: Config,
    roots: Vec<CertificateDer<'static>>,
    system_roots: bool,
    insecure: bool,
    pool_idle_timeout: Duration,
    overrides: HashMap<(String, u16), IpAddr>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        let mut default_headers = HeaderMap::new();
        default_headers.insert(
            USER_AGENT,
            HeaderValue::from_static(concat!("seeother/", env!("CARGO_PKG_VERSION"))),
        );
        default_headers.insert(ACCEPT, HeaderValue::from_static("*/*"));
        Self {
            config: Config {
                policy: Policy::default(),
                follow: true,
                cookies: true,
                connect_timeout: Some(Duration::from_secs(10)),
                hop_timeout: Some(Duration::from_secs(30)),
                chain_timeout: Some(Duration::from_secs(300)),
                max_body: 64 << 20,
                drain_limit: 64 << 10,
                decompress: false,
                default_headers,
                proxy: None,
                gate: None,
            },
            roots: Vec::new(),
            system_roots: true,
            insecure: false,
            pool_idle_timeout: Duration::from_secs(90),
            overrides: HashMap::new(),
        }
    }
}

impl ClientBuilder {
    /// The redirect policy (limit, POST on 301/302, downgrades, `Referer`, sensitive headers).
    pub fn policy(mut self, policy: Policy) -> Self {
        self.config.policy = policy;
        self
    }

    /// Follow redirects (the default). When off, the first response is the answer, whatever its
    /// status, as with curl without `-L`.
    pub fn follow_redirects(mut self, follow: bool) -> Self {
        self.config.follow = follow;
        self
    }

    /// Keep an in-memory cookie jar for the length of each [`Client::send`] (the default).
    pub fn cookies(mut self, on: bool) -> Self {
        self.config.cookies = on;
        self
    }

    /// Time allowed to open a TCP connection. Default 10 s; `None` waits for the system.
    pub fn connect_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.config.connect_timeout = timeout;
        self
    }

    /// Time allowed for one request: connecting, the response head and its body. Default 30 s.
    pub fn hop_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.config.hop_timeout = timeout;
        self
    }

    /// Time allowed for the whole chain of requests. Default 300 s.
    pub fn chain_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.config.chain_timeout = timeout;
        self
    }

    /// The largest final response body accepted, in bytes. Default 64 MiB.
    pub fn max_body_size(mut self, bytes: u64) -> Self {
        self.config.max_body = bytes;
        self
    }

    /// The largest redirect body read (and discarded) to keep its connection; a larger one is
    /// dropped with its connection. Default 64 KiB.
    pub fn drain_limit(mut self, bytes: u64) -> Self {
        self.config.drain_limit = bytes;
        self
    }

    /// A header field sent with every request unless the request sets it (defaults:
    /// `User-Agent: seeother/VERSION`, `Accept: */*`). `None` removes a default.
    pub fn default_header(mut self, name: http::HeaderName, value: Option<HeaderValue>) -> Self {
        match value {
            Some(v) => {
                self.config.default_headers.insert(name, v);
            }
            None => {
                self.config.default_headers.remove(name);
            }
        }
        self
    }

    /// Ask for and decode compressed final bodies (curl's `--compressed`): `Accept-Encoding:
    /// gzip, deflate, br, zstd` by default, and a final body in those codings comes decoded as
    /// it is read, the body size limit counting decoded bytes. Header fields stay as received
    /// (`Content-Encoding`, `Content-Length` of the coded body). Off by default.
    pub fn decompress(mut self, on: bool) -> Self {
        self.config.decompress = on;
        if on {
            self.config.default_headers.insert(
                http::header::ACCEPT_ENCODING,
                HeaderValue::from_static(crate::decode::ACCEPT_ENCODING),
            );
        } else {
            self.config
                .default_headers
                .remove(http::header::ACCEPT_ENCODING);
        }
        self
    }

    /// Trust this root certificate (DER) as well.
    pub fn add_root_certificate(mut self, der: CertificateDer<'static>) -> Self {
        self.roots.push(der);
        self
    }

    /// Trust the certificates of a PEM file's contents as roots as well.
    pub fn add_root_certificates_pem(mut self, pem: &[u8]) -> Result<Self, rustls::Error> {
        let mut found = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| rustls::Error::General(format!("bad PEM: {e}")))?;
            self.roots.push(cert);
            found += 1;
        }
        if found == 0 {
            return Err(rustls::Error::General(
                "no CERTIFICATE block in the PEM data".to_owned(),
            ));
        }
        Ok(self)
    }

    /// Accept any server certificate, unchecked (curl's `-k`/`--insecure`): anyone on the path
    /// can then read and change the traffic. For tests against a server whose certificate
    /// cannot be had; adding it with [`ClientBuilder::add_root_certificates_pem`] is better.
    pub fn danger_accept_invalid_certs(mut self, on: bool) -> Self {
        self.insecure = on;
        self
    }

    /// Trust the system's root certificates (the default).
    pub fn system_roots(mut self, on: bool) -> Self {
        self.system_roots = on;
        self
    }

    /// Connect to `addr` for every URL whose host is `host` and whose port is `port` (curl's
    /// `--resolve host:port:addr`), instead of resolving `host`. Everything else (the `Host`
    /// field, the TLS server name, which cookies go) is still decided by the URL.
    pub fn resolve(mut self, host: &str, port: u16, addr: IpAddr) -> Self {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        self.overrides
            .insert((host.to_ascii_lowercase(), port), addr);
        self
    }

    /// Send every request through the proxy at `url` (`http://[user:password@]host:port`;
    /// curl's `-x`), except to the hosts of `no_proxy` (`NO_PROXY`'s syntax: names, domains
    /// with a leading dot, IP addresses and CIDR ranges, comma-separated, `*` for all). An
    /// `https://` URL goes through a `CONNECT` tunnel. No proxy is used by default.
    pub fn proxy(mut self, url: &str, no_proxy: &str) -> Self {
        self.config.proxy = Some(Arc::new(Matcher::builder().all(url).no(no_proxy).build()));
        self
    }

    /// Use the proxies named by the environment as curl does: `HTTP_PROXY`/`http_proxy`,
    /// `HTTPS_PROXY`/`https_proxy`, `ALL_PROXY`, `NO_PROXY` (ignored in a CGI script, where
    /// `HTTP_PROXY` could come from a request's `Proxy` header field).
    pub fn proxy_from_env(mut self) -> Self {
        self.config.proxy = Some(Arc::new(Matcher::from_env()));
        self
    }

    /// Make every hop wait for a place under `hosts`' limits first.
    pub(crate) fn gate(mut self, hosts: Arc<Hosts>) -> Self {
        self.config.gate = Some(hosts);
        self
    }

    /// Build the client. Must be called within a Tokio runtime only when sending.
    pub fn build(self) -> Result<Client, Error> {
        let tls = crate::tls::client_config(self.roots, self.system_roots, self.insecure).map_err(
            |e| {
                Error::new(
                    ErrorKind::Tls,
                    0,
                    Method::GET,
                    None,
                    Some(Box::new(e) as BoxError),
                )
            },
        )?;
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(self.config.connect_timeout);
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(ProxyConnector::new(
                OverrideConnector::new(http, self.overrides),
                self.config.proxy.clone(),
            ));
        let connector = LabelingConnector::new(https);
        let hyper = HyperClient::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .pool_idle_timeout(self.pool_idle_timeout)
            .build(connector.clone());
        Ok(Client {
            hyper,
            connector,
            config: Arc::new(self.config),
        })
    }
}

impl Client {
    /// A client with the default settings.
    pub fn new() -> Result<Self, Error> {
        ClientBuilder::default().build()
    }

    /// Settings for a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// How many connections this client (and its clones) has opened so far.
    pub fn connections_opened(&self) -> u64 {
        self.connector.opened()
    }

    /// Send `request` (its URI must be an absolute `http` or `https` URL), follow the redirects
    /// its responses ask for, and return the eventual result with every hop. A fresh cookie jar
    /// lives for the length of the call unless cookies are off.
    pub async fn send(&self, request: http::Request<impl Into<Body>>) -> Result<Response, Error> {
        self.send_streaming(request).await?.into_buffered().await
    }

    /// [`Client::send`] with the caller's jar, e.g. one loaded from a cookie file and saved after.
    pub async fn send_with_jar(
        &self,
        request: http::Request<impl Into<Body>>,
        jar: &CookieJar,
    ) -> Result<Response, Error> {
        self.send_streaming_with_jar(request, jar)
            .await?
            .into_buffered()
            .await
    }

    /// Like [`Client::send`], but the final body is not read: it comes as a [`BodyStream`]
    /// to read chunk by chunk (a file download keeps one chunk in memory at a time). The body
    /// size limit and the hop and chain deadlines still apply to it.
    pub async fn send_streaming(
        &self,
        request: http::Request<impl Into<Body>>,
    ) -> Result<StreamingResponse, Error> {
        let request = request.map(Into::into);
        if self.config.cookies {
            self.run(request, CookieJar::new()).await
        } else {
            self.run(request, NoJar).await
        }
    }

    /// [`Client::send_streaming`] with the caller's jar.
    pub async fn send_streaming_with_jar(
        &self,
        request: http::Request<impl Into<Body>>,
        jar: &CookieJar,
    ) -> Result<StreamingResponse, Error> {
        self.run(request.map(Into::into), jar.clone()).await
    }

    async fn run<J: Jar>(
        &self,
        request: http::Request<Body>,
        jar: J,
    ) -> Result<StreamingResponse, Error> {
        let config = &self.config;
        let chain_started = Instant::now();
        let (parts, mut body) = request.into_parts();
        let url = crate::request_url(&parts)?;
        let mut headers = parts.headers;
        for (name, value) in &config.default_headers {
            if !headers.contains_key(name) {
                headers.insert(name, value.clone());
            }
        }
        let mut chain = Chain::start(
            config.policy.clone(),
            parts.method,
            url,
            headers,
            body.kind(),
            jar,
        )?;
        loop {
            // Held until the hop is over: for the last one, until its body is dropped.
            let permit = match &config.gate {
                Some(hosts) => Some(hosts.enter(&chain.request().url).await),
                None => None,
            };
            let started = Instant::now();
            let deadline = self.hop_deadline(started, chain_started);
            let send_body = chain.request().send_body;
            let Some((hop_body, sent)) = body.for_hop(send_body) else {
                return Err(chain.not_replayable());
            };
            let mut wire = chain.wire(hop_body)?;
            if let (true, BodyKind::Replayable, Some(len)) = (send_body, body.kind(), body.len()) {
                // RFC 9110 §8.6: a user agent sends Content-Length with content of known length.
                wire.headers_mut()
                    .insert(CONTENT_LENGTH, HeaderValue::from(len));
            }
            let proxy_auth = config
                .proxy
                .as_deref()
                .and_then(|m| crate::proxy::http_auth(m, wire.uri()));
            // Sent to the proxy, and not in the hop's record of what the origin received.
            let sent_headers = wire.headers().clone();
            if let Some(auth) = proxy_auth {
                wire.headers_mut()
                    .insert(http::header::PROXY_AUTHORIZATION, auth);
            }

            let answer = match deadline {
                Some((at, limit)) => {
                    match tokio::time::timeout_at(at.into(), self.hyper.request(wire)).await {
                        Ok(r) => r,
                        Err(_) => return Err(chain.fail(ErrorKind::Timeout(limit), None)),
                    }
                }
                None => self.hyper.request(wire).await,
            };
            let response = match answer {
                Ok(r) => r,
                Err(e) => {
                    let kind = classify(&e, config.connect_timeout);
                    return Err(chain.fail(kind, Some(Box::new(e))));
                }
            };
            let (head, incoming) = response.into_parts();
            let request_headers = headers_sent(&chain.request().url, head.version, sent_headers);
            let body_sent = sent.load(std::sync::atomic::Ordering::Relaxed);
            let step = chain.on_response(&head, request_headers, body_sent);
            // With following off, whatever came back is the answer (curl without -L).
            let done = !config.follow || matches!(step, Ok(Step::Done));
            match step {
                _ if done => {
                    chain.end(started);
                    let context = (
                        chain.number(),
                        chain.request().method.clone(),
                        chain.request().url.clone(),
                    );
                    let history = chain.into_history();
                    // RFC 9110 §6.4.1: HEAD, 204 and 304 have no content to decode.
                    let has_content =
                        context.1 != Method::HEAD && !matches!(head.status.as_u16(), 204 | 304);
                    let mut body = BodyStream::new(
                        incoming,
                        config.max_body,
                        deadline,
                        started,
                        (context.0, context.1, context.2, history.clone()),
                    )
                    .holding(permit);
                    if let Some(codings) = crate::decode::codings(&head.headers)
                        .filter(|_| config.decompress && has_content)
                    {
                        body = body.decoding(&codings);
                    }
                    return Ok(StreamingResponse {
                        status: head.status,
                        version: head.version,
                        headers: head.headers,
                        history,
                        body,
                    });
                }
                Ok(_) => {
                    let budget =
                        deadline.map(|(at, _)| at.saturating_duration_since(Instant::now()));
                    let drain_budget = budget.unwrap_or(Duration::from_secs(5));
                    body::drain(incoming, config.drain_limit, drain_budget).await;
                    chain.followed(started);
                }
                Err(e) => return Err(chain.refused(started, e)),
            }
        }
    }

    /// When the current hop must be over, and which limit that is.
    fn hop_deadline(&self, started: Instant, chain_started: Instant) -> Option<(Instant, Timeout)> {
        let hop = self
            .config
            .hop_timeout
            .map(|d| (started + d, Timeout::Hop(d)));
        let chain = self
            .config
            .chain_timeout
            .map(|d| (chain_started + d, Timeout::Chain(d)));
        match (hop, chain) {
            (Some(h), Some(c)) => Some(if c.0 < h.0 { c } else { h }),
            (h, c) => h.or(c),
        }
    }
}

/// The header fields that went out: hyper writes `Host` from the URL's authority on HTTP/1
/// (RFC 9112 §3.2); HTTP/2 carries it as `:authority` instead (RFC 9113 §8.3.1). `url` may
/// keep its fragment: only its host and port are read.
fn headers_sent(url: &Url, version: http::Version, sent: HeaderMap) -> HeaderMap {
    if version >= http::Version::HTTP_2 || sent.contains_key(HOST) {
        return sent;
    }
    let host = match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        (None, _) => return sent,
    };
    let mut out = HeaderMap::with_capacity(sent.len() + 1);
    if let Ok(v) = HeaderValue::from_str(&host) {
        out.insert(HOST, v);
    }
    out.extend(sent);
    out
}

/// Sort a hyper-util failure into connect, timeout, TLS or protocol.
fn classify(e: &hyper_util::client::legacy::Error, connect: Option<Duration>) -> ErrorKind {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut timed_out = false;
    while let Some(err) = next {
        if err.is::<rustls::Error>() {
            return ErrorKind::Tls;
        }
        // io::Error hides what it wraps from `source()`; look inside, layer by layer.
        let mut inner = Some(err);
        while let Some(io) = inner.and_then(|e| e.downcast_ref::<std::io::Error>()) {
            timed_out |= io.kind() == std::io::ErrorKind::TimedOut;
            let wrapped = io
                .get_ref()
                .map(|e| e as &(dyn std::error::Error + 'static));
            if wrapped.is_some_and(|e| e.is::<rustls::Error>()) {
                return ErrorKind::Tls;
            }
            inner = wrapped;
        }
        next = err.source();
    }
    if e.is_connect() {
        match (timed_out, connect) {
            (true, Some(d)) => ErrorKind::Timeout(Timeout::Connect(d)),
            _ => ErrorKind::Connect,
        }
    } else {
        ErrorKind::Protocol
    }
}
