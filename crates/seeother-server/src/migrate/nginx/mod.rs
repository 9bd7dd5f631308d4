//! nginx server blocks as rule groups.
//!
//! Each `server { … }` becomes one group under the scope `/` (per literal `server_name`, and
//! for any host from the default server), whose steps reproduce what nginx does with a
//! request: the server's own `rewrite`/`return` first (ngx_http_rewrite_module: the
//! server-level directives run before a location is chosen), then the location nginx would
//! choose (ngx_http_core_module, `location`: an exact `=` match; else the longest matching
//! prefix, used at once when it has `^~`; else the first matching regular expression, `~`
//! or `~*`, in the order written; else that longest prefix), with its `rewrite`s and `return`
//! in order. A location whose content cannot be said (a `proxy_pass`, files) still claims
//! its requests: seeother answers 404 there, and the report says so.
//!
//! Every step matches the whole path below `/` (`(?s)^.*$`), so `/{0}` is nginx's `$uri`
//! (decoded, slashes merged), and tests it with conditions, whose groups are `{%1}` ….

mod location;
mod map;
mod parse;
mod rewrite;
mod template;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::{Finding, FindingKind, Migration};
use crate::rule::{Condition, RuleSpec, Step};
use map::Map;
use parse::Directive;

/// Matches the whole path below the scope `/`, so `{0}` is it.
const ALL: &str = "(?s)^.*$";
/// nginx's `$uri` in a template of a step matching [`ALL`].
const URI: &str = "/{0}";

/// The directives that serve content: a location holding one answers from files or a
/// backend, which a redirect server does not do.
const CONTENT: &[&str] = &[
    "proxy_pass",
    "fastcgi_pass",
    "uwsgi_pass",
    "scgi_pass",
    "grpc_pass",
    "memcached_pass",
    "try_files",
    "root",
    "alias",
    "autoindex",
    "index",
    "error_page",
    "add_header",
    "echo",
    "sub_filter",
];

/// Directives that change nothing in a redirect's status or `Location`.
const HARMLESS: &[&str] = &[
    "listen",
    "server_name",
    "access_log",
    "error_log",
    "log_not_found",
    "charset",
    "default_type",
    "types",
    "expires",
    "gzip",
    "keepalive_timeout",
    "client_max_body_size",
    "ssl_certificate",
    "ssl_certificate_key",
    "ssl_protocols",
    "ssl_ciphers",
    "server_tokens",
    "absolute_redirect",
    "port_in_redirect",
    "server_name_in_redirect",
    "merge_slashes",
    "rewrite_log",
];

struct Reader<'m> {
    file: PathBuf,
    out: &'m mut Migration,
}

impl Reader<'_> {
    fn say(&mut self, line: usize, kind: FindingKind, message: impl Into<String>) {
        self.out.findings.push(Finding {
            file: self.file.clone(),
            line,
            kind,
            message: message.into(),
        });
    }
}

/// Import one nginx configuration file: its `server` blocks (at the top or inside `http`) and
/// the `map`s they use.
pub fn import_file(file: &Path) -> Result<Migration, String> {
    let text = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let text = String::from_utf8_lossy(&text);
    let mut out = Migration {
        files: 1,
        ..Migration::default()
    };
    let mut r = Reader {
        file: file.to_owned(),
        out: &mut out,
    };
    let directives = match parse::parse(&text) {
        Ok(d) => d,
        Err((line, why)) => {
            r.say(
                line,
                FindingKind::Refused,
                format!("nginx cannot read this file ({why}) and does not start; nothing of it was imported"),
            );
            return Ok(out);
        }
    };
    let mut maps = HashMap::new();
    let mut servers = Vec::new();
    collect(&directives, &mut maps, &mut servers, &mut r);
    if servers.is_empty() {
        r.say(0, FindingKind::Note, "no server block: nothing to import");
    }
    let mut groups: Vec<RuleSpec> = Vec::new();
    for (i, server) in servers.iter().enumerate() {
        let steps = location::server_steps(server, &maps, &mut r);
        let body = server.block.as_deref().unwrap_or_default();
        let mut hosts: Vec<Option<String>> = Vec::new();
        let mut default = i == 0;
        for d in body {
            if d.name == "server_name" {
                for name in &d.args {
                    if name.is_empty() || name == "_" {
                        continue;
                    }
                    if name.starts_with('~') || name.contains('*') || name.starts_with('.') {
                        r.say(d.line, FindingKind::Untranslated, format!("server_name {name}: only literal names are translated; requests for it get the default server's answers"));
                        continue;
                    }
                    hosts.push(Some(name.to_ascii_lowercase()));
                }
            }
            if d.name == "listen" && d.args.iter().any(|a| a == "default_server") {
                default = true;
            }
        }
        // ngx_http_core_module, server_name: a request for no server's name goes to the
        // default server (`listen … default_server`, else the first).
        if servers.len() == 1 || default {
            hosts.insert(0, None);
        }
        for host in hosts {
            if groups.iter().any(|g| g.host == host) {
                r.say(server.line, FindingKind::Note, format!("a second server for {}: nginx uses the first; this one was left out for it", host.as_deref().unwrap_or("any host")));
                continue;
            }
            let mut rule = RuleSpec::scope("/", steps.clone());
            rule.host = host;
            groups.push(rule);
        }
    }
    // The default server's group last, after the hosts' (the order changes nothing).
    groups.sort_by_key(|g| g.host.is_none());
    out.rules = groups;
    Ok(out)
}

fn collect<'d>(
    directives: &'d [Directive],
    maps: &mut HashMap<String, Map>,
    servers: &mut Vec<&'d Directive>,
    r: &mut Reader<'_>,
) {
    for d in directives {
        match (d.name.as_str(), &d.block) {
            ("http", Some(b)) => collect(b, maps, servers, r),
            ("server", Some(_)) => servers.push(d),
            ("map", Some(b)) => {
                if let Some((name, map)) = map::read_map(d, b, r) {
                    maps.insert(name, map);
                }
            }
            ("include", _) => r.say(
                d.line,
                FindingKind::Untranslated,
                "include: the included files are not read; import each one",
            ),
            _ => {}
        }
    }
}

fn check_regex(re: &str) -> Result<(), String> {
    regex::Regex::new(re).map(|_| ()).map_err(|e| {
        format!(
            "the regular expression {re:?} cannot run on the linear-time engine ({}); left out",
            e.to_string().lines().last().unwrap_or_default().trim()
        )
    })
}

fn on(test: &str, regex: &str, nocase: bool) -> Condition {
    Condition {
        test: test.to_owned(),
        regex: regex.to_owned(),
        nocase,
        ..Condition::default()
    }
}

fn step(when: Vec<Condition>) -> Step {
    Step {
        regex: ALL.to_owned(),
        when,
        ..Step::default()
    }
}
