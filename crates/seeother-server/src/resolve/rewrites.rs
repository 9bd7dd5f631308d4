//! Answers of rule groups: the group's decision, internal rewrites looked up again (bounded),
//! the directory's slash redirect, and the group's header fields on every answer.

use std::sync::Arc;

use http::{HeaderMap, Response, StatusCode};
use seeother_core::location::{Location, Schemes};
use seeother_core::respond::{Body, Redirect, RedirectStatus};

use super::{Answer, Outcome, Reply, Request, answer_hit, broken, not_found, page};
use crate::group::{self, Decision, Facts};
use crate::index::{CompiledRule, Hit, Index, Rule};
use crate::rule::CompiledGroup;

/// Internal rewrites one request may go through; one more answers 500 (Apache's
/// `LimitInternalRecursion`, 10 by default, does the same).
pub const MAX_REWRITES: usize = 10;

fn with_headers(mut response: Response<Body>, rule: &CompiledRule) -> Response<Body> {
    if let Some(g) = rule.group() {
        let headers: &mut HeaderMap = response.headers_mut();
        for (name, value) in g.headers.iter() {
            headers.insert(name.clone(), value.clone());
        }
    }
    response
}

fn status_page(method: &http::Method, code: u16, path: &str) -> Response<Body> {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::NOT_FOUND);
    let (title, text) = match code {
        // RFC 9110 §15.5.4
        403 => ("Forbidden", "This address may not be retrieved."),
        // RFC 9110 §15.5.7
        406 => (
            "Not Acceptable",
            "No representation of this identifier matches the request's Accept header field.",
        ),
        // RFC 9110 §15.5.11
        410 => ("Gone", "The identifier has been withdrawn."),
        // RFC 9110 §15.5.5
        _ => ("Not Found", "No identifier is known at this address."),
    };
    let body = format!(
        "<p>{text}</p><p><code>{}</code></p>",
        seeother_core::note::escape(path)
    );
    page(method, status, title, &body).map(Body::from)
}

/// The redirect (302) an error page of `group` puts in place of a `code` answer.
fn error_page(group: &CompiledGroup, code: u16) -> Option<Redirect> {
    let (_, to) = group.errors.iter().find(|(s, _)| *s == code)?;
    // core: ErrorDocument with a URL answers with a redirect to it.
    Some(Redirect::new(
        RedirectStatus::Found,
        Location::parse(to).ok()?,
    ))
}

/// Answer `req` with the group `first` (found for its path), following internal rewrites.
pub(super) fn answer_group<'i, 'p>(
    index: &'i Index,
    req: &Request<'p>,
    first: &'i Arc<CompiledRule>,
) -> Answer<'i, 'p> {
    let mut rule = first;
    let mut path = req.path.to_owned();
    let mut query = req.query.map(str::to_owned);
    let done = |reply: Response<Body>, rule: &'i Arc<CompiledRule>| Answer {
        reply: Reply::Full(with_headers(reply, rule)),
        outcome: Outcome::Redirect {
            hit: Hit::whole(Rule::Compiled(rule)),
            variant: 0,
        },
    };
    for _ in 0..=MAX_REWRITES {
        let Some(group) = rule.group() else {
            break;
        };
        let scope = rule.matcher();
        let bare = path.len() + 1 == scope.len() && scope.starts_with(path.as_str());
        let facts = Facts {
            method: req.method,
            headers: req.headers,
            query: query.as_deref(),
            host: req.host,
            path: &path,
            scheme: "http",
        };
        let decision = group::run(group, scope, &facts, bare);
        if bare && decision == Decision::NoMatch && group.slash {
            // mod_dir: DirectorySlash; a directory asked for without its slash gets a 301 to it.
            let mut target = scope.to_owned();
            if let Some(q) = &query {
                target.push('?');
                target.push_str(q);
            }
            return match Location::parse(&target) {
                Ok(l) => done(
                    Redirect::new(RedirectStatus::MovedPermanently, l)
                        .to_response(req.method)
                        .map(Body::from),
                    rule,
                ),
                Err(_) => done(broken(req.method).map(Body::from), rule),
            };
        }
        match decision {
            Decision::Redirect {
                status,
                location,
                as_written,
            } => {
                // mod_rewrite: RewriteRule flags, [NE]: the target is sent without escaping;
                // a step may redirect to a mailto: URL, which mod_rewrite takes as absolute.
                let schemes = Schemes::default().allow("mailto");
                let parsed = if as_written {
                    Location::parse_as_written(&location, &schemes)
                } else {
                    Location::parse_with(&location, &schemes)
                };
                return match parsed {
                    Ok(l) => done(
                        Redirect::new(status, l)
                            .to_response(req.method)
                            .map(Body::from),
                        rule,
                    ),
                    Err(_) => done(broken(req.method).map(Body::from), rule),
                };
            }
            Decision::Answer(code) => {
                return match error_page(group, code) {
                    Some(r) => done(r.to_response(req.method).map(Body::from), rule),
                    None => done(status_page(req.method, code, &path), rule),
                };
            }
            Decision::NoMatch => {
                // Nothing here, the directory itself included: core's default handler
                // answers 404 ("Attempt to serve directory") when no DirectoryIndex file
                // exists and no directory listing is made.
                if let Some(r) = error_page(group, 404) {
                    return done(r.to_response(req.method).map(Body::from), rule);
                }
                return Answer {
                    reply: Reply::Full(not_found(req.method, &path).map(Body::from)),
                    outcome: Outcome::NotFound,
                };
            }
            // mod_rewrite: a rule set looping with [N] past its rounds answers 500.
            Decision::Loop => return done(broken(req.method).map(Body::from), rule),
            Decision::Rewrite {
                path: next,
                query: q,
            } => {
                path = next;
                query = q;
            }
        }
        let Some(hit) = index.lookup(req.host, &path) else {
            return Answer {
                reply: Reply::Full(not_found(req.method, &path).map(Body::from)),
                outcome: Outcome::NotFound,
            };
        };
        match hit.rule {
            Rule::Compiled(c) if c.group().is_some() => rule = c,
            found => {
                let inner = Request {
                    path: &path,
                    query: query.as_deref(),
                    ..*req
                };
                let answer = answer_hit(hit, &inner);
                let reply = answer.reply;
                let outcome = match answer.outcome {
                    Outcome::NotFound => Outcome::NotFound,
                    Outcome::Gone { .. } => Outcome::Gone {
                        hit: Hit::whole(found),
                    },
                    Outcome::BrokenTarget { error, .. } => Outcome::BrokenTarget {
                        hit: Hit::whole(found),
                        error,
                    },
                    Outcome::Redirect { variant, .. } => Outcome::Redirect {
                        hit: Hit::whole(found),
                        variant,
                    },
                };
                return Answer { reply, outcome };
            }
        }
    }
    // More rewrites than allowed: a loop in the rules.
    done(broken(req.method).map(Body::from), rule)
}
