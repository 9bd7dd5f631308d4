//! One target's outcome as a document ([`TargetReport`]), the same in `seeother check
//! --json`, the store and the API.

use seeother_client::check::Outcome;
use seeother_client::redact;
use seeother_core::check::State;
use serde::{Deserialize, Serialize};

use super::Planned;

/// How one target of a rule fared.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetReport {
    /// The variant's media type; `null` for the rule's default target.
    pub variant: Option<String>,
    /// The target as the rule has it.
    pub to: String,
    /// The URL checked (`null` when skipped).
    pub url: Option<String>,
    /// The media type sent in `Accept`, if any.
    pub accept: Option<String>,
    /// `ok`, `permanent_redirect`, `temporary_redirect`, `client_error`, `server_error`,
    /// `unreachable`, `timeout`, `redirect_loop`, `invalid` or `skipped`.
    #[schema(example = "client_error")]
    pub state: String,
    /// Whether the state is a broken one (`client_error` to `invalid`).
    pub broken: bool,
    /// Why skipped: `template`, `group`, `gone`, `relative` or `not_url`.
    pub skipped: Option<String>,
    /// The eventual answer's status, or the last one before the chain broke off.
    #[schema(minimum = 100, maximum = 999)]
    pub status: Option<u16>,
    /// Where the permanent redirects lead (for `permanent_redirect`).
    pub moved_to: Option<String>,
    /// Every request of the last try.
    pub hops: Vec<HopReport>,
    /// What went wrong, or why skipped.
    pub error: Option<String>,
    /// Tries made.
    #[schema(minimum = 0, maximum = 4294967295_u64)]
    pub tries: u32,
    /// Time to the verdict, in milliseconds.
    pub elapsed_ms: Option<f64>,
}

/// One request of a checked chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HopReport {
    /// The URL requested.
    pub url: String,
    /// The status it got.
    #[schema(minimum = 100, maximum = 999)]
    pub status: u16,
}

/// The verdict on a planned target: its outcome's, or skipped.
pub fn state(planned: &Planned, outcome: Option<&Outcome>) -> State {
    match (&planned.url, outcome) {
        (Ok(_), Some(o)) => o.state,
        _ => State::Skipped,
    }
}

impl TargetReport {
    /// The report on `planned`, checked with `outcome` (`None`: not checked); passwords in
    /// URLs masked.
    pub fn new(planned: &Planned, outcome: Option<&Outcome>) -> Self {
        let o = outcome;
        let state = state(planned, outcome);
        let skip = planned.url.as_ref().err().copied();
        let url = |u: &url::Url| redact::url(u).into_owned();
        TargetReport {
            variant: planned.variant.clone(),
            to: redact::userinfo(&planned.to).into_owned(),
            url: planned.url.as_ref().ok().map(url),
            accept: planned.accept.clone(),
            state: state.name().to_owned(),
            broken: state.is_broken(),
            skipped: skip.map(|s| s.name().to_owned()),
            status: o.and_then(|o| o.status).map(|s| s.as_u16()),
            moved_to: o.and_then(|o| o.moved_to.as_ref()).map(url),
            hops: o.map_or(Vec::new(), |o| {
                o.hops
                    .iter()
                    .map(|h| HopReport {
                        url: url(&h.url),
                        status: h.status.as_u16(),
                    })
                    .collect()
            }),
            error: o
                .and_then(|o| o.error.as_deref())
                .map(|e| redact::message(e).into_owned())
                .or_else(|| skip.map(|s| s.reason().to_owned())),
            tries: o.map_or(0, |o| o.tries),
            elapsed_ms: o.map(|o| o.elapsed.as_secs_f64() * 1000.0),
        }
    }
}

/// The state a rule is filed under: its worst target's. Broken beats redirected, a permanent
/// redirect beats a temporary one, and skipped counts only when nothing was checked.
pub fn worst(states: impl IntoIterator<Item = State>) -> State {
    let rank = |s: State| match s {
        State::Skipped => 0,
        State::Ok => 1,
        State::TemporaryRedirect => 2,
        State::PermanentRedirect => 3,
        _ => 4,
    };
    states
        .into_iter()
        .fold(State::Skipped, |w, s| if rank(s) > rank(w) { s } else { w })
}
