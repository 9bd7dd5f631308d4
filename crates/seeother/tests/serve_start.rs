//! Starting `seeother serve`: the forms `--listen` takes, and a start that cannot bind its
//! address writes nothing (no store, no token, no rules from `--rules`).

mod serve_support;

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::Duration;

use serve_support::{BIN, TOKEN, TempDir, cli, eventually, exchange};

const RULES: &str = "[[rules]]\npath = \"/a\"\nto = \"https://example.org/a\"\n";

/// A port nobody listens on just now.
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn a_start_that_cannot_bind_writes_nothing() {
    let dir = TempDir::new("start-taken");
    let rules = dir.file("rules.toml", RULES);
    let taken = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let db = dir.path().join("new.db");
    let (code, _, err) = cli(&[
        "serve",
        "--listen",
        &port,
        "--db",
        db.to_str().unwrap(),
        "--rules",
        rules.to_str().unwrap(),
    ]);
    assert_ne!(code, 0, "{err}");
    assert!(err.contains(&port) && err.contains("in use"), "{err}");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "rules.toml")
        .collect();
    assert!(left.is_empty(), "written before the bind failed: {left:?}");
}

#[test]
fn listen_takes_a_port_alone_or_a_host_name() {
    for form in ["{port}", "localhost:{port}"] {
        let dir = TempDir::new("start-forms");
        let port = free_port();
        let listen = form.replace("{port}", &port.to_string());
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", &listen, "--db"])
            .arg(dir.path().join("s.db"))
            .env("SEEOTHER_ADMIN_TOKEN", TOKEN)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Both name the IPv4 loopback address.
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let up = eventually(Duration::from_secs(20), || {
            TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
        });
        let health = up.then(|| {
            exchange(
                addr,
                b"GET /-/healthz HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
            )
            .status
        });
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(health, Some(200), "--listen {listen}");
    }
}

#[test]
fn a_listen_address_without_a_port_says_what_to_write() {
    let (code, _, err) = cli(&["serve", "--listen", "localhost"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("has no port") && err.contains("localhost:8303"),
        "{err}"
    );
    let (code, _, err) = cli(&["serve", "--listen", "no-such-host.invalid:80"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot be resolved"), "{err}");
}
