//! Importing a rule file, skipped when that would change nothing: the file's bytes and format
//! are those recorded when it was last applied, and no rule changed since (see
//! `store/applied.rs`). Any doubt (other bytes, a changed store, no record) imports it. Used
//! by `serve --rules FILE` and `seeother import FILE`.

use std::io::Read as _;
use std::path::Path;
use std::sync::mpsc;

use sha2::{Digest, Sha256};

use crate::rule::RuleSpec;
use crate::rules_file::{self, Format, ReadError, stream};
use crate::store::{AppliedFile, ImportReport, Store, StoreError};

/// Why a rule file was not imported.
#[derive(Debug)]
pub enum FileImportError<E> {
    /// The file could not be read, or has problems.
    Read(ReadError),
    /// The import itself failed.
    Import(E),
}

/// Import the rule file at `path` in `format` with `import` (which stores the rules, in one
/// transaction), unless it is unchanged since it was last applied to `store` and no rule
/// changed since: then the report says `skipped`. What was applied is recorded, so the next
/// unchanged import is skipped.
pub fn import_file<E>(
    store: &Store,
    path: &Path,
    format: Format,
    import: impl FnOnce(Vec<RuleSpec>) -> Result<ImportReport, E>,
) -> Result<ImportReport, FileImportError<E>> {
    let io = |source| {
        FileImportError::Read(ReadError::Io {
            path: path.to_owned(),
            source,
        })
    };
    let bytes = std::fs::read(path).map_err(io)?;
    let applied = match Applied::of(store, path, format, Sha256::digest(&bytes).to_vec()) {
        Ok(applied) => applied,
        Err(skipped) => return Ok(skipped),
    };
    let text = String::from_utf8(bytes)
        .map_err(|e| io(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))?;
    let name = path.display().to_string();
    let rules =
        rules_file::parse(&text, format, &name).map_err(|e| FileImportError::Read(e.into()))?;
    // A file whose own tests fail is refused.
    rules_file::tests::check(&text, format, &name, &rules)
        .map_err(|e| FileImportError::Read(ReadError::from(e)))?;
    drop(text);
    let count = rules.len() as u64;
    let before = store.rules_changes().ok();
    let report = import(rules).map_err(FileImportError::Import)?;
    applied.record(store, path, count, before, &report);
    Ok(report)
}

/// Chunks of rules on their way from the reading thread to the writing one: a few, so that
/// memory stays near the file's size.
const CHUNKS_IN_FLIGHT: usize = 4;

/// Import the rule file at `path` in `format` into `store` as [`import_file`] does, writing
/// the rules while they are read: one thread reads and validates the file in chunks
/// ([`rules_file::stream`]), this one writes them in one transaction, and neither the file's
/// text nor its parsed rules are ever all in memory. Unless every rule is valid, no two share
/// a key and the file has no tests, nothing of it is applied and the file is imported by
/// [`import_file`], which reports its problems by line.
pub fn import_file_streamed(
    store: &Store,
    path: &Path,
    format: Format,
    actor: &str,
) -> Result<ImportReport, FileImportError<StoreError>> {
    let whole = || import_file(store, path, format, |r| store.import_counted(&r, actor));
    let io = |source| {
        FileImportError::Read(ReadError::Io {
            path: path.to_owned(),
            source,
        })
    };
    // The file is read twice: for its digest (and whether it is UTF-8), then for its rules.
    let mut input = std::fs::File::open(path).map_err(io)?;
    let mut digest = Sha256::new();
    let mut utf8 = Utf8::default();
    let mut buf = vec![0; 1 << 16];
    let mut size = 0;
    loop {
        match input.read(&mut buf).map_err(io)? {
            0 => break,
            n => {
                digest.update(&buf[..n]);
                utf8.feed(&buf[..n]);
                size += n;
            }
        }
    }
    if !utf8.whole() {
        // Said as `import_file` says it.
        return whole();
    }
    let applied = match Applied::of(store, path, format, digest.finalize().to_vec()) {
        Ok(applied) => applied,
        Err(skipped) => return Ok(skipped),
    };
    // A rule takes some 60 to 120 bytes in these notations: enough for the store to size
    // its cache.
    let expected = size / 64;
    let before = store.rules_changes().ok();
    let imported = import_streamed(
        store,
        |sink| stream::read_file(path, format, sink),
        expected,
        actor,
    );
    let report = match imported {
        Ok(Some(report)) => report,
        // A problem, or a doubt: the file is read whole, its problems reported by line.
        Ok(None) => return whole(),
        Err(e) => return Err(FileImportError::Import(e)),
    };
    let count = (report.created + report.updated + report.unchanged) as u64;
    applied.record(store, path, count, before, &report);
    Ok(report)
}

