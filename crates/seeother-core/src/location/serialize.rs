//! The server's side: turn a target into the exact `Location` bytes to send.

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use url::{Host, Position, Url};

use super::{LocationError, Schemes};

/// Encoded in a path, query or userinfo: the WHATWG URL fragment percent-encode set (controls,
/// space, `"`, `<`, `>`, `` ` ``) plus what RFC 3986 §2 allows nowhere outside an IP literal
/// (`\`, `^`, `{`, `|`, `}`, `[`, `]`), so the value is a valid URI reference that browsers and
/// RFC 3986 parsers read alike (a raw `\` is a `/` to browsers, see the guard).
const PATH_QUERY: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'\\')
    .add(b'^')
    .add(b'{')
    .add(b'|')
    .add(b'}')
    .add(b'[')
    .add(b']');

/// Encoded in a fragment: as above, and a second `#` (RFC 3986 §3.5).
const FRAGMENT: &AsciiSet = &PATH_QUERY.add(b'#');

/// Encoded in a target sent as written (mod_rewrite's `NE`): only what browsers encode
/// themselves in a path, query or fragment (the WHATWG fragment percent-encode set), and `\`,
/// which browsers read as `/` in an http(s) path. `|`, `^`, `{`, `}`, `[`, `]` and a second
/// `#` are sent as they are: RFC 3986 §2 does not allow them there, but browsers take them
/// as written (WHATWG URL leaves them unencoded), and so does Apache's `NE`.
const AS_WRITTEN: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'\\');

/// How much of a target is percent-encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Encoding {
    /// A valid RFC 3986 URI reference.
    Strict,
    /// As written, as far as browsers read it alike ([`AS_WRITTEN`]).
    AsWritten,
}

/// The wire form of a server-side target, or why it cannot be sent.
pub(super) fn serialize(
    input: &str,
    schemes: &Schemes,
    enc: Encoding,
) -> Result<String, LocationError> {
    // RFC 9110 §5.5: CR, LF and NUL in a field value split or cut the response; every other
    // control character (C0 and DEL) is refused as well.
    if let Some(index) = input.bytes().position(|b| b.is_ascii_control()) {
        let byte = input.as_bytes()[index];
        return Err(LocationError::Control { byte, index });
    }
    // WHATWG URL §4.4 (basic URL parser): leading and trailing spaces are stripped.
    let target = input.trim_matches(' ');
    if target.is_empty() {
        return Err(LocationError::Empty);
    }
    let invalid = |reason: String| LocationError::Invalid {
        value: input.to_owned(),
        reason,
    };
    let Some(scheme) = scheme_of(target) else {
        return relative(target, enc).map_err(invalid);
    };
    let lower = scheme.to_ascii_lowercase();
    if !schemes.allows(&lower) {
        return Err(LocationError::ForbiddenScheme { scheme: lower });
    }
    let rest = &target[scheme.len() + 1..];
    if lower == "http" || lower == "https" {
        return absolute_http(&lower, target, rest, enc).map_err(invalid);
    }
    let mut out = format!("{lower}:"); // RFC 3986 §6.2.2.1: schemes in lower case
    push_reference(&mut out, rest, false, enc).map_err(invalid)?;
    Ok(out)
}

/// The scheme of `s`, if it starts with one: `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":"`
/// (RFC 3986 §3.1).
fn scheme_of(s: &str) -> Option<&str> {
    let scheme = &s[..s.find(':')?];
    let mut bytes = scheme.bytes();
    let first = bytes.next()?;
    let valid = first.is_ascii_alphabetic()
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    valid.then_some(scheme)
}

/// An absolute http(s) URL, in the form browsers give it (WHATWG URL serialisation: lower-case
/// IDNA host, default port dropped, dot segments removed), then encoded as RFC 3986 asks.
fn absolute_http(scheme: &str, target: &str, rest: &str, enc: Encoding) -> Result<String, String> {
    // RFC 9110 §4.2.1: an http(s) URI has an authority. Without `//` browsers read
    // `https:host` as a path relative to the current URL when the schemes match and as a host
    // otherwise; such an ambiguous target is refused.
    if !rest.starts_with("//") {
        return Err(format!(
            "an {scheme} URL needs `//` and a host after `{scheme}:`; write \
             `{scheme}://host.example/path`"
        ));
    }
    let url = Url::parse(target).map_err(|e| e.to_string())?;
    check_host(url.host_str().unwrap_or_default())?;
    let mut out = String::with_capacity(url.as_str().len());
    // The head (scheme, userinfo, host, port) is encoded by the URL parser; only a stray `%`
    // in the userinfo is left to fix.
    push_encoded(&mut out, &url[..Position::BeforePath], &AsciiSet::EMPTY);
    push_tail(&mut out, &url[Position::BeforePath..], enc);
    Ok(out)
}

/// A relative reference (RFC 3986 §4.2), kept relative.
fn relative(target: &str, enc: Encoding) -> Result<String, String> {
    let mut out = String::with_capacity(target.len() + 8);
    push_reference(&mut out, target, true, enc)?;
    // RFC 3986 §4.2: a relative path whose first segment holds a `:` would read as a scheme;
    // `./` keeps it a path with the same resolution.
    let first_segment = out.split(['/', '?', '#']).next().unwrap_or_default();
    if !out.starts_with('/') && first_segment.contains(':') {
        out.insert_str(0, "./");
    }
    Ok(out)
}

