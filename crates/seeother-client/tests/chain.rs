//! What a chain reports about its hops: the answer when following is off, and the hop, URL and
//! history an error names, through the client and through the layer.

mod common;

use common::{Server, number, ok, redirect, reply};
use seeother_client::{Client, FollowLayer, Policy};
use tower::{Layer, ServiceExt};

#[tokio::test]
async fn with_following_off_the_first_response_is_the_answer() {
    let server = Server::start(|req| match req.target.as_str() {
        "/a" => redirect(303, "/b"),
        "/ftp" => reply(303, &[("location", "ftp://example.test/")], ""),
        _ => ok("b"),
    })
    .await;
    let client = Client::builder().follow_redirects(false).build().unwrap();

    // The fragment travels in a `url::Url` in the extensions (`http::Uri` drops it).
    let url = format!("{}#top", server.url("/a"));
    let request = http::Request::get(url.as_str())
        .extension(url::Url::parse(&url).unwrap())
        .body(())
        .unwrap();
    let response = client.send(request).await.unwrap();
    assert_eq!(response.status, 303);
    assert_eq!(response.body, "see other");
    assert_eq!(response.url().as_str(), url);
    assert_eq!(
        response.final_url().as_str(),
        url,
        "not the redirect target"
    );
    assert_eq!(response.hops().len(), 1);
    assert_eq!(response.hops()[0].location.as_ref().unwrap(), "/b");

    // A redirect the rules would refuse is still just the answer.
    let response = client
        .send(http::Request::get(server.url("/ftp")).body(()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status, 303);
    assert_eq!(response.final_url().as_str(), server.url("/ftp"));
    assert_eq!(server.seen().len(), 2, "no redirect was followed");
}

#[tokio::test]
async fn the_layer_names_the_refused_hop() {
    let server =
        Server::start(|req| redirect(303, &format!("/hop/{}", number(&req.target) + 1))).await;
    let hyper = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<bytes::Bytes>>();
    let policy = Policy {
        max_redirects: 2,
        ..Policy::default()
    };
    let request = http::Request::get(server.url("/hop/0"))
        .body(Default::default())
        .unwrap();
    let error = FollowLayer::new(policy)
        .layer(hyper)
        .oneshot(request)
        .await
        .unwrap_err();
    assert_eq!(error.kind_name(), "too_many_redirects", "{error}");
    // Two redirects followed; the third request's redirect is refused.
    assert_eq!(error.hop(), 3);
    assert_eq!(error.url().unwrap().as_str(), server.url("/hop/2"));
    let history = error.history().unwrap();
    assert_eq!(history.url.as_str(), server.url("/hop/0"));
    assert_eq!(history.final_url.as_str(), server.url("/hop/2"));
    let urls: Vec<_> = history.hops.iter().map(|h| h.url.to_string()).collect();
    assert_eq!(
        urls,
        [0, 1, 2].map(|n| server.url(&format!("/hop/{n}"))),
        "{error}"
    );
    assert_eq!(server.seen().len(), 3);
}

#[tokio::test]
async fn the_layer_names_the_hop_its_service_failed_on() {
    let inner = tower::service_fn(|req: http::Request<String>| async move {
        match req.uri().path() {
            "/a" => Ok(http::Response::builder()
                .status(303)
                .header("location", "/b")
                .body(String::new())
                .unwrap()),
            _ => Err(std::io::Error::other("the backend is down")),
        }
    });
    let request = http::Request::post("http://example.test/a")
        .body("x=1".to_owned())
        .unwrap();
    let error = FollowLayer::default()
        .layer(inner)
        .oneshot(request)
        .await
        .unwrap_err();
    assert_eq!(error.kind_name(), "service", "{error}");
    assert_eq!(error.hop(), 2);
    assert_eq!(error.url().unwrap().as_str(), "http://example.test/b");
    let message = error.to_string();
    assert!(
        message.contains("#2 (GET http://example.test/b)"),
        "{message}"
    );
    assert!(message.contains("the backend is down"), "{message}");
    let history = error.history().unwrap();
    assert_eq!(history.hops.len(), 1);
    assert_eq!(history.hops[0].method, http::Method::POST);
    assert_eq!(history.hops[0].body_sent, 3);
    assert_eq!(history.final_url.as_str(), "http://example.test/b");
}
