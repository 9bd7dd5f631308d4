//! `--compressed`: gzip, deflate, br and zstd bodies, encoded by the usual tools, decoded as curl
//! decodes them; a decompression bomb is an error after `--max-filesize` decoded bytes, with
//! memory to match.

mod fetch_support;

use std::io::Write;
use std::process::{Command, Stdio};

use fetch_support::{Server, fetch, reply};

/// DATA through `program args` (gzip, zstd, brotli, or python3's zlib for deflate).
fn encode(program: &str, args: &[&str], data: &[u8]) -> Vec<u8> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program} is not installed ({e}): run scripts/test-all"));
    let mut stdin = child.stdin.take().unwrap();
    let data = data.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(out.status.success(), "{program} failed");
    out.stdout
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let script =
        "import sys, zlib; sys.stdout.buffer.write(zlib.compress(sys.stdin.buffer.read()))";
    encode("python3", &["-c", script], data)
}

#[test]
fn every_coding_decodes_to_what_curl_decodes() {
    let original: Vec<u8> = (0..200_000u32)
        .flat_map(|i| format!("line {i}\n").into_bytes())
        .collect();
    let bodies = vec![
        ("gzip", encode("gzip", &["-c"], &original)),
        ("deflate", deflate(&original)),
        ("br", encode("brotli", &["-c"], &original)),
        ("zstd", encode("zstd", &["-c", "-q"], &original)),
    ];
    for (coding, body) in bodies {
        assert!(body.len() < original.len() / 3, "{coding} compresses");
        let header = coding.to_owned();
        let body2 = body.clone();
        let server = Server::start(move |_| {
            reply(200, &[("content-encoding", header.as_str())], body2.clone())
        });
        let url = server.url("/text");
        let ours = fetch(&["-s", "--compressed", "-w", "%{size_download}", &url]);
        assert_eq!(
            ours.status.code(),
            Some(0),
            "{coding}: {}",
            String::from_utf8_lossy(&ours.stderr)
        );
        let theirs = Command::new("curl")
            .args(["-s", "--compressed", "-w", "%{size_download}", &url])
            .output()
            .unwrap();
        assert_eq!(ours.stdout.len(), theirs.stdout.len(), "{coding}");
        assert!(
            ours.stdout == theirs.stdout,
            "{coding}: not what curl decoded"
        );
        // The body, then the bytes received (coded), as curl counts them.
        assert!(ours.stdout.starts_with(&original));
        assert_eq!(
            String::from_utf8_lossy(&ours.stdout[original.len()..]),
            body.len().to_string()
        );
        // Both asked for the codings.
        let seen = server.seen();
        assert_eq!(
            seen[0].headers["accept-encoding"],
            "gzip, deflate, br, zstd"
        );
        for coding in ["gzip", "deflate", "br", "zstd"] {
            assert!(
                seen[1].headers["accept-encoding"].contains(coding),
                "curl asks for {coding}"
            );
        }
    }
}

#[test]
fn without_compressed_the_body_is_passed_on_as_it_came() {
    let body = encode("gzip", &["-c"], b"hello");
    let b = body.clone();
    let server = Server::start(move |_| reply(200, &[("content-encoding", "gzip")], b.clone()));
    let out = fetch(&["-s", &server.url("/")]);
    assert_eq!(out.stdout, body);
    assert!(!server.seen()[0].headers.contains_key("accept-encoding"));
}

#[test]
fn a_body_that_does_not_decode_is_exit_61_as_curl() {
    let server = Server::start(|_| reply(200, &[("content-encoding", "gzip")], "not gzip at all"));
    let url = server.url("/");
    let out = fetch(&["--compressed", &url]);
    assert_eq!(
        out.status.code(),
        Some(61),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not decode"));
    let curl = Command::new("curl")
        .args(["-s", "--compressed", "-o", "/dev/null", &url])
        .status()
        .unwrap();
    assert_eq!(curl.code(), Some(61));
}

#[test]
fn a_decompression_bomb_stops_at_the_limit_with_flat_memory() {
    // 2 GiB of zeros in a few dozen KiB of zstd.
    let bomb = Command::new("sh")
        .args(["-c", "head -c 2147483648 /dev/zero | zstd -c -q"])
        .output()
        .unwrap()
        .stdout;
    assert!(bomb.len() < 1 << 20, "{} bytes", bomb.len());
    let server = Server::start(move |_| reply(200, &[("content-encoding", "zstd")], bomb.clone()));
    let dir = std::env::temp_dir().join(format!("seeother-bomb-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("out");
    let mut child = Command::new(env!("CARGO_BIN_EXE_seeother"))
        .args([
            "fetch",
            "-s",
            "-S",
            "--compressed",
            "--max-filesize",
            "50000000",
            "-o",
        ])
        .arg(&file)
        .arg(server.url("/bomb"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (code, peak_kib) = peak_rss(&mut child);
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(code, 63, "{err}");
    assert!(
        err.contains("decoded response body larger than 50000000 bytes"),
        "{err}"
    );
    assert!(err.contains("decompression bomb"), "{err}");
    // What was decoded before the limit is kept, as any body cut off.
    let written = std::fs::metadata(&file).unwrap().len();
    assert!(written <= 50_000_000, "{written}");
    assert!(peak_kib < 64 << 10, "peak RSS {peak_kib} KiB");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The exit status and peak resident set (KiB) of a child (`wait4`'s `ru_maxrss`).
fn peak_rss(child: &mut std::process::Child) -> (i32, i64) {
    let pid = child.id() as libc::pid_t;
    let started = std::time::Instant::now();
    loop {
        let mut status = 0;
        // SAFETY: a plain syscall on our own child, with pointers to locals.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let got = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        assert!(got >= 0);
        if got == pid {
            assert!(libc::WIFEXITED(status));
            return (libc::WEXITSTATUS(status), usage.ru_maxrss);
        }
        if started.elapsed() > std::time::Duration::from_secs(60) {
            let _ = child.kill();
            panic!("the fetch ran for more than a minute");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}
