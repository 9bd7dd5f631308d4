//! Against peers nobody here wrote: nginx (Debian's, installed by `scripts/test-all`) answering
//! with `return 303` rules, and curl making the same requests. Both user agents must send the
//! same sequence of requests (method and target, as nginx logs them) and agree on the final URL.

mod fetch_support;

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fetch_support::fetch_json;

/// nginx on a free loopback port, with its own prefix directory; stopped when dropped.
struct Nginx {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl Nginx {
    fn start() -> Nginx {
        let binary = ["nginx", "/usr/sbin/nginx"]
            .into_iter()
            .find(|b| Command::new(b).arg("-v").stderr(Stdio::null()).status().is_ok())
            .expect("nginx is not installed: run scripts/test-all (it installs it) or apt-get install nginx");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir =
            std::env::temp_dir().join(format!("seeother-nginx-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let d = dir.display();
        let config = format!(
            r#"
master_process off;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 64; }}
http {{
    log_format hops '$request_method $request_uri len=$content_length';
    access_log {d}/access.log hops;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location = /form     {{ return 303 /result; }}
        location = /relative {{ absolute_redirect off; return 303 ../result?from=relative; }}
        location = /absolute {{ return 303 http://127.0.0.1:{port}/result?from=absolute; }}
        location = /found    {{ return 302 /chain/1; }}
        location = /chain/1  {{ return 301 /chain/2; }}
        location = /chain/2  {{ return 303 /result; }}
        location = /keep     {{ return 307 /result; }}
        location = /result   {{ return 200 "method=$request_method uri=$request_uri len=$content_length\n"; }}
    }}
}}
"#
        );
        std::fs::write(dir.join("nginx.conf"), config).unwrap();
        let child = Command::new(binary)
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let nginx = Nginx { child, dir, port };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "nginx did not start: {}",
                std::fs::read_to_string(nginx.dir.join("error.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        nginx
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }

    /// The access log lines written since the last call (nginx writes them unbuffered).
    fn take_log(&self) -> Vec<String> {
        let path = self.dir.join("access.log");
        // Each request's line is written when the request ends; give the worker a moment.
        std::thread::sleep(Duration::from_millis(50));
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        std::fs::write(&path, "").unwrap();
        text.lines().map(str::to_owned).collect()
    }
}

// One process (`master_process off`): killing it leaves no orphaned worker behind.
impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn curl(args: &[&str]) -> (String, String) {
    let out = Command::new("curl")
        .args(["-sS", "-L", "--max-time", "10", "-o", "/dev/null"])
        .args(["-w", "%{url_effective} %{http_code}"])
        .args(args)
        .output()
        .expect("curl is not installed: run scripts/test-all (it installs it)");
    assert!(
        out.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let (url, code) = text.rsplit_once(' ').unwrap();
    (url.to_owned(), code.to_owned())
}

fn assert_prefix_dir_is_private(dir: &Path) {
    assert!(dir.starts_with(std::env::temp_dir()));
}

#[test]
fn seeother_and_curl_send_the_same_requests_to_nginx() {
    let nginx = Nginx::start();
    assert_prefix_dir_is_private(&nginx.dir);
    nginx.take_log();

    // (arguments for both, expected requests as nginx logs them)
    let cases: Vec<(Vec<&str>, &str, Vec<&str>)> = vec![
        (
            vec!["-d", "a=1"],
            "/form",
            vec!["POST /form len=3", "GET /result len=-"],
        ),
        (
            vec![],
            "/relative",
            vec!["GET /relative len=-", "GET /result?from=relative len=-"],
        ),
        (
            vec!["-d", "a=1"],
            "/absolute",
            vec!["POST /absolute len=3", "GET /result?from=absolute len=-"],
        ),
        (
            vec!["-d", "a=1"],
            "/found",
            vec![
                "POST /found len=3",
                "GET /chain/1 len=-",
                "GET /chain/2 len=-",
                "GET /result len=-",
            ],
        ),
        (
            vec!["-d", "a=1"],
            "/keep",
            vec!["POST /keep len=3", "POST /result len=3"],
        ),
    ];
    for (args, path, expected) in cases {
        let url = nginx.url(path);

        let mut ours = args.clone();
        ours.push(&url);
        let (doc, out) = fetch_json(&ours);
        assert_eq!(out.status.code(), Some(0), "{path}: {doc}");
        let ours_log = nginx.take_log();

        let mut theirs = args.clone();
        theirs.push(&url);
        let (curl_url, curl_code) = curl(&theirs);
        let curl_log = nginx.take_log();

        assert_eq!(ours_log, expected, "seeother's requests for {path}");
        assert_eq!(curl_log, ours_log, "curl and seeother disagree on {path}");
        assert_eq!(doc["final_url"], curl_url, "final URL for {path}");
        assert_eq!(doc["status"].to_string(), curl_code);
        let last = doc["hops"].as_array().unwrap().last().unwrap().clone();
        let method = last["method"].as_str().unwrap();
        assert_eq!(
            doc["body"].as_str().unwrap().split(' ').next().unwrap(),
            format!("method={method}")
        );
    }
}

#[test]
fn nginx_redirect_chain_reuses_one_connection() {
    let nginx = Nginx::start();
    let (doc, out) = fetch_json(&[&nginx.url("/found")]);
    assert_eq!(out.status.code(), Some(0));
    let reused: Vec<bool> = doc["hops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["reused"].as_bool().unwrap())
        .collect();
    assert_eq!(reused, [false, true, true, true]);
}
