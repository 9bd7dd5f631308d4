//! Following a shared store's change feed: a thread `LISTEN`s on its own PostgreSQL
//! connection, and every notification (another node's change, `seeother import`, this
//! node's own) makes the catalog catch up on the change sequence. A lost connection is made
//! again with back-off, then the catalog catches up on whatever it missed meanwhile: the
//! sequence, not the notifications, says what to apply.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::Duration;

use ::postgres::fallible_iterator::FallibleIterator;

use crate::catalog::Catalog;
use crate::store::{CHANNEL, Store};

/// How long one wait for a notification lasts (then the thread looks whether to stop).
const WAIT: Duration = Duration::from_millis(250);

/// The first pause before connecting again; it doubles up to [`MAX_BACK_OFF`].
const FIRST_BACK_OFF: Duration = Duration::from_millis(100);
/// The longest pause between two attempts to connect.
const MAX_BACK_OFF: Duration = Duration::from_secs(5);

fn should_stop(stopped: &Receiver<()>) -> bool {
    !matches!(stopped.try_recv(), Err(TryRecvError::Empty))
}

/// Follow the change feed of `catalog`'s store until `stopped` says to stop. Does nothing
/// for a store that has none (SQLite).
pub fn follow(catalog: &Arc<Catalog>, stopped: &Receiver<()>) {
    let Store::Postgres(pg) = &**catalog.store() else {
        return;
    };
    let mut back_off = FIRST_BACK_OFF;
    let mut was_down = false;
    while !should_stop(stopped) {
        let listening = pg.connect_again().and_then(|mut c| {
            c.batch_execute(&format!("LISTEN {CHANNEL}"))?;
            Ok(c)
        });
        let mut client = match listening {
            Ok(c) => c,
            Err(e) => {
                catalog.reachable(Err(e.to_string()));
                if !was_down {
                    tracing::warn!(error = %e, "the change feed is cut; serving the rules as they are, connecting again");
                    was_down = true;
                }
                if stopped.recv_timeout(back_off).is_ok() {
                    return;
                }
                back_off = (back_off * 2).min(MAX_BACK_OFF);
                continue;
            }
        };
        back_off = FIRST_BACK_OFF;
        catalog.reachable(Ok(()));
        // Listening first: a change committed from here on is notified, and one committed
        // before is read by this catch-up; one that fails (the connection it reads on was
        // cut too) is tried again at every wait until it is done.
        let mut behind = !catch_up(catalog);
        if was_down {
            tracing::info!(seen = catalog.seen(), "the change feed is back");
            was_down = false;
        }
        while !should_stop(stopped) {
            let woken = client.notifications().timeout_iter(WAIT).next();
            match woken {
                Ok(Some(_)) => {
                    // The others that came along are covered by the same catch-up.
                    while let Ok(Some(_)) = client.notifications().iter().next() {}
                    behind = !catch_up(catalog);
                }
                Ok(None) if !client.is_closed() => {
                    if behind {
                        behind = !catch_up(catalog);
                    }
                }
                Ok(None) => {
                    catalog.reachable(Err("the connection to PostgreSQL was closed".into()));
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the change feed's connection failed");
                    catalog.reachable(Err(e.to_string()));
                    break;
                }
            }
        }
    }
}

/// Apply the changes not yet applied; whether that was done.
fn catch_up(catalog: &Catalog) -> bool {
    match catalog.catch_up() {
        Ok(0) => true,
        Ok(n) => {
            tracing::debug!(changes = n, seen = catalog.seen(), "changes applied");
            true
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not read the changes; will try again");
            false
        }
    }
}
