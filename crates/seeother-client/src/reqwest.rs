//! The `reqwest` feature: seeother's following for a [`reqwest::Client`].
//!
//! reqwest's own redirect policy sees only the status and the URLs: no history of the hops,
//! no say over each hop's header fields. [`ReqwestService`] wraps a reqwest client that does
//! not follow redirects itself ([`reqwest::redirect::Policy::none`]) as a tower `Service`, and
//! [`follow`] puts it under [`FollowLayer`]: the core's state machine then decides every hop
//! (methods, bodies, `Authorization` and cookies dropped across origins, loops), and the
//! eventual response carries a [`crate::History`] in its extensions.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use bytes::Bytes;
//! use http_body_util::Full;
//! use seeother_client::{History, Policy};
//! use tower::ServiceExt;
//!
//! let reqwest = reqwest::Client::builder()
//!     .redirect(reqwest::redirect::Policy::none())
//!     .build()?;
//! let service = seeother_client::reqwest::follow(reqwest, Policy::default());
//! let request = http::Request::post("http://127.0.0.1:8080/login")
//!     .body(Full::new(Bytes::from_static(b"user=ann")))?;
//! let response = service.oneshot(request).await?;
//! for hop in &response.extensions().get::<History>().unwrap().hops {
//!     println!("{} {} {}", hop.method, hop.url, hop.status);
//! }
//! # Ok(()) }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use tower::Layer;

use crate::{FollowLayer, FollowService, Policy};

/// A [`reqwest::Client`] as a tower `Service` of `http` requests, for [`FollowLayer`]: one
/// request, one response, no redirect followed (that is the layer's work).
#[derive(Clone, Debug)]
pub struct ReqwestService {
    client: reqwest::Client,
}

impl ReqwestService {
    /// Wrap `client`. Build it with `.redirect(reqwest::redirect::Policy::none())`: a client
    /// that follows redirects itself hides them from the layer.
    pub fn new(client: reqwest::Client) -> Self {
        Self { client }
    }
}

impl tower::Service<http::Request<Full<Bytes>>> for ReqwestService {
    type Response = http::Response<reqwest::Body>;
    type Error = reqwest::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Full<Bytes>>) -> Self::Future {
        let client = self.client.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            // A `Full` body is one chunk already there; it cannot fail.
            let bytes = match body.collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(never) => match never {},
            };
            let request = reqwest::Request::try_from(http::Request::from_parts(parts, bytes))?;
            let response = client.execute(request).await?;
            Ok(http::Response::from(response))
        })
    }
}

/// `client` under [`FollowLayer`] with `policy`: send it `http::Request<Full<Bytes>>`s.
pub fn follow(client: reqwest::Client, policy: Policy) -> FollowService<ReqwestService> {
    FollowLayer::new(policy).layer(ReqwestService::new(client))
}
