//! Importing a rule file, skipped when that would change nothing: the file's bytes and format
//! are those recorded when it was last applied, and no rule changed since (see
//! `store/applied.rs`). Any doubt (other bytes, a changed store, no record) imports it. Used
//! by `serve --rules FILE` and `seeother import FILE`.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::rule::RuleSpec;
use crate::rules_file::{self, Format, ReadError};
use crate::store::{AppliedFile, ImportReport, Store};

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
    let mut file = AppliedFile {
        sha256: Sha256::digest(&bytes).to_vec(),
        format: format.media_type().to_owned(),
        rules: 0,
        changes: 0,
    };
    // The record is kept under the canonical path, so `./rules.toml` and its absolute path
    // are one file; without one (odd file systems) the file is imported every time.
    let key = std::fs::canonicalize(path)
        .ok()
        .map(|p| p.to_string_lossy().into_owned());
    if let Some(key) = &key {
        match store.unchanged_file(key, &file) {
            Ok(Some(rules)) => {
                tracing::info!(
                    file = %path.display(),
                    rules,
                    "rules file unchanged since it was applied; skipped"
                );
                return Ok(ImportReport {
                    unchanged: rules as usize,
                    skipped: true,
                    ..ImportReport::default()
                });
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(
                file = %path.display(),
                error = %e,
                "cannot tell whether the rules file changed; importing it"
            ),
        }
    }
    let text = String::from_utf8(bytes)
        .map_err(|e| io(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))?;
    let name = path.display().to_string();
    let rules =
        rules_file::parse(&text, format, &name).map_err(|e| FileImportError::Read(e.into()))?;
    // A file whose own tests fail is refused.
    rules_file::tests::check(&text, format, &name, &rules)
        .map_err(|e| FileImportError::Read(ReadError::from(e)))?;
    drop(text);
    file.rules = rules.len() as u64;
    let before = store.rules_changes().ok();
    let report = import(rules).map_err(FileImportError::Import)?;
    if let (Some(key), Some(before)) = (&key, before) {
        // Each rule created or updated is one change; any other means another writer.
        file.changes = before + (report.created + report.updated) as i64;
        match store.record_applied(key, &file) {
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
    Ok(report)
}
