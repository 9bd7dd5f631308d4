//! Where a chain stops: redirect limit, loops, timeouts, size limits, dead or broken peers.

mod common;

use std::time::{Duration, Instant};

use common::{Server, closed_port, number, ok, redirect, reply};
use seeother_client::{Body, Client, ErrorKind, Timeout};

#[tokio::test]
async fn a_thirty_hop_chain_stops_at_the_limit() {
    let server = Server::start(|req| {
        let n = number(&req.target);
        if n < 30 {
            redirect(303, &format!("/hop/{}", n + 1))
        } else {
            ok("end")
        }
    })
    .await;
    let client = Client::new().unwrap();
    let error = client
        .send(http::Request::get(server.url("/hop/0")).body(()).unwrap())
        .await
        .unwrap_err();
    assert_eq!(error.kind_name(), "too_many_redirects", "{error}");
    // 20 redirects followed: 21 requests sent, the 21st redirect refused.
    let hops = &error.history().unwrap().hops;
    assert_eq!(hops.len(), 21);
    assert_eq!(server.seen().len(), 21);
    assert_eq!(error.hop(), 21);

    // A smaller limit stops sooner; 0 follows none.
    for limit in [3, 0] {
        let client = Client::builder()
            .policy(seeother_client::Policy {
                max_redirects: limit,
                ..Default::default()
            })
            .build()
            .unwrap();
        let error = client
            .send(http::Request::get(server.url("/hop/0")).body(()).unwrap())
            .await
            .unwrap_err();
        assert_eq!(error.kind_name(), "too_many_redirects");
        assert_eq!(error.history().unwrap().hops.len(), limit as usize + 1);
    }
}

#[tokio::test]
async fn a_loop_is_reported_as_such() {
    let server = Server::start(|req| match req.target.as_str() {
        "/a" => redirect(303, "/b"),
        "/b" => redirect(302, "/c"),
        _ => redirect(301, "/a"),
    })
    .await;
    let error = Client::new()
        .unwrap()
        .send(http::Request::get(server.url("/a")).body(()).unwrap())
        .await
        .unwrap_err();
    assert_eq!(error.kind_name(), "redirect_loop", "{error}");
    // /a, /b, /c, then /a again, whose second 303 to /b is the loop.
    assert_eq!(server.seen().len(), 4, "the loop is seen before the limit");
    let a = server.url("/a");
    let cycle = format!("{a} → {} → {} → {a}", server.url("/b"), server.url("/c"));
    assert!(error.to_string().contains(&cycle), "{error}");
}

