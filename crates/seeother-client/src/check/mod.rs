//! [`Checker`]: link health for many targets, politely.
//!
//! Each [`Target`] is fetched with GET (with its `Accept`) by a [`Client`] and its chain judged
//! by the core ([`seeother_core::check`]). Every request, redirects included, waits for a
//! place: at most [`Options::per_host`] at once to a host, their starts
//! [`Options::delay`] apart, at most [`Options::max_requests`] in all. A `429` (or a `503`
//! with `Retry-After`) pauses its host for the time asked, up to
//! [`Options::max_retry_wait`], and the target is tried again.

mod hosts;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::header::ACCEPT;
use http::{HeaderValue, StatusCode};
use seeother_core::check::{self as verdict, State};
use seeother_core::follow::Policy;
use tokio::time::Instant;
use url::Url;

use crate::client::{Client, ClientBuilder};
use crate::error::{Error, ErrorKind};
use crate::history::HopRecord;

pub(crate) use hosts::{Hosts, Permit};

/// One URL to check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The URL.
    pub url: Url,
    /// The `Accept` to send (a content-negotiation variant's media type); `*/*` when `None`.
    pub accept: Option<HeaderValue>,
}

/// How a [`Checker`] goes about it.
#[derive(Clone, Debug)]
pub struct Options {
    /// Requests at once to one host (by name or address, any port). Default 2.
    pub per_host: usize,
    /// Time between the starts of two requests to one host. Default 0.
    pub delay: Duration,
    /// Requests at once in all. Default 64.
    pub max_requests: usize,
    /// Time allowed for each request: connecting, the answer's head and its body. Default 20 s.
    pub timeout: Duration,
    /// Redirects followed before a chain is [`State::RedirectLoop`]. Default 10.
    pub max_redirects: u32,
    /// Tries again after a rate-limited answer. Default 2.
    pub retries: u32,
    /// The longest `Retry-After` waited for; a host asking for more is not tried again.
    /// Default 60 s.
    pub max_retry_wait: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            per_host: 2,
            delay: Duration::ZERO,
            max_requests: 64,
            timeout: Duration::from_secs(20),
            max_redirects: 10,
            retries: 2,
            max_retry_wait: Duration::from_secs(60),
        }
    }
}

/// One request of a checked chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hop {
    /// The URL requested.
    pub url: Url,
    /// The status it got.
    pub status: StatusCode,
}

/// How a target fared.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The verdict.
    pub state: State,
    /// The eventual answer's status, or the last one received before the chain broke off.
    pub status: Option<StatusCode>,
    /// For [`State::PermanentRedirect`], where the permanent redirects lead: the link could
    /// point there.
    pub moved_to: Option<Url>,
    /// Every request of the last try, in order.
    pub hops: Vec<Hop>,
    /// What went wrong, in words, when something did.
    pub error: Option<String>,
    /// Tries made (more than 1 after a rate-limited answer).
    pub tries: u32,
    /// Time from the first try to the verdict, waits included.
    pub elapsed: Duration,
}

/// Checks targets with a [`Client`] under per-host limits. Cheap to clone: clones share the
/// client and the limits.
#[derive(Clone, Debug)]
pub struct Checker {
    client: Client,
    hosts: Arc<Hosts>,
    options: Arc<Options>,
}

/// The most of a final body read, so that its connection can be used again.
const BODY_READ: usize = 64 << 10;

impl Checker {
    /// A checker whose client is `builder`'s, with the redirect limit and timeouts of
    /// `options`.
    pub fn new(builder: ClientBuilder, options: Options) -> Result<Self, Error> {
        let hosts = Arc::new(Hosts::new(
            options.per_host,
            options.delay,
            options.max_requests,
        ));
        let policy = Policy {
            max_redirects: options.max_redirects,
            ..Policy::default()
        };
        let client = builder
            .policy(policy)
            .follow_redirects(true)
            .connect_timeout(Some(options.timeout.min(Duration::from_secs(10))))
            .hop_timeout(Some(options.timeout))
            // Waiting for a place is no part of a request's time: each request has its own.
            .chain_timeout(None)
            .gate(hosts.clone())
            .build()?;
        Ok(Self {
            client,
            hosts,
            options: Arc::new(options),
        })
    }

