//! The admin's list of rules on PostgreSQL: the walks of [`crate::store::browse`] read in
//! one snapshot.

use ::postgres::types::ToSql;
use ::postgres::{IsolationLevel, Transaction};

use super::Postgres;
use super::rules::{COLUMNS, LOWER, UPPER, from_row};
use crate::rule::RuleSpec;
use crate::store::browse::{Dialect, Params, Reader, Value, numbered, read};
use crate::store::{Browse, Browsed, Matching, StoreError};

/// PostgreSQL's reader: one read-only repeatable-read transaction.
struct PgReader<'c, 't>(&'c mut Transaction<'t>);

impl PgReader<'_, '_> {
    fn query(
        &mut self,
        sql: &str,
        params: &Params<'_>,
    ) -> Result<Vec<::postgres::Row>, StoreError> {
        let (sql, used) = numbered(sql, '$');
        let values: Vec<Value<'_>> = used.iter().map(|&n| params.get(n)).collect();
        let bound: Vec<&(dyn ToSql + Sync)> = values
            .iter()
            .map(|v| match v {
                Value::Text(t) => t as &(dyn ToSql + Sync),
                Value::Int(i) => i as &(dyn ToSql + Sync),
            })
            .collect();
        Ok(self.0.query(sql.as_str(), &bound)?)
    }
}

impl Reader for PgReader<'_, '_> {
    fn rows(&mut self, sql: &str, params: &Params<'_>) -> Result<Vec<(RuleSpec, i64)>, StoreError> {
        Ok(self
            .query(sql, params)?
            .iter()
            .map(|row| (from_row(row), row.get::<_, i64>(14)))
            .collect())
    }

    fn number(&mut self, sql: &str, params: &Params<'_>) -> Result<i64, StoreError> {
        Ok(self
            .query(sql, params)?
            .first()
            .map_or(0, |row| row.get::<_, i64>(0)))
    }
}

impl Postgres {
    /// A page of the admin list (see [`Browse`]), read in one snapshot.
    pub fn browse(&self, query: &Browse) -> Result<Browsed, StoreError> {
        // PostgreSQL's text holds no NUL, so a search for one matches nothing.
        if query.needle().is_some_and(|n| n.contains('\0'))
            || query.host.as_deref().is_some_and(|h| h.contains('\0'))
        {
            return Ok(Browsed {
                matching: Matching::Exactly(0),
                ..Browsed::default()
            });
        }
        // As `list`: literally, ASCII letters folded as SQLite's `lower` does.
        let dialect = Dialect {
            columns: COLUMNS,
            filter: format!(
                "(?1::text IS NULL
                    OR strpos(translate(r.matcher, '{UPPER}', '{LOWER}'), ?1) > 0
                    OR strpos(translate(r.target, '{UPPER}', '{LOWER}'), ?1) > 0)
                 AND (?2::text IS NULL OR r.host = ?2)"
            ),
            counted: "rule_hits AS h JOIN rules AS r ON r.id = h.rule_id",
        };
        self.with(|c| {
            let mut tx = c
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()?;
            let page = read(&mut PgReader(&mut tx), &dialect, query)?;
            tx.commit()?;
            Ok(page)
        })
    }
}
