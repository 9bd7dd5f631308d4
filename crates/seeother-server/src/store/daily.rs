//! Counts per UTC day (`daily_hits`, `daily_unknown`): hits per rule, per variant served and
//! answered 410 Gone, and the most asked-for unknown paths, kept for a number of days.
//! Written by the same flush as the hit counters, in small transactions; a fleet's nodes add
//! to the same rows.

use std::time::Duration;

use rusqlite::params;

use super::sqlite::Sqlite;
use super::stats::{COUNTERS_BUSY, PartlyWritten};
use super::{StoreError, now};
use crate::index::Counted;

/// A UTC day, counted from 1970-01-01 (Unix seconds / 86,400).
pub type Day = i64;

/// Seconds in a day (UTC has no leap seconds in Unix time).
const DAY_SECS: i64 = 86_400;

/// Rules written per transaction (each one row, plus one per variant served).
const RULES_PER_TX: usize = 1024;
/// Unknown paths written per transaction.
const UNKNOWN_PER_TX: usize = 256;
/// Rows of old days deleted per transaction.
const EXPIRE_PER_TX: i64 = 4096;
/// The pause between two transactions.
const PAUSE: Duration = Duration::from_millis(1);

/// `day` as an ISO 8601 calendar date (`2026-12-01`).
pub fn date(day: Day) -> String {
    // Julian day 2,440,588 is 1970-01-01.
    i32::try_from(day + 2_440_588)
        .ok()
        .and_then(|j| time::Date::from_julian_day(j).ok())
        .map(|d| d.to_string())
        .unwrap_or_default()
}

/// The day of an ISO 8601 calendar date (`2026-12-01`), `None` if `text` is none.
pub fn parse_day(text: &str) -> Option<Day> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text, format)
        .ok()
        .map(|d| i64::from(d.to_julian_day()) - 2_440_588)
}

/// The day it is now.
pub fn today() -> Day {
    now().div_euclid(DAY_SECS)
}

/// How long the counts per day are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DailyRetention {
    /// Days kept, today included; older ones are deleted at the next flush.
    pub days: u32,
    /// Unknown paths kept per day: beyond, the least asked-for of the day go first.
    pub unknown_per_day: u64,
}

impl Default for DailyRetention {
    fn default() -> Self {
        DailyRetention {
            days: 400,
            unknown_per_day: 1_000,
        }
    }
}

impl DailyRetention {
    /// The first day kept on `day`.
    pub fn first_kept(&self, day: Day) -> Day {
        day - i64::from(self.days.max(1)) + 1
    }
}

/// A day's count: every answer, and those that were 410 Gone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DayCount {
    /// The day.
    pub day: Day,
    /// Requests answered.
    pub hits: u64,
    /// Of those, answered 410 Gone (by a tombstone).
    pub gone: u64,
}

/// A day's answers with one variant of a rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VariantCount {
    /// The day.
    pub day: Day,
    /// The media type of the target served.
    pub media_type: String,
    /// Requests answered with it.
    pub hits: u64,
}

/// A rule's count over a range of days.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleCount {
    /// The rule's id.
    pub rule_id: i64,
    /// Its host ('' for any host).
    pub host: String,
    /// Its path, prefix or pattern.
    pub matcher: String,
    /// Requests answered.
    pub hits: u64,
    /// Of those, answered 410 Gone.
    pub gone: u64,
}

/// An unknown path's count over a range of days.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownCount {
    /// The request's host ('' when it had none).
    pub host: String,
    /// The path.
    pub path: String,
    /// Requests (a lower bound: see [`crate::stats::Unknown`]).
    pub hits: u64,
}

/// Which count orders [`Sqlite::top_rules`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TopBy {
    /// Every answer.
    Hits,
    /// Answers 410 Gone (only rules with some).
    Gone,
}

