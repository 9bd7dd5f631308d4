//! Fuzz HTTP/1.1 framing (`h1::parse`, `h1::write_response`) with its invariants.
//!
//! Input: the bytes a client sent.

#![no_main]

use http::{Method, Response, StatusCode};
use libfuzzer_sys::fuzz_target;
use seeother_core::h1::{self, Parsed};
use seeother_core::respond::Body;

fuzz_target!(|data: &[u8]| {
    let Parsed::Simple(req) = h1::parse(data) else {
        return;
    };
    // It claims bytes it was given, and needs every one of them.
    assert!(req.len <= data.len());
    assert!(matches!(h1::parse(&data[..req.len - 1]), Parsed::Partial));
    assert!(matches!(h1::parse(&data[..req.len]), Parsed::Simple(s) if s.len == req.len));
    assert!([Method::GET, Method::HEAD, Method::POST].contains(&req.method));

    // The target reads as the `http` crate (hyper's) reads it.
    let target = match req.query {
        Some(q) => format!("{}?{q}", req.path),
        None => req.path.to_owned(),
    };
    let uri: http::Uri = target.parse().expect("the http crate accepts the target");
    assert_eq!((uri.path(), uri.query()), (req.path, req.query));
    assert!(req.headers.keys().all(|k| k == http::header::ACCEPT));

    // The answer written for it is one well-framed response.
    let mut response = Response::new(Body::from(req.path.to_owned()));
    *response.status_mut() = StatusCode::SEE_OTHER;
    let mut out = Vec::new();
    h1::write_response(&response, &req.method, b"Tue, 24 Nov 2026 23:00:00 GMT", &mut out);
    let mut fields = [httparse::EMPTY_HEADER; 8];
    let mut parsed = httparse::Response::new(&mut fields);
    let head = match parsed.parse(&out) {
        Ok(httparse::Status::Complete(n)) => n,
        other => panic!("{other:?}: {}", String::from_utf8_lossy(&out)),
    };
    assert_eq!(parsed.code, Some(303));
    let body = if req.method == Method::HEAD { 0 } else { req.path.len() };
    assert_eq!(out.len() - head, body);
});
