//! The admin's numbered list of rules, paged by cursor: each page reads its 50 entries of an
//! index from where the page before it ended (or, backwards, from where the page after it
//! began), in each order and with a search or not, on either store.
//!
//! An order is a walk of one or more index ranges: by id the rules' ids; by last change
//! `rules_changed` read backwards; by most hits the counters of `rule_hits_most` (most first,
//! then by id) and then the rules never counted, by id. A [`Cursor`] is a rule's place in
//! that walk (its sort key and id), so a page after it or before it is a range of the index
//! whatever its depth.
//!
//! A walk reads the store as it is at each page, not a snapshot. In either order a rule only
//! moves towards the first page while the user pages (hits only grow, flushed every second;
//! an edit makes a rule the newest): walking forward, a rule that moves from beyond the
//! cursor to before it is not shown in this walk (it is on an earlier page now), and no rule
//! is shown twice; walking backward, a rule already shown may be shown again on an earlier
//! page. Each step moves the cursor strictly on in one total order (key, then id), so a walk
//! never loops and always ends.
//!
//! The SQL is shared by both stores, written with SQLite's `?N` parameters (renumbered for
//! each statement by [`numbered`]): `?1` the search, `?2` the host, `?3` the limit, `?4` the
//! cursor's key, `?5` its id, `?6` an offset.

use std::fmt;

use rusqlite::Row;

use super::StoreError;
use super::rules::{COLUMNS, FROM, from_row};
use super::sqlite::Sqlite;
use crate::rule::RuleSpec;

/// The order of a numbered list of rules ([`Browse`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Order {
    /// By id, oldest first.
    #[default]
    Id,
    /// Most hits first (then by id).
    Hits,
    /// Most recently changed first (then the newest id).
    Changed,
}

/// A rule's place in an [`Order`]: its sort key (hits; the time of its last change; 0 by
/// id) and its id. Written in links as `ID` by id and `KEY.ID` in the other orders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    /// The sort key.
    pub key: i64,
    /// The rule's id.
    pub id: i64,
}

/// Why a cursor from a link could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorError {
    /// The text given.
    pub given: String,
    /// The order it was given for.
    pub order: Order,
}

impl fmt::Display for CursorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shape = match self.order {
            Order::Id => "a rule id, such as 4031",
            Order::Hits => "HITS.ID, such as 17.4031",
            Order::Changed => {
                "TIME.ID (Unix seconds of the change, then the rule id), such as 1764680000.4031"
            }
        };
        write!(
            f,
            "the page cursor `{}` is not a place in this list: in this order a cursor reads {shape}; \
             follow the list's page links, or start again from the first page",
            self.given.escape_default()
        )
    }
}

impl std::error::Error for CursorError {}

impl Cursor {
    /// The cursor of `rule` (as read by the store) in `order`, its key as the store sorts it.
    fn of(order: Order, key: i64, rule: &RuleSpec) -> Cursor {
        Cursor {
            key: if order == Order::Id { 0 } else { key },
            id: rule.id.unwrap_or_default(),
        }
    }

    /// Read a cursor written by [`Cursor::text`] for `order`: digits only, each part an
    /// `i64`.
    pub fn parse(order: Order, text: &str) -> Result<Cursor, CursorError> {
        let wrong = || CursorError {
            given: text.chars().take(64).collect(),
            order,
        };
        let number = |s: &str| {
            (!s.is_empty() && s.len() <= 19 && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse::<i64>().ok())
                .flatten()
        };
        match order {
            Order::Id => number(text)
                .map(|id| Cursor { key: 0, id })
                .ok_or_else(wrong),
            Order::Hits | Order::Changed => {
                let (key, id) = text.split_once('.').ok_or_else(wrong)?;
                match (number(key), number(id)) {
                    (Some(key), Some(id)) => Ok(Cursor { key, id }),
                    _ => Err(wrong()),
                }
            }
        }
    }

    /// The cursor as written in a link for `order`.
    pub fn text(&self, order: Order) -> String {
        match order {
            Order::Id => self.id.to_string(),
            Order::Hits | Order::Changed => format!("{}.{}", self.key, self.id),
        }
    }
}

