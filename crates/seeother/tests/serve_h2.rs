//! The direct HTTP/2 path against hyper's: the same h2c requests, sent with the `h2` crate's
//! client to a server with the path (the default) and one without it (`--no-fast-path-h2`),
//! get the same status, fields (`Date` aside) and body; many streams on one connection, HEAD,
//! bodies going to the service, a stream reset by the client, GOAWAY at shutdown with a
//! request in flight, the header list limit and the control plane, over the direct path.

mod serve_support;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use h2::client::SendRequest;
use http::{HeaderMap, Request, StatusCode};
use serve_support::{Server, TOKEN, TempDir};
use tokio::net::TcpStream;

const RULES: &str = r#"
[[rules]]
path = "/id/berlin"
to = "https://example.org/page/berlin"
described_by = true
cache_control = "max-age=3600"

[[rules.variants]]
type = "text/turtle"
to = "https://example.org/data/berlin.ttl"

[[rules]]
pattern = "/id/{name}"
to = "https://example.org/page/{name}"

[[rules]]
prefix = "/docs/"
to = "https://new.example.org/manual/"
status = 308
query = "drop"

[[rules]]
host = "id.example.org"
path = "/go"
to = "https://example.org/scoped"
status = 302

[[rules]]
path = "/go"
to = "https://example.org/unscoped?from=go&x=<y>"
status = 307

[[rules]]
path = "/id/withdrawn"
to = "https://example.org/old"
gone = true
"#;

/// Two servers on the same rules: the direct HTTP/2 path on, and off.
fn servers(name: &str) -> (TempDir, Server, Server) {
    let dir = TempDir::new(name);
    let rules = dir.file("rules.toml", RULES);
    let args = ["--rules", rules.to_str().unwrap()];
    let direct = Server::start(&dir.path().join("direct.db"), &args);
    let hyper = Server::start(
        &dir.path().join("hyper.db"),
        &[&args[..], &["--no-fast-path-h2"]].concat(),
    );
    (dir, direct, hyper)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// An h2c connection by prior knowledge, driven in the background.
async fn connect(addr: SocketAddr) -> SendRequest<Bytes> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (client, conn) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

/// A response as compared: status, fields (`Date` checked and left out) in order, body.
#[derive(Debug, PartialEq, Eq)]
struct Answer {
    status: StatusCode,
    fields: Vec<(String, String)>,
    body: Vec<u8>,
}

fn answer(status: StatusCode, headers: &HeaderMap, body: Vec<u8>) -> Answer {
    assert!(headers.contains_key("date"), "{headers:?}");
    let mut fields: Vec<_> = headers
        .iter()
        .filter(|(n, _)| *n != "date")
        .map(|(n, v)| (n.to_string(), String::from_utf8_lossy(v.as_bytes()).into()))
        .collect();
    fields.sort();
    Answer {
        status,
        fields,
        body,
    }
}

/// Send `req` with `body` (none: the HEADERS frame ends the stream) and read the answer.
async fn send(client: &mut SendRequest<Bytes>, req: Request<()>, body: Option<&[u8]>) -> Answer {
    let mut client = client.clone().ready().await.unwrap();
    let (response, mut stream) = client.send_request(req, body.is_none()).unwrap();
    if let Some(body) = body {
        stream
            .send_data(Bytes::copy_from_slice(body), true)
            .unwrap();
    }
    let response = response.await.unwrap();
    let (parts, mut recv) = response.into_parts();
    let mut bytes = Vec::new();
    while let Some(chunk) = recv.data().await {
        let chunk = chunk.unwrap();
        let _ = recv.flow_control().release_capacity(chunk.len());
        bytes.extend_from_slice(&chunk);
    }
    answer(parts.status, &parts.headers, bytes)
}

fn request(method: &str, addr: SocketAddr, target: &str, fields: &[(&str, &str)]) -> Request<()> {
    let mut b = Request::builder()
        .method(method)
        .uri(format!("http://{addr}{target}"));
    for (n, v) in fields {
        b = b.header(*n, *v);
    }
    b.body(()).unwrap()
}

fn counter(s: &Server, name: &str) -> u64 {
    let text = s.get("/-/metrics").text();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("{name} missing"))
        .trim()
        .parse()
        .unwrap()
}

