//! Form submissions: reading `application/x-www-form-urlencoded` and `multipart/form-data`
//! bodies, and turning the rule form into a [`RuleSpec`] with an error per field.

use axum::body::Body;
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, StatusCode};
use http_body_util::{BodyExt, Limited};

use crate::rule::{Kind, QueryMode, RuleError, RuleSpec, Variant};
use crate::store::StoreError;

/// The fields of a submitted form (text fields; an uploaded file's content as its field's
/// value, its name in [`Fields::file_name`]).
#[derive(Clone, Debug, Default)]
pub struct Fields {
    pairs: Vec<(String, String)>,
    /// The name of the uploaded file, if one was sent.
    pub file_name: Option<String>,
}

impl Fields {
    /// Fields from `name=value` pairs.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        Fields {
            pairs,
            file_name: None,
        }
    }

    /// Fields of a query string.
    pub fn from_query(query: Option<&str>) -> Self {
        Self::from_pairs(
            form_urlencoded::parse(query.unwrap_or("").as_bytes())
                .into_owned()
                .collect(),
        )
    }

    /// The first value of `name`, or `""`.
    pub fn get(&self, name: &str) -> &str {
        self.opt(name).unwrap_or("")
    }

    /// The first value of `name`.
    pub fn opt(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why a form body could not be read.
#[derive(Debug)]
pub struct BodyError {
    /// 413, 415 or 400.
    pub status: StatusCode,
    /// What was wrong and what to do.
    pub message: String,
}

impl BodyError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        BodyError {
            status,
            message: message.into(),
        }
    }
}

fn too_large(limit: usize) -> BodyError {
    BodyError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "the form is larger than {} KiB; send a smaller file",
            limit / 1024
        ),
    )
}

/// Read a form body of at most `limit` bytes, URL-encoded or multipart.
pub async fn read(headers: &HeaderMap, body: Body, limit: usize) -> Result<Fields, BodyError> {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let body = Limited::new(body, limit);
    match essence.as_str() {
        // HTML §4.10.21.7: the default enctype of a form.
        "application/x-www-form-urlencoded" | "" => {
            let bytes =
                body.collect().await.map_err(|e| {
                    match crate::http::body::read_error_status(&*e) {
                        StatusCode::PAYLOAD_TOO_LARGE => too_large(limit),
                        status => BodyError::new(status, format!("could not read the form: {e}")),
                    }
                })?;
            Ok(Fields::from_pairs(
                form_urlencoded::parse(&bytes.to_bytes())
                    .into_owned()
                    .collect(),
            ))
        }
        "multipart/form-data" => multipart(content_type, body, limit).await,
        _ => Err(BodyError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "a form is sent as application/x-www-form-urlencoded or multipart/form-data, not {essence}"
            ),
        )),
    }
}

async fn multipart(
    content_type: &str,
    body: Limited<Body>,
    limit: usize,
) -> Result<Fields, BodyError> {
    // RFC 7578 §4.1: the boundary parameter of multipart/form-data.
    let boundary = multer::parse_boundary(content_type).map_err(|e| {
        BodyError::new(
            StatusCode::BAD_REQUEST,
            format!("the multipart form has no usable boundary: {e}"),
        )
    })?;
    let mut parts = multer::Multipart::new(body.into_data_stream(), boundary);
    let mut fields = Fields::default();
    let bad = |e: multer::Error| {
        let status = match &e {
            multer::Error::StreamReadFailed(inner) => {
                crate::http::body::read_error_status(&**inner)
            }
            _ => StatusCode::BAD_REQUEST,
        };
        match status {
            StatusCode::PAYLOAD_TOO_LARGE => too_large(limit),
            status => BodyError::new(status, format!("could not read the multipart form: {e}")),
        }
    };
    while let Some(field) = parts.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or("").to_owned();
        if let Some(file) = field.file_name() {
            if file.is_empty() {
                // An `<input type=file>` left empty is sent with an empty file name.
                continue;
            }
            fields.file_name = Some(file.to_owned());
        }
        let bytes: Bytes = field.bytes().await.map_err(bad)?;
        let text = String::from_utf8(bytes.to_vec()).map_err(|_| {
            BodyError::new(
                StatusCode::BAD_REQUEST,
                format!("the field {name:?} is not UTF-8 text; send a UTF-8 rule file"),
            )
        })?;
        fields.pairs.push((name, text));
    }
    Ok(fields)
}

/// The rule form's fields, as typed (kept to re-render the form).
#[derive(Clone, Debug, Default)]
pub struct RuleForm {
    /// `path`, `prefix` or `pattern`.
    pub kind: String,
    /// The path, prefix or pattern.
    pub matcher: String,
    /// The target.
    pub to: String,
    /// The status, as typed.
    pub status: String,
    /// The host (empty for any).
    pub host: String,
    /// `append` or `drop`.
    pub query: String,
    /// The default target's media type.
    pub media_type: String,
    /// One variant per line: `media/type target`.
    pub variants: String,
    /// `Cache-Control` value.
    pub cache_control: String,
    /// Add `Link: rel=describedby`.
    pub described_by: bool,
    /// Keep the tombstone flag of an existing rule.
    pub gone: bool,
}

