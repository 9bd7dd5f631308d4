//! The short hypertext note of a redirect (RFC 9110 §15.4.4), and the page shell that the
//! server's other small pages share.

use std::borrow::Cow;

use http::StatusCode;

use crate::location::Location;

/// `Content-Type` of the note and of every page built with [`page`].
pub const CONTENT_TYPE: &str = "text/html; charset=utf-8";

/// The page's whole stylesheet: readable on any screen, nothing to fetch.
const STYLE: &str = "body{font:1rem/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;\
                     padding:0 1rem}a{overflow-wrap:anywhere}";

/// The note for a redirect: the smallest complete HTML page whose one link is exactly
/// `location`.
///
/// RFC 9110 §15.4.4: the note holds "a hyperlink to the same URI reference provided in the
/// Location header field", so a relative reference stays relative. The title is the status's
/// reason phrase; the link's `href` and text are the escaped `location`. The note goes out with
/// every redirect and is read only by clients that do not follow (a browser never shows it),
/// so it is kept short: no stylesheet, and the tags HTML lets a page leave out are left out.
/// It is ASCII (a `Location` is), so it needs no `charset` of its own.
///
/// ```
/// use http::StatusCode;
/// use seeother_core::{Location, note};
///
/// let location = Location::parse("/orders/42?view=a&b").unwrap();
/// let html = note::render(StatusCode::SEE_OTHER, &location);
/// assert!(html.starts_with("<!doctype html>"));
/// assert!(html.contains("<title>See Other</title>"));
/// assert!(html.contains(r#"<a href="/orders/42?view=a&amp;b">/orders/42?view=a&amp;b</a>"#));
/// ```
pub fn render(status: StatusCode, location: &Location) -> String {
    let title = status.canonical_reason().unwrap_or("Redirect");
    let target = escape(location.as_str());
    let lead = lead(status);
    let mut html = String::with_capacity(80 + title.len() + lead.len() + 2 * target.len());
    // HTML: the `head` and `body` tags and the end tags of `html` and `p` may be omitted.
    html.push_str("<!doctype html>\n<html lang=\"en\">\n<title>");
    html.push_str(title);
    html.push_str("</title>\n<p>");
    html.push_str(lead);
    html.push_str(" <a href=\"");
    html.push_str(&target);
    html.push_str("\">");
    html.push_str(&target);
    html.push_str("</a>.\n");
    html
}

/// `Content-Type` of the plain-text note made by [`render_text`].
pub const TEXT_CONTENT_TYPE: &str = "text/plain; charset=utf-8";

/// The note as plain text, for a client that asked for `text/plain`: the lead of the HTML note
/// and the exact `location`, on one line.
///
/// RFC 9110 §15.4.4 asks for a hyperlink; in plain text the URI reference itself is the link,
/// as the server sent it (a relative reference stays relative). Plain text needs no escaping
/// and a `Location` is ASCII.
///
/// ```
/// use http::StatusCode;
/// use seeother_core::{Location, note};
///
/// let location = Location::parse("/orders/42?view=a&b").unwrap();
/// assert_eq!(note::render_text(StatusCode::SEE_OTHER, &location), "See /orders/42?view=a&b\n");
/// ```
pub fn render_text(status: StatusCode, location: &Location) -> String {
    let lead = lead(status);
    let target = location.as_str();
    let mut text = String::with_capacity(lead.len() + target.len() + 2);
    text.push_str(lead);
    text.push(' ');
    text.push_str(target);
    text.push('\n');
    text
}

/// The words before the link, for a redirect with `status`.
fn lead(status: StatusCode) -> &'static str {
    match status {
        StatusCode::SEE_OTHER => "See",
        StatusCode::MOVED_PERMANENTLY | StatusCode::PERMANENT_REDIRECT => {
            "This resource has moved permanently to"
        }
        StatusCode::FOUND | StatusCode::TEMPORARY_REDIRECT => "This resource is temporarily at",
        _ => "Go to",
    }
}

/// A complete small HTML page with `title` (escaped here) and `body_html` (already HTML).
///
/// The title is also the page's `<h1>`; `body_html` follows it. The shell is `<!doctype html>`,
/// `lang="en"`, UTF-8, a viewport meta and a tiny inline stylesheet.
///
/// ```
/// use seeother_core::note;
///
/// let html = note::page("Gone <for good>", "<p>Nothing here.</p>");
/// assert!(html.contains("<h1>Gone &lt;for good&gt;</h1>\n<p>Nothing here.</p>"));
/// ```
pub fn page(title: &str, body_html: &str) -> String {
    let title = escape(title);
    let mut html = String::with_capacity(256 + STYLE.len() + 2 * title.len() + body_html.len());
    html.push_str("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    html.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    html.push_str("<title>");
    html.push_str(&title);
    html.push_str("</title>\n<style>");
    html.push_str(STYLE);
    html.push_str("</style>\n</head>\n<body>\n<h1>");
    html.push_str(&title);
    html.push_str("</h1>\n");
    html.push_str(body_html);
    html.push_str("\n</body>\n</html>\n");
    html
}

/// Escape `&`, `<`, `>`, `"` and `'` so `text` is safe in HTML text and quoted attributes.
///
/// Borrows when there is nothing to escape.
///
/// ```
/// use seeother_core::note::escape;
///
/// assert_eq!(escape(r#"<a href="x">'&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
/// assert!(matches!(escape("/plain/path"), std::borrow::Cow::Borrowed(_)));
/// ```
pub fn escape(text: &str) -> Cow<'_, str> {
    let Some(first) = text.bytes().position(|b| entity(b).is_some()) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len() + 16);
    out.push_str(&text[..first]);
    escape_runs(&text[first..], |run| out.push_str(run));
    Cow::Owned(out)
}

/// The length of [`escape`]`(text)`: `text.len()` exactly when nothing needs escaping.
pub(crate) fn escaped_len(text: &str) -> usize {
    text.bytes().map(|b| entity(b).map_or(1, str::len)).sum()
}

/// Append [`escape`]`(text)` to `out`.
pub(crate) fn escape_into(text: &str, out: &mut Vec<u8>) {
    escape_runs(text, |run| out.extend_from_slice(run.as_bytes()));
}

/// [`escape`]`(text)` in pieces, in order: runs of `text` that need nothing, and entities.
fn escape_runs<'t>(text: &'t str, mut emit: impl FnMut(&'t str)) {
    let mut start = 0;
    for (i, b) in text.bytes().enumerate() {
        // Every special character is ASCII, so `i` and `i + 1` are character boundaries.
        if let Some(entity) = entity(b) {
            emit(&text[start..i]);
            emit(entity);
            start = i + 1;
        }
    }
    emit(&text[start..]);
}

/// The entity that stands for `b`, if `b` could end HTML text or a quoted attribute value, or
/// start a character reference.
fn entity(b: u8) -> Option<&'static str> {
    match b {
        b'&' => Some("&amp;"),
        b'<' => Some("&lt;"),
        b'>' => Some("&gt;"),
        b'"' => Some("&quot;"),
        b'\'' => Some("&#39;"),
        _ => None,
    }
}
