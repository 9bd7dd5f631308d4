//! Import reports: each bulk import's outcome kept as a resource with its own URL
//! (`/-/admin/imports/{id}`), so the page a 303 leads to can be bookmarked and reloaded, on
//! any node of a fleet and after a restart: reports are kept in the store.

use std::sync::Arc;

use crate::catalog::{Catalog, CatalogError, TaskError, blocking};
use crate::rule::RuleSpec;
use crate::store::ReportRow;

/// Reports kept at most (the oldest are forgotten first).
const KEEP: usize = 200;

/// One import's outcome.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// The report's id.
    pub id: u64,
    /// When (Unix seconds).
    pub at: i64,
    /// The file name, or `pasted text`.
    pub source: String,
    /// `toml`, `json` or `csv`.
    pub format: String,
    /// Rules created.
    pub created: usize,
    /// Rules changed.
    pub updated: usize,
    /// Rules already as given.
    pub unchanged: usize,
    /// The rules created or changed, as stored (with ids): `created` or `updated`, and the rule.
    pub changed: Vec<(&'static str, RuleSpec)>,
}

impl Report {
    fn to_row(&self) -> ReportRow {
        let changed: Vec<(&str, &RuleSpec)> = self.changed.iter().map(|(w, r)| (*w, r)).collect();
        ReportRow {
            at: self.at,
            source: self.source.clone(),
            format: self.format.clone(),
            created: self.created as u64,
            updated: self.updated as u64,
            unchanged: self.unchanged as u64,
            // A RuleSpec always serialises (plain strings, numbers, lists and maps).
            changed: serde_json::to_string(&changed).unwrap_or_else(|_| "[]".to_owned()),
        }
    }

    fn from_row(id: u64, row: ReportRow) -> Report {
        let changed: Vec<(String, RuleSpec)> = serde_json::from_str(&row.changed)
            .unwrap_or_else(|e| {
                tracing::warn!(report = id, error = %e, "stored import report's rules cannot be read; shown without them");
                Vec::new()
            });
        Report {
            id,
            at: row.at,
            source: row.source,
            format: row.format,
            created: row.created as usize,
            updated: row.updated as usize,
            unchanged: row.unchanged as usize,
            changed: changed
                .into_iter()
                .map(|(what, rule)| {
                    (
                        if what == "updated" {
                            "updated"
                        } else {
                            "created"
                        },
                        rule,
                    )
                })
                .collect(),
        }
    }
}

/// The import reports, kept in the store.
#[derive(Debug, Default)]
pub struct Reports;

impl Reports {
    /// Store `report` under a new id (its `id` is not looked at) and return the id.
    pub async fn add(&self, catalog: &Arc<Catalog>, report: &Report) -> Result<u64, TaskError> {
        let row = report.to_row();
        let id = blocking(catalog, move |c| {
            c.store()
                .add_report(&row, KEEP)
                .map_err(CatalogError::Store)
        })
        .await?;
        Ok(id as u64)
    }

    /// The report `id`, if still kept.
    pub async fn get(&self, catalog: &Arc<Catalog>, id: u64) -> Result<Option<Report>, TaskError> {
        let Ok(key) = i64::try_from(id) else {
            return Ok(None);
        };
        let row = blocking(catalog, move |c| {
            c.store().report(key).map_err(CatalogError::Store)
        })
        .await?;
        Ok(row.map(|row| Report::from_row(id, row)))
    }
}
