//! Allocation-free parsing of `Accept` members and media types, over the field's bytes.

use super::Quality;

/// A media type or media range: `type "/" subtype parameters` (RFC 9110 §8.3.1, §12.5.1),
/// borrowed from the bytes it was parsed from.
#[derive(Clone, Copy, Debug)]
pub(super) struct MediaRange<'a> {
    /// The type, `*` for any.
    pub kind: &'a [u8],
    /// The subtype, `*` for any.
    pub subtype: &'a [u8],
    /// The raw parameters before any weight, each introduced by `;` (walk with [`Params`]).
    pub params: &'a [u8],
    /// How many parameters `params` holds.
    pub param_count: u16,
    /// The weight, 1 when absent (RFC 9110 §12.4.2).
    pub q: Quality,
}

impl<'a> MediaRange<'a> {
    /// Parse one list member. `None` when it is malformed: not `type/subtype`, a wildcard type
    /// with a concrete subtype (`*/html`), a bad parameter or a bad weight.
    pub fn parse(member: &'a [u8]) -> Option<Self> {
        let slash = member.iter().position(|&b| b == b'/')?;
        let kind = &member[..slash];
        let rest = &member[slash + 1..];
        let end = rest
            .iter()
            .position(|&b| !is_tchar(b))
            .unwrap_or(rest.len());
        let subtype = &rest[..end];
        // RFC 9110 §8.3.1: type and subtype are tokens; §12.5.1: `*/*` or `type/*` only.
        if !is_token(kind) || !is_token(subtype) || (kind == b"*" && subtype != b"*") {
            return None;
        }
        let params = &rest[end..];
        let mut q = Quality::ONE;
        let mut param_count = 0u16;
        let mut walk = Params { rest: params };
        let mut params_end = params.len();
        loop {
            let before = walk.rest;
            match walk.next()? {
                Param::End => break,
                // RFC 9110 §12.4.2: the weight is the parameter named "q" (case-insensitive);
                // what follows it was the old accept-ext (RFC 7231) and is ignored.
                Param::Pair(name, value) if name.eq_ignore_ascii_case(b"q") => {
                    q = parse_qvalue(value)?;
                    params_end = params.len() - before.len();
                    break;
                }
                Param::Pair(..) => param_count = param_count.saturating_add(1),
            }
        }
        Some(Self {
            kind,
            subtype,
            params: &params[..params_end],
            param_count,
            q,
        })
    }

    /// The parameter named `name` (case-insensitive, RFC 9110 §5.6.6), if present and valid.
    pub fn param(&self, name: &[u8]) -> Option<&'a [u8]> {
        let mut walk = Params { rest: self.params };
        loop {
            match walk.next()? {
                Param::End => return None,
                Param::Pair(n, value) if n.eq_ignore_ascii_case(name) => return Some(value),
                Param::Pair(..) => {}
            }
        }
    }
}

/// One step of a parameter walk.
pub(super) enum Param<'a> {
    /// No more parameters.
    End,
    /// A name and its raw value (a token, or a quoted-string with its quotes).
    Pair(&'a [u8], &'a [u8]),
}

/// A walk over `*( OWS ";" OWS [ parameter ] )` (RFC 9110 §5.6.6). Yields `None` on the first
/// malformed byte.
pub(super) struct Params<'a> {
    pub rest: &'a [u8],
}

impl<'a> Params<'a> {
    /// The next parameter, [`Param::End`] at the end, `None` when malformed.
    pub fn next(&mut self) -> Option<Param<'a>> {
        loop {
            let rest = trim_start(self.rest);
            let Some((&first, after)) = rest.split_first() else {
                self.rest = rest;
                return Some(Param::End);
            };
            if first != b';' {
                return None;
            }
            let after = trim_start(after);
            // RFC 9110 §5.6.6: the parameter after `;` is optional.
            if after.is_empty() || after[0] == b';' {
                self.rest = after;
                continue;
            }
            let name_end = after
                .iter()
                .position(|&b| !is_tchar(b))
                .unwrap_or(after.len());
            let (name, after) = after.split_at(name_end);
            // RFC 9110 §5.6.6: no whitespace around `=`.
            let (b'=', after) = after.split_first()? else {
                return None;
            };
            if name.is_empty() {
                return None;
            }
            let value_len = if after.first() == Some(&b'"') {
                quoted_len(after)?
            } else {
                after
                    .iter()
                    .position(|&b| !is_tchar(b))
                    .unwrap_or(after.len())
            };
            if value_len == 0 {
                return None;
            }
            let (value, after) = after.split_at(value_len);
            self.rest = after;
            return Some(Param::Pair(name, value));
        }
    }
}

/// The length of the quoted-string at the start of `bytes`, quotes included (RFC 9110 §5.6.4).
fn quoted_len(bytes: &[u8]) -> Option<usize> {
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => return Some(i + 1),
            b'\\' => i += 2,
            // qdtext: HTAB, SP, visible characters and obs-text, no other controls.
            b'\t' | b' '..=b'~' | 0x80..=0xff => i += 1,
            _ => return None,
        }
    }
    None
}

