//! Against peers nobody here wrote: nginx (Debian's, installed by `scripts/test-all`) answering
//! with `return 303` rules, and curl making the same requests. Both user agents must send the
//! same sequence of requests (method and target, as nginx logs them) and agree on the final URL.

mod fetch_support;
mod nginx_support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use fetch_support::fetch_json;
use nginx_support::{Nginx, free_port};

/// nginx with `return 303` rules, logging each request's method, target and body length.
fn start_nginx() -> Nginx {
    let port = free_port();
    Nginx::start(
        port,
        &format!(
            r#"
    log_format hops '$request_method $request_uri len=$content_length';
    server {{
        listen 127.0.0.1:{port};
        access_log access.log hops;
        location = /form     {{ return 303 /result; }}
        location = /relative {{ absolute_redirect off; return 303 ../result?from=relative; }}
        location = /absolute {{ return 303 http://127.0.0.1:{port}/result?from=absolute; }}
        location = /found    {{ return 302 /chain/1; }}
        location = /chain/1  {{ return 301 /chain/2; }}
        location = /chain/2  {{ return 303 /result; }}
        location = /keep     {{ return 307 /result; }}
        location = /result   {{ return 200 "method=$request_method uri=$request_uri len=$content_length\n"; }}
    }}
"#
        ),
    )
}

/// The access log lines written since the last call (nginx writes them unbuffered).
fn take_log(nginx: &Nginx) -> Vec<String> {
    let path = nginx.dir.join("access.log");
    // Each request's line is written when the request ends; give the worker a moment.
    std::thread::sleep(Duration::from_millis(50));
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    std::fs::write(&path, "").unwrap();
    text.lines().map(str::to_owned).collect()
}

fn url(nginx: &Nginx, path: &str) -> String {
    format!("http://127.0.0.1:{}{}", nginx.port, path)
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
    let nginx = start_nginx();
    assert_prefix_dir_is_private(&nginx.dir);
    take_log(&nginx);

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
        let url = url(&nginx, path);

        let mut ours = args.clone();
        ours.push(&url);
        let (doc, out) = fetch_json(&ours);
        assert_eq!(out.status.code(), Some(0), "{path}: {doc}");
        let ours_log = take_log(&nginx);

        let mut theirs = args.clone();
        theirs.push(&url);
        let (curl_url, curl_code) = curl(&theirs);
        let curl_log = take_log(&nginx);

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
    let nginx = start_nginx();
    let (doc, out) = fetch_json(&[&url(&nginx, "/found")]);
    assert_eq!(out.status.code(), Some(0));
    let reused: Vec<bool> = doc["hops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["reused"].as_bool().unwrap())
        .collect();
    assert_eq!(reused, [false, true, true, true]);
}
