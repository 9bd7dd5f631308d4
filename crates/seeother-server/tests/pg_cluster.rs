//! The private PostgreSQL cluster the store's tests run on: it starts as an unprivileged
//! user, answers on its own port, stops and starts again, and is gone once dropped.

mod pg_support;

use pg_support::Cluster;

fn select_one(url: &str) -> Result<i32, postgres::Error> {
    let mut client = postgres::Client::connect(url, postgres::NoTls)?;
    Ok(client.query_one("SELECT 1", &[])?.get(0))
}

#[test]
fn a_private_cluster_answers_stops_starts_again_and_is_removed() {
    let cluster = Cluster::start();
    let url = cluster.url("postgres");
    assert_eq!(select_one(&url).unwrap(), 1);
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let user: String = client.query_one("SELECT current_user", &[]).unwrap().get(0);
    assert_eq!(user, pg_support::USER);
    let url2 = cluster.create_db("other");
    assert_eq!(select_one(&url2).unwrap(), 1);

    cluster.stop();
    assert!(select_one(&url).is_err(), "a stopped cluster answered");
    assert!(
        client.query_one("SELECT 1", &[]).is_err(),
        "a cut connection answered"
    );
    cluster.start_again();
    assert_eq!(select_one(&url).unwrap(), 1);

    let port = cluster.port();
    drop(cluster);
    assert!(
        select_one(&format!(
            "postgres://{}@127.0.0.1:{port}/postgres",
            pg_support::USER
        ))
        .is_err()
    );
}
