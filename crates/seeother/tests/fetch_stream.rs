//! `seeother fetch` writes the final body as it arrives: a body far larger than the memory the
//! process may use goes to `-o FILE` and to standard output byte for byte, and a body that
//! breaks off ends with `body_incomplete` (exit 18). The server generates the body as it sends
//! it, so neither side holds it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The body of the big tests.
const BIG: u64 = 512 << 20;
/// One block of the generated body.
const BLOCK: usize = 1 << 20;
/// Far below the body size: the process may hold a few buffers, never the body.
const RSS_LIMIT_KB: i64 = 64 << 10;

/// Block `i` of the body: pseudo-random bytes, the block's number in its first 8.
fn block(i: u64) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut b = Vec::with_capacity(BLOCK);
    while b.len() < BLOCK {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        b.extend_from_slice(&x.to_le_bytes());
    }
    b[..8].copy_from_slice(&i.to_le_bytes());
    b
}

/// How the server sends its one response.
#[derive(Clone, Copy)]
enum Send {
    /// `Content-Length: announced`, then `sent` bytes of the body, then close.
    Length { announced: u64, sent: u64 },
    /// Chunked, `sent` bytes in 1 MiB chunks, then close without the last chunk.
    ChunkedCut { sent: u64 },
    /// Chunked, `sent` bytes in 1 MiB chunks and the last chunk.
    Chunked { sent: u64 },
}

/// A one-connection server on a loopback thread.
fn serve(send: Send) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
        }
        let mut out = stream;
        let base = block(0);
        let write_body = |out: &mut std::net::TcpStream, sent: u64, chunked: bool| {
            let mut i = 0u64;
            while i * (BLOCK as u64) < sent {
                let mut b = base.clone();
                b[..8].copy_from_slice(&i.to_le_bytes());
                let n = (sent - i * BLOCK as u64).min(BLOCK as u64) as usize;
                if chunked && out.write_all(format!("{n:x}\r\n").as_bytes()).is_err() {
                    return;
                }
                if out.write_all(&b[..n]).is_err() {
                    return;
                }
                if chunked && out.write_all(b"\r\n").is_err() {
                    return;
                }
                i += 1;
            }
        };
        match send {
            Send::Length { announced, sent } => {
                let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {announced}\r\n\r\n");
                out.write_all(head.as_bytes()).unwrap();
                write_body(&mut out, sent, false);
            }
            Send::ChunkedCut { sent } | Send::Chunked { sent } => {
                let head = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
                out.write_all(head.as_bytes()).unwrap();
                write_body(&mut out, sent, true);
                if matches!(send, Send::Chunked { .. }) {
                    let _ = out.write_all(b"0\r\n\r\n");
                }
            }
        }
        // Dropping the stream closes the connection.
    });
    addr
}