/// Where a page of [`Browse`] starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum At {
    /// The first page.
    #[default]
    Start,
    /// After this many rules (a hand-typed page number: it walks the offset, `OFFSET`).
    Offset(u64),
    /// The rules after this place.
    After(Cursor),
    /// The rules before this place (the page ends just before it).
    Before(Cursor),
    /// The last page (it ends at the end of the list): with a search counted exactly, the
    /// rules left after the full pages of `limit` (so that the pages counted from either end
    /// are the same); otherwise `limit` rules (the caller knows how many rules there are).
    End,
}

/// Searches and host filters are counted up to this many matching rules; past it a page
/// says "more than 10,000".
pub const COUNT_BOUND: u64 = 10_000;

/// A page of rules for the admin list: searched and filtered, in an [`Order`], from where
/// [`At`] says.
#[derive(Clone, Debug, Default)]
pub struct Browse {
    /// Only rules whose matcher or target contains this text.
    pub search: Option<String>,
    /// Only rules for this host (`""` for rules for any host).
    pub host: Option<String>,
    /// The order.
    pub order: Order,
    /// Where the page starts.
    pub at: At,
    /// At most this many (1 to 1000).
    pub limit: u32,
}

/// How many rules match a [`Browse`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Matching {
    /// No search or filter: every rule (the store does not count them; the served index
    /// knows how many it holds).
    #[default]
    All,
    /// Exactly this many.
    Exactly(u64),
    /// More than this many ([`COUNT_BOUND`]); not counted further.
    MoreThan(u64),
}

/// One page of rules, with the places of its first and last rule.
#[derive(Clone, Debug, Default)]
pub struct Browsed {
    /// The page's rules, in the order.
    pub rules: Vec<RuleSpec>,
    /// How many rules match the search and filter.
    pub matching: Matching,
    /// The place of the first rule (for a link to the page before).
    pub first: Option<Cursor>,
    /// The place of the last rule (for a link to the page after).
    pub last: Option<Cursor>,
    /// Whether rules come before the page.
    pub before: bool,
    /// Whether rules come after the page.
    pub after: bool,
}

impl Browse {
    /// The search as compared (ASCII lower case).
    pub(crate) fn needle(&self) -> Option<String> {
        self.search.as_deref().map(str::to_ascii_lowercase)
    }

    fn filtered(&self) -> bool {
        self.search.is_some() || self.host.is_some()
    }
}

/// The values of a statement's parameters `?1` to `?6`.
pub(super) struct Params<'a> {
    pub needle: Option<&'a str>,
    pub host: Option<&'a str>,
    pub ints: [i64; 4],
}

/// One of [`Params`]' values.
pub(super) enum Value<'a> {
    Text(Option<&'a str>),
    Int(i64),
}

impl<'a> Params<'a> {
    /// The value of `?n` (1 to 6).
    pub fn get(&self, n: usize) -> Value<'a> {
        match n {
            1 => Value::Text(self.needle),
            2 => Value::Text(self.host),
            n => Value::Int(self.ints[n - 3]),
        }
    }
}

/// `sql` with its `?N` parameters numbered by first use, `{mark}1`, `{mark}2`, …, and the
/// `N` of each: a statement binds only the parameters it uses (PostgreSQL must know each
/// one's type; SQLite counts up to the highest).
pub(super) fn numbered(sql: &str, mark: char) -> (String, Vec<usize>) {
    let mut out = String::with_capacity(sql.len());
    let mut used: Vec<usize> = Vec::new();
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            let n = chars.next().and_then(|d| d.to_digit(10)).unwrap_or(0) as usize;
            let at = used.iter().position(|&u| u == n).unwrap_or_else(|| {
                used.push(n);
                used.len() - 1
            });
            out.push(mark);
            out.push_str(&(at + 1).to_string());
        } else {
            out.push(c);
        }
    }
    (out, used)
}

/// What differs between the stores' SQL.
pub(super) struct Dialect {
    /// The columns of a rule (as its `from_row` reads them), read `FROM` [`FROM`].
    pub columns: &'static str,
    /// The search and host filter, on `r` (`?1`, `?2`).
    pub filter: String,
    /// The counters joined to their rules, walked in the counters' order.
    pub counted: &'static str,
}