/// Append `rest` (a hierarchical part or relative part, with query and fragment) encoded.
/// `special`: the reference will be resolved against an http(s) URL, so its host is parsed as
/// browsers parse an http host; otherwise as an opaque host.
fn push_reference(
    out: &mut String,
    rest: &str,
    special: bool,
    enc: Encoding,
) -> Result<(), String> {
    let Some(after) = rest.strip_prefix("//") else {
        push_tail(out, rest, enc);
        return Ok(());
    };
    // RFC 3986 §3.2: the authority ends at the next `/`, `?` or `#`.
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    push_authority(out, &after[..end], special)?;
    push_tail(out, &after[end..], enc);
    Ok(())
}

/// Append `//authority`, its host checked and normalised as browsers do (WHATWG host parser).
fn push_authority(out: &mut String, authority: &str, special: bool) -> Result<(), String> {
    out.push_str("//");
    // RFC 3986 §3.2.1: userinfo ends at the last `@`.
    let host_port = match authority.rfind('@') {
        Some(at) => {
            push_encoded(out, &authority[..at], PATH_QUERY);
            out.push('@');
            &authority[at + 1..]
        }
        None => authority,
    };
    // RFC 3986 §3.2.2, §3.2.3: an IP literal in brackets, or a name, then an optional port.
    let (host, port) = match host_port.strip_prefix('[') {
        Some(literal) => {
            let close = literal
                .find(']')
                .ok_or("the IPv6 address has no closing `]`")?;
            let port = &literal[close + 1..];
            match port.strip_prefix(':') {
                Some(port) => (&host_port[..close + 2], Some(port)),
                None if port.is_empty() => (host_port, None),
                None => return Err(format!("unexpected `{port}` after the IPv6 address")),
            }
        }
        None => match host_port.rfind(':') {
            Some(colon) => (&host_port[..colon], Some(&host_port[colon + 1..])),
            None => (host_port, None),
        },
    };
    if host.is_empty() {
        if special {
            // WHATWG URL "special authority ignore slashes state": browsers would take the next
            // path segment as the host (`///evil.example`).
            return Err("the host after `//` is empty".to_owned());
        }
    } else {
        let parsed = if special {
            Host::parse(host)
        } else {
            Host::parse_opaque(host)
        };
        let parsed = parsed
            .map_err(|e| format!("the host `{host}` is not valid: {e}"))?
            .to_string();
        check_host(&parsed)?;
        out.push_str(&parsed);
    }
    if let Some(port) = port {
        // RFC 3986 §3.2.3: port = *DIGIT; browsers refuse ports above 65535.
        if !port.is_empty()
            && (!port.bytes().all(|b| b.is_ascii_digit()) || port.parse::<u16>().is_err())
        {
            return Err(format!("the port `{port}` is not a number from 0 to 65535"));
        }
        out.push(':');
        out.push_str(port);
    }
    Ok(())
}

/// RFC 3986 §3.2.2: a host is an IP literal or `*( unreserved / pct-encoded / sub-delims )`.
/// The WHATWG host parser lets a few more characters through (`` ` ``, `{`, `"`, a stray `%`
/// in an opaque host …), which would reach the wire raw; they are refused.
fn check_host(host: &str) -> Result<(), String> {
    if host.starts_with('[') {
        return Ok(()); // an IP literal, already checked by the host parser
    }
    let bytes = host.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        let triplet = || {
            bytes
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
        };
        let allowed = b.is_ascii_alphanumeric()
            || b"-._~!$&'()*+,;=".contains(&b)
            || (b == b'%' && triplet());
        if !allowed {
            return Err(format!(
                "the host `{}` holds `{}`, which a URI host may not contain",
                host.escape_debug(),
                (b as char).escape_debug()
            ));
        }
    }
    Ok(())
}

/// Append path, query and fragment, each encoded with its set.
fn push_tail(out: &mut String, tail: &str, enc: Encoding) {
    if enc == Encoding::AsWritten {
        push_encoded(out, tail, AS_WRITTEN);
        return;
    }
    match tail.split_once('#') {
        Some((before, fragment)) => {
            push_encoded(out, before, PATH_QUERY);
            out.push('#');
            push_encoded(out, fragment, FRAGMENT);
        }
        None => push_encoded(out, tail, PATH_QUERY),
    }
}

/// Append `text` percent-encoded with `set` (non-ASCII always): an existing `%XX` is kept, a
/// `%` not followed by two hex digits becomes `%25` (RFC 3986 §2.1, §2.4), so encoding twice
/// changes nothing.
fn push_encoded(out: &mut String, text: &str, set: &'static AsciiSet) {
    let mut rest = text;
    while let Some(percent) = rest.find('%') {
        out.extend(utf8_percent_encode(&rest[..percent], set));
        let after = rest.as_bytes()[percent + 1..].get(..2);
        match after {
            Some([a, b]) if a.is_ascii_hexdigit() && b.is_ascii_hexdigit() => out.push('%'),
            _ => out.push_str("%25"),
        }
        rest = &rest[percent + 1..];
    }
    out.extend(utf8_percent_encode(rest, set));
}
