//! Fuzz `Location::parse`, `resolve` and `Guard::check` with their invariants.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use seeother_core::guard::Guard;
use seeother_core::location::{Location, Schemes, resolve, same_origin};
use url::Url;

static BASES: LazyLock<Vec<Url>> = LazyLock::new(|| {
    [
        "http://a/b/c/d;p?q",
        "https://site.example:8443/x/y#frag",
        "http://[::1]/",
        "data:text/plain,x",
    ]
    .iter()
    .map(|s| Url::parse(s).unwrap())
    .collect()
});

static SCHEMES: LazyLock<[Schemes; 2]> = LazyLock::new(|| {
    [
        Schemes::default(),
        Schemes::default()
            .allow("mailto")
            .allow("data")
            .allow("javascript"),
    ]
});

static GUARD: LazyLock<Guard> = LazyLock::new(|| {
    Guard::new(Url::parse("https://site.example/").unwrap()).allow_host("pay.example")
});

fn assert_clean(input: &str, wire: &str) {
    assert!(wire.is_ascii(), "{input:?} -> {wire:?}");
    assert!(
        !wire
            .bytes()
            .any(|b| b.is_ascii_control() || b" \"<>`\\".contains(&b)),
        "{input:?} -> {wire:?}"
    );
}

fuzz_target!(|data: &[u8]| {
    for base in BASES.iter() {
        if let Ok(url) = resolve(base, data) {
            assert!(url.as_str().is_ascii());
        }
    }
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    for schemes in SCHEMES.iter() {
        if let Ok(loc) = Location::parse_with(input, schemes) {
            assert_clean(input, loc.as_str());
            assert_eq!(
                Location::parse_with(loc.as_str(), schemes).as_ref(),
                Ok(&loc),
                "not idempotent: {input:?}"
            );
            // What a server sends, a user agent can resolve.
            assert!(
                resolve(&BASES[0], loc.as_str().as_bytes()).is_ok(),
                "{input:?} -> {loc}"
            );
        }
    }
    if let Ok(loc) = GUARD.check(input) {
        assert_clean(input, loc.as_str());
        for page in ["https://site.example/a/b", "http://site.example/"] {
            let page = Url::parse(page).unwrap();
            let landed = resolve(&page, loc.as_str().as_bytes()).unwrap();
            assert!(
                same_origin(&landed, &page) || landed.host_str() == Some("pay.example"),
                "{input:?} -> {loc} -> {landed}"
            );
            assert!(landed.username().is_empty() && landed.password().is_none());
        }
    }
});
