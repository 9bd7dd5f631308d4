//! From a request to its answer: index lookup, content negotiation, then a response built by
//! the core (a prebuilt one for exact rules). Pure: no I/O, so `seeother explain` runs the very
//! code the server runs.

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode};
use seeother_core::location::{Location, LocationError};
use seeother_core::negotiate;
use seeother_core::respond::{Body, Plain, Redirect};
use seeother_core::{h1, note};

use crate::index::{CompiledRule, Hit, Index, PackedRule, Rule};
use crate::rule::{Kind, QueryMode};

mod rewrites;

/// The parts of a request that decide its answer.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// The method.
    pub method: &'a Method,
    /// The host, normalised with [`crate::index::normalize_host`].
    pub host: Option<&'a str>,
    /// The path, as received (percent-encoded).
    pub path: &'a str,
    /// The query string without `?`, if any.
    pub query: Option<&'a str>,
    /// The header fields (for `Accept`).
    pub headers: &'a HeaderMap,
}

/// What was decided, beside the response (for metrics, logs and `explain`).
#[derive(Debug)]
pub enum Outcome<'i, 'p> {
    /// A rule answered: with a redirect to the target offered at `variant` (0 is the default),
    /// or, for a rule group, with the status one of its steps gives.
    Redirect {
        /// The matching rule and what it captured.
        hit: Hit<'i, 'p>,
        /// Index of the chosen target in the rule's offered types.
        variant: usize,
    },
    /// A tombstone answered 410 Gone.
    Gone {
        /// The matching rule.
        hit: Hit<'i, 'p>,
    },
    /// The rule's target, once filled in, is not a valid `Location`: 500.
    BrokenTarget {
        /// The matching rule.
        hit: Hit<'i, 'p>,
        /// Why the core refused the target.
        error: LocationError,
    },
    /// No rule matched: 404.
    NotFound,
}

impl<'i, 'p> Outcome<'i, 'p> {
    /// The rule that answered, if one did.
    pub fn rule(&self) -> Option<Rule<'i>> {
        match self {
            Outcome::Redirect { hit, .. }
            | Outcome::Gone { hit }
            | Outcome::BrokenTarget { hit, .. } => Some(hit.rule),
            Outcome::NotFound => None,
        }
    }
}

/// A response ready to send: on the hot path a plain redirect not yet in `http` types, so a
/// server writing HTTP/1.1 itself needs no header map.
#[derive(Debug)]
pub enum Reply {
    /// A redirect with only the fields every redirect has (see [`Plain`]).
    Plain(Plain),
    /// Any other response.
    Full(Response<Body>),
}

impl Reply {
    /// The status code.
    pub fn status(&self) -> StatusCode {
        match self {
            Reply::Plain(p) => p.status(),
            Reply::Full(r) => r.status(),
        }
    }

    /// As an `http` response.
    pub fn into_response(self) -> Response<Body> {
        match self {
            Reply::Plain(p) => p.into_response(),
            Reply::Full(r) => r,
        }
    }

    /// Append it as HTTP/1.1 bytes to `out`, answering a request with `method`, with `date`
    /// (an IMF-fixdate).
    pub fn write_h1(&self, method: &Method, date: &[u8], out: &mut Vec<u8>) {
        match self {
            Reply::Plain(p) => h1::write_plain(p, date, out),
            Reply::Full(r) => h1::write_response(r, method, date, out),
        }
    }
}

/// A response and why it was given.
#[derive(Debug)]
pub struct Answer<'i, 'p> {
    /// The response to send.
    pub reply: Reply,
    /// What was decided.
    pub outcome: Outcome<'i, 'p>,
}

/// Answer `req` from `index`. Never fails: a request that no rule matches gets a 404 page.
pub fn answer<'i, 'p>(index: &'i Index, req: &Request<'p>) -> Answer<'i, 'p> {
    let Some(hit) = index.lookup(req.host, req.path) else {
        return Answer {
            reply: Reply::Full(not_found(req.method, req.path).map(Body::from)),
            outcome: Outcome::NotFound,
        };
    };
    if let Rule::Compiled(rule) = hit.rule
        && rule.group().is_some()
    {
        return rewrites::answer_group(index, req, rule);
    }
    answer_hit(hit, req)
}

/// The answer of the rule that `hit` found (no group).
fn answer_hit<'i, 'p>(hit: Hit<'i, 'p>, req: &Request<'p>) -> Answer<'i, 'p> {
    if hit.rule.is_gone() {
        return Answer {
            reply: Reply::Full(gone(req.method, req.path).map(Body::from)),
            outcome: Outcome::Gone { hit },
        };
    }
    let (built, variant) = match hit.rule {
        Rule::Packed(rule) => (answer_packed(rule, &hit, req), 0),
        Rule::Compiled(rule) => answer_compiled(rule, &hit, req),
    };
    match built {
        Ok(reply) => Answer {
            reply,
            outcome: Outcome::Redirect { hit, variant },
        },
        Err(error) => Answer {
            reply: Reply::Full(broken(req.method).map(Body::from)),
            outcome: Outcome::BrokenTarget { hit, error },
        },
    }
}

/// The request's query, when `mode` passes it on to the target.
fn passed_query<'p>(mode: QueryMode, req: &Request<'p>) -> Option<&'p str> {
    match mode {
        QueryMode::Append => req.query.filter(|q| !q.is_empty()),
        QueryMode::Drop => None,
    }
}

