//! The guestbook example in a real browser: headless Chromium driven over WebDriver
//! (chromedriver). Post a message and land by 303 on its page (URL bar checked), reload it,
//! go back and forward, and count the messages on the server: one post, one message. A hostile
//! `next` is ignored, a good one is followed.
//!
//! Chromium and chromedriver come from Debian (`chromium`, `chromium-driver`); `scripts/test-all`
//! installs them. Without them this test fails and says how to install them.
//!
//! The driver handling is shared with the admin pages' browser test
//! (`crates/seeother/tests/browser_support`): chromedriver in its own process group, killed as
//! a group.

#[path = "../../seeother/tests/browser_support/mod.rs"]
mod browser_support;
#[path = "../examples/guestbook.rs"]
mod guestbook;

use std::path::PathBuf;

use browser_support::{Driver, arrive, click, connect, fill, step, text_of};
use fantoccini::{Client, Locator};
use guestbook::Guestbook;

/// The guestbook on a free loopback port, served by a runtime of its own.
struct Site {
    base: String,
    book: Guestbook,
    _runtime: tokio::runtime::Runtime,
}

impl Site {
    fn start() -> Site {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let book = Guestbook::new();
        let app = guestbook::app(book.clone());
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        runtime.spawn(async move { axum::serve(listener, app).await });
        Site {
            base: format!("http://{addr}"),
            book,
            _runtime: runtime,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

async fn sign(c: &Client, name: &str, text: &str) {
    fill(c, "name", name).await;
    fill(c, "text", text).await;
    click(c, "form[action='/messages'] button[type=submit]").await;
}

async fn tour(c: &Client, s: &Site) {
    // Post: 303 to the message's own page.
    step("open the book", c.goto(&s.url("/"))).await;
    arrive(c, "/").await;
    sign(c, "Ann", "Hello from Ann").await;
    arrive(c, "/messages/1").await;
    assert_eq!(text_of(c, "h1").await, "Message 1");
    assert_eq!(text_of(c, "#text").await, "Hello from Ann");
    assert_eq!(s.book.count(), 1);

    // Reload: a GET of the page, never the POST again.
    step("reload", c.refresh()).await;
    arrive(c, "/messages/1").await;
    assert_eq!(text_of(c, "#name").await, "Ann");
    assert_eq!(s.book.count(), 1, "reloading posted nothing");

    // Back to the form (the POST is not in the history: the 303 replaced it), then forward.
    step("back", c.back()).await;
    arrive(c, "/").await;
    step("forward", c.forward()).await;
    arrive(c, "/messages/1").await;
    assert_eq!(s.book.count(), 1, "back and forward posted nothing");

    // A hostile next is ignored: the message's page, not evil.example.
    for (hostile, decoded) in [
        ("%2F%2Fevil.example%2F", "//evil.example/"),
        ("https%3Aevil.example", "https:evil.example"),
        ("%2F%5Cevil.example", "/\\evil.example"),
        ("%2F%09%2Fevil.example", "/\t/evil.example"),
        (
            "https%3A%2F%2F127.0.0.1%40evil.example%2F",
            "https://127.0.0.1@evil.example/",
        ),
    ] {
        step(
            "open the book",
            c.goto(&s.url(&format!("/?next={hostile}"))),
        )
        .await;
        // The page carries it as given; the POST's guard is what refuses it.
        let carried = step("read the hidden next", async {
            c.find(Locator::Css("input[name=next]"))
                .await?
                .prop("value")
                .await
        })
        .await;
        assert_eq!(carried.as_deref(), Some(decoded));
        // Known before the POST: the server counts only once the form has arrived.
        let n = s.book.count() + 1;
        sign(c, "Mallory", "a trick").await;
        arrive(c, &format!("/messages/{n}")).await;
        let url = step("current URL", c.current_url()).await;
        assert_eq!(url.host_str(), Some("127.0.0.1"), "{hostile}: {url}");
    }
    assert_eq!(s.book.count(), 6);

    // A good next is followed, on the site.
    step("open the book", c.goto(&s.url("/?next=%2Fmessages%2F1"))).await;
    sign(c, "Bob", "Back to Ann's").await;
    arrive(c, "/messages/1").await;
    assert_eq!(s.book.count(), 7);
    step("reload", c.refresh()).await;
    arrive(c, "/messages/1").await;
    assert_eq!(s.book.count(), 7);

    // The book lists them all, escaped.
    step("open the book", c.goto(&s.url("/"))).await;
    assert!(text_of(c, "#messages").await.contains("Back to Ann's"));
}

#[test]
fn guestbook_in_headless_chromium() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("guestbook-browser-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let site = Site::start();
    let driver = Driver::start(&dir.join("chromedriver.log"));
    let profile = dir.join("profile");
    std::fs::create_dir_all(&profile).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = connect(&driver, &profile).await;
        tour(&client, &site).await;
        step("close the browser", client.close()).await;
    });
    drop(driver);
    let _ = std::fs::remove_dir_all(&dir);
}
