//! The "try it" box of a rule's page: what the server would answer a GET for a URL with an
//! `Accept` header, computed by the same code that serves requests ([`crate::resolve::answer`])
//! on the live index, without counting a hit.

use http::header::ACCEPT;
use http::{HeaderMap, HeaderValue, Method, Uri};

use crate::index::{Index, normalize_host};
use crate::resolve::{self, Outcome};

/// What a request would get.
#[derive(Clone, Debug)]
pub struct Tried {
    /// The URL as given.
    pub url: String,
    /// The `Accept` value as given.
    pub accept: String,
    /// Status line, header fields and, when there is one, the body, as sent.
    pub response: String,
    /// The status code.
    pub status: u16,
    /// The id of the rule that answered, if any.
    pub rule: Option<i64>,
    /// What was decided, in a sentence.
    pub decision: String,
}

/// Why a URL could not be tried.
#[derive(Clone, Debug)]
pub struct TryError(pub String);

/// What a GET of `url` (an absolute URL or a path) with `Accept: accept` would get from
/// `index`.
pub fn run(index: &Index, url: &str, accept: &str) -> Result<Tried, TryError> {
    let url = url.trim();
    let uri: Uri = url.parse().map_err(|e| {
        TryError(format!(
            "{url:?} is not a URL or path ({e}); write /id/x or http://host/id/x"
        ))
    })?;
    let mut headers = HeaderMap::new();
    if !accept.trim().is_empty() {
        let value = HeaderValue::from_str(accept.trim()).map_err(|_| {
            TryError("the Accept value holds characters a header cannot; remove them".into())
        })?;
        headers.insert(ACCEPT, value);
    }
    let host = uri.authority().map(|a| normalize_host(a.as_str()));
    let path = if uri.path().is_empty() {
        "/"
    } else {
        uri.path()
    };
    let request = resolve::Request {
        method: &Method::GET,
        host: host.as_deref(),
        path,
        query: uri.query(),
        headers: &headers,
    };
    let answer = resolve::answer(index, &request);
    let rule = answer.outcome.rule().map(|r| r.id());
    let decision = match &answer.outcome {
        Outcome::Redirect { hit, variant } if hit.rule.has_variants() => format!(
            "rule {} answers; content negotiation chose {}",
            hit.rule.id(),
            hit.rule.offered()[*variant]
        ),
        Outcome::Redirect { hit, .. } => format!("rule {} answers", hit.rule.id()),
        Outcome::Gone { hit } => format!("rule {} is a tombstone: 410 Gone", hit.rule.id()),
        Outcome::BrokenTarget { hit, error } => format!(
            "rule {} matches, but its filled-in target is refused: {error}",
            hit.rule.id()
        ),
        Outcome::NotFound => "no rule matches: 404 Not Found".to_owned(),
    };
    let r = &answer.reply.into_response();
    let mut response = format!(
        "HTTP/1.1 {} {}\n",
        r.status().as_u16(),
        r.status().canonical_reason().unwrap_or("")
    );
    for (name, value) in r.headers() {
        response.push_str(&format!(
            "{name}: {}\n",
            String::from_utf8_lossy(value.as_bytes())
        ));
    }
    if !r.body().is_empty() {
        response.push('\n');
        response.push_str(String::from_utf8_lossy(&r.body().to_bytes()).trim_end());
    }
    Ok(Tried {
        url: url.to_owned(),
        accept: accept.trim().to_owned(),
        response,
        status: r.status().as_u16(),
        rule,
        decision,
    })
}
