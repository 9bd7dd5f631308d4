//! `GET /-/api/stats/…`: the counts per day (`store::daily`) as JSON or CSV, so a report can
//! be made without the admin pages:
//!
//! - `/-/api/stats/days`: every rule's answers and 410s, per day;
//! - `/-/api/stats/rules`: the most asked-for rules over the days; `/-/api/stats/gone`: the
//!   tombstones most asked for;
//! - `/-/api/stats/rules/{id}`: one rule's answers per day; `…/variants`: per variant served;
//! - `/-/api/stats/unknown`: the most asked-for paths that match no rule.
//!
//! Each takes `from` and `to` (dates, UTC; the last 30 days by default) and answers CSV for
//! `?format=csv` or an `Accept` that prefers `text/csv` (RFC 9110 §12.5.1), else JSON: the
//! same rows, `{"from", "to", "rows": […]}`.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use http::header::{ACCEPT, CONTENT_DISPOSITION, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};

use super::extract::{Authenticated, Params, RuleId, bounded};
use super::openapi::{BadRequest, NotFound, TooManyFailures, Unauthorized, Unavailable};
use super::reply::{ApiError, json};
use crate::app::App;
use crate::catalog::blocking;
use crate::store::daily::{self, Day, TopBy, date, parse_day};

/// Most rows of a top list (`limit`).
const MAX_TOP_LIMIT: i64 = 10_000;
/// Days given when `from` is not.
const DEFAULT_DAYS: i64 = 30;

/// The range of days and the answer's format, from every operation's parameters.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct RangeParams {
    /// The first day (UTC), as `2026-11-01`; 29 days before `to` when not given
    #[param(value_type = Option<String>, format = Date)]
    from: Option<String>,
    /// The last day (UTC), as `2026-11-30`; today when not given
    #[param(value_type = Option<String>, format = Date)]
    to: Option<String>,
    /// `csv` for CSV (as `Accept: text/csv` asks), else JSON
    #[param(value_type = Option<Format>)]
    format: Option<String>,
    /// How many rows, for the top lists; out of range is a 400, not clamped
    #[param(value_type = Option<i64>, minimum = 1, maximum = 10000, default = 100)]
    limit: Option<String>,
}

/// The format of an answer.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub(super) enum Format {
    /// JSON.
    Json,
    /// CSV with a header line (RFC 4180).
    Csv,
}

/// What the parameters ask for.
struct Range {
    from: Day,
    to: Day,
    csv: bool,
}

impl RangeParams {
    fn range(&self, headers: &HeaderMap) -> Result<Range, ApiError> {
        // Out of range is refused where a list takes no `limit` too, as the document says.
        self.limit()?;
        let day = |name: &str, v: &Option<String>| -> Result<Option<Day>, ApiError> {
            v.as_deref()
                .map(|t| {
                    parse_day(t).ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "parameter `{name}` is {t:?}; give a date as 2026-11-30"
                        ))
                    })
                })
                .transpose()
        };
        let to = day("to", &self.to)?.unwrap_or_else(daily::today);
        let from = day("from", &self.from)?.unwrap_or(to - (DEFAULT_DAYS - 1));
        let csv = match self.format.as_deref() {
            Some("csv") => true,
            Some("json") => false,
            Some(f) => {
                return Err(ApiError::bad_request(format!(
                    "parameter `format` is {f:?}; give csv or json"
                )));
            }
            None => prefers_csv(headers),
        };
        Ok(Range { from, to, csv })
    }

    fn limit(&self) -> Result<u32, ApiError> {
        Ok(bounded("limit", self.limit.as_deref(), 100, 1, MAX_TOP_LIMIT)? as u32)
    }
}

/// Whether `Accept` ranks `text/csv` above `application/json` (RFC 9110 §12.5.1: the
/// highest `q` wins; JSON on a tie, and when neither is named).
fn prefers_csv(headers: &HeaderMap) -> bool {
    let mut csv = 0.0f32;
    let mut json = 0.0f32;
    for v in headers.get_all(ACCEPT) {
        let Ok(v) = v.to_str() else { continue };
        for item in v.split(',') {
            let mut parts = item.split(';').map(str::trim);
            let range = parts.next().unwrap_or("").to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.strip_prefix("q=").or_else(|| p.strip_prefix("Q=")))
                .find_map(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            match range.as_str() {
                "text/csv" => csv = csv.max(q),
                "application/json" => json = json.max(q),
                _ => {}
            }
        }
    }
    csv > json
}