/// The form's field names, in the order errors are listed.
pub const FIELDS: [&str; 9] = [
    "kind",
    "matcher",
    "to",
    "status",
    "host",
    "query",
    "type",
    "variants",
    "cache_control",
];

/// An error next to a form field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// The field's name (one of [`FIELDS`], or `form` for the form as a whole).
    pub field: &'static str,
    /// What is wrong and what to write instead.
    pub message: String,
}

impl RuleForm {
    /// The form filled from `rule`.
    pub fn from_rule(rule: &RuleSpec) -> Self {
        RuleForm {
            kind: rule.kind().unwrap_or(Kind::Path).as_str().to_owned(),
            matcher: rule.matcher().to_owned(),
            to: rule.to.clone(),
            status: rule.status.to_string(),
            host: rule.host.clone().unwrap_or_default(),
            query: rule.query.as_str().to_owned(),
            media_type: rule.default_type.clone().unwrap_or_default(),
            variants: rule
                .variants
                .iter()
                .map(|v| format!("{} {}", v.media_type, v.to))
                .collect::<Vec<_>>()
                .join("\n"),
            cache_control: rule.cache_control.clone().unwrap_or_default(),
            described_by: rule.described_by,
            gone: rule.gone,
        }
    }

    /// The form as submitted.
    pub fn from_fields(f: &Fields) -> Self {
        RuleForm {
            kind: f.get("kind").trim().to_owned(),
            matcher: f.get("matcher").trim().to_owned(),
            to: f.get("to").trim().to_owned(),
            status: f.get("status").trim().to_owned(),
            host: f.get("host").trim().to_owned(),
            query: f.get("query").trim().to_owned(),
            media_type: f.get("type").trim().to_owned(),
            variants: f.get("variants").replace("\r\n", "\n").trim().to_owned(),
            cache_control: f.get("cache_control").trim().to_owned(),
            described_by: f.opt("described_by").is_some(),
            gone: f.opt("gone").is_some(),
        }
    }

    fn opt(s: &str) -> Option<String> {
        (!s.is_empty()).then(|| s.to_owned())
    }

    /// The rule the form describes, checked by the rule model's own validation; every field
    /// in error gets its message.
    ///
    /// ```
    /// use seeother_server::admin::form::RuleForm;
    ///
    /// let form = RuleForm {
    ///     kind: "path".into(),
    ///     matcher: "id/berlin".into(),
    ///     to: "javascript:alert(1)".into(),
    ///     host: "not a host".into(),
    ///     ..RuleForm::default()
    /// };
    /// let errors = form.to_rule().unwrap_err();
    /// let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
    /// assert_eq!(fields, ["matcher", "to", "host"]);
    /// assert!(errors[0].message.contains("must start with `/`"));
    /// ```
    pub fn to_rule(&self) -> Result<RuleSpec, Vec<FieldError>> {
        let mut errors = Vec::new();
        let kind = Kind::from_name(&self.kind).unwrap_or_else(|| {
            errors.push(FieldError {
                field: "kind",
                message: "choose path, prefix or pattern".to_owned(),
            });
            Kind::Path
        });
        if self.matcher.is_empty() {
            errors.push(FieldError {
                field: "matcher",
                message: format!("enter the {} to match, starting with `/`", kind.as_str()),
            });
        }
        if self.to.is_empty() {
            errors.push(FieldError {
                field: "to",
                message: "enter the target: a path such as /page/x or an absolute http(s) URL"
                    .to_owned(),
            });
        }
        let status = match self.status.as_str() {
            "" => Ok(303),
            s => s.parse::<u16>(),
        };
        let status = status.unwrap_or_else(|_| {
            errors.push(FieldError {
                field: "status",
                message: "choose 303 (default), 301, 302, 307 or 308".to_owned(),
            });
            303
        });
        let query = QueryMode::from_name(&self.query).unwrap_or_else(|| {
            if !self.query.is_empty() {
                errors.push(FieldError {
                    field: "query",
                    message: "choose append or drop".to_owned(),
                });
            }
            QueryMode::Append
        });
        let mut variants = Vec::new();
        for (n, line) in self.variants.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            match line.split_once(char::is_whitespace) {
                Some((t, to)) => variants.push(Variant {
                    media_type: t.to_owned(),
                    to: to.trim().to_owned(),
                }),
                None => errors.push(FieldError {
                    field: "variants",
                    message: format!(
                        "line {}: write a media type, a space, then the target (text/turtle https://example.org/x.ttl)",
                        n + 1
                    ),
                }),
            }
        }
        let mut rule = RuleSpec::new(kind, &self.matcher, &self.to);
        rule.status = status;
        rule.host = Self::opt(&self.host);
        rule.query = query;
        rule.default_type = Self::opt(&self.media_type);
        rule.variants = variants;
        rule.cache_control = Self::opt(&self.cache_control);
        rule.described_by = self.described_by;
        rule.gone = self.gone;
        // The rule model stops at its first error: set aside each field found wrong and check
        // again, so every wrong field is reported at once.
        // A pattern's placeholders are part of its targets: with a wrong pattern, its targets
        // cannot be judged; any other target is judged on its own.
        let judge_targets = kind != Kind::Pattern;
        let mut probe = rule.clone();
        if self.matcher.is_empty() {
            probe = without_matcher(&probe, judge_targets);
        }
        if self.to.is_empty() {
            probe.to = "/".to_owned();
        }
        for _ in 0..FIELDS.len() {
            let Err(e) = probe.clone().validate() else {
                break;
            };
            let field = field_of(&e);
            if !errors.iter().any(|x| x.field == field) {
                errors.push(FieldError {
                    field,
                    message: e.to_string(),
                });
            }
            match field {
                "matcher" => probe = without_matcher(&probe, judge_targets),
                "to" => probe.to = "/".to_owned(),
                "status" => probe.status = 303,
                "host" => probe.host = None,
                "type" => probe.default_type = None,
                "variants" => probe.variants.clear(),
                "cache_control" => probe.cache_control = None,
                _ => break,
            }
        }
        if errors.is_empty() {
            Ok(rule)
        } else {
            errors.sort_by_key(|e| FIELDS.iter().position(|f| *f == e.field));
            Err(errors)
        }
    }
}

