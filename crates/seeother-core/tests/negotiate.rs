//! `Accept` parsing and variant choice (RFC 9110 §12.5.1), edge cases as tables.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use http::header::ACCEPT;
use http::{HeaderMap, HeaderValue};
use seeother_core::negotiate::{Quality, choose, quality};

/// Counts the allocations of the current thread, so a test can tell that a call made none.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

fn accept(fields: &[&[u8]]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for field in fields {
        headers.append(ACCEPT, HeaderValue::from_bytes(field).unwrap());
    }
    headers
}

/// (Accept field values, media type, expected quality in thousandths).
const QUALITY: &[(&[&str], &str, u16)] = &[
    // No Accept field: everything is acceptable.
    (&[], "text/turtle", 1000),
    // An empty field or one with no readable member expresses no preference.
    (&[""], "text/turtle", 1000),
    (&[" , ,"], "text/turtle", 1000),
    (&["text/"], "text/html", 1000),
    // Exact matches, defaults and explicit weights.
    (&["text/html"], "text/html", 1000),
    (&["text/html"], "text/plain", 0),
    (&["text/html;q=0.5"], "text/html", 500),
    (&["text/html;q=0.001"], "text/html", 1),
    (&["text/html;q=1.000"], "text/html", 1000),
    (&["text/html;q=1"], "text/html", 1000),
    (&["text/html;q=0"], "text/html", 0),
    (&["text/html;q=0."], "text/html", 0),
    (&["text/html;Q=0.5"], "text/html", 500),
    // Wildcards.
    (&["*/*"], "application/ld+json", 1000),
    (&["*/*;q=0.1"], "image/png", 100),
    (&["text/*;q=0.4"], "text/turtle", 400),
    (&["text/*;q=0.4"], "application/json", 0),
    // The most specific range decides, whatever the order.
    (
        &["*/*;q=0.1, text/*;q=0.2, text/html;q=0.3"],
        "text/html",
        300,
    ),
    (
        &["text/html;q=0.3, text/*;q=0.2, */*;q=0.1"],
        "text/html",
        300,
    ),
    (
        &["text/html;q=0.3, text/*;q=0.2, */*;q=0.1"],
        "text/css",
        200,
    ),
    (
        &["text/html;q=0.3, text/*;q=0.2, */*;q=0.1"],
        "image/png",
        100,
    ),
    (
        &["text/html;level=1;q=0.9, text/html;q=0.2"],
        "text/html;level=1",
        900,
    ),
    (
        &["text/html;level=1;q=0.9, text/html;q=0.2"],
        "text/html;level=2",
        200,
    ),
    (
        &["text/html;level=1;q=0.9, text/html;q=0.2"],
        "text/html",
        200,
    ),
    // q=0 excludes even when a wildcard would allow it.
    (&["*/*, text/html;q=0"], "text/html", 0),
    (&["text/html;q=0, */*"], "text/html", 0),
    (&["text/*;q=0, */*"], "text/plain", 0),
    (&["text/*;q=0, */*"], "image/png", 1000),
    // Case-insensitive type, subtype, parameter names; charset values too.
    (&["TEXT/HTML;q=0.7"], "text/html", 700),
    (&["text/html;q=0.7"], "Text/HTML", 700),
    (&["text/*;q=0.6"], "TEXT/Plain", 600),
    (
        &["text/html;CharSet=UTF-8;q=0.7"],
        "text/html;charset=utf-8",
        700,
    ),
    (&["text/html;level=A;q=0.7"], "text/html;level=a", 0),
    // Quoted and token values are the same value.
    (&["text/html;level=\"1\";q=0.7"], "text/html;level=1", 700),
    (&["text/html;level=1;q=0.7"], "text/html;level=\"1\"", 700),
    (
        &["text/html;x=\"a,b\";q=0.7, */*;q=0.1"],
        "text/html;x=\"a,b\"",
        700,
    ),
    // A range's parameters must all be on the offered type; extra offered ones are fine.
    (&["text/html;charset=utf-8"], "text/html", 0),
    (&["text/html"], "text/html;charset=utf-8", 1000),
    // Offered types may carry parameters, and ordinary OWS.
    (
        &["application/ld+json;profile=\"http://www.w3.org/ns/json-ld#compacted\""],
        "application/ld+json; profile=\"http://www.w3.org/ns/json-ld#compacted\"",
        1000,
    ),
    (
        &["  text/html ;  q=0.5 ,\ttext/plain\t;\tq=0.2  "],
        "text/html",
        500,
    ),
    (
        &["  text/html ;  q=0.5 ,\ttext/plain\t;\tq=0.2  "],
        "text/plain",
        200,
    ),
    (&["text/html;;q=0.5"], "text/html", 500),
    // Malformed members are ignored; the others still count.
    (&["text/, text/html;q=0.5"], "text/html", 500),
    (&["text/html;q=abc, */*;q=0.1"], "text/html", 100),
    (&["*/html, */*;q=0.2"], "text/html", 200),
    (&["text/html;q=2, */*;q=0.2"], "text/html", 200),
    (&["text/html;q=1000, */*;q=0.2"], "text/html", 200),
    (&["text/html;q=1.5, */*;q=0.2"], "text/html", 200),
    (&["text/html;q=0.5555, */*;q=0.2"], "text/html", 200),
    (&["text/html;q=-1, */*;q=0.2"], "text/html", 200),
    (&["text/html;q=, */*;q=0.2"], "text/html", 200),
    (&["text/html;q=\"0.5\", */*;q=0.2"], "text/html", 200),
    (&["text/html;q = 0.5, */*;q=0.2"], "text/html", 200),
    (&["text / html, */*;q=0.2"], "text/html", 200),
    (&["text/html;level, */*;q=0.2"], "text/html", 200),
    (&["text/html;level=\"1, */*;q=0.2"], "text/html", 1000),
    (&["*; q=.2, text/html;q=0.3"], "text/html", 300),
    (&["*; q=.2, text/html;q=0.3"], "image/gif", 0),
    // Only garbage: no preference.
    (&["*; q=.2, text/"], "image/gif", 1000),
    // Parameters after the weight (RFC 7231 accept-ext) are ignored.
    (&["text/html;q=0.5;ext=1"], "text/html", 500),
    // Duplicates: the first of equally specific ranges decides.
    (&["text/html;q=0.3, text/html;q=0.9"], "text/html", 300),
    (&["text/html, text/html;q=0"], "text/html", 1000),
    // Several fields are one list (RFC 9110 §5.3).
    (&["text/html;q=0.2", "text/turtle"], "text/turtle", 1000),
    (&["text/html;q=0.2", "text/turtle"], "text/html", 200),
    (&["*/*;q=0.1", "text/*;q=0.5"], "text/plain", 500),
    (&["", "text/turtle"], "text/html", 0),
    // Malformed offered types are never acceptable.
    (&[], "text", 0),
    (&[], "*/*", 0),
    (&["*/*"], "text/*", 0),
    (&["*/*"], "", 0),
    (&["*/*"], "text/html;q=abc", 0),
];

