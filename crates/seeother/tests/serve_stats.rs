//! Counts per day over real sockets: hits per rule and per variant served, 410s asked for,
//! unknown paths (bounded under a flood of distinct ones), retention, and the API's JSON and
//! CSV agreeing.

mod admin_support;
mod serve_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use serve_support::{Server, TOKEN, TempDir, eventually};

fn today() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        / 86_400
}

/// `GET target` on the API with `accept`.
fn api_as(s: &Server, target: &str, accept: &str) -> serve_support::Resp {
    let auth = format!("Bearer {TOKEN}");
    s.request(
        "GET",
        target,
        &[("Authorization", &auth), ("Accept", accept)],
        b"",
    )
}

/// The rows of a JSON answer.
fn rows(s: &Server, target: &str) -> Vec<Value> {
    let r = s.api("GET", target, None);
    assert_eq!(r.status, 200, "{target}: {}", r.text());
    r.json()["rows"].as_array().unwrap().clone()
}

/// The CSV answer's lines, header first.
fn csv_lines(s: &Server, target: &str) -> Vec<String> {
    let r = api_as(s, target, "text/csv");
    assert_eq!(r.status, 200, "{target}: {}", r.text());
    assert_eq!(r.header("content-type"), Some("text/csv; charset=utf-8"));
    r.text().lines().map(str::to_owned).collect()
}

/// Each JSON row as the CSV writes it (fields in `header`'s order).
fn as_csv(rows: &[Value], header: &str) -> Vec<String> {
    let mut out = vec![header.to_owned()];
    for r in rows {
        let fields: Vec<String> = header
            .split(',')
            .map(|f| match &r[f] {
                Value::String(s) => s.clone(),
                v => v.to_string(),
            })
            .collect();
        out.push(fields.join(","));
    }
    out
}

fn create(s: &Server, body: &str) -> i64 {
    let r = s.api("POST", "/-/api/rules", Some(body));
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["id"].as_i64().unwrap()
}

