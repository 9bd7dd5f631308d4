//! What a running server does on SIGHUP: the `--rules` files are applied again, so an
//! operator who edited one says `systemctl reload seeother` (or `kill -HUP`) instead of
//! restarting. Each file is applied whole or not at all, and one unchanged since it was last
//! applied (with no rule changed since) is only hashed; a file refused leaves the rules as
//! they were and is logged. (Changes made to the store by another process are picked up
//! without a signal.)

use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::app::App;
use crate::catalog::Catalog;
use crate::store::ImportReport;

/// How a file is applied: the server's own import of a `--rules` file.
pub(crate) type Apply<E> = fn(&Catalog, &Path) -> Result<ImportReport, E>;

/// Make SIGHUP harmless until [`on_hangup`] listens for it: its default action ends the
/// process, and a reload sent right after the start-up message must not.
pub(crate) fn ignore_hangup() {
    #[cfg(unix)]
    // SAFETY: sets the disposition of one signal to "ignore"; no handler code runs, and
    // tokio's own handler replaces it when `on_hangup` starts.
    unsafe {
        libc::signal(libc::SIGHUP, libc::SIG_IGN);
    }
}

/// Apply the `rules` files again with `apply` at every SIGHUP, for as long as the future
/// runs. `reopen` runs first at each one (the access log, which `logrotate` moved away).
pub(crate) async fn on_hangup<E: Display + 'static>(
    app: Arc<App>,
    rules: Vec<PathBuf>,
    apply: Apply<E>,
    reopen: impl Fn() + Send + Sync + 'static,
) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hangups = match signal(SignalKind::hangup()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGHUP; reload by restarting");
                return;
            }
        };
        let reopen = Arc::new(reopen);
        while hangups.recv().await.is_some() {
            let (app, rules, reopen) = (app.clone(), rules.clone(), reopen.clone());
            let done = tokio::task::spawn_blocking(move || {
                reopen();
                apply_all(&app.catalog, &rules, apply);
            });
            if let Err(e) = done.await {
                tracing::warn!(error = %e, "the reload on SIGHUP failed");
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (app, rules, apply, reopen);
        std::future::pending::<()>().await;
    }
}

/// Apply each file in turn, logging what it changed or why it was refused.
fn apply_all<E: Display>(catalog: &Catalog, rules: &[PathBuf], apply: Apply<E>) {
    tracing::info!(files = rules.len(), "SIGHUP: applying the rule files again");
    for path in rules {
        match apply(catalog, path) {
            Ok(r) => tracing::info!(
                file = %path.display(),
                created = r.created,
                updated = r.updated,
                unchanged = r.unchanged,
                skipped = r.skipped,
                "rule file applied"
            ),
            Err(e) => tracing::warn!(
                file = %path.display(),
                error = %e,
                "rule file refused on SIGHUP; the rules are as they were"
            ),
        }
    }
}