#[test]
fn quality_table() {
    for &(fields, media_type, expected) in QUALITY {
        let fields: Vec<&[u8]> = fields.iter().map(|f| f.as_bytes()).collect();
        let headers = accept(&fields);
        assert_eq!(
            quality(&headers, media_type),
            Quality(expected),
            "Accept: {fields:?} for {media_type:?}"
        );
    }
}

/// The example of RFC 9110 §12.5.1.
#[test]
fn rfc_9110_example() {
    let headers = accept(&[
        b"text/*;q=0.3, text/plain;q=0.7, text/plain;format=flowed,",
        b"text/plain;format=fixed;q=0.4, */*;q=0.5",
    ]);
    for (media_type, expected) in [
        ("text/plain;format=flowed", 1000),
        ("text/plain", 700),
        ("text/html", 300),
        ("image/jpeg", 500),
        ("text/plain;format=fixed", 400),
        // Only `text/*` matches this one.
        ("text/html;level=3", 300),
    ] {
        assert_eq!(
            quality(&headers, media_type),
            Quality(expected),
            "{media_type}"
        );
    }
}

#[test]
fn obs_text_and_non_ascii_are_ignored() {
    let headers = accept(&[b"text/h\xe9ml, text/turtle;q=0.5, text/html;x=\"\xe9\";q=0.3"]);
    assert_eq!(quality(&headers, "text/turtle"), Quality(500));
    assert_eq!(quality(&headers, "text/html"), Quality(0));
    assert_eq!(quality(&headers, "text/html;x=\"\u{e9}\""), Quality(0));
}

const PAGE_OR_DATA: [&str; 3] = ["text/html", "text/turtle", "application/ld+json"];

