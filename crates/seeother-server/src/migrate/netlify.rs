//! Netlify `_redirects` files as rule groups (Netlify docs, "Redirects and rewrites" and
//! "Redirect options").
//!
//! A line is `FROM [KEY=VALUE …] TO [STATUS][!] [CONDITION=… …]`; the first rule that matches
//! answers, in the order of the file. So the file becomes one group under `/` (and one per
//! host named in a domain-level rule, holding that host's rules and every other rule, in
//! order). `*` at the end of `FROM` is `:splat` in `TO`; a whole segment `:name` is a
//! placeholder; `KEY=VALUE` must be in the query (`KEY=:name` captures it).

use std::path::Path;

use super::{Finding, FindingKind, Migration};
use crate::rule::{Condition, RuleSpec, Step, StepQuery};

/// One line translated, with the host of a domain-level rule.
struct Line {
    host: Option<String>,
    step: Step,
}

/// Import a `_redirects` file.
pub fn import_file(file: &Path) -> Result<Migration, String> {
    let text = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let text = String::from_utf8_lossy(&text);
    let mut out = Migration {
        files: 1,
        ..Migration::default()
    };
    let mut lines = Vec::new();
    let mut unforced = 0;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut say = |kind, message: String| {
            out.findings.push(Finding {
                file: file.to_owned(),
                line: i + 1,
                kind,
                message,
            })
        };
        match translate(line) {
            Ok((l, forced, note)) => {
                if !forced {
                    unforced += 1;
                }
                if let Some(n) = note {
                    say(FindingKind::Note, n);
                }
                lines.push(l);
            }
            Err(why) => say(FindingKind::Untranslated, format!("{why}; left out")),
        }
    }
    if unforced > 0 {
        out.findings.push(Finding {
            file: file.to_owned(),
            line: 0,
            kind: FindingKind::Note,
            message: format!("{unforced} rule(s) without `!`: Netlify skips such a rule where a file exists at the path (shadowing); seeother serves no files, so they always apply"),
        });
    }
    let mut hosts: Vec<Option<String>> = vec![None];
    for l in &lines {
        if l.host.is_some() && !hosts.contains(&l.host) {
            hosts.push(l.host.clone());
        }
    }
    for host in hosts {
        let steps: Vec<Step> = lines
            .iter()
            .filter(|l| l.host.is_none() || l.host == host)
            .map(|l| l.step.clone())
            .collect();
        if steps.is_empty() {
            continue;
        }
        let mut rule = RuleSpec::scope("/", steps);
        rule.host = host;
        out.rules.push(rule);
    }
    Ok(out)
}

/// A line's step, whether it is forced (`!`), and a note.
fn translate(line: &str) -> Result<(Line, bool, Option<String>), String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let Some((&from, rest)) = words.split_first() else {
        return Err("an empty rule".to_owned());
    };
    // Query parameters to match come between FROM and TO.
    let params: Vec<&str> = rest
        .iter()
        .take_while(|w| w.contains('=') && !w.starts_with('/') && !w.contains("://"))
        .copied()
        .collect();
    let rest = &rest[params.len()..];
    let Some((&to, rest)) = rest.split_first() else {
        return Err("a rule needs a target after its path".to_owned());
    };
    let (mut status, mut forced) = (301u16, false);
    let mut rest = rest;
    if let Some(first) = rest.first()
        && first.trim_end_matches('!').parse::<u16>().is_ok()
    {
        status = first.trim_end_matches('!').parse().unwrap_or(301);
        forced = first.ends_with('!');
        rest = &rest[1..];
    } else if rest.first() == Some(&"!") {
        forced = true;
        rest = &rest[1..];
    }
    if let Some(c) = rest.first() {
        return Err(format!(
            "the condition {c} (country, language, role or cookie) has no translation"
        ));
    }
    // Domain-level rules: `https://blog.example.org/* https://example.org/blog/:splat`.
    let (host, path) = match from.split_once("://") {
        Some((scheme, after)) if scheme == "http" || scheme == "https" => {
            let (h, p) = after.split_at(after.find('/').unwrap_or(after.len()));
            (
                Some(h.to_ascii_lowercase()),
                if p.is_empty() { "/" } else { p },
            )
        }
        _ => (None, from),
    };
    if !path.starts_with('/') {
        return Err(format!("{from:?}: a rule's path starts with `/`"));
    }
    let (regex, names) = path_regex(path)?;
    let mut step = Step {
        regex,
        last: true,
        ..Step::default()
    };
    let mut cond_name: Option<String> = None;
    for p in &params {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        let key = regex::escape(k);
        if let Some(name) = v.strip_prefix(':') {
            if cond_name.is_some() {
                return Err(
                    "more than one query placeholder has no translation (one is kept)".to_owned(),
                );
            }
            cond_name = Some(name.to_owned());
            continue;
        }
        step.when.push(Condition {
            test: "{query}".to_owned(),
            regex: format!("(?:^|&){key}={}(?:&|$)", regex::escape(v)),
            ..Condition::default()
        });
    }
    if let Some(name) = &cond_name {
        let p = params
            .iter()
            .find(|p| p.ends_with(&format!("=:{name}")))
            .unwrap_or(&"");
        let key = regex::escape(p.split_once('=').map_or("", |(k, _)| k));
        // The placeholder's condition last: its groups are `{%1}`.
        step.when.push(Condition {
            test: "{query}".to_owned(),
            regex: format!("(?:^|&){key}=([^&]*)(?:&|$)"),
            ..Condition::default()
        });
    }
    let target = target(to, &names, cond_name.as_deref())?;
    let mut note = None;
    match status {
        301 | 302 | 303 | 307 | 308 => {
            step.to = target;
            step.status = Some(status);
        }
        200 if to.starts_with("http://") || to.starts_with("https://") => {
            return Err("a 200 to a URL proxies to it, which seeother does not".to_owned());
        }
        200 => {
            // An internal rewrite: the request is looked up again with the new path.
            step.to = target;
            note = Some("200 rewrite: seeother looks the new path up again among its rules (Netlify serves the file there)".to_owned());
        }
        403 | 404 | 410 => {
            step.to = "-".to_owned();
            step.status = Some(status);
            note = Some(format!(
                "{status}: seeother answers with its own page, not {to}"
            ));
        }
        other => return Err(format!("status {other} has no translation")),
    }
    // The request's query goes on to the target (unless the target has its own); a rule
    // that matches on query parameters consumes them ("Redirect options", query
    // parameters: `/store id=:id /blog/:id 301` sends /store?id=x to /blog/x).
    step.query = if params.is_empty() {
        StepQuery::Replace
    } else {
        StepQuery::Drop
    };
    Ok((Line { host, step }, forced, note))
}

