//! Copying a SQLite store into PostgreSQL (`seeother migrate`): rules with their ids, their
//! history (numbered as the change sequence), hit counters and unknown paths, in one
//! transaction, verified by counting both sides before it commits.

use rusqlite::params;

use super::{Postgres, Writer};
use crate::store::history::{self, Entry};
use crate::store::{Sqlite, StoreError};

/// Rows sent per statement.
const BATCH: usize = 5000;

/// What a copy brought over.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Copied {
    /// Rules.
    pub rules: u64,
    /// History entries (the target's change sequence ends at this number).
    pub history: u64,
    /// Rule hit counts, added up.
    pub hits: u64,
    /// Unknown paths.
    pub unknown: u64,
}

/// Why a copy was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CopyError {
    /// The target holds rules or history already.
    #[error(
        "the target database holds {rules} rule(s) and {history} history entries already; nothing was copied. Copy into an empty database, or pass --force to replace what it holds (stop every node using it first)"
    )]
    NotEmpty {
        /// Its rules.
        rules: i64,
        /// Its history entries.
        history: i64,
    },
    /// The counts in the target differ from the source's after the copy (nothing was kept).
    #[error(
        "the copy does not match the source (source {source_counts:?}, target {target:?}); nothing was kept"
    )]
    Mismatch {
        /// Counted in the source.
        source_counts: Copied,
        /// Counted in the target.
        target: Copied,
    },
    /// A store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for CopyError {
    fn from(e: rusqlite::Error) -> Self {
        CopyError::Store(e.into())
    }
}

impl From<::postgres::Error> for CopyError {
    fn from(e: ::postgres::Error) -> Self {
        CopyError::Store(e.into())
    }
}

/// One rule's columns, as read from SQLite.
type RuleColumns = (
    i64,
    String,
    String,
    String,
    String,
    i32,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    bool,
    bool,
    i64,
    i64,
    Option<String>,
);

fn counts_in(tx: &mut ::postgres::Transaction<'_>) -> Result<Copied, ::postgres::Error> {
    let r = tx.query_one(
        "SELECT (SELECT count(*) FROM rules), (SELECT count(*) FROM history),
                (SELECT coalesce(sum(hits), 0)::bigint FROM rule_hits),
                (SELECT count(*) FROM unknown_paths)",
        &[],
    )?;
    Ok(Copied {
        rules: r.get::<_, i64>(0) as u64,
        history: r.get::<_, i64>(1) as u64,
        hits: r.get::<_, i64>(2) as u64,
        unknown: r.get::<_, i64>(3) as u64,
    })
}

impl Postgres {
    /// Copy everything of `source` into this (empty, unless `replace`) database, in one
    /// transaction; the change sequence ends at the number of history entries copied.
    /// Nodes using this database must be stopped while it runs.
    pub fn copy_from(&self, source: &Sqlite, replace: bool) -> Result<Copied, CopyError> {
        let conn = source.conn();
        // One read transaction: the source is copied as of one moment.
        let src = conn.unchecked_transaction()?;
        let expected = src.query_row(
            "SELECT (SELECT count(*) FROM rules), (SELECT count(*) FROM history),
                    (SELECT coalesce(sum(hits), 0) FROM rule_hits),
                    (SELECT count(*) FROM unknown_paths)",
            [],
            |r| {
                Ok(Copied {
                    rules: r.get::<_, i64>(0)? as u64,
                    history: r.get::<_, i64>(1)? as u64,
                    hits: r.get::<_, i64>(2)? as u64,
                    unknown: r.get::<_, i64>(3)? as u64,
                })
            },
        )?;
        self.with(|c| {
            let mut w = Writer::begin(c, self.busy_timeout)?;
            let found = w.tx.query_one(
                "SELECT (SELECT count(*) FROM rules), (SELECT count(*) FROM history)",
                &[],
            )?;
            let (rules, history): (i64, i64) = (found.get(0), found.get(1));
            if (rules, history) != (0, 0) && !replace {
                return Ok(Err(CopyError::NotEmpty { rules, history }));
            }
            w.tx.batch_execute(
                "TRUNCATE daily_hits, daily_unknown, rule_hits, rules, history, unknown_paths, rules_files",
            )?;
            copy_rules(&src, &mut w.tx)?;
            copy_history(&src, &mut w.tx)?;
            copy_counters(&src, &mut w.tx)?;
            copy_days(&src, &mut w.tx)?;
            let target = counts_in(&mut w.tx)?;
            if target != expected {
                return Ok(Err(CopyError::Mismatch {
                    source_counts: expected.clone(),
                    target,
                }));
            }
            let seq = target.history as i64;
            w.tx.execute("UPDATE changes SET seq = $1 WHERE id = 1", &[&seq])?;
            // New rules get ids after the copied ones.
            w.tx.batch_execute(
                "SELECT setval(pg_get_serial_sequence('rules', 'id'),
                               coalesce((SELECT max(id) FROM rules), 0) + 1, false)",
            )?;
            w.commit()?;
            Ok(Ok(target))
        })?
    }
}

