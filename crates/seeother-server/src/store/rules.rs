//! Rules in the store: create, read, update, delete, import, history.

use std::path::Path;

use rusqlite::{OptionalExtension, Row, ToSql, Transaction, params, params_from_iter};
use serde::Serialize;

use super::sqlite::Sqlite;
use super::{StoreError, now};
use crate::rule::{Kind, QueryMode, RuleSpec, Variant};

/// The columns of a rule, read `FROM {FROM}`; its hit counter lives in `rule_hits` (no row: 0).
pub(super) const COLUMNS: &str = "r.id, r.host, r.kind, r.matcher, r.target, r.status, r.query, \
                       r.default_type, r.variants, r.cache_control, r.described_by, r.gone, \
                       coalesce(h.hits, 0), r.grp";

/// A rule and its counter.
pub(super) const FROM: &str = "rules AS r LEFT JOIN rule_hits AS h ON h.rule_id = r.id";

/// The columns of `RuleRow`, read `FROM rules` (the index needs no counters).
const ROW_COLUMNS: &str = "id, host, kind, matcher, target, status, query, default_type, variants, \
                           cache_control, described_by, gone, grp";

pub(super) fn from_row(row: &Row<'_>) -> rusqlite::Result<RuleSpec> {
    let id: i64 = row.get(0)?;
    let host: String = row.get(1)?;
    let kind: String = row.get(2)?;
    let matcher: String = row.get(3)?;
    let variants: Option<String> = row.get(8)?;
    let query: String = row.get(6)?;
    let mut rule = RuleSpec::new(
        Kind::from_name(&kind).unwrap_or(Kind::Path),
        &matcher,
        &row.get::<_, String>(4)?,
    );
    rule.id = Some(id);
    rule.host = (!host.is_empty()).then_some(host);
    rule.status = row.get(5)?;
    rule.query = QueryMode::from_name(&query).unwrap_or_default();
    rule.default_type = row.get(7)?;
    rule.variants = variants
        .and_then(|v| serde_json::from_str::<Vec<Variant>>(&v).ok())
        .unwrap_or_default();
    rule.cache_control = row.get(9)?;
    rule.described_by = row.get(10)?;
    rule.gone = row.get(11)?;
    rule.hits = Some(row.get::<_, i64>(12)? as u64);
    if let Some(json) = row.get::<_, Option<String>>(13)? {
        // A damaged group reads as an empty one; the index refuses to load nothing from it.
        let _ = rule.set_group_json(&json);
    }
    Ok(rule)
}

/// One stored rule, borrowed from the database row (no copy), for loading the index.
#[derive(Clone, Copy, Debug)]
pub struct RuleRow<'a> {
    /// The id.
    pub id: i64,
    /// The host, empty for any host.
    pub host: &'a str,
    /// How it matches.
    pub kind: Kind,
    /// The path, prefix or pattern.
    pub matcher: &'a str,
    /// The target.
    pub to: &'a str,
    /// The redirect status.
    pub status: u16,
    /// Query handling.
    pub query: QueryMode,
    /// The default target's media type.
    pub default_type: Option<&'a str>,
    /// The variants, as JSON.
    pub variants: Option<&'a str>,
    /// The `Cache-Control` value.
    pub cache_control: Option<&'a str>,
    /// Whether to add `Link: rel="describedby"`.
    pub described_by: bool,
    /// Whether it is a tombstone.
    pub gone: bool,
    /// A group's own fields, as JSON.
    pub group: Option<&'a str>,
}

fn text<'r>(row: &'r Row<'_>, i: usize) -> rusqlite::Result<&'r str> {
    Ok(row.get_ref(i)?.as_str()?)
}

fn text_opt<'r>(row: &'r Row<'_>, i: usize) -> rusqlite::Result<Option<&'r str>> {
    Ok(row.get_ref(i)?.as_str_or_null()?)
}

fn variants_json(rule: &RuleSpec) -> Option<String> {
    (!rule.variants.is_empty()).then(|| serde_json::to_string(&rule.variants).unwrap_or_default())
}

/// A rule's stored columns, bound by `insert` and `replace` in one order: host, kind,
/// matcher, target, status, query, default_type, variants, cache_control, described_by, gone.
struct Columns<'a> {
    rule: &'a RuleSpec,
    host: String,
    kind: &'static str,
    matcher: String,
    query: &'static str,
    variants: Option<String>,
    group: Option<String>,
}

