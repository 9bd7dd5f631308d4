//! `SeeOther` and `RedirectContext` at the HTTP level: status, headers, body, HEAD, tuples.

mod support;

use axum::Router;
use axum::http::header::{CACHE_CONTROL, SET_COOKIE};
use axum::response::AppendHeaders;
use axum::routing::{get, post};
use http::{Method, StatusCode};
use seeother_axum::{RedirectContext, RedirectError, RedirectStatus, SeeOther};
use seeother_core::{Location, note};
use support::{BROWSER, send};

fn app() -> Router {
    Router::new()
        .route("/plain", post(|| async { SeeOther::to("/orders/42?a&b") }))
        .route(
            "/negotiated",
            get(|ctx: RedirectContext| async move { ctx.see_other("/orders/42") })
                .post(|ctx: RedirectContext| async move { ctx.see_other("/orders/42") }),
        )
        .route(
            "/permanent",
            get(|ctx: RedirectContext| async move {
                ctx.redirect(RedirectStatus::PermanentRedirect, "https://new.example/x")
            }),
        )
        .route("/relative", post(|| async { SeeOther::to("../up") }))
        .route(
            "/hostile",
            post(|| async {
                let target = String::from("/a\r\nSet-Cookie: stolen=1");
                SeeOther::to(&target)
            }),
        )
        .route(
            "/cookie",
            post(|| async {
                Ok::<_, RedirectError>((
                    AppendHeaders([(SET_COOKIE, "a=1"), (SET_COOKIE, "b=2")]),
                    SeeOther::to("/home")?,
                ))
            }),
        )
        .route(
            "/status-headers",
            post(|| async {
                Ok::<_, RedirectError>((
                    StatusCode::SEE_OTHER,
                    [(CACHE_CONTROL, "no-store")],
                    SeeOther::to("/home")?,
                ))
            }),
        )
        .route(
            "/parts",
            post(|| async {
                Ok::<_, RedirectError>((StatusCode::CREATED, SeeOther::to("/items/7")?, "created"))
            }),
        )
}

#[tokio::test]
async fn a_plain_see_other_has_location_and_the_html_note() {
    let app = app();
    let a = send(&app, Method::POST, "/plain", &[("accept", BROWSER)]).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(a.header("location"), "/orders/42?a&b");
    assert_eq!(a.header("content-type"), "text/html; charset=utf-8");
    let expected = note::render(
        StatusCode::SEE_OTHER,
        &Location::parse("/orders/42?a&b").unwrap(),
    );
    assert_eq!(a.body, expected);
    assert_eq!(a.header("content-length"), expected.len().to_string());
    // RFC 9110 §15.4.4: the note links the same URI reference, escaped for HTML.
    assert!(a.body.contains(r#"<a href="/orders/42?a&amp;b">"#));
    // Nothing was negotiated, so nothing varies.
    assert!(a.headers.get("vary").is_none());
}

#[tokio::test]
async fn the_note_is_negotiated_through_the_context() {
    let app = app();
    let html = send(&app, Method::POST, "/negotiated", &[("accept", BROWSER)]).await;
    assert_eq!(html.status, StatusCode::SEE_OTHER);
    assert_eq!(html.header("content-type"), "text/html; charset=utf-8");
    assert_eq!(html.header("vary"), "Accept");
    assert!(html.body.contains(r#"<a href="/orders/42">"#));

    let text = send(
        &app,
        Method::POST,
        "/negotiated",
        &[("accept", "text/plain")],
    )
    .await;
    assert_eq!(text.header("content-type"), "text/plain; charset=utf-8");
    assert_eq!(text.header("vary"), "Accept");
    assert_eq!(text.body, "See /orders/42\n");
    assert_eq!(text.header("content-length"), "15");

    let none = send(&app, Method::POST, "/negotiated", &[]).await;
    assert_eq!(none.header("content-type"), "text/html; charset=utf-8");
}

#[tokio::test]
async fn head_gets_the_get_fields_and_no_body() {
    let app = app();
    for accept in [BROWSER, "text/plain"] {
        let get = send(&app, Method::GET, "/negotiated", &[("accept", accept)]).await;
        let head = send(&app, Method::HEAD, "/negotiated", &[("accept", accept)]).await;
        // RFC 9110 §9.3.2: HEAD is GET without content.
        assert_eq!(head.status, get.status);
        assert_eq!(head.headers, get.headers, "{accept}");
        assert_eq!(head.header("content-length"), get.body.len().to_string());
        assert!(head.body.is_empty());
        assert!(!get.body.is_empty());
    }
}

#[tokio::test]
async fn other_statuses_use_the_same_type() {
    let app = app();
    let a = send(&app, Method::GET, "/permanent", &[("accept", "text/plain")]).await;
    assert_eq!(a.status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(a.header("location"), "https://new.example/x");
    assert_eq!(
        a.body,
        "This resource has moved permanently to https://new.example/x\n"
    );
    for (make, code) in [
        (SeeOther::to as fn(&str) -> _, 303),
        (SeeOther::temporary, 307),
        (SeeOther::permanent, 308),
    ] {
        assert_eq!(make("/x").unwrap().status().code().as_u16(), code);
    }
}

#[tokio::test]
async fn relative_stays_relative() {
    let a = send(&app(), Method::POST, "/relative", &[]).await;
    // RFC 3986 §4.2: a relative reference, resolved by the client.
    assert_eq!(a.header("location"), "../up");
}

#[tokio::test]
async fn a_hostile_target_is_a_500_never_a_redirect() {
    let a = send(&app(), Method::POST, "/hostile", &[]).await;
    assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(a.headers.get("location").is_none());
    assert!(a.headers.get("set-cookie").is_none());
    assert!(a.body.contains("invalid target"), "{}", a.body);
    assert!(!a.body.contains("stolen"), "the target is not echoed");
}

#[test]
fn hostile_targets_are_typed_errors() {
    let long = format!("/{}", "a".repeat(40 * 1024));
    for hostile in [
        "/a\r\nSet-Cookie: x=1",
        "/a\nb",
        "/\0",
        "/tab\there",
        "javascript:alert(1)",
        "data:text/html,hi",
        "",
        "   ",
        long.as_str(),
    ] {
        let error = SeeOther::to(hostile).unwrap_err();
        let message = error.to_string();
        assert!(message.starts_with("cannot redirect: "), "{message}");
        assert!(message.len() < 1024, "a bounded message: {}", message.len());
    }
    // Spaces and non-ASCII are encoded, not refused.
    assert_eq!(
        SeeOther::to("/caf\u{e9} au lait")
            .unwrap()
            .location()
            .as_str(),
        "/caf%C3%A9%20au%20lait"
    );
}

#[tokio::test]
async fn tuples_compose_with_cookies_and_headers() {
    let app = app();
    let a = send(&app, Method::POST, "/cookie", &[]).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(a.header("location"), "/home");
    let cookies: Vec<_> = a.headers.get_all("set-cookie").iter().collect();
    assert_eq!(cookies, ["a=1", "b=2"]);
    assert!(a.body.contains(r#"<a href="/home">"#));

    let b = send(&app, Method::POST, "/status-headers", &[]).await;
    assert_eq!(b.status, StatusCode::SEE_OTHER);
    assert_eq!(b.header("cache-control"), "no-store");
    assert_eq!(b.header("location"), "/home");

    // As parts, SeeOther gives Location only: the tuple decides status and body.
    let c = send(&app, Method::POST, "/parts", &[]).await;
    assert_eq!(c.status, StatusCode::CREATED);
    assert_eq!(c.header("location"), "/items/7");
    assert_eq!(c.body, "created");
}
