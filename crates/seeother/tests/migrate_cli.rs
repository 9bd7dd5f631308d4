//! `seeother migrate`: a SQLite store of 100,000 rules copied into a private PostgreSQL
//! cluster gives the same export, counters included; a non-empty target is refused unless
//! forced; a node started on the copy answers its rules.

#[path = "../../seeother-server/tests/pg_support/mod.rs"]
mod pg_support;
mod serve_support;

use std::fmt::Write;
use std::path::Path;

use pg_support::Cluster;
use serve_support::{Server, TempDir, cli};

const RULES: usize = 100_000;

#[test]
fn a_store_of_100000_rules_is_copied_whole_and_a_full_target_is_refused() {
    let dir = TempDir::new("migrate");
    let mut csv = String::from("path,to\n");
    for i in 0..RULES {
        writeln!(csv, "/id/{i},https://example.org/{i}").unwrap();
    }
    let file = dir.file("rules.csv", &csv);
    let db = dir.path().join("s.db");
    let db = db.to_str().unwrap();
    let (code, _, err) = cli(&["import", "--db", db, file.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    {
        // A rule changed after the import: its history is the import's creation, stored
        // without a copy of the rule, then the update.
        let store = seeother_server::store::Store::open(Path::new(db)).unwrap();
        let changed = seeother_server::rule::RuleSpec::path("/id/4", "https://example.org/changed");
        store
            .update(5, &changed.validate().unwrap(), "api")
            .unwrap();
    }
    {
        // Counters, a change in the history, an unknown path.
        let conn = rusqlite::Connection::open(db).unwrap();
        conn.execute_batch(
            "INSERT INTO rule_hits (rule_id, hits) SELECT id, id % 7 + 1 FROM rules WHERE id % 3 = 0;
             INSERT INTO unknown_paths (host, path, hits, last_seen) VALUES ('', '/nope', 4, 1);",
        )
        .unwrap();
    }

    let pg = Cluster::start();
    let url = pg.create_db("copy");
    let from = format!("sqlite:{db}");
    let (code, out, err) = cli(&["migrate", "--from", &from, "--to", &url]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("{RULES} rules")), "{out}");
    assert!(out.contains("counts verified"), "{out}");

    let export = |at: &str| {
        let (code, out, err) = cli(&["export", "--db", at, "--format", "json"]);
        assert_eq!(code, 0, "{err}");
        out
    };
    let (before, after) = (export(db), export(&url));
    assert!(
        before.len() > RULES * 40 && before == after,
        "the exports differ"
    );

    let (code, _, err) = cli(&["migrate", "--from", &from, "--to", &url]);
    assert_eq!(code, 1);
    assert!(
        err.contains("--force") && err.contains("100000 rule(s)"),
        "{err}"
    );
    let (code, _, err) = cli(&["migrate", "--from", &from, "--to", &url, "--force"]);
    assert_eq!(code, 0, "{err}");

    let node = Server::start(Path::new(&url), &[]);
    let r = node.get("/id/99999");
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("https://example.org/99999"));
    // The counters came along: rule 3 was asked for 3 % 7 + 1 times, rule 4 never.
    for (id, hits) in [(3, 4), (4, 0), (99_999, 99_999 % 7 + 1)] {
        let rule = node.api("GET", &format!("/-/api/rules/{id}"), None).json();
        assert_eq!(rule["hits"].as_i64(), Some(hits), "rule {id}: {rule}");
    }
    // The history came along whole: each entry with the rule after it.
    let history = |id: i64| -> Vec<String> {
        let r = node.api("GET", &format!("/-/api/rules/{id}/history"), None);
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                format!(
                    "{} {} -> {} ({})",
                    h["action"].as_str().unwrap(),
                    h["old_target"],
                    h["new_target"],
                    h["new"]["to"]
                )
            })
            .collect()
    };
    assert_eq!(
        history(5),
        [
            r#"create null -> "https://example.org/4" ("https://example.org/4")"#,
            r#"update "https://example.org/4" -> "https://example.org/changed" ("https://example.org/changed")"#,
        ]
    );
    assert_eq!(
        history(9),
        [r#"create null -> "https://example.org/8" ("https://example.org/8")"#]
    );
    // A rule created now gets a new id, after the copied ones.
    let created = node.api(
        "POST",
        "/-/api/rules",
        Some(r#"{"path": "/new", "to": "https://example.org/new"}"#),
    );
    assert_eq!(created.status, 201, "{}", created.text());
    assert_eq!(created.json()["id"].as_i64(), Some(RULES as i64 + 1));
}
