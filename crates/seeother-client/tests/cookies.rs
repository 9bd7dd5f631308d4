//! The cookie jar against hostile servers: cookies for public suffixes and `Secure` cookies over
//! plain http. The servers listen on 127.0.0.1; host names such as `a.example.com` reach them
//! through `ClientBuilder::resolve` (curl's `--resolve`), so the jar sees real host names.

mod common;

use std::net::{IpAddr, Ipv4Addr};

use common::{Seen, Server, host, ok, reply};
use seeother_client::{Client, ClientBuilder, CookieJar};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// A client that connects to `port` on 127.0.0.1 for each of `hosts`.
fn resolving(hosts: &[&str], port: u16) -> ClientBuilder {
    hosts
        .iter()
        .fold(Client::builder(), |b, h| b.resolve(h, port, LOOPBACK))
}

fn cookie(seen: &Seen) -> Option<String> {
    seen.headers
        .get("cookie")
        .map(|c| c.to_str().unwrap().to_owned())
}

/// `/set` and `/login` set the cookies listed in the request's `x-set` field (separated by `|`)
/// and redirect to the URL in its `x-next` field (the fields go along on the next hop, which
/// ignores them); anything else is a 200.
fn hostile(req: &Seen) -> common::Reply {
    if req.target != "/set" && req.target != "/login" {
        return ok("ok");
    }
    let next = req.headers.get("x-next").map(|v| v.to_str().unwrap());
    let sets = req
        .headers
        .get("x-set")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let mut fields: Vec<(&str, &str)> = sets
        .split('|')
        .filter(|s| !s.is_empty())
        .map(|s| ("set-cookie", s))
        .collect();
    match next {
        Some(to) => {
            fields.push(("location", to));
            reply(303, &fields, "")
        }
        None => reply(200, &fields, "ok"),
    }
}

/// One request through `client` with `jar`: GET `url` with `x-set` and `x-next` fields.
async fn hop(client: &Client, jar: &CookieJar, url: &str, set: &[&str], next: Option<&str>) {
    let mut req = http::Request::get(url).header("x-set", set.join("|"));
    if let Some(next) = next {
        req = req.header("x-next", next);
    }
    client
        .send_with_jar(req.body(()).unwrap(), jar)
        .await
        .unwrap();
}

#[tokio::test]
async fn cookies_for_public_suffixes_are_refused_and_reach_no_other_site() {
    let server = Server::start(hostile).await;
    let port = server.addr.port();
    let hosts = [
        "a.example.com",
        "b.other.com",
        "www.example.com",
        "a.example.co.uk",
        "b.other.co.uk",
        "a.github.io",
        "b.github.io",
    ];
    let client = resolving(&hosts, port).build().unwrap();
    let jar = CookieJar::new();
    let url = |h: &str, p: &str| format!("http://{h}:{port}{p}");

    // RFC 6265 §5.3 step 5: Domain=com (however spelled), co.uk (ICANN section) and github.io
    // (private section) are public suffixes; example.com is a registrable domain.
    hop(
        &client,
        &jar,
        &url("a.example.com", "/set"),
        &[
            "com=1; Domain=com; Path=/",
            "dotcom=1; Domain=.COM; Path=/",
            "site=1; Domain=example.com; Path=/",
        ],
        Some(&url("b.other.com", "/check")),
    )
    .await;
    hop(
        &client,
        &jar,
        &url("a.example.co.uk", "/set"),
        &["uk=1; Domain=co.uk; Path=/"],
        Some(&url("b.other.co.uk", "/check")),
    )
    .await;
    hop(
        &client,
        &jar,
        &url("a.github.io", "/set"),
        &["pages=1; Domain=github.io; Path=/"],
        Some(&url("b.github.io", "/check")),
    )
    .await;
    hop(&client, &jar, &url("www.example.com", "/check"), &[], None).await;

    for seen in server.seen() {
        let sent = cookie(&seen);
        match (host(&seen).as_str(), seen.target.as_str()) {
            ("www.example.com", _) => assert_eq!(sent.as_deref(), Some("site=1")),
            ("b.other.com" | "b.other.co.uk" | "b.github.io", _) => {
                assert_eq!(sent, None, "a public-suffix cookie reached {seen:?}")
            }
            (_, "/set") => assert_eq!(sent, None, "{seen:?}"),
            other => panic!("unexpected request {other:?}"),
        }
    }
    let names: Vec<String> = jar.cookies().into_iter().map(|c| c.2).collect();
    assert_eq!(
        names,
        ["site"],
        "only the registrable-domain cookie is kept"
    );

    // The library says why, when asked directly.
    let from = url::Url::parse("http://a.example.com/").unwrap();
    let refused = jar.add("x=1; Domain=com", &from).unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("Domain=com is a public suffix"),
        "{refused}"
    );
}

