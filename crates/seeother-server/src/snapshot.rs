//! A local snapshot of the index, tagged with the store's change number it is as of: read
//! back, it serves the first redirect in a fraction of the time loading the rules takes.
//!
//! A SQLite store keeps one beside it (`DB.snapshot`), valid only for the store's exact
//! change count and identity, and rebuilt otherwise; a node on PostgreSQL writes one now and
//! then (`--snapshot PATH`), starts from it and catches up from its number, or serves it
//! while the database cannot be reached.
//!
//! The file is the served index's packed table as it is in memory (see `index/image.rs`),
//! with the numbers of its records that the store no longer holds as they are, and the other
//! rules as their stored rows in JSON, after a header (`seeother-snapshot 3`, the change
//! number, the store's identity), all under one CRC-32. Written so, a snapshot needs no
//! second table in memory: only the rules changed since the table was packed are copied. It
//! is served only whole and valid: every length and record checked, the CRC matching, the
//! rule count as it says and every rule one the index accepts. It is written to a temporary
//! file, synced and renamed, so a crash leaves the old one.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::index::{ImageError, In, Index, IndexBuilder, Out, PackedBase, RuleParts};
use crate::rule::{Kind, QueryMode};
use crate::store::{RuleRow, Store, StoreError};

const MAGIC: &[u8; 20] = b"seeother-snapshot 3\n";

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

/// What a snapshot is of: the store's change number and identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    /// The number of the last change included (SQLite: the change count).
    pub seq: i64,
    /// The store's identity ([`Store::identity`]).
    pub store: String,
}

/// A snapshot read back: the index it holds and what it is of.
#[derive(Debug)]
pub struct Loaded {
    /// The rules.
    pub index: Index,
    /// The number of the last change they include.
    pub seq: i64,
    /// The store's identity.
    pub store: String,
}

/// Write every rule of `store` to `path`, as of one change number, which is returned. The
/// plain rules that `base` (the index being served, whatever change it is of) holds in its
/// packed table exactly as they are stored are written as its records; the others are kept
/// as their rows. Written to a temporary file that is synced, then renamed over `path`.
pub fn write(store: &Store, path: &Path, base: &Index) -> Result<i64, SnapshotError> {
    let io = |source| SnapshotError::Io {
        path: path.to_owned(),
        source,
    };
    let identity = store.identity()?;
    let mut packed = PackedBase::of(base);
    let mut others: Vec<u8> = b"[".to_vec();
    let mut count = 0usize;
    let mut push = |r: &RuleRow<'_>| {
        // A rule with a group would be compiled only to be handed back: kept as its row.
        let plain = matches!(r.kind, Kind::Path | Kind::Prefix) && r.group.is_none();
        let kept = plain
            && match RuleParts::of_row(r) {
                Ok(parts) => packed.keep(&parts),
                Err(_) => false,
            };
        if !kept {
            if count > 0 {
                others.push(b',');
            }
            // Writing JSON to a Vec cannot fail.
            let _ = serde_json::to_writer(&mut others, &Row::of(r));
            count += 1;
        }
    };
    let seq = match store {
        Store::Postgres(pg) => pg.for_each_row_apart(&mut push)?,
        Store::Sqlite(s) => s.for_each_row_as_of(&mut push)?,
    };
    others.push(b']');
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let file = std::fs::File::create(&tmp).map_err(io)?;
    let mut out = Out::new(std::io::BufWriter::with_capacity(1 << 20, file));
    let written = (|| {
        out.bytes(MAGIC)?;
        out.i64(seq)?;
        out.block(identity.as_bytes())?;
        // The total is known once the table is packed: written after it, with the others.
        let packed_rules = packed.write(&mut out)?;
        out.u64((packed_rules + count) as u64)?;
        out.block(&others)?;
        let file = out.finish()?.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()
    })();
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    Ok(seq)
}

