//! How each redirect status treats the method and body, over real loopback sockets.

mod common;

use common::{Server, ok, redirect, reply};
use http::Method;
use seeother_client::Client;

fn client() -> Client {
    Client::builder()
        .hop_timeout(Some(std::time::Duration::from_secs(5)))
        .build()
        .unwrap()
}

#[tokio::test]
async fn see_other_after_unsafe_methods_arrives_as_get_without_body() {
    let server = Server::start(|req| match req.target.as_str() {
        "/form" => redirect(303, "/result"),
        _ => ok("result"),
    })
    .await;
    let client = client();
    for method in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
        let request = http::Request::builder()
            .method(method.clone())
            .uri(server.url("/form"))
            .header("content-type", "application/json")
            .header("content-language", "en")
            .body(r#"{"a":1}"#)
            .unwrap();
        let response = client.send(request).await.unwrap();
        assert_eq!(response.status, 200, "{method}");
        assert_eq!(response.body, "result");
        let hops = response.hops();
        assert_eq!(hops.len(), 2);
        assert_eq!(hops[0].method, method);
        assert_eq!(hops[0].body_sent, 7);
        assert_eq!(hops[1].method, Method::GET);
        assert_eq!(hops[1].body_sent, 0);

        let seen = server.seen();
        let (first, second) = (&seen[seen.len() - 2], &seen[seen.len() - 1]);
        assert_eq!(first.method, method);
        assert_eq!(first.body, r#"{"a":1}"#);
        assert_eq!(
            second.method,
            Method::GET,
            "303 after {method} must become GET"
        );
        assert_eq!(second.target, "/result");
        assert!(second.body.is_empty());
        for name in [
            "content-type",
            "content-length",
            "content-language",
            "transfer-encoding",
        ] {
            assert!(
                !second.headers.contains_key(name),
                "{name} sent on the GET after {method}: {:?}",
                second.headers
            );
        }
    }
}

#[tokio::test]
async fn head_stays_head_through_see_other() {
    let server = Server::start(|req| match req.target.as_str() {
        "/a" => redirect(303, "/b"),
        _ => reply(200, &[("x-final", "yes")], ""),
    })
    .await;
    let request = http::Request::head(server.url("/a")).body(()).unwrap();
    let response = client().send(request).await.unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.headers["x-final"], "yes");
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|s| s.method == Method::HEAD), "{seen:?}");
}

#[tokio::test]
async fn temporary_and_permanent_redirects_replay_method_and_body() {
    let server = Server::start(|req| match req.target.as_str() {
        "/307" => redirect(307, "/after-307"),
        "/308" => redirect(308, "/after-308"),
        _ => ok("stored"),
    })
    .await;
    let client = client();
    for (status, path) in [(307, "/307"), (308, "/308")] {
        let request = http::Request::put(server.url(path))
            .header("content-type", "text/plain")
            .body("payload")
            .unwrap();
        let response = client.send(request).await.unwrap();
        assert_eq!(response.status, 200);
        let seen = server.seen();
        let last = seen.last().unwrap();
        assert_eq!(last.target, format!("/after-{status}"));
        assert_eq!(last.method, Method::PUT, "{status} keeps the method");
        assert_eq!(last.body, "payload", "{status} replays the body");
        assert_eq!(last.headers["content-type"], "text/plain");
        assert_eq!(response.hops()[1].body_sent, 7);
    }
}

#[tokio::test]
async fn found_turns_post_into_get_unless_asked_to_keep_it() {
    let server = Server::start(|req| match req.target.as_str() {
        "/302" => redirect(302, "/next"),
        _ => ok(req.method.as_str()),
    })
    .await;
    let request = || http::Request::post(server.url("/302")).body("x=1").unwrap();
    let response = client().send(request()).await.unwrap();
    assert_eq!(response.body, "GET");

    let keep = seeother_client::Policy {
        keep_post: true,
        ..Default::default()
    };
    let client = Client::builder().policy(keep).build().unwrap();
    let response = client.send(request()).await.unwrap();
    assert_eq!(response.body, "POST");
    assert_eq!(server.seen().last().unwrap().body, "x=1");
}

#[tokio::test]
async fn relative_and_absolute_locations_resolve_against_the_request() {
    let server = Server::start(|req| {
        let host = req.headers["host"].to_str().unwrap().to_owned();
        match req.target.as_str() {
            "/dir/start" => redirect(303, "next?q=1"),
            "/dir/next?q=1" => redirect(303, "../up"),
            "/up" => redirect(303, &format!("http://{host}/abs")),
            "/abs" => ok("end"),
            _ => reply(404, &[], "no"),
        }
    })
    .await;
    let response = client()
        .send(
            http::Request::get(server.url("/dir/start"))
                .body(())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.body, "end");
    let urls: Vec<_> = response.hops().iter().map(|h| h.url.to_string()).collect();
    assert_eq!(
        urls,
        [
            server.url("/dir/start"),
            server.url("/dir/next?q=1"),
            server.url("/up"),
            server.url("/abs"),
        ]
    );
    let locations: Vec<_> = response
        .hops()
        .iter()
        .map(|h| h.location.as_ref().map(|l| l.to_str().unwrap().to_owned()))
        .collect();
    assert_eq!(locations[0].as_deref(), Some("next?q=1"));
    assert_eq!(locations[3], None);
}

#[tokio::test]
async fn network_path_and_absolute_locations_are_followed() {
    let target = Server::start(|_| ok("there")).await;
    let host = target.addr.to_string();
    let server = Server::start(move |req| match req.target.as_str() {
        "/a" => redirect(303, &format!("//{host}/by-network-path")),
        _ => reply(404, &[], ""),
    })
    .await;
    let response = client()
        .send(http::Request::get(server.url("/a")).body(()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.body, "there");
    assert_eq!(
        response.final_url().as_str(),
        target.url("/by-network-path")
    );
    assert_eq!(target.seen()[0].target, "/by-network-path");
}

#[tokio::test]
async fn fragment_is_inherited_into_final_url_and_never_sent() {
    let server = Server::start(|req| match req.target.as_str() {
        "/a" => redirect(303, "/b"),
        "/b" => redirect(303, "/c#own"),
        "/c" => redirect(303, "/d"),
        _ => ok("d"),
    })
    .await;
    let client = client();
    // No fragment in Location: the request's fragment is inherited (RFC 9110 §10.2.2).
    let original = format!("{}#section-2", server.url("/a"));
    let mut request = http::Request::get(original.as_str()).body(()).unwrap();
    request
        .extensions_mut()
        .insert(url::Url::parse(&original).unwrap());
    let response = client.send(request).await.unwrap();
    assert_eq!(response.url().as_str(), original);
    assert_eq!(response.final_url().as_str(), server.url("/d#own"));
    assert_eq!(response.hops()[1].url.fragment(), Some("section-2"));
    assert!(server.seen().iter().all(|s| !s.target.contains('#')));
}

#[tokio::test]
async fn see_other_without_location_is_the_answer() {
    let server = Server::start(|_| reply(303, &[], "no location here")).await;
    let response = client()
        .send(http::Request::post(server.url("/x")).body("a").unwrap())
        .await
        .unwrap();
    assert_eq!(response.status, 303);
    assert_eq!(response.body, "no location here");
    assert_eq!(response.hops().len(), 1);
    assert!(response.hops()[0].location.is_none());
}
