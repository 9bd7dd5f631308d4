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

mod parse;
mod template;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::{Finding, FindingKind, Migration};
use crate::rule::{Condition, RuleSpec, Step, StepQuery};
use parse::Directive;
use template::Target;

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

/// A `map`: what it tests and its entries in nginx's order of priority.
#[derive(Clone, Debug)]
struct Map {
    /// The template tested.
    test: String,
    /// (regex, nocase, value), exact strings first, then regexes as written.
    entries: Vec<(String, bool, String)>,
    /// The default value.
    default: String,
}

/// One location: its kind, what it matches and its directives.
struct Location<'d> {
    kind: LocKind,
    uri: String,
    body: &'d [Directive],
    line: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LocKind {
    Exact,
    /// `^~`: no regex is checked when this is the longest prefix.
    PrefixStop,
    Prefix,
    Regex {
        nocase: bool,
    },
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
        let steps = server_steps(server, &maps, &mut r);
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
                if let Some((name, map)) = read_map(d, b, r) {
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

/// ngx_http_map_module: `map SOURCE $VAR { default V; KEY V; ~REGEX V; ~*REGEX V; }`;
/// exact strings first (matched without case), then the regular expressions in the order
/// written, then the default.
fn read_map(d: &Directive, body: &[Directive], r: &mut Reader<'_>) -> Option<(String, Map)> {
    let [source, var] = &d.args[..] else {
        r.say(
            d.line,
            FindingKind::Untranslated,
            "map takes a source and a variable; left out",
        );
        return None;
    };
    let Some(var) = var.strip_prefix('$') else {
        r.say(
            d.line,
            FindingKind::Untranslated,
            format!("map: {var:?} is not a variable; left out"),
        );
        return None;
    };
    let request_uri = source == "$request_uri";
    let test = if request_uri {
        // `{path}?{query}`: the path and the query, `?` always there.
        "{path}?{query}".to_owned()
    } else {
        match Target::parse(source) {
            Ok(t) if !t.keep_query && !t.uses_captures => t.to,
            _ => {
                r.say(
                    d.line,
                    FindingKind::Untranslated,
                    format!("map on {source} has no translation; ${var} is left out"),
                );
                return None;
            }
        }
    };
    let mut exact = Vec::new();
    let mut regexes = Vec::new();
    let mut default = String::new();
    for e in body {
        let value = e.args.first().cloned().unwrap_or_default();
        if e.args.len() != 1 {
            if matches!(e.name.as_str(), "hostnames" | "volatile") && e.args.is_empty() {
                if e.name == "hostnames" {
                    r.say(
                        e.line,
                        FindingKind::Untranslated,
                        "map hostnames: masks are not translated; left out",
                    );
                    return None;
                }
                continue;
            }
            r.say(
                e.line,
                FindingKind::Untranslated,
                "a map entry is a key and a value; left out",
            );
            continue;
        }
        match e.name.as_str() {
            "default" => default = value,
            "include" => r.say(
                e.line,
                FindingKind::Untranslated,
                "include in a map is not read; left out",
            ),
            key => {
                let (regex, nocase) = if let Some(re) = key.strip_prefix("~*") {
                    (re.to_owned(), true)
                } else if let Some(re) = key.strip_prefix('~') {
                    (re.to_owned(), false)
                } else {
                    let key = key.strip_prefix('\\').unwrap_or(key);
                    let key = percent_encoding::percent_decode_str(key).decode_utf8_lossy();
                    let regex = if request_uri {
                        match key.split_once('?') {
                            Some((p, q)) => {
                                format!("^{}\\?{}$", regex::escape(p), regex::escape(q))
                            }
                            None => format!("^{}\\?$", regex::escape(&key)),
                        }
                    } else {
                        format!("^{}$", regex::escape(&key))
                    };
                    exact.push((regex, true, value));
                    continue;
                };
                if request_uri {
                    r.say(e.line, FindingKind::Untranslated, "a regular expression on $request_uri has no translation (the path is matched decoded); left out");
                    continue;
                }
                if let Err(why) = check_regex(&regex) {
                    r.say(e.line, FindingKind::Untranslated, why);
                    continue;
                }
                regexes.push((regex, nocase, value));
            }
        }
    }
    exact.extend(regexes);
    Some((
        var.to_owned(),
        Map {
            test,
            entries: exact,
            default,
        },
    ))
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

/// The steps of one server block.
fn server_steps(server: &Directive, maps: &HashMap<String, Map>, r: &mut Reader<'_>) -> Vec<Step> {
    let body = server.block.as_deref().unwrap_or_default();
    let mut steps = Vec::new();
    let mut locations = Vec::new();
    for d in body {
        if d.name == "location" {
            match location(d, r) {
                Some(l) => locations.push(l),
                None => continue,
            }
        } else {
            directive(d, None, maps, &mut steps, r);
        }
    }
    // ngx_http_core_module, location: exact matches first.
    for l in locations.iter().filter(|l| l.kind == LocKind::Exact) {
        let not = vec![Condition {
            negate: true,
            ..on(URI, &format!("^{}$", regex::escape(&l.uri)), false)
        }];
        block(l, not, None, maps, &mut steps, r);
    }
    // Then the longest matching prefix; one with `^~` answers at once, unless a longer
    // prefix matches too.
    let mut prefixes: Vec<&Location<'_>> = locations
        .iter()
        .filter(|l| matches!(l.kind, LocKind::Prefix | LocKind::PrefixStop))
        .collect();
    prefixes.sort_by_key(|l| std::cmp::Reverse(l.uri.len()));
    let starts = |p: &str| format!("^{}", regex::escape(p));
    for l in prefixes.iter().filter(|l| l.kind == LocKind::PrefixStop) {
        let longer: Vec<&&Location<'_>> = prefixes
            .iter()
            .filter(|o| {
                o.kind == LocKind::Prefix && o.uri.len() > l.uri.len() && o.uri.starts_with(&l.uri)
            })
            .collect();
        let mut not = vec![Condition {
            negate: true,
            or: !longer.is_empty(),
            ..on(URI, &starts(&l.uri), false)
        }];
        for (i, o) in longer.iter().enumerate() {
            not.push(Condition {
                or: i + 1 < longer.len(),
                ..on(URI, &starts(&o.uri), false)
            });
        }
        block(l, not, None, maps, &mut steps, r);
    }
    // Then the regular expressions in the order written.
    for l in &locations {
        if let LocKind::Regex { nocase } = l.kind {
            if let Err(why) = check_regex(&l.uri) {
                r.say(
                    l.line,
                    FindingKind::Untranslated,
                    format!(
                        "location {}: {why}; its requests go to the next location",
                        l.uri
                    ),
                );
                continue;
            }
            let not = vec![Condition {
                negate: true,
                ..on(URI, &l.uri, nocase)
            }];
            block(l, not, Some((&l.uri, nocase)), maps, &mut steps, r);
        }
    }
    // Then the longest prefix.
    for l in prefixes.iter().filter(|l| l.kind == LocKind::Prefix) {
        let not = vec![Condition {
            negate: true,
            ..on(URI, &starts(&l.uri), false)
        }];
        block(l, not, None, maps, &mut steps, r);
    }
    steps
}

fn location<'d>(d: &'d Directive, r: &mut Reader<'_>) -> Option<Location<'d>> {
    let body = d.block.as_deref().unwrap_or_default();
    let (modifier, uri) = match &d.args[..] {
        [m, u] => (m.as_str(), u.clone()),
        [u] => {
            let u = u.as_str();
            if let Some(rest) = u.strip_prefix('=').filter(|s| !s.is_empty()) {
                ("=", rest.to_owned())
            } else if let Some(rest) = u.strip_prefix("^~").filter(|s| !s.is_empty()) {
                ("^~", rest.to_owned())
            } else if let Some(rest) = u.strip_prefix("~*").filter(|s| !s.is_empty()) {
                ("~*", rest.to_owned())
            } else if let Some(rest) = u.strip_prefix('~').filter(|s| !s.is_empty()) {
                ("~", rest.to_owned())
            } else {
                ("", u.to_owned())
            }
        }
        _ => {
            r.say(
                d.line,
                FindingKind::Untranslated,
                "location takes a modifier and a URI; left out",
            );
            return None;
        }
    };
    let kind = match modifier {
        "=" => LocKind::Exact,
        "^~" => LocKind::PrefixStop,
        "~" => LocKind::Regex { nocase: false },
        "~*" => LocKind::Regex { nocase: true },
        "" if uri.starts_with('@') => {
            r.say(d.line, FindingKind::Untranslated, format!("location {uri}: named locations are reached by error_page and try_files, which are not translated; left out"));
            return None;
        }
        "" => LocKind::Prefix,
        other => {
            r.say(
                d.line,
                FindingKind::Untranslated,
                format!("location modifier {other:?} is unknown; left out"),
            );
            return None;
        }
    };
    Some(Location {
        kind,
        uri,
        body,
        line: d.line,
    })
}

/// A location's steps: one that skips them all unless the location is chosen (`not` says
/// when it is not), its directives, and one that stops (the location answers what its
/// directives do not: seeother's 404).
fn block(
    l: &Location<'_>,
    not: Vec<Condition>,
    captures: Option<(&str, bool)>,
    maps: &HashMap<String, Map>,
    steps: &mut Vec<Step>,
    r: &mut Reader<'_>,
) {
    let mut inner = Vec::new();
    let mut content = Vec::new();
    for d in l.body {
        if d.name == "location" {
            r.say(d.line, FindingKind::Untranslated, "a location inside a location is not translated; the outer one answers its requests");
            continue;
        }
        if CONTENT.contains(&d.name.as_str()) {
            content.push(d.name.clone());
            continue;
        }
        directive(d, captures, maps, &mut inner, r);
    }
    if !content.is_empty() {
        r.say(
            l.line,
            FindingKind::Untranslated,
            format!(
                "location {}: {} serve(s) content, which seeother does not; what its rewrites and returns leave gets 404",
                l.uri,
                content.join(", ")
            ),
        );
    }
    let mut skip = step(not);
    skip.to = "-".to_owned();
    skip.skip = (inner.len() + 1) as u16;
    steps.push(skip);
    steps.append(&mut inner);
    let mut stop = step(Vec::new());
    stop.to = "-".to_owned();
    stop.last = true;
    steps.push(stop);
}

/// One rewrite-module directive, in a location (`captures`: its regex, for `$1` in a
/// `return`) or the server.
fn directive(
    d: &Directive,
    captures: Option<(&str, bool)>,
    maps: &HashMap<String, Map>,
    steps: &mut Vec<Step>,
    r: &mut Reader<'_>,
) {
    let untranslated =
        |r: &mut Reader<'_>, why: String| r.say(d.line, FindingKind::Untranslated, why);
    match d.name.as_str() {
        "return" => match ret(&d.args, captures, maps) {
            Ok(mut s) => steps.append(&mut s),
            Err(why) => untranslated(r, format!("return: {why}; left out")),
        },
        "rewrite" => match rewrite(&d.args) {
            Ok(s) => steps.push(s),
            Err(why) => untranslated(r, format!("rewrite: {why}; left out")),
        },
        "if" => {
            // `if ($var) { return CODE …$var…; }` with a map's variable: the map's entries.
            let body = d.block.as_deref().unwrap_or_default();
            let var = match &d.args[..] {
                [v] => v.strip_prefix("($").and_then(|v| v.strip_suffix(')')),
                [o, v, c] if o == "(" && c == ")" => v.strip_prefix('$'),
                _ => None,
            };
            match (var.and_then(|v| maps.get(v).map(|m| (v, m))), body) {
                (Some((var, map)), [ret_d]) if ret_d.name == "return" => {
                    match map_return(&ret_d.args, var, map, true) {
                        Ok(mut s) => steps.append(&mut s),
                        Err(why) => r.say(
                            ret_d.line,
                            FindingKind::Untranslated,
                            format!("return: {why}; left out"),
                        ),
                    }
                }
                _ => untranslated(
                    r,
                    "if: only `if ($map_variable) { return … }` is translated; left out".to_owned(),
                ),
            }
        }
        "set" | "break" => untranslated(r, format!("{} has no translation; left out", d.name)),
        name if HARMLESS.contains(&name) => {}
        name if CONTENT.contains(&name) => {}
        name => untranslated(r, format!("{name} has no translation; left out")),
    }
}

/// The redirect statuses a `return` can give a URL to (ngx_http_rewrite_module, return).
fn redirect_code(code: &str) -> Option<u16> {
    code.parse()
        .ok()
        .filter(|c| [301, 302, 303, 307, 308].contains(c))
}

/// `return CODE [URL|TEXT]` or `return URL` (302).
fn ret(
    args: &[String],
    captures: Option<(&str, bool)>,
    maps: &HashMap<String, Map>,
) -> Result<Vec<Step>, String> {
    let (code, url) = match args {
        [url]
            if url.starts_with("http://")
                || url.starts_with("https://")
                || url.starts_with("$scheme") =>
        {
            (302, url)
        }
        [code] => {
            let c: u16 = code.parse().map_err(|_| format!("{code:?} is no status"))?;
            if crate::rule::ANSWER_STATUSES.contains(&c) {
                let mut s = step(Vec::new());
                s.to = "-".to_owned();
                s.status = Some(c);
                return Ok(vec![s]);
            }
            return Err(format!(
                "status {c} without a URL has no translation (seeother answers 403, 404, 406, 410 or redirects)"
            ));
        }
        [code, text] => {
            let c: u16 = code.parse().map_err(|_| format!("{code:?} is no status"))?;
            if crate::rule::ANSWER_STATUSES.contains(&c) {
                // The text is the body; seeother answers with its own page.
                return ret(&args[..1], captures, maps);
            }
            match redirect_code(code) {
                Some(c) => (c, text),
                None => {
                    return Err(format!(
                        "status {c} answers with a text, which seeother does not"
                    ));
                }
            }
        }
        _ => return Err("it takes a status and a URL".to_owned()),
    };
    // A map's variable as (part of) the target: one step per entry.
    if let Some((var, map)) = maps.iter().find(|(v, _)| url.contains(&format!("${v}"))) {
        return map_return(&[code.to_string(), url.clone()], var, map, false);
    }
    let t = Target::parse(url)?;
    let mut when = Vec::new();
    if t.uses_captures {
        let (re, nocase) = captures.ok_or("$1 … outside a regular-expression location")?;
        when.push(on(URI, re, nocase));
    }
    Ok(vec![redirect_step(when, code, &t, StepQuery::Drop)?])
}

fn redirect_step(
    when: Vec<Condition>,
    code: u16,
    t: &Target,
    query: StepQuery,
) -> Result<Step, String> {
    t.check_url()?;
    let mut s = step(when);
    s.to = t.to.clone();
    s.status = Some(code);
    s.last = true;
    s.raw = !t.decoded;
    s.query = if t.keep_query {
        StepQuery::Replace
    } else {
        query
    };
    Ok(s)
}

/// `return CODE …$var…` where `$var` comes from `map`: a step per entry (`gated`: inside
/// `if ($var)`, where an empty value or `0` does not return).
fn map_return(args: &[String], var: &str, map: &Map, gated: bool) -> Result<Vec<Step>, String> {
    let [code, url] = args else {
        return Err("it takes a status and a URL".to_owned());
    };
    let code = redirect_code(code).ok_or_else(|| format!("{code} is no redirect status"))?;
    let mut entries: Vec<(Option<(&str, bool)>, &str)> = map
        .entries
        .iter()
        .map(|(re, nocase, v)| (Some((re.as_str(), *nocase)), v.as_str()))
        .collect();
    entries.push((None, map.default.as_str()));
    let mut steps = Vec::new();
    // Steps of empty values: they skip the entries after them (set once all are known).
    let mut skips = Vec::new();
    for (key, value) in entries {
        let when: Vec<Condition> = key
            .map(|(re, nocase)| on(&map.test, re, nocase))
            .into_iter()
            .collect();
        // ngx_http_rewrite_module, if: a variable is false when empty or "0".
        if value.is_empty() || value == "0" {
            if gated && key.is_some() {
                let mut s = step(when);
                s.to = "-".to_owned();
                skips.push(steps.len());
                steps.push(s);
            }
            continue;
        }
        let text = url
            .replace(&format!("${{{var}}}"), value)
            .replace(&format!("${var}"), value);
        let t = Target::parse(&text)?;
        if t.uses_captures && key.is_none() {
            return Err(
                "the map's default uses $1 …, which only a regular expression sets".to_owned(),
            );
        }
        steps.push(redirect_step(when, code, &t, StepQuery::Drop)?);
    }
    let n = steps.len();
    for i in skips {
        steps[i].skip = (n - i - 1) as u16;
    }
    Ok(steps)
}

/// `rewrite REGEX REPLACEMENT [redirect|permanent]`, or a replacement starting with
/// `http://`, `https://` or `$scheme` (a 302 whatever the flag but `permanent`).
fn rewrite(args: &[String]) -> Result<Step, String> {
    let (re, repl, flag) = match args {
        [re, repl] => (re, repl, ""),
        [re, repl, flag] => (re, repl, flag.as_str()),
        _ => return Err("it takes a regex, a replacement and a flag".to_owned()),
    };
    let absolute =
        repl.starts_with("http://") || repl.starts_with("https://") || repl.starts_with("$scheme");
    let code = match flag {
        "permanent" => 301,
        "redirect" => 302,
        "last" | "break" | "" if absolute => 302,
        "last" | "break" | "" => {
            return Err(
                "an internal rewrite (last, break or no flag) has no translation".to_owned(),
            );
        }
        other => return Err(format!("unknown flag {other:?}")),
    };
    check_regex(re)?;
    // A replacement ending in `?` drops the request's arguments; otherwise they are appended
    // after the replacement's own.
    let (repl, query) = match repl.strip_suffix('?') {
        Some(r) => (r, StepQuery::Drop),
        None => (repl.as_str(), StepQuery::Append),
    };
    let t = Target::parse(repl)?;
    if t.keep_query {
        return Err(
            "$request_uri or $args in a rewrite's replacement has no translation".to_owned(),
        );
    }
    redirect_step(vec![on(URI, re, false)], code, &t, query)
}
