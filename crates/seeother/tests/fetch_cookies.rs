//! `seeother fetch` and the cookie jar against a hostile server: cookies for public suffixes,
//! from `Set-Cookie` or smuggled in through a `-b` cookie file, are neither sent to other sites
//! nor saved with `-c`. The server is on 127.0.0.1; `--resolve` maps the host names to it.

mod fetch_support;

use fetch_support::{Server, fetch, reply};

#[test]
fn public_suffix_cookies_from_servers_and_cookie_files_go_nowhere() {
    let server = Server::start(|req| {
        let port = req.headers["host"].rsplit(':').next().unwrap().to_owned();
        match req.target.as_str() {
            "/set" => reply(
                303,
                &[
                    ("set-cookie", "com=1; Domain=com; Path=/"),
                    ("set-cookie", "uk=1; Domain=.co.uk; Path=/"),
                    ("set-cookie", "site=1; Domain=example.com; Path=/"),
                    ("location", &format!("http://b.other.com:{port}/check")),
                ],
                "",
            ),
            _ => reply(200, &[], "ok"),
        }
    });
    let port = server.addr.port();
    let dir = std::env::temp_dir().join(format!("seeother-psl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file_in = dir.join("in.txt");
    std::fs::write(
        &file_in,
        "# Netscape HTTP Cookie File\n\
         .com\tTRUE\t/\tFALSE\t0\tsmuggled\t1\n\
         .co.uk\tTRUE\t/\tFALSE\t0\tsmuggled_uk\t1\n\
         .example.com\tTRUE\t/\tFALSE\t0\tkept\t1\n",
    )
    .unwrap();
    let file_out = dir.join("out.txt");
    let resolve = |h: &str| format!("{h}:{port}:127.0.0.1");
    let out = fetch(&[
        "-s",
        "--resolve",
        &resolve("a.example.com"),
        "--resolve",
        &resolve("b.other.com"),
        "-b",
        file_in.to_str().unwrap(),
        "-c",
        file_out.to_str().unwrap(),
        &format!("http://a.example.com:{port}/set"),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen = server.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0].headers["host"], format!("a.example.com:{port}"));
    assert_eq!(
        seen[0].headers.get("cookie").map(String::as_str),
        Some("kept=1")
    );
    assert_eq!(seen[1].headers["host"], format!("b.other.com:{port}"));
    assert_eq!(seen[1].headers.get("cookie"), None, "{:?}", seen[1]);

    let saved = std::fs::read_to_string(&file_out).unwrap();
    let mut lines: Vec<&str> = saved
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            ".example.com\tTRUE\t/\tFALSE\t0\tkept\t1",
            ".example.com\tTRUE\t/\tFALSE\t0\tsite\t1"
        ],
        "{saved}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn resolve_is_checked() {
    let out = fetch(&["--resolve", "example.com:80", "http://example.com/"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("HOST:PORT:ADDR"), "{err}");
}