impl Sqlite {
    /// Add `counts` to day `day`, in transactions of at most 1,024 rules; rules deleted
    /// meanwhile are skipped.
    pub fn add_daily(&self, day: Day, counts: &[Counted]) -> Result<(), PartlyWritten> {
        let mut written = 0;
        for chunk in counts.chunks(RULES_PER_TX) {
            let fail = |error| PartlyWritten { written, error };
            let conn = self.conn();
            let tx = self
                .begin(&conn, COUNTERS_BUSY.min(self.busy_timeout()))
                .map_err(fail)?;
            for c in chunk {
                let gone = c.gone;
                // The SELECT yields no row for a rule deleted meanwhile: nothing written.
                let n = tx
                    .prepare_cached(
                        "INSERT INTO daily_hits (rule_id, day, variant, hits, gone)
                         SELECT id, ?2, '', ?3, ?4 FROM rules WHERE id = ?1
                         ON CONFLICT (rule_id, day, variant)
                         DO UPDATE SET hits = hits + excluded.hits, gone = gone + excluded.gone",
                    )
                    .and_then(|mut s| s.execute(params![c.id, day, c.hits as i64, gone as i64]))
                    .map_err(|e| fail(e.into()))?;
                if n == 0 {
                    continue;
                }
                for (t, v) in &c.served {
                    tx.prepare_cached(
                        "INSERT INTO daily_hits (rule_id, day, variant, hits, gone)
                         VALUES (?1, ?2, ?3, ?4, 0)
                         ON CONFLICT (rule_id, day, variant) DO UPDATE SET hits = hits + excluded.hits",
                    )
                    .and_then(|mut s| s.execute(params![c.id, day, &**t, *v as i64]))
                    .map_err(|e| fail(e.into()))?;
                }
            }
            tx.commit().map_err(|e| fail(e.into()))?;
            written += chunk.len();
            drop(conn);
            std::thread::sleep(PAUSE);
        }
        Ok(())
    }

    /// Delete the counts of the days before `first`, at most 4,096 rows per transaction, so
    /// a day of a million rules goes in many short transactions rather than one long one.
    pub fn expire_days(&self, first: Day) -> Result<(), StoreError> {
        for (table, key) in [
            ("daily_hits", "rule_id, day, variant"),
            ("daily_unknown", "day, host, path"),
        ] {
            let sql = format!(
                "DELETE FROM {table} WHERE ({key}) IN
                     (SELECT {key} FROM {table} WHERE day < ?1 LIMIT ?2)"
            );
            loop {
                let conn = self.conn();
                let tx = self.begin(&conn, COUNTERS_BUSY.min(self.busy_timeout()))?;
                let n = tx.execute(&sql, params![first, EXPIRE_PER_TX])?;
                tx.commit()?;
                drop(conn);
                if (n as i64) < EXPIRE_PER_TX {
                    break;
                }
                std::thread::sleep(PAUSE);
            }
        }
        Ok(())
    }

