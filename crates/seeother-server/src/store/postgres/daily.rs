//! Counts per UTC day in PostgreSQL (`daily_hits`, `daily_unknown`), as the SQLite store
//! keeps them; every node adds its own counts to the shared rows.

use ::postgres::Row;

use super::Postgres;
use crate::index::Counted;
use crate::store::daily::{
    DailyRetention, Day, DayCount, RuleCount, TopBy, UnknownCount, VariantCount,
};
use crate::store::{PartlyWritten, StoreError};

/// Rules written per statement.
const RULES_PER_TX: usize = 1024;
/// Unknown paths written per transaction.
const UNKNOWN_PER_TX: usize = 256;
/// Rows of old days deleted per statement.
const EXPIRE_PER_TX: i64 = 4096;

impl Postgres {
    /// Add `counts` to day `day`, 1,024 rules per statement; rules deleted meanwhile are
    /// skipped. Rows are locked in key order, so two nodes flushing at once wait for each
    /// other rather than deadlock.
    pub fn add_daily(&self, day: Day, counts: &[Counted]) -> Result<(), PartlyWritten> {
        let mut written = 0;
        let day = day as i32;
        for chunk in counts.chunks(RULES_PER_TX) {
            let (mut ids, mut variants, mut hits, mut gone) = (vec![], vec![], vec![], vec![]);
            for c in chunk {
                ids.push(c.id);
                variants.push("");
                hits.push(c.hits as i64);
                gone.push(c.gone as i64);
                for (t, n) in &c.served {
                    ids.push(c.id);
                    variants.push(&**t);
                    hits.push(*n as i64);
                    gone.push(0);
                }
            }
            self.with(|c| {
                c.execute(
                    "INSERT INTO daily_hits (rule_id, day, variant, hits, gone)
                     SELECT r.id, $1, h.v, h.n, h.g
                     FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::bigint[])
                         AS h(id, v, n, g)
                     JOIN rules AS r ON r.id = h.id
                     ORDER BY r.id, h.v
                     ON CONFLICT (rule_id, day, variant) DO UPDATE
                         SET hits = daily_hits.hits + EXCLUDED.hits,
                             gone = daily_hits.gone + EXCLUDED.gone",
                    &[&day, &ids, &variants, &hits, &gone],
                )?;
                Ok(())
            })
            .map_err(|error| PartlyWritten { written, error })?;
            written += chunk.len();
        }
        Ok(())
    }

    /// Delete the counts of the days before `first`, at most 4,096 rows per statement.
    pub fn expire_days(&self, first: Day) -> Result<(), StoreError> {
        let first = first as i32;
        for (table, key) in [
            ("daily_hits", "rule_id, day, variant"),
            ("daily_unknown", "day, host, path"),
        ] {
            let sql = format!(
                "DELETE FROM {table} WHERE ({key}) IN
                     (SELECT {key} FROM {table} WHERE day < $1 LIMIT $2)"
            );
            loop {
                let n = self.with(|c| Ok(c.execute(&sql, &[&first, &EXPIRE_PER_TX])?))?;
                if (n as i64) < EXPIRE_PER_TX {
                    break;
                }
            }
        }
        Ok(())
    }

    /// Add counts of unknown paths to day `day`, 256 per transaction, each of which keeps the
    /// day within `keep.unknown_per_day` rows (the least asked for go first).
    pub fn add_daily_unknown(
        &self,
        day: Day,
        unknown: &[(String, String, u64)],
        keep: &DailyRetention,
    ) -> Result<(), PartlyWritten> {
        let cap = keep.unknown_per_day.max(1) as i64;
        let day = day as i32;
        let mut written = 0;
        for chunk in unknown.chunks(UNKNOWN_PER_TX) {
            let hosts: Vec<&str> = chunk.iter().map(|(h, _, _)| h.as_str()).collect();
            let paths: Vec<&str> = chunk.iter().map(|(_, p, _)| p.as_str()).collect();
            let counts: Vec<i64> = chunk.iter().map(|(_, _, n)| *n as i64).collect();
            self.with(|c| {
                let mut tx = c.transaction()?;
                tx.execute(
                    "INSERT INTO daily_unknown (day, host, path, hits)
                     SELECT $1, u.host, u.path, u.n
                     FROM unnest($2::text[], $3::text[], $4::bigint[]) AS u(host, path, n)
                     ORDER BY u.host, u.path
                     ON CONFLICT (day, host, path) DO UPDATE
                         SET hits = daily_unknown.hits + EXCLUDED.hits",
                    &[&day, &hosts, &paths, &counts],
                )?;
                let rows: i64 = tx
                    .query_one("SELECT count(*) FROM daily_unknown WHERE day = $1", &[&day])?
                    .get(0);
                if rows > cap {
                    tx.execute(
                        "DELETE FROM daily_unknown WHERE day = $1 AND (host, path) IN (
                             SELECT host, path FROM daily_unknown WHERE day = $1
                             ORDER BY hits, path DESC LIMIT $2)",
                        &[&day, &(rows - cap)],
                    )?;
                }
                tx.commit()?;
                Ok(())
            })
            .map_err(|error| PartlyWritten { written, error })?;
            written += chunk.len();
        }
        Ok(())
    }

    /// Rule `id`'s counts for each day from `from` to `to` that has any, oldest first.
    pub fn rule_days(&self, id: i64, from: Day, to: Day) -> Result<Vec<DayCount>, StoreError> {
        self.with(|c| {
            Ok(c.query(
                "SELECT day, hits, gone FROM daily_hits
                 WHERE rule_id = $1 AND variant = '' AND day BETWEEN $2 AND $3 ORDER BY day",
                &[&id, &(from as i32), &(to as i32)],
            )?
            .iter()
            .map(day_count)
            .collect())
        })
    }

    /// Rule `id`'s answers per variant for each day from `from` to `to`, oldest first.
    pub fn rule_variants(
        &self,
        id: i64,
        from: Day,
        to: Day,
    ) -> Result<Vec<VariantCount>, StoreError> {
        self.with(|c| {
            Ok(c.query(
                "SELECT day, variant, hits FROM daily_hits
                 WHERE rule_id = $1 AND variant <> '' AND day BETWEEN $2 AND $3
                 ORDER BY day, variant",
                &[&id, &(from as i32), &(to as i32)],
            )?
            .iter()
            .map(|r| VariantCount {
                day: i64::from(r.get::<_, i32>(0)),
                media_type: r.get(1),
                hits: r.get::<_, i64>(2) as u64,
            })
            .collect())
        })
    }

    /// Every rule's counts added up for each day from `from` to `to` that has any.
    pub fn days(&self, from: Day, to: Day) -> Result<Vec<DayCount>, StoreError> {
        self.with(|c| {
            Ok(c.query(
                "SELECT day, sum(hits)::bigint, sum(gone)::bigint FROM daily_hits
                 WHERE day BETWEEN $1 AND $2 AND variant = '' GROUP BY day ORDER BY day",
                &[&(from as i32), &(to as i32)],
            )?
            .iter()
            .map(day_count)
            .collect())
        })
    }

    /// The `limit` rules with the most answers (or 410s) from `from` to `to`, most first.
    pub fn top_rules(
        &self,
        from: Day,
        to: Day,
        by: TopBy,
        limit: u32,
    ) -> Result<Vec<RuleCount>, StoreError> {
        let (order, having) = match by {
            TopBy::Hits => ("h", ""),
            TopBy::Gone => ("g", "HAVING sum(d.gone) > 0"),
        };
        let sql = format!(
            "SELECT t.rule_id, r.host, r.matcher, t.h, t.g FROM (
                 SELECT d.rule_id, sum(d.hits)::bigint AS h, sum(d.gone)::bigint AS g
                 FROM daily_hits AS d
                 WHERE d.day BETWEEN $1 AND $2 AND d.variant = ''
                 GROUP BY d.rule_id {having} ORDER BY {order} DESC, d.rule_id LIMIT $3
             ) AS t JOIN rules AS r ON r.id = t.rule_id ORDER BY t.{order} DESC, t.rule_id"
        );
        self.with(|c| {
            Ok(
                c.query(&sql, &[&(from as i32), &(to as i32), &i64::from(limit)])?
                    .iter()
                    .map(|r| RuleCount {
                        rule_id: r.get(0),
                        host: r.get(1),
                        matcher: r.get(2),
                        hits: r.get::<_, i64>(3) as u64,
                        gone: r.get::<_, i64>(4) as u64,
                    })
                    .collect(),
            )
        })
    }

    /// The `limit` most asked-for unknown paths from `from` to `to`, most first.
    pub fn top_unknown(
        &self,
        from: Day,
        to: Day,
        limit: u32,
    ) -> Result<Vec<UnknownCount>, StoreError> {
        self.with(|c| {
            Ok(c.query(
                "SELECT host, path, sum(hits)::bigint AS h FROM daily_unknown
                 WHERE day BETWEEN $1 AND $2
                 GROUP BY host, path ORDER BY h DESC, host, path LIMIT $3",
                &[&(from as i32), &(to as i32), &i64::from(limit)],
            )?
            .iter()
            .map(|r| UnknownCount {
                host: r.get(0),
                path: r.get(1),
                hits: r.get::<_, i64>(2) as u64,
            })
            .collect())
        })
    }
}

fn day_count(r: &Row) -> DayCount {
    DayCount {
        day: i64::from(r.get::<_, i32>(0)),
        hits: r.get::<_, i64>(1) as u64,
        gone: r.get::<_, i64>(2) as u64,
    }
}
