//! `Next` and `NextForm` at the HTTP level: hostile targets, the allow-list, nested routers.

mod support;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::{get, post};
use http::{Method, StatusCode};
use seeother_axum::{Next, NextForm, NextPolicy, OnRefused, SeeOther};
use support::{send, send_body};

#[derive(Clone)]
struct App {
    next: NextPolicy,
}

impl FromRef<App> for NextPolicy {
    fn from_ref(app: &App) -> NextPolicy {
        app.next.clone()
    }
}

#[derive(serde::Deserialize)]
struct Login {
    name: String,
}

fn routes() -> Router<App> {
    Router::new()
        .route("/done", get(|next: Next| async move { next.see_other() }))
        .route(
            "/sign-in",
            post(|NextForm(login, next): NextForm<Login>| async move {
                assert!(!login.name.is_empty());
                next.see_other()
            }),
        )
}

fn app(policy: NextPolicy) -> Router {
    Router::new()
        .merge(routes())
        .nest("/account", routes())
        .with_state(App { next: policy })
}

fn policy() -> NextPolicy {
    NextPolicy::new("https://site.example")
        .unwrap()
        .allow_host("pay.example")
        .fallback("/home")
        .unwrap()
}

fn query(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// Where `GET /done?next=value` sends the browser.
async fn lands(app: &Router, value: &str) -> String {
    let a = send(
        app,
        Method::GET,
        &format!("/done?next={}", query(value)),
        &[],
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{value}");
    a.header("location").to_owned()
}

const HOSTILE: [&str; 14] = [
    "//evil.example",
    "//evil.example/path",
    "/\\evil.example",
    "\\\\evil.example",
    "https:evil.example",
    "http:evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "ht\ttps://evil.example",
    "https://site.example@evil.example",
    "https://user:pw@site.example/",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "https://evil.example/",
];

#[tokio::test]
async fn hostile_targets_fall_back() {
    let app = app(policy());
    for hostile in HOSTILE {
        assert_eq!(lands(&app, hostile).await, "/home", "{hostile:?}");
    }
    // Over-long: refused too.
    let long = format!("/{}", "a".repeat(9000));
    assert_eq!(lands(&app, &long).await, "/home");
}

#[tokio::test]
async fn good_targets_pass() {
    let app = app(policy());
    assert_eq!(lands(&app, "/orders/42?x=1").await, "/orders/42?x=1");
    // Same origin, absolute: comes back as a path.
    assert_eq!(lands(&app, "https://site.example/cart").await, "/cart");
    // Allow-listed: stays absolute.
    assert_eq!(
        lands(&app, "https://pay.example/checkout").await,
        "https://pay.example/checkout"
    );
    // A subdomain of an allowed host is not allowed.
    assert_eq!(lands(&app, "https://www.pay.example/").await, "/home");
    // Percent-encoded slashes are a path on this site, never an authority.
    assert_eq!(
        lands(&app, "/%2F%2Fevil.example").await,
        "/%2F%2Fevil.example"
    );
    // Encoded once more in the query: decoded once, `//evil.example`, refused.
    let a = send(&app, Method::GET, "/done?next=%2F%2Fevil.example", &[]).await;
    assert_eq!(a.header("location"), "/home");
    // return_to is read too; next wins when both are given.
    let b = send(&app, Method::GET, "/done?return_to=%2Fb", &[]).await;
    assert_eq!(b.header("location"), "/b");
    let c = send(&app, Method::GET, "/done?return_to=%2Fb&next=%2Fa", &[]).await;
    assert_eq!(c.header("location"), "/a");
    // No target: the fallback.
    let d = send(&app, Method::GET, "/done", &[]).await;
    assert_eq!(d.header("location"), "/home");
}

#[tokio::test]
async fn relative_targets_resolve_against_the_original_uri_in_nested_routers() {
    let app = app(policy());
    // RFC 3986 §5.2: `orders` beside /account/done is /account/orders, as the browser reads it.
    let a = send(&app, Method::GET, "/account/done?next=orders", &[]).await;
    assert_eq!(a.header("location"), "/account/orders");
    let b = send(&app, Method::GET, "/done?next=orders", &[]).await;
    assert_eq!(b.header("location"), "/orders");
    let c = send(
        &app,
        Method::GET,
        "/account/done?next=..%2F..%2F..%2Fx",
        &[],
    )
    .await;
    assert_eq!(c.header("location"), "/x");
    for hostile in HOSTILE {
        let uri = format!("/account/done?next={}", query(hostile));
        let a = send(&app, Method::GET, &uri, &[]).await;
        assert_eq!(a.header("location"), "/home", "{hostile:?}");
    }
}

#[tokio::test]
async fn reject_answers_400_saying_why() {
    let app = app(policy().on_refused(OnRefused::Reject));
    let a = send(&app, Method::GET, "/done?next=%2F%2Fevil.example", &[]).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.headers.get("location").is_none());
    assert!(a.body.contains("evil.example"), "{}", a.body);
    assert!(a.body.contains("protocol-relative"), "{}", a.body);
    let b = send(&app, Method::GET, "/done?next=%2Fok", &[]).await;
    assert_eq!(b.header("location"), "/ok");
}

#[tokio::test]
async fn forms_carry_next_too() {
    let app = app(policy());
    let form = [("content-type", "application/x-www-form-urlencoded")];
    let a = send_body(
        &app,
        Method::POST,
        "/sign-in",
        &form,
        "name=ann&next=%2Forders",
    )
    .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(a.header("location"), "/orders");
    let b = send_body(
        &app,
        Method::POST,
        "/sign-in",
        &form,
        "name=ann&next=https%3Aevil.example",
    )
    .await;
    assert_eq!(b.header("location"), "/home");
    // From the query when the form has none (a sign-in form posted to ?next=...).
    let c = send_body(
        &app,
        Method::POST,
        "/account/sign-in?next=orders",
        &form,
        "name=ann",
    )
    .await;
    assert_eq!(c.header("location"), "/account/orders");
    // Not a form: 415; a form that does not fit: 422.
    let d = send_body(&app, Method::POST, "/sign-in", &[], "name=ann").await;
    assert_eq!(d.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(d.body.contains("application/x-www-form-urlencoded"));
    let e = send_body(&app, Method::POST, "/sign-in", &form, "nom=ann").await;
    assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_request_host_can_be_the_origin() {
    let app = app(NextPolicy::request_host(false));
    let host = [("host", "127.0.0.1:8080")];
    let a = send(
        &app,
        Method::GET,
        "/done?next=http%3A%2F%2F127.0.0.1%3A8080%2Fx",
        &host,
    )
    .await;
    assert_eq!(a.header("location"), "/x");
    let b = send(&app, Method::GET, "/done?next=%2F%2Fevil.example", &host).await;
    assert_eq!(b.header("location"), "/");
    // No Host at all: nothing to judge against, so the fallback.
    let c = send(&app, Method::GET, "/done?next=%2Fx", &[]).await;
    assert_eq!(c.header("location"), "/");
}

#[test]
fn a_bad_policy_is_a_typed_error() {
    let error = NextPolicy::new("site.example").unwrap_err();
    assert!(
        error.to_string().contains("https://host.example"),
        "{error}"
    );
    assert!(NextPolicy::new("ftp://site.example").is_err());
    assert!(
        NextPolicy::request_host(true)
            .fallback("javascript:x")
            .is_err()
    );
    let _ = SeeOther::to("/");
}

#[test]
fn a_request_path_like_an_authority_does_not_move_the_base() {
    let policy = policy();
    let page = url::Url::parse("https://site.example/").unwrap();
    for path in ["//evil.example/x", "//evil.example", "//evil.example/?a=b"] {
        let (mut parts, ()) = http::Request::get("/").body(()).unwrap().into_parts();
        parts.uri = path.parse().unwrap();
        let next = policy.judge(&parts, Some("https://evil.example/")).unwrap();
        assert_eq!(next.location().as_str(), "/home", "{path}");
        let relative = policy.judge(&parts, Some("y")).unwrap();
        let location = relative.location().as_str().as_bytes();
        let landed = seeother_core::location::resolve(&page, location).unwrap();
        assert_eq!(landed.host_str(), Some("site.example"), "{path}");
    }
}
