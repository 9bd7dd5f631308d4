//! Fuzz `Accept` parsing and variant choice (`negotiate::quality`, `negotiate::choose`) with
//! their invariants.
//!
//! Input: `Accept` field values separated by `\n`, then an empty line, then offered media
//! types separated by `\n`.

#![no_main]

use http::header::ACCEPT;
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use seeother_core::negotiate::{Quality, choose, quality};

fuzz_target!(|data: &[u8]| {
    let (fields, offered) = match data.windows(2).position(|w| w == b"\n\n") {
        Some(at) => (&data[..at], &data[at + 2..]),
        None => (data, &b"text/html\ntext/turtle\napplication/ld+json"[..]),
    };
    let mut headers = HeaderMap::new();
    let mut valid = Vec::new();
    for field in fields.split(|&b| b == b'\n') {
        if let Ok(value) = HeaderValue::from_bytes(field) {
            headers.append(ACCEPT, value);
            valid.push(field);
        }
    }
    let offered: Vec<String> = offered
        .split(|&b| b == b'\n')
        .take(16)
        .map(|o| String::from_utf8_lossy(o).into_owned())
        .collect();

    let qualities: Vec<Quality> = offered.iter().map(|o| quality(&headers, o)).collect();
    assert!(qualities.iter().all(|q| q.0 <= 1000), "{qualities:?}");

    // `choose` picks the earliest of the best acceptable offers, or none.
    let best = qualities.iter().copied().max();
    match choose(&headers, &offered) {
        Some(i) => {
            assert!(qualities[i].is_acceptable());
            assert_eq!(Some(qualities[i]), best);
            assert!(qualities[..i].iter().all(|q| *q < qualities[i]));
        }
        None => assert!(qualities.iter().all(|q| !q.is_acceptable())),
    }

    // RFC 9110 §5.3: several fields mean the same as one joined with commas (as long as no
    // quoted-string is left open at the end of a field).
    if valid.len() > 1 && !valid.iter().any(|f| f.contains(&b'"')) {
        let joined = valid.join(&b", "[..]);
        if let Ok(value) = HeaderValue::from_bytes(&joined) {
            let mut one = HeaderMap::new();
            one.insert(ACCEPT, value);
            for (o, q) in offered.iter().zip(&qualities) {
                assert_eq!(quality(&one, o), *q, "{o:?} under {joined:?}");
            }
        }
    }

    // RFC 9110 §8.3.1: type and subtype are case-insensitive.
    for (o, q) in offered.iter().zip(&qualities) {
        if !o.contains(';') {
            assert_eq!(quality(&headers, &o.to_ascii_uppercase()), *q, "{o:?}");
        }
    }
});
