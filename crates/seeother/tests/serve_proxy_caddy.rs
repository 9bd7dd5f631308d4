//! Behind a real Caddy running the Caddyfile snippet of docs/deploy.md: the snippet as printed
//! is valid (`caddy validate`); adapted to loopback (plain HTTP, a free port), with seeother
//! `--trust-proxy 127.0.0.1` behind it, a host-scoped rule answers through it with its
//! `Location`, and forwarding fields a client writes itself are not believed: Caddy replaces
//! `X-Forwarded-*`, the snippet removes `Forwarded`, so neither the host, the scheme nor the
//! client address (in the access log) can be forged.

#[path = "daemon_support/mod.rs"]
mod daemon_support;
mod serve_support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use daemon_support::{Daemon, Stop, free_port};
use serve_support::{Server, TempDir, eventually, exchange};

const DEPLOY: &str = include_str!("../../../docs/deploy.md");

const RULES: &str = r#"
[[rules]]
host = "id.example.org"
path = "/a"
to = "https://example.org/a"

[[rules]]
host = "other.example.org"
path = "/a"
to = "https://other.example.org/a"
"#;

/// The Caddyfile block of docs/deploy.md's Caddy section, as printed.
fn snippet() -> &'static str {
    let at = DEPLOY
        .find("### Caddy")
        .expect("docs/deploy.md has a Caddy section");
    let section = &DEPLOY[at..];
    let open = "```caddyfile\n";
    let start = section.find(open).expect("a caddyfile block") + open.len();
    let end = section[start..].find("```").expect("the block ends");
    &section[start..start + end]
}

/// Debian's caddy (installed by `scripts/test-all`).
fn caddy_command(home: &Path) -> Command {
    let found = Command::new("caddy")
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "caddy is not installed: run scripts/test-all (it installs it) or apt-get install caddy"
    );
    let mut c = Command::new("caddy");
    // Its data and configuration directories inside the test's, never the user's.
    c.env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"));
    c
}

fn own_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("seeother-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_caddyfile_snippet_of_the_deploy_guide_is_valid() {
    let dir = TempDir::new("caddy-validate");
    let file = dir.file("Caddyfile", snippet());
    let out = caddy_command(dir.path())
        .args(["validate", "--adapter", "caddyfile", "--config"])
        .arg(&file)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "caddy validate:\n{text}\n{}",
        snippet()
    );
    assert!(text.contains("Valid configuration"), "{text}");
}

/// Caddy with the guide's snippet, on `port`, in front of `upstream`: the site address made
/// plain HTTP on a loopback port, the upstream the test's seeother; no admin endpoint (every
/// test has a Caddy of its own) and its log in its directory.
fn caddy(port: u16, upstream: SocketAddr) -> Daemon {
    let site = snippet();
    assert!(
        site.contains("id.example.org, http://id.example.org {") && site.contains("127.0.0.1:8303"),
        "the snippet names id.example.org and 127.0.0.1:8303:\n{site}"
    );
    let site = site
        .replace(
            "id.example.org, http://id.example.org {",
            &format!("http://id.example.org:{port} {{"),
        )
        .replace("127.0.0.1:8303", &upstream.to_string());
    let dir = own_dir(&format!("caddy-{port}"));
    let config = format!(
        "{{\n\tadmin off\n\tauto_https off\n\tlog {{\n\t\toutput file {}/error.log\n\t}}\n}}\n\n{site}",
        dir.display()
    );
    std::fs::write(dir.join("Caddyfile"), config).unwrap();
    let mut command = caddy_command(&dir);
    command
        .args(["run", "--adapter", "caddyfile", "--config"])
        .arg(dir.join("Caddyfile"))
        .stdin(Stdio::null());
    Daemon::start(
        "caddy",
        command,
        dir,
        port,
        Duration::from_secs(20),
        Stop::Term,
    )
}

/// GET `path` from Caddy as a client asking for id.example.org, with `fields` of its own.
fn get(port: u16, path: &str, fields: &[(&str, &str)]) -> serve_support::Resp {
    let mut raw = format!("GET {path} HTTP/1.1\r\nHost: id.example.org\r\nConnection: close\r\n");
    for (k, v) in fields {
        raw.push_str(&format!("{k}: {v}\r\n"));
    }
    raw.push_str("\r\n");
    exchange(([127, 0, 0, 1], port).into(), raw.as_bytes())
}

#[test]
fn behind_caddy_a_host_scoped_rule_answers_and_a_client_cannot_forge_the_forwarding_fields() {
    let dir = TempDir::new("proxy-caddy");
    let rules = dir.file("rules.toml", RULES);
    let log = dir.path().join("access.log");
    let s = Server::start(
        &dir.path().join("s.db"),
        &[
            "--rules",
            rules.to_str().unwrap(),
            "--trust-proxy",
            "127.0.0.1",
            "--access-log",
            log.to_str().unwrap(),
        ],
    );
    let port = free_port();
    let _caddy = caddy(port, s.addr);

    let r = get(port, "/a", &[]);
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.header("location"), Some("https://example.org/a"));

    // A client naming another host, HTTPS and another address in the fields itself.
    let forged = [
        (
            "Forwarded",
            "for=198.51.100.7;host=other.example.org;proto=https",
        ),
        ("X-Forwarded-Host", "other.example.org"),
        ("X-Forwarded-Proto", "https"),
        ("X-Forwarded-For", "198.51.100.7"),
    ];
    let r = get(port, "/a", &forged);
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some("https://example.org/a")),
        "the host the client asked Caddy for, not the one it wrote in the fields"
    );
    let r = get(port, "/-/admin/sign-in", &forged);
    assert_eq!(r.status, 200);
    let cookie = r.header("set-cookie").expect("a form cookie");
    assert!(
        !cookie.contains("; Secure"),
        "the client spoke plain HTTP to Caddy: {cookie}"
    );

    // The access log (written within a second) has the client's real address.
    let logged = || std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        eventually(Duration::from_secs(10), || logged().lines().count() >= 3),
        "three requests logged: {}",
        logged()
    );
    for line in logged().lines() {
        assert!(line.starts_with("127.0.0.1 "), "{line}");
        assert!(!line.contains("198.51.100.7"), "{line}");
    }
}