/// The answer: `rows` as CSV or in `{"from", "to", "rows"}`.
fn answer<T: Serialize + Fields>(range: &Range, name: &str, rows: Vec<T>) -> Response {
    if !range.csv {
        return json(
            StatusCode::OK,
            &Rows {
                from: date(range.from),
                to: date(range.to),
                rows,
            },
        );
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in &rows {
        // Rows of numbers and strings: nothing a CSV writer refuses.
        let _ = w.serialize(r);
    }
    let mut body = w.into_inner().unwrap_or_default();
    if rows.is_empty() {
        // The header line, which the writer only writes with the first row.
        body = format!("{}\r\n", T::FIELDS.join(",")).into_bytes();
    }
    let mut r = Response::new(Body::from(body));
    let h = r.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    let file = format!(
        "attachment; filename=\"{name}-{}-{}.csv\"",
        date(range.from),
        date(range.to)
    );
    if let Ok(v) = HeaderValue::from_str(&file) {
        h.insert(CONTENT_DISPOSITION, v);
    }
    r
}

/// A row's field names, for the header line of a CSV without rows.
trait Fields {
    const FIELDS: &'static [&'static str];
}

impl Fields for DayRow {
    const FIELDS: &'static [&'static str] = &["day", "hits", "gone"];
}
impl Fields for VariantRow {
    const FIELDS: &'static [&'static str] = &["day", "media_type", "hits"];
}
impl Fields for RuleRow {
    const FIELDS: &'static [&'static str] = &["rule", "host", "path", "hits", "gone"];
}
impl Fields for UnknownRow {
    const FIELDS: &'static [&'static str] = &["host", "path", "hits"];
}

/// Rows over a range of days.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct Rows<T> {
    /// The first day.
    #[schema(format = Date)]
    from: String,
    /// The last day.
    #[schema(format = Date)]
    to: String,
    /// The rows, as the CSV has them.
    rows: Vec<T>,
}

/// A day's answers (days without any are left out).
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct DayRow {
    /// The day (UTC).
    #[schema(format = Date)]
    day: String,
    /// Requests answered.
    hits: u64,
    /// Of those, answered 410 Gone by a tombstone.
    gone: u64,
}

/// A day's answers with one variant.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct VariantRow {
    /// The day (UTC).
    #[schema(format = Date)]
    day: String,
    /// The media type of the target served.
    media_type: String,
    /// Requests answered with it.
    hits: u64,
}

/// A rule's answers over the days.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct RuleRow {
    /// The rule's id.
    rule: i64,
    /// Its host (empty for any host).
    host: String,
    /// Its path, prefix or pattern.
    path: String,
    /// Requests answered.
    hits: u64,
    /// Of those, answered 410 Gone.
    gone: u64,
}

/// An unknown path's requests over the days.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct UnknownRow {
    /// The request's host (empty when it had none).
    host: String,
    /// The path.
    path: String,
    /// Requests (at least this many: see `docs/server.md`).
    hits: u64,
}

fn day_rows(days: Vec<daily::DayCount>) -> Vec<DayRow> {
    days.into_iter()
        .map(|d| DayRow {
            day: date(d.day),
            hits: d.hits,
            gone: d.gone,
        })
        .collect()
}

fn rule_rows(rules: Vec<daily::RuleCount>) -> Vec<RuleRow> {
    rules
        .into_iter()
        .map(|r| RuleRow {
            rule: r.rule_id,
            host: r.host,
            path: r.matcher,
            hits: r.hits,
            gone: r.gone,
        })
        .collect()
}

/// Every rule's answers and 410s, per day
#[utoipa::path(
    get,
    path = "/-/api/stats/days",
    operation_id = "statsDays",
    params(RangeParams),
    responses(
        (status = 200, description = "Days with answers, oldest first", content(
            (Rows<DayRow> = "application/json"), (String = "text/csv"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 429, response = TooManyFailures),
        (status = 503, response = Unavailable),
    )
)]
pub(super) async fn days(
    _: Authenticated,
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Params(p): Params<RangeParams>,
) -> Result<Response, ApiError> {
    let r = p.range(&headers)?;
    let (from, to) = (r.from, r.to);
    let days = blocking(&app.catalog, move |c| Ok(c.store().days(from, to)?)).await?;
    Ok(answer(&r, "days", day_rows(days)))
}

/// The most asked-for rules over the days
#[utoipa::path(
    get,
    path = "/-/api/stats/rules",
    operation_id = "statsTopRules",
    params(RangeParams),
    responses(
        (status = 200, description = "Rules, most asked for first", content(
            (Rows<RuleRow> = "application/json"), (String = "text/csv"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 429, response = TooManyFailures),
        (status = 503, response = Unavailable),
    )
)]
pub(super) async fn top_rules(
    _: Authenticated,
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Params(p): Params<RangeParams>,
) -> Result<Response, ApiError> {
    top(app, &headers, &p, TopBy::Hits, "rules").await
}

/// The tombstones (410 Gone) most asked for over the days
#[utoipa::path(
    get,
    path = "/-/api/stats/gone",
    operation_id = "statsGone",
    params(RangeParams),
    responses(
        (status = 200, description = "Rules that answered 410, most first", content(
            (Rows<RuleRow> = "application/json"), (String = "text/csv"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 429, response = TooManyFailures),
        (status = 503, response = Unavailable),
    )
)]
pub(super) async fn gone(
    _: Authenticated,
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Params(p): Params<RangeParams>,
) -> Result<Response, ApiError> {
    top(app, &headers, &p, TopBy::Gone, "gone").await
}

