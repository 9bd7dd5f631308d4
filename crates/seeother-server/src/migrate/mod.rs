//! Rules written for other servers, translated into seeother rules, with a report of what
//! could not be translated. One module per source format.

pub mod apache;
pub mod netlify;
pub mod nginx;

use std::fmt;
use std::path::PathBuf;

use crate::rule::RuleSpec;

/// What a finding of the report is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FindingKind {
    /// The source server cannot read the file: it answers an error for everything the file
    /// covers. Nothing of the file was imported.
    Refused,
    /// A construct with no translation; it was left out (its rule too).
    Untranslated,
    /// The source server's behaviour here is a bug that was not copied.
    NotCopied,
    /// Translated, with something worth knowing.
    Note,
}

impl FindingKind {
    /// A short label for reports.
    pub fn label(self) -> &'static str {
        match self {
            FindingKind::Refused => "file refused",
            FindingKind::Untranslated => "not translated",
            FindingKind::NotCopied => "bug not copied",
            FindingKind::Note => "note",
        }
    }
}

/// One finding: where and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The source file.
    pub file: PathBuf,
    /// The line (1-based; 0 for the whole file).
    pub line: usize,
    /// What kind of finding.
    pub kind: FindingKind,
    /// What and why, and what to do.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.file.display(),
            self.line,
            self.kind.label(),
            self.message
        )
    }
}

/// The translated rules and the report.
#[derive(Clone, Debug, Default)]
pub struct Migration {
    /// The rules, ready to validate and import.
    pub rules: Vec<RuleSpec>,
    /// Everything the report says, by file and line.
    pub findings: Vec<Finding>,
    /// Files read.
    pub files: usize,
}

impl Migration {
    /// How many findings of `kind`.
    pub fn count(&self, kind: FindingKind) -> usize {
        self.findings.iter().filter(|f| f.kind == kind).count()
    }
}
