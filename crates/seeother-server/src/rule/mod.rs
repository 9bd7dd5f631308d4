//! Rules: what an operator writes (in a rule file or through the API) and its validation.
//!
//! A [`RuleSpec`] maps requests to a target by exactly one of an exact `path`, a `prefix` whose
//! remainder is appended to the target, or a `pattern` with named captures. [`RuleSpec::validate`]
//! checks every field and puts the rule in its canonical form; a rule that fails it is never
//! stored.

mod expr;
mod group;
mod pattern;
mod pikevm;
mod prefilter;
mod steps;
mod validate;
mod whole;

use serde::{Deserialize, Serialize};

/// The path prefix reserved for the server's own pages and API; rules never answer under it.
pub const RESERVED_PREFIX: &str = "/-/";

pub use expr::{Caps, Expr};
pub use group::{
    ANSWER_STATUSES, Condition, EnvRule, ErrorPage, Escape, GroupBody, HeaderField, MAX_ROUNDS,
    SetVar, Step, StepQuery,
};
pub use pattern::{Captures, Pattern, PatternError, Template};
pub use prefilter::StepFilter;
pub use steps::{
    Action, CaptureEscape, CompiledCondition, CompiledGroup, CompiledStep, Piece, StepTemplate,
    Var, compile_steps,
};
pub use validate::{MAX_TARGET_LEN, RuleError};

/// How a rule matches the request path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// The path is exactly the rule's `path`.
    Path,
    /// The path starts with the rule's `prefix`; the remainder is appended to the target.
    Prefix,
    /// The path matches the rule's `pattern`; captures fill the target's placeholders.
    Pattern,
    /// The path is below the rule's `scope` and no deeper scope covers it; the rule's `steps`
    /// decide the answer.
    Scope,
}

impl Kind {
    /// The field name in rule files and the API: `path`, `prefix` or `pattern`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Path => "path",
            Kind::Prefix => "prefix",
            Kind::Pattern => "pattern",
            Kind::Scope => "scope",
        }
    }

    /// The kind named `name` (`path`, `prefix` or `pattern`).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "path" => Some(Kind::Path),
            "prefix" => Some(Kind::Prefix),
            "pattern" => Some(Kind::Pattern),
            "scope" => Some(Kind::Scope),
            _ => None,
        }
    }
}

/// What happens to the request's query string.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum QueryMode {
    /// Append the request's query to the target (after the target's own query, if any).
    #[default]
    Append,
    /// Drop the request's query.
    Drop,
}

impl QueryMode {
    /// `append` or `drop`.
    pub fn as_str(self) -> &'static str {
        match self {
            QueryMode::Append => "append",
            QueryMode::Drop => "drop",
        }
    }

    /// The mode named `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "append" => Some(QueryMode::Append),
            "drop" => Some(QueryMode::Drop),
            _ => None,
        }
    }
}

/// A content-negotiation variant: requests that prefer `media_type` go to `to`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// The media type, e.g. `text/turtle`.
    #[serde(rename = "type")]
    #[schema(
        pattern = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+/[!#$%&'*+.^_`|~0-9A-Za-z-]+$",
        example = "text/turtle"
    )]
    pub media_type: String,
    /// The target for that type (placeholders allowed, as in the rule's `to`).
    #[schema(max_length = 8192, example = "https://example.org/data/{name}.ttl")]
    pub to: String,
}

