//! Secrets stay out of what `seeother fetch` prints: the password of `user:pass@` in any URL
//! (hop lines, `--json`, errors, argument errors) shows as `user:***@`, and `Authorization`,
//! `Proxy-Authorization` and `Cookie` values as `***`; a 100 KB `Location` ends with exit 3 and
//! a message of bounded length that says how long it was.

mod fetch_support;

use fetch_support::{Server, fetch, fetch_json, header, redirect, reply};

const PASSWORD: &str = "hunter2-s3cret";

fn no_secret(what: &str, text: &[u8]) {
    let text = String::from_utf8_lossy(text);
    for secret in [PASSWORD, "tok-abc123", "cookie-xyz789", "proxy-pw"] {
        assert!(!text.contains(secret), "{what} shows {secret}: {text}");
    }
}

fn chain() -> Server {
    Server::start(|req| {
        let host = req.headers["host"].clone();
        match req.target.as_str() {
            "/start" => redirect(303, &format!("http://ann:{PASSWORD}@{host}/next")),
            _ => reply(200, &[], "ok"),
        }
    })
}

#[test]
fn passwords_and_credentials_are_masked_in_hops_json_and_errors() {
    let server = chain();
    let start = format!("http://bob:{PASSWORD}@{}/start", server.addr);
    let secrets = [
        "-H",
        "Authorization: Bearer tok-abc123",
        "-H",
        "Proxy-Authorization: Basic proxy-pw",
        "-b",
        "sid=cookie-xyz789",
    ];

    // Human: the hop lines on stderr.
    let mut args = secrets.to_vec();
    args.push(&start);
    let out = fetch(&args);
    assert_eq!(out.status.code(), Some(0));
    no_secret("stderr", &out.stderr);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("GET http://bob:***@"), "{err}");
    assert!(err.contains("→ http://ann:***@"), "{err}");
    // The server did get them: masking is for printing only.
    let seen = server.seen();
    assert_eq!(seen[0].headers["authorization"], "Bearer tok-abc123");
    assert_eq!(seen[0].headers["cookie"], "sid=cookie-xyz789");
    for request in &seen {
        assert!(!request.headers["host"].contains('@'), "{request:?}");
    }

    // --json: URLs, Location, the header fields sent.
    let (doc, out) = fetch_json(&args);
    no_secret("--json", &out.stdout);
    no_secret("stderr", &out.stderr);
    assert_eq!(doc["url"], start.replace(PASSWORD, "***"));
    assert!(
        doc["final_url"]
            .as_str()
            .unwrap()
            .starts_with("http://ann:***@")
    );
    let hop = &doc["hops"][0];
    assert!(
        hop["location"]
            .as_str()
            .unwrap()
            .starts_with("http://ann:***@")
    );
    let sent = &hop["request_headers"];
    assert_eq!(header(sent, "authorization"), Some("Bearer ***"));
    assert_eq!(header(sent, "proxy-authorization"), Some("Basic ***"));
    assert_eq!(header(sent, "cookie"), Some("sid=***"));

    // Errors: a refused connection to a URL with a password, human and --json.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let down = format!("http://bob:{PASSWORD}@127.0.0.1:{closed}/");
    let out = fetch(&[&down]);
    assert_eq!(out.status.code(), Some(7));
    no_secret("connect error", &out.stderr);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("http://bob:***@127.0.0.1"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (doc, out) = fetch_json(&[&down]);
    no_secret("--json error", &out.stdout);
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("bob:***@")
    );

    // An argument error quoting the URL.
    let out = fetch(&[&format!("http://bob:{PASSWORD}@[::1/")]);
    assert_eq!(out.status.code(), Some(2));
    no_secret("argument error", &out.stderr);
}

#[test]
fn a_100_kb_location_is_invalid_location_with_a_short_message() {
    let huge = format!("/{}", "a".repeat(100_000));
    let server = Server::start(move |req| match req.target.as_str() {
        "/start" => redirect(303, &huge),
        _ => reply(200, &[], "ok"),
    });
    let out = fetch(&[&server.url("/start")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    // The hop line and the error, each cut, with the length said.
    assert!(err.len() < 2_000, "{} bytes on stderr: {err}", err.len());
    assert_eq!(err.lines().count(), 2, "{err}");
    assert!(err.contains("100001 bytes long"), "{err}");
    assert!(err.contains("…[100001 bytes]"), "{err}");
    assert_eq!(server.seen().len(), 1, "the target was not requested");

    let (doc, _) = fetch_json(&[&server.url("/start")]);
    assert_eq!(doc["error"]["kind"], "invalid_location");
    let message = doc["error"]["message"].as_str().unwrap();
    assert!(message.len() < 1_000, "{message}");
}
