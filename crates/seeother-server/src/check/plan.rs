//! [`plan`]: the URLs a rule sends its readers to, each with the `Accept` that reaches it, or
//! why it cannot be checked as it stands.

use url::Url;

use crate::rule::{Kind, RuleSpec};

/// One target of a rule: its default target or one of its content-negotiation variants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned {
    /// The rule's id in the store (`None` for a rule from a file).
    pub rule: Option<i64>,
    /// The variant's media type; `None` for the rule's default target.
    pub variant: Option<String>,
    /// The target as the rule has it.
    pub to: String,
    /// The media type asked for in `Accept` (the variant's, or the default target's `type`).
    pub accept: Option<String>,
    /// The URL to check, or why there is none.
    pub url: Result<Url, Skip>,
}

/// Why a target is not checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    /// A pattern's target with `{name}` placeholders: each request fills it differently.
    Template,
    /// A rule group: its steps build their targets from the request.
    Group,
    /// A tombstone answers 410 Gone itself.
    Gone,
    /// A path on the server itself, and no base URL was given.
    Relative,
    /// Not a URL (nor a path) that can be fetched.
    NotUrl,
}

impl Skip {
    /// Why, in words.
    pub fn reason(self) -> &'static str {
        match self {
            Skip::Template => {
                "a template: its {placeholders} are filled from each request, so it cannot be \
                 checked as such"
            }
            Skip::Group => "a rule group: its steps build each target from the request",
            Skip::Gone => "a tombstone: the identifier answers 410 Gone itself",
            Skip::Relative => {
                "a path on this server: give --base URL (the server's address) to check it"
            }
            Skip::NotUrl => "not an http(s) URL",
        }
    }

    /// A stable snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            Skip::Template => "template",
            Skip::Group => "group",
            Skip::Gone => "gone",
            Skip::Relative => "relative",
            Skip::NotUrl => "not_url",
        }
    }
}

/// The targets of `rule`, default first, then its variants in order; relative targets are
/// resolved against `base` when there is one.
pub fn plan(rule: &RuleSpec, base: Option<&Url>) -> Vec<Planned> {
    let kind = rule.kind();
    let mut out = Vec::with_capacity(1 + rule.variants.len());
    let one = |variant: Option<&str>, to: &str, accept: Option<&str>| {
        let url = if kind == Some(Kind::Scope) {
            Err(Skip::Group)
        } else if rule.gone {
            Err(Skip::Gone)
        } else if kind == Some(Kind::Pattern) && to.contains('{') {
            Err(Skip::Template)
        } else {
            resolve(to, base)
        };
        Planned {
            rule: rule.id,
            variant: variant.map(str::to_owned),
            to: to.to_owned(),
            accept: accept.map(str::to_owned),
            url,
        }
    };
    out.push(one(None, &rule.to, rule.default_type.as_deref()));
    for v in &rule.variants {
        out.push(one(Some(&v.media_type), &v.to, Some(&v.media_type)));
    }
    out
}

fn resolve(to: &str, base: Option<&Url>) -> Result<Url, Skip> {
    let url = match Url::parse(to) {
        Ok(url) => url,
        Err(url::ParseError::RelativeUrlWithoutBase) => match base {
            Some(base) => base.join(to).map_err(|_| Skip::NotUrl)?,
            None => return Err(Skip::Relative),
        },
        Err(_) => return Err(Skip::NotUrl),
    };
    match url.scheme() {
        "http" | "https" => Ok(url),
        _ => Err(Skip::NotUrl),
    }
}
