//! Making URLs, header fields and messages safe to print: the password of a URL's userinfo
//! (`user:pass@`) is shown as `user:***@`, credentials in `Authorization`,
//! `Proxy-Authorization` and `Cookie` as `***`, and over-long words of a message are cut.
//!
//! The client's own [`Error`](crate::Error) messages go through [`message`]; the URLs in a
//! [`History`](crate::History) are kept as they were sent, for the caller to print through
//! [`url`].
//!
//! ```
//! use seeother_client::redact;
//! let u = url::Url::parse("https://ann:s3cret@example.com/a").unwrap();
//! assert_eq!(redact::url(&u), "https://ann:***@example.com/a");
//! assert_eq!(redact::message("GET http://ann:s3cret@h/ failed"), "GET http://ann:***@h/ failed");
//! ```

use std::borrow::Cow;

use http::HeaderValue;
use url::Url;

/// What stands for a secret.
pub const MASK: &str = "***";

/// A word of a message longer than this is cut.
pub const MAX_WORD: usize = 200;

/// A message longer than this (after its words are cut) is cut.
pub const MAX_MESSAGE: usize = 2000;

/// The URL with its password, if any, replaced by `***` (the user name stays).
pub fn url(url: &Url) -> Cow<'_, str> {
    if url.password().is_none() {
        return Cow::Borrowed(url.as_str());
    }
    let mut masked = url.clone();
    // A URL with a password has a host, so this cannot fail.
    let _ = masked.set_password(Some(MASK));
    Cow::Owned(masked.to_string())
}

/// `text` with the password of every `//user:pass@host` in it masked, wherever it appears
/// (a URL, a quoted `Location`, a lower layer's message).
pub fn userinfo(text: &str) -> Cow<'_, str> {
    let mut out = String::new();
    let mut copied = 0;
    let mut search = 0;
    while let Some(found) = text[search..].find("//") {
        let start = search + found + 2;
        // The authority ends at the path, query, fragment, or anything a URL stops at in prose.
        let end = text[start..]
            .find(|c: char| {
                matches!(c, '/' | '?' | '#' | '"' | '\'' | '<' | '>' | '`') || c.is_whitespace()
            })
            .map_or(text.len(), |i| start + i);
        let authority = &text[start..end];
        if let Some(at) = authority.rfind('@') {
            if let Some(colon) = authority[..at].find(':') {
                let (from, to) = (start + colon + 1, start + at);
                if text[from..to] != *MASK {
                    out.push_str(&text[copied..from]);
                    out.push_str(MASK);
                    copied = to;
                }
            }
        }
        search = end.max(start);
    }
    if copied == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// A message made safe and short enough to print: passwords masked ([`userinfo`]), every word
/// over [`MAX_WORD`] bytes cut with `…` and its length, and the whole cut at [`MAX_MESSAGE`].
pub fn message(text: &str) -> Cow<'_, str> {
    let masked = userinfo(text);
    let long_word = masked.split_whitespace().any(|w| w.len() > MAX_WORD);
    if !long_word && masked.len() <= MAX_MESSAGE {
        return masked;
    }
    let mut out = String::with_capacity(MAX_MESSAGE + 64);
    let mut rest: &str = &masked;
    while !rest.is_empty() {
        let space = rest
            .find(|c: char| !c.is_whitespace())
            .unwrap_or(rest.len());
        out.push_str(&rest[..space]);
        rest = &rest[space..];
        let word_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let word = &rest[..word_end];
        if word.len() > MAX_WORD {
            out.push_str(cut(word, MAX_WORD / 2));
            out.push_str(&format!("…[{} bytes]", word.len()));
        } else {
            out.push_str(word);
        }
        rest = &rest[word_end..];
    }
    if out.len() > MAX_MESSAGE {
        let total = out.len();
        out.truncate(cut(&out, MAX_MESSAGE).len());
        out.push_str(&format!("…[message of {total} bytes cut]"));
    }
    Cow::Owned(out)
}

