//! Loading every stored rule into a new index, fast: with more than one core, one thread
//! steps through the rows and copies their text into batches (one buffer per batch) while
//! the calling thread packs (or compiles) the rules and files them, so the two halves of the
//! work run side by side; on one core, the calling thread does both, row by row.

use std::ops::Range;
use std::sync::mpsc::sync_channel;

use crate::index::{Index, IndexBuilder, RuleParts};
use crate::rule::{Kind, QueryMode};
use crate::store::{RuleRow, Store, StoreError};

/// Rows per batch.
const BATCH: usize = 8 * 1024;

/// A row's fields, its text kept as ranges of the batch's buffer.
struct Meta {
    id: i64,
    kind: Kind,
    status: u16,
    query: QueryMode,
    described_by: bool,
    gone: bool,
    host: Range<usize>,
    matcher: Range<usize>,
    to: Range<usize>,
    default_type: Option<Range<usize>>,
    variants: Option<Range<usize>>,
    cache_control: Option<Range<usize>>,
    group: Option<Range<usize>>,
}

/// Rows copied out of the database.
#[derive(Default)]
struct Batch {
    text: String,
    rows: Vec<Meta>,
}

impl Batch {
    fn put(&mut self, s: &str) -> Range<usize> {
        let start = self.text.len();
        self.text.push_str(s);
        start..self.text.len()
    }

    fn push(&mut self, row: &RuleRow<'_>) {
        let meta = Meta {
            id: row.id,
            kind: row.kind,
            status: row.status,
            query: row.query,
            described_by: row.described_by,
            gone: row.gone,
            host: self.put(row.host),
            matcher: self.put(row.matcher),
            to: self.put(row.to),
            default_type: row.default_type.map(|s| self.put(s)),
            variants: row.variants.map(|s| self.put(s)),
            cache_control: row.cache_control.map(|s| self.put(s)),
            group: row.group.map(|s| self.put(s)),
        };
        self.rows.push(meta);
    }

    fn rows(&self) -> impl Iterator<Item = RuleRow<'_>> {
        let t = |r: &Range<usize>| &self.text[r.clone()];
        self.rows.iter().map(move |m| RuleRow {
            id: m.id,
            host: t(&m.host),
            kind: m.kind,
            matcher: t(&m.matcher),
            to: t(&m.to),
            status: m.status,
            query: m.query,
            default_type: m.default_type.as_ref().map(t),
            variants: m.variants.as_ref().map(t),
            cache_control: m.cache_control.as_ref().map(t),
            described_by: m.described_by,
            gone: m.gone,
            group: m.group.as_ref().map(t),
        })
    }
}

/// Every rule of `store`, compiled into a new index, and the change sequence it is as of
/// (when the store has one). A stored rule that cannot be compiled (damaged by hand) is
/// skipped with a warning.
pub fn load(store: &Store) -> Result<(Index, Option<i64>), StoreError> {
    let started = std::time::Instant::now();
    let mut index = IndexBuilder::with_capacity(store.count_estimate()? as usize);
    // On one core (e.g. under `taskset -c 0`) the two halves cannot overlap: copying the rows
    // into batches for the other thread would only add work (8 % of the CPU time of loading
    // 1,000,000 rules).
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let seq = fill(store, &mut index, cores > 1)?;
    let index = index.finish();
    tracing::info!(rules = index.len(), took = ?started.elapsed(), "rules loaded");
    Ok((index, seq))
}

/// Add every stored rule to `index`: on a thread of their own while this one packs them, or
/// one after the other on this thread. Returns the change sequence the rows are as of.
fn fill(
    store: &Store,
    index: &mut IndexBuilder,
    side_by_side: bool,
) -> Result<Option<i64>, StoreError> {
    if side_by_side {
        load_side_by_side(store, index)
    } else {
        store.for_each_row(|row| push(index, row))
    }
}

/// Add the stored rule `row` to `index`, or skip it with a warning.
fn push(index: &mut IndexBuilder, row: &RuleRow<'_>) {
    if let Err(e) = RuleParts::of_row(row).and_then(|parts| index.push(parts)) {
        tracing::warn!(rule = row.id, error = %e, "stored rule cannot be compiled; skipped");
    }
}

/// Read the rows on a thread of their own while this one packs them.
fn load_side_by_side(store: &Store, index: &mut IndexBuilder) -> Result<Option<i64>, StoreError> {
    let (tx, rx) = sync_channel::<Batch>(16);
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            let mut batch = Batch::default();
            let seq = store.for_each_row(|row| {
                batch.push(row);
                if batch.rows.len() == BATCH {
                    let _ = tx.send(std::mem::take(&mut batch));
                }
            })?;
            let _ = tx.send(batch);
            Ok::<_, StoreError>(seq)
        });
        for batch in rx {
            for row in batch.rows() {
                push(index, &row);
            }
        }
        reader
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::RuleSpec;

    /// Both ways of loading give the same index, across batch boundaries and rule kinds.
    #[test]
    fn side_by_side_and_one_after_the_other_load_the_same_rules() {
        let store = Store::in_memory().unwrap();
        let mut rules: Vec<RuleSpec> = (0..BATCH + 100)
            .map(|i| RuleSpec::path(&format!("/id/{i}"), &format!("https://example.org/{i}")))
            .collect();
        rules.push(RuleSpec::prefix("/c/", "https://example.org/c/"));
        rules.push(RuleSpec::pattern(
            "/p/{name}",
            "https://example.org/p/{name}",
        ));
        let rules: Vec<RuleSpec> = rules.into_iter().map(|r| r.validate().unwrap()).collect();
        store.import(&rules, "test").unwrap();
        let mut indexes = [true, false].map(|side_by_side| {
            let mut index = IndexBuilder::with_capacity(rules.len());
            fill(&store, &mut index, side_by_side).unwrap();
            index.finish()
        });
        let [a, b] = &mut indexes;
        assert_eq!((a.len(), b.len()), (rules.len(), rules.len()));
        for path in [
            "/id/0", "/id/8191", "/id/8192", "/id/8291", "/c/x", "/p/alice",
        ] {
            let (ha, hb) = (a.lookup(None, path).unwrap(), b.lookup(None, path).unwrap());
            assert_eq!(ha.rule.id(), hb.rule.id(), "{path}");
            assert_eq!(ha.rule.kind(), hb.rule.kind(), "{path}");
        }
        assert!(a.lookup(None, "/id/8292").is_none() && b.lookup(None, "/id/8292").is_none());
    }
}
