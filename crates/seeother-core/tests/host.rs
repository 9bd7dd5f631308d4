//! The authority of a request, and which `Host` fields make it a bad request (RFC 9112 §3.2).

use http::Version;
use seeother_core::host::{self, HostError};

fn h11(hosts: &[&str]) -> Result<Option<String>, HostError> {
    host::of_request(Version::HTTP_11, None, hosts.iter().map(|h| h.as_bytes()))
        .map(|h| h.map(str::to_owned))
}

#[test]
fn one_host_with_an_optional_port_is_the_authority() {
    for ok in [
        "example.org",
        "Example.ORG:8080",
        "127.0.0.1",
        "127.0.0.1:80",
        "[::1]",
        "[2001:db8::7]:8443",
        "[v1.fe80::a+en1]",
        "xn--bcher-kva.example",
        "a%20b",
        "h:",
    ] {
        assert_eq!(h11(&[ok]), Ok(Some(ok.to_owned())), "{ok}");
    }
    // RFC 9110 §5.5: surrounding whitespace is not part of the value.
    assert_eq!(h11(&[" example.org "]), Ok(Some("example.org".to_owned())));
}

#[test]
fn none_two_empty_or_malformed_hosts_are_bad_requests() {
    assert_eq!(h11(&[]), Err(HostError::Missing));
    assert_eq!(h11(&["a", "a"]), Err(HostError::Multiple));
    assert_eq!(h11(&["a", ""]), Err(HostError::Multiple));
    for empty in ["", "  ", ":80", "[]"] {
        let got = h11(&[empty]);
        assert!(
            matches!(got, Err(HostError::Empty | HostError::Invalid)),
            "{empty:?}: {got:?}"
        );
    }
    assert_eq!(h11(&[""]), Err(HostError::Empty));
    for bad in [
        "a b",
        "a/b",
        "user@host",
        "host:8o",
        "host:80:80",
        "[::1",
        "[::1]x",
        "[nope]",
        "b\u{fc}cher.example",
        "a\tb",
        "a?b",
        "a#b",
    ] {
        assert_eq!(h11(&[bad]), Err(HostError::Invalid), "{bad:?}");
    }
}

#[test]
fn http_1_0_needs_no_host_but_two_are_still_bad() {
    let none: [&[u8]; 0] = [];
    assert_eq!(host::of_request(Version::HTTP_10, None, none), Ok(None));
    let two = [&b"a"[..], &b"b"[..]];
    assert_eq!(
        host::of_request(Version::HTTP_10, None, two),
        Err(HostError::Multiple)
    );
}

#[test]
fn an_absolute_form_target_overrides_host_over_http_1_1() {
    // RFC 9112 §3.2.2: the target's authority, the Host ignored (but still required).
    let got = host::of_request(Version::HTTP_11, Some("a.example"), [&b"b.example"[..]]);
    assert_eq!(got, Ok(Some("a.example")));
    let none: [&[u8]; 0] = [];
    assert_eq!(
        host::of_request(Version::HTTP_11, Some("a.example"), none),
        Err(HostError::Missing)
    );
}

#[test]
fn http_2_takes_authority_and_refuses_a_host_that_differs() {
    let none: [&[u8]; 0] = [];
    assert_eq!(
        host::of_request(Version::HTTP_2, Some("a.example"), none),
        Ok(Some("a.example"))
    );
    assert_eq!(host::of_request(Version::HTTP_2, None, none), Ok(None));
    assert_eq!(
        host::of_request(Version::HTTP_2, Some("a.example"), [&b"A.Example"[..]]),
        Ok(Some("a.example"))
    );
    // RFC 9113 §8.3.1.
    assert_eq!(
        host::of_request(Version::HTTP_2, Some("a.example"), [&b"b.example"[..]]),
        Err(HostError::Conflicting)
    );
}

#[test]
fn every_error_says_what_to_do() {
    for e in [
        HostError::Missing,
        HostError::Multiple,
        HostError::Empty,
        HostError::Invalid,
        HostError::Conflicting,
    ] {
        assert!(e.to_string().contains("RFC 91"), "{e}");
    }
}