/// A header field's value for printing: the credentials of `Authorization` and
/// `Proxy-Authorization` (the scheme stays: `Basic ***`) and the values of `Cookie`
/// (`sid=***; theme=***`) masked; other fields as they are (lossily as UTF-8).
pub fn header(name: &http::HeaderName, value: &HeaderValue) -> String {
    let text = String::from_utf8_lossy(value.as_bytes());
    if name == http::header::AUTHORIZATION || name == http::header::PROXY_AUTHORIZATION {
        return match text.split_once(' ') {
            Some((scheme, _)) => format!("{scheme} {MASK}"),
            None => MASK.to_owned(),
        };
    }
    if name == http::header::COOKIE {
        return text
            .split(';')
            .map(|pair| match pair.trim().split_once('=') {
                Some((n, _)) => format!("{n}={MASK}"),
                None => MASK.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("; ");
    }
    text.into_owned()
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked_wherever_they_appear() {
        assert_eq!(
            userinfo(r#"Location "//u:p@h/x" and https://a:b@c:1/?q=//d:e@f"#),
            r#"Location "//u:***@h/x" and https://a:***@c:1/?q=//d:***@f"#
        );
        assert_eq!(
            userinfo("http://user@host/ and http://h/a@b"),
            "http://user@host/ and http://h/a@b"
        );
        assert!(matches!(userinfo("nothing here"), Cow::Borrowed(_)));
        let u = Url::parse("http://u:p%40ss@h/").unwrap();
        assert_eq!(url(&u), "http://u:***@h/");
    }

    #[test]
    fn long_words_and_messages_are_cut_and_say_how_long_they_were() {
        let long = format!("GET http://h/{} failed", "é".repeat(50_000));
        let m = message(&long);
        assert!(m.len() < 300, "{m}");
        assert!(m.starts_with("GET http://h/"), "{m}");
        assert!(m.contains("…[100009 bytes] failed"), "{m}");
        let many = "word ".repeat(1000);
        let m = message(&many);
        assert!(
            m.len() < MAX_MESSAGE + 50 && m.ends_with("…[message of 5000 bytes cut]"),
            "{m}"
        );
    }

    #[test]
    fn debug_output_of_a_history_masks_too() {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_static("Basic c2VjcmV0"),
        );
        let hop = crate::HopRecord {
            method: http::Method::GET,
            url: Url::parse("http://ann:pw-123@h/").unwrap(),
            status: http::StatusCode::SEE_OTHER,
            version: http::Version::HTTP_11,
            location: Some(HeaderValue::from_static("http://bob:pw-456@h/next")),
            response_headers: http::HeaderMap::new(),
            request_headers: headers,
            body_sent: 0,
            reused: None,
            connection: None,
            elapsed: std::time::Duration::ZERO,
            connect: None,
        };
        let history = crate::History {
            url: hop.url.clone(),
            final_url: Url::parse("http://bob:pw-456@h/next").unwrap(),
            hops: vec![hop],
        };
        let text = format!("{history:?}");
        for secret in ["pw-123", "pw-456", "c2VjcmV0"] {
            assert!(!text.contains(secret), "{text}");
        }
        assert!(
            text.contains("ann:***@") && text.contains("Basic ***"),
            "{text}"
        );
    }

    #[test]
    fn credentials_in_header_fields_are_masked() {
        let v = |s: &str| HeaderValue::from_str(s).unwrap();
        assert_eq!(
            header(&http::header::AUTHORIZATION, &v("Bearer abc")),
            "Bearer ***"
        );
        assert_eq!(header(&http::header::PROXY_AUTHORIZATION, &v("abc")), "***");
        assert_eq!(
            header(&http::header::COOKIE, &v("a=1; b=2")),
            "a=***; b=***"
        );
        assert_eq!(header(&http::header::ACCEPT, &v("*/*")), "*/*");
    }
}