#[test]
fn hits_are_counted_per_rule_per_day_and_per_variant_and_410s_apart() {
    let dir = TempDir::new("stats-counted");
    let s = Server::start(&dir.path().join("s.db"), &[]);
    let doc = create(
        &s,
        r#"{"path": "/doc", "to": "https://example.org/doc.html",
            "variants": [{"type": "text/turtle", "to": "https://example.org/doc.ttl"}]}"#,
    );
    let plain = create(&s, r#"{"path": "/plain", "to": "https://example.org/p"}"#);
    let old = create(&s, r#"{"path": "/old", "to": "https://example.org/old"}"#);
    let r = s.api(
        "DELETE",
        &format!("/-/api/rules/{old}?tombstone=true"),
        None,
    );
    assert!(r.status < 300, "{}", r.text());
    for _ in 0..3 {
        assert_eq!(s.get("/doc").status, 303);
    }
    for _ in 0..2 {
        let r = s.request("GET", "/doc", &[("Accept", "text/turtle")], b"");
        assert_eq!(r.header("location"), Some("https://example.org/doc.ttl"));
    }
    for _ in 0..5 {
        assert_eq!(s.get("/plain").status, 303);
    }
    for _ in 0..4 {
        assert_eq!(s.get("/old").status, 410);
    }
    for _ in 0..6 {
        assert_eq!(s.get("/missing").status, 404);
    }
    let day = serde_json::json!(day_of(today()));
    assert!(
        eventually(Duration::from_secs(10), || {
            rows(&s, "/-/api/stats/days")
                .first()
                .is_some_and(|d| d["hits"] == 14)
        }),
        "all 14 answers counted: {:?}",
        rows(&s, "/-/api/stats/days")
    );
    let days = rows(&s, "/-/api/stats/days");
    assert_eq!(days.len(), 1);
    assert_eq!(days[0]["day"], day);
    assert_eq!(days[0]["gone"], 4);

    let d = rows(&s, &format!("/-/api/stats/rules/{doc}"));
    assert_eq!(
        (d[0]["hits"].as_u64(), d[0]["gone"].as_u64()),
        (Some(5), Some(0))
    );
    let v = rows(&s, &format!("/-/api/stats/rules/{doc}/variants"));
    let by_type: Vec<(String, u64)> = v
        .iter()
        .map(|r| {
            (
                r["media_type"].as_str().unwrap().to_owned(),
                r["hits"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        by_type,
        [("text/html".to_owned(), 3), ("text/turtle".to_owned(), 2)]
    );

    let top = rows(&s, "/-/api/stats/rules");
    let order: Vec<(i64, u64)> = top
        .iter()
        .map(|r| (r["rule"].as_i64().unwrap(), r["hits"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        order,
        [(doc, 5), (plain, 5), (old, 4)],
        "most first, then by id"
    );
    assert_eq!(top[1]["path"], "/plain");
    let gone = rows(&s, "/-/api/stats/gone");
    assert_eq!(gone.len(), 1);
    assert_eq!(
        (gone[0]["rule"].as_i64(), gone[0]["gone"].as_u64()),
        (Some(old), Some(4))
    );
    let unknown = rows(&s, "/-/api/stats/unknown");
    assert_eq!(unknown[0]["path"], "/missing");
    assert_eq!(unknown[0]["hits"], 6);

    // The same rows as CSV, asked for by Accept or by ?format=csv.
    for (target, header) in [
        ("/-/api/stats/days".to_owned(), "day,hits,gone"),
        ("/-/api/stats/rules".to_owned(), "rule,host,path,hits,gone"),
        ("/-/api/stats/gone".to_owned(), "rule,host,path,hits,gone"),
        ("/-/api/stats/unknown".to_owned(), "host,path,hits"),
        (format!("/-/api/stats/rules/{doc}"), "day,hits,gone"),
        (
            format!("/-/api/stats/rules/{doc}/variants"),
            "day,media_type,hits",
        ),
    ] {
        let json = rows(&s, &target);
        assert_eq!(csv_lines(&s, &target), as_csv(&json, header), "{target}");
        let sep = if target.contains('?') { '&' } else { '?' };
        let r = s.api("GET", &format!("{target}{sep}format=csv"), None);
        assert_eq!(r.text().lines().collect::<Vec<_>>(), as_csv(&json, header));
    }
    // A range before any count: no rows; a bad date: what to write.
    assert!(rows(&s, "/-/api/stats/days?from=2001-01-01&to=2001-12-31").is_empty());
    assert_eq!(
        csv_lines(&s, "/-/api/stats/days?from=2001-01-01&to=2001-12-31"),
        ["day,hits,gone"]
    );
    let r = s.api("GET", "/-/api/stats/days?from=2026-02-30", None);
    assert_eq!(r.status, 400);
    assert!(r.text().contains("give a date as"), "{}", r.text());
    assert_eq!(s.api("GET", "/-/api/stats/rules/999", None).status, 404);
}

/// (media type, hits) of each variant row of rule `id`, added up over the days.
fn variants_of(s: &Server, id: i64) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = Vec::new();
    for r in rows(s, &format!("/-/api/stats/rules/{id}/variants")) {
        let t = r["media_type"].as_str().unwrap().to_owned();
        let n = r["hits"].as_u64().unwrap();
        match out.iter_mut().find(|(u, _)| *u == t) {
            Some((_, m)) => *m += n,
            None => out.push((t, n)),
        }
    }
    out.sort();
    out
}

#[test]
fn a_replaced_rule_keeps_its_counts_with_the_variants_it_served_and_its_303s_apart_from_410s() {
    let dir = TempDir::new("stats-replaced");
    let db = dir.path().join("s.db");
    // No flush until the exit: every count is still in memory when the rule is replaced.
    let mut s = Server::start(&db, &["--flush-interval", "3600"]);
    let doc = create(
        &s,
        r#"{"path": "/doc", "to": "https://example.org/doc.html",
            "variants": [{"type": "text/turtle", "to": "https://example.org/doc.ttl"}]}"#,
    );
    let ask = |accept: &str, n: usize, to: &str| {
        for _ in 0..n {
            let r = s.request("GET", "/doc", &[("Accept", accept)], b"");
            assert_eq!(r.header("location"), Some(to), "{accept}");
        }
    };
    ask("text/html", 3, "https://example.org/doc.html");
    ask("text/turtle", 2, "https://example.org/doc.ttl");
    // PUT: Turtle is no longer offered, JSON-LD is.
    let r = s.api(
        "PUT",
        &format!("/-/api/rules/{doc}"),
        Some(
            r#"{"path": "/doc", "to": "https://example.org/doc.html",
                "variants": [{"type": "application/ld+json", "to": "https://example.org/doc.jsonld"}]}"#,
        ),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    ask("application/ld+json", 2, "https://example.org/doc.jsonld");
    ask("text/html", 1, "https://example.org/doc.html");
    // PATCH (RFC 7396) of the target.
    let auth = format!("Bearer {TOKEN}");
    let r = s.request(
        "PATCH",
        &format!("/-/api/rules/{doc}"),
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/merge-patch+json"),
        ],
        br#"{"to": "https://example.org/doc2.html"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    ask("text/html", 1, "https://example.org/doc2.html");
    // An import of a file: Turtle again, JSON-LD gone.
    let file = "[[rules]]\npath = \"/doc\"\nto = \"https://example.org/doc3.html\"\n\n\
                [[rules.variants]]\ntype = \"text/turtle\"\nto = \"https://example.org/doc3.ttl\"\n";
    let r = s.request(
        "POST",
        "/-/api/import",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/toml"),
        ],
        file.as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["updated"], 1, "{}", r.text());
    ask("text/turtle", 1, "https://example.org/doc3.ttl");

    // A rule asked for, then made a tombstone: 303s before, 410s after.
    let plain = create(&s, r#"{"path": "/plain", "to": "https://example.org/p"}"#);
    for _ in 0..5 {
        assert_eq!(s.get("/plain").status, 303);
    }
    let r = s.api(
        "DELETE",
        &format!("/-/api/rules/{plain}?tombstone=true"),
        None,
    );
    assert!(r.status < 300, "{}", r.text());
    for _ in 0..4 {
        assert_eq!(s.get("/plain").status, 410);
    }
    // Before any flush, the rule's count already has every answer since its creation.
    let r = s.api("GET", &format!("/-/api/rules/{doc}"), None);
    assert_eq!(r.json()["hits"], 10, "{}", r.text());
    assert_eq!(
        s.api("GET", &format!("/-/api/rules/{plain}"), None).json()["hits"],
        9
    );

    // The exit flushes; the next start reads what was written.
    s.signal("TERM");
    assert!(
        s.wait_exit(Duration::from_secs(20)).is_some(),
        "exit on SIGTERM"
    );
    let s = Server::start(&db, &[]);
    let d = rows(&s, &format!("/-/api/stats/rules/{doc}"));
    let sum = |key: &str| d.iter().map(|r| r[key].as_u64().unwrap()).sum::<u64>();
    assert_eq!((sum("hits"), sum("gone")), (10, 0), "{d:?}");
    assert_eq!(
        variants_of(&s, doc),
        [
            ("application/ld+json".to_owned(), 2),
            ("text/html".to_owned(), 5),
            ("text/turtle".to_owned(), 3),
        ],
        "each variant served keeps its count, also one the rule no longer offers"
    );
    assert_eq!(
        s.api("GET", &format!("/-/api/rules/{doc}"), None).json()["hits"],
        10
    );
    let p = rows(&s, &format!("/-/api/stats/rules/{plain}"));
    let hits: u64 = p.iter().map(|r| r["hits"].as_u64().unwrap()).sum();
    let gone: u64 = p.iter().map(|r| r["gone"].as_u64().unwrap()).sum();
    assert_eq!(
        (hits, gone),
        (9, 4),
        "the 303s before the tombstone are not 410s: {p:?}"
    );
}

/// `day` as `YYYY-MM-DD` (H. Hinnant's days-to-civil).
fn day_of(day: i64) -> String {
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[test]
fn days_past_the_retention_are_deleted() {
    let dir = TempDir::new("stats-retention");
    let db = dir.path().join("s.db");
    let s = Server::start(&db, &[]);
    let id = create(&s, r#"{"path": "/kept", "to": "https://example.org/k"}"#);
    drop(s);
    let t = today();
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        for (day, hits) in [(t - 500, 7), (t - 31, 3), (t - 29, 2)] {
            c.execute(
                "INSERT INTO daily_hits (rule_id, day, variant, hits, gone) VALUES (?1, ?2, '', ?3, 0)",
                rusqlite::params![id, day, hits],
            )
            .unwrap();
            c.execute(
                "INSERT INTO daily_unknown (day, host, path, hits) VALUES (?1, '', '/x', ?2)",
                rusqlite::params![day, hits],
            )
            .unwrap();
        }
    }
    let s = Server::start(&db, &["--stats-retention", "30"]);
    assert_eq!(s.get("/kept").status, 303);
    let range = format!("/-/api/stats/rules/{id}?from=1970-01-01");
    assert!(
        eventually(Duration::from_secs(10), || rows(&s, &range).len() == 2),
        "{:?}",
        rows(&s, &range)
    );
    let days: Vec<(String, u64)> = rows(&s, &range)
        .iter()
        .map(|r| {
            (
                r["day"].as_str().unwrap().to_owned(),
                r["hits"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        days,
        [(day_of(t - 29), 2), (day_of(t), 1)],
        "30 days kept, today included"
    );
    let c = rusqlite::Connection::open(&db).unwrap();
    let old: i64 = c
        .query_row(
            "SELECT count(*) FROM daily_unknown WHERE day < ?1",
            [t - 29],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(old, 0, "unknown paths of old days deleted too");
    drop(s);
    let r = serve_support::cli(&[
        "serve",
        "--db",
        db.to_str().unwrap(),
        "--stats-retention",
        "0",
    ]);
    assert_ne!(r.0, 0);
    assert!(r.2.contains("stats-retention"), "{}", r.2);
}

/// Send `paths` as pipelined GETs on one connection; the number of 404s answered.
fn pipelined(addr: std::net::SocketAddr, paths: Vec<String>) -> usize {
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let reader = {
        let mut conn = conn.try_clone().unwrap();
        let expected = paths.len();
        std::thread::spawn(move || {
            const NEEDLE: &[u8] = b"HTTP/1.1 404 ";
            let (mut seen, mut m) = (0usize, 0usize);
            let mut buf = vec![0; 1 << 16];
            while seen < expected {
                let n = conn.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                // No proper prefix of the status line is also its suffix: a plain scan finds
                // every one, even cut between two reads.
                for &b in &buf[..n] {
                    if b == NEEDLE[m] {
                        m += 1;
                        if m == NEEDLE.len() {
                            seen += 1;
                            m = 0;
                        }
                    } else {
                        m = usize::from(b == NEEDLE[0]);
                    }
                }
            }
            seen
        })
    };
    for chunk in paths.chunks(256) {
        let mut out = String::new();
        for p in chunk {
            out.push_str(&format!("GET {p} HTTP/1.1\r\nHost: flood.example\r\n\r\n"));
        }
        conn.write_all(out.as_bytes()).unwrap();
    }
    reader.join().unwrap()
}

fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn a_flood_of_distinct_unknown_paths_keeps_memory_bounded_and_the_real_top_path_on_top() {
    const DISTINCT: usize = 100_000;
    let dir = TempDir::new("stats-flood");
    let s = Server::start(
        &dir.path().join("s.db"),
        &["--unknown-paths", "1000", "--unknown-per-day", "200"],
    );
    // Warm up (threads, allocator), then measure.
    pipelined(s.addr, (0..2_000).map(|i| format!("/warm/{i}")).collect());
    let before = rss_kb(s.child.id());
    let mut handles = Vec::new();
    for c in 0..4 {
        let addr = s.addr;
        handles.push(std::thread::spawn(move || {
            let mut paths = Vec::new();
            for i in (c..DISTINCT).step_by(4) {
                paths.push(format!("/scan/{i:06}/{}", "z".repeat(200)));
                if i % 20 == 0 {
                    paths.push("/really-missing".to_owned());
                }
            }
            pipelined(addr, paths)
        }));
    }
    let answered: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(answered, DISTINCT + DISTINCT / 20);
    let after = rss_kb(s.child.id());
    assert!(
        after < before + 32 * 1024,
        "{} KB more after {DISTINCT} distinct paths (from {before} KB)",
        after - before.min(after)
    );
    let top = || rows(&s, "/-/api/stats/unknown?limit=5");
    assert!(
        eventually(Duration::from_secs(10), || top()
            .first()
            .is_some_and(
                |t| t["path"] == "/really-missing" && t["hits"].as_u64() > Some(4_000)
            )),
        "{:?}",
        top()
    );
    let hits = top()[0]["hits"].as_u64().unwrap();
    assert!(
        hits <= 5_000,
        "a lower bound, never more than asked: {hits}"
    );
    let c = rusqlite::Connection::open(&s.db).unwrap();
    let rows: i64 = c
        .query_row("SELECT count(*) FROM daily_unknown", [], |r| r.get(0))
        .unwrap();
    assert!(rows <= 200, "{rows} rows for the day, cap 200");
}

#[test]
fn the_dashboard_and_the_rule_page_show_the_figures_as_a_chart_and_a_table() {
    let dir = TempDir::new("stats-pages");
    let s = Server::start(&dir.path().join("s.db"), &[]);
    let id = create(&s, r#"{"path": "/popular", "to": "https://example.org/p"}"#);
    let old = create(&s, r#"{"path": "/retired", "to": "https://example.org/r"}"#);
    s.api(
        "DELETE",
        &format!("/-/api/rules/{old}?tombstone=true"),
        None,
    );
    for _ in 0..1234 {
        assert_eq!(s.get("/popular").status, 303);
    }
    for _ in 0..3 {
        assert_eq!(s.get("/retired").status, 410);
    }
    for _ in 0..2 {
        s.get("/a%20path&more");
    }
    assert!(eventually(Duration::from_secs(10), || {
        rows(&s, "/-/api/stats/days")
            .first()
            .is_some_and(|d| d["hits"] == 1237)
    }));
    let admin = admin_support::Admin::sign_in(&s);
    let page = admin.get("/-/admin/stats");
    assert_eq!(page.status, 200);
    let html = page.text();
    let today = day_of(today());
    // The chart: an image named by its title, described by the table of figures.
    assert!(html.contains(r#"role="img""#), "{html}");
    assert!(html.contains(r#"aria-describedby="all-table""#));
    assert!(html.contains(r#"<table id="all-table">"#));
    assert!(
        html.contains(&format!(
            "<td>{today}</td><td class=\"number\">1,237</td><td class=\"number\">3</td>"
        )),
        "{html}"
    );
    assert!(
        html.contains("1,237 requests from"),
        "the chart's description"
    );
    assert!(html.contains(&format!(r#"<a href="/-/admin/rules/{id}">{id}</a>"#)));
    assert!(html.contains("1,234"));
    // An unknown path with a link that starts a rule for it, its text escaped.
    assert!(html.contains("<code>/a%20path&amp;more</code>"), "{html}");
    assert!(
        html.contains(r#"href="/-/admin/rules/new?path=%2Fa%2520path%26more&amp;host="#),
        "{html}"
    );
    let form = admin
        .get("/-/admin/rules/new?path=%2Fa%2520path%26more")
        .text();
    assert!(
        form.contains(r#"value="/a%20path&amp;more""#),
        "the form starts with the path"
    );
    assert!(html.contains(&format!(r#"<a href="/-/admin/rules/{old}">{old}</a>"#)));
    let page = admin.get("/-/admin/stats?days=400").text();
    assert!(page.contains("(400 days)"), "{page}");

    let rule = admin.get(&format!("/-/admin/rules/{id}")).text();
    assert!(rule.contains("Hits over time"));
    assert!(rule.contains(r#"aria-describedby="rule-table""#));
    assert!(
        rule.contains(&format!("<td>{today}</td><td class=\"number\">1,234</td>")),
        "{rule}"
    );
    assert!(rule.contains("(90 days)"));
}
