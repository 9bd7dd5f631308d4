//! Rules in PostgreSQL: create, read, update, delete, import, history, and the changes a node
//! catches up from.

use ::postgres::fallible_iterator::FallibleIterator;
use ::postgres::types::ToSql;
use ::postgres::{GenericClient, IsolationLevel, Row};

use super::{Postgres, Writer};
use crate::rule::{Kind, QueryMode, RuleSpec, Variant};
use crate::store::{Change, HistoryEntry, ImportReport, ListQuery, Page, RuleRow, StoreError, now};

/// The columns of a rule, read `FROM {FROM}`; its hit counter lives in `rule_hits`.
pub(super) const COLUMNS: &str = "r.id, r.host, r.kind, r.matcher, r.target, r.status, r.query, \
                       r.default_type, r.variants, r.cache_control, r.described_by, r.gone, \
                       coalesce(h.hits, 0), r.grp";

/// A rule and its counter.
const FROM: &str = "rules AS r LEFT JOIN rule_hits AS h ON h.rule_id = r.id";

/// ASCII letters only are folded, as SQLite's `lower` does (PostgreSQL's follows the locale).
pub(super) const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
pub(super) const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";

pub(super) fn from_row(row: &Row) -> RuleSpec {
    let kind: &str = row.get(2);
    let host: String = row.get(1);
    let variants: Option<&str> = row.get(8);
    let mut rule = RuleSpec::new(
        Kind::from_name(kind).unwrap_or(Kind::Path),
        row.get(3),
        row.get(4),
    );
    rule.id = Some(row.get(0));
    rule.host = (!host.is_empty()).then_some(host);
    rule.status = u16::try_from(row.get::<_, i32>(5)).unwrap_or(303);
    rule.query = QueryMode::from_name(row.get(6)).unwrap_or_default();
    rule.default_type = row.get(7);
    rule.variants = variants
        .and_then(|v| serde_json::from_str::<Vec<Variant>>(v).ok())
        .unwrap_or_default();
    rule.cache_control = row.get(9);
    rule.described_by = row.get(10);
    rule.gone = row.get(11);
    rule.hits = Some(row.get::<_, i64>(12).max(0) as u64);
    if let Some(json) = row.get::<_, Option<&str>>(13) {
        // A damaged group reads as an empty one; the index refuses to load nothing from it.
        let _ = rule.set_group_json(json);
    }
    rule
}

fn rule_json(rule: &RuleSpec) -> String {
    serde_json::to_string(&rule.clone().without_server_fields()).unwrap_or_default()
}

fn variants_json(rule: &RuleSpec) -> Option<String> {
    (!rule.variants.is_empty()).then(|| serde_json::to_string(&rule.variants).unwrap_or_default())
}

fn get_in(c: &mut impl GenericClient, id: i64) -> Result<Option<RuleSpec>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM {FROM} WHERE r.id = $1");
    Ok(c.query_opt(sql.as_str(), &[&id])?.as_ref().map(from_row))
}

fn find_key(c: &mut impl GenericClient, rule: &RuleSpec) -> Result<Option<RuleSpec>, StoreError> {
    let (host, kind, matcher) = rule.key();
    let sql = format!(
        "SELECT {COLUMNS} FROM {FROM} WHERE r.host = $1 AND r.kind = $2 AND r.matcher = $3"
    );
    Ok(
        c.query_opt(sql.as_str(), &[&host, &kind.as_str(), &matcher])?
            .as_ref()
            .map(from_row),
    )
}

/// Record a change in the history, under the next number of the change sequence.
fn record(
    w: &mut Writer<'_>,
    rule_id: i64,
    actor: &str,
    action: &str,
    old: Option<&RuleSpec>,
    new: Option<&RuleSpec>,
) -> Result<(), StoreError> {
    let seq = w.next();
    w.tx.execute(
        "INSERT INTO history (seq, rule_id, at, actor, action, old_target, new_target, old_rule, new_rule)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            &seq,
            &rule_id,
            &now(),
            &actor,
            &action,
            &old.map(|r| r.to.as_str()),
            &new.map(|r| r.to.as_str()),
            &old.map(rule_json),
            &new.map(rule_json),
        ],
    )?;
    Ok(())
}

