//! The hop limit and loop detection: both end the chain with an error that names the URL.

use http::{HeaderMap, Method};
use seeother_core::follow::{BodyKind, Follow, FollowError, Policy};

use crate::{done, fail, fields, get, hop, to, url};

/// Follow a chain of distinct URLs `/1`, `/2`, … until it fails; the error and hops followed.
fn run_until_error(policy: Policy) -> (FollowError, usize) {
    let mut follow = get(policy, "http://a.example/0");
    for n in 1..=1000 {
        let headers = to(&format!("/{n}"));
        match follow.on_response(http::StatusCode::FOUND, &headers) {
            Ok(_) => assert_eq!(follow.redirects() as usize, n),
            Err(e) => {
                assert_eq!(
                    follow.history().len(),
                    n,
                    "every response is in the history"
                );
                return (e, n - 1);
            }
        }
    }
    panic!("no limit within 1000 redirects");
}

#[test]
fn the_default_limit_follows_20_and_refuses_the_21st() {
    // Fetch §4.4 step 7: 20 redirects, then a network error.
    let (e, followed) = run_until_error(Policy::default());
    assert_eq!(followed, 20);
    assert_eq!(
        e,
        FollowError::TooManyRedirects {
            limit: 20,
            url: url("http://a.example/21"),
        }
    );
    let message = e.to_string();
    assert!(message.contains("stopped after 20"), "{message}");
    assert!(message.contains("http://a.example/21"), "{message}");
    assert!(message.contains("--max-redirs"), "{message}");
}

#[test]
fn a_custom_limit_follows_exactly_that_many() {
    for limit in [1, 3, 7] {
        let policy = Policy {
            max_redirects: limit,
            ..Policy::default()
        };
        let (e, followed) = run_until_error(policy);
        assert_eq!(followed, limit as usize);
        assert!(matches!(e, FollowError::TooManyRedirects { limit: l, .. } if l == limit));
    }
}

#[test]
fn limit_zero_refuses_the_first_redirect_but_not_an_answer() {
    let zero = || Policy {
        max_redirects: 0,
        ..Policy::default()
    };
    let (e, followed) = run_until_error(zero());
    assert_eq!(followed, 0);
    assert_eq!(e.kind(), "too_many_redirects");
    assert!(e.to_string().contains("--no-follow"), "{e}");

    let mut follow = get(zero(), "http://a.example/");
    done(&mut follow, 200, &HeaderMap::new());
    // A redirect with nothing to follow is an answer, limit or not.
    let mut follow = get(zero(), "http://a.example/");
    done(&mut follow, 303, &HeaderMap::new());
}

#[test]
fn exactly_the_limit_then_an_answer_succeeds() {
    let policy = Policy {
        max_redirects: 2,
        ..Policy::default()
    };
    let mut follow = get(policy, "http://a.example/0");
    hop(&mut follow, 302, &to("/1"));
    hop(&mut follow, 302, &to("/2"));
    done(&mut follow, 200, &HeaderMap::new());
    assert_eq!(follow.redirects(), 2);
}

#[test]
fn a_to_b_to_a_is_a_loop_once_a_gets_the_same_answer_again_and_names_the_cycle() {
    let mut follow = get(Policy::default(), "http://a.example/a");
    hop(&mut follow, 302, &to("http://b.example/b"));
    // A requested again is not yet a loop: the server may answer it differently this time.
    hop(&mut follow, 302, &to("http://a.example/a"));
    let e = fail(&mut follow, 302, &to("http://b.example/b"));
    assert_eq!(
        e,
        FollowError::RedirectLoop {
            url: url("http://a.example/a"),
            status: http::StatusCode::FOUND,
            cycle: vec![
                url("http://a.example/a"),
                url("http://b.example/b"),
                url("http://a.example/a"),
            ],
        }
    );
    let message = e.to_string();
    assert!(
        message.starts_with(
            "redirect loop: http://a.example/a → http://b.example/b → http://a.example/a: \
             the same request got the same 302 redirect twice"
        ),
        "{message}"
    );
}

#[test]
fn a_redirect_to_itself_is_a_loop_on_the_second_identical_answer() {
    let mut follow = get(Policy::default(), "http://a.example/self");
    hop(&mut follow, 301, &to("/self"));
    let e = fail(&mut follow, 301, &to("/self"));
    assert_eq!(e.kind(), "redirect_loop");
    assert_eq!(follow.history().len(), 2);
}

#[test]
fn a_location_to_its_own_fragment_is_followed_and_may_then_succeed() {
    // `Location: #s` names the page itself: the same request again, which a server may now
    // answer with the page (a cookie set, a cache warmed). Browsers retry it too.
    let mut follow = get(Policy::default(), "http://a.example/page");
    let again = hop(&mut follow, 302, &to("#s"));
    assert_eq!(again.url.as_str(), "http://a.example/page#s");
    done(&mut follow, 200, &HeaderMap::new());
    // The same redirect a second time is the loop.
    let mut follow = get(Policy::default(), "http://a.example/page");
    hop(&mut follow, 302, &to("#s"));
    assert_eq!(fail(&mut follow, 302, &to("#s")).kind(), "redirect_loop");
}

