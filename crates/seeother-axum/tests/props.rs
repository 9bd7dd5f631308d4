//! Any input: `SeeOther::to` and `Next` never panic, and whatever `Next` lets through lands on
//! the site or an allow-listed host when a browser resolves it.

use http::Request;
use proptest::prelude::*;
use seeother_axum::{NextPolicy, SeeOther};
use seeother_core::location::resolve;
use url::Url;

fn tricky() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("/".to_owned()),
        Just("\\".to_owned()),
        Just("//".to_owned()),
        Just("\t".to_owned()),
        Just("\n".to_owned()),
        Just("@".to_owned()),
        Just(":".to_owned()),
        Just("%2F".to_owned()),
        Just("https:".to_owned()),
        Just("evil.example".to_owned()),
        Just("site.example".to_owned()),
        Just("pay.example".to_owned()),
        Just("javascript:".to_owned()),
        Just("..".to_owned()),
        Just("?#".to_owned()),
        "\\PC{0,3}",
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..8).prop_map(|parts| parts.concat())
}

proptest! {
    #[test]
    fn see_other_never_panics_and_never_sends_a_control(input in tricky()) {
        if let Ok(redirect) = SeeOther::to(&input) {
            let wire = redirect.location().as_str();
            prop_assert!(wire.bytes().all(|b| (0x21..0x7f).contains(&b)), "{wire:?}");
        }
    }

    #[test]
    fn next_lands_on_the_site_or_an_allowed_host(input in tricky()) {
        let policy = NextPolicy::new("https://site.example").unwrap().allow_host("pay.example");
        let (parts, ()) = Request::get("/account/sign-in?x=1").body(()).unwrap().into_parts();
        let next = policy.judge(&parts, Some(&input)).unwrap();
        let page = Url::parse("https://site.example/account/sign-in?x=1").unwrap();
        let landed = resolve(&page, next.location().as_str().as_bytes()).unwrap();
        let host = landed.host_str().unwrap_or_default();
        prop_assert!(host == "site.example" || host == "pay.example", "{input:?} -> {landed}");
        prop_assert!(landed.username().is_empty() && landed.password().is_none());
    }
}