/// A request to send to both: method, target, fields, body.
type Case<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, Option<&'a [u8]>);

#[test]
fn the_direct_path_answers_as_hyper_does() {
    let (_dir, direct, hyper) = servers("same");
    let auth = format!("Bearer {TOKEN}");
    let cases: Vec<Case> = vec![
        ("GET", "/id/berlin", vec![], None),
        ("HEAD", "/id/berlin", vec![], None),
        ("GET", "/id/berlin", vec![("accept", "text/turtle")], None),
        ("HEAD", "/id/berlin", vec![("accept", "text/turtle")], None),
        ("GET", "/id/rome?x=1", vec![], None),
        ("GET", "/docs/a/b?q=1", vec![], None),
        ("GET", "/go", vec![], None),
        ("GET", "/id/withdrawn", vec![], None),
        ("HEAD", "/id/withdrawn", vec![], None),
        ("GET", "/nowhere", vec![], None),
        ("HEAD", "/nowhere", vec![], None),
        ("POST", "/id/berlin", vec![], None),
        (
            "POST",
            "/id/berlin",
            vec![("content-type", "text/plain")],
            Some(b"x=1"),
        ),
        ("PUT", "/id/berlin", vec![], None),
        ("OPTIONS", "/id/berlin", vec![], None),
        ("GET", "/id/berlin", vec![("host", "a b")], None),
        ("GET", "/-/healthz", vec![], None),
        ("HEAD", "/-/healthz", vec![], None),
        ("GET", "/-/nothing", vec![], None),
        (
            "GET",
            "/-/api/rules?limit=2",
            vec![("authorization", &auth)],
            None,
        ),
    ];
    runtime().block_on(async {
        let mut d = connect(direct.addr).await;
        let mut h = connect(hyper.addr).await;
        for (method, target, fields, body) in &cases {
            let got = send(&mut d, request(method, direct.addr, target, fields), *body).await;
            let want = send(&mut h, request(method, hyper.addr, target, fields), *body).await;
            assert_eq!(got, want, "{method} {target} {fields:?}");
            if *method == "HEAD" {
                assert!(got.body.is_empty(), "{target}");
            }
        }
        // The scoped rule, by `:authority`.
        let scoped = Request::get("http://id.example.org/go").body(()).unwrap();
        let got = send(&mut d, scoped, None).await;
        assert_eq!(got.status, 302);
        assert!(
            got.fields
                .contains(&("location".into(), "https://example.org/scoped".into()))
        );
    });
    // The plain requests were answered on the direct path; the rest by the service.
    assert!(counter(&direct, "seeother_http2_direct_total") >= 12);
    assert_eq!(counter(&hyper, "seeother_http2_direct_total"), 0);
}

#[test]
fn many_streams_at_once_on_one_connection() {
    let (_dir, direct, _hyper) = servers("many");
    runtime().block_on(async {
        let mut client = connect(direct.addr).await;
        // One exchange first, so that the client has the server's SETTINGS (at most 256
        // streams at once: RFC 9113 §5.1.2) and queues the streams beyond it.
        let got = send(
            &mut client,
            request("GET", direct.addr, "/id/first", &[]),
            None,
        )
        .await;
        assert_eq!(got.status, 303);
        let mut waiting = Vec::new();
        for i in 0..500 {
            let mut c = client.clone().ready().await.unwrap();
            let method = if i % 3 == 0 { "HEAD" } else { "GET" };
            let req = request(method, direct.addr, &format!("/id/n{i}"), &[]);
            let (response, _) = c.send_request(req, true).unwrap();
            waiting.push((i, method, response));
        }
        for (i, method, response) in waiting {
            let r = response.await.unwrap();
            assert_eq!(r.status(), 303, "{i}");
            assert_eq!(
                r.headers()["location"],
                format!("https://example.org/page/n{i}").as_str()
            );
            assert_eq!(r.body().is_end_stream(), method == "HEAD", "{i} {method}");
        }
    });
    assert!(counter(&direct, "seeother_http2_direct_total") >= 500);
}

