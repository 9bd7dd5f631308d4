//! Tests inside a rule file: `[[tests]]` (TOML) or `"tests": […]` (JSON), each a request and
//! what its answer must be, run offline on the file's own rules through [`crate::resolve`],
//! the code the server answers with.
//!
//! ```toml
//! [[tests]]
//! url = "http://id.example.org/id/berlin"
//! headers = { Accept = "text/turtle" }
//! expect = { status = 303, location = "https://example.org/data/berlin.ttl" }
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::{FileError, FileErrors, Format, Lines, ReadError};
use crate::index::{Index, RuleParts, normalize_host};
use crate::resolve;
use crate::rule::{RESERVED_PREFIX, RuleSpec};

/// One test: a request and the answer expected.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleTest {
    /// The method (`GET` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The URL (`http://host/path?query`) or a path (`/path?query`, any host unless a `Host`
    /// header field names one).
    pub url: String,
    /// Request header fields.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// What the answer must be.
    pub expect: Expect,
}

/// What a test's answer must be; what is left out is not checked.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The status code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The `Location` field exactly; `""` for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Response header fields (repeated fields joined with `, `); `""` for absent.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct TomlTests {
    #[serde(default)]
    tests: Vec<toml::Spanned<RuleTest>>,
}

#[derive(Deserialize)]
struct JsonTests<'a> {
    #[serde(default, borrow)]
    tests: Vec<&'a RawValue>,
}

/// The tests of `text`, each with its line. CSV files carry none.
pub fn read(text: &str, format: Format, file: &str) -> Result<Vec<(usize, RuleTest)>, FileErrors> {
    let lines = Lines::of(text);
    let fail = |line, message: String| FileErrors {
        file: file.to_owned(),
        errors: vec![FileError { line, message }],
    };
    match format {
        Format::Csv => Ok(Vec::new()),
        Format::Toml => {
            let t: TomlTests = toml::from_str(text).map_err(|e| {
                fail(
                    e.span().map(|s| lines.line_of(s.start)),
                    format!("a test: {}", e.message().trim()),
                )
            })?;
            Ok(t.tests
                .into_iter()
                .map(|s| (lines.line_of(s.span().start), s.into_inner()))
                .collect())
        }
        Format::Json if text.trim_start().starts_with('[') => Ok(Vec::new()),
        Format::Json => {
            let t: JsonTests<'_> =
                serde_json::from_str(text).map_err(|e| fail(Some(e.line()), e.to_string()))?;
            let mut out = Vec::with_capacity(t.tests.len());
            for raw in t.tests {
                let line = lines.line_of(raw.get().as_ptr() as usize - text.as_ptr() as usize);
                let test = serde_json::from_str(raw.get()).map_err(|e| {
                    let m = e.to_string();
                    fail(
                        Some(line + e.line() - 1),
                        format!("a test: {}", m.split(" at line ").next().unwrap_or(&m)),
                    )
                })?;
                out.push((line, test));
            }
            Ok(out)
        }
    }
}

/// A test that did not pass: where, the request, and each difference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The test's line.
    pub line: usize,
    /// The request, as `GET http://host/path (Accept: …)`.
    pub request: String,
    /// `(what, expected, got)` for each difference; one entry with an empty `expected` when
    /// the test itself is wrong.
    pub diffs: Vec<(String, String, String)>,
}

impl Failure {
    /// The failure as a readable diff (several lines, no final newline).
    pub fn render(&self) -> String {
        let mut out = format!("test {} failed", self.request);
        for (what, want, got) in &self.diffs {
            if want.is_empty() && what.is_empty() {
                let _ = write!(out, "\n    {got}");
            } else {
                let _ = write!(
                    out,
                    "\n    {what}:\n      - expected {want}\n      + got      {got}"
                );
            }
        }
        out
    }
}

fn shown(v: Option<&str>) -> String {
    v.map_or_else(|| "none".to_owned(), |s| format!("{s:?}"))
}

/// Run `tests` on `rules` (already validated); the failures, in order.
pub fn run(rules: &[RuleSpec], tests: &[(usize, RuleTest)]) -> Result<Vec<Failure>, String> {
    let parts: Vec<RuleParts<'_>> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| RuleParts::of_spec(i as i64 + 1, r))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let index = Index::build(parts).map_err(|e| e.to_string())?;
    Ok(tests
        .iter()
        .filter_map(|(line, t)| one(&index, *line, t))
        .collect())
}