    /// Add counts of unknown paths (`host`, `path`, `hits`) to day `day`, 256 per
    /// transaction; each keeps the day within `keep.unknown_per_day` rows (the least asked
    /// for go first).
    pub fn add_daily_unknown(
        &self,
        day: Day,
        unknown: &[(String, String, u64)],
        keep: &DailyRetention,
    ) -> Result<(), PartlyWritten> {
        let cap = keep.unknown_per_day.max(1) as i64;
        let mut written = 0;
        for chunk in unknown.chunks(UNKNOWN_PER_TX) {
            let fail = |error| PartlyWritten { written, error };
            let conn = self.conn();
            let tx = self
                .begin(&conn, COUNTERS_BUSY.min(self.busy_timeout()))
                .map_err(fail)?;
            let run = || -> rusqlite::Result<()> {
                for (host, path, n) in chunk {
                    tx.prepare_cached(
                        "INSERT INTO daily_unknown (day, host, path, hits) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT (day, host, path) DO UPDATE SET hits = hits + excluded.hits",
                    )?
                    .execute(params![day, host, path, *n as i64])?;
                }
                let rows: i64 = tx.query_row(
                    "SELECT count(*) FROM daily_unknown WHERE day = ?1",
                    [day],
                    |r| r.get(0),
                )?;
                if rows > cap {
                    tx.prepare_cached(
                        "DELETE FROM daily_unknown WHERE day = ?1 AND (host, path) IN (
                             SELECT host, path FROM daily_unknown WHERE day = ?1
                             ORDER BY hits, path DESC LIMIT ?2)",
                    )?
                    .execute(params![day, rows - cap])?;
                }
                Ok(())
            };
            run().map_err(|e| fail(e.into()))?;
            tx.commit().map_err(|e| fail(e.into()))?;
            written += chunk.len();
            drop(conn);
            std::thread::sleep(PAUSE);
        }
        Ok(())
    }

    /// Rule `id`'s counts for each day from `from` to `to` that has any, oldest first.
    pub fn rule_days(&self, id: i64, from: Day, to: Day) -> Result<Vec<DayCount>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT day, hits, gone FROM daily_hits
             WHERE rule_id = ?1 AND variant = '' AND day BETWEEN ?2 AND ?3 ORDER BY day",
        )?;
        let rows = stmt
            .query_map(params![id, from, to], day_count)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Rule `id`'s answers per variant for each day from `from` to `to`, oldest first.
    pub fn rule_variants(
        &self,
        id: i64,
        from: Day,
        to: Day,
    ) -> Result<Vec<VariantCount>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT day, variant, hits FROM daily_hits
             WHERE rule_id = ?1 AND variant <> '' AND day BETWEEN ?2 AND ?3 ORDER BY day, variant",
        )?;
        let rows = stmt
            .query_map(params![id, from, to], |r| {
                Ok(VariantCount {
                    day: r.get(0)?,
                    media_type: r.get(1)?,
                    hits: r.get::<_, i64>(2)? as u64,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// Every rule's counts added up for each day from `from` to `to` that has any.
    pub fn days(&self, from: Day, to: Day) -> Result<Vec<DayCount>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT day, sum(hits), sum(gone) FROM daily_hits
             WHERE day BETWEEN ?1 AND ?2 AND variant = '' GROUP BY day ORDER BY day",
        )?;
        let rows = stmt
            .query_map(params![from, to], day_count)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// The `limit` rules with the most answers (or 410s) from `from` to `to`, most first.
    pub fn top_rules(
        &self,
        from: Day,
        to: Day,
        by: TopBy,
        limit: u32,
    ) -> Result<Vec<RuleCount>, StoreError> {
        let conn = self.conn();
        let (order, having) = match by {
            TopBy::Hits => ("h", ""),
            TopBy::Gone => ("g", "HAVING sum(d.gone) > 0"),
        };
        let sql = format!(
            "SELECT t.rule_id, r.host, r.matcher, t.h, t.g FROM (
                 SELECT d.rule_id, sum(d.hits) AS h, sum(d.gone) AS g FROM daily_hits AS d
                 WHERE d.day BETWEEN ?1 AND ?2 AND d.variant = ''
                 GROUP BY d.rule_id {having} ORDER BY {order} DESC, d.rule_id LIMIT ?3
             ) AS t JOIN rules AS r ON r.id = t.rule_id ORDER BY t.{order} DESC, t.rule_id"
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt
            .query_map(params![from, to, limit], |r| {
                Ok(RuleCount {
                    rule_id: r.get(0)?,
                    host: r.get(1)?,
                    matcher: r.get(2)?,
                    hits: r.get::<_, i64>(3)? as u64,
                    gone: r.get::<_, i64>(4)? as u64,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }

    /// The `limit` most asked-for unknown paths from `from` to `to`, most first.
    pub fn top_unknown(
        &self,
        from: Day,
        to: Day,
        limit: u32,
    ) -> Result<Vec<UnknownCount>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT host, path, sum(hits) AS h FROM daily_unknown WHERE day BETWEEN ?1 AND ?2
             GROUP BY host, path ORDER BY h DESC, host, path LIMIT ?3",
        )?;
        let rows = stmt
            .query_map(params![from, to, limit], |r| {
                Ok(UnknownCount {
                    host: r.get(0)?,
                    path: r.get(1)?,
                    hits: r.get::<_, i64>(2)? as u64,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }
}

fn day_count(r: &rusqlite::Row<'_>) -> rusqlite::Result<DayCount> {
    Ok(DayCount {
        day: r.get(0)?,
        hits: r.get::<_, i64>(1)? as u64,
        gone: r.get::<_, i64>(2)? as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::{date, parse_day};

    #[test]
    fn days_and_dates() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(parse_day("2024-02-29"), Some(19_782));
        assert_eq!(date(19_782), "2024-02-29");
        assert_eq!(parse_day("2023-02-29"), None);
        assert_eq!(parse_day("yesterday"), None);
    }
}
