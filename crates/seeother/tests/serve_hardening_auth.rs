//! Hardening of the admin token and the admin pages' sessions, over real loopback sockets
//! against the built `seeother serve`:
//!
//! - a flood of visitors to the sign-in page keeps no state and locks no admin out;
//! - signed-in sessions are capped (64), the oldest signed out;
//! - the sign-in form's CSRF token is a signed double-submit cookie;
//! - wrong tokens are limited per client address (429 with `Retry-After`), other addresses
//!   unaffected (clients bound to 127.0.0.2 and others: all of 127/8 is loopback on Linux);
//! - a short admin token is refused at start;
//! - form POSTs that cannot be valid are answered before their body is read.

mod admin_support;
mod serve_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use admin_support::{Admin, csrf_of, form, set_cookie, set_form_cookie};
use serve_support::{BIN, Resp, Server, TOKEN, TempDir, eventually};

fn start(name: &str) -> (TempDir, Server) {
    let dir = TempDir::new(&format!("hardening-auth-{name}"));
    let s = Server::start(&dir.path().join("s.db"), &[]);
    (dir, s)
}

/// A TCP connection to `dst` from the loopback address `src` (bound before connecting).
fn connect_from(src: Ipv4Addr, dst: SocketAddr) -> TcpStream {
    use std::os::fd::FromRawFd;
    let SocketAddr::V4(dst) = dst else {
        panic!("the server listens on IPv4")
    };
    let sin = |ip: Ipv4Addr, port: u16| libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(ip).to_be(),
        },
        sin_zero: [0; 8],
    };
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: a fresh socket, owned by the TcpStream at once; the addresses outlive the calls.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        let stream = TcpStream::from_raw_fd(fd);
        let local = sin(src, 0);
        let rc = libc::bind(fd, (&raw const local).cast(), len);
        assert_eq!(rc, 0, "bind {src}: {}", std::io::Error::last_os_error());
        let remote = sin(*dst.ip(), dst.port());
        let rc = libc::connect(fd, (&raw const remote).cast(), len);
        assert_eq!(rc, 0, "connect: {}", std::io::Error::last_os_error());
        stream
    }
}