#[tokio::test]
async fn a_host_that_is_a_public_suffix_keeps_its_cookie_to_itself() {
    let server = Server::start(hostile).await;
    let port = server.addr.port();
    let client = resolving(&["co.uk", "x.co.uk"], port).build().unwrap();
    let jar = CookieJar::new();
    let url = |h: &str, p: &str| format!("http://{h}:{port}{p}");

    // RFC 6265 §5.3 step 5: Domain equal to the request host is allowed, as host-only.
    hop(
        &client,
        &jar,
        &url("co.uk", "/set"),
        &["h=1; Domain=co.uk; Path=/"],
        Some(&url("x.co.uk", "/check")),
    )
    .await;
    hop(&client, &jar, &url("co.uk", "/again"), &[], None).await;

    let seen = server.seen();
    let by_target = |t: &str| seen.iter().find(|s| s.target == t).unwrap();
    assert_eq!(cookie(by_target("/check")), None, "sent to a subdomain");
    assert_eq!(cookie(by_target("/again")).as_deref(), Some("h=1"));
    let domains: Vec<String> = jar.cookies().into_iter().map(|c| c.0).collect();
    assert_eq!(domains, ["co.uk"]);
}

#[tokio::test]
async fn secure_cookies_set_over_plain_http_are_ignored() {
    let plain = Server::start(hostile).await;
    let (tls, root) = common::tls_pair_for(&["shop.example.com"]);
    let secure = Server::start_tls(tls, hostile).await;
    let client = Client::builder()
        .resolve("shop.example.com", plain.addr.port(), LOOPBACK)
        .resolve("shop.example.com", secure.addr.port(), LOOPBACK)
        .add_root_certificate(root)
        .system_roots(false)
        .policy(seeother_client::Policy {
            allow_downgrade: true,
            ..Default::default()
        })
        .build()
        .unwrap();
    let jar = CookieJar::new();
    let http = format!("http://shop.example.com:{}", plain.addr.port());
    let https = format!("https://shop.example.com:{}", secure.addr.port());

    // RFC 6265bis §5.7: a Secure cookie from a non-secure origin is ignored entirely — it
    // would otherwise overwrite the https site's session, and go to it.
    hop(
        &client,
        &jar,
        &format!("{http}/login"),
        &["sid=forged; Secure; Path=/", "plain=1; Path=/"],
        Some(&format!("{https}/account")),
    )
    .await;
    let account = secure.seen();
    assert_eq!(cookie(&account[0]).as_deref(), Some("plain=1"));

    // Over https the same cookie is taken, and sent back over https only.
    hop(
        &client,
        &jar,
        &format!("{https}/login"),
        &["sid=real; Secure; Path=/"],
        Some(&format!("{http}/page")),
    )
    .await;
    let mut names: Vec<(String, String)> = jar.cookies().into_iter().map(|c| (c.2, c.3)).collect();
    names.sort();
    assert_eq!(
        names,
        [
            ("plain".to_owned(), "1".to_owned()),
            ("sid".to_owned(), "real".to_owned())
        ]
    );
    let page = plain
        .seen()
        .into_iter()
        .find(|s| s.target == "/page")
        .unwrap();
    assert_eq!(cookie(&page).as_deref(), Some("plain=1"));

    // RFC 6265bis §5.7: nor may plain http overwrite it with a non-Secure cookie of that name.
    hop(
        &client,
        &jar,
        &format!("{http}/login"),
        &["sid=forged; Path=/"],
        Some(&format!("{https}/account")),
    )
    .await;
    let sid: Vec<String> = jar
        .cookies()
        .into_iter()
        .filter(|c| c.2 == "sid")
        .map(|c| c.3)
        .collect();
    assert_eq!(sid, ["real"]);
    let last = secure.seen().pop().unwrap();
    // The store's order of cookies is its own; compare them as a set.
    let mut sent: Vec<String> = cookie(&last)
        .unwrap()
        .split("; ")
        .map(str::to_owned)
        .collect();
    sent.sort();
    assert_eq!(sent, ["plain=1", "sid=real"]);
}