impl<'a> Columns<'a> {
    fn of(rule: &'a RuleSpec) -> Self {
        let (host, kind, matcher) = rule.key();
        Columns {
            rule,
            host,
            kind: kind.as_str(),
            matcher,
            query: rule.query.as_str(),
            variants: variants_json(rule),
            group: rule.group_json(),
        }
    }

    fn bind(&self) -> [&dyn ToSql; 12] {
        [
            &self.host,
            &self.kind,
            &self.matcher,
            &self.rule.to,
            &self.rule.status,
            &self.query,
            &self.rule.default_type,
            &self.variants,
            &self.rule.cache_control,
            &self.rule.described_by,
            &self.rule.gone,
            &self.group,
        ]
    }
}

pub(super) fn rule_json(rule: &RuleSpec) -> String {
    serde_json::to_string(&rule.clone().without_server_fields()).unwrap_or_default()
}

/// One change to the rules: the rule before (`None` for a creation) and after (`None` for a
/// deletion), both with their ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// Before.
    pub old: Option<RuleSpec>,
    /// After.
    pub new: Option<RuleSpec>,
}

/// A page of rules.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Page {
    /// The rules, by id.
    pub rules: Vec<RuleSpec>,
    /// The `after` value for the next page, when there is one.
    #[schema(required = true)]
    pub next: Option<i64>,
}

impl Page {
    /// The page of at most `limit` rules out of `rules`, read with one more than `limit`
    /// so that a further rule says there is a next page.
    pub(crate) fn of_one_more(mut rules: Vec<RuleSpec>, limit: u32) -> Page {
        let next = if rules.len() > limit as usize {
            rules.truncate(limit as usize);
            rules.last().and_then(|r| r.id)
        } else {
            None
        };
        Page { rules, next }
    }
}

/// Which rules to list.
#[derive(Clone, Debug)]
pub struct ListQuery {
    /// Only rules whose matcher or target contains this text.
    pub search: Option<String>,
    /// Only rules for this host (`""` for rules for any host).
    pub host: Option<String>,
    /// Only rules with an id greater than this.
    pub after: i64,
    /// At most this many (1 to 1000).
    pub limit: u32,
}

impl Default for ListQuery {
    fn default() -> Self {
        ListQuery {
            search: None,
            host: None,
            after: 0,
            limit: 100,
        }
    }
}

/// One recorded change of a rule.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    /// When (Unix seconds).
    pub at: i64,
    /// Who: `api`, the actor named by the API client, `import:FILE`, …
    pub actor: String,
    /// `create`, `update`, `delete` or `tombstone`.
    pub action: String,
    /// The target before.
    #[schema(required = true)]
    pub old_target: Option<String>,
    /// The target after.
    #[schema(required = true)]
    pub new_target: Option<String>,
    /// The whole rule before.
    #[schema(required = true)]
    pub old: Option<RuleSpec>,
    /// The whole rule after.
    #[schema(required = true)]
    pub new: Option<RuleSpec>,
}

/// What an import did.
#[derive(Clone, Debug, Default)]
pub struct ImportReport {
    /// Rules created.
    pub created: usize,
    /// Rules changed.
    pub updated: usize,
    /// Rules already as given.
    pub unchanged: usize,
    /// The changes, for the index.
    pub changes: Vec<Change>,
    /// The file was not imported: its bytes and the rules in the store are as they were
    /// when it was last applied, so importing it would change nothing (`unchanged` is the
    /// number of rules it held then).
    pub skipped: bool,
}

fn get_tx(tx: &Transaction<'_>, id: i64) -> rusqlite::Result<Option<RuleSpec>> {
    tx.prepare_cached(&format!("SELECT {COLUMNS} FROM {FROM} WHERE r.id = ?1"))?
        .query_row([id], from_row)
        .optional()
}

fn find_key(tx: &Transaction<'_>, rule: &RuleSpec) -> rusqlite::Result<Option<RuleSpec>> {
    let (host, kind, matcher) = rule.key();
    // Statements are cached on the connection: an import runs this one once or twice per
    // rule, and preparing it each time would cost as much as running it.
    tx.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM {FROM} WHERE r.host = ?1 AND r.kind = ?2 AND r.matcher = ?3"
    ))?
    .query_row(params![host, kind.as_str(), matcher], from_row)
    .optional()
}

