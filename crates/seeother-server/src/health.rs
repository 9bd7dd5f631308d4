//! What a node can say about its store, for `/-/healthz` and a readiness check: a node on a
//! shared store whose database cannot be reached still serves every redirect from memory
//! (live), but cannot take writes nor see other nodes' changes (not ready, degraded).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;

/// The state of the store as this node sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Health {
    /// `"ok"`, or `"degraded"` when the database cannot be reached.
    pub status: &'static str,
    /// `"sqlite"` or `"postgres"`.
    pub store: &'static str,
    /// Whether the database answers (always true for SQLite).
    pub database: bool,
    /// The number of the last change applied to this node's rules (0 for SQLite).
    pub seen: i64,
    /// What is wrong, when degraded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// Seconds since the database was last found unreachable (when degraded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub down_for_secs: Option<u64>,
}

impl Health {
    /// Whether the node can take writes and follows the other nodes (readiness: answer
    /// 503 when not; liveness stays 200 as redirects are still served).
    pub fn is_ready(&self) -> bool {
        self.database
    }
}

/// Whether the database was reachable at the last try (set by the change feed's thread).
#[derive(Debug, Default)]
pub(crate) struct Reachability(Mutex<Option<(String, Instant)>>);

impl Reachability {
    /// The database answered.
    pub(crate) fn up(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// The database could not be reached, for `why` (the first time is kept).
    pub(crate) fn down(&self, why: String) {
        let mut state = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if state.is_none() {
            *state = Some((why, Instant::now()));
        }
    }

    /// Why and for how long it has been down, if it is.
    pub(crate) fn problem(&self) -> Option<(String, Duration)> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|(why, since)| (why.clone(), since.elapsed()))
    }
}
