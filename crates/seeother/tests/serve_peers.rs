//! Real peers against `seeother serve`: curl following a 303 after a POST, HTTP/2 by prior
//! knowledge (h2c), and HTTPS with HTTP/2 by ALPN.

mod serve_support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use serve_support::{Server, TempDir};

fn curl(args: &[&str]) -> (bool, String, String) {
    let out = Command::new("curl")
        .args(["--max-time", "20", "-sS"])
        .args(args)
        .output()
        .expect("curl is installed (scripts/test-all installs it)");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A one-shot landing page on loopback: answers one request with 200 and reports its
/// request line.
fn landing() -> (u16, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let mut reader = BufReader::new(s.try_clone().unwrap());
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
            }
            let _ = tx.send(line.trim_end().to_owned());
            let _ = s.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\nConnection: close\r\n\r\nlanded\n",
            );
        }
    });
    (port, rx)
}

#[test]
fn curl_post_to_a_303_ends_on_the_target_with_get() {
    let (port, seen) = landing();
    let dir = TempDir::new("curl");
    let rules = dir.file(
        "r.toml",
        &format!("[[rules]]\npath = \"/form\"\nto = \"http://127.0.0.1:{port}/thanks\"\n"),
    );
    let s = Server::start(
        &dir.path().join("s.db"),
        &["--rules", rules.to_str().unwrap()],
    );
    let (ok, out, err) = curl(&[
        "-L",
        "-d",
        "x=1",
        "-w",
        "\n%{http_code} %{num_redirects} %{url_effective}",
        &s.url("/form"),
    ]);
    assert!(ok, "{err}");
    assert!(
        out.ends_with(&format!("200 1 http://127.0.0.1:{port}/thanks")),
        "{out}"
    );
    assert!(out.starts_with("landed"), "{out}");
    let request_line = seen.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(
        request_line, "GET /thanks HTTP/1.1",
        "a 303 turns POST into GET"
    );
}

#[test]
fn http2_by_prior_knowledge() {
    let dir = TempDir::new("h2c");
    let rules = dir.file(
        "r.toml",
        "[[rules]]\npath = \"/id/x\"\nto = \"https://example.org/x\"\n",
    );
    let s = Server::start(
        &dir.path().join("s.db"),
        &["--rules", rules.to_str().unwrap()],
    );
    let (ok, out, err) = curl(&[
        "--http2-prior-knowledge",
        "-o",
        "/dev/null",
        "-D",
        "-",
        "-w",
        "%{http_version}",
        &s.url("/id/x"),
    ]);
    assert!(ok, "{err}");
    assert!(out.starts_with("HTTP/2 303"), "{out}");
    assert!(out.contains("location: https://example.org/x"), "{out}");
    assert!(out.ends_with('2'), "{out}");
}

#[test]
fn https_with_http2_by_alpn() {
    let dir = TempDir::new("tls");
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert_file = dir.file("cert.pem", &cert.cert.pem());
    let key_file = dir.file("key.pem", &cert.key_pair.serialize_pem());
    let rules = dir.file(
        "r.toml",
        "[[rules]]\npath = \"/id/x\"\nto = \"https://example.org/x\"\n",
    );
    let mut cmd_args = vec!["--rules", rules.to_str().unwrap()];
    cmd_args.extend([
        "--tls-cert",
        cert_file.to_str().unwrap(),
        "--tls-key",
        key_file.to_str().unwrap(),
    ]);
    let s = Server::start(&dir.path().join("s.db"), &cmd_args);
    assert!(
        s.stdout[0].contains("listening on https://"),
        "{:?}",
        s.stdout
    );
    let port = s.addr.port();
    let url = format!("https://localhost:{port}/id/x");
    let resolve = format!("localhost:{port}:127.0.0.1");
    // curl trusting the test certificate, with `localhost` on loopback.
    let curl_tls = |args: &[&str]| {
        let mut all = vec![
            "--cacert",
            cert_file.to_str().unwrap(),
            "--resolve",
            &resolve,
        ];
        all.extend(args);
        curl(&all)
    };
    let (ok, out, err) = curl_tls(&["--http2", "-o", "/dev/null", "-D", "-", &url]);
    assert!(ok, "{err}");
    assert!(out.starts_with("HTTP/2 303"), "{out}");
    assert!(out.contains("location: https://example.org/x"), "{out}");
    let (ok, out, err) = curl_tls(&["--http1.1", "-I", &url]);
    assert!(ok, "{err}");
    assert!(out.starts_with("HTTP/1.1 303"), "{out}");
    // HTTP/1.1 over TLS takes the direct path: two requests on one connection, then the
    // metrics (under /-/, so handed to hyper) count them with the HEAD above; the HTTP/2
    // request is not among them.
    let metrics = format!("https://localhost:{port}/-/metrics");
    let (ok, out, err) = curl_tls(&["--http1.1", "-D", "-", &url, &url, &metrics]);
    assert!(ok, "{err}");
    assert_eq!(out.matches("HTTP/1.1 303 See Other").count(), 2, "{out}");
    assert!(out.contains("\nseeother_http1_direct_total 3\n"), "{out}");
}
