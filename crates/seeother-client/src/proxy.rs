//! Proxies (curl's `-x` and `HTTP_PROXY` / `HTTPS_PROXY` / `ALL_PROXY` / `NO_PROXY`): an
//! `http://` URL goes to the proxy as an absolute-form request (RFC 9112 §3.2.2); an
//! `https://` one through a `CONNECT` tunnel (RFC 9110 §9.3.6), with TLS to the origin inside
//! it. Which URLs go through which proxy is hyper-util's `Matcher`, which reads the variables
//! as curl does.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::Uri;
use hyper_util::client::legacy::connect::proxy::Tunnel;
pub(crate) use hyper_util::client::proxy::matcher::Matcher;

use crate::connect::Timed;
use crate::error::BoxError;

/// A connector that opens connections through the proxy the matcher names, if any.
#[derive(Clone, Debug)]
pub(crate) struct ProxyConnector<C> {
    inner: C,
    matcher: Option<std::sync::Arc<Matcher>>,
}

impl<C> ProxyConnector<C> {
    pub(crate) fn new(inner: C, matcher: Option<std::sync::Arc<Matcher>>) -> Self {
        Self { inner, matcher }
    }
}

/// The `Proxy-Authorization` for a plain-http request to `uri`, when it goes through a proxy
/// with credentials (RFC 9110 §11.7.2; an https one sends them with its `CONNECT`).
pub(crate) fn http_auth(matcher: &Matcher, uri: &Uri) -> Option<http::HeaderValue> {
    if uri.scheme_str() != Some("http") {
        return None;
    }
    matcher.intercept(uri)?.basic_auth().cloned()
}

impl<C, T> tower::Service<Uri> for ProxyConnector<C>
where
    C: tower::Service<Uri, Response = Timed<T>> + Clone + Send + 'static,
    C::Future: Send + 'static,
    C::Error: Into<BoxError>,
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    type Response = Timed<T>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Timed<T>, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let intercept = self.matcher.as_ref().and_then(|m| m.intercept(&uri));
        let Some(intercept) = intercept else {
            let connecting = self.inner.call(uri);
            return Box::pin(async move { connecting.await.map_err(Into::into) });
        };
        let proxy = intercept.uri().clone();
        if uri.scheme_str() == Some("https") {
            let mut tunnel = Tunnel::new(proxy.clone(), self.inner.clone());
            if let Some(auth) = intercept.basic_auth() {
                tunnel = tunnel.with_auth(auth.clone());
            }
            return Box::pin(async move {
                let tunnelled = async {
                    std::future::poll_fn(|cx| tunnel.poll_ready(cx)).await?;
                    tunnel.call(uri).await
                };
                tunnelled.await.map_err(|e| proxy_error(&proxy, e.into()))
            });
        }
        let connecting = self.inner.call(proxy.clone());
        Box::pin(async move {
            let io = connecting
                .await
                .map_err(|e| proxy_error(&proxy, e.into()))?;
            // hyper then writes the request line in absolute form.
            Ok(io.proxied())
        })
    }
}

/// A failure to reach or use the proxy, naming it (without its credentials).
fn proxy_error(proxy: &Uri, e: BoxError) -> BoxError {
    let shown = match (proxy.host(), proxy.port_u16()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        _ => "the proxy".to_owned(),
    };
    Box::new(ProxyError { shown, source: e })
}

#[derive(Debug)]
struct ProxyError {
    shown: String,
    source: BoxError,
}

impl std::fmt::Display for ProxyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "through the proxy {}", self.shown)
    }
}

impl std::error::Error for ProxyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.source.as_ref())
    }
}
