//! A reference server's answers to the [questions](super::questions) as rule-file tests
//! (`[[tests]]`), so a translated rule set carries the proof of what the old server said.
//!
//! A `Location` is recorded as the reference sent it, or as the translation writes it when
//! both resolve to the same URL against the request's (RFC 3986 §5.2: `/x/` and
//! `https://w3id.org/x/` asked at `https://w3id.org/` are one target), so a test fails only
//! where the answers differ.

use std::collections::BTreeMap;

use http::{HeaderMap, HeaderName, HeaderValue, Method};
use url::Url;

use super::questions::Question;
use crate::index::{Index, RuleParts};
use crate::resolve;
use crate::rule::RuleSpec;
use crate::rules_file::tests::{Expect, RuleTest};
use crate::rules_file::{self, Format};

/// What the reference server answered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Answer {
    /// The status.
    pub status: u16,
    /// The `Location` field, if any.
    pub location: Option<String>,
    /// The header fields asked for (lower-case names), repeated ones joined with `, `.
    pub headers: BTreeMap<String, String>,
}

/// The header fields `rules` set on their answers (lower-case names): what the tests check
/// besides status and `Location`.
pub fn header_names(rules: &[RuleSpec]) -> Vec<String> {
    let mut names: Vec<String> = rules
        .iter()
        .flat_map(|r| r.headers.iter().map(|h| h.name.to_ascii_lowercase()))
        .collect();
    names.sort();
    names.dedup();
    names
}

fn same_target(base: &Url, a: &str, b: &str) -> bool {
    let (Ok(a), Ok(b)) = (base.join(a), base.join(b)) else {
        return false;
    };
    // RFC 3986 §6.2.2.1: the hexadecimal digits of a percent-encoding are case-insensitive.
    let norm = |u: &Url| {
        let s = u.as_str();
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(i) = rest.find('%') {
            out.push_str(&rest[..i]);
            let tail = &rest[i..];
            let n = tail.len().min(3);
            out.push_str(&tail[..n].to_ascii_uppercase());
            rest = &tail[n..];
        }
        out.push_str(rest);
        out
    };
    norm(&a) == norm(&b)
}

/// The tests recorded, and the answers left out.
#[derive(Clone, Debug, Default)]
pub struct Recorded {
    /// One test per answer that came from the rules.
    pub tests: Vec<RuleTest>,
    /// Answers the reference gave from its file system (200, 403 or 404 without `Location`
    /// where the translation has nothing either): no rule's proof.
    pub from_files: usize,
    /// Its 500s (a file it cannot read, which the importer refused too).
    pub errors: usize,
}

/// The tests for `questions` and the reference's `answers` (in the same order); `origin` is
/// the site's public origin (`https://w3id.org`), which the reference's absolute `Location`s
/// name. `rules` are the translation (validated), asked the same questions offline.
pub fn tests(
    rules: &[RuleSpec],
    origin: &Url,
    questions: &[Question],
    answers: &[Answer],
) -> Result<Recorded, String> {
    let parts: Vec<RuleParts<'_>> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| RuleParts::of_spec(i as i64 + 1, r))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let index = Index::build(parts).map_err(|e| e.to_string())?;
    let mut out = Recorded::default();
    for (q, a) in questions.iter().zip(answers) {
        if a.status == 500 {
            out.errors += 1;
            continue;
        }
        let base = origin
            .join(&q.target)
            .map_err(|e| format!("{}: {e}", q.target))?;
        let mut headers = HeaderMap::new();
        for (n, v) in &q.headers {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(n.as_bytes()),
                HeaderValue::from_str(v),
            ) {
                headers.append(n, v);
            }
        }
        let (path, query) = match q.target.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (q.target.as_str(), None),
        };
        let req = resolve::Request {
            method: &Method::GET,
            host: None,
            path,
            query,
            headers: &headers,
        };
        let ours = resolve::answer(&index, &req).reply.into_response();
        let our_location = ours
            .headers()
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok());
        if a.location.is_none()
            && matches!(a.status, 200 | 403 | 404)
            && ours.status() == http::StatusCode::NOT_FOUND
        {
            out.from_files += 1;
            continue;
        }
        let location = match (&a.location, our_location) {
            (Some(theirs), Some(ours)) if same_target(&base, theirs, ours) => ours.to_owned(),
            (Some(theirs), _) => theirs.clone(),
            (None, _) => String::new(),
        };
        out.tests.push(RuleTest {
            method: None,
            url: q.target.clone(),
            headers: q.headers.iter().cloned().collect(),
            expect: Expect {
                status: Some(a.status),
                location: Some(location),
                headers: a.headers.clone(),
            },
        });
    }
    Ok(out)
}

/// `rules` and `tests` as one rule file (TOML or JSON; CSV carries no tests).
pub fn write(rules: &[RuleSpec], tests: &[RuleTest], format: Format) -> String {
    #[derive(serde::Serialize)]
    struct Tests<'a> {
        tests: &'a [RuleTest],
    }
    let text = rules_file::write(rules, format);
    match format {
        Format::Toml if !tests.is_empty() => {
            let tests = toml::to_string(&Tests { tests }).unwrap_or_default();
            format!("{text}\n{tests}")
        }
        Format::Json => {
            let Ok(mut doc) = serde_json::from_str::<serde_json::Value>(&text) else {
                return text;
            };
            if let Some(obj) = doc.as_object_mut() {
                obj.insert(
                    "tests".to_owned(),
                    serde_json::to_value(tests).unwrap_or_default(),
                );
            }
            serde_json::to_string_pretty(&doc).unwrap_or(text)
        }
        _ => text,
    }
}
