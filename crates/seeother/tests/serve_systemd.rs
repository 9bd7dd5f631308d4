//! `dist/seeother.service`: accepted by the real `systemd-analyze verify` (no warning either)
//! and sandboxed (`systemd-analyze security --offline`), its `ExecStart=` a command line the
//! binary runs and serves with, and its `ExecReload=` (SIGHUP) applying the `--rules` files
//! again without a restart. Needs Debian's `systemd` package (`systemd-analyze`), which
//! `scripts/test-all` installs; the service manager itself need not run.

mod serve_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serve_support::{BIN, Server, TempDir, eventually};

fn unit_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dist/seeother.service")
}

fn unit() -> String {
    std::fs::read_to_string(unit_file()).expect("dist/seeother.service")
}

/// The values of `key=` in the unit, in order.
fn values(unit: &str, key: &str) -> Vec<String> {
    unit.lines()
        .filter_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .map(str::to_owned)
        .collect()
}

/// The unit with its binary replaced by the one under test (`verify` checks that
/// `ExecStart=`'s program exists and is executable), written into `dir`.
fn unit_for_test(dir: &TempDir) -> PathBuf {
    let text = unit().replace("/usr/local/bin/seeother", BIN);
    dir.file("seeother.service", &text)
}

fn systemd_analyze(args: &[&str]) -> (bool, String, String) {
    let out = Command::new("systemd-analyze")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect(
            "systemd-analyze is missing: install Debian's systemd package (scripts/test-all does)",
        );
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_unit_passes_systemd_analyze_verify_without_a_warning() {
    let dir = TempDir::new("systemd-verify");
    let unit = unit_for_test(&dir);
    let (ok, out, err) = systemd_analyze(&["verify", unit.to_str().unwrap()]);
    // An unknown or misspelt key is only a warning on standard error: none is allowed.
    assert!(
        ok && out.trim().is_empty() && err.trim().is_empty(),
        "verify: {out}{err}"
    );

    // The same check fails for a misspelt key, so the one above can fail.
    let broken = dir.file(
        "broken.service",
        &std::fs::read_to_string(&unit)
            .unwrap()
            .replace("NoNewPrivileges=", "NoNewPrivilege="),
    );
    let (_, out, err) = systemd_analyze(&["verify", broken.to_str().unwrap()]);
    assert!(
        err.contains("Unknown key") || out.contains("Unknown key"),
        "{out}{err}"
    );
}

#[test]
fn the_unit_is_sandboxed() {
    let u = unit();
    for (key, want) in [
        ("User", "seeother"),
        ("StateDirectory", "seeother"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("NoNewPrivileges", "yes"),
        ("CapabilityBoundingSet", ""),
        ("ExecReload", "/bin/kill -HUP $MAINPID"),
    ] {
        assert_eq!(values(&u, key), [want], "{key}=");
    }
    let dir = TempDir::new("systemd-security");
    let unit = unit_for_test(&dir);
    let (_, out, err) = systemd_analyze(&["security", "--offline=true", unit.to_str().unwrap()]);
    // "→ Overall exposure level for seeother.service: 1.4 OK 🙂" (0 is best, 10 worst; systemd
    // calls below 2.0 "OK", and a unit with no sandboxing scores 9.6).
    let level: f64 = out
        .lines()
        .find_map(|l| {
            l.split_once("Overall exposure level for ")?
                .1
                .split_once(": ")
        })
        .and_then(|(_, rest)| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in: {out}{err}"));
    assert!(level < 2.0, "exposure {level}:\n{out}");
}

/// `ExecStart=`'s arguments after the program.
fn exec_start_args() -> Vec<String> {
    let lines = values(&unit(), "ExecStart");
    assert_eq!(lines.len(), 1, "one ExecStart=");
    let mut words = lines[0].split_whitespace().map(str::to_owned);
    assert_eq!(words.next().as_deref(), Some("/usr/local/bin/seeother"));
    words.collect()
}

#[test]
fn exec_start_is_a_command_line_that_serves() {
    let args = exec_start_args();
    let state = TempDir::new("systemd-state");
    let dir = state.path().to_str().unwrap();
    // The state directory, and a free port instead of 8303.
    let args: Vec<String> = args
        .iter()
        .map(|a| {
            a.replace("/var/lib/seeother", dir)
                .replace("127.0.0.1:8303", "127.0.0.1:0")
        })
        .collect();
    assert!(args.iter().any(|a| a.starts_with(dir)), "{args:?}");
    let mut cmd = Command::new(BIN);
    cmd.args(&args)
        .current_dir(state.path())
        .env_remove("SEEOTHER_ADMIN_TOKEN")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    let mut s = Server::spawn(cmd, &state.path().join("seeother.db"));
    assert!(
        s.stdout.iter().any(|l| l.contains("generated and stored")),
        "{:?}",
        s.stdout
    );
    assert!(state.path().join("seeother.db").exists());
    assert!(state.path().join("seeother.db.admin-token").exists());
    assert_eq!(s.get("/-/healthz").status, 200);
    // KillSignal=SIGTERM: a clean exit, within TimeoutStopSec.
    s.signal("TERM");
    let status = s
        .wait_exit(Duration::from_secs(10))
        .expect("exits on SIGTERM");
    assert!(status.success(), "{status:?}");
}

const ONE: &str = "[[rules]]\npath = \"/a\"\nto = \"https://example.org/a\"\n";
const TWO: &str = "[[rules]]\npath = \"/a\"\nto = \"https://example.org/a\"\n\n\
                   [[rules]]\npath = \"/b\"\nto = \"https://example.org/b\"\n";

#[test]
fn sighup_applies_the_rule_files_again() {
    let dir = TempDir::new("systemd-hup");
    let rules = dir.file("rules.toml", ONE);
    let mut s = Server::start(
        &dir.path().join("s.db"),
        &["--rules", rules.to_str().unwrap()],
    );
    // A SIGHUP at once, before anything was served, neither ends the server nor changes a rule.
    s.signal("HUP");
    assert_eq!(s.get("/a").status, 303);
    assert_eq!(s.get("/b").status, 404);

    dir.file("rules.toml", TWO);
    s.signal("HUP");
    assert!(eventually(Duration::from_secs(10), || s.get("/b").status == 303));
    let found = s.api("GET", "/-/api/rules?q=/b", None).json();
    assert_eq!(found["rules"].as_array().map(Vec::len), Some(1), "{found}");

    // A file with a problem is refused whole: the rules stay as they were, the server runs.
    dir.file(
        "rules.toml",
        "[[rules]]\npath = \"/c\"\nto = \"javascript:alert(1)\"\n",
    );
    s.signal("HUP");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(s.get("/b").status, 303);
    assert_eq!(s.get("/c").status, 404);
    assert!(s.child.try_wait().unwrap().is_none(), "still running");

    // A good file again: applied (a changed target), and the problem left no trace.
    dir.file(
        "rules.toml",
        &TWO.replace("example.org/b", "example.org/b2"),
    );
    s.signal("HUP");
    assert!(eventually(Duration::from_secs(10), || {
        s.get("/b").header("location") == Some("https://example.org/b2")
    }));
    assert_eq!(s.get("/c").status, 404);
}
