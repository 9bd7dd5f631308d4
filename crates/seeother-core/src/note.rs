//! The short hypertext note of a redirect (RFC 9110 §15.4.4), and the page shell that the
//! server's other small pages share.

use std::borrow::Cow;

use http::StatusCode;

use crate::location::Location;

/// `Content-Type` of the note and of every page built with [`page`].
pub const CONTENT_TYPE: &str = "text/html; charset=utf-8";

/// The note for a redirect: a small HTML page whose one link is exactly `location`.
pub fn render(status: StatusCode, location: &Location) -> String {
    let _ = (status, location);
    todo!()
}

/// A complete small HTML page with `title` (escaped here) and `body_html` (already HTML).
pub fn page(title: &str, body_html: &str) -> String {
    let _ = (title, body_html);
    todo!()
}

/// Escape `&`, `<`, `>`, `"` and `'` so `text` is safe in HTML text and quoted attributes.
pub fn escape(text: &str) -> Cow<'_, str> {
    let _ = text;
    todo!()
}
