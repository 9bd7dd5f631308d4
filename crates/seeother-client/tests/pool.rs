//! Connection reuse across hops, HTTP/2 over TLS by ALPN, and TLS failures.

mod common;

use common::{Server, number, ok, redirect, tls_pair};
use seeother_client::Client;

#[tokio::test]
async fn a_ten_hop_same_origin_chain_uses_one_connection() {
    let server = Server::start(|req| {
        let n = number(&req.target);
        if n < 10 {
            redirect(303, &format!("/hop/{}", n + 1))
        } else {
            ok("end")
        }
    })
    .await;
    let client = Client::new().unwrap();
    let response = client
        .send(http::Request::get(server.url("/hop/1")).body(()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.body, "end");
    assert_eq!(response.hops().len(), 10);
    assert_eq!(server.accepted(), 1, "every hop over the first connection");
    assert_eq!(client.connections_opened(), 1);
    let reused: Vec<_> = response.hops().iter().map(|h| h.reused).collect();
    assert_eq!(reused[0], Some(false));
    assert!(reused[1..].iter().all(|r| *r == Some(true)), "{reused:?}");

    // A second fetch goes over the same pooled connection as well.
    let again = client
        .send(http::Request::get(server.url("/hop/9")).body(()).unwrap())
        .await
        .unwrap();
    assert_eq!(server.accepted(), 1);
    assert_eq!(again.hops()[0].reused, Some(true));
}

#[tokio::test]
async fn a_redirect_with_a_large_body_is_dropped_with_its_connection() {
    // Bodies over the drain limit are not read: the next hop needs a new connection.
    let server = Server::start(|req| match req.target.as_str() {
        "/big" => common::reply(303, &[("location", "/end")], &"x".repeat(200_000)),
        _ => ok("end"),
    })
    .await;
    let client = Client::builder().drain_limit(1024).build().unwrap();
    let response = client
        .send(http::Request::get(server.url("/big")).body(()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.body, "end");
    assert_eq!(server.accepted(), 2);
    assert_eq!(response.hops()[1].reused, Some(false));
}

#[tokio::test]
async fn https_negotiates_h2_and_reuses_the_connection() {
    let (config, root) = tls_pair();
    let server = Server::start_tls(config, |req| match req.target.as_str() {
        "/a" => redirect(303, "/b"),
        _ => ok(&format!("{:?}", req.version)),
    })
    .await;
    let client = Client::builder()
        .system_roots(false)
        .add_root_certificate(root)
        .build()
        .unwrap();
    let response = client
        .send(http::Request::post(server.url("/a")).body("x").unwrap())
        .await
        .unwrap();
    assert_eq!(response.body, "HTTP/2.0");
    assert_eq!(response.version, http::Version::HTTP_2);
    assert_eq!(server.accepted(), 1);
    assert_eq!(response.hops()[1].reused, Some(true));
    // Over HTTP/2 no Host field is listed: the authority travels as :authority.
    assert!(!response.hops()[0].request_headers.contains_key("host"));
}

#[tokio::test]
async fn an_untrusted_certificate_is_a_tls_error() {
    let (config, _root) = tls_pair();
    let server = Server::start_tls(config, |_| ok("never")).await;
    // The system's roots do not include the test's self-signed certificate.
    let client = Client::new().unwrap();
    let error = client
        .send(http::Request::get(server.url("/")).body(()).unwrap())
        .await
        .unwrap_err();
    assert_eq!(error.kind_name(), "tls", "{error}");
    assert!(server.seen().is_empty());
}

#[tokio::test]
async fn http1_hops_list_the_host_they_sent() {
    let server = Server::start(|_| ok("x")).await;
    let response = Client::new()
        .unwrap()
        .send(http::Request::get(server.url("/")).body(()).unwrap())
        .await
        .unwrap();
    let sent = &response.hops()[0].request_headers;
    assert_eq!(sent["host"], server.addr.to_string());
    assert_eq!(server.seen()[0].headers["host"], sent["host"]);
    assert_eq!(sent["user-agent"], server.seen()[0].headers["user-agent"]);
}

#[tokio::test]
async fn https_to_http_is_refused_unless_allowed() {
    let plain = Server::start(|_| ok("plain")).await;
    let (config, root) = tls_pair();
    let target = plain.url("/landing");
    let secure = Server::start_tls(config, move |_| redirect(303, &target)).await;
    let build = |allow_downgrade| {
        Client::builder()
            .add_root_certificate(root.clone())
            .policy(seeother_client::Policy {
                allow_downgrade,
                ..Default::default()
            })
            .build()
            .unwrap()
    };
    let error = build(false)
        .send(http::Request::get(secure.url("/")).body(()).unwrap())
        .await
        .unwrap_err();
    assert_eq!(error.kind_name(), "insecure_downgrade", "{error}");
    assert!(plain.seen().is_empty());

    let response = build(true)
        .send(http::Request::get(secure.url("/")).body(()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.body, "plain");
    assert_eq!(response.final_url().as_str(), plain.url("/landing"));
}
