//! The tower layer over someone else's stack: a plain hyper-util client.

mod common;

use bytes::Bytes;
use common::{Server, ok, redirect, reply};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use seeother_client::{FollowLayer, History, Policy};
use tower::{Layer, ServiceExt};

#[tokio::test]
async fn the_layer_follows_by_the_book_over_a_hyper_client() {
    let server = Server::start(|req| match req.target.as_str() {
        "/login" => reply(
            303,
            &[("location", "/home"), ("set-cookie", "sid=1; Path=/")],
            "",
        ),
        "/home" => ok(&format!(
            "{} cookie={:?} body={}",
            req.method,
            req.headers.get("cookie"),
            req.body.len()
        )),
        "/keep" => redirect(308, "/kept"),
        "/kept" => ok(&format!(
            "{} {}",
            req.method,
            String::from_utf8_lossy(&req.body)
        )),
        _ => reply(404, &[], ""),
    })
    .await;
    let hyper: HyperClient<HttpConnector, Full<Bytes>> =
        HyperClient::builder(TokioExecutor::new()).build_http();
    let service = FollowLayer::new(Policy::default()).layer(hyper);

    let request = http::Request::post(server.url("/login"))
        .body(Full::new(Bytes::from_static(b"user=ann")))
        .unwrap();
    let response = service.clone().oneshot(request).await.unwrap();
    let history = response.extensions().get::<History>().unwrap().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "GET cookie=Some(\"sid=1\") body=0");
    assert_eq!(history.hops.len(), 2);
    assert_eq!(history.final_url.as_str(), server.url("/home"));
    assert_eq!(history.hops[0].body_sent, 8);
    assert_eq!(history.hops[0].reused, None, "a foreign stack does not say");

    let request = http::Request::put(server.url("/keep"))
        .body(Full::new(Bytes::from_static(b"data")))
        .unwrap();
    let response = service.oneshot(request).await.unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "PUT data");
}

#[tokio::test]
async fn the_layer_reports_redirect_errors() {
    let server = Server::start(|_| redirect(303, "/again")).await;
    let hyper: HyperClient<HttpConnector, Full<Bytes>> =
        HyperClient::builder(TokioExecutor::new()).build_http();
    let policy = Policy {
        max_redirects: 2,
        ..Policy::default()
    };
    let service = FollowLayer::new(policy).layer(hyper);
    let request = http::Request::get(server.url("/start"))
        .body(Full::default())
        .unwrap();
    let error = service.oneshot(request).await.unwrap_err();
    assert!(
        ["too_many_redirects", "redirect_loop"].contains(&error.kind_name()),
        "{error}"
    );
}
