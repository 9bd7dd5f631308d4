//! `serve --check-interval`: the rules' targets checked in the background, a few at a time,
//! the latest result per rule kept in the store and counted in the metrics.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderValue;
use seeother_client::check::{Checker, Options, Outcome, Target};
use seeother_core::check::State;

use super::report::{TargetReport, worst};
use super::{Planned, plan};
use crate::app::App;
use crate::catalog::blocking;
use crate::rule::RuleSpec;
use crate::store::CheckRow;

/// Rules checked together: their targets are in flight at once (within the limits), then
/// their results are written.
const BATCH: usize = 64;

/// The limits of background checks: one request per host at a time, a second apart, four in
/// all; the server's own work comes first.
pub fn default_options() -> Options {
    Options {
        per_host: 1,
        delay: Duration::from_secs(1),
        max_requests: 4,
        ..Options::default()
    }
}

/// Check every rule now, then again `interval` after each round began (a round that takes
/// longer starts the next at once). Runs until the runtime stops.
pub async fn run(app: Arc<App>, interval: Duration, options: Options) {
    let checker = match Checker::new(seeother_client::Client::builder(), options) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "link checks cannot start");
            return;
        }
    };
    // Counts from the checks stored before, until this round has its own.
    update_metrics(&app).await;
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match round(&app, &checker).await {
            Ok(n) => tracing::info!(rules = n, "link check round done"),
            Err(e) => tracing::warn!(error = %e, "link check round stopped"),
        }
        update_metrics(&app).await;
    }
}

/// One pass over every rule; the number of rules checked.
async fn round(app: &Arc<App>, checker: &Checker) -> Result<usize, String> {
    let rules = blocking(&app.catalog, |c| {
        let mut rules = Vec::new();
        c.store().for_each_rule(|r| rules.push(r))?;
        Ok(rules)
    })
    .await
    .map_err(|e| e.to_string())?;
    for batch in rules.chunks(BATCH) {
        let rows = check_batch(checker, batch).await;
        blocking(&app.catalog, move |c| {
            for row in &rows {
                c.store().record_check(row)?;
            }
            Ok(())
        })
        .await
        .map_err(|e| e.to_string())?;
    }
    Ok(rules.len())
}

/// Check the targets of `rules` together; one row per rule with an id.
async fn check_batch(checker: &Checker, rules: &[RuleSpec]) -> Vec<CheckRow> {
    let planned: Vec<Vec<Planned>> = rules.iter().map(|r| plan(r, None)).collect();
    let mut place = Vec::new();
    let mut targets = Vec::new();
    for (r, targets_of_rule) in planned.iter().enumerate() {
        for (t, p) in targets_of_rule.iter().enumerate() {
            if let Ok(url) = &p.url {
                place.push((r, t));
                targets.push(Target {
                    url: url.clone(),
                    accept: p
                        .accept
                        .as_deref()
                        .and_then(|a| HeaderValue::from_str(a).ok()),
                });
            }
        }
    }
    let mut outcomes: Vec<Vec<Option<Outcome>>> =
        planned.iter().map(|p| vec![None; p.len()]).collect();
    let mut results = checker.check_all(targets);
    while let Some((i, outcome)) = results.recv().await {
        let (r, t) = place[i];
        outcomes[r][t] = Some(outcome);
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    rules
        .iter()
        .zip(planned.iter().zip(&outcomes))
        .filter_map(|(rule, (planned, outcomes))| {
            let reports: Vec<TargetReport> = planned
                .iter()
                .zip(outcomes)
                .map(|(p, o)| TargetReport::new(p, o.as_ref()))
                .collect();
            let state = worst(
                reports
                    .iter()
                    .map(|r| State::from_name(&r.state).unwrap_or(State::Invalid)),
            );
            Some(CheckRow {
                rule_id: rule.id?,
                checked_at: now,
                state: state.name().to_owned(),
                result: serde_json::to_string(&reports).ok()?,
            })
        })
        .collect()
}

/// Copy the stored counts per state into the metrics.
async fn update_metrics(app: &Arc<App>) {
    match blocking(&app.catalog, |c| Ok(c.store().check_counts()?)).await {
        Ok(counts) => app.metrics.set_targets(&counts),
        Err(e) => tracing::warn!(error = %e, "link check counts not read"),
    }
}
