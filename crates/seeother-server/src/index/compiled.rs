//! A rule compiled for answering: templates parsed, header values built, counters attached.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use http::HeaderValue;
use seeother_core::respond::{Redirect, RedirectStatus};

use crate::rule::{Kind, Pattern, QueryMode, RuleSpec, Template};

/// The media type offered for a rule's default target when it names none.
pub const DEFAULT_TYPE: &str = "text/html";

/// A rule ready to answer requests. Shared (`Arc`) between successive versions of the index,
/// so its hit counter survives index swaps.
#[derive(Debug)]
pub struct CompiledRule {
    pub(crate) id: i64,
    pub(crate) kind: Kind,
    pub(crate) host: Option<Box<str>>,
    pub(crate) matcher: Arc<str>,
    pub(crate) pattern: Option<Box<Pattern>>,
    pub(crate) status: RedirectStatus,
    pub(crate) query: QueryMode,
    /// Offered media types: the default's first, then each variant's.
    pub(crate) offered: Box<[Box<str>]>,
    /// Targets, in the order of `offered`.
    pub(crate) targets: Box<[Template]>,
    pub(crate) cache_control: Option<HeaderValue>,
    pub(crate) described_by: bool,
    pub(crate) gone: bool,
    pub(crate) hits: AtomicU64,
    /// For exact rules: one prebuilt redirect per offered target, built on first use.
    pub(crate) prebuilt: OnceLock<Box<[Option<Redirect>]>>,
}

impl CompiledRule {
    /// Compile a stored (already validated) rule. Fails only on a rule that never passed
    /// validation.
    pub fn new(id: i64, spec: &RuleSpec) -> Result<Self, crate::rule::RuleError> {
        let kind = spec.kind().ok_or(crate::rule::RuleError::NoMatcher)?;
        let matcher = spec.matcher();
        let pattern = match kind {
            Kind::Pattern => Some(Box::new(Pattern::parse(matcher).map_err(|error| {
                crate::rule::RuleError::Pattern {
                    field: "pattern".to_owned(),
                    error,
                }
            })?)),
            _ => None,
        };
        let template = |field: &str, text: &str| match &pattern {
            Some(p) => Template::parse(text, p).map_err(|error| crate::rule::RuleError::Pattern {
                field: field.to_owned(),
                error,
            }),
            None => Ok(Template::literal(text)),
        };
        let mut offered = Vec::with_capacity(1 + spec.variants.len());
        let mut targets = Vec::with_capacity(1 + spec.variants.len());
        offered.push(spec.default_type.as_deref().unwrap_or(DEFAULT_TYPE).into());
        targets.push(template("to", &spec.to)?);
        for v in &spec.variants {
            offered.push(v.media_type.as_str().into());
            targets.push(template("variants.to", &v.to)?);
        }
        Ok(CompiledRule {
            id,
            kind,
            host: spec.host.as_deref().map(Into::into),
            matcher: matcher.into(),
            pattern,
            status: RedirectStatus::from_code(spec.status).unwrap_or_default(),
            query: spec.query,
            offered: offered.into(),
            targets: targets.into(),
            cache_control: spec
                .cache_control
                .as_deref()
                .and_then(|v| HeaderValue::from_str(v).ok()),
            described_by: spec.described_by,
            gone: spec.gone,
            hits: AtomicU64::new(0),
            prebuilt: OnceLock::new(),
        })
    }

    /// The rule's id in the store.
    pub fn id(&self) -> i64 {
        self.id
    }

    /// How it matches.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The host it is scoped to, if any.
    pub fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }

    /// The path, prefix or pattern.
    pub fn matcher(&self) -> &str {
        &self.matcher
    }

    /// The redirect status.
    pub fn status(&self) -> RedirectStatus {
        self.status
    }

    /// Whether the rule is a tombstone (410 Gone).
    pub fn is_gone(&self) -> bool {
        self.gone
    }

    /// Whether the rule has content-negotiation variants.
    pub fn has_variants(&self) -> bool {
        self.offered.len() > 1
    }

    /// The media types offered, default first.
    pub fn offered(&self) -> &[Box<str>] {
        &self.offered
    }

    /// Count one answered request.
    #[inline]
    pub fn hit(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
    }

    /// Take the hits counted since the last call.
    pub fn take_hits(&self) -> u64 {
        self.hits.swap(0, Ordering::Relaxed)
    }

    /// Add hits (counts carried over, or given back after a failed flush).
    pub fn add_hits(&self, n: u64) {
        self.hits.fetch_add(n, Ordering::Relaxed);
    }

    /// The pattern, for pattern rules.
    pub(crate) fn pattern(&self) -> Option<&Pattern> {
        self.pattern.as_deref()
    }
}