fn one(index: &Index, line: usize, t: &RuleTest) -> Option<Failure> {
    let method_text = t.method.as_deref().unwrap_or("GET");
    let mut request = format!("{method_text} {}", t.url);
    if !t.headers.is_empty() {
        let fields: Vec<String> = t.headers.iter().map(|(n, v)| format!("{n}: {v}")).collect();
        let _ = write!(request, " ({})", fields.join(", "));
    }
    let wrong = |why: String| Failure {
        line,
        request: request.clone(),
        diffs: vec![(String::new(), String::new(), why)],
    };
    let Ok(method) = Method::from_bytes(method_text.as_bytes()) else {
        return Some(wrong(format!("{method_text:?} is not a method")));
    };
    let uri: Uri = match t.url.parse() {
        Ok(u) => u,
        Err(e) => return Some(wrong(format!("{:?} is not a URL or a path: {e}", t.url))),
    };
    let mut headers = HeaderMap::new();
    for (n, v) in &t.headers {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(n.as_bytes()),
            HeaderValue::from_str(v),
        ) else {
            return Some(wrong(format!("{n:?}: {v:?} is not a header field")));
        };
        headers.append(name, value);
    }
    let path = if uri.path().is_empty() {
        "/"
    } else {
        uri.path()
    };
    if path.starts_with(RESERVED_PREFIX) {
        return Some(wrong(format!(
            "{path}: paths under {RESERVED_PREFIX} are the server's own; no rule answers them"
        )));
    }
    let host = uri
        .authority()
        .map(|a| a.as_str())
        .or_else(|| {
            headers
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
        })
        .map(normalize_host);
    let req = resolve::Request {
        method: &method,
        host: host.as_deref(),
        path,
        query: uri.query(),
        headers: &headers,
    };
    let response = resolve::answer(index, &req).reply.into_response();
    let field = |name: &str| -> Option<String> {
        let values: Vec<String> = response
            .headers()
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        (!values.is_empty()).then(|| values.join(", "))
    };
    let mut diffs = Vec::new();
    let e = &t.expect;
    if let Some(status) = e.status
        && status != response.status().as_u16()
    {
        diffs.push((
            "status".to_owned(),
            status.to_string(),
            response.status().as_u16().to_string(),
        ));
    }
    if let Some(want) = &e.location {
        let got = field("location");
        if got.as_deref().unwrap_or("") != want {
            diffs.push((
                "location".to_owned(),
                shown(Some(want).filter(|w| !w.is_empty()).map(String::as_str)),
                shown(got.as_deref()),
            ));
        }
    }
    for (name, want) in &e.headers {
        let got = field(name);
        if got.as_deref().unwrap_or("") != want {
            diffs.push((
                name.to_ascii_lowercase(),
                shown(Some(want.as_str()).filter(|w| !w.is_empty())),
                shown(got.as_deref()),
            ));
        }
    }
    (!diffs.is_empty()).then_some(Failure {
        line,
        request,
        diffs,
    })
}

/// Run the tests of `text` (the file `file`) on its `rules`: how many ran, or every failure
/// as a problem of the file.
pub fn check(
    text: &str,
    format: Format,
    file: &str,
    rules: &[RuleSpec],
) -> Result<usize, FileErrors> {
    let tests = read(text, format, file)?;
    let failures = run(rules, &tests).map_err(|message| FileErrors {
        file: file.to_owned(),
        errors: vec![FileError {
            line: None,
            message,
        }],
    })?;
    if failures.is_empty() {
        return Ok(tests.len());
    }
    Err(FileErrors {
        file: file.to_owned(),
        errors: failures
            .iter()
            .map(|f| FileError {
                line: Some(f.line),
                message: f.render(),
            })
            .collect(),
    })
}

/// [`super::read_path`], then the file's tests: a file whose tests fail is refused.
pub fn read_path_tested(path: &Path, format: Option<Format>) -> Result<Vec<RuleSpec>, ReadError> {
    let format = format
        .or_else(|| Format::from_path(path))
        .ok_or_else(|| ReadError::UnknownFormat(path.to_owned()))?;
    let text = std::fs::read_to_string(path).map_err(|source| ReadError::Io {
        path: path.to_owned(),
        source,
    })?;
    let name = path.display().to_string();
    let rules = super::parse(&text, format, &name)?;
    check(&text, format, &name, &rules)?;
    Ok(rules)
}
