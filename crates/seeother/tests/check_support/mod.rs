//! Shared by the `check_*` tests: a rule file written for the test, and a runner for
//! `seeother check` on it.
#![allow(dead_code)]

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Write `toml` as a rule file of its own and return its path.
pub fn rule_file(name: &str, toml: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("seeother-check-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("rules.toml");
    std::fs::write(&path, toml).unwrap();
    path
}

/// Run `seeother check ARGS` (bounded to 60 s) and return its output.
pub fn check(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_seeother"))
        .arg("check")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        buf
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("seeother check {args:?} ran for more than 60 s");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// Run with `--json` and parse standard output.
pub fn check_json(args: &[&str]) -> (Value, Output) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = check(&all);
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (doc, out)
}

/// The report's entry for the rule `matcher` (and `variant`).
pub fn entry<'a>(doc: &'a Value, matcher: &str, variant: Option<&str>) -> &'a Value {
    doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["matcher"] == matcher && t["variant"].as_str() == variant)
        .unwrap_or_else(|| panic!("no target for {matcher} {variant:?} in {doc:#}"))
}
