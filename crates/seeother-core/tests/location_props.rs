//! Properties of `Location` values over arbitrary input.

use proptest::prelude::*;
use seeother_core::location::{Location, Schemes, inherit_fragment, resolve};
use url::Url;

/// Strings that look like URL references often enough to reach every branch.
fn urlish() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        r"[ -~\t\r\n\u{0}\u{7f}\u{e9}\u{3000}]{0,40}",
        r"(https?:|HTTP:|//|/\\|\\\\|javascript:|data:|mailto:)?(//)?[a-zA-Z0-9.@:\[\]%/?#\\ `{}|^<>\u{fc}-]{0,30}",
    ]
}

/// Check the invariants of a wire value.
fn assert_clean(wire: &str) -> Result<(), TestCaseError> {
    prop_assert!(wire.is_ascii(), "{wire:?}");
    prop_assert!(!wire.bytes().any(|b| b.is_ascii_control()), "{wire:?}");
    for c in [' ', '"', '<', '>', '`', '\\'] {
        prop_assert!(!wire.contains(c), "{c:?} in {wire:?}");
    }
    // Every `%` starts a `%XX` triplet.
    for (i, _) in wire.match_indices('%') {
        let hex = wire.get(i + 1..i + 3).unwrap_or_default();
        prop_assert!(
            hex.len() == 2 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
            "{wire:?}"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn parse_is_clean_and_idempotent(input in urlish()) {
        if let Ok(loc) = Location::parse(&input) {
            assert_clean(loc.as_str())?;
            prop_assert_eq!(loc.header_value().as_bytes(), loc.as_str().as_bytes());
            prop_assert_eq!(Location::parse(loc.as_str()), Ok(loc.clone()), "from {:?}", input);
        }
    }

    #[test]
    fn parse_with_other_schemes_is_clean_and_idempotent(input in urlish()) {
        let schemes = Schemes::default().allow("data").allow("mailto").allow("javascript");
        if let Ok(loc) = Location::parse_with(&input, &schemes) {
            assert_clean(loc.as_str())?;
            prop_assert_eq!(Location::parse_with(loc.as_str(), &schemes), Ok(loc.clone()));
        }
    }

    /// What `parse` keeps relative stays relative, and what it sends resolves like a URL.
    #[test]
    fn relative_stays_relative_and_resolves(input in urlish()) {
        if let Ok(loc) = Location::parse(&input) {
            let wire = loc.as_str();
            let absolute = wire.starts_with("http://") || wire.starts_with("https://");
            prop_assert_eq!(absolute, input.trim_start_matches(' ').get(..4)
                .is_some_and(|s| s.eq_ignore_ascii_case("http")));
            let base = Url::parse("https://a.example/b/c?q#f").unwrap();
            prop_assert!(resolve(&base, wire.as_bytes()).is_ok(), "{wire:?}");
        }
    }

    #[test]
    fn resolve_never_panics(
        bytes in prop::collection::vec(any::<u8>(), 0..64),
        base in prop_oneof![
            Just("http://a/b/c/d;p?q"),
            Just("https://a.example:8443/x#frag"),
            Just("http://[::1]/"),
            Just("data:text/plain,x"),
        ],
    ) {
        let base = Url::parse(base).unwrap();
        if let Ok(url) = resolve(&base, &bytes) {
            prop_assert!(url.as_str().is_ascii());
            // RFC 9110 §10.2.2: a target without a fragment carries the base's.
            let mut again = url.clone();
            inherit_fragment(&base, &mut again);
            prop_assert_eq!(again, url);
        }
    }

    #[test]
    fn resolve_never_panics_on_urlish_text(input in urlish()) {
        let base = Url::parse("https://a.example/b#top").unwrap();
        let _ = resolve(&base, input.as_bytes());
    }
}
