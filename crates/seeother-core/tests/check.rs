//! `seeother_core::check`: the verdict on a chain of statuses, and `Retry-After`.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, HeaderValue, StatusCode};
use seeother_core::check::{State, classify, is_rate_limited, retry_after};

fn chain(codes: &[u16]) -> Vec<StatusCode> {
    codes
        .iter()
        .map(|c| StatusCode::from_u16(*c).unwrap())
        .collect()
}

#[test]
fn the_eventual_answer_decides_then_the_first_redirect() {
    let cases: &[(&[u16], State, usize)] = &[
        (&[200], State::Ok, 0),
        (&[204], State::Ok, 0),
        (&[301, 200], State::PermanentRedirect, 1),
        (&[308, 301, 200], State::PermanentRedirect, 2),
        (&[301, 302, 200], State::PermanentRedirect, 1),
        (&[302, 301, 200], State::TemporaryRedirect, 0),
        (&[303, 200], State::TemporaryRedirect, 0),
        (&[307, 200], State::TemporaryRedirect, 0),
        (&[404], State::ClientError, 0),
        (&[301, 410], State::ClientError, 1),
        (&[500], State::ServerError, 0),
        (&[302, 503], State::ServerError, 0),
        (&[], State::Invalid, 0),
    ];
    for (codes, state, moved) in cases {
        let v = classify(&chain(codes));
        assert_eq!((v.state, v.moved), (*state, *moved), "{codes:?}");
    }
}

#[test]
fn broken_is_every_state_a_reader_gets_no_answer_in() {
    let broken: Vec<&str> = State::ALL
        .into_iter()
        .filter(|s| s.is_broken())
        .map(State::name)
        .collect();
    assert_eq!(
        broken,
        [
            "client_error",
            "server_error",
            "unreachable",
            "timeout",
            "redirect_loop",
            "invalid"
        ]
    );
    for s in State::ALL {
        assert_eq!(State::from_name(s.name()), Some(s));
    }
}

fn with_retry_after(value: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("retry-after", HeaderValue::from_str(value).unwrap());
    h
}

#[test]
fn retry_after_takes_seconds_or_a_date() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
    assert_eq!(
        retry_after(&with_retry_after("120"), now),
        Some(Duration::from_secs(120))
    );
    assert_eq!(
        retry_after(&with_retry_after("Sun, 06 Nov 1994 08:50:37 GMT"), now),
        Some(Duration::from_secs(60))
    );
    // A date gone by: no wait.
    assert_eq!(
        retry_after(&with_retry_after("Sun, 06 Nov 1994 08:00:00 GMT"), now),
        Some(Duration::ZERO)
    );
    assert_eq!(retry_after(&with_retry_after("soon"), now), None);
    assert_eq!(retry_after(&with_retry_after("-5"), now), None);
    assert_eq!(retry_after(&HeaderMap::new(), now), None);
}

#[test]
fn rate_limited_is_429_or_503_with_retry_after() {
    let none = HeaderMap::new();
    assert!(is_rate_limited(StatusCode::TOO_MANY_REQUESTS, &none));
    assert!(!is_rate_limited(StatusCode::SERVICE_UNAVAILABLE, &none));
    assert!(is_rate_limited(
        StatusCode::SERVICE_UNAVAILABLE,
        &with_retry_after("5")
    ));
    assert!(!is_rate_limited(StatusCode::OK, &with_retry_after("5")));
}
