//! `PrgLayer`'s log line for a broken redirect.
//!
//! This test has a binary of its own: tracing caches each callsite's interest process-wide, so
//! another test thread that reaches the same `error!` first, with no subscriber, could leave it
//! disabled for the subscriber set here, and the line would be lost.

mod support;

use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use http::header::LOCATION;
use http::{HeaderValue, Method, StatusCode};
use seeother_axum::PrgLayer;
use support::send;

/// A writer that keeps what the log subscriber writes.
#[derive(Clone, Default)]
struct Log(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn script() -> Response {
    let mut response = StatusCode::FOUND.into_response();
    response
        .headers_mut()
        .insert(LOCATION, HeaderValue::from_static("javascript:alert(1)"));
    response
}

#[tokio::test(flavor = "current_thread")]
async fn a_broken_redirect_is_logged_saying_why() {
    let log = Log::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let app = Router::new()
        .route("/script", any(|| async { script() }))
        .layer(PrgLayer::new());
    let a = send(&app, Method::GET, "/script", &[]).await;
    assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR);
    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("ERROR"), "{text}");
    assert!(text.contains("javascript"), "{text}");
    assert!(text.contains("302"), "{text}");
}