/// The regex for a rule's path (below `/`: no leading slash) and its placeholders' names in
/// group order. A trailing slash is optional, as Netlify normalizes it.
fn path_regex(path: &str) -> Result<(String, Vec<String>), String> {
    let mut names = Vec::new();
    let trimmed = path.trim_start_matches('/');
    let (body, splat) = match trimmed.strip_suffix('*') {
        Some(b) if b.is_empty() || b.ends_with('/') => (b.trim_end_matches('/'), true),
        Some(_) => {
            return Err(format!(
                "{path:?}: `*` stands for whole segments at the end, as in /news/*"
            ));
        }
        None => (trimmed.trim_end_matches('/'), false),
    };
    let mut re = String::from("^");
    for (i, seg) in body.split('/').enumerate().filter(|(_, s)| !s.is_empty()) {
        if i > 0 {
            re.push('/');
        }
        if let Some(name) = seg.strip_prefix(':') {
            names.push(name.to_owned());
            re.push_str("([^/]+)");
        } else {
            if seg.contains('*') {
                return Err(format!("{path:?}: `*` only at the end"));
            }
            let decoded = percent_encoding::percent_decode_str(seg).decode_utf8_lossy();
            re.push_str(&regex::escape(&decoded));
        }
    }
    if splat {
        names.push("splat".to_owned());
        if body.is_empty() {
            re.push_str("(.*)$");
        } else {
            re.push_str("(?:/(.*))?$");
        }
    } else {
        re.push_str("/?$");
    }
    Ok((re, names))
}

/// `TO` with `:name` placeholders as `{N}` (`{%1}` for the query's).
fn target(to: &str, names: &[String], cond: Option<&str>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = to;
    while let Some(i) = rest.find([':', '{', '}']) {
        out.push_str(&rest[..i]);
        let c = &rest[i..i + 1];
        let tail = &rest[i + 1..];
        if c != ":" {
            out.push_str(if c == "{" { "{{" } else { "}}" });
            rest = tail;
            continue;
        }
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        let name = &tail[..end];
        if let Some(n) = names.iter().position(|x| x == name) {
            out.push_str(&format!("{{{}}}", n + 1));
        } else if cond == Some(name) {
            out.push_str("{%1}");
        } else {
            // `https:`, a port, or text: kept.
            out.push(':');
            out.push_str(name);
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(path_regex("/news/*").unwrap().0, "^news(?:/(.*))?$");
        assert_eq!(path_regex("/*").unwrap().0, "^(.*)$");
        let (re, names) = path_regex("/n/:year/:slug/").unwrap();
        assert_eq!((re.as_str(), names.len()), ("^n/([^/]+)/([^/]+)/?$", 2));
        assert_eq!(path_regex("/").unwrap().0, "^/?$");
        assert!(path_regex("/a*b").is_err());
    }

    #[test]
    fn targets() {
        let names = vec!["year".to_owned(), "splat".to_owned()];
        assert_eq!(
            target(
                "https://x.org:8080/b-:year/:splat?id=:id",
                &names,
                Some("id")
            )
            .unwrap(),
            "https://x.org:8080/b-{1}/{2}?id={%1}"
        );
    }
}