/// A store read in one transaction (or snapshot) for a page.
pub(super) trait Reader {
    /// The rules of `sql` (the rule's columns, then its sort key), with `params`.
    fn rows(&mut self, sql: &str, params: &Params<'_>) -> Result<Vec<(RuleSpec, i64)>, StoreError>;
    /// The one number `sql` gives.
    fn number(&mut self, sql: &str, params: &Params<'_>) -> Result<i64, StoreError>;
}

/// One index range of a walk: its SQL, and the key and id it starts from.
struct Range {
    sql: String,
    key: i64,
    id: i64,
}

/// Which way a page is read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Way {
    Forward,
    Backward,
}

impl Dialect {
    fn select(&self, key: &str, from: &str, cond: &str, order: &str) -> String {
        format!(
            "SELECT {}, {key} FROM {from} WHERE {cond} AND {} ORDER BY {order} LIMIT ?3 OFFSET ?6",
            self.columns, self.filter
        )
    }

    /// The index ranges a page walks, in order, from `from` (`None`: the start of the
    /// walk's way).
    fn ranges(&self, order: Order, way: Way, from: Option<Cursor>) -> Vec<Range> {
        let range = |sql, c: Cursor| Range {
            sql,
            key: c.key,
            id: c.id,
        };
        match (order, way) {
            (Order::Id, Way::Forward) => {
                let c = from.unwrap_or(Cursor {
                    key: 0,
                    id: i64::MIN,
                });
                vec![range(
                    self.select("CAST(0 AS BIGINT)", FROM, "r.id > ?5", "r.id"),
                    c,
                )]
            }
            (Order::Id, Way::Backward) => {
                let c = from.unwrap_or(Cursor {
                    key: 0,
                    id: i64::MAX,
                });
                vec![range(
                    self.select("CAST(0 AS BIGINT)", FROM, "r.id < ?5", "r.id DESC"),
                    c,
                )]
            }
            // `rules_changed` (updated_at, id), read backwards.
            // The ties of the cursor's time past its id, then the other times: each an index
            // range (a row-value comparison would start at the cursor's time and walk its
            // ties, a whole import of a million rules made in one second).
            (Order::Changed, Way::Forward) => {
                let rest = |key| {
                    range(
                        self.select(
                            "r.updated_at",
                            FROM,
                            "r.updated_at < ?4",
                            "r.updated_at DESC, r.id DESC",
                        ),
                        Cursor { key, id: 0 },
                    )
                };
                match from {
                    None => vec![rest(i64::MAX)],
                    Some(c) => vec![
                        range(
                            self.select(
                                "r.updated_at",
                                FROM,
                                "r.updated_at = ?4 AND r.id < ?5",
                                "r.id DESC",
                            ),
                            c,
                        ),
                        rest(c.key),
                    ],
                }
            }
            (Order::Changed, Way::Backward) => {
                let rest = |key| {
                    range(
                        self.select(
                            "r.updated_at",
                            FROM,
                            "r.updated_at > ?4",
                            "r.updated_at, r.id",
                        ),
                        Cursor { key, id: 0 },
                    )
                };
                match from {
                    None => vec![rest(i64::MIN)],
                    Some(c) => vec![
                        range(
                            self.select(
                                "r.updated_at",
                                FROM,
                                "r.updated_at = ?4 AND r.id > ?5",
                                "r.id",
                            ),
                            c,
                        ),
                        rest(c.key),
                    ],
                }
            }
            // The counted rules by `rule_hits_most` (hits DESC, rule_id): the ties of the
            // cursor's count after its id, then the smaller counts; then the rules never
            // counted (no counter, or 0), by id.
            (Order::Hits, Way::Forward) => {
                let never = |id| {
                    range(
                        self.select(
                            "coalesce(h.hits, 0)",
                            FROM,
                            "coalesce(h.hits, 0) = 0 AND r.id > ?5",
                            "r.id",
                        ),
                        Cursor { key: 0, id },
                    )
                };
                let below = |key| {
                    range(
                        self.select(
                            "h.hits",
                            self.counted,
                            "h.hits > 0 AND h.hits < ?4",
                            "h.hits DESC, h.rule_id",
                        ),
                        Cursor { key, id: 0 },
                    )
                };
                match from {
                    None => vec![below(i64::MAX), never(i64::MIN)],
                    Some(c) if c.key <= 0 => vec![never(c.id)],
                    Some(c) => vec![
                        range(
                            self.select(
                                "h.hits",
                                self.counted,
                                "h.hits = ?4 AND h.rule_id > ?5",
                                "h.rule_id",
                            ),
                            c,
                        ),
                        below(c.key),
                        never(i64::MIN),
                    ],
                }
            }
            (Order::Hits, Way::Backward) => {
                let above = |key| {
                    range(
                        self.select(
                            "h.hits",
                            self.counted,
                            "h.hits > ?4",
                            "h.hits, h.rule_id DESC",
                        ),
                        Cursor { key, id: 0 },
                    )
                };
                let never = |id| {
                    range(
                        self.select(
                            "coalesce(h.hits, 0)",
                            FROM,
                            "coalesce(h.hits, 0) = 0 AND r.id < ?5",
                            "r.id DESC",
                        ),
                        Cursor { key: 0, id },
                    )
                };
                match from {
                    None => vec![never(i64::MAX), above(0)],
                    Some(c) if c.key <= 0 => vec![never(c.id), above(0)],
                    Some(c) => vec![
                        range(
                            self.select(
                                "h.hits",
                                self.counted,
                                "h.hits = ?4 AND h.rule_id < ?5",
                                "h.rule_id DESC",
                            ),
                            c,
                        ),
                        above(c.key),
                    ],
                }
            }
        }
    }
}

/// Read the page `q` asks for with `reader` (in one transaction or snapshot).
pub(super) fn read(
    reader: &mut impl Reader,
    d: &Dialect,
    q: &Browse,
) -> Result<Browsed, StoreError> {
    let needle = q.needle();
    let limit = i64::from(q.limit.clamp(1, 1000));
    let params = |limit: i64, key: i64, id: i64, offset: i64| Params {
        needle: needle.as_deref(),
        host: q.host.as_deref(),
        ints: [limit, key, id, offset],
    };
    let matching = if q.filtered() {
        // Counted up to the bound: a search matching most of a million rules costs a page.
        let bound = COUNT_BOUND as i64;
        let sql = format!(
            "SELECT count(*) FROM (SELECT 1 FROM rules AS r WHERE {} LIMIT ?3) AS m",
            d.filter
        );
        match reader.number(&sql, &params(bound + 1, 0, 0, 0))? {
            n if n > bound => Matching::MoreThan(COUNT_BOUND),
            n => Matching::Exactly(n.max(0) as u64),
        }
    } else {
        Matching::All
    };
    let limit = match (q.at, matching) {
        (At::End, Matching::Exactly(n)) if n > 0 => match n as i64 % limit {
            0 => limit,
            rest => rest,
        },
        _ => limit,
    };
    // One more than the page, in the way it is read: whether there are rules beyond it.
    let want = limit + 1;
    let mut rows: Vec<(RuleSpec, i64)> = Vec::new();
    let (way, before, after) = match q.at {
        At::Offset(offset) => {
            let offset = i64::try_from(offset).unwrap_or(i64::MAX);
            let ranges = d.ranges(q.order, Way::Forward, None);
            // The first range from the offset; a later one from the offset less the rules
            // of those before it (counted only when the page reaches past them).
            let mut skip = offset;
            for (i, r) in ranges.iter().enumerate() {
                rows.extend(
                    reader.rows(&r.sql, &params(want - rows.len() as i64, r.key, r.id, skip))?,
                );
                if rows.len() as i64 >= want || i + 1 == ranges.len() {
                    break;
                }
                if skip > 0 {
                    // Only the order by hits has a second range: the rules never counted.
                    let counted = format!(
                        "SELECT count(*) FROM {} WHERE h.hits > 0 AND {}",
                        d.counted, d.filter
                    );
                    skip = (skip - reader.number(&counted, &params(0, 0, 0, 0))?).max(0);
                }
            }
            let after = rows.len() as i64 > limit;
            rows.truncate(limit as usize);
            (Way::Forward, offset > 0, after)
        }
        At::Start | At::After(_) | At::End | At::Before(_) => {
            let (way, from) = match q.at {
                At::After(c) => (Way::Forward, Some(c)),
                At::Before(c) => (Way::Backward, Some(c)),
                At::End => (Way::Backward, None),
                _ => (Way::Forward, None),
            };
            for r in d.ranges(q.order, way, from) {
                rows.extend(
                    reader.rows(&r.sql, &params(want - rows.len() as i64, r.key, r.id, 0))?,
                );
                if rows.len() as i64 >= want {
                    break;
                }
            }
            let beyond = rows.len() as i64 > limit;
            rows.truncate(limit as usize);
            match way {
                Way::Forward => (way, from.is_some(), beyond),
                Way::Backward => (way, beyond, from.is_some()),
            }
        }
    };
    if way == Way::Backward {
        rows.reverse();
    }
    let cursor = |(rule, key): &(RuleSpec, i64)| Cursor::of(q.order, *key, rule);
    Ok(Browsed {
        first: rows.first().map(cursor),
        last: rows.last().map(cursor),
        rules: rows.into_iter().map(|(rule, _)| rule).collect(),
        matching,
        before,
        after,
    })
}

/// SQLite's reader: one read transaction.
struct SqliteReader<'t>(&'t rusqlite::Transaction<'t>);

fn bind(
    stmt: &mut rusqlite::Statement<'_>,
    used: &[usize],
    params: &Params<'_>,
) -> rusqlite::Result<()> {
    for (i, &n) in used.iter().enumerate() {
        match params.get(n) {
            Value::Text(t) => stmt.raw_bind_parameter(i + 1, t)?,
            Value::Int(v) => stmt.raw_bind_parameter(i + 1, v)?,
        }
    }
    Ok(())
}

impl Reader for SqliteReader<'_> {
    fn rows(&mut self, sql: &str, params: &Params<'_>) -> Result<Vec<(RuleSpec, i64)>, StoreError> {
        let (sql, used) = numbered(sql, '?');
        let mut stmt = self.0.prepare_cached(&sql)?;
        bind(&mut stmt, &used, params)?;
        let mut rows = stmt.raw_query();
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(keyed(row)?);
        }
        Ok(out)
    }

    fn number(&mut self, sql: &str, params: &Params<'_>) -> Result<i64, StoreError> {
        let (sql, used) = numbered(sql, '?');
        let mut stmt = self.0.prepare_cached(&sql)?;
        bind(&mut stmt, &used, params)?;
        let mut rows = stmt.raw_query();
        Ok(match rows.next()? {
            Some(row) => row.get(0)?,
            None => 0,
        })
    }
}

