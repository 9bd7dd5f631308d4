//! The admin pages under `/-/admin`: server-rendered HTML on Post/Redirect/Get.
//!
//! Every successful form submission answers `303 See Other` to the page of what it produced
//! (built by `seeother_core::respond::Redirect`), so the result can be bookmarked and
//! reloaded, and reload or back never submits twice. A failed submission re-renders its form
//! with 422, the input kept and each error beside its field. The pages change rules only
//! through [`crate::catalog::Catalog`], the same in-process API the JSON API uses.
//!
//! - [`session`]: cookie sessions of signed-in admins, their CSRF tokens, and the signed
//!   token of the sign-in form (no server state for visitors who have not signed in).
//! - [`form`]: reading form bodies; the rule form and its errors.
//! - [`view`]: the HTML of every page; [`style`]: the stylesheet.
//! - [`imports`]: import reports as bookmarkable resources; [`try_it`]: the "try it" box.

pub mod form;
pub mod imports;
mod reply;
mod routes;
pub mod session;
pub mod style;
pub mod try_it;
pub mod view;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::http::body::RequestBody;
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;

use crate::http::service::App;

/// What the admin pages keep between requests: sessions and import reports (in memory).
#[derive(Debug)]
pub struct State {
    /// Signed-in sessions (the only sessions kept).
    pub sessions: session::Sessions,
    /// Import reports.
    pub reports: imports::Reports,
    /// The key that signs sign-in forms' tokens (`None` when the CSPRNG failed: the sign-in
    /// page then answers 503).
    pub form_key: Option<session::FormKey>,
    tls: AtomicBool,
}

impl Default for State {
    fn default() -> Self {
        State {
            sessions: session::Sessions::default(),
            reports: imports::Reports::default(),
            form_key: session::FormKey::generate(),
            tls: AtomicBool::new(false),
        }
    }
}

impl State {
    /// Say whether the server is served over TLS (session cookies are then `Secure`).
    pub fn set_tls(&self, on: bool) {
        self.tls.store(on, Ordering::Relaxed);
    }

    /// Whether the server is served over TLS.
    pub fn tls(&self) -> bool {
        self.tls.load(Ordering::Relaxed)
    }
}

/// Answer a request under `/-/admin`. Never panics on input: every request gets a page.
pub async fn handle(app: &Arc<App>, req: Request<RequestBody>) -> Response<Full<Bytes>> {
    let response = routes::route(app, req).await.map(Full::new);
    app.metrics.set_admin_sessions(app.admin.sessions.len());
    response
}
