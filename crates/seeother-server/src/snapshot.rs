//! A node's local snapshot of its rules, tagged with the change sequence they are as of: a
//! node on PostgreSQL writes one now and then (`--snapshot PATH`), and one that cannot reach
//! the database at start serves from it until the database answers, then catches up from
//! its number.
//!
//! The file is a header line, `seeother-snapshot 1 SEQ RULES SHA256` (the numbers written
//! with 20 digits), then the rules as JSON. A snapshot is served only whole and valid: the
//! right header, as many rules as it says, the SHA-256 of the rest as it says, and every rule
//! one the index accepts. It is written to a temporary file, synced and renamed, so a crash
//! leaves the old one.

use std::borrow::Cow;
use std::io::{Seek, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::index::{Index, IndexBuilder, RuleParts};
use crate::rule::{Kind, QueryMode};
use crate::store::{RuleRow, Store, StoreError};

const MAGIC: &str = "seeother-snapshot 1";

/// One rule as kept in a snapshot: borrowed from the store's row when written.
#[derive(Debug, Serialize, Deserialize)]
struct Row<'a> {
    id: i64,
    host: Cow<'a, str>,
    kind: Cow<'a, str>,
    matcher: Cow<'a, str>,
    to: Cow<'a, str>,
    status: u16,
    query: Cow<'a, str>,
    default_type: Option<Cow<'a, str>>,
    variants: Option<Cow<'a, str>>,
    cache_control: Option<Cow<'a, str>>,
    described_by: bool,
    gone: bool,
    /// A rule group's own fields, as JSON.
    #[serde(default)]
    group: Option<Cow<'a, str>>,
}

impl<'a> Row<'a> {
    fn of(r: &RuleRow<'a>) -> Row<'a> {
        Row {
            id: r.id,
            host: r.host.into(),
            kind: r.kind.as_str().into(),
            matcher: r.matcher.into(),
            to: r.to.into(),
            status: r.status,
            query: r.query.as_str().into(),
            default_type: r.default_type.map(Cow::from),
            variants: r.variants.map(Cow::from),
            cache_control: r.cache_control.map(Cow::from),
            described_by: r.described_by,
            gone: r.gone,
            group: r.group.map(Cow::from),
        }
    }

    fn row(&self) -> Option<RuleRow<'_>> {
        Some(RuleRow {
            id: self.id,
            host: &self.host,
            kind: Kind::from_name(&self.kind)?,
            matcher: &self.matcher,
            to: &self.to,
            status: self.status,
            query: QueryMode::from_name(&self.query)?,
            default_type: self.default_type.as_deref(),
            variants: self.variants.as_deref(),
            cache_control: self.cache_control.as_deref(),
            described_by: self.described_by,
            gone: self.gone,
            group: self.group.as_deref(),
        })
    }
}

/// The header line: its numbers are written with 20 digits, so that the line written first
/// (before the body's count and digest are known) has the length of the final one.
fn header(seq: i64, count: u64, digest: &str) -> String {
    format!("{MAGIC} {seq:020} {count:020} {digest}\n")
}

/// Passes bytes on, hashing them.
struct Hashing<T> {
    inner: T,
    sha: Sha256,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.sha.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Why a snapshot could not be written or served.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// The file could not be read or written.
    #[error("snapshot {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a whole, valid snapshot; it is not served.
    #[error("snapshot {path} cannot be served: {why}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// The rules could not be read from the store.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A snapshot read back: the index it holds and the change number it is as of.
#[derive(Debug)]
pub struct Loaded {
    /// The rules.
    pub index: Index,
    /// The number of the last change they include.
    pub seq: i64,
}

/// Write every rule of `store` to `path`, as of one change number, which is returned. The
/// rows are written as they are read (no copy of the rules is held), to a temporary file that
/// is synced, then renamed over `path`.
pub fn write(store: &Store, path: &Path) -> Result<i64, SnapshotError> {
    let io = |source| SnapshotError::Io {
        path: path.to_owned(),
        source,
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut out =
        std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&tmp).map_err(io)?);
    let blank = header(0, 0, &"0".repeat(64));
    out.write_all(blank.as_bytes()).map_err(io)?;
    let mut body = Hashing {
        inner: out,
        sha: Sha256::new(),
    };
    let mut count = 0u64;
    let mut failed: Option<std::io::Error> = None;
    let push = |r: &RuleRow<'_>| {
        if failed.is_some() {
            return;
        }
        let sep: &[u8] = if count == 0 { b"[" } else { b"," };
        let written = body
            .write_all(sep)
            .and_then(|()| serde_json::to_writer(&mut body, &Row::of(r)).map_err(Into::into));
        match written {
            Ok(()) => count += 1,
            Err(e) => failed = Some(e),
        }
    };
    let seq = match store {
        Store::Postgres(pg) => pg.for_each_row_apart(push)?,
        Store::Sqlite(s) => s.for_each_row_as_of(push)?,
    };
    if let Some(e) = failed {
        return Err(io(e));
    }
    body.write_all(if count == 0 { &b"[]"[..] } else { &b"]"[..] })
        .map_err(io)?;
    let digest = hex(&body.sha.finalize());
    let mut file = body.inner.into_inner().map_err(|e| io(e.into_error()))?;
    let head = header(seq, count, &digest);
    debug_assert_eq!(head.len(), blank.len());
    file.rewind()
        .and_then(|()| file.write_all(head.as_bytes()))
        .and_then(|()| file.sync_all())
        .map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)?;
    Ok(seq)
}

/// Read the snapshot at `path`, and build its index; refused unless whole and valid.
pub fn read(path: &Path) -> Result<Loaded, SnapshotError> {
    let bytes = std::fs::read(path).map_err(|source| SnapshotError::Io {
        path: path.to_owned(),
        source,
    })?;
    let invalid = |why: &str| SnapshotError::Invalid {
        path: path.to_owned(),
        why: why.to_owned(),
    };
    let end = bytes
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(|| invalid("no header line"))?;
    let header = std::str::from_utf8(&bytes[..end]).map_err(|_| invalid("header not text"))?;
    let rest = header
        .strip_prefix(MAGIC)
        .and_then(|r| r.strip_prefix(' '))
        .ok_or_else(|| invalid("not a seeother snapshot of this version"))?;
    let fields: Vec<&str> = rest.split(' ').collect();
    let [seq, count, digest] = fields[..] else {
        return Err(invalid("the header has not three fields after the version"));
    };
    let seq: i64 = seq.parse().map_err(|_| invalid("bad change number"))?;
    let count: usize = count.parse().map_err(|_| invalid("bad rule count"))?;
    let body = &bytes[end + 1..];
    if hex(&Sha256::digest(body)) != digest {
        return Err(invalid("its SHA-256 does not match (cut short or changed)"));
    }
    let rows: Vec<Row<'_>> = serde_json::from_slice(body).map_err(|e| invalid(&e.to_string()))?;
    if rows.len() != count {
        return Err(invalid("it holds another number of rules than it says"));
    }
    let mut index = IndexBuilder::with_capacity(rows.len());
    for row in &rows {
        let parts = row
            .row()
            .ok_or_else(|| invalid(&format!("rule {}: unknown kind or query", row.id)))?;
        RuleParts::of_row(&parts)
            .and_then(|p| index.push(p))
            .map_err(|e| invalid(&format!("rule {}: {e}", row.id)))?;
    }
    Ok(Loaded {
        index: index.finish(),
        seq,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
