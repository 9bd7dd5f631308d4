//! Shared by the `check_*` tests (each also has `fetch_support`, whose runner this uses): a
//! rule file written for the test, and a runner for `seeother check` on it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

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
    crate::fetch_support::run_seeother("check", args, Duration::from_secs(60))
}

/// Run with `--json` and parse standard output.
pub fn check_json(args: &[&str]) -> (Value, Output) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = check(&all);
    (crate::fetch_support::stdout_json(&out), out)
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
