//! Rule groups: an ordered list of regular-expression steps under a path scope.
//!
//! A rule with `scope = "/dir/"` answers the requests below `/dir/` that no `path`, `pattern`
//! or `prefix` rule answers, when no deeper scope covers them: a deeper scope shadows its
//! parent's entirely. Its `steps` run in order against the path below the scope (the first
//! that stops wins), as a per-directory rule set of mod_rewrite does; `docs/rules.md` gives
//! the fields.

use serde::{Deserialize, Serialize};

/// What a step's `query` does with the request's query string when the target has its own.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum StepQuery {
    /// A target with `?` replaces the request's query; one without keeps it.
    #[default]
    Replace,
    /// The request's query is appended to the target's own.
    Append,
    /// The request's query is dropped.
    Drop,
}

impl StepQuery {
    fn is_default(&self) -> bool {
        *self == StepQuery::Replace
    }
}

/// A test a step needs to pass: `test` (a template, e.g. `{header:accept}`) matched by `regex`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// What is tested: a template of request values (see `docs/rules.md`).
    pub test: String,
    /// The regular expression it must match (its groups are `{%1}` … in the target).
    pub regex: String,
    /// Match without regard to case.
    #[serde(default, skip_serializing_if = "is_false")]
    pub nocase: bool,
    /// Pass when the regex does *not* match.
    #[serde(default, skip_serializing_if = "is_false")]
    pub negate: bool,
    /// Pass when this condition or the next one passes (instead of this one and the next).
    #[serde(default, skip_serializing_if = "is_false")]
    pub or: bool,
}

/// One step of a group.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// The regular expression matched against the path below the scope (no leading `/`);
    /// searched, so anchor it with `^…$` to match the whole path.
    pub regex: String,
    /// Match without regard to case.
    #[serde(default, skip_serializing_if = "is_false")]
    pub nocase: bool,
    /// Apply when the regex does *not* match (no captures then).
    #[serde(default, skip_serializing_if = "is_false")]
    pub negate: bool,
    /// Conditions, all of which must pass (`or` joins one to the next).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub when: Vec<Condition>,
    /// The new path or URL, a template (`{1}` a capture of `regex`, `{%1}` of the last
    /// condition); `-` keeps the path as it is.
    #[serde(default = "keep")]
    pub to: String,
    /// The answer: a redirect (301, 302, 303, 307, 308) to `to`, or 403, 404, 406, 410 with
    /// the server's page. None: `to` rewrites the path, and the rules run again on it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::whole::option_u16"
    )]
    #[schema(minimum = 0, maximum = 65535)]
    pub status: Option<u16>,
    /// Stop after this step when it applies.
    #[serde(default, skip_serializing_if = "is_false")]
    pub last: bool,
    /// Send `to` as written, not percent-encoded (mod_rewrite's `NE`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub raw: bool,
    /// What happens to the request's query.
    #[serde(default, skip_serializing_if = "StepQuery::is_default")]
    pub query: StepQuery,
    /// Skip this many following steps when this one applies.
    #[serde(
        default,
        skip_serializing_if = "is_zero",
        deserialize_with = "super::whole::u16"
    )]
    #[schema(minimum = 0, maximum = 65535)]
    pub skip: u16,
    /// Run also when the scope is asked for without its final slash, before the slash
    /// redirect (mod_alias's `Redirect` does; mod_rewrite's rules do not).
    #[serde(default, skip_serializing_if = "is_false")]
    pub bare: bool,
    /// Variables set when this step applies (mod_rewrite's `E=NAME:VALUE`), for later steps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub set: Vec<SetVar>,
    /// When this step applies, run the steps again from the first, on its result
    /// (mod_rewrite's `N`); a request that needs more than [`MAX_ROUNDS`] rounds answers 500.
    #[serde(default, skip_serializing_if = "is_false")]
    pub again: bool,
    /// When this step does not apply, skip the steps chained to it too: the following ones up
    /// to and including the first without `chain` (mod_rewrite's `C`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub chain: bool,
    /// When this step rewrites the path, drop the path info (what followed the first segment
    /// below the scope), which later steps would see appended to the new path (mod_rewrite's
    /// `DPI`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub discard_info: bool,
    /// Percent-encode what the captures (`{1}`, `{%1}`) put into `to` (mod_rewrite's `B`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escape: Option<Escape>,
}