/// (Accept field values, offered, expected choice).
const CHOICE: &[(&[&str], &[&str], Option<usize>)] = &[
    (&[], &PAGE_OR_DATA, Some(0)),
    (&[], &["text/turtle", "text/html"], Some(0)),
    (&[], &[], None),
    (&["*/*"], &[], None),
    (&["*/*"], &PAGE_OR_DATA, Some(0)),
    (&[""], &PAGE_OR_DATA, Some(0)),
    // A browser.
    (
        &["text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"],
        &PAGE_OR_DATA,
        Some(0),
    ),
    // Linked-data clients.
    (&["text/turtle"], &PAGE_OR_DATA, Some(1)),
    (&["application/ld+json"], &PAGE_OR_DATA, Some(2)),
    (
        &["text/turtle;q=0.9, application/ld+json, */*;q=0.1"],
        &PAGE_OR_DATA,
        Some(2),
    ),
    (
        &["application/rdf+xml, text/turtle;q=0.8, application/ld+json;q=0.8, */*;q=0.1"],
        &PAGE_OR_DATA,
        Some(1),
    ),
    // Ties go to the earliest offered.
    (
        &["text/turtle, application/ld+json"],
        &PAGE_OR_DATA,
        Some(1),
    ),
    (
        &["application/ld+json, text/turtle"],
        &PAGE_OR_DATA,
        Some(1),
    ),
    (&["text/*"], &["text/turtle", "text/html"], Some(0)),
    // Nothing acceptable.
    (&["image/*"], &PAGE_OR_DATA, None),
    (&["*/*;q=0"], &PAGE_OR_DATA, None),
    (&["text/html;q=0, */*;q=0"], &PAGE_OR_DATA, None),
    // Exclusion beats a wildcard.
    (&["*/*, text/html;q=0"], &PAGE_OR_DATA, Some(1)),
    // Offered types with parameters.
    (
        &["text/html;level=1;q=0.4, text/html;q=0.6"],
        &["text/html;level=1", "text/html;level=2"],
        Some(1),
    ),
    // Malformed offered types are skipped.
    (&["*/*"], &["nonsense", "*/*", "text/turtle"], Some(2)),
    (&[], &["nonsense", "text/turtle"], Some(1)),
];

#[test]
fn choose_table() {
    for &(fields, offered, expected) in CHOICE {
        let fields: Vec<&[u8]> = fields.iter().map(|f| f.as_bytes()).collect();
        let headers = accept(&fields);
        assert_eq!(
            choose(&headers, offered),
            expected,
            "Accept: {fields:?} offered {offered:?}"
        );
    }
}

#[test]
fn many_offers_are_all_considered() {
    let mut offered: Vec<String> = (0..40).map(|i| format!("application/x-{i}")).collect();
    let headers = accept(&[b"application/x-37;q=0.9, application/x-3;q=0.2, application/x-20"]);
    assert_eq!(choose(&headers, &offered), Some(20));
    offered[20] = "text/plain".into();
    assert_eq!(choose(&headers, &offered), Some(37));
    let headers = accept(&[b"application/x-39;q=0.1, application/x-16;q=0.1"]);
    assert_eq!(choose(&headers, &offered), Some(16));
    let headers = accept(&[b"application/x-39"]);
    assert_eq!(choose(&headers, &offered), Some(39));
    assert_eq!(choose(&HeaderMap::new(), &offered), Some(0));
}

#[test]
fn choose_takes_owned_strings_too() {
    let offered = vec![String::from("text/html"), String::from("text/turtle")];
    let headers = accept(&[b"text/turtle"]);
    assert_eq!(choose(&headers, &offered), Some(1));
}

#[test]
fn other_fields_do_not_count() {
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::ACCEPT_LANGUAGE,
        HeaderValue::from_static("image/png"),
    );
    assert_eq!(choose(&headers, &PAGE_OR_DATA), Some(0));
    assert!(Quality(1).is_acceptable() && !Quality::ZERO.is_acceptable());
}

#[test]
fn negotiation_does_not_allocate() {
    let headers = accept(&[
        b"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        b"text/turtle;profile=\"x,y\";q=0.95, application/ld+json;q=0.5, text/, *;q=abc",
    ]);
    let offered = [
        "text/html;level=1",
        "text/turtle;profile=\"x,y\"",
        "application/ld+json",
    ];
    let before = allocations();
    let choice = choose(&headers, &offered);
    let q = quality(&headers, "TEXT/Turtle; profile=\"x,y\"");
    let none = choose(&HeaderMap::new(), &offered);
    let after = allocations();
    assert_eq!((choice, q, none), (Some(0), Quality(950), Some(0)));
    assert_eq!(after - before, 0, "allocations during negotiation");
    // The counter does count: a Vec allocates.
    let v = std::hint::black_box(vec![1u8; 16]);
    assert!(allocations() > after && v.len() == 16);
}
