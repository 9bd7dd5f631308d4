//! The `reqwest` feature: a reqwest client under the FollowLayer, against loopback servers.
#![cfg(feature = "reqwest")]

mod common;

use bytes::Bytes;
use common::{Server, ok, redirect, reply};
use http_body_util::{BodyExt, Full};
use seeother_client::{History, Policy};
use tower::ServiceExt;

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn reqwest_follows_by_the_book_with_the_hops_in_the_extensions() {
    let other = Server::start(|req| {
        ok(&format!(
            "{} auth={:?}",
            req.method,
            req.headers.get("authorization")
        ))
    })
    .await;
    let elsewhere = other.url("/landing");
    let server = Server::start(move |req| match req.target.as_str() {
        "/login" => reply(
            303,
            &[("location", "/home"), ("set-cookie", "sid=7; Path=/")],
            "",
        ),
        "/home" => ok(&format!(
            "{} cookie={:?} body={}",
            req.method,
            req.headers.get("cookie"),
            req.body.len()
        )),
        "/keep" => redirect(307, "/kept"),
        "/kept" => ok(&format!(
            "{} {}",
            req.method,
            String::from_utf8_lossy(&req.body)
        )),
        "/away" => redirect(302, &elsewhere),
        _ => reply(404, &[], ""),
    })
    .await;
    let service = seeother_client::reqwest::follow(no_redirects(), Policy::default());

    // POST → 303 → GET, the cookie of the first answer sent with the second request.
    let request = http::Request::post(server.url("/login"))
        .body(Full::new(Bytes::from_static(b"user=ann")))
        .unwrap();
    let response = service.clone().oneshot(request).await.unwrap();
    let history = response.extensions().get::<History>().unwrap().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "GET cookie=Some(\"sid=7\") body=0");
    assert_eq!(history.hops.len(), 2);
    assert_eq!(history.hops[0].status, 303);
    assert_eq!(history.hops[0].method, "POST");
    assert_eq!(history.hops[1].method, "GET");
    assert_eq!(history.final_url.as_str(), server.url("/home"));

    // 307 keeps the method and the body.
    let request = http::Request::put(server.url("/keep"))
        .body(Full::new(Bytes::from_static(b"data")))
        .unwrap();
    let response = service.clone().oneshot(request).await.unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "PUT data");

    // Authorization stays behind when the chain leaves the origin.
    let request = http::Request::get(server.url("/away"))
        .header("authorization", "Bearer secret")
        .body(Full::default())
        .unwrap();
    let response = service.clone().oneshot(request).await.unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "GET auth=None");
    let seen = server.seen();
    let away = seen.iter().find(|s| s.target == "/away").unwrap();
    assert_eq!(away.headers.get("authorization").unwrap(), "Bearer secret");
}

#[tokio::test]
async fn a_redirect_loop_through_reqwest_is_the_layers_error() {
    let server = Server::start(|_| redirect(302, "/again")).await;
    let service = seeother_client::reqwest::follow(no_redirects(), Policy::default());
    let request = http::Request::get(server.url("/again"))
        .body(Full::default())
        .unwrap();
    let error = service.oneshot(request).await.unwrap_err();
    assert_eq!(error.kind_name(), "redirect_loop", "{error}");
}