#[test]
fn the_same_request_with_another_redirect_is_not_a_loop() {
    // A server that answers /a differently the second time: /a → /a → /b → 200.
    let mut follow = get(Policy::default(), "http://a.example/a");
    hop(&mut follow, 302, &to("/a"));
    hop(&mut follow, 302, &to("/b"));
    done(&mut follow, 200, &HeaderMap::new());
    // A 301 where a 302 came before is another answer too.
    let mut follow = get(Policy::default(), "http://a.example/a");
    hop(&mut follow, 302, &to("/a"));
    hop(&mut follow, 301, &to("/a"));
    assert_eq!(fail(&mut follow, 301, &to("/a")).kind(), "redirect_loop");
}

#[test]
fn the_fragment_does_not_make_a_new_request() {
    // The fragment is never sent: /a#x and /a are the same request.
    let mut follow = get(Policy::default(), "http://a.example/a");
    hop(&mut follow, 302, &to("/b"));
    hop(&mut follow, 302, &to("/a#x"));
    assert_eq!(fail(&mut follow, 302, &to("/b")).kind(), "redirect_loop");
}

#[test]
fn the_same_url_with_another_method_is_not_a_loop() {
    // POST /form --303--> GET /form is the common "post, then show the page" flow.
    let mut follow = Follow::new(
        Policy::default(),
        Method::POST,
        url("http://a.example/form"),
        HeaderMap::new(),
        BodyKind::Replayable,
    )
    .unwrap();
    hop(&mut follow, 303, &to("/form"));
    // The GET redirected to itself twice is one.
    hop(&mut follow, 303, &to("/form"));
    assert_eq!(fail(&mut follow, 303, &to("/form")).kind(), "redirect_loop");
}

#[test]
fn a_login_flow_that_sets_a_cookie_and_comes_back_is_not_a_loop() {
    let mut follow = Follow::with_jar(
        Policy::default(),
        Method::GET,
        url("http://a.example/private"),
        HeaderMap::new(),
        BodyKind::Empty,
        crate::cookies::TestJar::default(),
    )
    .unwrap();
    hop(&mut follow, 302, &to("/login"));
    let login = fields(&[("location", "/private"), ("set-cookie", "sid=42")]);
    let back = hop(&mut follow, 302, &login);
    assert_eq!(back.url.as_str(), "http://a.example/private");
    assert_eq!(back.headers["cookie"], "sid=42");
    done(&mut follow, 200, &HeaderMap::new());

    // Without a jar the cookie is lost, and the same flow is a loop once /private sends to
    // /login a second time.
    let mut follow = get(Policy::default(), "http://a.example/private");
    hop(&mut follow, 302, &to("/login"));
    hop(&mut follow, 302, &login);
    assert_eq!(
        fail(&mut follow, 302, &to("/login")).kind(),
        "redirect_loop"
    );
}

#[test]
fn a_location_over_the_length_limit_is_refused_with_a_bounded_message() {
    // RFC 9110 §4.1: the limit on URI length is the implementation's; the default follows
    // 32 KiB and refuses 100 KB.
    let huge = format!("/{}", "a".repeat(100_000));
    let mut follow = get(Policy::default(), "http://a.example/start");
    let e = fail(&mut follow, 303, &to(&huge));
    assert_eq!(e.kind(), "invalid_location");
    assert!(
        matches!(&e, FollowError::LocationTooLong { length: 100_001, limit, .. } if *limit == 32 << 10),
        "{e:?}"
    );
    let message = e.to_string();
    assert!(message.len() < 400, "{} bytes: {message}", message.len());
    assert!(message.contains("100001 bytes long"), "{message}");
    assert!(message.contains("http://a.example/start"), "{message}");
    assert!(message.contains("\"/aaaa"), "{message}");

    // Just under the limit is followed.
    let fits = format!("/{}", "a".repeat((32 << 10) - 100));
    let mut follow = get(Policy::default(), "http://a.example/start");
    hop(&mut follow, 303, &to(&fits));

    // A short value that resolves against a long URL to a target over the limit: refused too.
    let policy = Policy {
        max_location_len: 100,
        ..Policy::default()
    };
    let long_base = format!("http://a.example/{}", "b".repeat(95));
    let mut follow = get(policy, &long_base);
    let e = fail(&mut follow, 302, &to("?next=1"));
    assert!(
        matches!(e, FollowError::LocationTooLong { length: 119, .. }),
        "{e:?}"
    );
}