/// A rule's stored columns, in the order of `insert` and `replace`: host, kind, matcher,
/// target, status, query, default_type, variants, cache_control, described_by, gone, grp.
struct Columns {
    host: String,
    kind: &'static str,
    matcher: String,
    to: String,
    status: i32,
    query: &'static str,
    default_type: Option<String>,
    variants: Option<String>,
    cache_control: Option<String>,
    described_by: bool,
    gone: bool,
    group: Option<String>,
}

impl Columns {
    fn of(rule: &RuleSpec) -> Columns {
        let (host, kind, matcher) = rule.key();
        Columns {
            host,
            kind: kind.as_str(),
            matcher,
            to: rule.to.clone(),
            status: i32::from(rule.status),
            query: rule.query.as_str(),
            default_type: rule.default_type.clone(),
            variants: variants_json(rule),
            cache_control: rule.cache_control.clone(),
            described_by: rule.described_by,
            gone: rule.gone,
            group: rule.group_json(),
        }
    }

    fn bind(&self) -> [&(dyn ToSql + Sync); 12] {
        [
            &self.host,
            &self.kind,
            &self.matcher,
            &self.to,
            &self.status,
            &self.query,
            &self.default_type,
            &self.variants,
            &self.cache_control,
            &self.described_by,
            &self.gone,
            &self.group,
        ]
    }
}

fn insert(w: &mut Writer<'_>, rule: &RuleSpec, actor: &str) -> Result<RuleSpec, StoreError> {
    if let Some(existing) = find_key(&mut w.tx, rule)? {
        return Err(StoreError::conflict_with(&existing));
    }
    let columns = Columns::of(rule);
    let t = now();
    let mut params = columns.bind().to_vec();
    params.push(&t);
    let id: i64 =
        w.tx.query_one(
            "INSERT INTO rules (host, kind, matcher, target, status, query, default_type, variants,
                                cache_control, described_by, gone, grp, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)
             RETURNING id",
            &params,
        )?
        .get(0);
    let mut stored = rule.clone().without_server_fields();
    stored.id = Some(id);
    stored.hits = Some(0);
    record(w, id, actor, "create", None, Some(&stored))?;
    Ok(stored)
}

fn replace(
    w: &mut Writer<'_>,
    old: &RuleSpec,
    rule: &RuleSpec,
    actor: &str,
    action: &str,
) -> Result<RuleSpec, StoreError> {
    let id = old.id.unwrap_or_default();
    if let Some(existing) = find_key(&mut w.tx, rule)?
        && existing.id != Some(id)
    {
        return Err(StoreError::conflict_with(&existing));
    }
    let columns = Columns::of(rule);
    let t = now();
    let mut params = columns.bind().to_vec();
    params.push(&t);
    params.push(&id);
    w.tx.execute(
        "UPDATE rules SET host = $1, kind = $2, matcher = $3, target = $4, status = $5, query = $6,
                default_type = $7, variants = $8, cache_control = $9, described_by = $10,
                gone = $11, grp = $12, updated_at = $13
         WHERE id = $14",
        &params,
    )?;
    let mut stored = rule.clone().without_server_fields();
    stored.id = Some(id);
    stored.hits = old.hits;
    record(w, id, actor, action, Some(old), Some(&stored))?;
    Ok(stored)
}

/// Whether two rules say the same thing (ids and counters aside).
fn same(a: &RuleSpec, b: &RuleSpec) -> bool {
    a.clone().without_server_fields() == b.clone().without_server_fields()
}

/// Rules per batch of an import.
const IMPORT_BATCH: usize = 2000;

