//! Human output: the hop chain on standard error, the final body on standard output.

use std::io::{self, IsTerminal, Write};
use std::time::Duration;

use seeother_client::{Client, CookieJar, Error, HopRecord, StreamingResponse, redact};

use super::request::Prepared;
use super::retry::{self, Attempt, Retry};
use super::write_out::Outcome;
use super::{Options, exit, verbose};

/// Fetch, print the chain on standard error, and write the final body to its output as it
/// arrives (never held whole in memory). `--retry` tries again before any body is written.
pub fn fetch(
    args: &Options,
    runtime: &tokio::runtime::Runtime,
    client: &Client,
    prepared: Prepared,
    jar: Option<&CookieJar>,
) -> Outcome {
    let mut retry = Retry::new(args, prepared.request.body().is_replayable());
    let mut request = prepared.request;
    let result = loop {
        let result = runtime.block_on(async {
            match jar {
                Some(jar) => client.send_streaming_with_jar(request, jar).await,
                None => client.send_streaming(request).await,
            }
        });
        print_hops(args, &result);
        let attempt = match &result {
            Ok(r) => Attempt::Answer(r.status, &r.headers),
            Err(e) => Attempt::Failed(e),
        };
        let Some(delay) = retry.after(attempt) else {
            break result;
        };
        // The answer to be retried is dropped with its body unread.
        drop(result);
        match retry::again(args, runtime, delay) {
            Some(next) => request = next,
            None => return Outcome::of_failure(exit::USAGE, &prepared.url),
        }
    };
    let mut response = match result {
        Ok(r) => r,
        Err(e) => {
            print_error(args, &e);
            return Outcome::of_error(exit::code(&e), &prepared.url, &e);
        }
    };
    let code = match runtime.block_on(write_response(args, &mut response)) {
        Ok(()) => 0,
        Err(Failed::Fetch(e)) => {
            print_error(args, &e);
            exit::code(&e)
        }
        Err(Failed::Output(what, e)) => {
            if e.kind() != io::ErrorKind::BrokenPipe {
                eprintln!("seeother fetch: cannot write {what}: {e}");
            }
            exit::WRITE
        }
    };
    let received = response.body.received();
    Outcome::of_response(code, response.status, &response.history, received)
}

/// The hop chain on standard error: one line per hop, the header fields with `-v`, nothing
/// with `-s`.
fn print_hops(args: &Options, result: &Result<StreamingResponse, Error>) {
    if args.silent {
        return;
    }
    let hops: &[HopRecord] = match result {
        Ok(r) => r.hops(),
        Err(e) => e.history().map_or(&[], |h| &h.hops),
    };
    if args.verbose {
        return verbose::print(hops);
    }
    let colour = io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let mut err = io::stderr().lock();
    for hop in hops {
        // Standard error gone is no reason to stop the download.
        let _ = writeln!(err, "{}", hop_line(hop, colour));
    }
}

/// Why the final response did not make it to its output.
enum Failed {
    /// Reading the body failed (it broke off, ran out of time, grew too large).
    Fetch(Error),
    /// Writing failed: what was being written, and why.
    Output(String, io::Error),
}

/// The head (with `-i` / `-I`) and the body, chunk by chunk, to `-o FILE` or standard output.
/// What was received before a failure stays written.
async fn write_response(args: &Options, response: &mut StreamingResponse) -> Result<(), Failed> {
    let (sink, what) = match &args.output {
        Some(path) => (LazyFile::Unopened(path), path.display().to_string()),
        None => (
            LazyFile::Stdout(io::stdout().lock()),
            "the output".to_owned(),
        ),
    };
    let output = |e| Failed::Output(what.clone(), e);
    let mut out = io::BufWriter::with_capacity(64 << 10, sink);
    if args.include || args.head {
        write_head(&mut out, response).map_err(output)?;
    }
    if !args.head {
        loop {
            match response.body.chunk().await {
                Ok(Some(chunk)) => out.write_all(&chunk).map_err(output)?,
                Ok(None) => break,
                Err(e) => {
                    // Keep what came, as curl does; the error says how much that is.
                    let _ = out.flush();
                    return Err(Failed::Fetch(e));
                }
            }
        }
    }
    out.flush().map_err(output)?;
    // An empty body still makes an (empty) file.
    out.get_mut().file().map(drop).map_err(output)
}

/// `-o FILE`, created on the first byte written: a fetch that fails before its body (a
/// `Content-Length` over `--max-filesize`, say) leaves an existing file as it was.
/// Or standard output.
enum LazyFile<'a> {
    Unopened(&'a std::path::Path),
    Open(std::fs::File),
    Stdout(io::StdoutLock<'static>),
}

impl LazyFile<'_> {
    /// The output, the file created if it was not yet.
    fn file(&mut self) -> io::Result<&mut dyn Write> {
        if let LazyFile::Unopened(path) = self {
            *self = LazyFile::Open(std::fs::File::create(path)?);
        }
        match self {
            LazyFile::Open(f) => Ok(f),
            LazyFile::Stdout(out) => Ok(out),
            LazyFile::Unopened(_) => unreachable!("opened above"),
        }
    }
}

impl Write for LazyFile<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file()?.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            LazyFile::Open(f) => f.flush(),
            LazyFile::Stdout(out) => out.flush(),
            LazyFile::Unopened(_) => Ok(()),
        }
    }
}

/// The one-line explanation of an error, on standard error (not with `-s` alone, as curl).
pub fn print_error(args: &Options, e: &Error) {
    if args.silent && !args.show_error {
        return;
    }
    // One line, whatever the messages underneath hold.
    let message = e.to_string().replace(['\r', '\n'], " ");
    eprintln!("seeother fetch: {message}");
}

/// The status line and header fields, as curl's `-i` prints them.
fn write_head(out: &mut impl Write, response: &StreamingResponse) -> io::Result<()> {
    let version = match response.version {
        http::Version::HTTP_2 => "HTTP/2",
        http::Version::HTTP_10 => "HTTP/1.0",
        _ => "HTTP/1.1",
    };
    let reason = response.status.canonical_reason().unwrap_or("");
    write!(out, "{version} {} {reason}\r\n", response.status.as_u16())?;
    for (name, value) in &response.headers {
        out.write_all(name.as_str().as_bytes())?;
        out.write_all(b": ")?;
        out.write_all(value.as_bytes())?;
        out.write_all(b"\r\n")?;
    }
    out.write_all(b"\r\n")
}

/// `POST http://host/login  303 See Other → /home  (1.2 ms, new connection)`
fn hop_line(hop: &HopRecord, colour: bool) -> String {
    let paint = |code: &str, text: &str| {
        if colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    };
    let status_colour = match hop.status.as_u16() {
        200..=299 => "32",
        300..=399 => "36",
        _ => "31",
    };
    let status = format!(
        "{} {}",
        hop.status.as_u16(),
        hop.status.canonical_reason().unwrap_or("")
    );
    // Passwords masked and a huge Location cut: the line is for a person.
    let location = hop
        .location
        .as_ref()
        .map(|l| {
            format!(
                " → {}",
                redact::message(&String::from_utf8_lossy(l.as_bytes()))
            )
        })
        .unwrap_or_default();
    let connection = match hop.reused {
        Some(true) => ", reused connection",
        Some(false) => ", new connection",
        None => "",
    };
    format!(
        "{} {}  {}{}  {}",
        paint("1", hop.method.as_str()),
        redact::message(hop.url.as_str()),
        paint(status_colour, status.trim_end()),
        location,
        paint("2", &format!("({}{connection})", millis(hop.elapsed))),
    )
}

fn millis(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}
