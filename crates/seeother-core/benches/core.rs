//! Micro-benchmarks of the core's hot paths: building and writing redirects, HTTP/1.1 framing,
//! `Accept` negotiation, `Location` resolution and one redirect step of the user agent.
//!
//! Run with `cargo bench -p seeother-core` (add `-- --quick` for a short pass).

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use http::header::{ACCEPT, LOCATION};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use seeother_core::follow::{BodyKind, Follow, Policy};
use seeother_core::location::resolve;
use seeother_core::negotiate::{choose, quality};
use seeother_core::respond::Plain;
use seeother_core::{Location, Redirect, RedirectStatus, h1, note};
use url::Url;

const TARGET: &str = "https://data.example/doc/alice?format=html&lang=en";

fn respond(c: &mut Criterion) {
    let location = Location::parse(TARGET).unwrap();
    c.bench_function("note::render", |b| {
        b.iter(|| note::render(black_box(StatusCode::SEE_OTHER), black_box(&location)))
    });
    // Includes one `Location` clone (a reference-count bump).
    c.bench_function("Redirect::new", |b| {
        b.iter(|| Redirect::new(RedirectStatus::SeeOther, black_box(&location).clone()))
    });
    let redirect = Redirect::see_other(location.clone())
        .vary_accept()
        .described_by();
    c.bench_function("Redirect::to_response GET", |b| {
        b.iter(|| redirect.to_response(black_box(&Method::GET)))
    });
    c.bench_function("Redirect::to_response HEAD", |b| {
        b.iter(|| redirect.to_response(black_box(&Method::HEAD)))
    });
}

/// What a browser sends for a link it follows.
const BROWSER_REQUEST: &[u8] = b"GET /id/work/k3x9mrff?lang=en HTTP/1.1\r\nHost: id.example.org\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\nAccept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language: en-GB,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\nConnection: keep-alive\r\nUpgrade-Insecure-Requests: 1\r\nSec-Fetch-Dest: document\r\nSec-Fetch-Mode: navigate\r\nSec-Fetch-Site: none\r\n\r\n";

fn h1(c: &mut Criterion) {
    let wrk = b"GET /id/work/k3x9mrff HTTP/1.1\r\nHost: 127.0.0.1:8303\r\n\r\n";
    c.bench_function("h1::parse, wrk's GET", |b| {
        b.iter(|| matches!(h1::parse(black_box(wrk)), h1::Parsed::Simple(_)))
    });
    c.bench_function("h1::parse, a browser's GET", |b| {
        b.iter(|| matches!(h1::parse(black_box(BROWSER_REQUEST)), h1::Parsed::Simple(_)))
    });
    let mut out = Vec::with_capacity(1024);
    // A target with nothing to escape in HTML shares its bytes with the note; one with `&`
    // is escaped into a buffer of its own.
    for (name, target) in [
        ("plain", "https://data.example/doc/alice?format=html"),
        ("with &", TARGET),
    ] {
        let location = Location::parse(target).unwrap();
        c.bench_function(
            &format!("Plain::new + h1::write_plain, target {name}"),
            |b| {
                b.iter(|| {
                    out.clear();
                    let plain =
                        Plain::new(RedirectStatus::SeeOther, location.clone(), &Method::GET);
                    h1::write_plain(&plain, b"Tue, 24 Nov 2026 23:00:00 GMT", &mut out);
                    out.len()
                })
            },
        );
    }
}

fn negotiate(c: &mut Criterion) {
    let offered = ["text/html", "text/turtle", "application/ld+json"];
    for (name, accept) in [
        (
            "browser",
            "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,\
             image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7",
        ),
        ("curl", "*/*"),
        (
            "linked-data",
            "application/rdf+xml;q=0.9, text/turtle, application/ld+json;q=0.8, */*;q=0.1",
        ),
    ] {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static(accept));
        c.bench_function(&format!("negotiate::choose {name}"), |b| {
            b.iter(|| choose(black_box(&headers), black_box(&offered)))
        });
        c.bench_function(&format!("negotiate::quality {name}"), |b| {
            b.iter(|| quality(black_box(&headers), black_box("text/turtle")))
        });
    }
    let none = HeaderMap::new();
    c.bench_function("negotiate::choose no Accept", |b| {
        b.iter(|| choose(black_box(&none), black_box(&offered)))
    });
}

fn user_agent(c: &mut Criterion) {
    let current = Url::parse("https://shop.example/orders/new?step=2").unwrap();
    for (name, location) in [
        ("absolute", &b"https://shop.example/orders/42"[..]),
        ("path", b"/orders/42"),
        ("relative", b"../orders/42?view=full"),
    ] {
        c.bench_function(&format!("location::resolve {name}"), |b| {
            b.iter(|| resolve(black_box(&current), black_box(location)))
        });
    }

    let mut response = HeaderMap::new();
    response.insert(LOCATION, HeaderValue::from_static("/orders/42"));
    c.bench_function("Follow::on_response 303 step", |b| {
        b.iter_batched(
            || {
                Follow::new(
                    Policy::default(),
                    Method::POST,
                    current.clone(),
                    HeaderMap::new(),
                    BodyKind::Replayable,
                )
                .unwrap()
            },
            |mut follow| {
                let step = follow.on_response(StatusCode::SEE_OTHER, black_box(&response));
                black_box(step.is_ok());
                follow
            },
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, respond, h1, negotiate, user_agent);
criterion_main!(benches);
