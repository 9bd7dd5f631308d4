//! The history's entries as SQLite holds them, each with the rule as the change left it.
//!
//! An import records the rules it creates without a copy of each (`new_target` and
//! `new_rule` are NULL): copied, a million rules' history was half of the store, and the
//! store is what an import spends its time writing. Nothing is lost: every later change of
//! a rule records the rule it found (`old_target`, `old_rule`), so the rule such an entry
//! made is what the rule's next entry found or, with no later entry, the rule as stored now.
//! Every reader of the history reads it through [`each`], which fills those in.

use rusqlite::{Connection, OptionalExtension};

use super::StoreError;
use super::rules::{COLUMNS, FROM, from_row, rule_json};

/// One history entry, with the rule after the change filled in.
pub(in crate::store) struct Entry {
    pub rule_id: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub old_target: Option<String>,
    pub new_target: Option<String>,
    pub old_rule: Option<String>,
    pub new_rule: Option<String>,
}

/// Call `f` with the history entries of rule `rule` (all rules' with `None`), in the order
/// they were recorded.
pub(in crate::store) fn each(
    conn: &Connection,
    rule: Option<i64>,
    mut f: impl FnMut(Entry) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let filter = if rule.is_some() {
        "WHERE h.rule_id = ?1"
    } else {
        "WHERE ?1 IS NULL"
    };
    let mut stmt = conn.prepare(&format!(
        "SELECT h.rule_id, h.at, h.actor, h.action, h.old_target, h.new_target, h.old_rule,
                h.new_rule, lead(h.old_target) OVER w, lead(h.old_rule) OVER w,
                lead(h.id) OVER w IS NOT NULL
         FROM history AS h {filter}
         WINDOW w AS (PARTITION BY h.rule_id ORDER BY h.id)
         ORDER BY h.id"
    ))?;
    let mut now = conn.prepare(&format!("SELECT {COLUMNS} FROM {FROM} WHERE r.id = ?1"))?;
    let mut rows = stmt.query([rule])?;
    while let Some(r) = rows.next()? {
        let mut entry = Entry {
            rule_id: r.get(0)?,
            at: r.get(1)?,
            actor: r.get(2)?,
            action: r.get(3)?,
            old_target: r.get(4)?,
            new_target: r.get(5)?,
            old_rule: r.get(6)?,
            new_rule: r.get(7)?,
        };
        // A change that leaves a rule (all but a deletion) recorded without it.
        if entry.new_rule.is_none() && entry.action != "delete" {
            if r.get::<_, bool>(10)? {
                (entry.new_target, entry.new_rule) = (r.get(8)?, r.get(9)?);
            } else if let Some(stored) = now.query_row([entry.rule_id], from_row).optional()? {
                entry.new_rule = Some(rule_json(&stored));
                entry.new_target = Some(stored.to);
            }
        }
        f(entry)?;
    }
    Ok(())
}
