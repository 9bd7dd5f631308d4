//! The jar: it sees every response and gives every request its cookies.

use std::collections::BTreeMap;

use http::header::SET_COOKIE;
use http::{HeaderMap, HeaderValue, Method};
use seeother_core::follow::{BodyKind, Follow, Jar, Policy};
use url::Url;

use crate::{done, fields, hop, to, url};

/// A small host-only jar: `name=value` before the first `;` of each `Set-Cookie`, kept per host,
/// sent to that host in name order. It logs every call.
#[derive(Debug, Default)]
pub struct TestJar {
    cookies: BTreeMap<String, BTreeMap<String, String>>,
    pub stored_for: Vec<String>,
    pub asked_for: std::cell::RefCell<Vec<String>>,
}

impl Jar for TestJar {
    fn store(&mut self, url: &Url, headers: &HeaderMap) {
        self.stored_for.push(url.to_string());
        let host = url.host_str().unwrap_or_default().to_owned();
        for value in headers.get_all(SET_COOKIE) {
            let pair = value.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            self.cookies
                .entry(host.clone())
                .or_default()
                .insert(name.trim().to_owned(), value.trim().to_owned());
        }
    }

    fn cookie(&self, url: &Url) -> Option<HeaderValue> {
        self.asked_for.borrow_mut().push(url.to_string());
        let jar = self.cookies.get(url.host_str()?)?;
        let pairs: Vec<String> = jar.iter().map(|(n, v)| format!("{n}={v}")).collect();
        HeaderValue::from_str(&pairs.join("; ")).ok()
    }
}

fn start(method: Method, at: &str, headers: HeaderMap, jar: TestJar) -> Follow<TestJar> {
    Follow::with_jar(
        Policy::default(),
        method,
        url(at),
        headers,
        BodyKind::Empty,
        jar,
    )
    .unwrap()
}

fn cookie(follow: &Follow<TestJar>) -> Option<&str> {
    crate::field(follow.request(), "cookie")
}

#[test]
fn a_cookie_set_on_the_303_of_a_login_form_reaches_the_next_hop() {
    let mut follow = start(
        Method::POST,
        "https://a.example/login",
        HeaderMap::new(),
        TestJar::default(),
    );
    assert_eq!(cookie(&follow), None);
    let see_other = fields(&[
        ("location", "/home"),
        ("set-cookie", "sid=s3cr3t; Path=/; HttpOnly"),
    ]);
    let next = hop(&mut follow, 303, &see_other);
    assert_eq!(next.method, Method::GET);
    assert_eq!(crate::field(&next, "cookie"), Some("sid=s3cr3t"));
}

#[test]
fn the_jar_sees_every_response_and_every_request() {
    let mut follow = start(
        Method::GET,
        "http://a.example/0",
        HeaderMap::new(),
        TestJar::default(),
    );
    hop(&mut follow, 302, &to("http://b.example/1"));
    hop(&mut follow, 307, &to("/2"));
    done(&mut follow, 200, &fields(&[("set-cookie", "last=1")]));
    let jar = follow.into_jar();
    assert_eq!(
        jar.stored_for,
        [
            "http://a.example/0",
            "http://b.example/1",
            "http://b.example/2"
        ]
    );
    // The first request asked too; each later one once (loop detection reuses the answer).
    assert_eq!(
        *jar.asked_for.borrow(),
        [
            "http://a.example/0",
            "http://b.example/1",
            "http://b.example/2"
        ]
    );
    // The final response's cookies are kept for the caller.
    assert_eq!(jar.cookies["b.example"]["last"], "1");
}

#[test]
fn the_first_request_gets_the_jars_cookies() {
    let mut jar = TestJar::default();
    jar.store(
        &url("http://a.example/"),
        &fields(&[("set-cookie", "pref=dark")]),
    );
    let follow = start(Method::GET, "http://a.example/x", HeaderMap::new(), jar);
    assert_eq!(cookie(&follow), Some("pref=dark"));
}

#[test]
fn the_callers_cookie_and_the_jars_are_one_field() {
    let mut jar = TestJar::default();
    jar.store(
        &url("http://a.example/"),
        &fields(&[("set-cookie", "jar=1")]),
    );
    // Two caller fields become one `Cookie` (RFC 6265 §5.4), then the jar's pairs follow.
    let headers = fields(&[("cookie", "a=1"), ("cookie", "b=2")]);
    let mut follow = start(Method::GET, "http://a.example/", headers, jar);
    assert_eq!(follow.request().headers.get_all("cookie").iter().count(), 1);
    assert_eq!(cookie(&follow), Some("a=1; b=2; jar=1"));

    let next = hop(
        &mut follow,
        302,
        &fields(&[("location", "/n"), ("set-cookie", "new=2")]),
    );
    assert_eq!(
        crate::field(&next, "cookie"),
        Some("a=1; b=2; jar=1; new=2")
    );
}

#[test]
fn across_origins_only_the_jars_cookies_for_the_new_host_go() {
    let mut jar = TestJar::default();
    jar.store(
        &url("http://b.example/"),
        &fields(&[("set-cookie", "b=jar")]),
    );
    let headers = fields(&[("cookie", "caller=secret")]);
    let mut follow = start(Method::GET, "http://a.example/", headers, jar);
    let next = hop(&mut follow, 302, &to("http://b.example/"));
    assert_eq!(crate::field(&next, "cookie"), Some("b=jar"));
    // Back on a.example, the caller's cookie stays gone; a.example has nothing in the jar.
    let next = hop(&mut follow, 302, &to("http://a.example/back"));
    assert_eq!(crate::field(&next, "cookie"), None);
}