fn copy_rules(
    src: &rusqlite::Transaction<'_>,
    tx: &mut ::postgres::Transaction<'_>,
) -> Result<(), StoreError> {
    let mut stmt = src.prepare(
        "SELECT id, host, kind, matcher, target, status, query, default_type, variants,
                cache_control, described_by, gone, created_at, updated_at, grp
         FROM rules ORDER BY id",
    )?;
    let mut rows = stmt.query([])?;
    let mut batch: Vec<RuleColumns> = Vec::with_capacity(BATCH);
    while let Some(r) = rows.next()? {
        batch.push((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
            r.get(7)?,
            r.get(8)?,
            r.get(9)?,
            r.get(10)?,
            r.get(11)?,
            r.get(12)?,
            r.get(13)?,
            r.get(14)?,
        ));
        if batch.len() == BATCH {
            insert_rules(tx, &batch)?;
            batch.clear();
        }
    }
    if !batch.is_empty() {
        insert_rules(tx, &batch)?;
    }
    Ok(())
}

fn insert_rules(
    tx: &mut ::postgres::Transaction<'_>,
    batch: &[RuleColumns],
) -> Result<(), StoreError> {
    macro_rules! col {
        ($i:tt) => {
            batch.iter().map(|r| r.$i.clone()).collect::<Vec<_>>()
        };
    }
    let (id, host, kind, matcher, target) = (col!(0), col!(1), col!(2), col!(3), col!(4));
    let (status, query, default_type, variants) = (col!(5), col!(6), col!(7), col!(8));
    let (cache_control, described_by, gone, created, updated) =
        (col!(9), col!(10), col!(11), col!(12), col!(13));
    let group = col!(14);
    tx.execute(
        "INSERT INTO rules (id, host, kind, matcher, target, status, query, default_type,
                            variants, cache_control, described_by, gone, created_at, updated_at,
                            grp)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[],
                              $6::int[], $7::text[], $8::text[], $9::text[], $10::text[],
                              $11::bool[], $12::bool[], $13::bigint[], $14::bigint[],
                              $15::text[])",
        &[
            &id,
            &host,
            &kind,
            &matcher,
            &target,
            &status,
            &query,
            &default_type,
            &variants,
            &cache_control,
            &described_by,
            &gone,
            &created,
            &updated,
            &group,
        ],
    )?;
    Ok(())
}

/// The history, in its order, numbered 1, 2, 3 … as the change sequence, each entry with
/// the rule after it (`history::each`).
fn copy_history(
    src: &rusqlite::Transaction<'_>,
    tx: &mut ::postgres::Transaction<'_>,
) -> Result<(), StoreError> {
    let mut next = 1i64;
    let mut batch = Vec::with_capacity(BATCH);
    history::each(src, None, |entry| {
        batch.push(entry);
        if batch.len() == BATCH {
            insert_history(tx, next, &batch)?;
            next += batch.len() as i64;
            batch.clear();
        }
        Ok(())
    })?;
    insert_history(tx, next, &batch)
}