/// SQLite's page cache by default, in KiB.
const DEFAULT_CACHE_KIB: usize = 2000;

/// The page cache of the largest imports, in KiB.
const IMPORT_CACHE_KIB_MAX: usize = 64 * 1024;

/// The page cache of the general path of an import of about `expected` rules, in KiB.
fn import_cache_kib(expected: usize) -> usize {
    (expected / 16).clamp(DEFAULT_CACHE_KIB, IMPORT_CACHE_KIB_MAX)
}

/// Rules from which an import counts its insertions itself instead of by [`COUNT_TRIGGER`]
/// (setting the trigger aside and back is a change of the schema, which every connection
/// then reads again).
const BULK_IMPORT: usize = 1000;

/// The trigger that counts each insertion into `rules` in `rules_changes`.
const COUNT_TRIGGER: &str = "rules_changes_insert";

/// Inserts a rule: its [`Columns`], then the time of creation (and of the last update).
const INSERT: &str = "INSERT INTO rules (host, kind, matcher, target, status, query, default_type,
                        variants, cache_control, described_by, gone, grp, created_at, updated_at)
                      VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13)";

/// Inserts a rule as [`INSERT`] does, unless its key is taken (then nothing is changed).
const INSERT_NEW: &str = "INSERT INTO rules (host, kind, matcher, target, status, query, default_type,
                            variants, cache_control, described_by, gone, grp, created_at, updated_at)
                          VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13)
                          ON CONFLICT (host, kind, matcher) DO NOTHING";

/// Records one change of a rule.
const HISTORY: &str = "INSERT INTO history (rule_id, at, actor, action, old_target, new_target,
                                            old_rule, new_rule)
                       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

fn record(
    tx: &Transaction<'_>,
    rule_id: i64,
    actor: &str,
    action: &str,
    old: Option<&RuleSpec>,
    new: Option<&RuleSpec>,
) -> rusqlite::Result<()> {
    tx.prepare_cached(HISTORY)?.execute(params![
        rule_id,
        now(),
        actor,
        action,
        old.map(|r| &r.to),
        new.map(|r| &r.to),
        old.map(rule_json),
        new.map(rule_json),
    ])?;
    Ok(())
}

fn insert(tx: &Transaction<'_>, rule: &RuleSpec, actor: &str) -> Result<RuleSpec, StoreError> {
    if let Some(existing) = find_key(tx, rule)? {
        return Err(StoreError::conflict_with(&existing));
    }
    let columns = Columns::of(rule);
    let t = now();
    tx.prepare_cached(INSERT)?.execute(params_from_iter(
        columns.bind().into_iter().chain([&t as &dyn ToSql]),
    ))?;
    let mut stored = rule.clone().without_server_fields();
    stored.id = Some(tx.last_insert_rowid());
    stored.hits = Some(0);
    record(
        tx,
        tx.last_insert_rowid(),
        actor,
        "create",
        None,
        Some(&stored),
    )?;
    Ok(stored)
}

fn replace(
    tx: &Transaction<'_>,
    old: &RuleSpec,
    rule: &RuleSpec,
    actor: &str,
    action: &str,
) -> Result<RuleSpec, StoreError> {
    let id = old.id.unwrap_or_default();
    if let Some(existing) = find_key(tx, rule)?
        && existing.id != Some(id)
    {
        return Err(StoreError::conflict_with(&existing));
    }
    let columns = Columns::of(rule);
    let t = now();
    tx.prepare_cached(
        "UPDATE rules SET host = ?1, kind = ?2, matcher = ?3, target = ?4, status = ?5, query = ?6,
                default_type = ?7, variants = ?8, cache_control = ?9, described_by = ?10,
                gone = ?11, grp = ?12, updated_at = ?13
         WHERE id = ?14",
    )?
    .execute(params_from_iter(
        columns
            .bind()
            .into_iter()
            .chain([&t as &dyn ToSql, &id as &dyn ToSql]),
    ))?;
    let mut stored = rule.clone().without_server_fields();
    stored.id = Some(id);
    stored.hits = old.hits;
    record(tx, id, actor, action, Some(old), Some(&stored))?;
    Ok(stored)
}

/// Whether the stored rule `stored` says the same as `rule` (ids and counters aside), without
/// copying them (an unchanged import compares every rule of the file).
fn same(stored: &mut RuleSpec, rule: &RuleSpec) -> bool {
    let (id, hits) = (stored.id.take(), stored.hits.take());
    let same = if rule.id.is_none() && rule.hits.is_none() {
        stored == rule
    } else {
        *stored == rule.clone().without_server_fields()
    };
    (stored.id, stored.hits) = (id, hits);
    same
}