#[test]
fn a_large_body_goes_to_the_service_under_flow_control() {
    let (_dir, direct, _hyper) = servers("body");
    // About 3 MB: more than the 1 MB windows, so the server must give capacity back.
    let mut csv = String::from("path,to\n");
    for i in 0..60_000 {
        csv.push_str(&format!(
            "/id/imported{i:06},https://example.org/imported/{i:06}/page\n"
        ));
    }
    assert!(csv.len() > 3 << 20, "{}", csv.len());
    runtime().block_on(async {
        let mut client = connect(direct.addr).await;
        let auth = format!("Bearer {TOKEN}");
        let req = request(
            "POST",
            direct.addr,
            "/-/api/import?format=csv",
            &[("authorization", &auth), ("content-type", "text/csv")],
        );
        let got = send(&mut client, req, Some(csv.as_bytes())).await;
        assert_eq!(got.status, 200, "{}", String::from_utf8_lossy(&got.body));
        let got = send(
            &mut client,
            request("GET", direct.addr, "/id/imported059999", &[]),
            None,
        )
        .await;
        assert_eq!(got.status, 303);
    });
}

#[test]
fn a_stream_reset_by_the_client_leaves_the_connection_serving() {
    let (_dir, direct, _hyper) = servers("reset");
    runtime().block_on(async {
        let client = connect(direct.addr).await;
        let auth = format!("Bearer {TOKEN}");
        // A request whose body never ends: the service waits for it, then the client gives up.
        let req = request(
            "POST",
            direct.addr,
            "/-/api/rules",
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
        );
        let mut c = client.clone().ready().await.unwrap();
        let (response, mut stream) = c.send_request(req, false).unwrap();
        stream
            .send_data(Bytes::from_static(b"{\"path\": "), false)
            .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        stream.send_reset(h2::Reason::CANCEL);
        assert!(response.await.is_err(), "a reset stream has no response");
        let mut client = client;
        let got = send(
            &mut client,
            request("GET", direct.addr, "/id/berlin", &[]),
            None,
        )
        .await;
        assert_eq!(got.status, 303);
        let got = send(
            &mut client,
            request("GET", direct.addr, "/-/healthz", &[]),
            None,
        )
        .await;
        assert_eq!(got.status, 200);
    });
    // Its task has ended: the server stops at once, nothing in flight.
    let mut direct = direct;
    direct.signal("TERM");
    assert!(direct.wait_exit(Duration::from_secs(10)).is_some());
}