/// Insert `batch`, numbered from `first`.
fn insert_history(
    tx: &mut ::postgres::Transaction<'_>,
    first: i64,
    batch: &[Entry],
) -> Result<(), StoreError> {
    if batch.is_empty() {
        return Ok(());
    }
    let seqs: Vec<i64> = (first..first + batch.len() as i64).collect();
    let rule_ids: Vec<i64> = batch.iter().map(|e| e.rule_id).collect();
    let ats: Vec<i64> = batch.iter().map(|e| e.at).collect();
    let actors: Vec<&str> = batch.iter().map(|e| e.actor.as_str()).collect();
    let actions: Vec<&str> = batch.iter().map(|e| e.action.as_str()).collect();
    let old_t: Vec<Option<&str>> = batch.iter().map(|e| e.old_target.as_deref()).collect();
    let new_t: Vec<Option<&str>> = batch.iter().map(|e| e.new_target.as_deref()).collect();
    let old_r: Vec<Option<&str>> = batch.iter().map(|e| e.old_rule.as_deref()).collect();
    let new_r: Vec<Option<&str>> = batch.iter().map(|e| e.new_rule.as_deref()).collect();
    tx.execute(
        "INSERT INTO history (seq, rule_id, at, actor, action, old_target, new_target,
                              old_rule, new_rule)
         SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[],
                              $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])",
        &[
            &seqs, &rule_ids, &ats, &actors, &actions, &old_t, &new_t, &old_r, &new_r,
        ],
    )?;
    Ok(())
}

/// Rule counters and unknown paths.
fn copy_counters(
    src: &rusqlite::Transaction<'_>,
    tx: &mut ::postgres::Transaction<'_>,
) -> Result<(), StoreError> {
    let hits: Vec<(i64, i64)> = src
        .prepare("SELECT rule_id, hits FROM rule_hits ORDER BY rule_id")?
        .query_map(params![], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for chunk in hits.chunks(BATCH) {
        let (ids, counts): (Vec<i64>, Vec<i64>) = chunk.iter().copied().unzip();
        tx.execute(
            "INSERT INTO rule_hits (rule_id, hits) SELECT * FROM unnest($1::bigint[], $2::bigint[])",
            &[&ids, &counts],
        )?;
    }
    let unknown: Vec<(String, String, i64, i64)> = src
        .prepare("SELECT host, path, hits, last_seen FROM unknown_paths")?
        .query_map(params![], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    for chunk in unknown.chunks(BATCH) {
        let hosts: Vec<&str> = chunk.iter().map(|u| u.0.as_str()).collect();
        let paths: Vec<&str> = chunk.iter().map(|u| u.1.as_str()).collect();
        let counts: Vec<i64> = chunk.iter().map(|u| u.2).collect();
        let seen: Vec<i64> = chunk.iter().map(|u| u.3).collect();
        tx.execute(
            "INSERT INTO unknown_paths (host, path, hits, last_seen)
             SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[])",
            &[&hosts, &paths, &counts, &seen],
        )?;
    }
    Ok(())
}

/// The counts per rule per day and the unknown paths per day.
fn copy_days(
    src: &rusqlite::Transaction<'_>,
    tx: &mut ::postgres::Transaction<'_>,
) -> Result<(), StoreError> {
    type Day = (i64, i64, String, i64, i64);
    let days: Vec<Day> = src
        .prepare("SELECT rule_id, day, variant, hits, gone FROM daily_hits")?
        .query_map(params![], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    for chunk in days.chunks(BATCH) {
        let ids: Vec<i64> = chunk.iter().map(|d| d.0).collect();
        let day: Vec<i32> = chunk.iter().map(|d| d.1 as i32).collect();
        let variant: Vec<&str> = chunk.iter().map(|d| d.2.as_str()).collect();
        let hits: Vec<i64> = chunk.iter().map(|d| d.3).collect();
        let gone: Vec<i64> = chunk.iter().map(|d| d.4).collect();
        tx.execute(
            "INSERT INTO daily_hits (rule_id, day, variant, hits, gone)
             SELECT * FROM unnest($1::bigint[], $2::integer[], $3::text[], $4::bigint[], $5::bigint[])",
            &[&ids, &day, &variant, &hits, &gone],
        )?;
    }
    let unknown: Vec<(i64, String, String, i64)> = src
        .prepare("SELECT day, host, path, hits FROM daily_unknown")?
        .query_map(params![], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    for chunk in unknown.chunks(BATCH) {
        let day: Vec<i32> = chunk.iter().map(|u| u.0 as i32).collect();
        let hosts: Vec<&str> = chunk.iter().map(|u| u.1.as_str()).collect();
        let paths: Vec<&str> = chunk.iter().map(|u| u.2.as_str()).collect();
        let hits: Vec<i64> = chunk.iter().map(|u| u.3).collect();
        tx.execute(
            "INSERT INTO daily_unknown (day, host, path, hits)
             SELECT * FROM unnest($1::integer[], $2::text[], $3::text[], $4::bigint[])",
            &[&day, &hosts, &paths, &hits],
        )?;
    }
    Ok(())
}
