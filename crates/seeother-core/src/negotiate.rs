//! Proactive content negotiation on `Accept` (RFC 9110 §12.5.1), for a 303 to the document
//! that best describes a resource.
//!
//! Parsing is lenient (malformed members are ignored, as §12.5.1 allows) and allocation-free,
//! since it runs on the server's hot path.

use http::HeaderMap;

/// A quality value in thousandths: 0 (not acceptable) to 1000 (RFC 9110 §12.4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quality(pub u16);

/// The quality the request's `Accept` fields give `media_type` (e.g. `"text/turtle"`): that of
/// the most specific matching range. No `Accept` field at all means everything is acceptable.
pub fn quality(headers: &HeaderMap, media_type: &str) -> Quality {
    let _ = (headers, media_type);
    todo!()
}

/// The index of the best of `offered` media types for the request's `Accept` fields, highest
/// quality first and, on a tie, the earliest offered (the server's preference). `None` when
/// none is acceptable (every candidate has q=0). The caller adds `Vary: Accept`
/// (RFC 9110 §12.5.5).
pub fn choose<S: AsRef<str>>(headers: &HeaderMap, offered: &[S]) -> Option<usize> {
    let _ = (headers, offered.len());
    todo!()
}