#[test]
fn goaway_at_shutdown_lets_a_request_in_flight_finish() {
    let (_dir, mut direct, _hyper) = servers("goaway");
    runtime().block_on(async {
        let client = connect(direct.addr).await;
        let auth = format!("Bearer {TOKEN}");
        let req = request(
            "POST",
            direct.addr,
            "/-/api/rules",
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
        );
        let mut c = client.clone().ready().await.unwrap();
        let (response, mut stream) = c.send_request(req, false).unwrap();
        stream
            .send_data(Bytes::from_static(b"{\"path\": \"/late\", "), false)
            .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        direct.signal("TERM");
        // RFC 9113 §6.8: after GOAWAY the client may open no new stream...
        let refused = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                let Ok(mut c) = client.clone().ready().await else {
                    return true;
                };
                let req = request("GET", direct.addr, "/id/berlin", &[]);
                let Ok((r, _)) = c.send_request(req, true) else {
                    return true;
                };
                if r.await.is_err() {
                    return true;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        assert_eq!(refused, Ok(true), "no GOAWAY within 5 s");
        // ...but the one it had begun is finished.
        stream
            .send_data(Bytes::from_static(b"\"to\": \"/x\"}"), true)
            .unwrap();
        let r = tokio::time::timeout(Duration::from_secs(10), response)
            .await
            .expect("answered")
            .expect("answered");
        assert_eq!(r.status(), 201);
    });
    assert!(direct.wait_exit(Duration::from_secs(10)).is_some());
}

#[test]
fn a_header_list_over_the_limit_is_refused_alike() {
    let (_dir, direct, hyper) = servers("big");
    let big = "x".repeat(20 * 1024);
    let outcomes = runtime().block_on(async {
        let mut outcomes = Vec::new();
        for s in [&direct, &hyper] {
            let mut client = connect(s.addr).await;
            let mut c = client.clone().ready().await.unwrap();
            let req = request("GET", s.addr, "/id/berlin", &[("x-big", &big)]);
            // RFC 9113 §10.5.1: answered 431, or the stream refused; never a redirect.
            let outcome = match c.send_request(req, true) {
                Ok((response, _)) => match response.await {
                    Ok(r) => format!("status {}", r.status()),
                    Err(e) => format!("error {:?}", e.reason()),
                },
                Err(e) => format!("not sent: {e}"),
            };
            // The connection still serves.
            let got = send(&mut client, request("GET", s.addr, "/id/berlin", &[]), None).await;
            assert_eq!(got.status, 303);
            outcomes.push(outcome);
        }
        outcomes
    });
    assert_eq!(outcomes[0], outcomes[1]);
    assert!(!outcomes[0].contains("303"), "{outcomes:?}");
    eprintln!("a 20 KiB field: {}", outcomes[0]);
}

#[test]
fn the_control_plane_over_the_direct_path() {
    let (_dir, direct, _hyper) = servers("admin");
    runtime().block_on(async {
        let mut client = connect(direct.addr).await;
        let got = send(
            &mut client,
            request("GET", direct.addr, "/-/healthz", &[]),
            None,
        )
        .await;
        assert_eq!(got.status, 200);
        assert!(
            String::from_utf8_lossy(&got.body).contains("\"ok\""),
            "{got:?}"
        );
        let got = send(
            &mut client,
            request("GET", direct.addr, "/-/metrics", &[]),
            None,
        )
        .await;
        assert!(
            String::from_utf8_lossy(&got.body).contains("seeother_http2_direct_total"),
            "{got:?}"
        );
        let auth = format!("Bearer {TOKEN}");
        let fields = [
            ("authorization", auth.as_str()),
            ("content-type", "application/json"),
        ];
        let req = request("POST", direct.addr, "/-/api/rules", &fields);
        let body = br#"{"path": "/id/new", "to": "https://example.org/new"}"#;
        let got = send(&mut client, req, Some(body)).await;
        assert_eq!(got.status, 201, "{}", String::from_utf8_lossy(&got.body));
        let got = send(
            &mut client,
            request("GET", direct.addr, "/id/new", &[]),
            None,
        )
        .await;
        assert_eq!(got.status, 303);
        assert!(
            got.fields
                .contains(&("location".into(), "https://example.org/new".into()))
        );
        let req = request("GET", direct.addr, "/-/api/rules", &[]);
        assert_eq!(send(&mut client, req, None).await.status, 401);
    });
}

#[test]
fn a_connection_with_no_request_is_closed_at_the_header_timeout() {
    let dir = TempDir::new("quiet");
    let s = Server::start(&dir.path().join("s.db"), &["--header-timeout", "1"]);
    runtime().block_on(async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut tcp = TcpStream::connect(s.addr).await.unwrap();
        // The preface and an empty SETTINGS frame, then nothing.
        tcp.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
            .await
            .unwrap();
        let start = std::time::Instant::now();
        let mut buf = vec![0u8; 4096];
        let closed = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                match tcp.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        })
        .await;
        assert!(closed.is_ok(), "still open after 5 s");
        assert!(
            start.elapsed() >= Duration::from_millis(800),
            "{:?}",
            start.elapsed()
        );
    });
    assert_eq!(counter(&s, "seeother_header_timeouts_total"), 1);
}
