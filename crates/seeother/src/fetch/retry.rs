//! `--retry N`: try again after a transient failure, as curl does: a timeout, or a final 408,
//! 429, 500, 502, 503 or 504. A refused connection is not transient (curl needs
//! `--retry-connrefused` for it), nor is any other failure; a one-shot body is never resent.

use std::time::Duration;

use http::{HeaderMap, StatusCode};
use seeother_client::{Body, Error, ErrorKind};

use super::{Options, request};

/// How one try ended.
pub enum Attempt<'a> {
    /// A final response, with its status and header fields.
    Answer(StatusCode, &'a HeaderMap),
    /// No final response.
    Failed(&'a Error),
}

/// The tries left, and the wait before the next one.
pub struct Retry {
    left: u32,
    fixed: Option<Duration>,
    /// curl's default: 1 s, doubled after each try.
    next: Duration,
    silent: bool,
}

/// The longest wait between tries, whatever a `Retry-After` asks (curl: 10 minutes).
const MAX_WAIT: Duration = Duration::from_secs(600);

impl Retry {
    /// The tries allowed by `--retry` for a request whose body is `replayable` (or not).
    pub fn new(args: &Options, replayable: bool) -> Self {
        Retry {
            left: if replayable { args.retry } else { 0 },
            fixed: args
                .retry_delay
                .and_then(|s| Duration::try_from_secs_f64(s).ok()),
            next: Duration::from_secs(1),
            silent: args.silent,
        }
    }

    /// Whether to try again after `attempt`, and after how long; says so on standard error.
    pub fn after(&mut self, attempt: Attempt<'_>) -> Option<Duration> {
        if self.left == 0 {
            return None;
        }
        let (why, asked) = match attempt {
            Attempt::Answer(status, headers) if transient_status(status) => (
                format!("the answer is {status}"),
                retry_after(status, headers),
            ),
            Attempt::Failed(e) if matches!(e.kind(), ErrorKind::Timeout(_)) => {
                ("a time limit ran out".to_owned(), None)
            }
            _ => return None,
        };
        let wait = asked.or(self.fixed).unwrap_or(self.next).min(MAX_WAIT);
        self.next = (self.next * 2).min(MAX_WAIT);
        self.left -= 1;
        if !self.silent {
            let left = match self.left {
                1 => "1 retry".to_owned(),
                n => format!("{n} retries"),
            };
            eprintln!(
                "seeother fetch: {why}: trying again in {:.3} s ({left} left)",
                wait.as_secs_f64(),
            );
        }
        Some(wait)
    }
}

/// Wait `delay`, then build the request again from the arguments (`None` if that now fails,
/// e.g. a `-d @FILE` gone).
pub fn again(
    args: &Options,
    runtime: &tokio::runtime::Runtime,
    delay: Duration,
) -> Option<http::Request<Body>> {
    runtime.block_on(async { tokio::time::sleep(delay).await });
    match request::prepare(args) {
        Ok(p) => Some(p.request),
        Err(message) => {
            eprintln!("seeother fetch: cannot try again: {message}");
            None
        }
    }
}

/// The statuses curl retries: RFC 9110 §15.5.9 (408), RFC 6585 §4 (429), §15.6.1, .3, .4, .5.
fn transient_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

/// `Retry-After` in seconds on a 429 or 503 (RFC 9110 §10.2.3; an HTTP-date is not used).
fn retry_after(status: StatusCode, headers: &HeaderMap) -> Option<Duration> {
    if !matches!(status.as_u16(), 429 | 503) {
        return None;
    }
    let secs: u64 = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs))
}
