//! `seeother check` is polite: servers that count the requests they serve at once prove that
//! no host gets more than `--per-host`, redirects included, and that `--delay` spaces them.

mod check_support;
mod fetch_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use check_support::{check_json, rule_file};
use fetch_support::{Reply, Server, redirect, reply};

/// Requests being served now, and the most there ever were.
#[derive(Default)]
struct Gauge {
    now: AtomicUsize,
    most: AtomicUsize,
    served: AtomicUsize,
}

impl Gauge {
    /// Serve `answer` after `hold`, counted as in progress meanwhile.
    fn serve(&self, hold: Duration, answer: Reply) -> Reply {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        std::thread::sleep(hold);
        self.now.fetch_sub(1, Ordering::SeqCst);
        self.served.fetch_add(1, Ordering::SeqCst);
        answer
    }
}

#[test]
fn no_host_gets_more_requests_at_once_than_its_limit() {
    let hold = Duration::from_millis(60);
    let (a_gauge, b_gauge) = (Arc::new(Gauge::default()), Arc::new(Gauge::default()));
    let a = {
        let g = a_gauge.clone();
        Server::start_on("127.0.0.3", move |_| g.serve(hold, reply(200, &[], "ok")))
    };
    // B answers some itself and sends the rest to A: those hops count against A too.
    let b = {
        let (g, a_url) = (b_gauge.clone(), a.url(""));
        Server::start_on("127.0.0.4", move |req| {
            let answer = match req.target.strip_prefix("/to-a") {
                Some(rest) => redirect(301, &format!("{a_url}/from-b{rest}")),
                None => reply(200, &[], "ok"),
            };
            g.serve(hold, answer)
        })
    };
    let mut toml = String::new();
    for i in 0..10 {
        toml.push_str(&format!(
            "[[rules]]\npath = \"/a/{i}\"\nto = \"{}\"\n\n",
            a.url(&format!("/{i}"))
        ));
        toml.push_str(&format!(
            "[[rules]]\npath = \"/b/{i}\"\nto = \"{}\"\n\n",
            b.url(&format!("/{i}"))
        ));
        toml.push_str(&format!(
            "[[rules]]\npath = \"/b-to-a/{i}\"\nto = \"{}\"\n\n",
            b.url(&format!("/to-a/{i}"))
        ));
    }
    let file = rule_file("limits", &toml);
    let started = Instant::now();
    let (doc, out) = check_json(&["--rules", file.to_str().unwrap(), "--per-host", "2"]);
    let took = started.elapsed();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(doc["summary"]["ok"], 20);
    assert_eq!(doc["summary"]["permanent_redirect"], 10);
    assert_eq!(a_gauge.served.load(Ordering::SeqCst), 20);
    assert_eq!(b_gauge.served.load(Ordering::SeqCst), 20);
    assert_eq!(
        a_gauge.most.load(Ordering::SeqCst),
        2,
        "host A over its limit"
    );
    assert_eq!(
        b_gauge.most.load(Ordering::SeqCst),
        2,
        "host B over its limit"
    );
    // 20 requests per host, 2 at a time, 60 ms each: at least 600 ms.
    assert!(took >= Duration::from_millis(600), "{took:?}");
}

#[test]
fn the_politeness_delay_spaces_the_requests_to_a_host() {
    let starts = Arc::new(Mutex::new(Vec::new()));
    let server = {
        let starts = starts.clone();
        Server::start_on("127.0.0.5", move |_| {
            starts.lock().unwrap().push(Instant::now());
            reply(200, &[], "ok")
        })
    };
    let mut toml = String::new();
    for i in 0..5 {
        toml.push_str(&format!(
            "[[rules]]\npath = \"/{i}\"\nto = \"{}\"\n\n",
            server.url(&format!("/{i}"))
        ));
    }
    let file = rule_file("delay", &toml);
    let (doc, out) = check_json(&[
        "--rules",
        file.to_str().unwrap(),
        "--per-host",
        "5",
        "--delay",
        "0.2",
    ]);
    assert_eq!(out.status.code(), Some(0), "{doc:#}");
    let starts = starts.lock().unwrap().clone();
    assert_eq!(starts.len(), 5);
    for pair in starts.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(gap >= Duration::from_millis(180), "requests {gap:?} apart");
    }
}

#[test]
fn max_requests_bounds_all_hosts_together() {
    let gauge = Arc::new(Gauge::default());
    let servers: Vec<Server> = (0..3)
        .map(|i| {
            let g = gauge.clone();
            Server::start_on(&format!("127.0.0.{}", 6 + i), move |_| {
                g.serve(Duration::from_millis(60), reply(200, &[], "ok"))
            })
        })
        .collect();
    let mut toml = String::new();
    for (s, server) in servers.iter().enumerate() {
        for i in 0..4 {
            toml.push_str(&format!(
                "[[rules]]\npath = \"/{s}/{i}\"\nto = \"{}\"\n\n",
                server.url(&format!("/{i}"))
            ));
        }
    }
    let file = rule_file("max", &toml);
    let (doc, out) = check_json(&[
        "--rules",
        file.to_str().unwrap(),
        "--per-host",
        "4",
        "--max-requests",
        "3",
    ]);
    assert_eq!(out.status.code(), Some(0), "{doc:#}");
    assert_eq!(gauge.served.load(Ordering::SeqCst), 12);
    assert_eq!(gauge.most.load(Ordering::SeqCst), 3);
}
