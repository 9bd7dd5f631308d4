//! A node's local snapshot of its rules, tagged with the change sequence they are as of: a
//! node on PostgreSQL writes one now and then (`--snapshot PATH`), and one that cannot reach
//! the database at start serves from it until the database answers, then catches up from
//! its number.
//!
//! The file is a header line, `seeother-snapshot 1 SEQ RULES SHA256`, then the rules as
//! JSON. A snapshot is served only whole and valid: the right header, as many rules as it
//! says, the SHA-256 of the rest as it says, and every rule one the index accepts. It is
//! written to a temporary file, synced and renamed, so a crash leaves the old one.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::index::{Index, IndexBuilder, RuleParts};
use crate::rule::{Kind, QueryMode};
use crate::store::{RuleRow, Store, StoreError};

const MAGIC: &str = "seeother-snapshot 1";

/// One rule as kept in a snapshot.
#[derive(Debug, Serialize, Deserialize)]
struct Row {
    id: i64,
    host: String,
    kind: String,
    matcher: String,
    to: String,
    status: u16,
    query: String,
    default_type: Option<String>,
    variants: Option<String>,
    cache_control: Option<String>,
    described_by: bool,
    gone: bool,
    /// A rule group's own fields, as JSON.
    #[serde(default)]
    group: Option<String>,
}

impl Row {
    fn of(r: &RuleRow<'_>) -> Row {
        Row {
            id: r.id,
            host: r.host.to_owned(),
            kind: r.kind.as_str().to_owned(),
            matcher: r.matcher.to_owned(),
            to: r.to.to_owned(),
            status: r.status,
            query: r.query.as_str().to_owned(),
            default_type: r.default_type.map(str::to_owned),
            variants: r.variants.map(str::to_owned),
            cache_control: r.cache_control.map(str::to_owned),
            described_by: r.described_by,
            gone: r.gone,
            group: r.group.map(str::to_owned),
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

/// Write every rule of `store` to `path`, as of one change number, which is returned.
pub fn write(store: &Store, path: &Path) -> Result<i64, SnapshotError> {
    let mut rows = Vec::new();
    let push = |r: &RuleRow<'_>| rows.push(Row::of(r));
    let seq = match store {
        Store::Postgres(pg) => pg.for_each_row_apart(push)?,
        Store::Sqlite(_) => store.for_each_row(push)?.unwrap_or(0),
    };
    let body = serde_json::to_vec(&rows).map_err(|e| SnapshotError::Invalid {
        path: path.to_owned(),
        why: e.to_string(),
    })?;
    let digest = hex(&Sha256::digest(&body));
    let io = |source| SnapshotError::Io {
        path: path.to_owned(),
        source,
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    writeln!(f, "{MAGIC} {seq} {} {digest}", rows.len())
        .and_then(|()| f.write_all(&body))
        .and_then(|()| f.sync_all())
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
    let rows: Vec<Row> = serde_json::from_slice(body).map_err(|e| invalid(&e.to_string()))?;
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
