//! What every request handler shares: the rules, the token, the metrics, the counters, the
//! admin pages' sessions and reports, the auth throttle.
//!
//! It lives below the modules that use it (`http::service`, `api`, `admin`, the maintenance
//! thread), so none of them imports another to reach it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::access_log::AccessLog;
use crate::auth::AdminToken;
use crate::catalog::Catalog;
use crate::metrics::Metrics;
use crate::stats::Unknown;
use crate::throttle::Throttle;
use crate::{reports, session};

/// What every request handler shares.
#[derive(Debug)]
pub struct App {
    /// The rules.
    pub catalog: Arc<Catalog>,
    /// The admin token.
    pub token: AdminToken,
    /// Request metrics.
    pub metrics: Metrics,
    /// Unknown-path counters.
    pub unknown: Arc<Unknown>,
    /// The admin pages' sessions and import reports.
    pub admin: AdminState,
    /// Failed admin tokens (API and sign-in), limited per client address.
    pub throttle: Throttle,
    /// The access log, when `--access-log` asked for one.
    pub access: Option<AccessLog>,
}

impl App {
    /// An app over `catalog` with admin token `token`.
    pub fn new(catalog: Arc<Catalog>, token: AdminToken) -> Self {
        App {
            catalog,
            token,
            metrics: Metrics::default(),
            unknown: Arc::new(Unknown::default()),
            admin: AdminState::default(),
            throttle: Throttle::default(),
            access: None,
        }
    }
}

/// What the admin pages reach between requests: sessions, import reports and the sign-in
/// form's key (all kept in the store).
#[derive(Debug)]
pub struct AdminState {
    /// Signed-in sessions (the only sessions kept).
    pub sessions: session::Sessions,
    /// Import reports.
    pub reports: reports::Reports,
    /// The key that signs sign-in forms' tokens, read from the store at its first use.
    pub form_key: session::FormKeyCell,
    tls: AtomicBool,
}

impl Default for AdminState {
    fn default() -> Self {
        AdminState {
            sessions: session::Sessions::default(),
            reports: reports::Reports,
            form_key: session::FormKeyCell::default(),
            tls: AtomicBool::new(false),
        }
    }
}

impl AdminState {
    /// Say whether the server is served over TLS (session cookies are then `Secure`).
    pub fn set_tls(&self, on: bool) {
        self.tls.store(on, Ordering::Relaxed);
    }

    /// Whether the server is served over TLS.
    pub fn tls(&self) -> bool {
        self.tls.load(Ordering::Relaxed)
    }
}