/// A rule and the sort key after its columns.
fn keyed(row: &Row<'_>) -> rusqlite::Result<(RuleSpec, i64)> {
    Ok((from_row(row)?, row.get(14)?))
}

impl Sqlite {
    /// A page of the admin list (see [`Browse`]); the count and the page are read in one
    /// transaction, so they agree.
    pub fn browse(&self, query: &Browse) -> Result<Browsed, StoreError> {
        // As `list`: the text is searched for literally, ASCII case aside (`instr` compares
        // bytes, NUL included; `lower` folds ASCII only).
        let dialect = Dialect {
            columns: COLUMNS,
            filter:
                "(?1 IS NULL OR instr(lower(r.matcher), ?1) > 0 OR instr(lower(r.target), ?1) > 0)
               AND (?2 IS NULL OR r.host = ?2)"
                    .to_owned(),
            // CROSS JOIN: SQLite walks the counters first, in the index's order.
            counted: "rule_hits AS h CROSS JOIN rules AS r ON r.id = h.rule_id",
        };
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let page = read(&mut SqliteReader(&tx), &dialect, query)?;
        tx.commit()?;
        Ok(page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_numbered_by_first_use() {
        let (sql, used) = numbered("a = ?4 AND (?1 IS NULL OR b = ?1) LIMIT ?3", '$');
        assert_eq!(sql, "a = $1 AND ($2 IS NULL OR b = $2) LIMIT $3");
        assert_eq!(used, [4, 1, 3]);
    }

    #[test]
    fn cursors_read_back_and_refuse_anything_else() {
        let c = Cursor { key: 17, id: 4031 };
        assert_eq!(Cursor::parse(Order::Hits, &c.text(Order::Hits)), Ok(c));
        assert_eq!(
            Cursor::parse(Order::Id, "4031"),
            Ok(Cursor { key: 0, id: 4031 })
        );
        for bad in [
            "",
            "17",
            "17.",
            ".5",
            "-1.5",
            "1.-5",
            "1.5.6",
            "1e3.5",
            "99999999999999999999.1",
            " 1.5",
            "1.5'",
        ] {
            assert!(Cursor::parse(Order::Hits, bad).is_err(), "{bad:?}");
        }
        assert!(Cursor::parse(Order::Id, "1.5").is_err());
        assert!(Cursor::parse(Order::Changed, "+1.5").is_err());
    }
}