/// The bytes a parameter value stands for: a quoted-string without its quotes and with its
/// quoted-pairs undone (RFC 9110 §5.6.4), a token as it is.
pub(super) fn unquoted(value: &[u8]) -> impl Iterator<Item = u8> + '_ {
    let inner = match value {
        [b'"', inner @ .., b'"'] => inner,
        _ => value,
    };
    let quoted = inner.len() != value.len();
    let mut bytes = inner.iter().copied();
    std::iter::from_fn(move || {
        let b = bytes.next()?;
        if quoted && b == b'\\' {
            bytes.next()
        } else {
            Some(b)
        }
    })
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )` (RFC 9110 §12.4.2).
pub(super) fn parse_qvalue(value: &[u8]) -> Option<Quality> {
    let (unit, fraction) = match value {
        [unit] => (*unit, &[][..]),
        [unit, b'.', fraction @ ..] if fraction.len() <= 3 => (*unit, fraction),
        _ => return None,
    };
    match unit {
        b'0' if fraction.iter().all(u8::is_ascii_digit) => {
            let mut thousandths = 0u16;
            for i in 0..3 {
                let digit = fraction.get(i).map_or(0, |d| u16::from(d - b'0'));
                thousandths = thousandths * 10 + digit;
            }
            Some(Quality(thousandths))
        }
        b'1' if fraction.iter().all(|&d| d == b'0') => Some(Quality::ONE),
        _ => None,
    }
}

/// The members of a comma-separated list, trimmed, empty ones skipped (RFC 9110 §5.6.1.2).
/// A comma inside a quoted-string does not split.
pub(super) struct Members<'a> {
    rest: &'a [u8],
}

impl<'a> Members<'a> {
    pub fn new(field: &'a [u8]) -> Self {
        Self { rest: field }
    }
}

impl<'a> Iterator for Members<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        while !self.rest.is_empty() {
            let mut quoted = false;
            let mut i = 0;
            while i < self.rest.len() {
                match self.rest[i] {
                    // A quoted-string only ever opens a parameter value, right after `=`.
                    b'"' if quoted || (i > 0 && self.rest[i - 1] == b'=') => quoted = !quoted,
                    b'\\' if quoted => i += 1,
                    b',' if !quoted => break,
                    _ => {}
                }
                i += 1;
            }
            let end = i.min(self.rest.len());
            let member = self.rest[..end].trim_ascii();
            self.rest = self.rest.get(end + 1..).unwrap_or_default();
            if !member.is_empty() {
                return Some(member);
            }
        }
        None
    }
}

/// OWS: spaces and tabs (RFC 9110 §5.6.3).
fn trim_start(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(bytes.len());
    &bytes[start..]
}

/// `token = 1*tchar` (RFC 9110 §5.6.2).
fn is_token(bytes: &[u8]) -> bool {
    !bytes.is_empty() && bytes.iter().all(|&b| is_tchar(b))
}

/// `tchar` (RFC 9110 §5.6.2).
fn is_tchar(b: u8) -> bool {
    TCHAR[usize::from(b)]
}

/// `tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" /
/// "~" / DIGIT / ALPHA` (RFC 9110 §5.6.2), as a table: this runs once per byte of the field.
static TCHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'!' | b'#'..=b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~'
            );
        b += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qvalues() {
        for (text, q) in [
            ("0", Some(0)),
            ("0.", Some(0)),
            ("0.5", Some(500)),
            ("0.05", Some(50)),
            ("0.001", Some(1)),
            ("0.999", Some(999)),
            ("1", Some(1000)),
            ("1.", Some(1000)),
            ("1.000", Some(1000)),
            ("1.0000", None),
            ("0.0001", None),
            ("1.001", None),
            ("2", None),
            (".5", None),
            ("-0", None),
            ("", None),
            ("0.5 ", None),
            ("\"0.5\"", None),
            ("0.a", None),
        ] {
            assert_eq!(parse_qvalue(text.as_bytes()).map(|q| q.0), q, "{text:?}");
        }
    }

    #[test]
    fn members_respect_quotes_and_skip_empties() {
        let field = br#" , text/html;x="a,b" ,, */*;q=0.1 ,"#;
        let members: Vec<&[u8]> = Members::new(field).collect();
        assert_eq!(members, [&br#"text/html;x="a,b""#[..], b"*/*;q=0.1"]);
        // A stray quote outside a parameter value does not swallow the rest of the list.
        let members: Vec<&[u8]> = Members::new(br#"te"xt, */*"#).collect();
        assert_eq!(members, [&br#"te"xt"#[..], b"*/*"]);
    }

    #[test]
    fn tchars() {
        let tchars: Vec<u8> = (0..=255u8).filter(|&b| is_tchar(b)).collect();
        let mut expected: Vec<u8> = b"!#$%&'*+-.^_`|~".to_vec();
        expected.extend(b'0'..=b'9');
        expected.extend(b'A'..=b'Z');
        expected.extend(b'a'..=b'z');
        expected.sort();
        assert_eq!(tchars, expected);
    }

    #[test]
    fn unquoting() {
        let un = |v: &[u8]| unquoted(v).collect::<Vec<u8>>();
        assert_eq!(un(br#""a\"b\\c""#), br#"a"b\c"#);
        assert_eq!(un(b"token"), b"token");
        assert_eq!(un(br#""""#), b"");
    }
}