/// Which characters of a capture a step's `escape` percent-encodes (mod_rewrite's `B`,
/// `B=chars`, `BNE=chars`, `BCTLS`, `BNP`). Letters, digits and `_` are never encoded.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Escape {
    /// Only these characters (`B=chars`); every other one when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only: Option<String>,
    /// Control characters and the space (`BCTLS`), instead of every character (with `only`,
    /// those too).
    #[serde(default, skip_serializing_if = "is_false")]
    pub controls: bool,
    /// Never these characters (`BNE=chars`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep: Option<String>,
    /// A space becomes `%20`, not `+` (`BNP`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub no_plus: bool,
}

/// Rounds a group's steps may run for one request through `again` steps; one more answers
/// 500. Apache allows 32,000 (mod_rewrite's `REWRITE_MAX_ROUNDS`); seeother stops sooner to
/// bound the work of one request, which no real rule set needs (a round per character
/// changed is the common use).
pub const MAX_ROUNDS: usize = 100;

/// A variable a step sets: `value` is a template.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetVar {
    /// The name.
    pub name: String,
    /// The value, a template.
    pub value: String,
}

/// A variable a group sets before its steps run, when `test` matches `regex` (mod_setenvif's
/// `SetEnvIf`); steps read it as `{env:NAME}`. Later definitions win.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvRule {
    /// The variable's name.
    pub name: String,
    /// Its value, a template (`{1}` a capture of `regex`); none unsets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// What is tested, a template such as `{path}` or `{header:accept}`.
    pub test: String,
    /// The regular expression it must match.
    pub regex: String,
    /// Match without regard to case.
    #[serde(default, skip_serializing_if = "is_false")]
    pub nocase: bool,
}

/// Where a group's error answers go instead (core's `ErrorDocument` with a URL): a 302 to
/// `to` in place of the `status` page.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorPage {
    /// The status replaced: 403, 404, 406 or 410.
    #[serde(deserialize_with = "super::whole::u16")]
    #[schema(minimum = 0, maximum = 65535)]
    pub status: u16,
    /// The absolute URL redirected to.
    pub to: String,
}

/// A response header field a group sets.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HeaderField {
    /// The field name.
    pub name: String,
    /// Its value.
    pub value: String,
    /// Send it on every answer, redirects and error pages included (`Header always set`);
    /// otherwise only on successful answers, which a redirect server does not give.
    #[serde(default, skip_serializing_if = "is_false")]
    pub always: bool,
}

fn keep() -> String {
    "-".to_owned()
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &u16) -> bool {
    *n == 0
}

/// Statuses a step may answer with other than redirects: RFC 9110 §15.5.4 (403), §15.5.5
/// (404), §15.5.7 (406), §15.5.11 (410).
pub const ANSWER_STATUSES: &[u16] = &[403, 404, 406, 410];

/// A group's own fields, as the store keeps them (one JSON object).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GroupBody {
    /// The steps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<Step>,
    /// The header fields.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<HeaderField>,
    /// The slash redirect.
    #[serde(default, skip_serializing_if = "is_false")]
    pub slash: bool,
    /// The base.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// The variables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvRule>,
    /// The error pages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ErrorPage>,
}

impl super::RuleSpec {
    /// A group's own fields as JSON (`None` for a rule that is no group).
    pub fn group_json(&self) -> Option<String> {
        (self.kind() == Some(super::Kind::Scope)).then(|| {
            serde_json::to_string(&GroupBody {
                steps: self.steps.clone(),
                headers: self.headers.clone(),
                slash: self.slash,
                base: self.base.clone(),
                env: self.env.clone(),
                errors: self.errors.clone(),
            })
            .unwrap_or_default()
        })
    }

    /// Set a group's own fields from their JSON.
    pub fn set_group_json(&mut self, json: &str) -> Result<(), serde_json::Error> {
        let body: GroupBody = serde_json::from_str(json)?;
        self.steps = body.steps;
        self.headers = body.headers;
        self.slash = body.slash;
        self.base = body.base;
        self.env = body.env;
        self.errors = body.errors;
        Ok(())
    }
}