/// One request with `Connection: close` from `src`, read until the server closes.
fn request_from(
    s: &Server,
    src: Ipv4Addr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    let mut req = format!(
        "{method} {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
        s.addr
    );
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut stream = connect_from(src, s.addr);
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    stream.write_all(req.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read the response");
    serve_support::parse(&raw)
}

/// An API call from `src` with `Authorization: Bearer token`.
fn api_from(s: &Server, src: Ipv4Addr, token: &str) -> Resp {
    let auth = format!("Bearer {token}");
    request_from(
        s,
        src,
        "GET",
        "/-/api/rules",
        &[("Authorization", &auth)],
        b"",
    )
}

/// The sign-in page's cookie and token, then the form posted from `src` with `token`.
fn sign_in_from(s: &Server, src: Ipv4Addr, token: &str) -> Resp {
    let anon = Admin::anonymous(s);
    let body = form(&[("csrf", &anon.csrf), ("token", token), ("next", "")]);
    request_from(
        s,
        src,
        "POST",
        "/-/admin/sign-in",
        &[
            ("Cookie", &anon.cookie),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        body.as_bytes(),
    )
}

/// Read one response (head and `Content-Length` body) off a connection that stays open.
fn read_response(r: &mut impl BufRead) -> std::io::Result<Resp> {
    let mut head = Vec::new();
    loop {
        let mut line = Vec::new();
        if r.read_until(b'\n', &mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        head.extend_from_slice(&line);
        if line == b"\r\n" {
            break;
        }
    }
    let mut resp = serve_support::parse(&head);
    let len: usize = resp
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    r.read_exact(&mut body)?;
    resp.body = body;
    Ok(resp)
}

/// The value of the metric line `name` (with its labels, if any).
fn metric(s: &Server, name: &str) -> Option<u64> {
    let text = s.get("/-/metrics").text();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// `total` GETs of `target` without cookies, on `conns` keep-alive connections, pipelined in
/// batches; returns how many got 200 and how long it took.
fn flood(addr: SocketAddr, target: &'static str, total: usize, conns: usize) -> (usize, Duration) {
    const BATCH: usize = 100;
    let started = Instant::now();
    let per = total / conns;
    let workers: Vec<_> = (0..conns)
        .map(|_| {
            std::thread::spawn(move || {
                let stream = TcpStream::connect(addr).unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(15)))
                    .unwrap();
                let mut writer = stream.try_clone().unwrap();
                let mut reader = BufReader::with_capacity(1 << 16, stream);
                let one = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
                let (mut sent, mut ok) = (0, 0);
                while sent < per {
                    let n = BATCH.min(per - sent);
                    writer.write_all(one.repeat(n).as_bytes()).unwrap();
                    for _ in 0..n {
                        let r = read_response(&mut reader).expect("a response to each GET");
                        ok += usize::from(r.status == 200);
                    }
                    sent += n;
                }
                ok
            })
        })
        .collect();
    let ok = workers.into_iter().map(|w| w.join().unwrap()).sum();
    (ok, started.elapsed())
}

#[test]
fn a_flood_of_sign_in_page_visits_keeps_no_sessions_and_locks_no_admin_out() {
    let (_dir, s) = start("flood");
    // The admin opens the sign-in form ...
    let admin = Admin::anonymous(&s);
    // ... while 20,000 visitors without cookies load it (twice the old table of 10,000
    // sessions, which evicted the admin's pre-sign-in session).
    const VISITS: usize = 20_000;
    let (ok, took) = flood(s.addr, "/-/admin/sign-in", VISITS, 4);
    assert_eq!(ok, VISITS, "every visit got the form");
    eprintln!(
        "{VISITS} sign-in page GETs in {:.2} s ({:.0}/s)",
        took.as_secs_f64(),
        VISITS as f64 / took.as_secs_f64()
    );
    // ... and then submits it: signed in.
    let r = admin.post(
        "/-/admin/sign-in",
        &[("csrf", &admin.csrf), ("token", TOKEN), ("next", "")],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.header("location"), Some("/-/admin/rules"));
    assert!(set_cookie(&r).is_some());
    assert_eq!(
        metric(&s, "seeother_admin_sessions"),
        Some(1),
        "the admin's is the only session kept: none for the visitors"
    );
}

#[test]
fn signed_in_sessions_are_capped_at_64_and_the_oldest_is_signed_out() {
    let (_dir, s) = start("cap");
    let first = Admin::sign_in(&s);
    let second = Admin::sign_in(&s);
    let rest: Vec<Admin> = (2..64).map(|_| Admin::sign_in(&s)).collect();
    assert_eq!(first.get("/-/admin/rules").status, 200, "64 are kept");
    let newest = Admin::sign_in(&s);
    assert_eq!(
        first.get("/-/admin/rules").status,
        303,
        "the 65th sign-in signed the oldest out"
    );
    assert_eq!(metric(&s, "seeother_admin_sessions"), Some(64));
    for a in [&second, &newest].into_iter().chain(&rest) {
        assert_eq!(a.get("/-/admin/rules").status, 200);
    }
    // Signing in again from a signed-in session ends that session.
    let r = newest.post(
        "/-/admin/sign-in",
        &[("csrf", &newest.csrf), ("token", TOKEN)],
    );
    assert_eq!(
        r.status, 403,
        "a signed-in page's token is not the sign-in form's"
    );
    let again = Admin::anonymous(&s);
    let r = s.request(
        "POST",
        "/-/admin/sign-in",
        &[
            ("Cookie", &format!("{}; {}", newest.cookie, again.cookie)),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        form(&[("csrf", &again.csrf), ("token", TOKEN)]).as_bytes(),
    );
    assert_eq!(r.status, 303);
    assert_eq!(
        newest.get("/-/admin/rules").status,
        303,
        "the old one ended"
    );
    assert_eq!(metric(&s, "seeother_admin_sessions"), Some(64));
}

#[test]
fn the_sign_in_form_needs_its_own_signed_cookie_and_the_same_token() {
    let (dir, s) = start("form-cookie");
    let page = s.get("/-/admin/sign-in");
    let line = page.header("set-cookie").unwrap();
    for attr in [
        "seeother_sign_in=",
        "Path=/-/admin/sign-in",
        "Max-Age=3600",
        "HttpOnly",
        "SameSite=Strict",
    ] {
        assert!(line.contains(attr), "{line}");
    }
    let a = Admin::anonymous(&s);
    let b = Admin::anonymous(&s);
    assert_ne!(a.csrf, b.csrf);
    for x in [&a, &b] {
        // Double submit: the form's token is the cookie's; no session before signing in.
        assert_eq!(x.cookie, format!("seeother_sign_in={}", x.csrf));
    }
    let post = |cookie: &str, csrf: &str| {
        let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
        if !cookie.is_empty() {
            headers.push(("Cookie", cookie));
        }
        s.request(
            "POST",
            "/-/admin/sign-in",
            &headers,
            form(&[("csrf", csrf), ("token", TOKEN)]).as_bytes(),
        )
    };
    let token = a.cookie.strip_prefix("seeother_sign_in=").unwrap();
    let mut flipped = token.to_owned().into_bytes();
    let last = flipped.len() - 1;
    flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
    let flipped = String::from_utf8(flipped).unwrap();
    let (issued, rest) = token.split_once('.').unwrap();
    let older = format!("{}.{rest}", issued.parse::<u64>().unwrap() - 1);
    let forged = format!("1.{}.{}", "0".repeat(32), "0".repeat(64));
    let attempts = [
        ("no cookie", String::new(), a.csrf.clone()),
        ("another form's token", a.cookie.clone(), b.csrf.clone()),
        ("no token", a.cookie.clone(), String::new()),
        (
            "a changed MAC",
            format!("seeother_sign_in={flipped}"),
            flipped.clone(),
        ),
        (
            "a changed time",
            format!("seeother_sign_in={older}"),
            older.clone(),
        ),
        (
            "a forged cookie",
            format!("seeother_sign_in={forged}"),
            forged.clone(),
        ),
        (
            "a session id as the cookie",
            format!("seeother_admin={}", "0".repeat(64)),
            a.csrf.clone(),
        ),
    ];
    for (what, cookie, csrf) in &attempts {
        let r = post(cookie, csrf);
        assert_eq!(r.status, 403, "{what}: {}", r.text());
        assert!(set_cookie(&r).is_none(), "{what}");
    }
    assert_eq!(metric(&s, "seeother_admin_sessions"), Some(0));
    // Loading the page again with a young cookie shows the same token (two tabs agree).
    let again = a.get("/-/admin/sign-in");
    assert_eq!(csrf_of(&again.text()).as_deref(), Some(a.csrf.as_str()));
    assert!(set_form_cookie(&again).is_none());
    // The cookie and the form's token together: signed in, the form's cookie cleared.
    let r = post(&a.cookie, &a.csrf);
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(
        r.headers.iter().any(|(n, v)| n == "set-cookie"
            && v.starts_with("seeother_sign_in=;")
            && v.contains("Max-Age=0")),
        "{:?}",
        r.headers
    );
    // The key lives in the store: a form shown before a restart is still accepted after it
    // (as it is by the other nodes of a fleet), signed by the same key.
    let (b_cookie, b_csrf) = (b.cookie.clone(), b.csrf.clone());
    let db = s.db.clone();
    drop((a, b));
    drop(s);
    let s = Server::start(&db, &[]);
    let r = s.request(
        "POST",
        "/-/admin/sign-in",
        &[
            ("Cookie", &b_cookie),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        form(&[("csrf", &b_csrf), ("token", TOKEN)]).as_bytes(),
    );
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(set_cookie(&r).is_some());
    drop(dir);
}

#[test]
fn wrong_tokens_are_limited_per_client_address_with_429_and_retry_after() {
    let (_dir, s) = start("throttle");
    let guesser = Ipv4Addr::new(127, 0, 0, 2);
    let other = Ipv4Addr::new(127, 0, 0, 1);
    // Ten wrong bearer tokens: 401 each.
    for i in 1..=10 {
        let r = api_from(&s, guesser, &format!("guess-{i:02}-0123456789abcdef"));
        assert_eq!(r.status, 401, "failure {i}: {}", r.text());
    }
    // The 11th request is refused before its token is looked at, the right token included.
    let r = api_from(&s, guesser, TOKEN);
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(r.header("retry-after"), Some("1"));
    let error = r.json()["error"].as_str().unwrap().to_owned();
    assert!(
        error.contains("wait 1 s") && error.contains("right token"),
        "{error}"
    );
    // The sign-in form counts against the same address's bucket.
    let r = sign_in_from(&s, guesser, TOKEN);
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(r.header("retry-after"), Some("1"));
    assert!(r.text().contains("Wait 1 second, then"), "{}", r.text());
    assert!(set_cookie(&r).is_none());
    // Another address is not affected, and has a bucket of its own.
    assert_eq!(api_from(&s, other, TOKEN).status, 200);
    assert_eq!(api_from(&s, other, "wrong-0123456789abcdef").status, 401);
    assert_eq!(api_from(&s, other, TOKEN).status, 200);
    // A request without any token is not a guess and takes nothing.
    let missing = Ipv4Addr::new(127, 0, 0, 5);
    for _ in 0..15 {
        let r = request_from(&s, missing, "GET", "/-/api/rules", &[], b"");
        assert_eq!(r.status, 401);
    }
    assert_eq!(api_from(&s, missing, TOKEN).status, 200);

    // Wrong tokens in the sign-in form, from a third address: 422 ten times, then 429, the
    // refusal made before the body is read.
    let form_guesser = Ipv4Addr::new(127, 0, 0, 3);
    for i in 1..=10 {
        let r = sign_in_from(&s, form_guesser, "not-the-token-0123456789");
        assert_eq!(r.status, 422, "failure {i}: {}", r.text());
        assert!(r.text().contains("After 10 wrong tokens"), "{}", r.text());
    }
    let r = sign_in_from(&s, form_guesser, TOKEN);
    assert_eq!(r.status, 429, "{}", r.text());
    let anon = Admin::anonymous(&s);
    let mut c = connect_from(form_guesser, s.addr);
    c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    write!(
        c,
        "POST /-/admin/sign-in HTTP/1.1\r\nHost: {}\r\nCookie: {}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 60000\r\n\r\n",
        s.addr, anon.cookie
    )
    .unwrap();
    let r = read_response(&mut BufReader::new(c)).expect("429 before the body is sent");
    assert_eq!(r.status, 429);
    // Meanwhile anyone else signs in.
    let r = sign_in_from(&s, Ipv4Addr::new(127, 0, 0, 4), TOKEN);
    assert_eq!(r.status, 303, "{}", r.text());

    assert_eq!(
        metric(&s, "seeother_auth_failures_total{via=\"api\"}"),
        Some(11)
    );
    assert_eq!(
        metric(&s, "seeother_auth_failures_total{via=\"sign-in\"}"),
        Some(10)
    );
    assert_eq!(
        metric(&s, "seeother_auth_throttled_total{via=\"api\"}"),
        Some(1)
    );
    assert_eq!(
        metric(&s, "seeother_auth_throttled_total{via=\"sign-in\"}"),
        Some(3)
    );
    assert_eq!(
        metric(&s, "seeother_requests_total{status=\"429\"}"),
        Some(4)
    );

    // Once the bucket has refilled by one (about a second), the right token works again, and
    // successes take nothing from the bucket. (Polling with the right token is safe: neither
    // a 429 nor a success counts as a failure.)
    assert!(
        eventually(Duration::from_secs(10), || api_from(&s, guesser, TOKEN)
            .status
            == 200),
        "the guesser's bucket refills"
    );
    for _ in 0..20 {
        assert_eq!(api_from(&s, guesser, TOKEN).status, 200);
    }
}

#[test]
fn an_admin_token_shorter_than_16_characters_is_refused_at_start() {
    let dir = TempDir::new("hardening-auth-short");
    let file = dir.file("token", "0123456789abcde\n");
    let cases: [(&str, Vec<&str>, Option<&str>); 2] = [
        (
            "in SEEOTHER_ADMIN_TOKEN is 8 characters",
            vec![],
            Some("hunter22"),
        ),
        (
            "is 15 characters",
            vec!["--admin-token-file", file.to_str().unwrap()],
            None,
        ),
    ];
    for (i, (says, args, env)) in cases.iter().enumerate() {
        let mut cmd = Command::new(BIN);
        cmd.arg("serve")
            .args(["--listen", "127.0.0.1:0", "--db"])
            .arg(dir.path().join(format!("s{i}.db")))
            .args(args)
            .env_remove("SEEOTHER_ADMIN_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(t) = env {
            cmd.env("SEEOTHER_ADMIN_TOKEN", t);
        }
        let mut child = cmd.spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(15);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        let status = status.unwrap_or_else(|| panic!("{says}: the server started; {stderr}"));
        assert!(!status.success(), "{says}: {stderr}");
        assert!(stderr.contains(says), "{stderr}");
        assert!(stderr.contains("at least 16"), "{stderr}");
        assert!(
            stderr.contains("head -c 32 /dev/urandom | base64"),
            "{stderr}"
        );
    }
}

#[test]
fn form_posts_that_cannot_be_valid_are_answered_before_their_body_is_read() {
    let (_dir, s) = start("before-body");
    // A rule to aim the forms at, and a session that has ended.
    let admin = Admin::sign_in(&s);
    let r = admin.submit("/-/admin/rules", &admin_support::rule_form(&[]));
    assert_eq!(r.status, 303);
    let ended = admin.cookie.clone();
    assert_eq!(admin.submit("/-/admin/sign-out", &[]).status, 303);
    let routes = [
        "/-/admin/rules",
        "/-/admin/rules/1",
        "/-/admin/rules/1/delete",
        "/-/admin/import",
        "/-/admin/sign-out",
        "/-/admin/sign-in",
    ];
    let cookies = [
        String::new(),
        format!("seeother_admin={}", "0".repeat(64)),
        ended,
        format!("seeother_sign_in=1.{}.{}", "0".repeat(32), "0".repeat(64)),
    ];
    for target in routes {
        for cookie in &cookies {
            let mut c = TcpStream::connect(s.addr).unwrap();
            // The point: the answer comes without the body; a server waiting for the 60,000
            // promised bytes would time this read out.
            c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            let mut head = format!(
                "POST {target} HTTP/1.1\r\nHost: {}\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 60000\r\n",
                s.addr
            );
            if !cookie.is_empty() {
                head.push_str(&format!("Cookie: {cookie}\r\n"));
            }
            head.push_str("\r\n");
            c.write_all(head.as_bytes()).unwrap();
            let r = read_response(&mut BufReader::new(c))
                .unwrap_or_else(|e| panic!("{target} with {cookie:?}: no answer ({e})"));
            assert_eq!(r.status, 403, "{target} with {cookie:?}: {}", r.text());
        }
    }
    assert_eq!(admin_support::rule_count(&s), 1, "nothing changed");
}
