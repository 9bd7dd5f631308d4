//! `--json`: one document on standard output, whatever happened. Its keys are relied on by
//! other tools; they change only with a new major version.

use std::io::{self, Write};

use base64::Engine;
use http::HeaderMap;
use seeother_client::{Error, HopRecord, Response, redact};
use serde::Serialize;
use url::Url;

#[derive(Serialize)]
struct Document {
    url: String,
    final_url: String,
    status: Option<u16>,
    headers: Vec<[String; 2]>,
    body: Option<String>,
    body_base64: Option<String>,
    hops: Vec<Hop>,
    error: Option<ErrorDoc>,
}

#[derive(Serialize)]
struct Hop {
    method: String,
    url: String,
    status: u16,
    location: Option<String>,
    request_headers: Vec<[String; 2]>,
    body_sent: u64,
    reused: bool,
    elapsed_ms: f64,
}

#[derive(Serialize)]
struct ErrorDoc {
    kind: &'static str,
    message: String,
}

/// Print the document for a fetch of `url`.
pub fn print(url: &Url, result: &Result<Response, Error>) -> io::Result<()> {
    let document = document(url, result);
    let mut out = io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &document)?;
    out.write_all(b"\n")?;
    out.flush()
}

fn document(url: &Url, result: &Result<Response, Error>) -> Document {
    match result {
        Ok(r) => {
            let (body, body_base64) = match std::str::from_utf8(&r.body) {
                Ok(text) => (Some(text.to_owned()), None),
                Err(_) => (
                    None,
                    Some(base64::engine::general_purpose::STANDARD.encode(&r.body)),
                ),
            };
            Document {
                url: redact::url(url).into_owned(),
                final_url: redact::url(r.final_url()).into_owned(),
                status: Some(r.status.as_u16()),
                headers: pairs(&r.headers),
                body,
                body_base64,
                hops: r.hops().iter().map(hop).collect(),
                error: None,
            }
        }
        Err(e) => {
            let history = e.history();
            let final_url = history
                .map(|h| &h.final_url)
                .or_else(|| e.url())
                .unwrap_or(url);
            Document {
                url: redact::url(url).into_owned(),
                final_url: redact::url(final_url).into_owned(),
                status: None,
                headers: Vec::new(),
                body: None,
                body_base64: None,
                hops: history.map_or_else(Vec::new, |h| h.hops.iter().map(hop).collect()),
                error: Some(ErrorDoc {
                    kind: e.kind_name(),
                    message: e.to_string(),
                }),
            }
        }
    }
}

fn hop(h: &HopRecord) -> Hop {
    Hop {
        method: h.method.to_string(),
        url: redact::url(&h.url).into_owned(),
        status: h.status.as_u16(),
        // Whole (this is for programs), but without a password.
        location: h
            .location
            .as_ref()
            .map(|l| redact::userinfo(&String::from_utf8_lossy(l.as_bytes())).into_owned()),
        request_headers: h
            .request_headers
            .iter()
            .map(|(n, v)| [n.as_str().to_owned(), redact::header(n, v)])
            .collect(),
        body_sent: h.body_sent,
        reused: h.reused.unwrap_or(false),
        elapsed_ms: (h.elapsed.as_secs_f64() * 1_000_000.0).round() / 1000.0,
    }
}

/// Header fields as `[name, value]` pairs, names lower-case (as `http` keeps them).
fn pairs(headers: &HeaderMap) -> Vec<[String; 2]> {
    headers
        .iter()
        .map(|(n, v)| {
            [
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            ]
        })
        .collect()
}