async fn top(
    app: Arc<App>,
    headers: &HeaderMap,
    p: &RangeParams,
    by: TopBy,
    name: &str,
) -> Result<Response, ApiError> {
    let r = p.range(headers)?;
    let limit = p.limit()?;
    let (from, to) = (r.from, r.to);
    let rules = blocking(&app.catalog, move |c| {
        Ok(c.store().top_rules(from, to, by, limit)?)
    })
    .await?;
    Ok(answer(&r, name, rule_rows(rules)))
}

/// 404 unless rule `id` is in the store.
async fn existing(app: &Arc<App>, id: i64) -> Result<(), ApiError> {
    let exists = blocking(&app.catalog, move |c| Ok(c.store().get(id)?.is_some())).await?;
    if exists {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no rule has id {id}; list the rules to find its id"),
        ))
    }
}

/// One rule's answers and 410s, per day
#[utoipa::path(
    get,
    path = "/-/api/stats/rules/{id}",
    operation_id = "statsRule",
    params(RuleId, RangeParams),
    responses(
        (status = 200, description = "Days with answers, oldest first", content(
            (Rows<DayRow> = "application/json"), (String = "text/csv"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 429, response = TooManyFailures),
        (status = 503, response = Unavailable),
    )
)]
pub(super) async fn rule(
    _: Authenticated,
    State(app): State<Arc<App>>,
    RuleId(id): RuleId,
    headers: HeaderMap,
    Params(p): Params<RangeParams>,
) -> Result<Response, ApiError> {
    let r = p.range(&headers)?;
    existing(&app, id).await?;
    let (from, to) = (r.from, r.to);
    let days = blocking(&app.catalog, move |c| {
        Ok(c.store().rule_days(id, from, to)?)
    })
    .await?;
    Ok(answer(&r, &format!("rule-{id}"), day_rows(days)))
}

/// One rule's answers per variant served (content negotiation), per day
#[utoipa::path(
    get,
    path = "/-/api/stats/rules/{id}/variants",
    operation_id = "statsRuleVariants",
    params(RuleId, RangeParams),
    responses(
        (status = 200, description = "Days and media types, oldest first", content(
            (Rows<VariantRow> = "application/json"), (String = "text/csv"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 429, response = TooManyFailures),
        (status = 503, response = Unavailable),
    )
)]
pub(super) async fn rule_variants(
    _: Authenticated,
    State(app): State<Arc<App>>,
    RuleId(id): RuleId,
    headers: HeaderMap,
    Params(p): Params<RangeParams>,
) -> Result<Response, ApiError> {
    let r = p.range(&headers)?;
    existing(&app, id).await?;
    let (from, to) = (r.from, r.to);
    let rows = blocking(&app.catalog, move |c| {
        Ok(c.store().rule_variants(id, from, to)?)
    })
    .await?
    .into_iter()
    .map(|v| VariantRow {
        day: date(v.day),
        media_type: v.media_type,
        hits: v.hits,
    })
    .collect();
    Ok(answer(&r, &format!("rule-{id}-variants"), rows))
}

/// The most asked-for paths that match no rule, over the days
#[utoipa::path(
    get,
    path = "/-/api/stats/unknown",
    operation_id = "statsUnknown",
    params(RangeParams),
    responses(
        (status = 200, description = "Paths, most asked for first", content(
            (Rows<UnknownRow> = "application/json"), (String = "text/csv"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 429, response = TooManyFailures),
        (status = 503, response = Unavailable),
    )
)]
pub(super) async fn unknown(
    _: Authenticated,
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Params(p): Params<RangeParams>,
) -> Result<Response, ApiError> {
    let r = p.range(&headers)?;
    let limit = p.limit()?;
    let (from, to) = (r.from, r.to);
    let rows = blocking(&app.catalog, move |c| {
        Ok(c.store().top_unknown(from, to, limit)?)
    })
    .await?
    .into_iter()
    .map(|u| UnknownRow {
        host: u.host,
        path: u.path,
        hits: u.hits,
    })
    .collect();
    Ok(answer(&r, "unknown", rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_is_chosen_by_its_q() {
        let with = |accept: &str| {
            let mut h = HeaderMap::new();
            h.insert(ACCEPT, HeaderValue::from_str(accept).unwrap());
            prefers_csv(&h)
        };
        assert!(with("text/csv"));
        assert!(with("application/json;q=0.5, text/csv"));
        assert!(!with("text/csv;q=0.5, application/json"));
        assert!(!with("*/*"));
        assert!(!prefers_csv(&HeaderMap::new()));
    }
}
