//! `-v`: each hop's request and response header fields on standard error, as curl prints them
//! (`> ` sent, `< ` received), numbered. Credentials are masked, unlike curl.

use std::io::{self, Write};

use seeother_client::{HopRecord, redact};

/// Print the hops.
pub fn print(hops: &[HopRecord]) {
    let mut err = io::stderr().lock();
    for (i, hop) in hops.iter().enumerate() {
        // Standard error gone is no reason to stop the download.
        let _ = write_hop(&mut err, i + 1, hop);
    }
}

fn write_hop(out: &mut impl Write, number: usize, hop: &HopRecord) -> io::Result<()> {
    let connection = match (hop.reused, hop.connection, hop.connect) {
        (Some(true), Some(id), _) => format!("reusing connection #{id}"),
        (Some(false), Some(id), Some(took)) => format!(
            "new connection #{id}, connected in {:.2} ms",
            took.as_secs_f64() * 1000.0
        ),
        (Some(false), Some(id), None) => format!("new connection #{id}"),
        _ => "connection not known".to_owned(),
    };
    writeln!(
        out,
        "* hop {number}: {} {} ({connection})",
        hop.method,
        redact::message(hop.url.as_str())
    )?;
    let version = version(hop.version);
    let target = match hop.url.query() {
        Some(q) => format!("{}?{q}", hop.url.path()),
        None => hop.url.path().to_owned(),
    };
    writeln!(out, "> {} {target} {version}", hop.method)?;
    for (name, value) in &hop.request_headers {
        writeln!(out, "> {}: {}", name, redact::header(name, value))?;
    }
    writeln!(out, ">")?;
    let reason = hop.status.canonical_reason().unwrap_or("");
    writeln!(out, "< {version} {} {reason}", hop.status.as_u16())?;
    for (name, value) in &hop.response_headers {
        // A hostile value cannot move the cursor or fake a line.
        let text: String = String::from_utf8_lossy(value.as_bytes())
            .chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect();
        writeln!(out, "< {name}: {}", redact::message(&text))?;
    }
    writeln!(out, "<")
}

fn version(v: http::Version) -> &'static str {
    match v {
        http::Version::HTTP_2 => "HTTP/2",
        http::Version::HTTP_10 => "HTTP/1.0",
        _ => "HTTP/1.1",
    }
}
