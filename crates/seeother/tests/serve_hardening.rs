//! Attacks on the listener, over real loopback sockets: slow bodies, silent connections, one
//! client taking every connection, HTTP/2 mid-connection, bad `Host` fields. Each is bounded
//! in count and time and stops by itself.

mod serve_support;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use serve_support::{Server, TOKEN, TempDir};

const RULES: &str = r#"
[[rules]]
pattern = "/id/{name}"
to = "https://example.org/page/{name}"
"#;

/// Every way a connection can be served: the direct HTTP/1.1 path first (on io_uring where
/// the kernel offers it, or on epoll), or hyper only.
const PATHS: [&[&str]; 3] = [&[], &["--no-io-uring"], &["--no-fast-path"]];

fn start(dir: &TempDir, args: &[&str]) -> Server {
    let rules = dir.file("rules.toml", RULES);
    let mut all = vec!["--rules", rules.to_str().unwrap()];
    all.extend_from_slice(args);
    Server::start(&dir.path().join("s.db"), &all)
}

/// A connection to `to` from the loopback address `from` (all of 127/8 is this machine).
fn connect_from(from: &str, to: SocketAddr) -> TcpStream {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    let local: SocketAddr = format!("{from}:0").parse().unwrap();
    socket.bind(&local.into()).unwrap();
    socket
        .connect_timeout(&to.into(), Duration::from_secs(5))
        .unwrap();
    socket.into()
}

/// What the server sends before it closes or `limit` passes: `Ok` with the bytes on close,
/// `Err` with them if the connection was still open at `limit`.
fn read_until_closed(s: &mut TcpStream, limit: Duration) -> Result<Vec<u8>, Vec<u8>> {
    let deadline = Instant::now() + limit;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(got);
        }
        s.set_read_timeout(Some(left)).unwrap();
        match s.read(&mut buf) {
            Ok(0) => return Ok(got),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return Ok(got),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Err(got);
            }
            Err(e) => panic!("read: {e}"),
        }
    }
}

fn metric(server: &Server, name: &str) -> u64 {
    let text = server.get("/-/metrics").text();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in metrics"))
}

fn get_status(addr: SocketAddr, from: &str, path: &str) -> Option<u16> {
    let mut s = connect_from(from, addr);
    let req = format!("GET {path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).ok()?;
    let raw = read_until_closed(&mut s, Duration::from_secs(5)).ok()?;
    let line = String::from_utf8_lossy(&raw);
    line.split(' ').nth(1)?.parse().ok()
}

#[test]
fn a_body_sent_a_byte_at_a_time_is_cut_at_the_body_deadline() {
    // One byte every 300 ms always arrives within any idle timer; the body deadline (1 s,
    // plus a second per 500 bytes) still ends it, with 408 and a closed connection.
    let dir = TempDir::new("slow-body");
    let server = start(&dir, &["--body-timeout", "1", "--body-min-rate", "500"]);
    let mut s = TcpStream::connect(server.addr).unwrap();
    let head = format!(
        "POST /-/api/rules HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: 60000\r\n\r\n"
    );
    s.write_all(head.as_bytes()).unwrap();
    let start = Instant::now();
    let mut sent = 0;
    let answer = loop {
        s.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let mut buf = [0u8; 4096];
        match s.read(&mut buf) {
            Ok(n) => break buf[..n].to_vec(),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => panic!("read: {e}"),
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "the server still reads a body trickled for 15 s ({sent} bytes)"
        );
        if s.write_all(b" ").is_ok() {
            sent += 1;
        }
    };
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408 "), "{text}");
    assert!(text.contains("did not arrive in time"), "{text}");
    // The connection is closed after the answer, whatever the client sends next.
    let _ = s.write_all(b"x");
    assert!(read_until_closed(&mut s, Duration::from_secs(5)).is_ok());
}

#[test]
fn a_connection_that_sends_nothing_is_closed_at_the_header_timeout_on_both_paths() {
    for path in PATHS {
        let dir = TempDir::new("silent");
        let mut args = vec!["--header-timeout", "1", "--idle-timeout", "60"];
        args.extend_from_slice(path);
        let server = start(&dir, &args);
        let mut silent: Vec<TcpStream> = (0..20)
            .map(|_| TcpStream::connect(server.addr).unwrap())
            .collect();
        for s in &mut silent {
            // Closed long before the idle timeout (60 s).
            assert!(
                read_until_closed(s, Duration::from_secs(10)).is_ok(),
                "{path:?}: a silent connection is still open after 10 s"
            );
        }
        assert_eq!(
            metric(&server, "seeother_header_timeouts_total"),
            20,
            "{path:?}"
        );
        // A client that sends its request in time is served as before.
        assert_eq!(server.get("/id/x").status, 303);
    }
}

#[test]
fn a_partial_request_is_closed_at_the_header_timeout_counted_from_accept() {
    // Silence for 1.5 s, then half a request line, then one byte every 300 ms: hyper's own
    // header timer would start only at those bytes (3.5 s); the deadline is from accept.
    for path in PATHS {
        let dir = TempDir::new("partial");
        let mut args = vec!["--header-timeout", "2"];
        args.extend_from_slice(path);
        let server = start(&dir, &args);
        let mut s = TcpStream::connect(server.addr).unwrap();
        let start = Instant::now();
        std::thread::sleep(Duration::from_millis(1500));
        s.write_all(b"GET /id/x HTTP/1.1\r\n").unwrap();
        s.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let mut buf = [0u8; 512];
        let closed_after = loop {
            match s.read(&mut buf) {
                Ok(_) => break start.elapsed(),
                Err(e) if e.kind() == ErrorKind::ConnectionReset => break start.elapsed(),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) => panic!("read: {e}"),
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "{path:?}: still open"
            );
            let _ = s.write_all(b"X");
        };
        assert!(
            closed_after < Duration::from_millis(3200),
            "{path:?}: closed after {closed_after:?}"
        );
    }
}

