//! Over real loopback sockets: what hyper puts on the wire for `SeeOther` and `PrgLayer`,
//! HEAD included (hyper must keep GET's Content-Length and send no body), and `PrgLayer`
//! around a plain hyper service, not axum.

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::Router;
use axum::response::Redirect;
use axum::routing::{get, post};
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use seeother_axum::{PrgLayer, RedirectContext};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceBuilder;

async fn serve_axum(app: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// Send `request` raw and read until the server closes: (head, body).
async fn exchange(addr: SocketAddr, request: &str) -> (String, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).await.unwrap();
    let split = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block");
    let head = String::from_utf8(bytes[..split].to_vec()).unwrap();
    (head, bytes[split + 4..].to_vec())
}

fn field<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn app() -> Router {
    Router::new()
        .route(
            "/save",
            get(|ctx: RedirectContext| async move { ctx.see_other("/saved/1") })
                .post(|ctx: RedirectContext| async move { ctx.see_other("/saved/1") }),
        )
        .route("/legacy", post(|| async { Redirect::to("/home") }))
        .layer(PrgLayer::new())
}

#[tokio::test]
async fn head_over_the_wire_has_gets_length_and_no_body() {
    let addr = serve_axum(app()).await;
    for accept in ["text/html", "text/plain"] {
        let get = format!(
            "GET /save HTTP/1.1\r\nHost: {addr}\r\nAccept: {accept}\r\nConnection: close\r\n\r\n"
        );
        let (get_head, get_body) = exchange(addr, &get).await;
        assert!(get_head.starts_with("HTTP/1.1 303 See Other"), "{get_head}");
        assert_eq!(field(&get_head, "location"), Some("/saved/1"));
        assert_eq!(field(&get_head, "vary"), Some("Accept"));
        let length = get_body.len().to_string();
        assert_eq!(field(&get_head, "content-length"), Some(length.as_str()));

        let head = get.replacen("GET", "HEAD", 1);
        let (head_head, head_body) = exchange(addr, &head).await;
        // RFC 9110 §9.3.2: the same fields, Content-Length included, and no content.
        assert!(head_head.starts_with("HTTP/1.1 303 See Other"));
        assert_eq!(field(&head_head, "content-length"), Some(length.as_str()));
        assert_eq!(
            field(&head_head, "content-type"),
            field(&get_head, "content-type")
        );
        assert!(head_body.is_empty(), "{head_body:?}");
    }
}

#[tokio::test]
async fn axum_redirect_after_post_on_the_wire() {
    let addr = serve_axum(app()).await;
    let post = format!(
        "POST /legacy HTTP/1.1\r\nHost: {addr}\r\nAccept: text/plain\r\nContent-Length: 0\r\n\
         Connection: close\r\n\r\n"
    );
    let (head, body) = exchange(addr, &post).await;
    assert!(head.starts_with("HTTP/1.1 303 See Other"), "{head}");
    assert_eq!(body, b"See /home\n");
}

/// A hyper service, no axum: 302 after POST with an empty body, or a 301 without Location.
async fn plain_hyper(
    request: Request<hyper::body::Incoming>,
) -> Result<Response<Empty<Bytes>>, Infallible> {
    let builder = Response::builder();
    let response = if request.uri().path() == "/broken" {
        builder.status(StatusCode::MOVED_PERMANENTLY)
    } else {
        builder
            .status(StatusCode::FOUND)
            .header("location", "/thanks")
    };
    Ok(response.body(Empty::new()).unwrap())
}

#[tokio::test]
async fn prg_layer_around_a_hyper_service() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let service = ServiceBuilder::new()
                .layer(PrgLayer::new())
                .service(tower::service_fn(plain_hyper));
            let service = hyper_util::service::TowerToHyperService::new(service);
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service),
            );
        }
    });
    let client = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
        .build_http::<Empty<Bytes>>();
    let ask = |method: Method, path: &str| {
        Request::builder()
            .method(method)
            .uri(format!("http://{addr}{path}"))
            .header("accept", "text/html")
            .body(Empty::new())
            .unwrap()
    };
    let response = client.request(ask(Method::POST, "/form")).await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/thanks");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert!(
        std::str::from_utf8(&body)
            .unwrap()
            .contains(r#"<a href="/thanks">"#),
        "{body:?}"
    );
    let get = client.request(ask(Method::GET, "/form")).await.unwrap();
    assert_eq!(get.status(), StatusCode::FOUND);

    let broken = client.request(ask(Method::GET, "/broken")).await.unwrap();
    assert_eq!(broken.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(broken.headers().get("location").is_none());
}
