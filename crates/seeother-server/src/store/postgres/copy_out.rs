//! Every rule read with `COPY … TO STDOUT (FORMAT binary)`: the rows arrive as one stream
//! that is cut into fields in place, with nothing allocated per row (a query's rows are one
//! message and one decoded `Row` each). About twice as fast, for a node loading a million
//! rules at start.
//!
//! The format (PostgreSQL documentation, "COPY", Binary Format): an 11-byte signature, a
//! 32-bit flags field and a header extension of a 32-bit length; then per tuple a 16-bit
//! field count (−1 ends the data) and per field a 32-bit length (−1 for NULL) and the value
//! in its binary send form: `bigint` 8 bytes and `integer` 4 bytes, big-endian; `boolean`
//! one byte; `text` its UTF-8 bytes. All numbers are in network byte order.

use std::io::Read;

use crate::rule::{Kind, QueryMode};
use crate::store::{RuleRow, StoreError};

const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";

/// The rules on the heap pages `pages` (a TID range scan, PostgreSQL 14 and later: each part
/// of a split read reads only its own pages), in the column order [`each_row`] reads.
pub(super) fn copy_rules(pages: std::ops::Range<i64>) -> String {
    let mut range = format!("ctid >= '({},0)'", pages.start);
    if pages.end < i64::MAX {
        range += &format!(" AND ctid < '({},0)'", pages.end);
    }
    format!(
        "COPY (SELECT id, host, kind, matcher, target, status, query, default_type, variants,
            cache_control, described_by, gone, grp FROM rules WHERE {range})
        TO STDOUT (FORMAT binary)"
    )
}

const FIELDS: usize = 13;

fn malformed(why: &str) -> StoreError {
    StoreError::Malformed(format!("the rules' COPY stream: {why}"))
}

/// The fields of one tuple at the start of `buf`: `None` while it is not all there yet.
/// A tuple's fields, `None` for NULL.
type Fields<'a> = [Option<&'a [u8]>; FIELDS];

/// The bytes a tuple takes and its fields (`usize::MAX` for the end of the data).
type Tuple<'a> = (usize, Fields<'a>);

fn tuple(buf: &[u8]) -> Result<Option<Tuple<'_>>, StoreError> {
    let Some(count) = buf.get(..2) else {
        return Ok(None);
    };
    let count = i16::from_be_bytes([count[0], count[1]]);
    if count == -1 {
        return Ok(Some((usize::MAX, [None; FIELDS])));
    }
    if count as usize != FIELDS {
        return Err(malformed("a tuple has another number of fields"));
    }
    let mut fields = [None; FIELDS];
    let mut at = 2;
    for field in &mut fields {
        let Some(len) = buf.get(at..at + 4) else {
            return Ok(None);
        };
        let len = i32::from_be_bytes([len[0], len[1], len[2], len[3]]);
        at += 4;
        if len < 0 {
            continue;
        }
        let Some(value) = buf.get(at..at + len as usize) else {
            return Ok(None);
        };
        *field = Some(value);
        at += len as usize;
    }
    Ok(Some((at, fields)))
}

fn text(v: Option<&[u8]>) -> Result<Option<&str>, StoreError> {
    v.map(|b| std::str::from_utf8(b).map_err(|_| malformed("a text field is not UTF-8")))
        .transpose()
}

fn required(v: Option<&[u8]>) -> Result<&[u8], StoreError> {
    v.ok_or_else(|| malformed("a required field is NULL"))
}

fn row<'a>(f: &Fields<'a>) -> Result<RuleRow<'a>, StoreError> {
    let int = |v: Option<&[u8]>| -> Result<i64, StoreError> {
        match required(v)? {
            b if b.len() == 8 => Ok(i64::from_be_bytes(b.try_into().unwrap_or_default())),
            b if b.len() == 4 => Ok(i64::from(i32::from_be_bytes(
                b.try_into().unwrap_or_default(),
            ))),
            _ => Err(malformed("a number field has another size")),
        }
    };
    let flag = |v: Option<&[u8]>| -> Result<bool, StoreError> {
        match required(v)? {
            [b] => Ok(*b != 0),
            _ => Err(malformed("a boolean field has another size")),
        }
    };
    let must = |v| text(Some(required(v)?)).map(Option::unwrap_or_default);
    Ok(RuleRow {
        id: int(f[0])?,
        host: must(f[1])?,
        kind: Kind::from_name(must(f[2])?).unwrap_or(Kind::Path),
        matcher: must(f[3])?,
        to: must(f[4])?,
        status: u16::try_from(int(f[5])?).unwrap_or(303),
        query: QueryMode::from_name(must(f[6])?).unwrap_or_default(),
        default_type: text(f[7])?,
        variants: text(f[8])?,
        cache_control: text(f[9])?,
        described_by: flag(f[10])?,
        gone: flag(f[11])?,
        group: text(f[12])?,
    })
}

