//! `seeother explain`: which rule answers a request, why, and the response, computed by the
//! server's own code (`seeother_server::resolve`) without a running server.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use seeother_core::negotiate;
use seeother_server::catalog::Catalog;
use seeother_server::index::{Hit, normalize_host};
use seeother_server::resolve::{self, Outcome};
use seeother_server::rule::Kind;
use seeother_server::rule::RESERVED_PREFIX;
use seeother_server::rules_file;
use seeother_server::store::{Location, Store};

/// Arguments of `seeother explain`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Exit status: 0 when a rule answers (and every --expect holds), 1 when \
no rule answers or an --expect fails, 2 when the rules cannot be read. Use it in CI to test \
a rule set before deploying it:\n  seeother explain --rules rules.toml \
http://id.example.org/id/berlin --expect-status 303 --expect-location https://example.org/page/berlin"
)]
pub struct ExplainArgs {
    /// The request URL (`http://host/path?query`), or just a path.
    #[arg(value_name = "URL")]
    pub url: String,

    /// A request header, `Name: value` (repeatable), e.g. -H 'Accept: text/turtle'.
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub headers: Vec<String>,

    /// The request method.
    #[arg(
        short = 'X',
        long = "request",
        value_name = "METHOD",
        default_value = "GET"
    )]
    pub method: String,

    /// Rule files to explain against (instead of the database); repeatable.
    #[arg(long = "rules", value_name = "FILE")]
    pub rules: Vec<PathBuf>,

    /// The store to explain against, when no --rules is given: a SQLite file (PATH or
    /// sqlite:PATH) or a PostgreSQL database (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME).
    #[arg(long, value_name = "PATH|URL", env = "SEEOTHER_DB", hide_env_values = true,
          default_value = seeother_server::server::DEFAULT_DB)]
    pub db: Location,

    /// Fail (exit 1) unless the response has this status.
    #[arg(long, value_name = "CODE")]
    pub expect_status: Option<u16>,

    /// Fail (exit 1) unless the response's Location is exactly this.
    #[arg(long, value_name = "URL")]
    pub expect_location: Option<String>,
}

fn load(args: &ExplainArgs) -> Result<Catalog, String> {
    if args.rules.is_empty() {
        let store = crate::rules_file::open_existing(&args.db)?;
        return Catalog::open(Arc::new(store)).map_err(|e| e.to_string());
    }
    let store = Store::in_memory().map_err(|e| e.to_string())?;
    let catalog = Catalog::open(Arc::new(store)).map_err(|e| e.to_string())?;
    for path in &args.rules {
        let rules = rules_file::read_path(path, None).map_err(|e| e.to_string())?;
        catalog
            .import(rules, "explain")
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(catalog)
}

fn headers(list: &[String]) -> Result<HeaderMap, String> {
    let mut map = HeaderMap::new();
    for h in list {
        let (name, value) = h
            .split_once(':')
            .ok_or_else(|| format!("header {h:?} is not `Name: value`"))?;
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| format!("{:?} is not a header name", name.trim()))?;
        let value = HeaderValue::from_str(value.trim())
            .map_err(|_| format!("the value of {name} holds characters a header cannot"))?;
        map.append(name, value);
    }
    Ok(map)
}

fn describe(hit: &Hit<'_, '_>) -> String {
    let rule = hit.rule;
    let scope = match rule.host() {
        Some(h) => format!("host {h}"),
        None => "any host".to_owned(),
    };
    format!(
        "rule {} ({} {:?}, {scope})",
        rule.id(),
        rule.kind().as_str(),
        rule.matcher()
    )
}

fn why(hit: &Hit<'_, '_>) -> String {
    let rule = hit.rule;
    match rule.kind() {
        Kind::Path => "the path is exactly the rule's path".to_owned(),
        Kind::Prefix => format!(
            "the path starts with the prefix; the remainder {:?} is appended to the target",
            hit.remainder
        ),
        Kind::Pattern => {
            let names = rule.matcher().split('/').filter_map(|s| {
                s.strip_prefix('{')
                    .and_then(|s| s.strip_suffix('}'))
                    .map(|s| s.trim_start_matches('*'))
            });
            let caps: Vec<String> = names
                .zip(hit.captures.values())
                .map(|(n, v)| format!("{n} = {v:?}"))
                .collect();
            format!(
                "the path matches the pattern; captures: {}",
                caps.join(", ")
            )
        }
        Kind::Scope => "the path is in the group's scope (no deeper scope covers it); its steps \
                        ran in order"
            .to_owned(),
    }
}

