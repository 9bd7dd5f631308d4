//! The latest link check of each rule in PostgreSQL, shared by every node (see
//! `store::checks`). None of it takes the rules' write lock.

use super::Postgres;
use crate::store::checks::state_list;
use crate::store::{CheckRow, StoreError};

fn row(r: &::postgres::Row) -> CheckRow {
    CheckRow {
        rule_id: r.get(0),
        checked_at: r.get(1),
        state: r.get(2),
        result: r.get(3),
    }
}

impl Postgres {
    /// Store `check` as its rule's latest.
    pub fn record_check(&self, check: &CheckRow) -> Result<(), StoreError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO rule_checks (rule_id, checked_at, state, result)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (rule_id) DO UPDATE SET
                     checked_at = excluded.checked_at, state = excluded.state,
                     result = excluded.result",
                &[
                    &check.rule_id,
                    &check.checked_at,
                    &check.state,
                    &check.result,
                ],
            )?;
            Ok(())
        })
    }

    /// The latest check of rule `id`, if it has been checked (and still exists).
    pub fn rule_check(&self, id: i64) -> Result<Option<CheckRow>, StoreError> {
        self.with(|c| {
            Ok(c.query_opt(
                "SELECT rule_id, checked_at, state, result FROM rule_checks
                 WHERE rule_id = $1 AND rule_id IN (SELECT id FROM rules)",
                &[&id],
            )?
            .map(|r| row(&r)))
        })
    }

    /// The latest checks in one of `states` (all when empty), by rule id, after `after`, at
    /// most `limit`.
    pub fn checks(
        &self,
        states: &[&str],
        after: i64,
        limit: u32,
    ) -> Result<Vec<CheckRow>, StoreError> {
        let wanted = state_list(states);
        self.with(|c| {
            Ok(c.query(
                "SELECT rule_id, checked_at, state, result FROM rule_checks
                 WHERE rule_id > $1 AND rule_id IN (SELECT id FROM rules)
                   AND ($2 = '' OR strpos($2, ',' || state || ',') > 0)
                 ORDER BY rule_id LIMIT $3",
                &[&after, &wanted, &i64::from(limit)],
            )?
            .iter()
            .map(row)
            .collect())
        })
    }

    /// How many rules' latest checks are in each state.
    pub fn check_counts(&self) -> Result<Vec<(String, u64)>, StoreError> {
        self.with(|c| {
            Ok(c.query(
                "SELECT state, count(*) FROM rule_checks WHERE rule_id IN (SELECT id FROM rules)
                 GROUP BY state ORDER BY state",
                &[],
            )?
            .iter()
            .map(|r| (r.get(0), r.get::<_, i64>(1) as u64))
            .collect())
        })
    }
}
