//! `GET /-/admin/stats`: the usage dashboard.

use std::sync::Arc;

use axum::extract::State;
use axum::response::IntoResponse;
use serde::Deserialize;

use crate::admin::extract::{Params, SignedIn};
use crate::admin::page::{Answer, Page};
use crate::admin::view::stats::{self as view, RANGES, Usage};
use crate::app::App;
use crate::catalog::blocking;
use crate::store::daily::{self, Day, TopBy};

/// Rows of each top list.
const TOP: u32 = 20;

/// The days shown: `?days=30|90|400`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RangeParams {
    days: String,
}

impl RangeParams {
    /// The range asked for as `?days=text`.
    pub fn days(text: &str) -> Self {
        RangeParams {
            days: text.to_owned(),
        }
    }

    /// The first and last day: the last `days` (one of [`RANGES`], else `default`).
    pub fn range(&self, default: i64) -> (Day, Day) {
        let n = self
            .days
            .parse()
            .ok()
            .filter(|n| RANGES.contains(n))
            .unwrap_or(default);
        let to = daily::today();
        (to - n + 1, to)
    }
}

/// `GET /-/admin/stats`.
pub async fn dashboard(
    State(app): State<Arc<App>>,
    SignedIn(session): SignedIn,
    Params(query): Params<RangeParams>,
) -> Answer {
    let (from, to) = query.range(30);
    let usage = blocking(&app.catalog, move |c| {
        let s = c.store();
        Ok(Usage {
            from,
            to,
            days: s.days(from, to)?,
            top: s.top_rules(from, to, TopBy::Hits, TOP)?,
            unknown: s.top_unknown(from, to, TOP)?,
            gone: s.top_rules(from, to, TopBy::Gone, TOP)?,
        })
    })
    .await?;
    Ok(Page::ok(view::dashboard(&session, &usage)).into_response())
}