/// `rule` with a plain path in place of its matcher; its targets kept when `keep_targets`.
fn without_matcher(rule: &RuleSpec, keep_targets: bool) -> RuleSpec {
    let mut probe = RuleSpec {
        path: Some("/".to_owned()),
        prefix: None,
        pattern: None,
        ..rule.clone()
    };
    if !keep_targets {
        probe.to = "/".to_owned();
        probe.variants.clear();
    }
    probe
}

/// The form field that a rule error is about.
pub fn field_of(e: &RuleError) -> &'static str {
    match e {
        RuleError::NoMatcher | RuleError::SeveralMatchers | RuleError::BadPath { .. } => "matcher",
        RuleError::Pattern { field, .. }
        | RuleError::Target { field, .. }
        | RuleError::HostLikeTarget { field, .. }
        | RuleError::TargetTooLong { field, .. } => {
            if field == "to" {
                "to"
            } else if field.starts_with("variants") {
                "variants"
            } else {
                "matcher"
            }
        }
        RuleError::Status(_) => "status",
        RuleError::Host(_) => "host",
        RuleError::MediaType { field, .. } => {
            if field == "type" {
                "type"
            } else {
                "variants"
            }
        }
        RuleError::DuplicateVariant(_) => "variants",
        RuleError::CacheControl(_) => "cache_control",
        _ => "form",
    }
}

/// The field error for a store refusal (a rule already matching the same thing).
pub fn store_error(e: &StoreError) -> FieldError {
    match e {
        StoreError::Conflict { .. } => FieldError {
            field: "matcher",
            message: e.to_string(),
        },
        e => FieldError {
            field: "form",
            message: e.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> RuleForm {
        RuleForm::from_fields(&Fields::from_pairs(
            pairs
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        ))
    }

    #[test]
    fn a_good_form_is_a_valid_rule() {
        let rule = form(&[
            ("kind", "pattern"),
            ("matcher", "/id/{name}"),
            ("to", "https://example.org/{name}"),
            ("status", "303"),
            ("variants", "text/turtle https://example.org/{name}.ttl\r\n"),
            ("described_by", "on"),
        ])
        .to_rule()
        .unwrap();
        assert_eq!(rule.pattern.as_deref(), Some("/id/{name}"));
        assert_eq!(rule.variants[0].media_type, "text/turtle");
        assert!(rule.described_by);
    }

    #[test]
    fn every_wrong_field_is_reported() {
        let errors = form(&[
            ("kind", "path"),
            ("matcher", "no-slash"),
            ("to", "javascript:alert(1)"),
            ("status", "200"),
            ("host", "a b"),
            ("type", "html"),
            ("cache_control", "x\u{7}"),
        ])
        .to_rule()
        .unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            ["matcher", "to", "status", "host", "type", "cache_control"],
            "{errors:?}"
        );
        let errors = form(&[("kind", "path"), ("matcher", "/x"), ("to", "javascript:x")])
            .to_rule()
            .unwrap_err();
        assert_eq!(errors[0].field, "to", "{errors:?}");
        assert_eq!(errors.len(), 1);
    }

    #[test]
    fn a_wrong_pattern_does_not_blame_its_targets() {
        let errors = form(&[
            ("kind", "pattern"),
            ("matcher", "/id/{name"),
            ("to", "https://example.org/{name}"),
        ])
        .to_rule()
        .unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["matcher"], "{errors:?}");
    }

    #[test]
    fn empty_required_fields() {
        let errors = form(&[("kind", "path"), ("status", "303")])
            .to_rule()
            .unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["matcher", "to"]);
    }
}