/// Import one batch of rules: look them all up at once, update the ones that differ (rare in
/// a bulk import, one by one), insert the new ones with one statement and record their
/// creation with another. A batch holding one key twice goes rule by rule (the second then
/// finds the first).
fn import_batch(
    w: &mut Writer<'_>,
    rules: &[RuleSpec],
    actor: &str,
    changes: bool,
    report: &mut ImportReport,
) -> Result<(), StoreError> {
    let keys: Vec<(String, &'static str, String)> = rules
        .iter()
        .map(|r| {
            let (host, kind, matcher) = r.key();
            (host, kind.as_str(), matcher)
        })
        .collect();
    let places: std::collections::HashMap<(&str, &str, &str), usize> = keys
        .iter()
        .enumerate()
        .map(|(i, (h, k, m))| ((h.as_str(), *k, m.as_str()), i))
        .collect();
    if places.len() < keys.len() {
        for rule in rules {
            import_one(w, rule, actor, changes, report)?;
        }
        return Ok(());
    }
    let hosts: Vec<&str> = keys.iter().map(|k| k.0.as_str()).collect();
    let kinds: Vec<&str> = keys.iter().map(|k| k.1).collect();
    let matchers: Vec<&str> = keys.iter().map(|k| k.2.as_str()).collect();
    let mut found: Vec<Option<RuleSpec>> = vec![None; rules.len()];
    let sql = format!(
        "SELECT {COLUMNS}, k.n FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY
             AS k(host, kind, matcher, n)
         JOIN rules AS r ON r.host = k.host AND r.kind = k.kind AND r.matcher = k.matcher
         LEFT JOIN rule_hits AS h ON h.rule_id = r.id"
    );
    for row in w.tx.query(sql.as_str(), &[&hosts, &kinds, &matchers])? {
        let n: i64 = row.get(14);
        found[(n - 1) as usize] = Some(from_row(&row));
    }
    let mut new = Vec::new();
    for (i, (rule, old)) in rules.iter().zip(found).enumerate() {
        match old {
            Some(old) if same(&old, rule) => report.unchanged += 1,
            Some(old) => {
                let stored = replace(w, &old, rule, actor, "update")?;
                report.updated += 1;
                if changes {
                    report.changes.push(Change {
                        old: Some(old),
                        new: Some(stored),
                    });
                }
            }
            None => new.push(i),
        }
    }
    if new.is_empty() {
        return Ok(());
    }
    let columns: Vec<Columns> = new.iter().map(|&i| Columns::of(&rules[i])).collect();
    macro_rules! column {
        ($field:ident) => {
            columns.iter().map(|c| &c.$field).collect::<Vec<_>>()
        };
    }
    let t = now();
    let rows = w.tx.query(
        "INSERT INTO rules (host, kind, matcher, target, status, query, default_type, variants,
                            cache_control, described_by, gone, grp, created_at, updated_at)
         SELECT host, kind, matcher, target, status, query, default_type, variants,
                cache_control, described_by, gone, grp, $13::int8, $13::int8
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int4[], $6::text[],
                     $7::text[], $8::text[], $9::text[], $10::bool[], $11::bool[], $12::text[])
             WITH ORDINALITY AS u(host, kind, matcher, target, status, query, default_type,
                                  variants, cache_control, described_by, gone, grp, n)
         ORDER BY n
         RETURNING id, host, kind, matcher",
        &[
            &column!(host),
            &column!(kind),
            &column!(matcher),
            &column!(to),
            &column!(status),
            &column!(query),
            &column!(default_type),
            &column!(variants),
            &column!(cache_control),
            &column!(described_by),
            &column!(gone),
            &column!(group),
            &t,
        ],
    )?;
    // Each id goes to its rule by key (the order of RETURNING is not promised).
    let mut ids = vec![0i64; rules.len()];
    for row in &rows {
        let key = (
            row.get::<_, &str>(1),
            row.get::<_, &str>(2),
            row.get::<_, &str>(3),
        );
        if let Some(&i) = places.get(&key) {
            ids[i] = row.get(0);
        }
    }
    let mut seqs = Vec::with_capacity(new.len());
    let mut rule_ids = Vec::with_capacity(new.len());
    let mut targets = Vec::with_capacity(new.len());
    let mut jsons = Vec::with_capacity(new.len());
    for &i in &new {
        let mut stored = rules[i].clone().without_server_fields();
        seqs.push(w.next());
        rule_ids.push(ids[i]);
        targets.push(stored.to.clone());
        jsons.push(serde_json::to_string(&stored).unwrap_or_default());
        report.created += 1;
        if changes {
            stored.id = Some(ids[i]);
            stored.hits = Some(0);
            report.changes.push(Change {
                old: None,
                new: Some(stored),
            });
        }
    }
    w.tx.execute(
        "INSERT INTO history (seq, rule_id, at, actor, action, old_target, new_target, old_rule,
                              new_rule)
         SELECT s, id, $3::int8, $4::text, 'create', NULL, target, NULL, rule
         FROM unnest($1::int8[], $2::int8[], $5::text[], $6::text[]) AS u(s, id, target, rule)",
        &[&seqs, &rule_ids, &t, &actor, &targets, &jsons],
    )?;
    Ok(())
}

