//! A rule compiled for answering: templates parsed, header values built, counters attached.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use http::HeaderValue;
use seeother_core::location::{Location, LocationError};
use seeother_core::respond::{Redirect, RedirectStatus};

use super::RuleParts;
use crate::rule::{CompiledGroup, Kind, Pattern, QueryMode, RuleError, RuleSpec, Template};

/// How many rules may hold prebuilt responses at once. A prebuilt response (header block and
/// note) takes about 2 KiB, so prebuilding every rule of a large table would take more memory
/// than the table itself; the first rules asked for (the popular ones, in practice) get one,
/// and the others build their response per request.
pub const PREBUILT_LIMIT: usize = 8 * 1024;

/// Rules holding prebuilt responses now.
static PREBUILT: AtomicUsize = AtomicUsize::new(0);

/// The media type offered for a rule's default target when it names none.
pub const DEFAULT_TYPE: &str = "text/html";

/// A rule ready to answer requests. Shared (`Arc`) between successive versions of the index,
/// so its hit counter survives index swaps. Kept small (the common exact rule is one
/// allocation for itself plus one each for its path and target); what few rules use lives
/// in [`Extra`].
#[derive(Debug)]
pub struct CompiledRule {
    pub(crate) id: i64,
    pub(crate) hits: AtomicU64,
    pub(crate) matcher: Box<str>,
    pub(crate) host: Option<Box<str>>,
    /// The default target.
    pub(crate) target: Template,
    pub(crate) kind: Kind,
    pub(crate) status: RedirectStatus,
    pub(crate) query: QueryMode,
    pub(crate) described_by: bool,
    pub(crate) gone: bool,
    pub(crate) extra: Option<Box<Extra>>,
    /// For exact rules: what answering needs, made on first use.
    pub(crate) ready: OnceLock<Ready>,
}

/// What an exact rule keeps after its first request, so later ones only copy and count.
#[derive(Debug)]
pub(crate) enum Ready {
    /// A rule with no header fields of its own: its validated target (boxed, so that rules
    /// never asked for pay one pointer).
    Plain(Box<Location>),
    /// A rule with variants, `Cache-Control` or `Link`: one prebuilt redirect per target
    /// (default first); `None` for a target that is not a valid `Location`.
    Built(Box<[Option<Redirect>]>),
}

/// The parts of a rule that most rules do not have.
#[derive(Debug, Default)]
pub(crate) struct Extra {
    pub(crate) pattern: Option<Pattern>,
    /// Offered media types, the default's first, when the rule has variants.
    pub(crate) offered: Box<[Box<str>]>,
    /// The variants' targets, in the order of `offered[1..]`.
    pub(crate) variants: Box<[Template]>,
    /// Answers per offered type since the last flush, in the order of `offered`.
    pub(crate) served: Box<[AtomicU64]>,
    pub(crate) cache_control: Option<HeaderValue>,
    /// A group's steps.
    pub(crate) group: Option<Arc<CompiledGroup>>,
}

impl CompiledRule {
    /// Compile a stored (already validated) rule. Fails only on a rule that never passed
    /// validation.
    pub fn new(id: i64, spec: &RuleSpec) -> Result<Self, RuleError> {
        Self::build(RuleParts::of_spec(id, spec)?)
    }

    /// Compile a rule from its parts.
    pub fn build(p: RuleParts<'_>) -> Result<Self, RuleError> {
        let pattern = match p.kind {
            Kind::Pattern => {
                Some(
                    Pattern::parse(p.matcher).map_err(|error| RuleError::Pattern {
                        field: "pattern".to_owned(),
                        error,
                    })?,
                )
            }
            _ => None,
        };
        let template = |field: &str, text: &str| match &pattern {
            Some(pat) => Template::parse(text, pat).map_err(|error| RuleError::Pattern {
                field: field.to_owned(),
                error,
            }),
            None => Ok(Template::literal(text)),
        };
        let target = template("to", p.to)?;
        let mut offered = Vec::new();
        let mut variants = Vec::with_capacity(p.variants.len());
        if !p.variants.is_empty() {
            offered.push(p.default_type.unwrap_or(DEFAULT_TYPE).into());
            for v in p.variants.iter() {
                offered.push(v.media_type.as_str().into());
                variants.push(template("variants.to", &v.to)?);
            }
        }
        let cache_control = p.cache_control.and_then(|v| HeaderValue::from_str(v).ok());
        let group = p.group;
        let extra = (pattern.is_some()
            || !variants.is_empty()
            || cache_control.is_some()
            || group.is_some())
        .then(|| {
            Box::new(Extra {
                pattern,
                served: offered.iter().map(|_| AtomicU64::new(0)).collect(),
                offered: offered.into(),
                variants: variants.into(),
                cache_control,
                group,
            })
        });
        Ok(CompiledRule {
            id: p.id,
            hits: AtomicU64::new(0),
            matcher: p.matcher.into(),
            host: p.host.map(Into::into),
            target,
            kind: p.kind,
            status: RedirectStatus::from_code(p.status).unwrap_or_default(),
            query: p.query,
            described_by: p.described_by,
            gone: p.gone,
            extra,
            ready: OnceLock::new(),
        })
    }

