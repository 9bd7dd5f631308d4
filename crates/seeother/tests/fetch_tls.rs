//! TLS as curl users meet it: a self-signed certificate made by `openssl req -x509` (which marks
//! it as a CA) passed with `--cacert`, `-k`, and errors that say what to do. The server is
//! `openssl s_server -www`, curl the reference.

mod fetch_support;

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fetch_support::fetch;

/// A certificate and key made by `openssl req -x509` in DIR, with `extra` arguments.
fn self_signed(dir: &Path, name: &str, extra: &[&str]) -> (PathBuf, PathBuf) {
    let (cert, key) = (
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}.key")),
    );
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
        ])
        .args(extra)
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .expect("openssl is not installed");
    assert!(status.success());
    (cert, key)
}

/// `openssl s_server` on a free loopback port; killed when dropped.
struct TlsServer {
    child: Child,
    port: u16,
}

impl TlsServer {
    fn start(cert: &Path, key: &Path) -> TlsServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("openssl")
            .args(["s_server", "-quiet", "-www", "-accept"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("-cert")
            .arg(cert)
            .arg("-key")
            .arg(key)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "s_server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        TlsServer { child, port }
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("seeother-fetch-tls-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn curl_code(args: &[&str]) -> Option<i32> {
    Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-m", "20"])
        .args(args)
        .status()
        .unwrap()
        .code()
}

#[test]
fn a_self_signed_openssl_certificate_given_with_cacert_works_as_in_curl() {
    let dir = temp_dir("cn");
    // No subjectAltName: the Common Name is the name, as curl accepts for such a certificate.
    let (cert, key) = self_signed(&dir, "cn-only", &[]);
    let server = TlsServer::start(&cert, &key);
    let url = format!("https://localhost:{}/", server.port);
    let cacert = cert.to_str().unwrap();
    let resolve = format!("localhost:{}:127.0.0.1", server.port);

    let out = fetch(&[
        "-s",
        "--resolve",
        &resolve,
        "--cacert",
        cacert,
        "-w",
        "%{http_code}",
        "-o",
        "/dev/null",
        &url,
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"200");
    assert_eq!(
        curl_code(&["--resolve", &resolve, "--cacert", cacert, &url]),
        Some(0)
    );

    // Without it: refused, and the message says what to do.
    let out = fetch(&["--resolve", &resolve, &url]);
    assert_eq!(out.status.code(), Some(35));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--cacert FILE") && err.contains("-k"), "{err}");
    assert_ne!(curl_code(&["--resolve", &resolve, &url]), Some(0));

    // -k: no check, as curl -k.
    let out = fetch(&["-s", "-k", "--resolve", &resolve, "-o", "/dev/null", &url]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(curl_code(&["-k", "--resolve", &resolve, &url]), Some(0));

    // Another name is still refused, with the certificate trusted.
    let other = format!("https://other.test:{}/", server.port);
    let resolve_other = format!("other.test:{}:127.0.0.1", server.port);
    let out = fetch(&["--resolve", &resolve_other, "--cacert", cacert, &other]);
    assert_eq!(out.status.code(), Some(35));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("for other names"), "{err}");
    assert_ne!(
        curl_code(&["--resolve", &resolve_other, "--cacert", cacert, &other]),
        Some(0)
    );
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_self_signed_certificate_with_alt_names_is_checked_against_them() {
    let dir = temp_dir("san");
    let (cert, key) = self_signed(
        &dir,
        "san",
        &["-addext", "subjectAltName=DNS:seeother.test,IP:127.0.0.1"],
    );
    let server = TlsServer::start(&cert, &key);
    let cacert = cert.to_str().unwrap();
    let by_ip = format!("https://127.0.0.1:{}/", server.port);
    let out = fetch(&["-s", "--cacert", cacert, "-o", "/dev/null", &by_ip]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(curl_code(&["--cacert", cacert, &by_ip]), Some(0));
    // With alt names, the Common Name (localhost) does not count (RFC 6125 §6.4.4), for curl too.
    let resolve = format!("localhost:{}:127.0.0.1", server.port);
    let by_cn = format!("https://localhost:{}/", server.port);
    let out = fetch(&["-s", "--resolve", &resolve, "--cacert", cacert, &by_cn]);
    assert_eq!(out.status.code(), Some(35));
    assert_ne!(
        curl_code(&["--resolve", &resolve, "--cacert", cacert, &by_cn]),
        Some(0)
    );
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}