/// Import one rule on its own: create it, update it, or leave it as it is.
fn import_one(
    w: &mut Writer<'_>,
    rule: &RuleSpec,
    actor: &str,
    changes: bool,
    report: &mut ImportReport,
) -> Result<(), StoreError> {
    let change = match find_key(&mut w.tx, rule)? {
        Some(old) if same(&old, rule) => {
            report.unchanged += 1;
            return Ok(());
        }
        Some(old) => {
            let new = replace(w, &old, rule, actor, "update")?;
            report.updated += 1;
            Change {
                old: Some(old),
                new: Some(new),
            }
        }
        None => {
            let new = insert(w, rule, actor)?;
            report.created += 1;
            Change {
                old: None,
                new: Some(new),
            }
        }
    };
    if changes {
        report.changes.push(change);
    }
    Ok(())
}

/// A rule as recorded in the history (JSON without id), given its id back.
fn recorded(json: Option<&str>, id: i64) -> Option<RuleSpec> {
    let mut rule: RuleSpec = serde_json::from_str(json?).ok()?;
    rule.id = Some(id);
    Some(rule)
}

impl Postgres {
    /// Call `f` with every rule, streaming rows.
    pub fn for_each_rule(&self, mut f: impl FnMut(RuleSpec)) -> Result<(), StoreError> {
        self.with(|c| {
            let sql = format!("SELECT {COLUMNS} FROM {FROM} ORDER BY r.id");
            let mut rows = c.query_raw(sql.as_str(), std::iter::empty::<i64>())?;
            while let Some(row) = rows.next()? {
                f(from_row(&row));
            }
            Ok(())
        })
    }

