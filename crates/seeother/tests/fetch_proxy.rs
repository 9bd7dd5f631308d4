//! Proxies through Debian's tinyproxy (installed by `scripts/test-all`): `-x` and the
//! `http_proxy` / `HTTPS_PROXY` / `NO_PROXY` variables, absolute-form requests for http and
//! `CONNECT` tunnels for https, compared with curl going through the same proxy.

mod fetch_support;

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use fetch_support::{Server, reply};

/// tinyproxy on a free loopback port, logging each request; stopped when dropped.
struct Proxy {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl Proxy {
    fn start(extra: &str) -> Proxy {
        let port = free_port();
        let dir =
            std::env::temp_dir().join(format!("seeother-proxy-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // tinyproxy drops to `nobody`, who must be able to write the log.
        std::os::unix::fs::PermissionsExt::set_mode(
            &mut std::fs::metadata(&dir).unwrap().permissions(),
            0o777,
        );
        Command::new("chmod").arg("777").arg(&dir).status().unwrap();
        let config = format!(
            "User nobody\nGroup nogroup\nPort {port}\nListen 127.0.0.1\nTimeout 20\n\
             LogFile \"{}/proxy.log\"\nLogLevel Info\nMaxClients 16\nAllow 127.0.0.1\n{extra}\n",
            dir.display()
        );
        std::fs::write(dir.join("tinyproxy.conf"), config).unwrap();
        let child = Command::new("tinyproxy")
            .arg("-d")
            .arg("-c")
            .arg(dir.join("tinyproxy.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tinyproxy is not installed: run scripts/test-all (it installs it)");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "tinyproxy did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Proxy { child, dir, port }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The request lines the proxy logged (`GET http://…`, `CONNECT host:port`).
    fn requests(&self) -> Vec<String> {
        let log = std::fs::read_to_string(self.dir.join("proxy.log")).unwrap_or_default();
        log.lines()
            .filter_map(|l| l.split_once("): ").map(|(_, r)| r.to_owned()))
            .filter(|r| {
                r.starts_with("GET ") || r.starts_with("CONNECT ") || r.starts_with("POST ")
            })
            .collect()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A program run with only these proxy variables set (any of the caller's are removed).
fn run(program: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(program);
    for name in [
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
        "no_proxy",
        "NO_PROXY",
    ] {
        command.env_remove(name);
    }
    command
        .args(args)
        .envs(env.iter().copied())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    command.output().unwrap()
}

fn seeother(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut all = vec!["fetch"];
    all.extend_from_slice(args);
    run(env!("CARGO_BIN_EXE_seeother"), &all, env)
}

fn curl(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut all = vec!["-s", "-m", "20"];
    all.extend_from_slice(args);
    run("curl", &all, env)
}

#[test]
fn http_urls_go_to_the_proxy_in_absolute_form_as_with_curl() {
    let origin = Server::start(|req| {
        let via = req.headers.get("via").cloned().unwrap_or_default();
        reply(
            200,
            &[],
            format!("{} via={}", req.target, via.contains("tinyproxy")),
        )
    });
    let proxy = Proxy::start("");
    let url = origin.url("/page?x=1");
    // curl reads only the lower-case http_proxy (an upper-case one could come from a CGI
    // request's Proxy field); seeother reads both, outside CGI.
    for (who, out) in [
        ("-x", seeother(&["-s", "-x", &proxy.url(), &url], &[])),
        (
            "env",
            seeother(&["-s", &url], &[("http_proxy", &proxy.url())]),
        ),
        ("curl", curl(&["-x", &proxy.url(), &url], &[])),
    ] {
        assert_eq!(
            out.status.code(),
            Some(0),
            "{who}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "/page?x=1 via=true",
            "{who}"
        );
    }
    let requests = proxy.requests();
    assert_eq!(requests.len(), 3, "{requests:?}");
    for r in &requests {
        assert_eq!(r, &format!("GET {url} HTTP/1.1"));
    }
}

#[test]
fn no_proxy_goes_direct() {
    let origin =
        Server::start(|req| reply(200, &[], format!("via={}", req.headers.contains_key("via"))));
    let proxy = Proxy::start("");
    let env = [
        ("http_proxy", proxy.url()),
        ("NO_PROXY", "localhost,127.0.0.1".to_owned()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let out = seeother(&["-s", &origin.url("/")], &env);
    assert_eq!(out.stdout, b"via=false");
    let out = seeother(&["-s", "-x", &proxy.url(), &origin.url("/")], &env);
    assert_eq!(
        out.stdout, b"via=false",
        "NO_PROXY applies to -x too, as in curl"
    );
    let out = curl(&["-x", &proxy.url(), &origin.url("/")], &env);
    assert_eq!(out.stdout, b"via=false");
    assert!(proxy.requests().is_empty());
}

fn self_signed(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
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
        .args(["-addext", "subjectAltName=IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    (cert, key)
}

#[test]
fn https_urls_go_through_a_connect_tunnel_as_with_curl() {
    let proxy = Proxy::start("");
    let (cert, key) = self_signed(&proxy.dir);
    let port = free_port();
    let mut server = Command::new("openssl")
        .args(["s_server", "-quiet", "-www", "-accept"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("-cert")
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(20));
    }
    let url = format!("https://127.0.0.1:{port}/");
    let cacert = cert.to_str().unwrap();
    let ours = seeother(
        &[
            "-s",
            "--cacert",
            cacert,
            "-w",
            "%{http_code}",
            "-o",
            "/dev/null",
            &url,
        ],
        &[("HTTPS_PROXY", &proxy.url())],
    );
    let theirs = curl(
        &[
            "--cacert",
            cacert,
            "-w",
            "%{http_code}",
            "-o",
            "/dev/null",
            &url,
        ],
        &[("HTTPS_PROXY", &proxy.url())],
    );
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(
        ours.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ours.stderr)
    );
    assert_eq!(ours.stdout, b"200");
    assert_eq!(theirs.stdout, b"200");
    let requests = proxy.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    for r in &requests {
        assert!(
            r.starts_with(&format!("CONNECT 127.0.0.1:{port} HTTP/1.1")),
            "{r}"
        );
    }
}

#[test]
fn a_proxy_that_is_down_is_a_connect_error_that_names_it() {
    let dead = format!("127.0.0.1:{}", free_port());
    let out = seeother(&["-x", &dead, "http://127.0.0.1:1/"], &[]);
    assert_eq!(out.status.code(), Some(7));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("through the proxy {dead}")), "{err}");
    let out = curl(&["-x", &dead, "http://127.0.0.1:1/"], &[]);
    assert_eq!(out.status.code(), Some(7));
}
