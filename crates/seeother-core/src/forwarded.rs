//! What a reverse proxy says about the request it forwards: the `Forwarded` field
//! (RFC 7239), else the de-facto `X-Forwarded-For`, `X-Forwarded-Host` and
//! `X-Forwarded-Proto`.
//!
//! These fields are whatever the sender wrote, so a server reads them only from a peer it
//! trusts to be its own proxy, and only as far back as the hops it trusts: walking the list
//! from the nearest hop, it skips the addresses of trusted proxies and stops at the first
//! address that is not one (nginx's `real_ip_recursive on`). That hop's element says the
//! client, and (in `Forwarded`) the host and scheme the client asked for.
//!
//! ```
//! use http::HeaderMap;
//! use seeother_core::forwarded::{self, Proto};
//!
//! let mut fields = HeaderMap::new();
//! fields.insert("forwarded", r#"for=198.51.100.7;host=id.example.org;proto=https"#.parse().unwrap());
//! let f = forwarded::of(&fields, |_| false);
//! assert_eq!(f.client, Some("198.51.100.7".parse().unwrap()));
//! assert_eq!((f.host.as_deref(), f.proto), (Some("id.example.org"), Some(Proto::Https)));
//! ```

use std::net::IpAddr;

use http::HeaderMap;
use http::header::FORWARDED;

/// A scheme a proxy may say the client used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    /// `http`
    Http,
    /// `https`
    Https,
}

impl Proto {
    fn parse(s: &str) -> Option<Proto> {
        // RFC 3986 §3.1: schemes are case-insensitive.
        if s.eq_ignore_ascii_case("https") {
            Some(Proto::Https)
        } else if s.eq_ignore_ascii_case("http") {
            Some(Proto::Http)
        } else {
            None
        }
    }
}

/// What the forwarding fields say; each part only when present and valid.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Forwarded {
    /// The client's address.
    pub client: Option<IpAddr>,
    /// The host the client asked for (a valid `Host` value, port included if given).
    pub host: Option<String>,
    /// The scheme the client used.
    pub proto: Option<Proto>,
}

/// One hop: its `for` and, in `Forwarded`, its `host` and `proto`.
#[derive(Default)]
struct Hop {
    /// `None` for `unknown` or an obfuscated identifier (RFC 7239 §6.2, §6.3).
    node: Option<IpAddr>,
    host: Option<String>,
    proto: Option<Proto>,
}

/// Read the forwarding fields of `headers`, sent by a trusted proxy. `trusted` tells the
/// addresses of further trusted proxies in the chain. `Forwarded` wins when present (RFC
/// 7239 §7.4 leaves the mix undefined; the standard field is the one to believe).
pub fn of(headers: &HeaderMap, trusted: impl Fn(IpAddr) -> bool) -> Forwarded {
    let standard: Vec<Hop> = headers
        .get_all(FORWARDED)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(elements)
        .map(hop)
        .collect();
    if !standard.is_empty() {
        return pick(standard, trusted);
    }
    let hops: Vec<Hop> = list(headers, "x-forwarded-for")
        .map(|s| Hop {
            node: node(s),
            ..Hop::default()
        })
        .collect();
    let host = list(headers, "x-forwarded-host")
        .last()
        .filter(|h| crate::host::check(h.as_bytes()).is_ok())
        .map(str::to_owned);
    let proto = list(headers, "x-forwarded-proto")
        .last()
        .and_then(Proto::parse);
    let mut f = if hops.is_empty() {
        Forwarded::default()
    } else {
        pick(hops, trusted)
    };
    // Set by the nearest proxy, which overwrites them (nginx `proxy_set_header`): the last.
    (f.host, f.proto) = (host, proto);
    f
}

/// The hop nearest the client that is not a trusted proxy (or the farthest, if all are).
fn pick(hops: Vec<Hop>, trusted: impl Fn(IpAddr) -> bool) -> Forwarded {
    let mut chosen = None;
    for h in hops.into_iter().rev() {
        let stop = !h.node.is_some_and(&trusted);
        chosen = Some(h);
        if stop {
            break;
        }
    }
    let h = chosen.unwrap_or_default();
    Forwarded {
        client: h.node,
        host: h.host,
        proto: h.proto,
    }
}

/// The comma-separated values of every field named `name`, in order, trimmed.
fn list<'h>(headers: &'h HeaderMap, name: &'static str) -> impl Iterator<Item = &'h str> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// RFC 7239 §4: `forwarded-element *( "," forwarded-element )`, commas inside quoted strings
/// not counted.
fn elements(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&value[start..]);
    out.into_iter()
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect()
}

