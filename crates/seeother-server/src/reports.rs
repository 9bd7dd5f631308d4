//! Import reports: each bulk import's outcome kept as a resource with its own URL
//! (`/-/admin/imports/{id}`), so the page a 303 leads to can be bookmarked and reloaded.

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::rule::RuleSpec;

/// Reports kept at most (the oldest are forgotten first).
const KEEP: usize = 200;

/// One import's outcome.
#[derive(Clone, Debug)]
pub struct Report {
    /// The report's id.
    pub id: u64,
    /// When (Unix seconds).
    pub at: i64,
    /// The file name, or `pasted text`.
    pub source: String,
    /// `toml`, `json` or `csv`.
    pub format: &'static str,
    /// Rules created.
    pub created: usize,
    /// Rules changed.
    pub updated: usize,
    /// Rules already as given.
    pub unchanged: usize,
    /// The rules created or changed, as stored (with ids).
    pub changed: Vec<(&'static str, RuleSpec)>,
}

/// The reports of one server, kept in memory.
#[derive(Debug, Default)]
pub struct Reports {
    inner: Mutex<(u64, VecDeque<Report>)>,
}

impl Reports {
    /// Keep `report` under a new id and return the id.
    pub fn add(&self, mut report: Report) -> u64 {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.0 += 1;
        report.id = inner.0;
        if inner.1.len() >= KEEP {
            inner.1.pop_front();
        }
        inner.1.push_back(report);
        inner.0
    }

    /// The report `id`, if still kept.
    pub fn get(&self, id: u64) -> Option<Report> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.1.iter().find(|r| r.id == id).cloned()
    }
}
