//! The rule form: its fields as posted ([`RuleFields`]), as typed ([`RuleForm`], kept to
//! re-render the form) and as a [`RuleSpec`] with an error per field.

use serde::Deserialize;

use crate::rule::{Kind, QueryMode, RuleError, RuleSpec, Variant};
use crate::store::StoreError;

/// The rule form's fields as posted (`application/x-www-form-urlencoded`); a missing field
/// is empty, a checkbox is present or not.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct RuleFields {
    /// `path`, `prefix` or `pattern`.
    pub kind: String,
    /// The path, prefix or pattern.
    pub matcher: String,
    /// The target.
    pub to: String,
    /// The status.
    pub status: String,
    /// The host.
    pub host: String,
    /// `append` or `drop`.
    pub query: String,
    /// The default target's media type.
    #[serde(rename = "type")]
    pub media_type: String,
    /// One variant per line.
    pub variants: String,
    /// `Cache-Control` value.
    pub cache_control: String,
    /// The `Link: rel=describedby` checkbox.
    pub described_by: Option<String>,
    /// The tombstone checkbox.
    pub gone: Option<String>,
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
    pub fn from_fields(f: &RuleFields) -> Self {
        RuleForm {
            kind: f.kind.trim().to_owned(),
            matcher: f.matcher.trim().to_owned(),
            to: f.to.trim().to_owned(),
            status: f.status.trim().to_owned(),
            host: f.host.trim().to_owned(),
            query: f.query.trim().to_owned(),
            media_type: f.media_type.trim().to_owned(),
            variants: f.variants.replace("\r\n", "\n").trim().to_owned(),
            cache_control: f.cache_control.trim().to_owned(),
            described_by: f.described_by.is_some(),
            gone: f.gone.is_some(),
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
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        RuleForm::from_fields(&serde_urlencoded::from_str(&body).unwrap())
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
