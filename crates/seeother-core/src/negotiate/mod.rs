//! Proactive content negotiation on `Accept` (RFC 9110 §12.5.1), for a 303 to the document
//! that best describes a resource.
//!
//! Parsing is lenient (malformed members are ignored, as §12.5.1 allows) and allocation-free,
//! since it runs on the server's hot path.
//!
//! The choices this module makes where the RFC leaves room:
//!
//! - A member that is not `type/subtype` (`text/`, `*/html`, `*`), or that has a malformed
//!   parameter or weight (`q=abc`, `q=2`, `q=0.5555`, `q="0.5"`), is ignored as a whole; the
//!   other members still count.
//! - Parameters after the weight (RFC 7231's accept-ext) are ignored.
//! - Several `Accept` fields are one list, in order (RFC 9110 §5.3).
//! - An `Accept` field with no well-formed member at all (an empty value, only garbage)
//!   expresses no preference and is treated like no `Accept` field: everything is acceptable.
//! - Among matching ranges, the most specific decides: `type/subtype` over `type/*` over
//!   `*/*`, then more parameters over fewer. Among equally specific ones, the first in the list
//!   decides.
//! - Parameter names compare case-insensitively; values compare after unquoting, exactly,
//!   except `charset`, whose values compare case-insensitively (RFC 9110 §8.3.2).
//! - An offered type that is not a well-formed `type/subtype` (or is a wildcard) has quality 0.

mod parse;

use http::HeaderMap;
use http::header::ACCEPT;

use parse::{MediaRange, Members, Param, Params, unquoted};

/// A quality value in thousandths: 0 (not acceptable) to 1000 (RFC 9110 §12.4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quality(pub u16);

impl Quality {
    /// `q=0`: not acceptable.
    pub const ZERO: Quality = Quality(0);
    /// `q=1`, the default weight.
    pub const ONE: Quality = Quality(1000);

    /// Whether the type may be sent at all (q > 0).
    pub fn is_acceptable(self) -> bool {
        self.0 > 0
    }
}

/// The quality the request's `Accept` fields give `media_type` (e.g. `"text/turtle"`): that of
/// the most specific matching range. No `Accept` field at all means everything is acceptable.
///
/// ```
/// use http::{HeaderMap, HeaderValue, header::ACCEPT};
/// use seeother_core::negotiate::{Quality, quality};
///
/// let mut headers = HeaderMap::new();
/// assert_eq!(quality(&headers, "text/turtle"), Quality::ONE);
///
/// headers.insert(ACCEPT, HeaderValue::from_static("text/*;q=0.3, text/html;q=0.7, */*;q=0.5"));
/// assert_eq!(quality(&headers, "text/html"), Quality(700));
/// assert_eq!(quality(&headers, "text/plain"), Quality(300));
/// assert_eq!(quality(&headers, "image/png"), Quality(500));
/// ```
pub fn quality(headers: &HeaderMap, media_type: &str) -> Quality {
    let mut out = [Quality::ZERO];
    rate(headers, &[offered_type(media_type)], &mut out);
    out[0]
}

/// The index of the best of `offered` media types for the request's `Accept` fields, highest
/// quality first and, on a tie, the earliest offered (the server's preference). `None` when
/// none is acceptable (every candidate has q=0). The caller adds `Vary: Accept`
/// (RFC 9110 §12.5.5).
///
/// ```
/// use http::{HeaderMap, HeaderValue, header::ACCEPT};
/// use seeother_core::negotiate::choose;
///
/// let offered = ["text/html", "text/turtle", "application/ld+json"];
/// let mut headers = HeaderMap::new();
///
/// // No Accept: the server's first choice.
/// assert_eq!(choose(&headers, &offered), Some(0));
///
/// // A browser prefers the page.
/// headers.insert(ACCEPT, HeaderValue::from_static(
///     "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"));
/// assert_eq!(choose(&headers, &offered), Some(0));
///
/// // A linked-data client asks for Turtle.
/// headers.insert(ACCEPT, HeaderValue::from_static("text/turtle, application/ld+json;q=0.9"));
/// assert_eq!(choose(&headers, &offered), Some(1));
///
/// // Nothing offered is acceptable.
/// headers.insert(ACCEPT, HeaderValue::from_static("image/*"));
/// assert_eq!(choose(&headers, &offered), None);
/// ```
pub fn choose<S: AsRef<str>>(headers: &HeaderMap, offered: &[S]) -> Option<usize> {
    if !headers.contains_key(ACCEPT) {
        // RFC 9110 §12.5.1: no Accept field, any media type is acceptable: the first offer.
        return offered
            .iter()
            .position(|t| offered_type(t.as_ref()).is_some());
    }
    let mut best: Option<(usize, Quality)> = None;
    // The Accept fields are walked once per batch of offers, with no allocation.
    for (batch, chunk) in offered.chunks(BATCH).enumerate() {
        let mut types = [None; BATCH];
        for (slot, media_type) in types.iter_mut().zip(chunk) {
            *slot = offered_type(media_type.as_ref());
        }
        let mut qualities = [Quality::ZERO; BATCH];
        rate(headers, &types[..chunk.len()], &mut qualities);
        for (i, &q) in qualities[..chunk.len()].iter().enumerate() {
            // Ties keep the earlier offer: the server's order of preference.
            if q.is_acceptable() && best.is_none_or(|(_, best_q)| q > best_q) {
                best = Some((batch * BATCH + i, q));
            }
        }
        if best.is_some_and(|(_, q)| q == Quality::ONE) {
            break;
        }
    }
    best.map(|(index, _)| index)
}

