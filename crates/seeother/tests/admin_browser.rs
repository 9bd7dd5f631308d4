//! The admin pages in a real browser: headless Chromium driven over WebDriver (chromedriver).
//! Sign in, create a rule through the form, land by 303 on the rule's page, reload it and check
//! that exactly one rule exists, submit an invalid form and see the errors, try a URL, delete,
//! import. Screenshots of the main pages go to `admin-screenshots/` in the test output folder.
//!
//! Chromium and chromedriver come from Debian (`chromium`, `chromium-driver`); `scripts/test-all`
//! installs them. Without them this test fails and says how to install them.

mod admin_support;
mod browser_support;
mod serve_support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use admin_support::rule_count;
use browser_support::{Driver, STEP, arrive, at, click, connect, fill, step, text_of};
use fantoccini::{Client, Locator};
use serve_support::{Server, TOKEN, TempDir};

struct Shots(PathBuf);

impl Shots {
    async fn take(&self, c: &Client, name: &str) {
        let png = step("screenshot", c.screenshot()).await;
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        std::fs::write(self.0.join(format!("{name}.png")), png).unwrap();
    }
}

async fn tour(c: &Client, s: &Server, shots: &Shots) {
    // An admin page without a session leads to the sign-in form, which remembers the page.
    step("open the rules", c.goto(&s.url("/-/admin/rules"))).await;
    arrive(c, "/-/admin/sign-in?next=%2F-%2Fadmin%2Frules").await;
    shots.take(c, "sign-in").await;
    fill(c, "token", TOKEN).await;
    click(c, "form[action='/-/admin/sign-in'] button[type=submit]").await;
    arrive(c, "/-/admin/rules").await;
    assert!(text_of(c, "main").await.contains("No rules yet"));

    // Create a rule through the form: 303 to the rule's own page.
    click(c, "nav.top a[href='/-/admin/rules/new']").await;
    arrive(c, "/-/admin/rules/new").await;
    fill(c, "matcher", "/id/{name}").await;
    step("choose pattern", async {
        c.find(Locator::Css("#kind"))
            .await?
            .select_by_value("pattern")
            .await
    })
    .await;
    fill(c, "to", "https://example.org/page/{name}").await;
    fill(
        c,
        "variants",
        "text/turtle https://example.org/data/{name}.ttl",
    )
    .await;
    fill(c, "cache_control", "max-age=3600").await;
    shots.take(c, "rule-new").await;
    click(c, "main form button[type=submit]").await;
    let deadline = Instant::now() + STEP;
    while at(c).await == "/-/admin/rules/new" {
        assert!(Instant::now() < deadline, "the form was not sent");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rules = s.api("GET", "/-/api/rules", None).json();
    let id = rules["rules"][0]["id"]
        .as_i64()
        .expect("the rule was created");
    let page = format!("/-/admin/rules/{id}");
    arrive(c, &page).await;
    assert_eq!(text_of(c, "h1").await, format!("Rule {id}"));
    assert!(text_of(c, "dl.fields").await.contains("/id/{name}"));
    shots.take(c, "rule").await;

    // Reload: a GET of the rule's page, never the form again; still exactly one rule.
    step("reload", c.refresh()).await;
    arrive(c, &page).await;
    assert_eq!(text_of(c, "h1").await, format!("Rule {id}"));
    step("back", c.back()).await;
    step("forward", c.forward()).await;
    arrive(c, &page).await;
    assert_eq!(rule_count(s), 1, "reload, back and forward created nothing");

    // Try it: what a request for /id/berlin asking for Turtle gets.
    fill(c, "try-url", "/id/berlin").await;
    fill(c, "try-accept", "text/turtle").await;
    click(c, "form[action$='#try'] button").await;
    arrive(
        c,
        &format!("{page}?try=%2Fid%2Fberlin&accept=text%2Fturtle"),
    )
    .await;
    let answer = text_of(c, "pre.answer").await;
    assert!(answer.contains("HTTP/1.1 303 See Other"), "{answer}");
    assert!(answer.contains("location: https://example.org/data/berlin.ttl"));
    shots.take(c, "rule-try").await;

    // An invalid form: 422, the errors beside their fields, the input kept, nothing created.
    step("open the form", c.goto(&s.url("/-/admin/rules/new"))).await;
    fill(c, "matcher", "no-leading-slash").await;
    fill(c, "to", "javascript:alert(1)").await;
    fill(c, "host", "not a host").await;
    click(c, "main form button[type=submit]").await;
    arrive(c, "/-/admin/rules").await;
    assert!(
        text_of(c, "#matcher-error")
            .await
            .contains("must start with `/`"),
        "the path's error is beside it"
    );
    assert!(
        text_of(c, "#host-error")
            .await
            .contains("is not a host name")
    );
    assert!(text_of(c, "#to-error").await.contains("javascript"));
    assert!(text_of(c, ".summary").await.contains("nothing was changed"));
    let kept = step("read the input", async {
        c.find(Locator::Css("#matcher")).await?.prop("value").await
    })
    .await;
    assert_eq!(kept.as_deref(), Some("no-leading-slash"));
    shots.take(c, "rule-errors").await;
    assert_eq!(rule_count(s), 1);

    // Import a pasted file: 303 to its report, a page of its own.
    step("open import", c.goto(&s.url("/-/admin/import"))).await;
    fill(
        c,
        "text",
        "path,to\n/id/paris,https://example.org/page/paris\n/id/rome,https://example.org/page/rome\n",
    )
    .await;
    step("choose csv", async {
        c.find(Locator::Css("#format"))
            .await?
            .select_by_value("csv")
            .await
    })
    .await;
    click(c, "main form button[type=submit]").await;
    arrive(c, "/-/admin/imports/1").await;
    assert!(text_of(c, ".flash").await.contains("2 created"));
    shots.take(c, "import-report").await;
    step("reload the report", c.refresh()).await;
    assert_eq!(rule_count(s), 3, "reloading the report imports nothing");

    // The list, then delete the first rule: 303 to the list.
    step("open the list", c.goto(&s.url("/-/admin/rules"))).await;
    shots.take(c, "rules").await;
    step("open the rule", c.goto(&s.url(&page))).await;
    click(c, &format!("a[href='{page}/delete']")).await;
    shots.take(c, "rule-delete").await;
    click(c, "button.danger").await;
    arrive(c, &format!("/-/admin/rules?deleted={id}")).await;
    assert!(text_of(c, ".flash").await.contains("was deleted"));
    assert_eq!(rule_count(s), 2);
    assert_eq!(
        s.api("GET", &format!("/-/api/rules/{id}"), None).status,
        404
    );

    // Sign out: back to the sign-in form; the pages ask for it again.
    click(c, "nav.top form button").await;
    arrive(c, "/-/admin/sign-in").await;
    step("open the rules", c.goto(&s.url("/-/admin/rules"))).await;
    assert!(at(c).await.starts_with("/-/admin/sign-in?next="));
}

#[test]
fn admin_pages_in_headless_chromium() {
    let dir = TempDir::new("admin-browser");
    let shots = Shots(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("admin-screenshots"));
    std::fs::create_dir_all(&shots.0).unwrap();
    let server = Server::start(&dir.path().join("s.db"), &[]);
    let driver = Driver::start(&dir.path().join("chromedriver.log"));
    let profile = dir.path().join("profile");
    std::fs::create_dir_all(&profile).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = connect(&driver, &profile).await;
        tour(&client, &server, &shots).await;
        step("close the browser", client.close()).await;
    });
    drop(driver);
    eprintln!("screenshots in {}", shots.0.display());
}