    /// Call `f` with every rule as borrowed from its row, all read in one snapshot; returns
    /// the change sequence the rows are as of.
    pub fn for_each_row(&self, f: impl FnMut(&RuleRow<'_>)) -> Result<i64, StoreError> {
        self.with(|c| rows_in(self, c, f))
    }

    /// As [`Postgres::for_each_row`], on a connection of its own: a long read (a snapshot)
    /// that holds up no write.
    pub fn for_each_row_apart(&self, f: impl FnMut(&RuleRow<'_>)) -> Result<i64, StoreError> {
        rows_in(self, &mut self.connect_again()?, f)
    }
}

/// A table of at least this many heap pages (8 KiB each: about 250,000 rules) is read in two
/// halves at once, on two connections.
const SPLIT_PAGES: i64 = 4096;

/// Every rule, read in one snapshot with the change number it is as of. A large table is read
/// as two page ranges on two connections sharing the snapshot, as `pg_dump --jobs` does
/// (PostgreSQL documentation: "Snapshot Synchronization Functions", `SET TRANSACTION
/// SNAPSHOT`): one backend alone cannot send a million rules in less than about 1.5 s, and
/// the halves come in on both cores; rows are read in no particular order.
fn rows_in(
    pg: &Postgres,
    c: &mut ::postgres::Client,
    mut f: impl FnMut(&RuleRow<'_>),
) -> Result<i64, StoreError> {
    use super::copy_out::{copy_rules, each_row};
    let mut tx = c
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()?;
    let row = tx.query_one(
        "SELECT seq, pg_relation_size('rules') / current_setting('block_size')::bigint
         FROM changes WHERE id = 1",
        &[],
    )?;
    let (seq, pages): (i64, i64) = (row.get(0), row.get(1));
    if pages < SPLIT_PAGES {
        each_row(tx.copy_out(&copy_rules(0..i64::MAX))?, f)?;
        tx.commit()?;
        return Ok(seq);
    }
    let snapshot: String = tx.query_one("SELECT pg_export_snapshot()", &[])?.get(0);
    let half = pages / 2;
    let rest = std::thread::scope(|scope| {
        let other = scope.spawn(|| read_apart(pg, &snapshot, &copy_rules(half..i64::MAX)));
        let first = each_row(tx.copy_out(&copy_rules(0..half))?, &mut f);
        let rest = other
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        first.and(rest)
    })?;
    each_row(&rest[..], f)?;
    tx.commit()?;
    Ok(seq)
}

/// The bytes of `copy` run on a new connection in the exported `snapshot`.
fn read_apart(pg: &Postgres, snapshot: &str, copy: &str) -> Result<Vec<u8>, StoreError> {
    use std::io::Read;
    // An exported snapshot's name is hexadecimal digits and dashes.
    if !snapshot.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
        return Err(StoreError::Malformed(format!(
            "PostgreSQL exported a snapshot named {snapshot:?}"
        )));
    }
    let mut c = pg.connect_again()?;
    let mut tx = c
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()?;
    tx.batch_execute(&format!("SET TRANSACTION SNAPSHOT '{snapshot}'"))?;
    let mut bytes = Vec::new();
    tx.copy_out(copy)?
        .read_to_end(&mut bytes)
        .map_err(|e| StoreError::Malformed(format!("the rules' COPY stream: {e}")))?;
    tx.commit()?;
    Ok(bytes)
}

impl Postgres {
    /// About how many rules (PostgreSQL's estimate, kept by `ANALYZE` and autovacuum; the
    /// count where there is none): room to reserve before loading, without a scan.
    pub fn count_estimate(&self) -> Result<u64, StoreError> {
        let estimate: i64 = self.with(|c| {
            Ok(c.query_one(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = 'rules'::regclass",
                &[],
            )?
            .get(0))
        })?;
        match u64::try_from(estimate) {
            Ok(n) => Ok(n),
            Err(_) => self.count(),
        }
    }

    /// How many rules.
    pub fn count(&self) -> Result<u64, StoreError> {
        self.with(|c| {
            Ok(c.query_one("SELECT count(*) FROM rules", &[])?
                .get::<_, i64>(0) as u64)
        })
    }

    /// A page of rules, by id.
    pub fn list(&self, query: &ListQuery) -> Result<Page, StoreError> {
        let limit = query.limit.clamp(1, 1000);
        let needle = query.search.as_deref().map(str::to_ascii_lowercase);
        // PostgreSQL's text holds no NUL, so a search for one matches nothing.
        if needle.as_deref().is_some_and(|n| n.contains('\0'))
            || query.host.as_deref().is_some_and(|h| h.contains('\0'))
        {
            return Ok(Page {
                rules: Vec::new(),
                next: None,
            });
        }
        let sql = format!(
            "SELECT {COLUMNS} FROM {FROM}
             WHERE r.id > $1
               AND ($2::text IS NULL
                    OR strpos(translate(r.matcher, '{UPPER}', '{LOWER}'), $2) > 0
                    OR strpos(translate(r.target, '{UPPER}', '{LOWER}'), $2) > 0)
               AND ($3::text IS NULL OR r.host = $3)
             ORDER BY r.id LIMIT $4"
        );
        let rules: Vec<RuleSpec> = self.with(|c| {
            Ok(c.query(
                sql.as_str(),
                &[&query.after, &needle, &query.host, &(i64::from(limit) + 1)],
            )?
            .iter()
            .map(from_row)
            .collect())
        })?;
        Ok(Page::of_one_more(rules, limit))
    }

    /// The rule with `id`.
    pub fn get(&self, id: i64) -> Result<Option<RuleSpec>, StoreError> {
        self.with(|c| get_in(c, id))
    }

    /// Store a new (validated) rule; committed when this returns.
    pub fn create(&self, rule: &RuleSpec, actor: &str) -> Result<RuleSpec, StoreError> {
        self.with(|c| {
            let mut w = Writer::begin(c, self.busy_timeout)?;
            let stored = insert(&mut w, rule, actor)?;
            w.commit()?;
            Ok(stored)
        })
    }

    /// Replace rule `id` with `rule` (validated).
    pub fn update(&self, id: i64, rule: &RuleSpec, actor: &str) -> Result<Change, StoreError> {
        self.with(|c| {
            let mut w = Writer::begin(c, self.busy_timeout)?;
            let old = get_in(&mut w.tx, id)?.ok_or(StoreError::NotFound(id))?;
            let new = replace(&mut w, &old, rule, actor, "update")?;
            w.commit()?;
            Ok(Change {
                old: Some(old),
                new: Some(new),
            })
        })
    }

    /// Delete rule `id`, or with `tombstone` keep it answering 410 Gone.
    pub fn delete(&self, id: i64, tombstone: bool, actor: &str) -> Result<Change, StoreError> {
        self.with(|c| {
            let mut w = Writer::begin(c, self.busy_timeout)?;
            let old = get_in(&mut w.tx, id)?.ok_or(StoreError::NotFound(id))?;
            let new = if tombstone {
                let mut gone = old.clone();
                gone.gone = true;
                Some(replace(&mut w, &old, &gone, actor, "tombstone")?)
            } else {
                // Its counter goes too (ON DELETE CASCADE); a tombstone keeps it.
                w.tx.execute("DELETE FROM rules WHERE id = $1", &[&id])?;
                record(&mut w, id, actor, "delete", Some(&old), None)?;
                None
            };
            w.commit()?;
            Ok(Change {
                old: Some(old),
                new,
            })
        })
    }

    /// Create or update every rule of `rules` (validated), matched by host, kind and matcher,
    /// in one transaction: all are applied or none; with `changes`, the report lists them.
    /// Rules go in batches of [`IMPORT_BATCH`]: one statement looks a batch up, one inserts
    /// its new rules and one records their creation, so a large import is not a million
    /// round trips.
    pub fn import(
        &self,
        rules: &[RuleSpec],
        actor: &str,
        changes: bool,
    ) -> Result<ImportReport, StoreError> {
        let report = self.import_chunks([rules], actor, changes, || true)?;
        Ok(report.unwrap_or_default())
    }

    /// As [`Postgres::import`], with the rules given in chunks; after the last chunk
    /// `complete` says whether they were all there: when not, nothing is applied and the
    /// answer is `None`.
    pub fn import_chunks<C: AsRef<[RuleSpec]>>(
        &self,
        chunks: impl IntoIterator<Item = C>,
        actor: &str,
        changes: bool,
        complete: impl FnOnce() -> bool,
    ) -> Result<Option<ImportReport>, StoreError> {
        self.with(|c| {
            let mut w = Writer::begin(c, self.busy_timeout)?;
            let mut report = ImportReport::default();
            for chunk in chunks {
                for batch in chunk.as_ref().chunks(IMPORT_BATCH) {
                    import_batch(&mut w, batch, actor, changes, &mut report)?;
                }
            }
            if !complete() {
                // Dropped: rolled back.
                return Ok(None);
            }
            w.commit()?;
            Ok(Some(report))
        })
    }

    /// The recorded changes of rule `id`, oldest first.
    pub fn history(&self, id: i64) -> Result<Vec<HistoryEntry>, StoreError> {
        let parse = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
        self.with(|c| {
            Ok(c.query(
                "SELECT at, actor, action, old_target, new_target, old_rule, new_rule
                 FROM history WHERE rule_id = $1 ORDER BY seq",
                &[&id],
            )?
            .into_iter()
            .map(|r| HistoryEntry {
                at: r.get(0),
                actor: r.get(1),
                action: r.get(2),
                old_target: r.get(3),
                new_target: r.get(4),
                old: parse(r.get(5)),
                new: parse(r.get(6)),
            })
            .collect())
        })
    }

    /// The changes committed after number `seq`, in order, at most `limit`.
    pub fn changes_since(&self, seq: i64, limit: u32) -> Result<Vec<(i64, Change)>, StoreError> {
        self.with_feed(|c| {
            Ok(c.query(
                "SELECT seq, rule_id, old_rule, new_rule FROM history
                 WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&seq, &i64::from(limit)],
            )?
            .into_iter()
            .map(|r| {
                let id: i64 = r.get(1);
                let change = Change {
                    old: recorded(r.get(2), id),
                    new: recorded(r.get(3), id),
                };
                (r.get(0), change)
            })
            .collect())
        })
    }
}