    /// Whether the rule's answer carries no header field of its own (no variants, no
    /// `Cache-Control`, no `Link`): such a rule answers with [`Redirect::respond`].
    pub(crate) fn is_plain(&self) -> bool {
        self.extra.is_none() && !self.described_by
    }

    /// The validated default target of a plain exact rule, parsed with `parse` on first use
    /// and kept (a target that does not parse is not kept: the error is answered each time).
    pub(crate) fn location(
        &self,
        parse: impl FnOnce() -> Result<Location, LocationError>,
    ) -> Result<&Location, LocationError> {
        if let Some(Ready::Plain(location)) = self.ready.get() {
            return Ok(location);
        }
        let location = parse()?;
        match self.ready.get_or_init(|| Ready::Plain(Box::new(location))) {
            Ready::Plain(location) => Ok(location),
            // Only plain rules are asked for a location.
            Ready::Built(_) => Err(LocationError::Empty),
        }
    }

    /// The prebuilt responses (one per target), made with `make` on first use while fewer
    /// than [`PREBUILT_LIMIT`] rules hold some; `None` past that limit.
    pub(crate) fn prebuilt(
        &self,
        make: impl FnOnce() -> Box<[Option<Redirect>]>,
    ) -> Option<&[Option<Redirect>]> {
        if let Some(Ready::Built(p)) = self.ready.get() {
            return Some(p);
        }
        if PREBUILT.fetch_add(1, Ordering::Relaxed) >= PREBUILT_LIMIT {
            PREBUILT.fetch_sub(1, Ordering::Relaxed);
            return None;
        }
        let mut made = false;
        let ready = self.ready.get_or_init(|| {
            made = true;
            Ready::Built(make())
        });
        if !made {
            // Another request built it first and counted it.
            PREBUILT.fetch_sub(1, Ordering::Relaxed);
        }
        match ready {
            Ready::Built(p) => Some(p),
            Ready::Plain(_) => None,
        }
    }

    /// The target for offered type `i` (0 is the default).
    pub(crate) fn target(&self, i: usize) -> &Template {
        match (i, &self.extra) {
            (0, _) | (_, None) => &self.target,
            (i, Some(extra)) => extra.variants.get(i - 1).unwrap_or(&self.target),
        }
    }

    /// How many targets (1 + variants).
    pub(crate) fn target_count(&self) -> usize {
        1 + self.extra.as_ref().map_or(0, |e| e.variants.len())
    }

    /// The `Cache-Control` value, if the rule sets one.
    pub(crate) fn cache_control(&self) -> Option<&HeaderValue> {
        self.extra.as_ref()?.cache_control.as_ref()
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
        self.extra.as_ref().is_some_and(|e| !e.variants.is_empty())
    }

    /// The media types offered, default first (empty without variants).
    pub fn offered(&self) -> &[Box<str>] {
        self.extra.as_ref().map_or(&[], |e| &e.offered)
    }

    /// Count one answered request.
    #[inline]
    pub fn hit(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
    }

    /// Count one answer with the target offered at `variant` (0 is the default); nothing for
    /// a rule without variants.
    #[inline]
    pub fn served(&self, variant: usize) {
        if let Some(c) = self.extra.as_ref().and_then(|e| e.served.get(variant)) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Take the answers per offered type counted since the last call, as (media type, count),
    /// into `out`.
    pub fn take_served(&self, out: &mut Vec<(Box<str>, u64)>) {
        let Some(e) = self.extra.as_ref() else {
            return;
        };
        for (t, c) in e.offered.iter().zip(e.served.iter()) {
            let n = c.swap(0, Ordering::Relaxed);
            if n > 0 {
                out.push((t.clone(), n));
            }
        }
    }

    /// The hits counted since the last flush, left in place.
    pub fn pending_hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// The rule's parts when it could be packed (a plain exact or prefix rule).
    pub(crate) fn packable_parts(&self) -> Option<RuleParts<'_>> {
        if !self.is_plain() || matches!(self.kind, Kind::Pattern | Kind::Scope) {
            return None;
        }
        Some(RuleParts {
            id: self.id,
            kind: self.kind,
            host: self.host(),
            matcher: &self.matcher,
            to: self.target.as_literal()?,
            status: self.status.code().as_u16(),
            query: self.query,
            default_type: None,
            variants: Default::default(),
            cache_control: None,
            described_by: false,
            gone: self.gone,
            group: None,
        })
    }

    /// Take the hits counted since the last call.
    pub fn take_hits(&self) -> u64 {
        self.hits.swap(0, Ordering::Relaxed)
    }

    /// Add hits (counts carried over, or given back after a failed flush).
    pub fn add_hits(&self, n: u64) {
        self.hits.fetch_add(n, Ordering::Relaxed);
    }

    /// The steps, for groups.
    pub fn group(&self) -> Option<&CompiledGroup> {
        self.extra.as_deref()?.group.as_deref()
    }

    /// The pattern, for pattern rules.
    pub(crate) fn pattern(&self) -> Option<&Pattern> {
        self.extra.as_ref()?.pattern.as_ref()
    }
}

impl Drop for CompiledRule {
    fn drop(&mut self) {
        if let Some(Ready::Built(_)) = self.ready.get() {
            PREBUILT.fetch_sub(1, Ordering::Relaxed);
        }
    }
}
