//! The direct HTTP/1.1 path against hyper: the same requests to a server with it (the default)
//! and one without it (`--no-fast-path`) get the same bytes back (the `Date` value aside), on
//! keep-alive connections, pipelined, and across the hand-off to hyper mid-connection; each case
//! on both of the direct path's event loops (io_uring, and epoll with `--no-io-uring`).

mod serve_support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serve_support::{Server, TempDir};

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
prefix = "/c/"
to = "https://catalogue.example.org/c/"

[[rules]]
host = "id.example.org"
path = "/go"
to = "https://example.org/scoped"
status = 302

[[rules]]
path = "/go"
to = "https://example.org/unscoped?from=go"
status = 307

[[rules]]
path = "/id/withdrawn"
to = "https://example.org/old"
gone = true
"#;

/// The direct path's two event loops: io_uring (where the kernel offers it) and epoll.
const LOOPS: [&[&str]; 2] = [&[], &["--no-io-uring"]];

/// Two servers on the same rules: the direct path on (on the loop `io` chooses), and off.
fn servers(name: &str, io: &[&str]) -> (TempDir, Server, Server) {
    servers_with(name, &[], io)
}

/// [`servers`], both started with `args` too.
fn servers_with(name: &str, args: &[&str], io: &[&str]) -> (TempDir, Server, Server) {
    let dir = TempDir::new(name);
    let rules = dir.file("rules.toml", RULES);
    let mut hyper_args = vec!["--rules", rules.to_str().unwrap()];
    hyper_args.extend(args);
    let mut direct_args = hyper_args.clone();
    direct_args.extend(io);
    let direct = Server::start(&dir.path().join("direct.db"), &direct_args);
    hyper_args.push("--no-fast-path");
    let hyper = Server::start(&dir.path().join("hyper.db"), &hyper_args);
    (dir, direct, hyper)
}

/// Everything the server at `addr` sends back to `raw` until it closes the connection, the
/// `Date` value blanked.
fn whole(addr: SocketAddr, raw: &[u8]) -> String {
    let mut c = connect(addr);
    c.write_all(raw).unwrap();
    let mut all = Vec::new();
    let _ = c.read_to_end(&mut all);
    let all = String::from_utf8_lossy(&all).into_owned();
    match all.find("\r\ndate: ") {
        Some(at) => format!("{}{}", &all[..at + 8], &all[at + 8 + 29..]),
        None => all,
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let c = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c
}

/// Read one response to a request made with `method`, framed by its Content-Length, and
/// blank out the `Date` value (the only part that may differ).
fn read_response(c: &mut TcpStream, method: &str) -> String {
    let mut raw = Vec::new();
    let mut byte = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        let n = c.read(&mut byte).expect("a response");
        assert!(n == 1, "closed after {:?}", String::from_utf8_lossy(&raw));
        raw.push(byte[0]);
    }
    let head = String::from_utf8(raw).unwrap();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .map_or(0, |v| v.trim().parse().unwrap());
    let mut body = vec![0; if method == "HEAD" { 0 } else { len }];
    c.read_exact(&mut body).unwrap();
    let head: Vec<String> = head
        .split("\r\n")
        .map(|l| match l.strip_prefix("date: ") {
            Some(d) => {
                assert_eq!(d.len(), 29, "an IMF-fixdate: {d}");
                "date: <now>".to_owned()
            }
            None => l.to_owned(),
        })
        .collect();
    head.join("\r\n") + &String::from_utf8(body).unwrap()
}

/// Write `chunks` on one connection to each server, reading the responses to `methods`
/// after each chunk; both servers must answer byte for byte alike.
fn same_answers(direct: &Server, hyper: &Server, chunks: &[(&str, &[&str])]) -> Vec<String> {
    let mut a = connect(direct.addr);
    let mut b = connect(hyper.addr);
    let mut all = Vec::new();
    for (chunk, methods) in chunks {
        a.write_all(chunk.as_bytes()).unwrap();
        b.write_all(chunk.as_bytes()).unwrap();
        for method in *methods {
            let (ra, rb) = (read_response(&mut a, method), read_response(&mut b, method));
            assert_eq!(ra, rb, "after {chunk:?}");
            all.push(ra);
        }
    }
    all
}

/// A counter from one `/-/metrics` text.
fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

/// The header fields of a 7-byte form body.
const FORM: &str = "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n";

