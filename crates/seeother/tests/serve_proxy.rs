//! Behind a real nginx: with `--trust-proxy`, a host-scoped rule answers for the host the
//! client asked nginx for (nginx's default `proxy_pass` sends the upstream's own `Host`), from
//! `X-Forwarded-Host` or RFC 7239's `Forwarded`; without it, or from a peer not trusted, those
//! fields change nothing.

mod nginx_support;
mod serve_support;

use std::net::SocketAddr;

use nginx_support::{Nginx, free_port};
use serve_support::{Server, TempDir, exchange};

const RULES: &str = r#"
[[rules]]
host = "id.example.org"
path = "/a"
to = "https://example.org/a"

[[rules]]
host = "other.example.org"
path = "/a"
to = "https://other.example.org/a"
"#;

fn seeother(dir: &TempDir, trust: &str) -> Server {
    let rules = dir.file("rules.toml", RULES);
    let mut args = vec!["--rules", rules.to_str().unwrap()];
    if !trust.is_empty() {
        args.extend(["--trust-proxy", trust]);
    }
    Server::start(&dir.path().join("s.db"), &args)
}

/// nginx passing `/xfh/` with X-Forwarded-*, `/fwd/` with Forwarded, `/plain/` as is, and
/// `/guide/` as docs/deploy.md does (X-Forwarded-*, a client's own `Forwarded` removed).
fn nginx(upstream: SocketAddr) -> Nginx {
    let port = free_port();
    Nginx::start(
        port,
        &format!(
            r#"
    server {{
        listen 127.0.0.1:{port};
        location /xfh/ {{
            proxy_set_header X-Forwarded-Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_pass http://{upstream}/;
        }}
        location /fwd/ {{
            proxy_set_header Forwarded "for=$remote_addr;host=$host;proto=https";
            proxy_pass http://{upstream}/;
        }}
        location /plain/ {{ proxy_pass http://{upstream}/; }}
        location /guide/ {{
            proxy_set_header Host              $host;
            proxy_set_header X-Forwarded-Host  $host;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-For   $proxy_add_x_forwarded_for;
            proxy_set_header Forwarded         "";
            proxy_pass http://{upstream}/;
        }}
    }}
"#
        ),
    )
}

/// GET `path` from nginx as a client asking for id.example.org.
fn get(nginx: &Nginx, path: &str) -> serve_support::Resp {
    get_with(nginx, path, "")
}

/// [`get`] with `fields` (lines ending in CRLF) the client writes itself.
fn get_with(nginx: &Nginx, path: &str, fields: &str) -> serve_support::Resp {
    let raw =
        format!("GET {path} HTTP/1.1\r\nHost: id.example.org\r\n{fields}Connection: close\r\n\r\n");
    let addr: SocketAddr = ([127, 0, 0, 1], nginx.port).into();
    exchange(addr, raw.as_bytes())
}

/// (status, Location) of [`get`].
fn ask(nginx: &Nginx, path: &str) -> (u16, Option<String>) {
    let r = get(nginx, path);
    (r.status, r.header("location").map(str::to_owned))
}

/// Whether the sign-in page's form cookie is `Secure`.
fn secure_cookie(nginx: &Nginx, prefix: &str) -> bool {
    let r = get(nginx, &format!("{prefix}-/admin/sign-in"));
    assert_eq!(r.status, 200);
    let cookie = r.header("set-cookie").expect("a form cookie").to_owned();
    cookie.contains("; Secure")
}

#[test]
fn a_trusted_proxy_gives_the_host_the_client_asked_for() {
    let dir = TempDir::new("proxy-trusted");
    let s = seeother(&dir, "127.0.0.1");
    let n = nginx(s.addr);
    let found = (303, Some("https://example.org/a".to_owned()));
    assert_eq!(ask(&n, "/xfh/a"), found, "X-Forwarded-Host");
    assert_eq!(ask(&n, "/fwd/a"), found, "Forwarded");
    // Without forwarding fields the upstream's Host is all there is: no rule for it.
    assert_eq!(ask(&n, "/plain/a").0, 404);
    // The client spoke HTTPS to the proxy (proto=https): the admin's cookies are Secure.
    assert!(secure_cookie(&n, "/fwd/"));
    assert!(!secure_cookie(&n, "/xfh/"), "X-Forwarded-Proto said http");
    // A client's own Forwarded field: passed on by nginx unless removed, and then believed
    // (it is read first); the guide's configuration removes it.
    let forged = "Forwarded: host=other.example.org\r\n";
    let location = |path| {
        get_with(&n, path, forged)
            .header("location")
            .map(str::to_owned)
    };
    assert_eq!(
        location("/guide/a").as_deref(),
        Some("https://example.org/a")
    );
    assert_eq!(
        location("/xfh/a").as_deref(),
        Some("https://other.example.org/a"),
        "without `proxy_set_header Forwarded \"\"` the client names the host"
    );
}

#[test]
fn forwarding_fields_from_a_peer_not_trusted_change_nothing() {
    let dir = TempDir::new("proxy-untrusted");
    // Trusts another network, not loopback, where nginx and this test connect from.
    let s = seeother(&dir, "10.0.0.0/8");
    let n = nginx(s.addr);
    assert_eq!(ask(&n, "/xfh/a").0, 404);
    assert_eq!(ask(&n, "/fwd/a").0, 404);
    assert!(!secure_cookie(&n, "/fwd/"));
    // A client that writes the fields itself is not believed either.
    let direct = s.request(
        "GET",
        "/a",
        &[
            ("X-Forwarded-Host", "id.example.org"),
            ("Forwarded", "host=id.example.org"),
        ],
        b"",
    );
    assert_eq!(direct.status, 404);
    // But asked for the host itself, the rule answers: it is the fields that were ignored.
    let host = s.request("GET", "/a", &[("Host", "id.example.org")], b"");
    assert_eq!(host.status, 303);
}

#[test]
fn trust_proxy_refuses_what_is_no_address() {
    let (code, _, err) = serve_support::cli(&["serve", "--trust-proxy", "10.0.0.0/33"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("no address or network") && err.contains("10.0.0.0/8"),
        "{err}"
    );
}
