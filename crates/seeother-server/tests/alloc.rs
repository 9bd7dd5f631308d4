//! Allocations on the resolve path: an exact-match redirect allocates only the response's
//! header map once its rule has answered once: the `Location` value and the note's link share
//! the packed table's bytes, the note's fixed text is static. On the direct HTTP/1.1 path
//! (read with `h1::parse`, written with `Reply::write_h1` into the connection's buffer) it
//! allocates nothing at all.
//!
//! One test in this file, so no other test's allocations are counted.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use http::header::LOCATION;
use http::{HeaderMap, Method};
use seeother_core::h1;
use seeother_server::resolve::{self, Outcome, Request};
use seeother_server::rule::RuleSpec;

mod support;

/// The system allocator, counting every allocation and reallocation.
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by `f`, per call, over `n` calls.
fn per_call(n: usize, mut f: impl FnMut()) -> f64 {
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for _ in 0..n {
        f();
    }
    (ALLOCATIONS.load(Ordering::Relaxed) - before) as f64 / n as f64
}

#[test]
fn an_exact_redirect_allocates_only_the_header_map_and_nothing_on_the_direct_path() {
    let mut rules: Vec<RuleSpec> = (0..1000)
        .map(|i| {
            RuleSpec::path(
                &format!("/id/work/{i}"),
                &format!("https://catalogue.example.org/works/{i}?view=full"),
            )
        })
        .collect();
    rules.push(RuleSpec::path("/id/amp", "/works?a=1&b=2"));
    let index = support::compile(&rules);
    let headers = HeaderMap::new();
    let paths: Vec<String> = (0..1000).map(|i| format!("/id/work/{i}")).collect();
    let answer = |method: &Method, path: &str| {
        let a = resolve::answer(
            &index,
            &Request {
                method,
                host: None,
                path,
                query: None,
                headers: &headers,
            },
        );
        assert!(matches!(a.outcome, Outcome::Redirect { .. }));
        assert_eq!(a.reply.status(), 303);
        a.reply.into_response()
    };
    // First requests: each rule's stored target is checked once against `Location::parse`
    // (and the process-wide tables, the note's fixed text and the shared `Content-Length`
    // values, are made). Nothing is kept per request.
    for p in &paths {
        answer(&Method::GET, p);
    }
    answer(&Method::GET, "/id/amp");
    let mut i = 0;
    let get = per_call(10_000, || {
        let r = answer(&Method::GET, &paths[i % paths.len()]);
        assert!(r.headers().contains_key(LOCATION));
        assert!(!r.body().is_empty());
        i += 1;
    });
    let head = per_call(10_000, || {
        let r = answer(&Method::HEAD, &paths[i % paths.len()]);
        assert!(r.body().is_empty());
        i += 1;
    });
    // The header map is two allocations (its index table and its entries), which the
    // response needs; Location, Content-Type, Content-Length and the note's parts are shared.
    assert!(get <= 2.0, "GET: {get} allocations per request");
    assert!(head <= 2.0, "HEAD: {head} allocations per request");
    // A target with `&` is escaped in the note's HTML: one buffer more, made to size.
    let amp = per_call(1000, || {
        let r = answer(&Method::GET, "/id/amp");
        assert!(!r.body().is_empty());
    });
    assert!(amp <= 3.0, "GET with &: {amp} allocations per request");

    // The direct path: request bytes in, response bytes out, buffers reused.
    let requests: Vec<Vec<u8>> = paths
        .iter()
        .map(|p| {
            format!("GET {p} HTTP/1.1\r\nHost: id.example\r\nUser-Agent: t\r\n\r\n").into_bytes()
        })
        .collect();
    let mut out = Vec::with_capacity(4096);
    let direct = per_call(10_000, || {
        let raw = &requests[i % requests.len()];
        // As the listener parses: keeping only the fields the index's rules read (none here).
        let h1::Parsed::Simple(req) = h1::parse_keeping(raw, index.reads()) else {
            panic!("a simple request")
        };
        let a = resolve::answer(
            &index,
            &Request {
                method: &req.method,
                host: None,
                path: req.path,
                query: req.query,
                headers: &req.headers,
            },
        );
        out.clear();
        a.reply
            .write_h1(&req.method, b"Tue, 24 Nov 2026 23:00:00 GMT", &mut out);
        assert!(out.starts_with(b"HTTP/1.1 303 See Other\r\nlocation: https://"));
        i += 1;
    });
    // No rule reads User-Agent, so it is not kept: nothing is allocated.
    assert_eq!(direct, 0.0, "direct path: {direct} allocations per request");
    println!("allocations per request: GET {get}, HEAD {head}, GET with & {amp}, direct {direct}");
}
