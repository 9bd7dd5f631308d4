//! `seeother fetch` end to end: the built binary against loopback servers started here.

mod fetch_support;

use fetch_support::{Reply, Server, fetch, fetch_json, header, redirect, reply};
use serde_json::Value;

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

fn login_server() -> Server {
    Server::start(|req| match req.target.as_str() {
        "/login" => reply(
            303,
            &[("location", "/home#top"), ("set-cookie", "sid=42; Path=/")],
            "see /home",
        ),
        "/home" => match req.headers.get("cookie") {
            Some(c) => reply(200, &[("content-type", "text/plain")], format!("hello {c}")),
            None => reply(401, &[], "who are you"),
        },
        _ => reply(404, &[], "not here"),
    })
}

#[test]
fn json_document_has_exactly_the_documented_keys() {
    let server = login_server();
    let (doc, out) = fetch_json(&["-d", "user=ann", &server.url("/login")]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        keys(&doc),
        [
            "body",
            "body_base64",
            "error",
            "final_url",
            "headers",
            "hops",
            "status",
            "url"
        ]
    );
    assert_eq!(doc["url"], server.url("/login"));
    assert_eq!(doc["final_url"], server.url("/home#top"));
    assert_eq!(doc["status"], 200);
    assert_eq!(doc["body"], "hello sid=42");
    assert_eq!(doc["body_base64"], Value::Null);
    assert_eq!(doc["error"], Value::Null);
    assert_eq!(header(&doc["headers"], "content-type"), Some("text/plain"));

    let hops = doc["hops"].as_array().unwrap();
    assert_eq!(hops.len(), 2);
    for hop in hops {
        assert_eq!(
            keys(hop),
            [
                "body_sent",
                "elapsed_ms",
                "location",
                "method",
                "request_headers",
                "reused",
                "status",
                "url"
            ]
        );
        assert!(hop["elapsed_ms"].as_f64().unwrap() >= 0.0);
    }
    assert_eq!(hops[0]["method"], "POST");
    assert_eq!(hops[0]["status"], 303);
    assert_eq!(hops[0]["location"], "/home#top");
    assert_eq!(hops[0]["body_sent"], 8);
    assert_eq!(hops[0]["reused"], false);
    let sent = &hops[0]["request_headers"];
    assert_eq!(header(sent, "host"), Some(server.addr.to_string().as_str()));
    assert_eq!(
        header(sent, "content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(header(sent, "content-length"), Some("8"));

    assert_eq!(hops[1]["method"], "GET");
    assert_eq!(hops[1]["url"], server.url("/home#top"));
    assert_eq!(hops[1]["body_sent"], 0);
    assert_eq!(hops[1]["reused"], true);
    assert_eq!(hops[1]["location"], Value::Null);
    // The cookie's name, not its value: the document is printed.
    assert_eq!(
        header(&hops[1]["request_headers"], "cookie"),
        Some("sid=***")
    );
    assert_eq!(header(&hops[1]["request_headers"], "content-type"), None);

    // What the document says was sent is what the server received.
    let seen = server.seen();
    assert_eq!(seen[1].method, "GET");
    assert_eq!(
        seen[1].headers.get("cookie").map(String::as_str),
        Some("sid=42")
    );
    assert!(!seen[1].headers.contains_key("content-length"));
    assert_eq!(server.accepted(), 1);
}

#[test]
fn human_output_shows_the_chain_on_stderr_and_the_body_on_stdout() {
    let server = login_server();
    let out = fetch(&["-d", "user=ann", &server.url("/login")]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(out.stdout, b"hello sid=42");
    let err = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0].starts_with(&format!(
            "POST {}  303 See Other → /home#top",
            server.url("/login")
        )),
        "{err}"
    );
    assert!(
        lines[1].starts_with(&format!("GET {}  200 OK", server.url("/home#top"))),
        "{err}"
    );
    assert!(lines[1].contains("ms"), "{err}");
    assert!(!err.contains('\x1b'), "no colour off a terminal");

    let out = fetch(&["-s", "-d", "user=ann", &server.url("/login")]);
    assert!(out.stderr.is_empty());

    // -i prints the final head before the body.
    let out = fetch(&["-s", "-i", "-d", "user=ann", &server.url("/login")]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.contains("content-type: text/plain\r\n"), "{text}");
    assert!(text.ends_with("\r\n\r\nhello sid=42"), "{text}");
}

#[test]
fn head_include_output_headers_and_methods() {
    let server = Server::start(|req| match req.target.as_str() {
        "/a" => redirect(303, "/b"),
        _ => reply(
            200,
            &[("x-method", req.method.as_str())],
            format!("{} {:?}", req.method, req.headers.get("x-token")),
        ),
    });
    let out = fetch(&["-s", "-I", &server.url("/a")]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("x-method: HEAD\r\n"), "{text}");
    assert!(server.seen().iter().all(|s| s.method == "HEAD"));

    let out = fetch(&["-s", "-X", "DELETE", "-H", "X-Token: t1", &server.url("/a")]);
    assert_eq!(out.stdout, b"GET Some(\"t1\")");
    assert_eq!(server.seen()[2].method, "DELETE");

    let dir = std::env::temp_dir().join(format!("seeother-fetch-o-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("body.txt");
    let out = fetch(&["-s", "-o", file.to_str().unwrap(), &server.url("/b")]);
    assert!(out.stdout.is_empty());
    assert_eq!(std::fs::read(&file).unwrap(), b"GET None");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn no_follow_and_max_redirs() {
    let server = Server::start(|req| match req.target.as_str() {
        "/a" => redirect(303, "/b"),
        _ => reply(200, &[], "b"),
    });
    let (doc, out) = fetch_json(&["--no-follow", &server.url("/a")]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(doc["status"], 303);
    assert_eq!(doc["final_url"], server.url("/a"));
    assert_eq!(doc["hops"].as_array().unwrap().len(), 1);

    let (doc, out) = fetch_json(&["--max-redirs", "0", &server.url("/a")]);
    assert_eq!(out.status.code(), Some(47));
    assert_eq!(doc["error"]["kind"], "too_many_redirects");
    assert_eq!(doc["status"], Value::Null);
}

#[test]
fn every_error_kind_has_json_a_line_on_stderr_and_its_own_exit_status() {
    let server = Server::start(|req| {
        let path = req.target.as_str();
        if let Some(n) = path.strip_prefix("/chain/") {
            let n: u32 = n.parse().unwrap();
            return redirect(303, &format!("/chain/{}", n + 1));
        }
        match path {
            "/loop" => redirect(303, "/loop2"),
            "/loop2" => redirect(303, "/loop"),
            "/hang" => Reply::Hang,
            "/bad-location" => redirect(303, "http://[::1"),
            "/ftp" => redirect(303, "ftp://127.0.0.1/file"),
            "/big" => reply(200, &[], vec![b'x'; 5000]),
            _ => reply(404, &[], ""),
        }
    });
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/", l.local_addr().unwrap())
    };
    let cases: Vec<(Vec<String>, &str, i32)> = vec![
        (vec![server.url("/chain/0")], "too_many_redirects", 47),
        (vec![server.url("/loop")], "redirect_loop", 81),
        (vec![server.url("/bad-location")], "invalid_location", 3),
        (vec![server.url("/ftp")], "unsupported_scheme", 1),
        (vec![dead], "connect", 7),
        (
            vec!["--hop-timeout".into(), "0.3".into(), server.url("/hang")],
            "timeout",
            28,
        ),
        (
            vec!["--max-filesize".into(), "100".into(), server.url("/big")],
            "body_too_large",
            63,
        ),
    ];
    for (args, kind, code) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (doc, out) = fetch_json(&args);
        assert_eq!(doc["error"]["kind"], kind, "{args:?}: {doc}");
        assert!(doc["error"]["message"].as_str().unwrap().len() > 10);
        assert_eq!(out.status.code(), Some(code), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        let error_lines: Vec<_> = err
            .lines()
            .filter(|l| l.starts_with("seeother fetch:"))
            .collect();
        assert_eq!(error_lines.len(), 1, "{args:?}: {err}");

        // Human mode: the same status, the same one-line explanation.
        let out = fetch(&args[..]);
        assert_eq!(out.status.code(), Some(code), "{args:?}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn binary_bodies_come_as_base64() {
    let server = Server::start(|_| reply(200, &[], vec![0xff, 0xfe, 0x00, 0x41]));
    let (doc, out) = fetch_json(&[&server.url("/bin")]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(doc["body"], Value::Null);
    assert_eq!(doc["body_base64"], "//4AQQ==");
}

#[test]
fn cookies_from_b_saved_with_c_and_turned_off() {
    let server = login_server();
    let dir = std::env::temp_dir().join(format!("seeother-fetch-c-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let jar = dir.join("jar.txt");
    let jar_arg = jar.to_str().unwrap();

    // -c saves what the 303 set, in curl's format.
    let out = fetch(&["-s", "-c", jar_arg, "-d", "u=a", &server.url("/login")]);
    assert_eq!(out.status.code(), Some(0));
    let saved = std::fs::read_to_string(&jar).unwrap();
    assert!(saved.starts_with("# Netscape HTTP Cookie File"), "{saved}");
    assert!(
        saved.contains("127.0.0.1\tFALSE\t/\tFALSE\t0\tsid\t42"),
        "{saved}"
    );

    // -b FILE loads it for a later run.
    let out = fetch(&["-s", "-b", jar_arg, &server.url("/home")]);
    assert_eq!(out.stdout, b"hello sid=42");

    // -b 'name=value' sends a Cookie field.
    let out = fetch(&["-s", "-b", "sid=7; x=1", &server.url("/home")]);
    assert_eq!(out.stdout, b"hello sid=7; x=1");

    // --no-cookies: the Set-Cookie on the 303 is ignored.
    let out = fetch(&["-s", "--no-cookies", "-d", "u=a", &server.url("/login")]);
    assert_eq!(out.stdout, b"who are you");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_arguments_exit_2_and_say_why() {
    let out = fetch(&["-H", "no colon", "http://127.0.0.1:1/"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Name: value"));
    let out = fetch(&["http://[::1"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn help_documents_the_exit_statuses() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_seeother"))
        .args(["fetch", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "47  too_many_redirects",
        "28  timeout",
        "--max-redirs",
        "--json",
    ] {
        assert!(help.contains(needle), "{needle} missing from --help");
    }
}
