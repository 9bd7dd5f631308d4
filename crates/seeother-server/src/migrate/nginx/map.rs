//! ngx_http_map_module: a `map`'s entries, in nginx's order, and a `return` of its variable
//! as a step per entry.

use super::parse::Directive;
use super::rewrite::{redirect_code, redirect_step};
use super::template::Target;
use super::{FindingKind, Reader, check_regex, on, step};
use crate::rule::{Condition, Step, StepQuery};

/// A `map`: what it tests and its entries in nginx's order of priority.
#[derive(Clone, Debug)]
pub(super) struct Map {
    /// The template tested.
    pub(super) test: String,
    /// (regex, nocase, value), exact strings first, then regexes as written.
    entries: Vec<(String, bool, String)>,
    /// The default value.
    default: String,
}

/// ngx_http_map_module: `map SOURCE $VAR { default V; KEY V; ~REGEX V; ~*REGEX V; }`;
/// exact strings first (matched without case), then the regular expressions in the order
/// written, then the default.
pub(super) fn read_map(
    d: &Directive,
    body: &[Directive],
    r: &mut Reader<'_>,
) -> Option<(String, Map)> {
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

/// `return CODE …$var…` where `$var` comes from `map`: a step per entry (`gated`: inside
/// `if ($var)`, where an empty value or `0` does not return).
pub(super) fn map_return(
    args: &[String],
    var: &str,
    map: &Map,
    gated: bool,
) -> Result<Vec<Step>, String> {
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