fn spawn(args: &[&str], stdout: Stdio) -> Child {
    Command::new(env!("CARGO_BIN_EXE_seeother"))
        .arg("fetch")
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Wait for the child (at most 60 s) and return its exit code and its peak resident set size
/// in KiB, from the kernel's accounting of the child (`wait4`'s `ru_maxrss`).
fn wait_with_peak_rss(child: &mut Child) -> (i32, i64) {
    let pid = child.id() as libc::pid_t;
    let started = Instant::now();
    loop {
        let mut status = 0;
        // SAFETY: plain system call on our own child with valid out-pointers.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let got = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        assert!(got >= 0, "wait4: {}", std::io::Error::last_os_error());
        if got == pid {
            assert!(libc::WIFEXITED(status), "seeother died: status {status}");
            return (libc::WEXITSTATUS(status), usage.ru_maxrss);
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("seeother fetch ran for more than 60 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Compare a stream with the generated body: exactly `len` bytes, each block as generated.
fn check_body(mut body: impl Read, len: u64) {
    let base = block(0);
    let mut buf = vec![0; BLOCK];
    let mut at = 0u64;
    loop {
        let n = body.read(&mut buf[..]).unwrap();
        if n == 0 {
            break;
        }
        // Blocks may arrive split; compare byte ranges against the block they fall in.
        let mut done = 0;
        while done < n {
            let i = at / BLOCK as u64;
            let offset = (at % BLOCK as u64) as usize;
            let take = (BLOCK - offset).min(n - done);
            let mut expected = base[offset..offset + take].to_vec();
            for (k, byte) in i.to_le_bytes().iter().enumerate() {
                if k >= offset && k < offset + take {
                    expected[k - offset] = *byte;
                }
            }
            assert!(
                buf[done..done + take] == expected[..],
                "body differs in block {i} at offset {offset}"
            );
            done += take;
            at += take as u64;
        }
    }
    assert_eq!(at, len, "body length");
}

fn stderr_of(child: &mut Child) -> String {
    let mut s = String::new();
    child.stderr.take().unwrap().read_to_string(&mut s).unwrap();
    s
}

fn temp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("seeother-stream-{}-{name}", std::process::id()))
}

#[test]
fn a_large_body_goes_to_the_output_file_without_being_held_in_memory() {
    let addr = serve(Send::Length {
        announced: BIG,
        sent: BIG,
    });
    let path = temp("big.bin");
    let url = format!("http://{addr}/big");
    let mut child = spawn(&["-sS", "-o", path.to_str().unwrap(), &url], Stdio::null());
    let (code, peak_kb) = wait_with_peak_rss(&mut child);
    let err = stderr_of(&mut child);
    assert_eq!(code, 0, "{err}");
    eprintln!("{} MiB body to -o: peak RSS {} KiB", BIG >> 20, peak_kb);
    assert!(
        peak_kb < RSS_LIMIT_KB,
        "peak RSS {peak_kb} KiB for a {} MiB body",
        BIG >> 20
    );
    check_body(std::fs::File::open(&path).unwrap(), BIG);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn a_large_body_goes_to_standard_output_as_it_arrives() {
    let addr = serve(Send::Length {
        announced: BIG,
        sent: BIG,
    });
    let url = format!("http://{addr}/big");
    let mut child = spawn(&["-sS", &url], Stdio::piped());
    let stdout = child.stdout.take().unwrap();
    // The pipe is read as it fills: the process could not finish if it held the body back.
    let reader = std::thread::spawn(move || check_body(stdout, BIG));
    let (code, peak_kb) = wait_with_peak_rss(&mut child);
    let err = stderr_of(&mut child);
    reader.join().unwrap();
    assert_eq!(code, 0, "{err}");
    eprintln!("{} MiB body to stdout: peak RSS {} KiB", BIG >> 20, peak_kb);
    assert!(peak_kb < RSS_LIMIT_KB, "peak RSS {peak_kb} KiB");
}

#[test]
fn a_body_that_breaks_off_is_body_incomplete_and_keeps_what_came() {
    let announced = 8 << 20;
    let sent = 3 << 20;
    let addr = serve(Send::Length { announced, sent });
    let path = temp("cut.bin");
    let url = format!("http://{addr}/cut");
    let mut child = spawn(&["-sS", "-o", path.to_str().unwrap(), &url], Stdio::null());
    let (code, _) = wait_with_peak_rss(&mut child);
    let err = stderr_of(&mut child);
    assert_eq!(code, 18, "{err}");
    assert!(
        err.contains(&format!("broke off after {sent} of {announced} bytes")),
        "{err}"
    );
    assert!(err.contains("closed or reset"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    check_body(std::fs::File::open(&path).unwrap(), sent);
    std::fs::remove_file(&path).unwrap();

    // Chunked, cut before the last chunk: the same, without a length announced.
    let addr = serve(Send::ChunkedCut { sent });
    let url = format!("http://{addr}/cut");
    let mut child = spawn(&["-sS", &url], Stdio::piped());
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || check_body(stdout, sent));
    let (code, _) = wait_with_peak_rss(&mut child);
    let err = stderr_of(&mut child);
    reader.join().unwrap();
    assert_eq!(code, 18, "{err}");
    assert!(
        err.contains(&format!("broke off after {sent} bytes")),
        "{err}"
    );
}

#[test]
fn max_filesize_still_applies_to_a_streamed_body() {
    let addr = serve(Send::Length {
        announced: 4 << 20,
        sent: 4 << 20,
    });
    let path = temp("limit.bin");
    let url = format!("http://{addr}/big");
    let out = Command::new(env!("CARGO_BIN_EXE_seeother"))
        .args(["fetch", "-sS", "--max-filesize", "1000000", "-o"])
        .arg(&path)
        .arg(&url)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(63), "{err}");
    assert!(err.contains("larger than 1000000 bytes"), "{err}");
    // The announced length was over the limit: the file was not even created.
    assert!(!path.exists());

    // Without a length announced, the bytes are counted: the fetch stops at the limit.
    let addr = serve(Send::Chunked { sent: 4 << 20 });
    let url = format!("http://{addr}/big");
    let out = Command::new(env!("CARGO_BIN_EXE_seeother"))
        .args(["fetch", "-sS", "--max-filesize", "1000000", "-o"])
        .arg(&path)
        .arg(&url)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(63), "{err}");
    let written = std::fs::metadata(&path).map_or(0, |m| m.len());
    assert!(written <= 1_000_000, "{written} bytes written");
    let _ = std::fs::remove_file(&path);
}
