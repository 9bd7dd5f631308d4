//! curl's habits: the flags curl users type, run through `seeother fetch` and through curl
//! against the same loopback servers. Where curl is the reference, both must send the same
//! requests, print the same `-w` values and exit with the same status.

mod fetch_support;

use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use fetch_support::{Reply, Seen, Server, fetch, redirect, reply};

/// Run curl (installed by `scripts/test-all`) with ARGS; bounded by `-m 20`.
fn curl(args: &[&str]) -> Output {
    Command::new("curl")
        .args(["-m", "20"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("curl is not installed: run scripts/test-all (it installs it)")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Two origins: A's /start sends to B's /next, which answers 200.
fn two_origins() -> (Server, Server) {
    let b = Server::start(|req| match req.target.as_str() {
        "/next" => reply(200, &[("content-type", "text/plain")], "arrived"),
        _ => reply(404, &[], "no"),
    });
    let next = b.url("/next");
    let a = Server::start(move |req| match req.target.as_str() {
        "/start" => redirect(302, &next),
        _ => reply(404, &[], "no"),
    });
    (a, b)
}

/// What both user agents are compared on: method, target and a few fields of each request.
fn summary(seen: &[Seen]) -> Vec<String> {
    seen.iter()
        .map(|r| {
            let field = |n: &str| r.headers.get(n).cloned().unwrap_or_else(|| "-".into());
            format!(
                "{} {} ua={} referer={} authorization={}",
                r.method,
                r.target,
                field("user-agent"),
                field("referer"),
                field("authorization")
            )
        })
        .collect()
}

#[test]
fn l_a_e_and_u_send_what_curl_sends_and_credentials_stay_on_their_origin() {
    let flags = [
        "-A",
        "probe/1.0",
        "-e",
        "http://from.example/page",
        "-u",
        "ann:s3cret",
    ];
    let (a, b) = two_origins();
    let mut args = vec!["-s", "-L"];
    args.extend_from_slice(&flags);
    let start = a.url("/start");
    args.push(&start);
    let ours = fetch(&args);
    assert_eq!(ours.status.code(), Some(0), "{}", text(&ours.stderr));
    assert_eq!(ours.stdout, b"arrived");
    let (ours_a, ours_b) = (summary(&a.seen()), summary(&b.seen()));

    let (a, b) = two_origins();
    let start = a.url("/start");
    let mut args = vec!["-s", "-L"];
    args.extend_from_slice(&flags);
    args.push(&start);
    let theirs = curl(&args);
    assert_eq!(theirs.status.code(), Some(0));
    assert_eq!(theirs.stdout, b"arrived");
    let (theirs_a, theirs_b) = (summary(&a.seen()), summary(&b.seen()));

    // RFC 7617 §2: Basic base64("ann:s3cret"); only to the origin it was given for.
    assert_eq!(
        ours_a,
        [
            "GET /start ua=probe/1.0 referer=http://from.example/page authorization=Basic YW5uOnMzY3JldA=="
        ]
    );
    assert_eq!(ours_a, theirs_a);
    // On B: no credentials from either. curl repeats -e on every hop; seeother sends it with
    // the first request only (later hops carry the redirecting URL when a referrer policy is
    // on, nothing by default).
    assert_eq!(ours_b, ["GET /next ua=probe/1.0 referer=- authorization=-"]);
    assert_eq!(
        theirs_b,
        ["GET /next ua=probe/1.0 referer=http://from.example/page authorization=-"]
    );
}

#[test]
fn an_empty_a_sends_no_user_agent_as_curl() {
    let server = Server::start(|_| reply(200, &[], "ok"));
    assert_eq!(
        fetch(&["-s", "-A", "", &server.url("/")]).status.code(),
        Some(0)
    );
    assert_eq!(
        curl(&["-s", "-A", "", &server.url("/")]).status.code(),
        Some(0)
    );
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert!(
        seen.iter().all(|r| !r.headers.contains_key("user-agent")),
        "{seen:?}"
    );
}

#[test]
fn write_out_prints_the_same_values_as_curl() {
    let server = Server::start(|req| match req.target.as_str() {
        "/a" => redirect(301, "/b"),
        "/b" => redirect(303, "/c?x=1"),
        "/c?x=1" => reply(200, &[], "twelve bytes"),
        _ => reply(404, &[], ""),
    });
    let format = r"%{http_code} %{num_redirects} %{url_effective} [%{redirect_url}] %{size_download} %{exitcode}\n";
    let dev_null = "/dev/null";
    for (ours_flags, curl_flags) in [
        (vec![], vec!["-L"]),
        // Not following: the redirect is the answer, redirect_url where it leads.
        (vec!["--no-location"], vec![]),
    ] {
        let url = server.url("/a");
        let mut ours = vec!["-s", "-o", dev_null, "-w", format];
        ours.extend(ours_flags.iter().copied());
        ours.push(&url);
        let mut theirs = vec!["-s", "-o", dev_null, "-w", format];
        theirs.extend(curl_flags.iter().copied());
        theirs.push(&url);
        let (ours, theirs) = (fetch(&ours), curl(&theirs));
        assert_eq!(text(&ours.stdout), text(&theirs.stdout), "{ours_flags:?}");
        assert_eq!(ours.status.code(), theirs.status.code());
    }
    let out = fetch(&[
        "-s",
        "-o",
        dev_null,
        "-w",
        "%{http_code} %{url_effective}",
        &server.url("/a"),
    ]);
    assert_eq!(text(&out.stdout), format!("200 {}", server.url("/c?x=1")));

    // Times: six decimals, connect before the end; %{json} holds every variable.
    let out = fetch(&[
        "-s",
        "-o",
        dev_null,
        "-w",
        "%{time_connect} %{time_total}\n%{json}",
        &server.url("/a"),
    ]);
    let printed = text(&out.stdout);
    let (times, json) = printed.split_once('\n').unwrap();
    let (connect, total) = times.split_once(' ').unwrap();
    assert_eq!(total.split_once('.').unwrap().1.len(), 6, "{total}");
    let (connect, total): (f64, f64) = (connect.parse().unwrap(), total.parse().unwrap());
    assert!(connect > 0.0 && connect <= total, "{connect} {total}");
    let doc: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(doc["http_code"], "200");
    assert_eq!(doc["num_redirects"], 2);
    assert_eq!(doc["size_download"], 12);
    assert!(doc["time_total"].as_f64().unwrap() >= connect);

    // A failure: 000, as curl.
    let dead = dead_url();
    let ours = fetch(&["-s", "-w", "%{http_code}", &dead]);
    let theirs = curl(&["-s", "-w", "%{http_code}", &dead]);
    assert_eq!(text(&ours.stdout), "000");
    assert_eq!(ours.stdout, theirs.stdout);
    assert_eq!(ours.status.code(), theirs.status.code()); // 7

    let out = fetch(&["-w", "%{http_cod}", &server.url("/a")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("unknown variable %{http_cod}"),
        "{}",
        text(&out.stderr)
    );
}

fn dead_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}/", l.local_addr().unwrap())
}

#[test]
fn max_redirs_0_and_no_location_end_as_curl_does() {
    let server = Server::start(|req| match req.target.as_str() {
        "/a" => redirect(302, "/b"),
        _ => reply(200, &[], "b"),
    });
    let url = server.url("/a");
    // curl -L --max-redirs 0: error 47.
    let ours = fetch(&["-s", "--max-redirs", "0", &url]);
    let theirs = curl(&["-s", "-L", "--max-redirs", "0", &url]);
    assert_eq!(ours.status.code(), Some(47));
    assert_eq!(ours.status.code(), theirs.status.code());
    // Without -L curl takes the 302 as the answer; --no-location does the same.
    let ours = fetch(&["-s", "-i", "--no-location", &url]);
    let theirs = curl(&["-s", "-i", &url]);
    assert_eq!(ours.status.code(), Some(0));
    assert!(text(&ours.stdout).starts_with("HTTP/1.1 302 Found\r\n"));
    assert!(text(&theirs.stdout).starts_with("HTTP/1.1 302 Found\r\n"));
    // -L and --no-location together make no sense.
    assert_eq!(fetch(&["-L", "--no-location", &url]).status.code(), Some(2));
}

#[test]
fn remote_name_writes_the_file_curl_writes() {
    let server = Server::start(|req| match req.target.as_str() {
        "/files/report.txt" => redirect(302, "/store/abc123"),
        "/store/abc123" => reply(200, &[], "the report"),
        _ => reply(404, &[], ""),
    });
    let url = server.url("/files/report.txt");
    let dir = std::env::temp_dir().join(format!("seeother-fetch-O-{}", std::process::id()));
    for (who, program, args) in [
        (
            "ours",
            env!("CARGO_BIN_EXE_seeother"),
            vec!["fetch", "-s", "-O", url.as_str()],
        ),
        ("curl", "curl", vec!["-s", "-L", "-O", url.as_str()]),
    ] {
        let cwd = dir.join(who);
        std::fs::create_dir_all(&cwd).unwrap();
        let out = Command::new(program)
            .args(&args)
            .current_dir(&cwd)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{who}: {}", text(&out.stderr));
        // The original URL's name, not the redirect target's.
        assert_eq!(
            std::fs::read_to_string(cwd.join("report.txt")).unwrap(),
            "the report"
        );
        assert!(!cwd.join("abc123").exists());
    }
    let out = fetch(&["-O", &server.url("/files/")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("-o FILE"),
        "{}",
        text(&out.stderr)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn verbose_shows_each_hops_fields_as_curl_marks_them_with_credentials_masked() {
    let server = Server::start(|req| match req.target.as_str() {
        "/a?q=1" => redirect(303, "/b"),
        _ => reply(200, &[("x-answer", "yes")], "b"),
    });
    let out = fetch(&["-v", "-u", "ann:s3cret", &server.url("/a?q=1")]);
    assert_eq!(out.status.code(), Some(0));
    let err = text(&out.stderr);
    let host = server.addr.to_string();
    for line in [
        format!("* hop 1: GET {}", server.url("/a?q=1")),
        "> GET /a?q=1 HTTP/1.1".to_owned(),
        format!("> host: {host}"),
        "> authorization: Basic ***".to_owned(),
        ">".to_owned(),
        "< HTTP/1.1 303 See Other".to_owned(),
        "< location: /b".to_owned(),
        format!("* hop 2: GET {}", server.url("/b")),
        "> GET /b HTTP/1.1".to_owned(),
        "< HTTP/1.1 200 OK".to_owned(),
        "< x-answer: yes".to_owned(),
    ] {
        assert!(
            err.lines()
                .any(|l| l == line || l.starts_with(&format!("{line} ("))),
            "{line:?} missing:\n{err}"
        );
    }
    assert!(
        !err.contains("s3cret") && !err.contains("YW5uOnMzY3JldA"),
        "{err}"
    );
    assert!(err.contains("new connection #1, connected in"), "{err}");
    assert!(err.contains("reusing connection #1"), "{err}");
    assert_eq!(out.stdout, b"b");
}

#[test]
fn silent_hides_errors_and_show_error_brings_them_back_as_curl() {
    let dead = dead_url();
    let ours = fetch(&["-s", &dead]);
    let theirs = curl(&["-s", &dead]);
    assert_eq!(
        (ours.status.code(), theirs.status.code()),
        (Some(7), Some(7))
    );
    assert!(ours.stderr.is_empty(), "{}", text(&ours.stderr));
    assert!(theirs.stderr.is_empty());
    let ours = fetch(&["-sS", &dead]);
    let theirs = curl(&["-sS", &dead]);
    assert_eq!(ours.status.code(), Some(7));
    assert_eq!(
        text(&ours.stderr).lines().count(),
        1,
        "{}",
        text(&ours.stderr)
    );
    assert!(text(&ours.stderr).contains("could not connect"));
    assert_eq!(text(&theirs.stderr).lines().count(), 1);
}

#[test]
fn an_unknown_flag_names_the_closest_one_without_clap_tips() {
    for (given, closest) in [
        ("--locaton", "'--location' (-L)"),
        ("--max-redir", "'--max-redirs'"),
        ("--insecur", "'--insecure' (-k)"),
        ("--compresed", "'--compressed'"),
        ("-l", "'--location' (-L)"),
    ] {
        let out = fetch(&[given, "http://127.0.0.1:1/"]);
        assert_eq!(out.status.code(), Some(2), "{given}");
        let err = text(&out.stderr);
        assert!(
            err.contains(&format!(
                "unknown option '{given}'; the closest is {closest}"
            )),
            "{given}: {err}"
        );
        assert!(
            !err.contains("use '--") && !err.contains("tip:"),
            "no clap tip: {err}"
        );
    }
    let out = fetch(&["--frobnicate", "http://127.0.0.1:1/"]);
    assert!(text(&out.stderr).contains("there is no option like it"));
}

#[test]
fn retry_tries_again_on_transient_answers_as_curl_and_not_on_a_refused_connection() {
    // 503, 503, then 200: three requests from each, the same final answer.
    let serve = || {
        let count = Arc::new(AtomicUsize::new(0));
        Server::start(move |_| match count.fetch_add(1, Ordering::SeqCst) {
            0 | 1 => reply(503, &[], "busy"),
            _ => reply(200, &[], "done"),
        })
    };
    let server = serve();
    let ours = fetch(&[
        "--retry",
        "3",
        "--retry-delay",
        "0.05",
        "-d",
        "x=1",
        &server.url("/r"),
    ]);
    assert_eq!(ours.status.code(), Some(0), "{}", text(&ours.stderr));
    assert_eq!(ours.stdout, b"done");
    let ours_seen: Vec<_> = server
        .seen()
        .iter()
        .map(|r| (r.method.clone(), r.body.clone()))
        .collect();
    assert_eq!(ours_seen.len(), 3);
    assert!(
        text(&ours.stderr).contains(
            "the answer is 503 Service Unavailable: trying again in 0.050 s (2 retries left)"
        ),
        "{}",
        text(&ours.stderr)
    );
    let server = serve();
    let theirs = curl(&[
        "-s",
        "--retry",
        "3",
        "--retry-delay",
        "1",
        "-d",
        "x=1",
        &server.url("/r"),
    ]);
    // curl writes the bodies of the answers it retries to stdout as well; seeother only the
    // last one's.
    assert_eq!(theirs.stdout, b"busybusydone");
    let theirs_seen: Vec<_> = server
        .seen()
        .iter()
        .map(|r| (r.method.clone(), r.body.clone()))
        .collect();
    assert_eq!(ours_seen, theirs_seen);

    // Retries run out: the last answer is the result.
    let server = Server::start(|_| reply(429, &[("retry-after", "0")], "slow down"));
    let out = fetch(&["-s", "--retry", "2", &server.url("/")]);
    assert_eq!(
        (out.status.code(), out.stdout.as_slice()),
        (Some(0), &b"slow down"[..])
    );
    assert_eq!(server.seen().len(), 3);

    // A timeout is transient; a refused connection is not (curl: --retry-connrefused).
    let server = Server::start(|_| Reply::Hang);
    let out = fetch(&[
        "-s",
        "--retry",
        "1",
        "--retry-delay",
        "0",
        "--hop-timeout",
        "0.2",
        &server.url("/"),
    ]);
    assert_eq!(out.status.code(), Some(28));
    assert_eq!(server.seen().len(), 2);
    let out = fetch(&["--retry", "3", &dead_url()]);
    assert_eq!(out.status.code(), Some(7));
    assert!(
        !text(&out.stderr).contains("trying again"),
        "{}",
        text(&out.stderr)
    );
}
