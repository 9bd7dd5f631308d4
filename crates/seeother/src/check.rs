//! `seeother check`: follow every rule's targets and say which are broken. The targets come
//! from `seeother_server::check::plan`, the checking from `seeother_client::check`.

mod report;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use http::HeaderValue;
use seeother_client::check::{Checker, Options, Outcome, Target};
use seeother_core::check::State;
use seeother_server::check::{Planned, Skip, plan};
use seeother_server::rule::RuleSpec;
use seeother_server::rules_file;
use seeother_server::store::Location;
use url::Url;

/// Arguments of `seeother check`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Every rule's target and each of its content-negotiation variants \
(with that variant's Accept) is fetched with GET, redirects followed, and classified: ok, \
permanent_redirect (the rule could point at the new place, shown), temporary_redirect, \
client_error, server_error, unreachable (DNS, refused, TLS), timeout, redirect_loop (a loop \
or too many redirects), invalid (not HTTP, or a redirect that cannot be followed), or skipped \
(a template, a group, a tombstone: not a URL as it stands).\n\nExit status: 0 when no target \
is broken, 1 when one is (client_error to invalid above), 2 when the rules cannot be read."
)]
pub struct CheckArgs {
    /// Rule files to check (instead of the database); repeatable.
    #[arg(long = "rules", value_name = "FILE")]
    pub rules: Vec<PathBuf>,

    /// The store whose rules to check, when no --rules is given: a SQLite file (PATH or
    /// sqlite:PATH) or a PostgreSQL database (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME).
    #[arg(long, value_name = "PATH|URL", env = "SEEOTHER_DB", hide_env_values = true,
          default_value = seeother_server::server::DEFAULT_DB)]
    pub db: Location,

    /// The server's own address, to check targets that are paths on it (e.g.
    /// https://id.example.org/); they are skipped without it.
    #[arg(long, value_name = "URL")]
    pub base: Option<Url>,

    /// Print one JSON document instead of the table.
    #[arg(long)]
    pub json: bool,

    /// Requests at once to one host.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub per_host: usize,

    /// Seconds between the starts of two requests to one host.
    #[arg(long, value_name = "SECS", default_value_t = 0.0)]
    pub delay: f64,

    /// Requests at once in all.
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub max_requests: usize,

    /// Seconds allowed for each request (connecting, the answer's head and body).
    #[arg(long, value_name = "SECS", default_value_t = 20.0)]
    pub timeout: f64,

    /// Redirects followed before a target is a redirect_loop.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub max_redirects: u32,

    /// Tries again after a 429 (or a 503 with Retry-After), waiting as asked.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub retries: u32,

    /// The longest Retry-After waited for, in seconds; a host asking for more is not tried
    /// again.
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    pub max_retry_wait: f64,
}

/// A planned target with the rule it belongs to, as the report names it.
pub struct Row {
    pub planned: Planned,
    pub host: Option<String>,
    pub matcher: String,
    pub outcome: Option<Outcome>,
}

impl Row {
    /// The verdict: the outcome's, or skipped.
    pub fn state(&self) -> State {
        seeother_server::check::report::state(&self.planned, self.outcome.as_ref())
    }

    /// Why it was skipped, if it was.
    pub fn skip(&self) -> Option<Skip> {
        self.planned.url.as_ref().err().copied()
    }
}

fn secs(name: &str, s: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(s).map_err(|_| format!("--{name} {s} is not a number of seconds"))
}

fn options(args: &CheckArgs) -> Result<Options, String> {
    if args.per_host == 0 || args.max_requests == 0 {
        return Err("--per-host and --max-requests must be at least 1".to_owned());
    }
    Ok(Options {
        per_host: args.per_host,
        delay: secs("delay", args.delay)?,
        max_requests: args.max_requests,
        timeout: secs("timeout", args.timeout)?,
        max_redirects: args.max_redirects,
        retries: args.retries,
        max_retry_wait: secs("max-retry-wait", args.max_retry_wait)?,
    })
}

fn load(args: &CheckArgs) -> Result<Vec<RuleSpec>, String> {
    if args.rules.is_empty() {
        let store = crate::rules_file::open_existing(&args.db)?;
        let mut rules = Vec::new();
        store
            .for_each_rule(|r| rules.push(r))
            .map_err(|e| e.to_string())?;
        return Ok(rules);
    }
    let mut all = Vec::new();
    for path in &args.rules {
        let rules = rules_file::read_path(path, None).map_err(|e| e.to_string())?;
        for (i, rule) in rules.into_iter().enumerate() {
            let rule = rule
                .validate()
                .map_err(|e| format!("{}: rule {}: {e}", path.display(), i + 1))?;
            all.push(rule);
        }
    }
    Ok(all)
}

fn rows(rules: &[RuleSpec], base: Option<&Url>) -> Vec<Row> {
    rules
        .iter()
        .flat_map(|rule| {
            plan(rule, base).into_iter().map(|planned| Row {
                planned,
                host: rule.host.clone(),
                matcher: rule.matcher().to_owned(),
                outcome: None,
            })
        })
        .collect()
}

/// Check every row that has a URL, showing progress on a terminal.
fn run_checks(rows: &mut [Row], options: Options) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let checker =
        Checker::new(seeother_client::Client::builder(), options).map_err(|e| e.to_string())?;
    let mut index = Vec::new();
    let mut targets = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        if let Ok(url) = &row.planned.url {
            index.push(i);
            targets.push(Target {
                url: url.clone(),
                accept: row
                    .planned
                    .accept
                    .as_deref()
                    .and_then(|a| HeaderValue::from_str(a).ok()),
            });
        }
    }
    let total = targets.len();
    let progress = std::io::stderr().is_terminal();
    runtime.block_on(async {
        let mut results = checker.check_all(targets);
        let (mut done, mut broken) = (0, 0);
        let mut shown = Instant::now();
        while let Some((i, outcome)) = results.recv().await {
            done += 1;
            broken += usize::from(outcome.state.is_broken());
            rows[index[i]].outcome = Some(outcome);
            if progress && (shown.elapsed() > Duration::from_millis(100) || done == total) {
                shown = Instant::now();
                eprint!("\rchecked {done} of {total} targets, {broken} broken");
            }
        }
        if progress && total > 0 {
            eprint!("\r\x1b[2K");
        }
    });
    Ok(())
}

/// Run `seeother check`.
pub fn run(args: CheckArgs) -> ExitCode {
    let prepared = options(&args).and_then(|o| Ok((o, load(&args)?)));
    let (options, rules) = match prepared {
        Ok(p) => p,
        Err(e) => {
            eprintln!("seeother check: {e}");
            return ExitCode::from(2);
        }
    };
    let mut rows = rows(&rules, args.base.as_ref());
    if let Err(e) = run_checks(&mut rows, options) {
        eprintln!("seeother check: {e}");
        return ExitCode::from(2);
    }
    let text = if args.json {
        report::json(&rows)
    } else {
        report::table(&rows)
    };
    print!("{text}");
    if rows.iter().any(|r| r.state().is_broken()) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