/// Create or update the rules that `read` gives in chunks (to the sink it is handed, while
/// that says go on; it returns whether they were all there and of the plain case, see
/// [`rules_file::stream`]): `read` runs on a thread of its own, and the rules are written
/// while they are read, in one transaction, about `expected` of them. `None` when `read` met
/// a doubt: nothing was applied.
pub fn import_streamed(
    store: &Store,
    read: impl FnOnce(&mut dyn FnMut(Vec<RuleSpec>) -> bool) -> bool + Send,
    expected: usize,
    actor: &str,
) -> Result<Option<ImportReport>, StoreError> {
    std::thread::scope(|scope| {
        let (send, receive) = mpsc::sync_channel::<Vec<RuleSpec>>(CHUNKS_IN_FLIGHT);
        let reader = scope.spawn(move || read(&mut |chunk| send.send(chunk).is_ok()));
        store.import_chunks(receive, expected, actor, || reader.join().unwrap_or(false))
    })
}

/// Whether bytes fed in pieces are UTF-8 (a character may be cut between two pieces).
#[derive(Default)]
struct Utf8 {
    /// The start of a character cut at the end of the last piece.
    cut: Vec<u8>,
    bad: bool,
}

impl Utf8 {
    fn feed(&mut self, piece: &[u8]) {
        if self.bad {
            return;
        }
        let mut joined;
        let bytes = if self.cut.is_empty() {
            piece
        } else {
            joined = std::mem::take(&mut self.cut);
            joined.extend_from_slice(piece);
            &joined[..]
        };
        match std::str::from_utf8(bytes) {
            Ok(_) => self.cut.clear(),
            // Cut short at the end: the rest comes with the next piece.
            Err(e) if e.error_len().is_none() => self.cut = bytes[e.valid_up_to()..].to_vec(),
            Err(_) => self.bad = true,
        }
    }

    fn whole(&self) -> bool {
        !self.bad && self.cut.is_empty()
    }
}

/// What is recorded of a rule file applied to a store: its digest and notation, under its
/// canonical path (no record without one).
struct Applied {
    file: AppliedFile,
    key: Option<String>,
}

impl Applied {
    /// The record of `path` read as `format` with digest `sha256`; `Err` with the report of a
    /// skipped import when it is unchanged since it was last applied and no rule changed since.
    fn of(
        store: &Store,
        path: &Path,
        format: Format,
        sha256: Vec<u8>,
    ) -> Result<Applied, ImportReport> {
        let file = AppliedFile {
            sha256,
            format: format.media_type().to_owned(),
            rules: 0,
            changes: 0,
        };
        let key = applied_key(path);
        match unchanged(store, path, key.as_deref(), &file) {
            Some(skipped) => Err(skipped),
            None => Ok(Applied { file, key }),
        }
    }

    /// Record that the file's `rules` were applied with `report`, the store having counted
    /// `before` changes (nothing is recorded when that count or the key is unknown).
    fn record(
        mut self,
        store: &Store,
        path: &Path,
        rules: u64,
        before: Option<i64>,
        report: &ImportReport,
    ) {
        self.file.rules = rules;
        if let (Some(key), Some(before)) = (&self.key, before) {
            record(store, path, key, &mut self.file, before, report);
        }
    }
}

/// The key under which what was applied from `path` is recorded.
fn applied_key(path: &Path) -> Option<String> {
    // The record is kept under the canonical path, so `./rules.toml` and its absolute path
    // are one file; without one (odd file systems) the file is imported every time.
    std::fs::canonicalize(path)
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

/// The report of a skipped import when `file` is unchanged since it was last applied to
/// `store` under `key`, and no rule changed since.
fn unchanged(
    store: &Store,
    path: &Path,
    key: Option<&str>,
    file: &AppliedFile,
) -> Option<ImportReport> {
    match store.unchanged_file(key?, file) {
        Ok(Some(rules)) => {
            tracing::info!(
                file = %path.display(),
                rules,
                "rules file unchanged since it was applied; skipped"
            );
            Some(ImportReport {
                unchanged: rules as usize,
                skipped: true,
                ..ImportReport::default()
            })
        }
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(
                file = %path.display(),
                error = %e,
                "cannot tell whether the rules file changed; importing it"
            );
            None
        }
    }
}

/// Record that `file` was applied to `store` under `key` by the import of `report`, made
/// when the store's change count was `before`.
fn record(
    store: &Store,
    path: &Path,
    key: &str,
    file: &mut AppliedFile,
    before: i64,
    report: &ImportReport,
) {
    // Each rule created or updated is one change; any other means another writer.
    file.changes = before + (report.created + report.updated) as i64;
    match store.record_applied(key, file) {
        Ok(true) => {}
        Ok(false) => tracing::info!(
            file = %path.display(),
            "rules changed during the import; the file is imported again next time"
        ),
        Err(e) => tracing::warn!(
            file = %path.display(),
            error = %e,
            "cannot record the applied rules file; it is imported again next time"
        ),
    }
}
