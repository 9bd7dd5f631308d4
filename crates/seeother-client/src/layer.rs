//! [`FollowLayer`]: by-the-book redirect following for any `tower::Service<http::Request<_>>`.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http::{Method, Request, Response};
use http_body::Body as HttpBody;
use seeother_core::follow::{BodyKind, Jar, NoJar, Policy, Step};
use url::Url;

use crate::body;
use crate::chain::Chain;
use crate::error::{BoxError, Error, ErrorKind};
use crate::jar::CookieJar;

/// A tower [`Layer`](tower::Layer) that follows redirects with the core's
/// [`Follow`](seeother_core::Follow) state machine, below which any HTTP service can sit (a
/// hyper-util client, another tower stack).
///
/// The wrapped service must accept absolute-form URIs. The request body must be `Clone` (it is
/// sent again on 307/308) and `Default` (the empty body of a request rewritten to GET). The
/// eventual response gets a [`History`](crate::History) in its extensions; its body is not read.
///
/// ```
/// use seeother_client::{FollowLayer, History, Policy};
/// use tower::{Layer, Service, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// // A stand-in service: /old answers 303 to /new, everything else 200.
/// let inner = tower::service_fn(|req: http::Request<String>| async move {
///     let res = if req.uri().path() == "/old" {
///         http::Response::builder().status(303).header("location", "/new").body(String::new())
///     } else {
///         http::Response::builder().status(200).body(format!("{} {}", req.method(), req.uri()))
///     };
///     Ok::<_, std::convert::Infallible>(res.unwrap())
/// });
/// let mut service = FollowLayer::new(Policy::default()).layer(inner);
/// let req = http::Request::post("http://example.test/old").body("a=1".to_owned()).unwrap();
/// let res = service.ready().await.unwrap().call(req).await.unwrap();
/// assert_eq!(res.body(), "GET http://example.test/new");
/// assert_eq!(res.extensions().get::<History>().unwrap().hops.len(), 2);
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct FollowLayer {
    policy: Policy,
    cookies: Cookies,
    drain_limit: u64,
    drain_timeout: Duration,
}

#[derive(Clone, Debug)]
enum Cookies {
    Off,
    PerRequest,
    Shared(CookieJar),
}

impl Default for FollowLayer {
    fn default() -> Self {
        Self::new(Policy::default())
    }
}

impl FollowLayer {
    /// Follow under `policy`, with a fresh cookie jar for each original request.
    pub fn new(policy: Policy) -> Self {
        Self {
            policy,
            cookies: Cookies::PerRequest,
            drain_limit: 64 << 10,
            drain_timeout: Duration::from_secs(1),
        }
    }

    /// Keep a cookie jar per original request (`true`, the default) or none.
    pub fn cookies(mut self, on: bool) -> Self {
        self.cookies = if on {
            Cookies::PerRequest
        } else {
            Cookies::Off
        };
        self
    }

    /// Share one jar across all requests through this layer.
    pub fn jar(mut self, jar: CookieJar) -> Self {
        self.cookies = Cookies::Shared(jar);
        self
    }

    /// The largest redirect body read and discarded, and how long to wait for it; beyond either,
    /// it is dropped. Defaults: 64 KiB, 1 s. Draining needs a Tokio runtime with time enabled.
    pub fn drain(mut self, limit: u64, timeout: Duration) -> Self {
        self.drain_limit = limit;
        self.drain_timeout = timeout;
        self
    }
}

impl<S> tower::Layer<S> for FollowLayer {
    type Service = FollowService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        FollowService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service made by [`FollowLayer`].
#[derive(Clone, Debug)]
pub struct FollowService<S> {
    inner: S,
    layer: FollowLayer,
}

impl<S, ReqB, ResB> tower::Service<Request<ReqB>> for FollowService<S>
where
    S: tower::Service<Request<ReqB>, Response = Response<ResB>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    ReqB: HttpBody + Clone + Default + Send + 'static,
    ResB: HttpBody + Send + 'static,
    ResB::Data: Send,
    ResB::Error: Into<BoxError>,
{
    type Response = Response<ResB>;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<ResB>, Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner
            .poll_ready(cx)
            .map_err(|e| service_error(e.into(), 1, Method::GET, None))
    }

    fn call(&mut self, request: Request<ReqB>) -> Self::Future {
        // The ready clone goes with the call (tower's usual swap).
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let layer = self.layer.clone();
        Box::pin(async move {
            match layer.cookies.clone() {
                Cookies::Off => drive(inner, request, NoJar, &layer).await,
                Cookies::PerRequest => drive(inner, request, CookieJar::new(), &layer).await,
                Cookies::Shared(jar) => drive(inner, request, jar, &layer).await,
            }
        })
    }
}

fn service_error(e: BoxError, hop: usize, method: Method, url: Option<Url>) -> Error {
    Error::new(ErrorKind::Service, hop, method, url, Some(e))
}

async fn drive<S, ReqB, ResB, J>(
    mut inner: S,
    request: Request<ReqB>,
    jar: J,
    layer: &FollowLayer,
) -> Result<Response<ResB>, Error>
where
    S: tower::Service<Request<ReqB>, Response = Response<ResB>>,
    S::Error: Into<BoxError>,
    ReqB: HttpBody + Clone + Default,
    ResB: HttpBody,
    ResB::Error: Into<BoxError>,
    J: Jar,
{
    let (parts, body) = request.into_parts();
    let url = crate::request_url(&parts)?;
    let kind = if body.is_end_stream() {
        BodyKind::Empty
    } else {
        BodyKind::Replayable
    };
    let mut chain = Chain::start(
        layer.policy.clone(),
        parts.method,
        url,
        parts.headers,
        kind,
        jar,
    )?;
    loop {
        if chain.number() > 1 {
            if let Err(e) = poll_fn(|cx| inner.poll_ready(cx)).await {
                return Err(chain.fail(ErrorKind::Service, Some(e.into())));
            }
        }
        let send_body = chain.request().send_body;
        let hop_body = if send_body {
            body.clone()
        } else {
            ReqB::default()
        };
        let body_sent = if send_body {
            hop_body.size_hint().exact().unwrap_or(0)
        } else {
            0
        };
        let mut wire = chain.wire(hop_body)?;
        *wire.version_mut() = parts.version;
        *wire.extensions_mut() = parts.extensions.clone();
        let request_headers = wire.headers().clone();

        let started = Instant::now();
        let (mut head, response_body) = match inner.call(wire).await {
            Ok(r) => r.into_parts(),
            Err(e) => return Err(chain.fail(ErrorKind::Service, Some(e.into()))),
        };
        match chain.on_response(&head, request_headers, body_sent) {
            Ok(Step::Redirect(_)) => {
                body::drain(response_body, layer.drain_limit, layer.drain_timeout).await;
                chain.followed(started);
            }
            Ok(Step::Done) => {
                chain.end(started);
                head.extensions.insert(chain.into_history());
                return Ok(Response::from_parts(head, response_body));
            }
            Err(e) => return Err(chain.refused(started, e)),
        }
    }
}