/// Call `f` with every rule of the binary COPY stream `r` ([`copy_rules`]).
pub(super) fn each_row(
    mut r: impl Read,
    mut f: impl FnMut(&RuleRow<'_>),
) -> Result<(), StoreError> {
    let io = |e: std::io::Error| malformed(&e.to_string());
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 20);
    // PostgreSQL sends a message per tuple, and a read gives at most one: each is read into
    // a scratch buffer zeroed once, then appended to what is left of the last.
    let mut scratch = vec![0; 64 * 1024];
    let mut start = 0;
    let mut header = true;
    let mut ended = false;
    loop {
        if start > 0 {
            buf.drain(..start);
            start = 0;
        }
        let n = r.read(&mut scratch).map_err(io)?;
        buf.extend_from_slice(&scratch[..n]);
        if header {
            let ext = buf
                .get(15..19)
                .map(|b| u32::from_be_bytes(b.try_into().unwrap_or_default()) as usize);
            if buf.len() >= SIGNATURE.len() && &buf[..SIGNATURE.len()] != SIGNATURE {
                return Err(malformed("it has no binary COPY signature"));
            }
            match ext {
                Some(ext) if buf.len() >= 19 + ext => {}
                _ if n == 0 => return Err(malformed("it ends inside its header")),
                _ => continue,
            }
            let ext = ext.unwrap_or_default();
            start = 19 + ext;
            header = false;
        }
        while let Some((used, fields)) = tuple(&buf[start..])? {
            if used == usize::MAX {
                ended = true;
                break;
            }
            f(&row(&fields)?);
            start += used;
        }
        if ended {
            return Ok(());
        }
        if n == 0 {
            return Err(malformed("it ends inside a tuple"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(out: &mut Vec<u8>, v: Option<&[u8]>) {
        match v {
            None => out.extend_from_slice(&(-1i32).to_be_bytes()),
            Some(b) => {
                out.extend_from_slice(&(b.len() as i32).to_be_bytes());
                out.extend_from_slice(b);
            }
        }
    }

    fn stream(rows: usize) -> Vec<u8> {
        let mut out = SIGNATURE.to_vec();
        out.extend_from_slice(&0u32.to_be_bytes());
        out.extend_from_slice(&0u32.to_be_bytes());
        for i in 0..rows {
            out.extend_from_slice(&(FIELDS as i16).to_be_bytes());
            let path = format!("/id/{i}");
            let fields: [Option<&[u8]>; FIELDS] = [
                Some(&(i as i64 + 1).to_be_bytes()),
                Some(b""),
                Some(b"path"),
                Some(path.as_bytes()),
                Some(b"https://example.org/"),
                Some(&303i32.to_be_bytes()),
                Some(b"drop"),
                None,
                None,
                None,
                Some(&[0]),
                Some(&[1]),
                None,
            ];
            for f in fields {
                field(&mut out, f);
            }
        }
        out.extend_from_slice(&(-1i16).to_be_bytes());
        out
    }

    /// A reader that hands out `step` bytes at a time, so tuples are cut anywhere.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.1.min(self.0.len()).min(buf.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn tuples_cut_anywhere_are_read_whole() {
        let bytes = stream(5000);
        for step in [1, 7, 4096, 1 << 20] {
            let mut seen = Vec::new();
            each_row(Trickle(&bytes, step), |r| {
                seen.push((r.id, r.matcher.to_owned(), r.query, r.gone, r.described_by));
            })
            .unwrap();
            assert_eq!(seen.len(), 5000, "{step}");
            assert_eq!(
                seen[4999],
                (5000, "/id/4999".into(), QueryMode::Drop, true, false)
            );
        }
    }

    #[test]
    fn a_stream_cut_short_or_damaged_is_an_error() {
        let bytes = stream(10);
        assert!(each_row(&bytes[..bytes.len() - 1], |_| {}).is_err());
        assert!(each_row(&bytes[..5], |_| {}).is_err());
        let mut other = bytes.clone();
        other[0] = b'X';
        assert!(each_row(&other[..], |_| {}).is_err());
        let mut fields = bytes.clone();
        fields[19] = 0;
        fields[20] = 3;
        assert!(each_row(&fields[..], |_| {}).is_err());
    }
}