/// One rule, as written in a rule file or sent to the API.
///
/// ```
/// use seeother_server::rule::{Kind, RuleSpec};
///
/// let rule = RuleSpec::pattern("/id/{name}", "https://example.org/page/{name}").validate().unwrap();
/// assert_eq!(rule.kind(), Some(Kind::Pattern));
/// assert_eq!(rule.status, 303);
/// assert!(RuleSpec::path("/x", "/a\r\nSet-Cookie: y").validate().is_err());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Rule)]
pub struct RuleSpec {
    /// The rule's id in the store (set by the server; ignored on input).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(read_only, minimum = -9223372036854775808_i64, maximum = 9223372036854775807_i64)]
    pub id: Option<i64>,
    /// Exact path match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = r"^/[^?#\u0000-\u001f\u007f]*$", example = "/id/berlin")]
    pub path: Option<String>,
    /// Prefix match; the remainder of the path is appended to the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = r"^/[^?#\u0000-\u001f\u007f]*$", example = "/docs/")]
    pub prefix: Option<String>,
    /// Pattern match with `{name}` segments and a final `{*rest}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = r"^/[^?#\u0000-\u001f\u007f]*$", example = "/id/{name}")]
    pub pattern: Option<String>,
    /// A rule group's path scope, ending in `/` (see [`Step`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The target (a path or an absolute http(s) URL); empty for a group, whose steps have
    /// their own.
    #[serde(default)]
    #[schema(max_length = 8192, example = "https://example.org/page/berlin")]
    pub to: String,
    /// The redirect status: 303 (default), 301, 302, 307 or 308.
    #[serde(default = "default_status", deserialize_with = "whole::status")]
    #[schema(default = 303, minimum = 0, maximum = 65535)]
    pub status: u16,
    /// Answer only requests for this host (any host when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "id.example.org")]
    pub host: Option<String>,
    /// What happens to the request's query string.
    #[serde(default)]
    #[schema(inline, default = "append")]
    pub query: QueryMode,
    /// The media type of the default target, offered first in content negotiation
    /// (`text/html` when absent).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    #[schema(
        pattern = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+/[!#$%&'*+.^_`|~0-9A-Za-z-]+$",
        default = "text/html"
    )]
    pub default_type: Option<String>,
    /// Content-negotiation variants.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<Variant>,
    /// A `Cache-Control` value for the redirect (a 303 is cached only with explicit freshness).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "max-age=3600")]
    pub cache_control: Option<String>,
    /// Add `Link: <target>; rel="describedby"`.
    #[serde(default, skip_serializing_if = "is_false")]
    #[schema(default = false)]
    pub described_by: bool,
    /// A tombstone: the identifier answers 410 Gone.
    #[serde(default, skip_serializing_if = "is_false")]
    #[schema(default = false)]
    pub gone: bool,
    /// A group's steps, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<Step>,
    /// Response header fields a group's answers carry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<HeaderField>,
    /// A group: the scope without its final `/` is redirected (301) to the scope, as a
    /// directory is (mod_dir's `DirectorySlash`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub slash: bool,
    /// A group: what a step's relative target is taken below (mod_rewrite's `RewriteBase`);
    /// the scope when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// A group: variables set before its steps run (`{env:NAME}` in templates).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvRule>,
    /// A group: URLs its 403, 404, 406 and 410 answers redirect to (302) instead.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ErrorPage>,
    /// Requests answered by this rule so far (set by the server; ignored on input).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(read_only, maximum = 18446744073709551615_u64)]
    pub hits: Option<u64>,
}

fn default_status() -> u16 {
    303
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl RuleSpec {
    /// An exact-path rule to `to`, with every other field at its default.
    pub fn path(path: &str, to: &str) -> Self {
        Self::new(Kind::Path, path, to)
    }

    /// A prefix rule to `to`.
    pub fn prefix(prefix: &str, to: &str) -> Self {
        Self::new(Kind::Prefix, prefix, to)
    }

    /// A pattern rule to `to`.
    pub fn pattern(pattern: &str, to: &str) -> Self {
        Self::new(Kind::Pattern, pattern, to)
    }

    /// A group under `scope` running `steps` in order.
    pub fn scope(scope: &str, steps: Vec<Step>) -> Self {
        RuleSpec {
            steps,
            ..Self::new(Kind::Scope, scope, "")
        }
    }

    /// A rule of `kind` matching `matcher`, to `to`.
    pub fn new(kind: Kind, matcher: &str, to: &str) -> Self {
        let mut rule = RuleSpec {
            to: to.to_owned(),
            status: default_status(),
            ..RuleSpec::default()
        };
        *rule.matcher_slot(kind) = Some(matcher.to_owned());
        rule
    }

    fn matcher_slot(&mut self, kind: Kind) -> &mut Option<String> {
        match kind {
            Kind::Path => &mut self.path,
            Kind::Prefix => &mut self.prefix,
            Kind::Pattern => &mut self.pattern,
            Kind::Scope => &mut self.scope,
        }
    }

    /// The kind, when exactly one of `path`, `prefix`, `pattern` is set.
    pub fn kind(&self) -> Option<Kind> {
        match (&self.path, &self.prefix, &self.pattern, &self.scope) {
            (Some(_), None, None, None) => Some(Kind::Path),
            (None, Some(_), None, None) => Some(Kind::Prefix),
            (None, None, Some(_), None) => Some(Kind::Pattern),
            (None, None, None, Some(_)) => Some(Kind::Scope),
            _ => None,
        }
    }

    /// The path, prefix or pattern (whichever is set).
    pub fn matcher(&self) -> &str {
        self.path
            .as_deref()
            .or(self.prefix.as_deref())
            .or(self.pattern.as_deref())
            .or(self.scope.as_deref())
            .unwrap_or("")
    }

    /// The rule's identity in the store: host (empty for any), kind and matcher. Two rules with
    /// the same key cannot coexist.
    pub fn key(&self) -> (String, Kind, String) {
        (
            self.host.clone().unwrap_or_default(),
            self.kind().unwrap_or(Kind::Path),
            self.matcher().to_owned(),
        )
    }

    /// The same rule without the server-set fields (`id`, `hits`), as rule files carry it.
    pub fn without_server_fields(mut self) -> Self {
        self.id = None;
        self.hits = None;
        self
    }
}