/// A packed rule (plain: no header field of its own) answers straight from its target: for an
/// exact path without a query, the `Location` and the note share the table's bytes.
fn answer_packed(
    rule: PackedRule<'_>,
    hit: &Hit<'_, '_>,
    req: &Request<'_>,
) -> Result<Reply, LocationError> {
    let query = passed_query(rule.query(), req);
    let location = if rule.kind() == Kind::Path && query.is_none() {
        rule.location()?
    } else {
        let mut target = String::with_capacity(128);
        target.push_str(rule.target());
        complete_target(&mut target, hit.remainder, query);
        Location::parse(&target)?
    };
    Ok(Reply::Plain(Plain::new(
        rule.status(),
        location,
        req.method,
    )))
}

/// A compiled rule: content negotiation, templates, header fields of its own; exact rules
/// keep their answers ready after the first request. Gives the chosen variant too.
fn answer_compiled(
    rule: &CompiledRule,
    hit: &Hit<'_, '_>,
    req: &Request<'_>,
) -> (Result<Reply, LocationError>, usize) {
    let variant = if rule.has_variants() {
        // RFC 9110 §12.5.1: the core picks; ties go to the first offered (the default), and a
        // request that accepts none of them gets the default.
        negotiate::choose(req.headers, rule.offered()).unwrap_or(0)
    } else {
        0
    };
    let query = passed_query(rule.query, req);
    let exact = rule.kind == Kind::Path && query.is_none();
    let built = if rule.is_plain() {
        // No header field of the rule's own: the core answers straight from the target.
        let respond = |location| Reply::Plain(Plain::new(rule.status, location, req.method));
        if exact {
            rule.location(|| Location::parse(rule.target(0).as_literal().unwrap_or_default()))
                .map(|l| respond(l.clone()))
        } else {
            Location::parse(&render_target(rule, hit, variant, query)).map(respond)
        }
    } else {
        let prebuilt = if exact {
            rule.prebuilt(|| {
                (0..rule.target_count())
                    .map(|i| build(rule, rule.target(i).as_literal().unwrap_or_default()).ok())
                    .collect()
            })
        } else {
            None
        };
        let response = match prebuilt.map(|p| &p[variant]) {
            Some(Some(redirect)) => Ok(redirect.to_response(req.method)),
            Some(None) => build(rule, rule.target(variant).as_literal().unwrap_or_default())
                .map(|r| r.to_response(req.method)),
            None => build(rule, &render_target(rule, hit, variant, query))
                .map(|r| r.to_response(req.method)),
        };
        response.map(|r| Reply::Full(r.map(Body::from)))
    };
    (built, variant)
}

/// The target of compiled `rule` for offered type `variant`: template filled in with the
/// captures of `hit`, prefix remainder and the request's `query` added.
fn render_target(
    rule: &CompiledRule,
    hit: &Hit<'_, '_>,
    variant: usize,
    query: Option<&str>,
) -> String {
    let mut target = String::with_capacity(128);
    rule.target(variant)
        .render_into(hit.captures.values(), &mut target);
    complete_target(&mut target, hit.remainder, query);
    target
}

/// Add a prefix rule's `remainder` and the request's `query` to `target`.
fn complete_target(target: &mut String, remainder: &str, query: Option<&str>) {
    target.push_str(remainder);
    if let Some(q) = query {
        append_query(target, q);
    }
}

/// The target `target` with the request's query `query` added (before any fragment).
pub fn append_query(target: &mut String, query: &str) {
    let fragment = target.find('#').map(|i| target.split_off(i));
    target.push(if target.contains('?') { '&' } else { '?' });
    target.push_str(query);
    if let Some(f) = fragment {
        target.push_str(&f);
    }
}

/// The redirect of `rule` to `target`, built by the core.
fn build(rule: &CompiledRule, target: &str) -> Result<Redirect, LocationError> {
    let mut redirect = Redirect::new(rule.status, Location::parse(target)?);
    if let Some(cc) = rule.cache_control() {
        // RFC 9111 §4.2.1: a 303 is reused only with explicit freshness, which the rule gives.
        redirect = redirect.header(CACHE_CONTROL, cc.clone());
    }
    if rule.described_by {
        redirect = redirect.described_by();
    }
    if rule.has_variants() {
        redirect = redirect.vary_accept();
    }
    Ok(redirect)
}

/// A small HTML page with `status`, built on the core's page shell. HEAD gets the header
/// fields without the body (RFC 9110 §9.3.2).
pub fn page(method: &Method, status: StatusCode, title: &str, body_html: &str) -> Response<Bytes> {
    let html = note::page(title, body_html);
    let len = html.len();
    let body = if method == Method::HEAD {
        Bytes::new()
    } else {
        Bytes::from(html)
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(note::CONTENT_TYPE));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
    response
}

pub(crate) fn not_found(method: &Method, path: &str) -> Response<Bytes> {
    page(
        method,
        StatusCode::NOT_FOUND,
        "Not Found",
        &format!(
            "<p>No identifier is known at <code>{}</code>.</p>",
            note::escape(path)
        ),
    )
}

fn gone(method: &Method, path: &str) -> Response<Bytes> {
    // RFC 9110 §15.5.11: the identifier existed and is gone for good.
    page(
        method,
        StatusCode::GONE,
        "Gone",
        &format!(
            "<p>The identifier <code>{}</code> has been withdrawn.</p>",
            note::escape(path)
        ),
    )
}

pub(crate) fn broken(method: &Method) -> Response<Bytes> {
    page(
        method,
        StatusCode::INTERNAL_SERVER_ERROR,
        "Internal Server Error",
        "<p>The rule for this address produces a target that cannot be sent.</p>",
    )
}