#[tokio::test]
async fn a_hop_that_hangs_hits_the_timeout() {
    let server = Server::start(|req| match req.target.as_str() {
        "/start" => redirect(303, "/stuck"),
        _ => common::Reply::Hang,
    })
    .await;
    let client = Client::builder()
        .hop_timeout(Some(Duration::from_millis(300)))
        .build()
        .unwrap();
    let started = Instant::now();
    let error = client
        .send(http::Request::get(server.url("/start")).body(()).unwrap())
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(error.kind_name(), "timeout");
    assert!(matches!(error.kind(), ErrorKind::Timeout(Timeout::Hop(_))));
    assert_eq!(error.hop(), 2, "{error}");
    assert!(error.to_string().contains("/stuck"), "{error}");

    // The whole-chain limit applies too.
    let client = Client::builder()
        .hop_timeout(None)
        .chain_timeout(Some(Duration::from_millis(300)))
        .build()
        .unwrap();
    let error = client
        .send(http::Request::get(server.url("/start")).body(()).unwrap())
        .await
        .unwrap_err();
    assert!(matches!(
        error.kind(),
        ErrorKind::Timeout(Timeout::Chain(_))
    ));
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused() {
    let big = "x".repeat(10_000);
    let server = Server::start(move |_| ok(&big)).await;
    let client = Client::builder().max_body_size(1000).build().unwrap();
    let error = client
        .send(http::Request::get(server.url("/big")).body(()).unwrap())
        .await
        .unwrap_err();
    assert_eq!(error.kind_name(), "body_too_large");
    let client = Client::builder().max_body_size(10_000).build().unwrap();
    let response = client
        .send(http::Request::get(server.url("/big")).body(()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.body.len(), 10_000);
}

#[tokio::test]
async fn a_streamed_body_comes_in_pieces_under_the_same_limit() {
    let big = "y".repeat(3 << 20);
    // /go → 303 → /done, which answers the body.
    let server = Server::start(move |req| match req.target.as_str() {
        "/go" => redirect(303, "/done"),
        _ => ok(&big),
    })
    .await;
    let client = Client::builder().max_body_size(4 << 20).build().unwrap();
    let mut response = client
        .send_streaming(http::Request::post(server.url("/go")).body("a=1").unwrap())
        .await
        .unwrap();
    assert_eq!(response.hops().len(), 2, "the 303 was followed first");
    assert_eq!(response.body.expected(), Some(3 << 20));
    let (mut pieces, mut total) = (0, 0);
    while let Some(chunk) = response.body.chunk().await.unwrap() {
        assert!(chunk.iter().all(|b| *b == b'y'));
        pieces += 1;
        total += chunk.len();
    }
    assert_eq!(total, 3 << 20);
    assert!(pieces > 1, "the body came in one piece: it was buffered");
    assert_eq!(response.body.received(), 3 << 20);

    // A Content-Length over the limit fails before a byte is read, as an error of the hop.
    let client = Client::builder().max_body_size(1 << 20).build().unwrap();
    let mut response = client
        .send_streaming(http::Request::get(server.url("/go")).body(()).unwrap())
        .await
        .unwrap();
    let error = response.body.chunk().await.unwrap_err();
    assert_eq!(error.kind_name(), "body_too_large");
    assert_eq!(error.hop(), 2);
    assert_eq!(error.history().unwrap().hops.len(), 2);
    assert_eq!(response.body.received(), 0);
}

#[tokio::test]
async fn nothing_listening_is_a_connect_error() {
    let url = format!("http://127.0.0.1:{}/", closed_port());
    let error = Client::new()
        .unwrap()
        .send(http::Request::get(url.as_str()).body(()).unwrap())
        .await
        .unwrap_err();
    assert_eq!(error.kind_name(), "connect", "{error}");
    assert_eq!(error.hop(), 1);
    assert!(error.history().unwrap().hops.is_empty());
}

#[tokio::test]
async fn garbage_from_the_server_is_a_protocol_error() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 1024];
        let _ = stream.read(&mut buf).await;
        let _ = stream.write_all(b"NOT HTTP AT ALL\r\n\r\n").await;
    });
    let error = Client::new()
        .unwrap()
        .send(
            http::Request::get(format!("http://{addr}/").as_str())
                .body(())
                .unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(error.kind_name(), "protocol", "{error}");
    task.abort();
}

#[tokio::test]
async fn a_streamed_body_cannot_be_replayed_by_307() {
    let server = Server::start(|req| match req.target.as_str() {
        "/upload" => redirect(307, "/elsewhere"),
        _ => ok("stored"),
    })
    .await;
    let stream = http_body_util::Full::new(bytes::Bytes::from_static(b"chunk"));
    let request = http::Request::post(server.url("/upload"))
        .body(Body::stream(stream))
        .unwrap();
    let error = Client::new().unwrap().send(request).await.unwrap_err();
    assert_eq!(error.kind_name(), "body_not_replayable", "{error}");
    assert_eq!(server.seen().len(), 1);
    assert_eq!(server.seen()[0].body, "chunk");
    assert_eq!(error.history().unwrap().hops[0].body_sent, 5);

    // A 303 needs no replay: the stream is fine there.
    let server = Server::start(|req| match req.target.as_str() {
        "/upload" => redirect(303, "/done"),
        _ => reply(200, &[], "done"),
    })
    .await;
    let stream = http_body_util::Full::new(bytes::Bytes::from_static(b"chunk"));
    let request = http::Request::post(server.url("/upload"))
        .body(Body::stream(stream))
        .unwrap();
    let response = Client::new().unwrap().send(request).await.unwrap();
    assert_eq!(response.body, "done");
}