/// How many offered types are rated in one walk over the `Accept` fields.
const BATCH: usize = 8;

/// How specific a matching range is: concrete type and subtype first, then more parameters
/// (RFC 9110 §12.5.1: "the most specific reference has precedence"). Field order is the
/// comparison order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Specificity {
    /// 0 for `*/*`, 1 for `type/*`, 2 for `type/subtype`.
    level: u8,
    params: u16,
}

/// An offered media type, if it is a well-formed concrete `type/subtype`.
fn offered_type(media_type: &str) -> Option<MediaRange<'_>> {
    MediaRange::parse(media_type.trim_ascii().as_bytes())
        .filter(|t| t.kind != b"*" && t.subtype != b"*")
}

/// Write into `out[i]` the quality the `Accept` fields give `types[i]` (0 for `None`), in one
/// walk over the fields.
fn rate(headers: &HeaderMap, types: &[Option<MediaRange<'_>>], out: &mut [Quality]) {
    debug_assert!(types.len() <= BATCH && out.len() >= types.len());
    let mut any_member = false;
    let mut best: [Option<(Specificity, Quality)>; BATCH] = [None; BATCH];
    // RFC 9110 §5.3: several Accept fields are one comma-separated list.
    for field in headers.get_all(ACCEPT) {
        // RFC 9110 §12.5.1: malformed members are ignored.
        for range in Members::new(field.as_bytes()).filter_map(MediaRange::parse) {
            any_member = true;
            for (offered, best) in types.iter().zip(&mut best) {
                let Some(specificity) = offered.as_ref().and_then(|t| specificity(&range, t))
                else {
                    continue;
                };
                // Strictly more specific only: among equals, the first listed decides.
                if best.is_none_or(|(s, _)| specificity > s) {
                    *best = Some((specificity, range.q));
                }
            }
        }
    }
    for ((offered, best), out) in types.iter().zip(&best).zip(out) {
        *out = match (offered, best) {
            (None, _) => Quality::ZERO,
            // RFC 9110 §12.5.1: no Accept field (or one that lists nothing we can read) means
            // any media type is acceptable.
            (Some(_), _) if !any_member => Quality::ONE,
            (Some(_), Some((_, q))) => *q,
            (Some(_), None) => Quality::ZERO,
        };
    }
}

/// How specifically `range` matches `offered`, or `None` when it does not.
fn specificity(range: &MediaRange<'_>, offered: &MediaRange<'_>) -> Option<Specificity> {
    // RFC 9110 §8.3.1: type and subtype are case-insensitive.
    let level = if range.kind == b"*" {
        0
    } else if !range.kind.eq_ignore_ascii_case(offered.kind) {
        return None;
    } else if range.subtype == b"*" {
        1
    } else if range.subtype.eq_ignore_ascii_case(offered.subtype) {
        2
    } else {
        return None;
    };
    // Every parameter the range names must be on the offered type with the same value.
    let mut walk = Params { rest: range.params };
    while let Some(Param::Pair(name, value)) = walk.next() {
        let theirs = offered.param(name)?;
        if !same_value(name, value, theirs) {
            return None;
        }
    }
    Some(Specificity {
        level,
        params: range.param_count,
    })
}

/// Whether two raw parameter values for `name` are equal: quoted and token forms are
/// equivalent (RFC 9110 §5.6.6), `charset` is case-insensitive (RFC 9110 §8.3.2).
fn same_value(name: &[u8], a: &[u8], b: &[u8]) -> bool {
    if name.eq_ignore_ascii_case(b"charset") {
        unquoted(a)
            .map(|c| c.to_ascii_lowercase())
            .eq(unquoted(b).map(|c| c.to_ascii_lowercase()))
    } else {
        unquoted(a).eq(unquoted(b))
    }
}
