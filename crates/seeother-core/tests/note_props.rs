//! Properties of redirect responses over arbitrary targets, and of negotiation over arbitrary
//! `Accept` bytes.

use http::header::{ACCEPT, LOCATION};
use http::{HeaderMap, HeaderValue, Method};
use proptest::prelude::*;
use seeother_core::negotiate::{choose, quality};
use seeother_core::{Location, Redirect, RedirectStatus};

/// Targets full of the characters that break out of HTML and header lines.
fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        r#"(https?://[a-z.]{1,12})?/[ -~\r\n\t"'<>&\u{e9}\u{202e}]{0,40}"#,
        r#"[a-z./?#&=]{0,10}["'<>&]{1,4}[a-zA-Z =/()]{0,20}"#,
    ]
}

fn status() -> impl Strategy<Value = RedirectStatus> {
    prop_oneof![
        Just(RedirectStatus::MovedPermanently),
        Just(RedirectStatus::Found),
        Just(RedirectStatus::SeeOther),
        Just(RedirectStatus::TemporaryRedirect),
        Just(RedirectStatus::PermanentRedirect),
    ]
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The raw `href` attribute and the link text of the note's one link.
fn link(html: &str) -> Option<(&str, &str)> {
    let (_, rest) = html.split_once("<a href=\"")?;
    let (href, rest) = rest.split_once("\">")?;
    let (text, _) = rest.split_once("</a>")?;
    Some((href, text))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn the_note_links_exactly_the_location(target in hostile(), status in status()) {
        let Ok(location) = Location::parse(&target) else { return Ok(()) };
        let redirect = Redirect::new(status, location);
        let response = redirect.to_response(&Method::POST);
        let wire = response.headers()[LOCATION].to_str().unwrap().to_owned();

        // Header fields carry no CR, LF or NUL, and the target is a single field line.
        for (name, value) in response.headers() {
            prop_assert!(
                !value.as_bytes().iter().any(|b| matches!(b, b'\r' | b'\n' | 0)),
                "{name}: {value:?}"
            );
        }
        prop_assert!(!wire.contains(['<', '"', ' ']), "{wire:?}");

        let html = std::str::from_utf8(response.body()).unwrap();
        prop_assert_eq!(html.matches("href=").count(), 1, "{}", html);
        let (href, text) = link(html).expect("one link");
        // Nothing from the input stands unescaped in the attribute or the link text.
        for part in [href, text] {
            prop_assert!(!part.contains(['<', '>', '"', '\'', '\r', '\n']), "{part:?}");
            // Every `&` starts one of the entities the escaper writes.
            for (i, _) in part.match_indices('&') {
                let tail = &part[i..];
                prop_assert!(
                    ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"].iter().any(|e| tail.starts_with(e)),
                    "{part:?}"
                );
            }
        }
        prop_assert_eq!(unescape(href), wire.clone());
        prop_assert_eq!(unescape(text), wire);

        // HEAD: same header block, no body.
        let head = redirect.to_response(&Method::HEAD);
        prop_assert_eq!(head.headers(), response.headers());
        prop_assert!(head.body().is_empty());
    }

    #[test]
    fn negotiation_never_panics_and_stays_consistent(
        fields in proptest::collection::vec(
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..60),
                r#"([a-zA-Z*]{0,6}/[a-zA-Z*+.-]{0,8}(;[ ]?[a-zA-Z]{1,5}=("[^"]{0,4}"|[0-9.a-z]{0,6}))*[ ]?,[ ]?){0,5}"#
                    .prop_map(String::into_bytes),
            ],
            0..3,
        ),
        offered in proptest::collection::vec(
            r#"[a-zA-Z*]{0,6}/[a-zA-Z*+.-]{0,8}(;[a-z]{1,5}=[0-9a-z"]{1,4})?|[ -~]{0,12}"#,
            0..5,
        ),
    ) {
        let mut headers = HeaderMap::new();
        for field in &fields {
            if let Ok(value) = HeaderValue::from_bytes(field) {
                headers.append(ACCEPT, value);
            }
        }
        let qualities: Vec<_> = offered.iter().map(|o| quality(&headers, o)).collect();
        for q in &qualities {
            prop_assert!(q.0 <= 1000);
        }
        let best = qualities.iter().max().copied();
        match choose(&headers, &offered) {
            Some(index) => {
                prop_assert!(qualities[index].is_acceptable());
                prop_assert_eq!(Some(qualities[index]), best);
                // The earliest of the best.
                prop_assert!(qualities[..index].iter().all(|q| *q < qualities[index]));
            }
            None => prop_assert!(qualities.iter().all(|q| !q.is_acceptable())),
        }
    }
}
