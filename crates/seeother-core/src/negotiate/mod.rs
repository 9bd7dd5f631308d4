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
    match MediaRange::parse(media_type.trim_ascii().as_bytes()) {
        Some(offered) if offered.kind != b"*" && offered.subtype != b"*" => {
            quality_of(headers, &offered)
        }
        _ => Quality::ZERO,
    }
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
    let mut best: Option<(usize, Quality)> = None;
    for (index, media_type) in offered.iter().enumerate() {
        let q = quality(headers, media_type.as_ref());
        // Ties keep the earlier offer: the server's order of preference.
        if q.is_acceptable() && best.is_none_or(|(_, best_q)| q > best_q) {
            best = Some((index, q));
            if q == Quality::ONE {
                break;
            }
        }
    }
    best.map(|(index, _)| index)
}

/// How specific a matching range is: concrete type and subtype first, then more parameters
/// (RFC 9110 §12.5.1: "the most specific reference has precedence"). Field order is the
/// comparison order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Specificity {
    /// 0 for `*/*`, 1 for `type/*`, 2 for `type/subtype`.
    level: u8,
    params: u16,
}

/// The quality the `Accept` fields give the well-formed, concrete `offered` type.
fn quality_of(headers: &HeaderMap, offered: &MediaRange<'_>) -> Quality {
    let mut any_member = false;
    let mut best: Option<(Specificity, Quality)> = None;
    // RFC 9110 §5.3: several Accept fields are one comma-separated list.
    for field in headers.get_all(ACCEPT) {
        // RFC 9110 §12.5.1: malformed members are ignored.
        for range in Members::new(field.as_bytes()).filter_map(MediaRange::parse) {
            any_member = true;
            let Some(specificity) = specificity(&range, offered) else {
                continue;
            };
            // Strictly more specific only: among equals, the first listed decides.
            if best.is_none_or(|(s, _)| specificity > s) {
                best = Some((specificity, range.q));
            }
        }
    }
    if !any_member {
        // RFC 9110 §12.5.1: no Accept field (or one that lists nothing we can read) means
        // any media type is acceptable.
        return Quality::ONE;
    }
    best.map_or(Quality::ZERO, |(_, q)| q)
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
