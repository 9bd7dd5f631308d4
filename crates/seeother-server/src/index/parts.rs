//! The fields a rule is filed from, borrowed from a stored row or a rule spec.

use std::borrow::Cow;

use std::sync::Arc;

use crate::rule::{CompiledGroup, Kind, QueryMode, RuleError, RuleSpec, Variant};
use crate::store::RuleRow;

/// One rule's fields, ready to be packed or compiled.
#[derive(Clone, Debug)]
pub struct RuleParts<'a> {
    /// The rule's id in the store.
    pub id: i64,
    /// How it matches.
    pub kind: Kind,
    /// The host it is scoped to (`None`: any host).
    pub host: Option<&'a str>,
    /// The path, prefix or pattern.
    pub matcher: &'a str,
    /// The default target.
    pub to: &'a str,
    /// The redirect status code.
    pub status: u16,
    /// What happens to the request's query.
    pub query: QueryMode,
    /// The default target's media type, when there are variants.
    pub default_type: Option<&'a str>,
    /// Content-negotiation variants.
    pub variants: Cow<'a, [Variant]>,
    /// A `Cache-Control` value to send.
    pub cache_control: Option<&'a str>,
    /// Whether to send `Link: <target>; rel="describedby"`.
    pub described_by: bool,
    /// Whether the rule is a tombstone (410 Gone).
    pub gone: bool,
    /// A group's compiled steps.
    pub group: Option<Arc<CompiledGroup>>,
}

impl<'a> RuleParts<'a> {
    /// The parts of a (validated) rule spec stored as rule `id`.
    pub fn of_spec(id: i64, spec: &'a RuleSpec) -> Result<Self, RuleError> {
        Ok(RuleParts {
            id,
            kind: spec.kind().ok_or(RuleError::NoMatcher)?,
            host: spec.host.as_deref(),
            matcher: spec.matcher(),
            to: &spec.to,
            status: spec.status,
            query: spec.query,
            default_type: spec.default_type.as_deref(),
            variants: Cow::Borrowed(&spec.variants),
            cache_control: spec.cache_control.as_deref(),
            described_by: spec.described_by,
            gone: spec.gone,
            group: match spec.kind() {
                Some(Kind::Scope) => Some(Arc::new(CompiledGroup::new(
                    spec.matcher(),
                    &spec.steps,
                    &spec.headers,
                    spec.slash,
                    spec.base.as_deref(),
                    &spec.env,
                    &spec.errors,
                )?)),
                _ => None,
            },
        })
    }

    /// The parts of a stored row (its variants parsed from their JSON).
    pub fn of_row(row: &RuleRow<'a>) -> Result<Self, RuleError> {
        let variants = match row.variants {
            Some(json) => Cow::Owned(
                serde_json::from_str(json)
                    .map_err(|e| RuleError::Damaged(format!("variants: {e}")))?,
            ),
            None => Cow::Borrowed(&[][..]),
        };
        Ok(RuleParts {
            id: row.id,
            kind: row.kind,
            host: (!row.host.is_empty()).then_some(row.host),
            matcher: row.matcher,
            to: row.to,
            status: row.status,
            query: row.query,
            default_type: row.default_type,
            variants,
            cache_control: row.cache_control,
            described_by: row.described_by,
            gone: row.gone,
            group: match row.kind {
                Kind::Scope => {
                    let mut spec = RuleSpec::new(Kind::Scope, row.matcher, "");
                    spec.set_group_json(row.group.unwrap_or("{}"))
                        .map_err(|e| RuleError::Damaged(format!("group: {e}")))?;
                    Some(Arc::new(CompiledGroup::new(
                        row.matcher,
                        &spec.steps,
                        &spec.headers,
                        spec.slash,
                        spec.base.as_deref(),
                        &spec.env,
                        &spec.errors,
                    )?))
                }
                _ => None,
            },
        })
    }

    /// Whether the rule can be packed: an exact path or a prefix whose answer carries no header
    /// field of its own (no variants, `Cache-Control` or `Link`). Nearly every rule of a large
    /// table is one.
    pub fn is_plain(&self) -> bool {
        matches!(self.kind, Kind::Path | Kind::Prefix)
            && self.variants.is_empty()
            && self.cache_control.is_none()
            && !self.described_by
            && self.group.is_none()
    }
}
