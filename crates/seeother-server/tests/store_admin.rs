//! Admin sessions, the sign-in form's key and import reports in the store, the same on SQLite
//! and on a private PostgreSQL cluster: expired sessions are never found and are deleted when
//! a session starts, at most `keep` are kept (the oldest go), the key is drawn once, and the
//! newest reports are kept under ids never given twice.

mod pg_support;

use std::time::Duration;

use pg_support::Cluster;
use seeother_server::store::{Location, ReportRow, SessionRow, Store};

fn session(created_at: i64, expires_at: i64) -> SessionRow {
    SessionRow {
        csrf: format!("csrf-{created_at}"),
        created_at,
        expires_at,
    }
}

fn hash(n: u8) -> Vec<u8> {
    vec![n; 32]
}

fn sessions_expire_and_are_bounded(store: &Store) {
    let now = 1_000_000;
    store
        .create_session(&hash(1), &session(now, now + 100), 3)
        .unwrap();
    assert_eq!(
        store.session(&hash(1), now).unwrap(),
        Some(session(now, now + 100))
    );
    assert_eq!(store.session(&hash(2), now).unwrap(), None);
    assert_eq!(store.session(&hash(1), now + 100).unwrap(), None, "expired");
    assert_eq!(store.session_count(now).unwrap(), 1);
    assert_eq!(store.session_count(now + 100).unwrap(), 0);

    // Starting a session after the first expired deletes it for good.
    store
        .create_session(&hash(2), &session(now + 200, now + 900), 3)
        .unwrap();
    assert_eq!(store.session(&hash(1), now).unwrap(), None, "purged");
    // At most 3: the fourth evicts the first signed in, also within one second.
    store
        .create_session(&hash(3), &session(now + 200, now + 900), 3)
        .unwrap();
    store
        .create_session(&hash(4), &session(now + 200, now + 900), 3)
        .unwrap();
    assert_eq!(store.session_count(now + 202).unwrap(), 3);
    store
        .create_session(&hash(5), &session(now + 200, now + 900), 3)
        .unwrap();
    assert_eq!(store.session_count(now + 203).unwrap(), 3);
    assert_eq!(
        store.session(&hash(2), now + 203).unwrap(),
        None,
        "the oldest went"
    );
    for n in [3, 4, 5] {
        assert!(store.session(&hash(n), now + 203).unwrap().is_some(), "{n}");
    }
    store.delete_session(&hash(4)).unwrap();
    store.delete_session(&hash(4)).unwrap();
    assert_eq!(store.session(&hash(4), now + 203).unwrap(), None);
    assert_eq!(store.session_count(now + 203).unwrap(), 2);
}

fn one_key(store: &Store) {
    let key = store.admin_key(&[7; 32]).unwrap();
    assert_eq!(key, vec![7; 32]);
    assert_eq!(store.admin_key(&[8; 32]).unwrap(), key, "drawn once");
}

fn report(n: u64) -> ReportRow {
    ReportRow {
        at: n as i64,
        source: format!("file-{n}.toml"),
        format: "toml".to_owned(),
        created: n,
        updated: 1,
        unchanged: 2,
        changed: "[]".to_owned(),
    }
}

fn newest_reports_kept(store: &Store) {
    let ids: Vec<i64> = (1..=5)
        .map(|n| store.add_report(&report(n), 3).unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    assert_eq!(store.report(ids[0]).unwrap(), None);
    assert_eq!(store.report(ids[1]).unwrap(), None);
    for (i, id) in ids.iter().enumerate().skip(2) {
        assert_eq!(store.report(*id).unwrap(), Some(report(i as u64 + 1)));
    }
    assert_eq!(store.report(-1).unwrap(), None);
}

fn all(store: &Store) {
    sessions_expire_and_are_bounded(store);
    one_key(store);
    newest_reports_kept(store);
}

#[test]
fn on_sqlite() {
    let store = Store::in_memory().unwrap();
    assert_eq!(store.schema_version().unwrap(), 10);
    all(&store);
}

#[test]
fn on_postgresql_shared_by_two_connections() {
    let pg = Cluster::start();
    let url = pg.create_db("admin");
    let connect =
        || Store::connect(&Location::Postgres(url.clone()), Duration::from_secs(2)).unwrap();
    let (a, b) = (connect(), connect());
    all(&a);
    // What one node stored, another reads.
    assert!(b.session(&hash(3), 1_000_203).unwrap().is_some());
    assert_eq!(b.admin_key(&[9; 32]).unwrap(), vec![7; 32]);
    b.delete_session(&hash(3)).unwrap();
    assert_eq!(a.session(&hash(3), 1_000_203).unwrap(), None);
}