fn explain(args: &ExplainArgs) -> Result<(String, bool), String> {
    let catalog = load(args)?;
    let uri: Uri = args
        .url
        .parse()
        .map_err(|e| format!("{:?} is not a URL or path: {e}", args.url))?;
    let method = Method::from_bytes(args.method.as_bytes())
        .map_err(|_| format!("{:?} is not a method", args.method))?;
    let headers = headers(&args.headers)?;
    let host = uri
        .authority()
        .map(|a| a.as_str())
        .or_else(|| {
            headers
                .get(http::header::HOST)
                .and_then(|h| h.to_str().ok())
        })
        .map(normalize_host);
    let path = if uri.path().is_empty() {
        "/"
    } else {
        uri.path()
    };
    let index = catalog.index();
    if path.starts_with(RESERVED_PREFIX) {
        return Ok(reserved(
            args,
            &method,
            path,
            uri.query(),
            host.as_deref(),
            index.len(),
        ));
    }
    let request = resolve::Request {
        method: &method,
        host: host.as_deref(),
        path,
        query: uri.query(),
        headers: &headers,
    };
    let answer = resolve::answer(&index, &request);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "request:  {method} {path}{}{} (host: {})",
        if uri.query().is_some() { "?" } else { "" },
        uri.query().unwrap_or(""),
        host.as_deref().unwrap_or("none")
    );
    let _ = writeln!(out, "rules:    {} loaded", index.len());
    let matched = match &answer.outcome {
        Outcome::NotFound => {
            let _ = writeln!(out, "match:    none; the server answers 404 Not Found");
            false
        }
        outcome => {
            let hits = index.all_matches(host.as_deref(), path);
            if let Some(hit) = hits.first() {
                let _ = writeln!(out, "match:    {}", describe(hit));
                let _ = writeln!(out, "why:      {}", why(hit));
                if hit.rule.host().is_some() {
                    let _ = writeln!(
                        out,
                        "          rules for the request's host come before rules for any host"
                    );
                }
                for other in hits.iter().skip(1) {
                    let _ = writeln!(out, "outranks: {}", describe(other));
                }
                if hit.rule.has_variants() {
                    let offered: Vec<String> = hit
                        .rule
                        .offered()
                        .iter()
                        .map(|t| {
                            format!(
                                "{t} (q={:.3})",
                                negotiate::quality(&headers, t).0 as f64 / 1000.0
                            )
                        })
                        .collect();
                    let _ = writeln!(
                        out,
                        "offered:  {} (ties go to the first)",
                        offered.join(", ")
                    );
                }
            }
            match outcome {
                Outcome::Redirect { hit, variant } if hit.rule.has_variants() => {
                    let _ = writeln!(out, "chosen:   {}", hit.rule.offered()[*variant]);
                }
                Outcome::Gone { .. } => {
                    let _ = writeln!(out, "note:     the rule is a tombstone: 410 Gone");
                }
                Outcome::BrokenTarget { error, .. } => {
                    let _ = writeln!(out, "error:    the filled-in target is refused: {error}");
                }
                _ => {}
            }
            !matches!(outcome, Outcome::BrokenTarget { .. })
        }
    };
    let response = &answer.reply.into_response();
    let _ = writeln!(out, "\nresponse:");
    let status = response.status();
    let _ = writeln!(
        out,
        "HTTP/1.1 {} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    );
    for (name, value) in response.headers() {
        let _ = writeln!(out, "{name}: {}", String::from_utf8_lossy(value.as_bytes()));
    }
    if !response.body().is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            String::from_utf8_lossy(&response.body().to_bytes()).trim_end()
        );
    }
    let mut ok = matched;
    if let Some(code) = args.expect_status
        && code != status.as_u16()
    {
        let _ = writeln!(
            out,
            "\nFAILED: expected status {code}, got {}",
            status.as_u16()
        );
        ok = false;
    }
    if let Some(expected) = &args.expect_location {
        let got = response
            .headers()
            .get(http::header::LOCATION)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        if got.as_deref() != Some(expected.as_str()) {
            let _ = writeln!(
                out,
                "\nFAILED: expected Location {expected}, got {}",
                got.as_deref().unwrap_or("none")
            );
            ok = false;
        }
    }
    Ok((out, ok))
}

/// What answers `path` under [`RESERVED_PREFIX`], as `seeother_server::http::service` routes it.
fn server_part(path: &str) -> &'static str {
    let under = |p: &str| path == p || path.starts_with(&format!("{p}/"));
    match path {
        "/-/healthz" => "its health check (200 ok)",
        "/-/metrics" => "its Prometheus metrics (200)",
        _ if under("/-/api") => "its admin API (a token is needed; see /-/api/openapi.json)",
        _ if under("/-/admin") => "its admin pages",
        _ => "its own 404 Not Found page",
    }
}

/// The explanation of a request under [`RESERVED_PREFIX`]: the server answers it before any
/// rule is looked up, so no rule ever does, whatever its path, prefix or pattern.
fn reserved(
    args: &ExplainArgs,
    method: &Method,
    path: &str,
    query: Option<&str>,
    host: Option<&str>,
    rules: usize,
) -> (String, bool) {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "request:  {method} {path}{}{} (host: {})",
        if query.is_some() { "?" } else { "" },
        query.unwrap_or(""),
        host.unwrap_or("none")
    );
    let _ = writeln!(out, "rules:    {rules} loaded");
    let _ = writeln!(
        out,
        "match:    none; paths under {RESERVED_PREFIX} belong to the server, which answers them itself before any rule is looked up"
    );
    let _ = writeln!(out, "answered: by the server: {}", server_part(path));
    if args.expect_status.is_some() || args.expect_location.is_some() {
        let _ = writeln!(
            out,
            "\nFAILED: no rule answers {path}, so there is no rule response to check; explain a path outside {RESERVED_PREFIX}"
        );
    }
    (out, false)
}

/// Run `seeother explain`.
pub fn run(args: ExplainArgs) -> ExitCode {
    match explain(&args) {
        Ok((text, ok)) => {
            print!("{text}");
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("seeother explain: {e}");
            ExitCode::from(2)
        }
    }
}
