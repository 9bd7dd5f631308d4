//! Shared by the browser tests (the admin pages, seeother-axum's guestbook): chromedriver on a
//! free loopback port in its own process group, killed as a group, and a headless Chromium
//! session on it, every step bounded in time.
#![allow(dead_code)]

use std::future::Future;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// The longest any one browser step may take.
pub const STEP: Duration = Duration::from_secs(30);

/// chromedriver on a free loopback port; killed when dropped.
pub struct Driver {
    child: Child,
    addr: SocketAddr,
}

impl Driver {
    pub fn start(log: &Path) -> Driver {
        for (path, package) in [(CHROMEDRIVER, "chromium-driver"), (CHROMIUM, "chromium")] {
            assert!(
                Path::new(path).exists(),
                "{path} is missing: the browser tests need Debian's chromium and \
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
pub async fn step<T, E: std::fmt::Debug>(what: &str, f: impl Future<Output = Result<T, E>>) -> T {
    match tokio::time::timeout(STEP, f).await {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => panic!("{what}: {e:?}"),
        Err(_) => panic!("{what}: no answer within {STEP:?}"),
    }
}

pub async fn connect(driver: &Driver, profile: &Path) -> Client {
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

/// Type `text` into the field with id `id`, replacing what it held.
pub async fn fill(c: &Client, id: &str, text: &str) {
    let el = step(
        &format!("find #{id}"),
        c.find(Locator::Css(&format!("#{id}"))),
    )
    .await;
    step("clear", el.clear()).await;
    step("type", el.send_keys(text)).await;
}

/// Click the element `css` selects.
pub async fn click(c: &Client, css: &str) {
    let el = step(&format!("find {css}"), c.find(Locator::Css(css))).await;
    step(&format!("click {css}"), el.click()).await;
}

/// The text of the element `css` selects, once it is there (at most [`STEP`]).
pub async fn text_of(c: &Client, css: &str) -> String {
    let el = step(
        &format!("find {css}"),
        c.wait().at_most(STEP).for_element(Locator::Css(css)),
    )
    .await;
    step("text", el.text()).await
}

/// Wait (at most [`STEP`]) until the URL bar's path and query are `expected`.
pub async fn arrive(c: &Client, expected: &str) {
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
pub async fn at(c: &Client) -> String {
    let url = step("current URL", c.current_url()).await;
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    }
}