/// How an import goes: whether it reports its changes, whether it may take the bulk path.
#[derive(Clone, Copy)]
struct Way {
    changes: bool,
    bulk: bool,
}

/// Whether `table` (`rules` or `history`) has no rows.
fn empty(tx: &Transaction<'_>, table: &str) -> rusqlite::Result<bool> {
    tx.query_row(
        &format!("SELECT NOT EXISTS (SELECT 1 FROM {table})"),
        [],
        |r| r.get(0),
    )
}

/// Whether the store has no rule (outside a transaction).
fn rules_empty(conn: &rusqlite::Connection) -> rusqlite::Result<bool> {
    conn.query_row("SELECT NOT EXISTS (SELECT 1 FROM rules)", [], |r| r.get(0))
}

/// Drop the indexes of `table` made by `CREATE INDEX` (for `rules`, all of them since
/// schema version 10, the key index `rules_key` among them); the statements that make them
/// again.
fn set_indexes_aside(tx: &Transaction<'_>, table: &str) -> rusqlite::Result<Vec<String>> {
    let indexes = tx
        .prepare(
            "SELECT name, sql FROM sqlite_schema
             WHERE type = 'index' AND tbl_name = ?1 AND sql IS NOT NULL",
        )?
        .query_map([table], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for (name, _) in &indexes {
        tx.execute_batch(&format!("DROP INDEX \"{name}\""))?;
    }
    Ok(indexes.into_iter().map(|(_, sql)| sql).collect())
}

impl Sqlite {
    /// Call `f` with every rule, streaming rows (one prepared statement, no intermediate list).
    pub fn for_each_rule(&self, mut f: impl FnMut(RuleSpec)) -> Result<(), StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM {FROM} ORDER BY r.id"))?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            f(from_row(row)?);
        }
        Ok(())
    }

    /// Call `f` with every rule as borrowed from its row: the fastest way to load them all.
    pub fn for_each_row(&self, f: impl FnMut(&RuleRow<'_>)) -> Result<(), StoreError> {
        rows_in(&self.conn(), f)
    }

    /// As [`Sqlite::for_each_row`], in one read transaction with the change count
    /// ([`Sqlite::rules_changes`]) the rows are as of, which is returned. On a file, the
    /// rows are read on a connection of their own (WAL lets it read beside the writer), so
    /// a long read (a snapshot) holds up no write.
    pub fn for_each_row_as_of(&self, f: impl FnMut(&RuleRow<'_>)) -> Result<i64, StoreError> {
        if self.path() != Path::new(":memory:") {
            let conn = rusqlite::Connection::open_with_flags(
                self.path(),
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
                    | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            return rows_as_of(&conn, f);
        }
        rows_as_of(&self.conn(), f)
    }
}

/// Every rule of the database `conn`, in one read transaction with the change count.
fn rows_as_of(conn: &rusqlite::Connection, f: impl FnMut(&RuleRow<'_>)) -> Result<i64, StoreError> {
    // A deferred transaction reads one snapshot of the database from its first statement
    // (WAL mode): no write of another connection falls between the count and the rows.
    let tx = conn.unchecked_transaction()?;
    let changes: i64 = tx.query_row("SELECT changes FROM rules_changes WHERE id = 1", [], |r| {
        r.get(0)
    })?;
    rows_in(&tx, f)?;
    tx.commit()?;
    Ok(changes)
}

/// Call `f` with every rule of the database `conn` as borrowed from its row.
fn rows_in(conn: &rusqlite::Connection, mut f: impl FnMut(&RuleRow<'_>)) -> Result<(), StoreError> {
    let mut stmt = conn.prepare(&format!("SELECT {ROW_COLUMNS} FROM rules ORDER BY id"))?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        f(&RuleRow {
            id: row.get(0)?,
            host: text(row, 1)?,
            kind: Kind::from_name(text(row, 2)?).unwrap_or(Kind::Path),
            matcher: text(row, 3)?,
            to: text(row, 4)?,
            status: row.get(5)?,
            query: QueryMode::from_name(text(row, 6)?).unwrap_or_default(),
            default_type: text_opt(row, 7)?,
            variants: text_opt(row, 8)?,
            cache_control: text_opt(row, 9)?,
            described_by: row.get(10)?,
            gone: row.get(11)?,
            group: text_opt(row, 12)?,
        });
    }
    Ok(())
}

impl Sqlite {
    /// How many rules.
    pub fn count(&self) -> Result<u64, StoreError> {
        Ok(self
            .conn()
            .query_row("SELECT count(*) FROM rules", [], |r| r.get::<_, i64>(0))? as u64)
    }

    /// A page of rules, by id.
    pub fn list(&self, query: &ListQuery) -> Result<Page, StoreError> {
        let limit = query.limit.clamp(1, 1000);
        // The text is searched for literally, ASCII case aside: `instr` compares bytes, NUL
        // included (LIKE would read `%`, `_` as wildcards and stop its pattern at a NUL, so
        // that `q=%00` matched every rule), and `lower` folds ASCII only, as LIKE did.
        let needle = query.search.as_deref().map(str::to_ascii_lowercase);
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM {FROM}
             WHERE r.id > ?1
               AND (?2 IS NULL OR instr(lower(r.matcher), ?2) > 0 OR instr(lower(r.target), ?2) > 0)
               AND (?3 IS NULL OR r.host = ?3)
             ORDER BY r.id LIMIT ?4"
        ))?;
        let rules = stmt
            .query_map(
                params![query.after, needle, query.host, limit + 1],
                from_row,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(Page::of_one_more(rules, limit))
    }

    /// The rule with `id`.
    pub fn get(&self, id: i64) -> Result<Option<RuleSpec>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM {FROM} WHERE r.id = ?1"),
                [id],
                from_row,
            )
            .optional()?)
    }

    /// Store a new (validated) rule; durable when this returns.
    pub fn create(&self, rule: &RuleSpec, actor: &str) -> Result<RuleSpec, StoreError> {
        let conn = self.conn();
        let tx = self.write(&conn)?;
        let stored = insert(&tx, rule, actor)?;
        tx.commit()?;
        Ok(stored)
    }

    /// Replace rule `id` with `rule` (validated).
    pub fn update(&self, id: i64, rule: &RuleSpec, actor: &str) -> Result<Change, StoreError> {
        let conn = self.conn();
        let tx = self.write(&conn)?;
        let old = get_tx(&tx, id)?.ok_or(StoreError::NotFound(id))?;
        let new = replace(&tx, &old, rule, actor, "update")?;
        tx.commit()?;
        Ok(Change {
            old: Some(old),
            new: Some(new),
        })
    }

    /// Delete rule `id`, or with `tombstone` keep it answering 410 Gone.
    pub fn delete(&self, id: i64, tombstone: bool, actor: &str) -> Result<Change, StoreError> {
        let conn = self.conn();
        let tx = self.write(&conn)?;
        let old = get_tx(&tx, id)?.ok_or(StoreError::NotFound(id))?;
        let new = if tombstone {
            let mut gone = old.clone();
            gone.gone = true;
            Some(replace(&tx, &old, &gone, actor, "tombstone")?)
        } else {
            // Its counter goes too (trigger `rules_delete_hits`); a tombstone keeps it.
            tx.execute("DELETE FROM rules WHERE id = ?1", [id])?;
            record(&tx, id, actor, "delete", Some(&old), None)?;
            None
        };
        tx.commit()?;
        Ok(Change {
            old: Some(old),
            new,
        })
    }

    /// Create or update every rule of `rules` (validated), matched by host, kind and matcher,
    /// in one transaction: all are applied or none; with `changes`, the report lists them (for
    /// an index to follow).
    pub fn import(
        &self,
        rules: &[RuleSpec],
        actor: &str,
        changes: bool,
    ) -> Result<ImportReport, StoreError> {
        // The bulk path refuses two rules with one key (the key index, made after the rules,
        // finds them): such rules go the general way, the later updating the earlier.
        let (n, all) = (rules.len(), || true);
        if let Some(report) = self.import_with([rules], n, actor, changes, true, all)? {
            return Ok(report);
        }
        let report = self.import_with([rules], n, actor, changes, false, all)?;
        Ok(report.unwrap_or_default())
    }

    /// As [`Sqlite::import`], with the rules given in chunks (about `expected` of them in
    /// all), so that a file is written while it is read. After the last chunk `complete`
    /// says whether they were all there: when not (the reader met a bad rule), nothing is
    /// applied and the answer is `None`.
    ///
    /// Each rule is inserted unless its key is taken (one look-up of the key for a new
    /// rule); a rule whose key is taken is read and compared, and written only when it
    /// differs. A large import counts its new rules in `rules_changes` with one statement
    /// instead of the trigger's one per row; into an empty table, it writes the rules first
    /// and makes the table's indexes after them (two rules with one key then give `None`,
    /// as an incomplete file does).
    pub fn import_chunks<C: AsRef<[RuleSpec]>>(
        &self,
        chunks: impl IntoIterator<Item = C>,
        expected: usize,
        actor: &str,
        changes: bool,
        complete: impl FnOnce() -> bool,
    ) -> Result<Option<ImportReport>, StoreError> {
        self.import_with(chunks, expected, actor, changes, true, complete)
    }

    fn import_with<C: AsRef<[RuleSpec]>>(
        &self,
        chunks: impl IntoIterator<Item = C>,
        expected: usize,
        actor: &str,
        changes: bool,
        bulk: bool,
        complete: impl FnOnce() -> bool,
    ) -> Result<Option<ImportReport>, StoreError> {
        let conn = self.conn();
        // The CHECK constraints `kind IN (…)` and `action IN (…)` build a temporary table of
        // their four values for each row written (a tenth of a large import's time); an
        // import writes only the names of `Kind`, `QueryMode` and its own actions, so they
        // are not checked during it.
        conn.pragma_update(None, "ignore_check_constraints", true)?;
        let way = Way { changes, bulk };
        // Into an empty store with no other connection, the import's pages are written once.
        let journal = bulk
            && expected >= BULK_IMPORT
            && rules_empty(&conn)?
            && self.begin_rollback_journal(&conn);
        let imported = self.import_in(&conn, chunks, expected, actor, way, complete);
        if journal {
            self.end_rollback_journal(&conn);
        }
        conn.pragma_update(None, "ignore_check_constraints", false)?;
        conn.pragma_update(None, "threads", 0)?;
        if import_cache_kib(expected) > DEFAULT_CACHE_KIB {
            conn.pragma_update(None, "cache_size", -(DEFAULT_CACHE_KIB as i64))?;
            conn.release_memory()?;
        }
        imported
    }

    fn import_in<C: AsRef<[RuleSpec]>>(
        &self,
        conn: &rusqlite::Connection,
        chunks: impl IntoIterator<Item = C>,
        expected: usize,
        actor: &str,
        Way { changes, bulk }: Way,
        complete: impl FnOnce() -> bool,
    ) -> Result<Option<ImportReport>, StoreError> {
        let tx = self.write(conn)?;
        let mut report = ImportReport::default();
        let t = now();
        // The trigger counting each insert is set aside for a large import (in its
        // transaction: no other connection sees the store without it) and its count made
        // once at the end.
        let trigger: Option<String> = if expected >= BULK_IMPORT {
            tx.query_row(
                "SELECT sql FROM sqlite_schema WHERE type = 'trigger' AND name = ?1",
                [COUNT_TRIGGER],
                |r| r.get(0),
            )
            .optional()?
        } else {
            None
        };
        if trigger.is_some() {
            tx.execute_batch(&format!("DROP TRIGGER {COUNT_TRIGGER}"))?;
        }
        // Into an empty table, a large import sets the table's indexes aside (in its
        // transaction, as the trigger) and makes them after its rules: SQLite builds an index
        // by sorting its entries, far cheaper than inserting a million keys at random places
        // of the key index's B-tree.
        let mut indexes = Vec::new();
        if bulk && expected >= BULK_IMPORT && empty(&tx, "rules")? {
            indexes = set_indexes_aside(&tx, "rules")?;
            // So are the history's in a new store (their rows are appended in order, but
            // made at the end they cost half as much).
            if empty(&tx, "history")? {
                indexes.extend(set_indexes_aside(&tx, "history")?);
            }
        }
        let bulk = !indexes.is_empty();
        // The general path inserts into the rules' key index all over: with SQLite's default
        // 2 MiB page cache, its pages are written out and read back again and again during
        // the one transaction. The cache is sized to hold that index (about 40 bytes a
        // rule), within a bound so that memory stays near the file's size, and set back
        // after. The bulk path only appends, and SQLite sorts the entries of an index it
        // makes in pieces of the cache's size: the default cache serves it (a larger one
        // costs memory and no time).
        let cache_kib = import_cache_kib(expected);
        if !bulk && cache_kib > DEFAULT_CACHE_KIB {
            tx.pragma_update(None, "cache_size", -(cache_kib as i64))?;
        }
        {
            let mut find = tx.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM {FROM} WHERE r.host = ?1 AND r.kind = ?2 AND r.matcher = ?3"
            ))?;
            // Without the key index there is no conflict to look for.
            let mut add = tx.prepare_cached(if bulk { INSERT } else { INSERT_NEW })?;
            let mut history = tx.prepare_cached(
                "INSERT INTO history (rule_id, at, actor, action) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for chunk in chunks {
                for rule in chunk.as_ref() {
                    // As `Columns`, without copying the key.
                    let kind = rule.kind().unwrap_or(Kind::Path).as_str();
                    let (host, matcher) = (rule.host.as_deref().unwrap_or(""), rule.matcher());
                    let inserted = add.execute(params![
                        host,
                        kind,
                        matcher,
                        rule.to,
                        rule.status,
                        rule.query.as_str(),
                        rule.default_type,
                        variants_json(rule),
                        rule.cache_control,
                        rule.described_by,
                        rule.gone,
                        rule.group_json(),
                        t,
                    ])?;
                    if inserted == 1 {
                        let id = tx.last_insert_rowid();
                        // Recorded without a copy of the rule: `history::each` reads it from
                        // the rule's next change or the rule as stored. Into an empty table
                        // every rule is a creation, recorded all at once after the last.
                        if !bulk {
                            history.execute(params![id, t, actor, "create"])?;
                        }
                        report.created += 1;
                        if changes {
                            let mut stored = rule.clone().without_server_fields();
                            stored.id = Some(id);
                            stored.hits = Some(0);
                            report.changes.push(Change {
                                old: None,
                                new: Some(stored),
                            });
                        }
                        continue;
                    }
                    // The key is taken (by a stored rule, or one earlier in the import).
                    let Some(mut old) = find
                        .query_row(params![host, kind, matcher], from_row)
                        .optional()?
                    else {
                        return Err(StoreError::Malformed(format!(
                            "the key of the rule for {matcher:?} is taken, yet no rule has it"
                        )));
                    };
                    if same(&mut old, rule) {
                        report.unchanged += 1;
                        continue;
                    }
                    // Rare in a bulk import: the general path, with its conflict check.
                    let new = replace(&tx, &old, rule, actor, "update")?;
                    report.updated += 1;
                    if changes {
                        report.changes.push(Change {
                            old: Some(old),
                            new: Some(new),
                        });
                    }
                }
            }
        }
        if let Some(sql) = trigger {
            tx.execute(
                "UPDATE rules_changes SET changes = changes + ?1 WHERE id = 1",
                [report.created as i64],
            )?;
            tx.execute_batch(&sql)?;
        }
        if !complete() {
            // Dropped: rolled back.
            return Ok(None);
        }
        if bulk {
            // One statement instead of a million: the rules' creations in the order of their
            // ids, as they would have been recorded one by one.
            tx.execute(
                "INSERT INTO history (rule_id, at, actor, action)
                 SELECT id, ?1, ?2, 'create' FROM rules ORDER BY id",
                params![t, actor],
            )?;
        }
        // SQLite sorts an index's entries on helper threads too (`PRAGMA threads`: at most
        // this many besides the connection's own; 0, its default, sorts on one).
        if bulk {
            let helpers = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
            tx.pragma_update(None, "threads", helpers as i64)?;
        }
        for sql in &indexes {
            match tx.execute_batch(sql) {
                // Two of the rules have one key: rolled back, as for an incomplete file.
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
                {
                    return Ok(None);
                }
                made => made?,
            }
        }
        tx.commit()?;
        Ok(Some(report))
    }

    /// The recorded changes of rule `id`, oldest first.
    pub fn history(&self, id: i64) -> Result<Vec<HistoryEntry>, StoreError> {
        let conn = self.conn();
        let parse = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
        let mut entries = Vec::new();
        super::history::each(&conn, Some(id), |e| {
            entries.push(HistoryEntry {
                at: e.at,
                actor: e.actor,
                action: e.action,
                old_target: e.old_target,
                new_target: e.new_target,
                old: parse(e.old_rule),
                new: parse(e.new_rule),
            });
            Ok(())
        })?;
        Ok(entries)
    }
}