/// RFC 7239 §4: `forwarded-pair *( ";" forwarded-pair )`, `token "=" value`, names
/// case-insensitive; a value is a token or a quoted-string (RFC 9110 §5.6.4).
fn hop(element: &str) -> Hop {
    let mut h = Hop::default();
    for pair in element.split(';') {
        let Some((name, value)) = pair.split_once('=') else {
            continue;
        };
        let value = unquote(value.trim());
        match name.trim().to_ascii_lowercase().as_str() {
            "for" => h.node = node(&value),
            "host" if crate::host::check(value.as_bytes()).is_ok() => h.host = Some(value),
            "proto" => h.proto = Proto::parse(&value),
            _ => {}
        }
    }
    h
}

fn unquote(v: &str) -> String {
    match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => {
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                out.push(if c == '\\' {
                    chars.next().unwrap_or('\\')
                } else {
                    c
                });
            }
            out
        }
        None => v.to_owned(),
    }
}

/// RFC 7239 §6: `node = nodename [ ":" node-port ]`, an IPv6 address in brackets;
/// `X-Forwarded-For` writes addresses bare.
fn node(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse() {
        return Some(ip);
    }
    if let Some(rest) = s.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    s.rsplit_once(':')?
        .0
        .parse::<std::net::Ipv4Addr>()
        .ok()
        .map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (n, v) in pairs {
            m.append(*n, v.parse().unwrap());
        }
        m
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn rfc_7239_examples() {
        // RFC 7239 §4 and §7.5's examples.
        let f = of(&fields(&[("forwarded", r#"for="_gazonk""#)]), |_| false);
        assert_eq!(f, Forwarded::default());
        let f = of(
            &fields(&[("forwarded", r#"For="[2001:db8:cafe::17]:4711""#)]),
            |_| false,
        );
        assert_eq!(f.client, ip("2001:db8:cafe::17"));
        let f = of(
            &fields(&[("forwarded", "for=192.0.2.60;proto=http;by=203.0.113.43")]),
            |_| false,
        );
        assert_eq!((f.client, f.proto), (ip("192.0.2.60"), Some(Proto::Http)));
        let f = of(
            &fields(&[("forwarded", "for=192.0.2.43, for=198.51.100.17")]),
            |_| false,
        );
        assert_eq!(f.client, ip("198.51.100.17"), "the nearest untrusted hop");
    }

    #[test]
    fn trusted_hops_are_skipped_and_their_elements_ignored() {
        let trusted = |a: IpAddr| a == "10.0.0.2".parse::<IpAddr>().unwrap();
        let f = of(
            &fields(&[
                (
                    "forwarded",
                    r#"for=203.0.113.9;host="id.example.org";proto=https"#,
                ),
                ("forwarded", "for=10.0.0.2;host=backend:8303;proto=http"),
            ]),
            trusted,
        );
        assert_eq!(f.client, ip("203.0.113.9"));
        assert_eq!(f.host.as_deref(), Some("id.example.org"));
        assert_eq!(f.proto, Some(Proto::Https));
        // A client's own spoofed element, left of a real one, is never reached.
        let f = of(
            &fields(&[(
                "forwarded",
                "for=1.2.3.4;host=evil.example, for=203.0.113.9;host=id.example.org",
            )]),
            trusted,
        );
        assert_eq!(
            (f.client, f.host.as_deref()),
            (ip("203.0.113.9"), Some("id.example.org"))
        );
    }

    #[test]
    fn x_forwarded_fields_when_there_is_no_forwarded() {
        let f = of(
            &fields(&[
                ("x-forwarded-for", "1.2.3.4, 203.0.113.9"),
                ("x-forwarded-for", "10.0.0.2"),
                ("x-forwarded-host", "id.example.org"),
                ("x-forwarded-proto", "HTTPS"),
            ]),
            |a| a == "10.0.0.2".parse::<IpAddr>().unwrap(),
        );
        assert_eq!(f.client, ip("203.0.113.9"));
        assert_eq!(
            (f.host.as_deref(), f.proto),
            (Some("id.example.org"), Some(Proto::Https))
        );
        // Values that are no host or scheme are not taken.
        let f = of(
            &fields(&[("x-forwarded-host", "a b"), ("x-forwarded-proto", "gopher")]),
            |_| false,
        );
        assert_eq!(f, Forwarded::default());
    }
}
