//! Human output: the hop chain on standard error, the final body on standard output.

use std::io::{self, IsTerminal, Write};
use std::time::Duration;

use seeother_client::{Error, HopRecord, Response};

use super::Options;

/// Print the chain, then the body (or the error), as the arguments ask.
pub fn print(args: &Options, result: &Result<Response, Error>) -> io::Result<()> {
    let hops: &[HopRecord] = match result {
        Ok(r) => r.hops(),
        Err(e) => e.history().map_or(&[], |h| &h.hops),
    };
    if !args.silent {
        let colour = io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        let mut err = io::stderr().lock();
        for hop in hops {
            writeln!(err, "{}", hop_line(hop, colour))?;
        }
    }
    match result {
        Err(e) => {
            print_error(e);
            Ok(())
        }
        Ok(response) => match &args.output {
            Some(path) => {
                let mut file = io::BufWriter::new(std::fs::File::create(path)?);
                write_response(&mut file, args, response)?;
                file.flush()
            }
            None => {
                let mut out = io::stdout().lock();
                write_response(&mut out, args, response)?;
                out.flush()
            }
        },
    }
}

/// The one-line explanation of an error, on standard error.
pub fn print_error(e: &Error) {
    // One line, whatever the messages underneath hold.
    let message = e.to_string().replace(['\r', '\n'], " ");
    eprintln!("seeother fetch: {message}");
}

fn write_response(out: &mut impl Write, args: &Options, response: &Response) -> io::Result<()> {
    if args.include || args.head {
        write_head(out, response)?;
    }
    if !args.head {
        out.write_all(&response.body)?;
    }
    Ok(())
}

/// The status line and header fields, as curl's `-i` prints them.
fn write_head(out: &mut impl Write, response: &Response) -> io::Result<()> {
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
    let location = hop
        .location
        .as_ref()
        .map(|l| format!(" → {}", String::from_utf8_lossy(l.as_bytes())))
        .unwrap_or_default();
    let connection = match hop.reused {
        Some(true) => ", reused connection",
        Some(false) => ", new connection",
        None => "",
    };
    format!(
        "{} {}  {}{}  {}",
        paint("1", hop.method.as_str()),
        hop.url,
        paint(status_colour, status.trim_end()),
        location,
        paint("2", &format!("({}{connection})", millis(hop.elapsed))),
    )
}

fn millis(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}
