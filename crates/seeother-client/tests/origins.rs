//! Credentials across origins, and the cookie jar, over two loopback servers (two ports, so two
//! origins).

mod common;

use common::{Server, ok, redirect, reply};
use seeother_client::{Client, CookieJar};

fn has(seen: &common::Seen, name: &str) -> bool {
    seen.headers.contains_key(name)
}

async fn pair() -> (Server, Server) {
    // A: /start → B /one; A /back → ok.   B: /one → B /two (same origin), /two → ok,
    // /return → A /back.
    let a = Server::start(|req| match req.target.as_str() {
        "/back" => ok("back on A"),
        "/start" | "/start-return" => {
            let to = req.headers["x-next"].to_str().unwrap().to_owned();
            redirect(303, &to)
        }
        _ => reply(404, &[], ""),
    })
    .await;
    let a_back = a.url("/back");
    let b = Server::start(move |req| match req.target.as_str() {
        "/one" => redirect(303, "/two"),
        "/two" => ok("on B"),
        "/return" => redirect(303, &a_back),
        _ => reply(404, &[], ""),
    })
    .await;
    (a, b)
}

#[tokio::test]
async fn credentials_are_dropped_when_leaving_the_origin_and_stay_dropped() {
    let (a, b) = pair().await;
    let client = Client::new().unwrap();

    // A → B → B
    let request = http::Request::get(a.url("/start"))
        .header("authorization", "Bearer secret")
        .header("cookie", "session=s3cr3t")
        .header("x-next", b.url("/one"))
        .body(())
        .unwrap();
    let response = client.send(request).await.unwrap();
    assert_eq!(response.body, "on B");
    let on_a = &a.seen()[0];
    assert!(has(on_a, "authorization") && has(on_a, "cookie"));
    let on_b = b.seen();
    assert_eq!(on_b.len(), 2);
    for seen in &on_b {
        assert!(
            !has(seen, "authorization"),
            "Authorization leaked to B: {seen:?}"
        );
        assert!(!has(seen, "cookie"), "Cookie leaked to B: {seen:?}");
    }
    // What the history says was sent agrees with what B received.
    for hop in &response.hops()[1..] {
        assert!(!hop.request_headers.contains_key("authorization"));
        assert!(!hop.request_headers.contains_key("cookie"));
    }

    // A → B → A: back on the original origin, the credentials are not brought back.
    let request = http::Request::get(a.url("/start-return"))
        .header("authorization", "Bearer secret")
        .header("cookie", "session=s3cr3t")
        .header("x-next", b.url("/return"))
        .body(())
        .unwrap();
    let response = client.send(request).await.unwrap();
    assert_eq!(response.body, "back on A");
    let seen_a = a.seen();
    let back = seen_a.last().unwrap();
    assert_eq!(back.target, "/back");
    assert!(
        !has(back, "authorization"),
        "Authorization came back: {back:?}"
    );
    assert!(!has(back, "cookie"), "Cookie came back: {back:?}");
    assert!(!has(b.seen().last().unwrap(), "authorization"));
}

#[tokio::test]
async fn set_cookie_on_see_other_reaches_the_next_request() {
    let server = Server::start(|req| match req.target.as_str() {
        "/login" => reply(
            303,
            &[
                ("location", "/home"),
                ("set-cookie", "sid=abc123; Path=/; HttpOnly"),
                ("set-cookie", "pref=dark; Path=/settings"),
            ],
            "",
        ),
        "/home" => match req.headers.get("cookie") {
            Some(c) => ok(&format!("signed in: {}", c.to_str().unwrap())),
            None => reply(401, &[], "not signed in"),
        },
        _ => reply(404, &[], ""),
    })
    .await;
    let client = Client::new().unwrap();
    let login = || {
        http::Request::post(server.url("/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("user=ann&pass=x")
            .unwrap()
    };
    let response = client.send(login()).await.unwrap();
    assert_eq!(response.status, 200);
    // Path=/settings does not match /home (RFC 6265 §5.1.4).
    assert_eq!(response.body, "signed in: sid=abc123");

    // The caller's jar keeps the cookies after the fetch.
    let jar = CookieJar::new();
    client.send_with_jar(login(), &jar).await.unwrap();
    assert_eq!(jar.len(), 2);

    // With cookies off, the GET arrives without them.
    let client = Client::builder().cookies(false).build().unwrap();
    let response = client.send(login()).await.unwrap();
    assert_eq!(response.status, 401);
}

#[tokio::test]
async fn a_fresh_jar_per_send() {
    let server = Server::start(|req| match req.target.as_str() {
        "/set" => reply(200, &[("set-cookie", "n=1")], "set"),
        _ => ok(if req.headers.contains_key("cookie") {
            "cookie"
        } else {
            "none"
        }),
    })
    .await;
    let client = Client::new().unwrap();
    client
        .send(http::Request::get(server.url("/set")).body(()).unwrap())
        .await
        .unwrap();
    let response = client
        .send(http::Request::get(server.url("/check")).body(()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.body, "none", "cookies must not outlive one fetch");
}