#[test]
fn every_kind_of_answer_is_the_same_bytes_as_hyper_gives() {
    for io in LOOPS {
        every_kind_of_answer_is_the_same_bytes_as_hyper_gives_on(io);
    }
}

fn every_kind_of_answer_is_the_same_bytes_as_hyper_gives_on(io: &[&str]) {
    let (_dir, direct, hyper) = servers("fast-same", io);
    let requests: &[(&str, &str, &str)] = &[
        ("GET", "/id/berlin", ""),
        ("HEAD", "/id/berlin", ""),
        ("GET", "/id/berlin", "Accept: text/turtle\r\n"),
        (
            "GET",
            "/id/berlin",
            "Accept: text/html;q=0.5\r\nAccept: text/turtle;q=0.1\r\n",
        ),
        ("GET", "/id/rome?lang=it", "Accept: */*\r\n"),
        ("GET", "/docs/guide/intro.html?utm=x", ""),
        ("GET", "/c/k3x9/part%20two.html?q=a&b=%2F", ""),
        ("HEAD", "/c/k3x9/", ""),
        ("GET", "/go", "Host: ID.example.org:8303\r\n"),
        ("GET", "/go", "Host: other.example.org\r\n"),
        ("GET", "/go?x=1", ""),
        ("GET", "/id/withdrawn", ""),
        ("HEAD", "/id/withdrawn", ""),
        ("GET", "/nothing/here?x=%3Cy%3E", ""),
        // Post/Redirect/Get (RFC 9110 §15.4.4): the form's body is skipped.
        ("POST", "/id/berlin", FORM),
        ("POST", "/go?x=1", "Content-Length: 0\r\n"),
        ("POST", "/nothing", FORM),
        ("HEAD", "/nothing", ""),
        ("GET", "/", "Connection: keep-alive\r\nUser-Agent: t\r\n"),
    ];
    let mut chunks = Vec::new();
    for (method, target, fields) in requests {
        let host = if fields.contains("Host:") {
            ""
        } else {
            "Host: localhost\r\n"
        };
        let body = if *fields == FORM { "a=b&c=d" } else { "" };
        let raw = format!("{method} {target} HTTP/1.1\r\n{host}{fields}\r\n{body}");
        chunks.push((raw, [*method]));
    }
    // Each request twice on one connection: keep-alive works on both paths.
    let mut sent: Vec<(&str, &[&str])> = Vec::new();
    for (raw, method) in &chunks {
        sent.push((raw.as_str(), method));
        sent.push((raw.as_str(), method));
    }
    let answers = same_answers(&direct, &hyper, &sent);
    assert!(
        answers[0].starts_with("HTTP/1.1 303 See Other\r\n"),
        "{}",
        answers[0]
    );
    assert!(answers.iter().any(|a| a.starts_with("HTTP/1.1 410 Gone")));
    assert!(
        answers
            .iter()
            .any(|a| a.starts_with("HTTP/1.1 404 Not Found"))
    );
    // They really took the two paths: all on the direct one; the metrics request itself is
    // handed to hyper (it is under /-/).
    let metrics = direct.get("/-/metrics").text();
    assert_eq!(
        metric(&metrics, "seeother_http1_direct_total"),
        sent.len() as u64
    );
    assert_eq!(metric(&metrics, "seeother_http1_handoffs_total"), 1);
    let metrics = hyper.get("/-/metrics").text();
    assert_eq!(metric(&metrics, "seeother_http1_direct_total"), 0);
}

#[test]
fn a_connection_is_handed_to_hyper_at_the_first_request_it_does_not_answer() {
    for io in LOOPS {
        a_connection_is_handed_to_hyper_at_the_first_request_it_does_not_answer_on(io);
    }
}