/// Open the snapshot at `path`: its reader, past the magic.
fn open(path: &Path) -> Result<In<std::io::BufReader<std::fs::File>>, SnapshotError> {
    let io = |source| SnapshotError::Io {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    let mut inp = In::new(std::io::BufReader::with_capacity(1 << 20, file), len)
        .map_err(|e| image_error(path, e))?;
    let mut magic = [0; MAGIC.len()];
    inp.fill(&mut magic).map_err(|e| image_error(path, e))?;
    if &magic != MAGIC {
        return Err(SnapshotError::Invalid {
            path: path.to_owned(),
            why: "not a seeother snapshot of this version".into(),
        });
    }
    Ok(inp)
}

fn image_error(path: &Path, e: ImageError) -> SnapshotError {
    match e {
        ImageError::Io(source) => SnapshotError::Io {
            path: path.to_owned(),
            source,
        },
        ImageError::Invalid(why) => SnapshotError::Invalid {
            path: path.to_owned(),
            why,
        },
    }
}

fn version_of<R: std::io::Read>(inp: &mut In<R>) -> Result<Version, ImageError> {
    let seq = inp.i64()?;
    let store = String::from_utf8(inp.block()?)
        .map_err(|_| ImageError::Invalid("the store identity is not text".into()))?;
    Ok(Version { seq, store })
}

/// What the snapshot at `path` says it is of, read from its header only (not checked: a
/// snapshot is checked whole when it is [`read`]).
pub fn version(path: &Path) -> Result<Version, SnapshotError> {
    let mut inp = open(path)?;
    version_of(&mut inp).map_err(|e| image_error(path, e))
}

/// Read the snapshot at `path`, and build its index; refused unless whole and valid.
pub fn read(path: &Path) -> Result<Loaded, SnapshotError> {
    let mut inp = open(path)?;
    let bad = |e| image_error(path, e);
    let version = version_of(&mut inp).map_err(bad)?;
    let mut index = IndexBuilder::read_packed(&mut inp).map_err(bad)?;
    let count = inp.u64().map_err(bad)?;
    let others = inp.block().map_err(bad)?;
    inp.finish().map_err(bad)?;
    let invalid = |why: String| SnapshotError::Invalid {
        path: path.to_owned(),
        why,
    };
    let rows: Vec<Row<'_>> =
        serde_json::from_slice(&others).map_err(|e| invalid(format!("its rules: {e}")))?;
    for row in &rows {
        let parts = row
            .row()
            .ok_or_else(|| invalid(format!("rule {}: unknown kind or query", row.id)))?;
        RuleParts::of_row(&parts)
            .and_then(|p| index.push(p))
            .map_err(|e| invalid(format!("rule {}: {e}", row.id)))?;
    }
    let index = index.finish();
    if index.len() as u64 != count {
        return Err(invalid(
            "it holds another number of rules than it says".into(),
        ));
    }
    Ok(Loaded {
        index,
        seq: version.seq,
        store: version.store,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::Rule;
    use crate::rule::RuleSpec;

    /// A store of every kind of rule: paths, prefixes, host-scoped ones, a pattern, a rule
    /// with variants, a tombstone, one that drops the query.
    fn store() -> Store {
        let store = Store::in_memory().unwrap();
        let mut rules: Vec<RuleSpec> = (0..3000)
            .map(|i| RuleSpec::path(&format!("/id/{i}"), &format!("https://example.org/{i}")))
            .collect();
        rules.push(RuleSpec::prefix("/c/", "https://example.org/c/"));
        rules.push(RuleSpec::prefix("/c/deeper/", "https://example.org/d/"));
        let mut scoped = RuleSpec::path("/id/1", "https://a.example/1");
        scoped.host = Some("a.example".into());
        rules.push(scoped);
        rules.push(RuleSpec::pattern(
            "/p/{name}",
            "https://example.org/p/{name}",
        ));
        let mut gone = RuleSpec::path("/gone", "https://example.org/");
        gone.gone = true;
        rules.push(gone);
        let mut drop = RuleSpec::path("/drop", "https://example.org/drop");
        drop.query = QueryMode::Drop;
        rules.push(drop);
        let mut negotiated = RuleSpec::path("/thing", "https://example.org/thing.html");
        negotiated.default_type = Some("text/html".into());
        negotiated.variants = vec![crate::rule::Variant {
            media_type: "text/turtle".into(),
            to: "https://example.org/thing.ttl".into(),
        }];
        rules.push(negotiated);
        let rules: Vec<RuleSpec> = rules.into_iter().map(|r| r.validate().unwrap()).collect();
        store.import(&rules, "test").unwrap();
        store
    }

    /// What `index` answers for `path` on `host`: the rule's id, kind, status, whether gone,
    /// and its media types.
    fn answer(index: &Index, host: Option<&str>, path: &str) -> Option<String> {
        index.lookup(host, path).map(|h| {
            let r = h.rule;
            format!(
                "{} {:?} {:?} {} {:?}",
                r.id(),
                r.kind(),
                r.status(),
                r.is_gone(),
                r.offered()
            )
        })
    }

    const PATHS: &[(Option<&str>, &str)] = &[
        (None, "/id/0"),
        (None, "/id/2999"),
        (None, "/id/3000"),
        (Some("a.example"), "/id/1"),
        (Some("b.example"), "/id/1"),
        (None, "/c/x"),
        (None, "/c/deeper/y"),
        (None, "/p/alice"),
        (None, "/gone"),
        (None, "/drop"),
        (None, "/thing"),
        (None, "/nothing"),
    ];

    #[test]
    fn a_snapshot_reads_back_as_the_index_loaded_from_the_store() {
        let store = store();
        let dir = std::env::temp_dir().join(format!("seeother-snap-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.snapshot");
        let (loaded, _) = crate::load::load(&store).unwrap();
        let seq = write(&store, &path, &loaded).unwrap();
        let read = read(&path).unwrap();
        assert_eq!(read.index.len(), loaded.len());
        assert_eq!(read.index.len(), 3007);
        for &(host, p) in PATHS {
            assert_eq!(
                answer(&read.index, host, p),
                answer(&loaded, host, p),
                "{host:?} {p}"
            );
        }
        assert!(
            answer(&read.index, None, "/thing")
                .unwrap()
                .contains("text/turtle")
        );
        // It says which state of the store it is of.
        let Store::Sqlite(s) = &store else { panic!() };
        let (changes, id) = s.version().unwrap();
        assert_eq!((seq, &read.store), (changes, &id));
        assert_eq!(version(&path).unwrap(), Version { seq, store: id });
        // A packed rule read back answers with its target's bytes as stored.
        let hit = read.index.lookup(None, "/id/7").unwrap();
        let Rule::Packed(p) = hit.rule else {
            panic!("not packed")
        };
        assert_eq!(p.location().unwrap().as_str(), "https://example.org/7");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The id of the rule `index` answers `path` with.
    fn id_of(index: &Index, path: &str) -> i64 {
        index.lookup(None, path).unwrap().rule.id()
    }

    #[test]
    fn a_snapshot_over_an_index_of_older_rules_reads_back_as_the_store_is_now() {
        let store = store();
        let dir = std::env::temp_dir().join(format!("seeother-snapold-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (old, _) = crate::load::load(&store).unwrap();
        // Changes the served index has not seen: a packed rule deleted, one made a
        // tombstone, one given another target, one another status, one given variants
        // (compiled now), a new one; and an empty index as the base, where every rule is
        // kept as its row.
        store.delete(id_of(&old, "/id/5"), false, "t").unwrap();
        store.delete(id_of(&old, "/id/6"), true, "t").unwrap();
        let moved = RuleSpec::path("/id/7", "https://example.org/moved")
            .validate()
            .unwrap();
        store.update(id_of(&old, "/id/7"), &moved, "t").unwrap();
        let mut permanent = RuleSpec::path("/id/8", "https://example.org/8");
        permanent.status = 308;
        store
            .update(id_of(&old, "/id/8"), &permanent.validate().unwrap(), "t")
            .unwrap();
        let mut negotiated = RuleSpec::path("/id/9", "https://example.org/9.html");
        negotiated.default_type = Some("text/html".into());
        negotiated.variants = vec![crate::rule::Variant {
            media_type: "text/turtle".into(),
            to: "https://example.org/9.ttl".into(),
        }];
        store
            .update(id_of(&old, "/id/9"), &negotiated.validate().unwrap(), "t")
            .unwrap();
        let new = RuleSpec::path("/id/new", "https://example.org/new");
        store.create(&new.validate().unwrap(), "t").unwrap();
        let (now, _) = crate::load::load(&store).unwrap();
        let paths: Vec<(Option<&str>, &str)> = PATHS
            .iter()
            .copied()
            .chain(["/id/5", "/id/6", "/id/7", "/id/8", "/id/9", "/id/new"].map(|p| (None, p)))
            .collect();
        for base in [&old, &Index::default()] {
            let path = dir.join("a.snapshot");
            write(&store, &path, base).unwrap();
            let read = read(&path).unwrap();
            assert_eq!(read.index.len(), now.len());
            for &(host, p) in &paths {
                assert_eq!(
                    answer(&read.index, host, p),
                    answer(&now, host, p),
                    "{host:?} {p}"
                );
                // The default target, packed or compiled (a rule with variants is compiled
                // in both).
                let target = |i: &Index| {
                    i.lookup(host, p).map(|h| match h.rule {
                        Rule::Packed(r) => r.target().to_owned(),
                        Rule::Compiled(c) => match c.packable_parts() {
                            Some(parts) => parts.to.to_owned(),
                            None => format!("{:?}", c.target(0)),
                        },
                    })
                };
                assert_eq!(target(&read.index), target(&now), "{p}");
            }
            assert_eq!(answer(&read.index, None, "/id/5"), None);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_snapshot_cut_short_or_with_any_byte_changed_is_refused() {
        let store = store();
        let dir = std::env::temp_dir().join(format!("seeother-snapbad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.snapshot");
        let (loaded, _) = crate::load::load(&store).unwrap();
        write(&store, &path, &loaded).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let bad = dir.join("bad.snapshot");
        // Every byte of the header and the last ones, and 400 spread over the rest.
        let step = (bytes.len() / 400).max(1);
        let places: Vec<usize> = (0..64)
            .chain((0..bytes.len()).step_by(step))
            .chain(bytes.len() - 64..bytes.len())
            .collect();
        for &at in &places {
            let mut changed = bytes.clone();
            changed[at] ^= 0x20;
            std::fs::write(&bad, &changed).unwrap();
            let err = read(&bad).expect_err(&format!("byte {at} changed, yet served"));
            assert!(matches!(err, SnapshotError::Invalid { .. }), "{at}: {err}");
        }
        for len in [
            0,
            10,
            20,
            100,
            bytes.len() / 2,
            bytes.len() - 5,
            bytes.len() - 1,
        ] {
            std::fs::write(&bad, &bytes[..len]).unwrap();
            let err = read(&bad).expect_err(&format!("cut to {len}, yet served"));
            assert!(err.to_string().contains("cannot be served"), "{len}: {err}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        std::fs::write(&bad, &longer).unwrap();
        assert!(read(&bad).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