#[test]
fn one_client_cannot_take_every_connection() {
    // A client at 127.0.0.2 opens every connection the server allows and trickles request
    // bodies into them; a client at 127.0.0.1 is still answered at once.
    let dir = TempDir::new("per-client");
    let server = start(
        &dir,
        &[
            "--max-connections",
            "30",
            "--max-connections-per-client",
            "10",
            "--body-timeout",
            "60",
        ],
    );
    let head = format!(
        "POST /-/api/rules HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Length: 60000\r\n\r\n{{"
    );
    let mut attacker = Vec::new();
    for _ in 0..30 {
        let mut s = connect_from("127.0.0.2", server.addr);
        let _ = s.write_all(head.as_bytes());
        attacker.push(s);
    }
    // Those past the tenth are closed at accept.
    let mut refused = 0;
    for s in &mut attacker {
        s.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut b = [0u8; 1];
        if matches!(s.read(&mut b), Ok(0)) || s.write_all(b" ").is_err() {
            refused += 1;
        }
    }
    assert!(refused >= 20, "only {refused} of 30 refused");
    for i in 0..16 {
        assert_eq!(
            get_status(server.addr, "127.0.0.1", &format!("/id/{i}")),
            Some(303),
            "request {i} of another client was not answered"
        );
    }
    assert!(metric(&server, "seeother_connections_refused_total") >= 20);
    drop(attacker);
}

#[test]
fn a_connection_that_spoke_http_1_1_stays_http_1_1() {
    // RFC 9113 §3.4: the preface opens a connection; after an HTTP/1.1 exchange it is a
    // malformed HTTP/1.1 request, not a switch to HTTP/2.
    for path in PATHS {
        let dir = TempDir::new("h2-mid");
        let server = start(&dir, path);
        let mut s = TcpStream::connect(server.addr).unwrap();
        s.write_all(b"GET /id/x HTTP/1.1\r\nHost: h\r\n\r\n")
            .unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 4096];
        let n = s.read(&mut buf).unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 303 "), "{path:?}");
        s.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").unwrap();
        let rest = read_until_closed(&mut s, Duration::from_secs(5)).unwrap_or_else(|got| got);
        // An HTTP/2 server would send its SETTINGS frame: 9 bytes of frame header, type 4.
        let h2_settings = rest.len() >= 9 && rest[3] == 0x04;
        assert!(
            !h2_settings,
            "{path:?}: the server switched to HTTP/2: {rest:?}"
        );
        assert!(
            rest.is_empty() || rest.starts_with(b"HTTP/1.1 4"),
            "{path:?}: {:?}",
            String::from_utf8_lossy(&rest)
        );
    }
}

#[test]
fn http_2_by_prior_knowledge_still_opens_a_connection() {
    let dir = TempDir::new("h2c");
    let server = start(&dir, &[]);
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 9];
    s.read_exact(&mut buf).unwrap();
    assert_eq!(buf[3], 0x04, "the server's first frame is SETTINGS");
}

#[test]
fn no_host_two_hosts_or_a_bad_host_is_400_on_both_paths() {
    for path in PATHS {
        let dir = TempDir::new("host");
        let server = start(&dir, path);
        for target in ["/id/x", "/-/healthz"] {
            for fields in [
                "",
                "Host:\r\n",
                "Host: a.example\r\nHost: b.example\r\n",
                "Host: a b\r\n",
                "Host: user@a.example\r\n",
            ] {
                let raw = format!("GET {target} HTTP/1.1\r\n{fields}Connection: close\r\n\r\n");
                let r = serve_support::exchange(server.addr, raw.as_bytes());
                assert_eq!(r.status, 400, "{path:?} {raw:?}");
                assert!(
                    r.text().contains("RFC 91"),
                    "{path:?} {raw:?}: {}",
                    r.text()
                );
            }
            // One good Host, and HTTP/1.0 (which needs none), are served.
            let ok =
                format!("GET {target} HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n");
            assert_ne!(
                serve_support::exchange(server.addr, ok.as_bytes()).status,
                400
            );
            let old = format!("GET {target} HTTP/1.0\r\n\r\n");
            assert_ne!(
                serve_support::exchange(server.addr, old.as_bytes()).status,
                400
            );
        }
    }
}