fn a_connection_is_handed_to_hyper_at_the_first_request_it_does_not_answer_on(io: &[&str]) {
    let (_dir, direct, hyper) = servers("fast-handoff", io);
    let get = "GET /id/berlin HTTP/1.1\r\nHost: h\r\n\r\n";
    let post = "POST /id/berlin HTTP/1.1\r\nHost: h\r\nContent-Length: 7\r\n\r\na=b&c=d";
    let chunked = "POST /id/berlin HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n7\r\na=b&c=d\r\n0\r\n\r\n";
    let pipelined = format!("{get}HEAD /c/a HTTP/1.1\r\nHost: h\r\n\r\n{get}");
    let answers = same_answers(
        &direct,
        &hyper,
        &[
            (get, &["GET"]),
            // Three pipelined requests in one write: three answers, in order (RFC 9112 §9.3.2).
            (&pipelined, &["GET", "HEAD", "GET"]),
            (post, &["POST"]),
            // A chunked body goes to hyper, and hyper keeps the connection.
            (chunked, &["POST"]),
            (get, &["GET"]),
            ("GET /-/healthz HTTP/1.1\r\nHost: h\r\n\r\n", &["GET"]),
        ],
    );
    assert_eq!(answers.len(), 8);
    assert!(answers[4].starts_with("HTTP/1.1 303"), "{}", answers[4]);
    assert!(answers[5].starts_with("HTTP/1.1 303"), "{}", answers[5]);
    assert!(answers[7].contains("\"status\":\"ok\""), "{}", answers[7]);
    let metrics = direct.get("/-/metrics").text();
    assert_eq!(metric(&metrics, "seeother_http1_direct_total"), 5);

    // A simple request after one the direct path does not answer, in the same write.
    let answers = same_answers(
        &direct,
        &hyper,
        &[(&format!("{chunked}{get}"), &["POST", "GET"])],
    );
    assert!(answers[1].starts_with("HTTP/1.1 303"));

    // A header block cut across two writes is finished by hyper.
    let mut c = connect(direct.addr);
    c.write_all(b"GET /id/berlin HTTP/1.1\r\nHo").unwrap();
    std::thread::sleep(Duration::from_millis(100));
    c.write_all(b"st: h\r\n\r\n").unwrap();
    assert!(read_response(&mut c, "GET").starts_with("HTTP/1.1 303 See Other"));
    c.write_all(get.as_bytes()).unwrap();
    assert!(read_response(&mut c, "GET").starts_with("HTTP/1.1 303 See Other"));

    // HTTP/1.0 and `Connection: close` are hyper's, and close as they should.
    for raw in [
        "GET /id/berlin HTTP/1.0\r\n\r\n",
        "GET /id/berlin HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
    ] {
        let mut c = connect(direct.addr);
        c.write_all(raw.as_bytes()).unwrap();
        let mut all = Vec::new();
        c.read_to_end(&mut all).unwrap();
        let all = String::from_utf8(all).unwrap();
        assert!(all.contains(" 303 See Other\r\n"), "{all}");
    }
}

#[test]
fn malformed_and_ambiguous_requests_get_what_hyper_gives() {
    for io in LOOPS {
        malformed_and_ambiguous_requests_get_what_hyper_gives_on(io);
    }
}

fn malformed_and_ambiguous_requests_get_what_hyper_gives_on(io: &[&str]) {
    let (_dir, direct, hyper) = servers("fast-garbage", io);
    for raw in [
        &b"GET /a b c HTTP/1.1\r\n\r\n"[..],
        b"\x00\x01\x02\r\n\r\n",
        b"GET /id/berlin HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
        b"GET /id/berlin HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n",
        b"GET http://id.example.org/go HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
    ] {
        assert_eq!(whole(direct.addr, raw), whole(hyper.addr, raw), "{:?}", String::from_utf8_lossy(raw));
    }
    assert_eq!(direct.get("/id/berlin").status, 303);
}

#[test]
fn the_header_size_limit_holds_on_the_direct_path() {
    for io in LOOPS {
        the_header_size_limit_holds_on_the_direct_path_on(io);
    }
}

fn the_header_size_limit_holds_on_the_direct_path_on(io: &[&str]) {
    // Over HTTP/1.1 the limit is never below 8,192 bytes (hyper's floor), on either path.
    let (_dir, direct, hyper) = servers_with("fast-limit", &["--max-header-bytes", "1024"], io);
    let request = |filler: usize| {
        format!(
            "GET /id/berlin HTTP/1.1\r\nHost: h\r\nX-Filler: {}\r\n\r\n",
            "a".repeat(filler)
        )
    };
    let within = request(2000);
    let answers = same_answers(&direct, &hyper, &[(within.as_str(), &["GET"])]);
    assert!(answers[0].starts_with("HTTP/1.1 303"), "{}", answers[0]);
    let metrics = direct.get("/-/metrics").text();
    assert_eq!(metric(&metrics, "seeother_http1_direct_total"), 1);
    // Over it: refused on both, and the connection closed.
    let over = request(9000);
    let (a, b) = (
        whole(direct.addr, over.as_bytes()),
        whole(hyper.addr, over.as_bytes()),
    );
    assert_eq!(a, b);
    assert!(a.starts_with("HTTP/1.1 431"), "{a}");
}
