//! [`Chain`]: the per-hop bookkeeping shared by [`crate::Client`] and [`crate::FollowLayer`].
//!
//! It owns the core's [`Follow`] state machine, the request of the hop in flight and the
//! [`HopRecord`]s so far, and builds every [`Error`] with the hop's number, method, URL and
//! history. The callers only send requests and read bodies.

use std::time::{Duration, Instant};

use http::header::LOCATION;
use http::{HeaderMap, Method};
use seeother_core::FollowError;
use seeother_core::follow::{BodyKind, Follow, Jar, Policy, Request, Step};
use url::Url;

use crate::connect::{ConnectTime, ConnectionLabel};
use crate::error::{BoxError, Error, ErrorKind};
use crate::history::{History, HopRecord};

/// One original request's chain of hops, driven by the core's [`Follow`].
pub(crate) struct Chain<J: Jar> {
    follow: Follow<J>,
    /// The request of the hop in flight: the state machine moves on to the next one as soon as
    /// it sees a redirect, but errors and the history name the one that was sent.
    current: Request,
    /// The hop in flight's number, from 1.
    number: usize,
    /// The hops over, in order.
    hops: Vec<HopRecord>,
    /// The hop in flight's record, once its response head has come.
    pending: Option<HopRecord>,
}

impl<J: Jar> Chain<J> {
    /// Start the chain for the original request; a refusal is an error of hop 1.
    pub(crate) fn start(
        policy: Policy,
        method: Method,
        url: Url,
        headers: HeaderMap,
        body: BodyKind,
        jar: J,
    ) -> Result<Self, Error> {
        let follow = Follow::with_jar(policy, method.clone(), url.clone(), headers, body, jar)
            .map_err(|e| Error::new(ErrorKind::Follow(e), 1, method, Some(url), None))?;
        Ok(Self {
            current: follow.request().clone(),
            follow,
            number: 1,
            hops: Vec::new(),
            pending: None,
        })
    }

    /// The request to send now.
    pub(crate) fn request(&self) -> &Request {
        &self.current
    }

    /// The number of the hop in flight, from 1.
    pub(crate) fn number(&self) -> usize {
        self.number
    }

    /// The request to send now with `body`: its method and header fields, and its URL without
    /// the fragment as the URI (no fragment on the wire, RFC 9112 §3.2).
    pub(crate) fn wire<B>(&self, body: B) -> Result<http::Request<B>, Error> {
        let target = self.current.target();
        let mut wire = match http::Request::builder()
            .method(self.current.method.clone())
            .uri(target.as_str())
            .body(body)
        {
            Ok(w) => w,
            Err(e) => {
                let kind = ErrorKind::InvalidRequest(format!("cannot send to {target}"));
                return Err(self.error(kind, Some(Box::new(e)), self.hops.clone()));
            }
        };
        *wire.headers_mut() = self.current.headers.clone();
        Ok(wire)
    }

    /// Take the hop's response head: keep its record (with the header fields and body bytes
    /// sent) until the hop ends, and ask the state machine what follows.
    #[allow(clippy::result_large_err)] // the core's own result, passed through as it comes
    pub(crate) fn on_response(
        &mut self,
        head: &http::response::Parts,
        request_headers: HeaderMap,
        body_sent: u64,
    ) -> Result<Step, FollowError> {
        let label = head.extensions.get::<ConnectionLabel>();
        let reused = label.map(ConnectionLabel::reused);
        let connect = match reused {
            Some(false) => head.extensions.get::<ConnectTime>().map(|t| t.0),
            _ => None,
        };
        self.pending = Some(HopRecord {
            method: self.current.method.clone(),
            url: self.current.url.clone(),
            status: head.status,
            version: head.version,
            location: head.headers.get(LOCATION).cloned(),
            response_headers: head.headers.clone(),
            request_headers,
            body_sent,
            reused,
            connection: label.map(|l| l.id),
            elapsed: Duration::ZERO,
            connect,
        });
        self.follow.on_response(head.status, &head.headers)
    }

    /// End the hop in flight, `started` being when it began: its record joins the history.
    pub(crate) fn end(&mut self, started: Instant) {
        if let Some(mut record) = self.pending.take() {
            record.elapsed = started.elapsed();
            self.hops.push(record);
        }
    }

    /// End the hop in flight, whose redirect is followed, and go on to the next request.
    pub(crate) fn followed(&mut self, started: Instant) {
        self.end(started);
        self.current = self.follow.request().clone();
        self.number += 1;
    }

    /// End the hop in flight on the state machine's refusal to go on.
    pub(crate) fn refused(mut self, started: Instant, e: FollowError) -> Error {
        self.end(started);
        self.fail(ErrorKind::Follow(e), None)
    }

    /// The state machine asks for a one-shot body again: it already went out.
    pub(crate) fn not_replayable(self) -> Error {
        let e = FollowError::BodyNotReplayable {
            status: self.hops.last().map(|h| h.status).unwrap_or_default(),
            url: self.current.url.clone(),
        };
        self.fail(ErrorKind::Follow(e), None)
    }

    /// The chain failed on the hop in flight.
    pub(crate) fn fail(mut self, kind: ErrorKind, source: Option<BoxError>) -> Error {
        let hops = std::mem::take(&mut self.hops);
        self.error(kind, source, hops)
    }

    /// The chain is over: the original URL, the last request's URL and every hop.
    pub(crate) fn into_history(self) -> History {
        History {
            url: self.follow.original_url().clone(),
            final_url: self.current.url,
            hops: self.hops,
        }
    }

    fn error(&self, kind: ErrorKind, source: Option<BoxError>, hops: Vec<HopRecord>) -> Error {
        let history = History {
            url: self.follow.original_url().clone(),
            final_url: self.current.url.clone(),
            hops,
        };
        Error::new(
            kind,
            self.number,
            self.current.method.clone(),
            Some(self.current.url.clone()),
            source,
        )
        .with_history(history)
    }
}
