//! The guestbook example in a real browser: headless Chromium driven over WebDriver
//! (chromedriver). Post a message and land by 303 on its page (URL bar checked), reload it,
//! go back and forward, and count the messages on the server: one post, one message. A hostile
//! `next` is ignored, a good one is followed.
//!
//! Chromium and chromedriver come from Debian (`chromium`, `chromium-driver`); `scripts/test-all`
//! installs them. Without them this test fails and says how to install them.
//!
//! The driver handling is `crates/seeother/tests/admin_browser.rs`'s: chromedriver in its own
//! process group, killed as a group.

#[path = "../examples/guestbook.rs"]
mod guestbook;

use std::future::Future;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use guestbook::Guestbook;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// The longest any one browser step may take.
const STEP: Duration = Duration::from_secs(30);

/// chromedriver on a free loopback port; killed when dropped.
struct Driver {
    child: Child,
    addr: SocketAddr,
}

impl Driver {
    fn start(log: &Path) -> Driver {
        for (path, package) in [(CHROMEDRIVER, "chromium-driver"), (CHROMIUM, "chromium")] {
            assert!(
                Path::new(path).exists(),
                "{path} is missing: the guestbook browser test needs Debian's chromium and \
                 chromium-driver; install them with `apt-get install chromium chromium-driver` \
                 (scripts/test-all does) [{package}]"
            );
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so that Chromium goes with it when it is killed.
            .process_group(0)
            .spawn()
            .expect("start chromedriver");
        let driver = Driver { child, addr };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on {addr} within 20 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        driver
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The whole group: chromedriver and the Chromium processes it started. Signalled
        // directly: Debian's `kill -KILL -PID` sends SIGKILL to pid -1, every process the
        // user may signal, not to the group (`kill -s KILL -- -PID` would be right).
        if let Ok(group) = i32::try_from(self.child.id())
            && group > 1
        {
            // SAFETY: kill(2) takes no pointers; a negative pid names the process group that
            // `process_group(0)` gave chromedriver, which is its own pid.
            unsafe { libc::kill(-group, libc::SIGKILL) };
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `f`, or a panic naming `what` if it takes longer than [`STEP`] or fails.
async fn step<T, E: std::fmt::Debug>(what: &str, f: impl Future<Output = Result<T, E>>) -> T {
    match tokio::time::timeout(STEP, f).await {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => panic!("{what}: {e:?}"),
        Err(_) => panic!("{what}: no answer within {STEP:?}"),
    }
}

async fn connect(driver: &Driver, profile: &Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1200,1000",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    caps.insert(
        "timeouts".into(),
        serde_json::json!({ "pageLoad": 20_000, "script": 10_000, "implicit": 0 }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    step(
        "start a Chromium session",
        ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://{}", driver.addr)),
    )
    .await
}

async fn fill(c: &Client, id: &str, text: &str) {
    let el = step(
        &format!("find #{id}"),
        c.find(Locator::Css(&format!("#{id}"))),
    )
    .await;
    step("clear", el.clear()).await;
    step("type", el.send_keys(text)).await;
}

async fn click(c: &Client, css: &str) {
    let el = step(&format!("find {css}"), c.find(Locator::Css(css))).await;
    step(&format!("click {css}"), el.click()).await;
}

async fn text_of(c: &Client, css: &str) -> String {
    let el = step(
        &format!("find {css}"),
        c.wait().at_most(STEP).for_element(Locator::Css(css)),
    )
    .await;
    step("text", el.text()).await
}

/// Wait (at most [`STEP`]) until the URL bar's path and query are `expected`.
async fn arrive(c: &Client, expected: &str) {
    let deadline = Instant::now() + STEP;
    loop {
        let now = at(c).await;
        if now == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the URL bar shows {now}, not {expected}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The path and query of the URL bar.
async fn at(c: &Client) -> String {
    let url = step("current URL", c.current_url()).await;
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    }
}

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