    /// The options checked under.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Check one target.
    pub async fn check(&self, target: &Target) -> Outcome {
        let started = Instant::now();
        let mut backoff = Duration::from_secs(1);
        let mut tries = 0;
        loop {
            tries += 1;
            let mut request = http::Request::get(target.url.as_str());
            if let Some(accept) = &target.accept {
                request = request.header(ACCEPT, accept.clone());
            }
            let request = match request.extension(target.url.clone()).body(()) {
                Ok(r) => r,
                Err(e) => {
                    return Outcome {
                        state: State::Invalid,
                        status: None,
                        moved_to: None,
                        hops: Vec::new(),
                        error: Some(format!("{} cannot be requested: {e}", target.url)),
                        tries,
                        elapsed: started.elapsed(),
                    };
                }
            };
            let mut response = match self.client.send_streaming(request).await {
                Ok(r) => r,
                Err(e) => return failed(&e, tries, started),
            };
            let mut note = None;
            if verdict::is_rate_limited(response.status, &response.headers) {
                let asked = verdict::retry_after(&response.headers, SystemTime::now());
                let wait = asked.unwrap_or(backoff);
                if wait > self.options.max_retry_wait {
                    note = Some(format!(
                        "rate-limited: the server asks to wait {} s, more than the {} s allowed",
                        wait.as_secs(),
                        self.options.max_retry_wait.as_secs()
                    ));
                } else if tries <= self.options.retries {
                    backoff *= 2;
                    self.hosts
                        .pause(response.final_url(), Instant::now() + wait);
                    continue;
                } else {
                    note = Some(format!("rate-limited after {tries} tries"));
                }
            }
            // Read a little of the body so that the connection can serve the next request;
            // the status has decided already, so a failure here changes nothing.
            let mut read = 0;
            while read < BODY_READ {
                match response.body.chunk().await {
                    Ok(Some(chunk)) => read += chunk.len(),
                    _ => break,
                }
            }
            return answered(response.hops(), note, tries, started);
        }
    }

    /// Check every target, `per_host` and `max_requests` at a time; each outcome comes with
    /// its target's position as it is known. Must be called within a Tokio runtime.
    pub fn check_all(
        &self,
        targets: impl IntoIterator<Item = Target>,
    ) -> tokio::sync::mpsc::UnboundedReceiver<(usize, Outcome)> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        for (i, target) in targets.into_iter().enumerate() {
            let (checker, tx) = (self.clone(), tx.clone());
            tokio::spawn(async move {
                let outcome = checker.check(&target).await;
                let _ = tx.send((i, outcome));
            });
        }
        rx
    }
}

fn hops(records: &[HopRecord]) -> Vec<Hop> {
    records
        .iter()
        .map(|h| Hop {
            url: h.url.clone(),
            status: h.status,
        })
        .collect()
}

/// The outcome of a chain that ended in an answer.
fn answered(records: &[HopRecord], note: Option<String>, tries: u32, started: Instant) -> Outcome {
    let statuses: Vec<StatusCode> = records.iter().map(|h| h.status).collect();
    let v = verdict::classify(&statuses);
    let moved_to = (v.state == State::PermanentRedirect)
        .then(|| records.get(v.moved).map(|h| h.url.clone()))
        .flatten();
    Outcome {
        state: v.state,
        status: statuses.last().copied(),
        moved_to,
        hops: hops(records),
        error: note,
        tries,
        elapsed: started.elapsed(),
    }
}

/// The outcome of a chain that ended without an answer.
fn failed(e: &Error, tries: u32, started: Instant) -> Outcome {
    let state = match e.kind() {
        ErrorKind::Follow(f) => State::of_follow(f),
        ErrorKind::Connect | ErrorKind::Tls => State::Unreachable,
        ErrorKind::Timeout(_) => State::Timeout,
        _ => State::Invalid,
    };
    let records = e.history().map(|h| h.hops.as_slice()).unwrap_or(&[]);
    Outcome {
        state,
        status: records.last().map(|h| h.status),
        moved_to: None,
        hops: hops(records),
        error: Some(e.to_string()),
        tries,
        elapsed: started.elapsed(),
    }
}
