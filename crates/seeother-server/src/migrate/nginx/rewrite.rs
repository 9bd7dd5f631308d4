//! ngx_http_rewrite_module: `return`, `rewrite` and `if ($map_variable)` as steps.

use std::collections::HashMap;

use super::map::{Map, map_return};
use super::parse::Directive;
use super::template::Target;
use super::{CONTENT, FindingKind, HARMLESS, Reader, URI, check_regex, on, step};
use crate::rule::{Condition, Step, StepQuery};

/// One rewrite-module directive, in a location (`captures`: its regex, for `$1` in a
/// `return`) or the server.
pub(super) fn directive(
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
pub(super) fn redirect_code(code: &str) -> Option<u16> {
    code.parse()
        .ok()
        .filter(|c| [301, 302, 303, 307, 308].contains(c))
}

/// `return CODE [URL|TEXT]` or `return URL` (302).
pub(super) fn ret(
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

pub(super) fn redirect_step(
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

/// `rewrite REGEX REPLACEMENT [redirect|permanent]`, or a replacement starting with
/// `http://`, `https://` or `$scheme` (a 302 whatever the flag but `permanent`).
pub(super) fn rewrite(args: &[String]) -> Result<Step, String> {
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
