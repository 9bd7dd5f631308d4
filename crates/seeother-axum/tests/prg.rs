//! `PrgLayer` at the HTTP level, over axum's own `Redirect` and hand-made responses.

mod support;

use axum::Router;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{any, get};
use http::header::{CONTENT_LENGTH, LOCATION};
use http::{HeaderValue, Method, StatusCode};
use seeother_axum::{PrgLayer, RedirectContext, SeeOther};
use support::{BROWSER, send};

fn raw(status: StatusCode, location: Option<&'static [u8]>) -> Response {
    let mut response = status.into_response();
    if let Some(value) = location {
        response
            .headers_mut()
            .insert(LOCATION, HeaderValue::from_bytes(value).unwrap());
    }
    response
}

fn routes() -> Router {
    Router::new()
        .route(
            "/found",
            any(|| async { raw(StatusCode::FOUND, Some(b"/done")) }),
        )
        .route(
            "/moved",
            any(|| async { raw(StatusCode::MOVED_PERMANENTLY, Some(b"/new")) }),
        )
        .route("/axum", any(|| async { Redirect::to("/home") }))
        .route(
            "/temporary",
            any(|| async { Redirect::temporary("/again") }),
        )
        .route(
            "/missing",
            any(|| async { raw(StatusCode::SEE_OTHER, None) }),
        )
        .route(
            "/script",
            any(|| async { raw(StatusCode::FOUND, Some(b"javascript:alert(1)")) }),
        )
        .route(
            "/latin",
            any(|| async { raw(StatusCode::FOUND, Some(b"/caf\xe9")) }),
        )
        .route("/ours", any(|| async { SeeOther::to("/orders/1") }))
        .route(
            "/negotiated",
            any(|ctx: RedirectContext| async move { ctx.see_other("/orders/1") }),
        )
        .route(
            "/custom",
            get(|| async {
                (
                    StatusCode::SEE_OTHER,
                    [(LOCATION, "/x")],
                    "<p>my own note</p>",
                )
            }),
        )
        .route("/ok", get(|| async { "fine" }))
}

fn app() -> Router {
    routes().layer(PrgLayer::new())
}

#[tokio::test]
async fn found_and_moved_after_post_become_see_other() {
    let app = app();
    for (path, target) in [("/found", "/done"), ("/moved", "/new")] {
        for method in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
            let a = send(&app, method.clone(), path, &[("accept", BROWSER)]).await;
            // RFC 9110 §15.4.4: after an unsafe method, 303 says "GET the result".
            assert_eq!(a.status, StatusCode::SEE_OTHER, "{method} {path}");
            assert_eq!(a.header("location"), target);
            assert!(a.body.contains("<title>See Other</title>"), "{}", a.body);
        }
        // GET keeps its status.
        let g = send(&app, Method::GET, path, &[]).await;
        assert_ne!(g.status, StatusCode::SEE_OTHER, "{path}");
        assert!(g.status.is_redirection());
    }
    // 307 keeps its method on purpose: left alone but given its note.
    let t = send(
        &app,
        Method::POST,
        "/temporary",
        &[("accept", "text/plain")],
    )
    .await;
    assert_eq!(t.status, StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(t.body, "This resource is temporarily at /again\n");
}

#[tokio::test]
async fn keep_status_opts_out() {
    let app = routes().layer(PrgLayer::new().keep_status());
    let a = send(&app, Method::POST, "/found", &[]).await;
    assert_eq!(a.status, StatusCode::FOUND);
    assert!(a.body.contains("<title>Found</title>"));
}

#[tokio::test]
async fn axum_redirects_get_their_note_negotiated() {
    let app = app();
    let html = send(&app, Method::POST, "/axum", &[("accept", BROWSER)]).await;
    assert_eq!(html.status, StatusCode::SEE_OTHER);
    assert_eq!(html.header("content-type"), "text/html; charset=utf-8");
    assert_eq!(html.header("vary"), "Accept");
    assert!(html.body.contains(r#"<a href="/home">/home</a>"#));
    assert_eq!(html.header("content-length"), html.body.len().to_string());

    let text = send(&app, Method::POST, "/axum", &[("accept", "text/plain")]).await;
    assert_eq!(text.header("content-type"), "text/plain; charset=utf-8");
    assert_eq!(text.body, "See /home\n");

    // Without the layer, axum sends no note at all.
    let bare = send(&routes(), Method::POST, "/axum", &[]).await;
    assert!(bare.body.is_empty());
}

#[tokio::test]
async fn head_gets_the_get_fields_and_no_body() {
    let app = app();
    for path in ["/axum", "/ours", "/negotiated", "/custom"] {
        for accept in [BROWSER, "text/plain"] {
            let get = send(&app, Method::GET, path, &[("accept", accept)]).await;
            let head = send(&app, Method::HEAD, path, &[("accept", accept)]).await;
            // RFC 9110 §9.3.2: HEAD is GET without content.
            assert_eq!(head.status, get.status, "{path}");
            assert_eq!(head.headers, get.headers, "{path} {accept}");
            assert_eq!(head.header("content-length"), get.body.len().to_string());
            assert!(head.body.is_empty(), "{path}");
        }
    }
}

#[tokio::test]
async fn a_plain_see_other_is_negotiated_by_the_layer() {
    let app = app();
    let text = send(&app, Method::POST, "/ours", &[("accept", "text/plain")]).await;
    assert_eq!(text.body, "See /orders/1\n");
    assert_eq!(text.header("vary"), "Accept");
    // Through the context it was negotiated already, and stays as it was.
    let ctx = send(
        &app,
        Method::POST,
        "/negotiated",
        &[("accept", "text/plain")],
    )
    .await;
    assert_eq!(ctx.body, "See /orders/1\n");
    assert_eq!(ctx.headers.get_all("vary").iter().count(), 1);
}

#[tokio::test]
async fn a_redirect_without_a_valid_location_is_a_500() {
    let app = app();
    for path in ["/missing", "/script", "/latin"] {
        let a = send(&app, Method::GET, path, &[]).await;
        assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR, "{path}");
        assert!(a.headers.get(LOCATION).is_none(), "{path}");
        assert!(a.body.contains("invalid target"), "{}", a.body);
        assert_eq!(a.header("content-length"), a.body.len().to_string());
        let head = send(&app, Method::HEAD, path, &[]).await;
        assert_eq!(head.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(head.body.is_empty());
    }
}

#[tokio::test]
async fn other_answers_and_own_notes_are_left_alone() {
    let app = app();
    let ok = send(&app, Method::GET, "/ok", &[]).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.body, "fine");
    assert!(ok.headers.get("vary").is_none());
    let custom = send(&app, Method::GET, "/custom", &[("accept", "text/plain")]).await;
    assert_eq!(custom.body, "<p>my own note</p>");
    assert_eq!(custom.headers[CONTENT_LENGTH], "18");
}
