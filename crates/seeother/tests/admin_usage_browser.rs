//! The usage pages in headless Chromium, on a store of 100,000 rules: 400 days of counts
//! written into the store as a year of traffic would leave them (a weekly rhythm, a few
//! popular rules, tombstones still asked for, unknown paths), then real requests for today.
//! The dashboard and a rule's chart are shown over 400 days, checked, and photographed to
//! `usage-screenshots/` in the test output folder (`docs/images/` has the copies
//! `docs/admin.md` shows).

mod admin_support;
mod browser_support;
mod serve_support;

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use browser_support::{Driver, arrive, click, connect, fill, step, text_of};
use serve_support::{Server, TOKEN, TempDir, eventually};

const RULES: usize = 100_000;
const DAYS: i64 = 400;

/// Write `DAYS` days of counts for a few rules and unknown paths into the store at `db`.
fn history(db: &std::path::Path, today: i64, gone: i64) {
    let mut c = rusqlite::Connection::open(db).unwrap();
    let tx = c.transaction().unwrap();
    for back in 1..DAYS {
        let day = today - back;
        // Weekdays busier than weekends, a slow rise over the year, a spike in one week.
        let weekday = (day + 3).rem_euclid(7) < 5;
        let base = if weekday { 900 } else { 350 } + (DAYS - back) * 2;
        let spike = if (40..47).contains(&back) { 2_500 } else { 0 };
        for (rank, id) in [1i64, 2, 3, 4, 5, 6, 7, 8].into_iter().enumerate() {
            let hits = (base + spike) / (rank as i64 + 1) + (day * 7919 + id * 104_729) % 97;
            tx.execute(
                "INSERT INTO daily_hits (rule_id, day, variant, hits, gone) VALUES (?1, ?2, '', ?3, 0)",
                rusqlite::params![id, day, hits],
            )
            .unwrap();
        }
        if back < 200 {
            tx.execute(
                "INSERT INTO daily_hits (rule_id, day, variant, hits, gone) VALUES (?1, ?2, '', ?3, ?3)",
                rusqlite::params![gone, day, 40 + day % 13],
            )
            .unwrap();
        }
        for (path, n) in [
            ("/wp-login.php", 30),
            ("/id/n000100000", 12),
            ("/docs/old-guide", 7),
        ] {
            tx.execute(
                "INSERT INTO daily_unknown (day, host, path, hits) VALUES (?1, '', ?2, ?3)",
                rusqlite::params![day, path, n + day % 5],
            )
            .unwrap();
        }
    }
    tx.commit().unwrap();
}

#[test]
fn usage_pages_in_headless_chromium_at_100000_rules_and_400_days() {
    let dir = TempDir::new("usage-browser");
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("usage-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let db = dir.path().join("s.db");
    let mut csv = String::from("path,to\n");
    for i in 0..RULES {
        csv.push_str(&format!("/id/n{i:06},https://example.org/record/{i:06}\n"));
    }
    let file = dir.file("rules.csv", &csv);
    let (code, out, err) = serve_support::cli(&[
        "import",
        "--db",
        db.to_str().unwrap(),
        file.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let today = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        / 86_400;
    let s = Server::start(&db, &[]);
    let gone = 9;
    let r = s.api(
        "DELETE",
        &format!("/-/api/rules/{gone}?tombstone=true"),
        None,
    );
    assert!(r.status < 300, "{}", r.text());
    drop(s);
    history(&db, today, gone);
    let s = Server::start(&db, &[]);
    // Today's traffic, over the socket.
    for i in 0..300 {
        s.get(&format!("/id/n{:06}", [0, 0, 0, 1, 1, 2, 3, 42][i % 8]));
    }
    for _ in 0..20 {
        s.get("/wp-login.php");
        // Rule 9 (the tombstone) is /id/n000008.
        s.get("/id/n000008");
    }
    assert!(eventually(Duration::from_secs(10), || {
        let r = s.api("GET", "/-/api/stats/days?format=json", None);
        r.json()["rows"]
            .as_array()
            .and_then(|d| d.last().cloned())
            .is_some_and(|d| d["hits"].as_u64() >= Some(320))
    }));

    let driver = Driver::start(&dir.path().join("chromedriver.log"));
    let profile = dir.path().join("profile");
    std::fs::create_dir_all(&profile).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let c = connect(&driver, &profile).await;
        step("open the usage page", c.goto(&s.url("/-/admin/stats"))).await;
        fill(&c, "token", TOKEN).await;
        click(&c, "form[action='/-/admin/sign-in'] button[type=submit]").await;
        arrive(&c, "/-/admin/stats").await;
        click(&c, "nav.ranges a[href='/-/admin/stats?days=400']").await;
        arrive(&c, "/-/admin/stats?days=400").await;
        let main = text_of(&c, "main").await;
        assert!(main.contains("(400 days)"), "{main}");
        assert!(main.contains("/wp-login.php"), "{main}");
        assert!(main.contains("Make a rule"), "{main}");
        let png = step("screenshot", c.screenshot()).await;
        std::fs::write(shots.join("usage-dashboard.png"), png).unwrap();

        click(&c, "table.rules a[href='/-/admin/rules/1']").await;
        arrive(&c, "/-/admin/rules/1").await;
        click(&c, "nav.ranges a[href='/-/admin/rules/1?days=400']").await;
        arrive(&c, "/-/admin/rules/1?days=400").await;
        let main = text_of(&c, "main").await;
        assert!(main.contains("Hits over time"), "{main}");
        step(
            "scroll to the chart",
            c.execute("document.getElementById('usage').scrollIntoView()", vec![]),
        )
        .await;
        let png = step("screenshot", c.screenshot()).await;
        std::fs::write(shots.join("usage-rule.png"), png).unwrap();
        step("close the browser", c.close()).await;
    });
    drop(driver);
    eprintln!("screenshots in {}", shots.display());
}
