//! The latest link check of each rule's targets (`serve --check-interval`): one row per rule,
//! replaced by each check. A deleted rule's row is never returned nor counted.

use rusqlite::{OptionalExtension, params};

use super::StoreError;
use super::sqlite::Sqlite;

/// A rule's latest check as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckRow {
    /// The rule's id.
    pub rule_id: i64,
    /// When (Unix seconds).
    pub checked_at: i64,
    /// The worst state of its targets (`seeother_core::check::State::name`).
    pub state: String,
    /// Each target's outcome, as a JSON array.
    pub result: String,
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CheckRow> {
    Ok(CheckRow {
        rule_id: r.get(0)?,
        checked_at: r.get(1)?,
        state: r.get(2)?,
        result: r.get(3)?,
    })
}

impl Sqlite {
    /// Store `check` as its rule's latest.
    pub fn record_check(&self, check: &CheckRow) -> Result<(), StoreError> {
        let conn = self.conn();
        let tx = self.write(&conn)?;
        tx.execute(
            "INSERT INTO rule_checks (rule_id, checked_at, state, result) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (rule_id) DO UPDATE SET
                 checked_at = excluded.checked_at, state = excluded.state, result = excluded.result",
            params![check.rule_id, check.checked_at, check.state, check.result],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The latest check of rule `id`, if it has been checked (and still exists).
    pub fn rule_check(&self, id: i64) -> Result<Option<CheckRow>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT rule_id, checked_at, state, result FROM rule_checks
                 WHERE rule_id = ?1 AND rule_id IN (SELECT id FROM rules)",
                [id],
                row,
            )
            .optional()?)
    }

    /// The latest checks in one of `states` (all when empty), by rule id, after `after`, at
    /// most `limit`.
    pub fn checks(
        &self,
        states: &[&str],
        after: i64,
        limit: u32,
    ) -> Result<Vec<CheckRow>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT rule_id, checked_at, state, result FROM rule_checks
             WHERE rule_id > ?1 AND rule_id IN (SELECT id FROM rules)
               AND (?2 = '' OR instr(?2, ',' || state || ',') > 0)
             ORDER BY rule_id LIMIT ?3",
        )?;
        let wanted = state_list(states);
        let rows = stmt.query_map(params![after, wanted, limit], row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// How many rules' latest checks are in each state.
    pub fn check_counts(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT state, count(*) FROM rule_checks WHERE rule_id IN (SELECT id FROM rules)
             GROUP BY state ORDER BY state",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// `,a,b,` for the states `a` and `b` (empty for all), as the queries match them.
pub(super) fn state_list(states: &[&str]) -> String {
    if states.is_empty() {
        String::new()
    } else {
        format!(",{},", states.join(","))
    }
}
