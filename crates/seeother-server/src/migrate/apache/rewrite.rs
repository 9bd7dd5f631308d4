//! mod_rewrite's `RewriteRule` and `RewriteCond`, and mod_alias's `Redirect*`, as steps.
//!
//! Each function gives `Err(message)` for what Apache refuses to read (the file is then
//! refused), and `Ok(Err(why))` for what has no translation.

use crate::rule::{Condition, Escape, MAX_ROUNDS, Step, StepQuery};

use super::files::{self, Tree};
use super::parse::Directive;

/// What has no translation, and why.
pub type Untranslated = String;

/// Statuses Apache knows (`ap_index_of_response`); `R=` with another is a syntax error.
const KNOWN_STATUSES: &[u16] = &[
    100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304,
    305, 306, 307, 308, 400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414,
    415, 416, 417, 418, 421, 422, 423, 424, 425, 426, 428, 429, 431, 451, 500, 501, 502, 503, 504,
    505, 506, 507, 508, 510, 511,
];

/// A server variable as a template, or why it has none.
fn variable(name: &str) -> Result<String, Untranslated> {
    let upper = name.to_ascii_uppercase();
    if let Some(h) = upper.strip_prefix("HTTP:") {
        return Ok(format!("{{header:{}}}", h.to_ascii_lowercase()));
    }
    if let Some(v) = name
        .strip_prefix("ENV:")
        .or_else(|| name.strip_prefix("env:"))
    {
        return Ok(format!("{{env:{v}}}"));
    }
    let header = |h: &str| Ok(format!("{{header:{h}}}"));
    match upper.as_str() {
        "HTTP_ACCEPT" => header("accept"),
        "HTTP_USER_AGENT" => header("user-agent"),
        "HTTP_REFERER" => header("referer"),
        "HTTP_COOKIE" => header("cookie"),
        "HTTP_FORWARDED" => header("forwarded"),
        "HTTP_HOST" => header("host"),
        "HTTP_ACCEPT_LANGUAGE" => header("accept-language"),
        "QUERY_STRING" => Ok("{query}".to_owned()),
        "REQUEST_METHOD" => Ok("{method}".to_owned()),
        "REQUEST_SCHEME" => Ok("{scheme}".to_owned()),
        "REQUEST_URI" => Ok("{path}".to_owned()),
        // The name the request is for; Apache gives its ServerName with UseCanonicalName On,
        // which is that name for a server answering one site.
        "SERVER_NAME" => Ok("{host}".to_owned()),
        _ => Err(format!(
            "the server variable %{{{name}}} has no translation (it depends on the server, its file system or the connection)"
        )),
    }
}

/// An Apache substitution or test string (`$N`, `%N`, `%{VAR}`, `\x`) as a template.
pub fn template(text: &str) -> Result<String, Untranslated> {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('{') => out.push_str("{{"),
                Some('}') => out.push_str("}}"),
                Some(n) => out.push(n),
                None => out.push('\\'),
            },
            '$' if chars.peek().is_some_and(|d| d.is_ascii_digit()) => {
                out.push_str(&format!("{{{}}}", chars.next().unwrap_or('0')));
            }
            '$' if chars.peek() == Some(&'{') => {
                // mod_rewrite: `${map:key|default}`. No map can be defined in .htaccess, so the
                // lookup gives its default (empty without one).
                chars.next();
                let lookup: String = chars.by_ref().take_while(|&c| c != '}').collect();
                if let Some((_, default)) = lookup.split_once('|') {
                    out.push_str(&template(default)?);
                }
            }
            '%' if chars.peek().is_some_and(|d| d.is_ascii_digit()) => {
                out.push_str(&format!("{{%{}}}", chars.next().unwrap_or('0')));
            }
            '%' if chars.peek() == Some(&'{') => {
                chars.next();
                let name: String = chars.by_ref().take_while(|&c| c != '}').collect();
                out.push_str(&variable(&name)?);
            }
            '{' => out.push_str("{{"),
            '}' => out.push_str("}}"),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// The flags of `[A,B=c]`, or Apache's error.
fn flags(
    d: &Directive,
    text: Option<&String>,
    what: &str,
) -> Result<Vec<(String, String)>, String> {
    let Some(text) = text else {
        return Ok(Vec::new());
    };
    let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) else {
        return Err(format!("{what}: bad flag delimiters (line {})", d.line));
    };
    Ok(inner
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(|f| match f.split_once('=') {
            Some((k, v)) => (k.trim().to_ascii_lowercase(), v.trim().to_owned()),
            None => (f.to_ascii_lowercase(), String::new()),
        })
        .collect())
}

/// Apache compiles every pattern when it reads the file (PCRE); a pattern PCRE refuses makes
/// the file unreadable. A quantifier with nothing before it is the common case.
fn pcre_refuses(pattern: &str) -> bool {
    let p = pattern.strip_prefix('!').unwrap_or(pattern);
    let p = p.strip_prefix('^').unwrap_or(p);
    p.starts_with(['*', '+', '?'])
}

fn linear(pattern: &str, nocase: bool) -> Result<(), Untranslated> {
    crate::rule::Expr::new(pattern, nocase, 1 << 20)
        .map(|_| ())
        .map_err(|e| {
            format!(
                "the regular expression {pattern:?} cannot run on the linear-time engine ({e}); rewrite it without back-references"
            )
        })
}

/// `RewriteCond TestString CondPattern [flags]` in the directory `scope`; file tests are
/// decided from `tree`.
pub fn condition(
    d: &Directive,
    scope: &str,
    tree: Option<&Tree>,
) -> Result<Result<Condition, Untranslated>, String> {
    // Apache reads three words and ignores what follows (a trailing comment, a repeated
    // flag list).
    let args = super::parse::rewrite_args(&d.raw);
    if args.len() < 2 {
        return Err("RewriteCond: bad argument line".to_owned());
    }
    let mut cond = Condition::default();
    for (flag, _) in flags(d, args.get(2), "RewriteCond")? {
        match flag.as_str() {
            "nc" | "nocase" => cond.nocase = true,
            "or" | "ornext" => cond.or = true,
            "nv" | "novary" => {}
            other => return Err(format!("RewriteCond: unknown flag '{other}'")),
        }
    }
    let mut pattern = args[1].as_str();
    if let Some(p) = pattern.strip_prefix('!') {
        cond.negate = true;
        pattern = p;
    }
    if pcre_refuses(pattern) {
        return Err(format!(
            "RewriteCond: cannot compile regular expression '{}'",
            args[1]
        ));
    }
    cond.regex = if let Some(s) = pattern.strip_prefix('=') {
        // mod_rewrite: `=text` compares the whole string.
        format!("^{}$", regex::escape(s.trim_matches('"')))
    } else if files::is_file_test(pattern) {
        // mod_rewrite: RewriteCond, CondPattern -d, -f, -s, -l, -x: the file system.
        return Ok(
            files::condition(&args[0], pattern, cond.negate, scope, tree)
                .map(|c| Condition { or: cond.or, ..c }),
        );
    } else if pattern.starts_with('-') && pattern.len() <= 3 || pattern.starts_with(['<', '>']) {
        return Ok(Err(format!(
            "the test {pattern:?} compares files or numbers, which has no translation"
        )));
    } else {
        pattern.to_owned()
    };
    if let Err(why) = linear(&cond.regex, cond.nocase) {
        return Ok(Err(why));
    }
    if args[0] == "%{HTTPS}" {
        return Ok(https(cond));
    }
    cond.test = match template(&args[0]) {
        Ok(t) => t,
        Err(why) => return Ok(Err(why)),
    };
    Ok(Ok(cond))
}

/// mod_rewrite: `%{HTTPS}` is `on` or `off`; the expression is decided for both here and the
/// condition tests the scheme instead.
fn https(mut cond: Condition) -> Result<Condition, Untranslated> {
    let re = crate::rule::Expr::new(&cond.regex, cond.nocase, 1 << 20)?;
    if re.captures_len() > 1 {
        return Err(
            "a condition on %{HTTPS} with groups has no translation (its %N would name \"on\" or \"off\")"
                .to_owned(),
        );
    }
    cond.test = "{scheme}".to_owned();
    cond.regex = match (re.is_match("on"), re.is_match("off")) {
        (true, true) => "^",
        (true, false) => "^https$",
        (false, true) => "^http$",
        (false, false) => r"[^\s\S]",
    }
    .to_owned();
    cond.nocase = false;
    Ok(cond)
}

/// `RewriteRule Pattern Substitution [flags]`, with the conditions before it.
pub fn rule(
    d: &Directive,
    when: Vec<Condition>,
    notes: &mut Vec<String>,
) -> Result<Result<Step, Untranslated>, String> {
    let args = super::parse::rewrite_args(&d.raw);
    if args.len() < 2 {
        return Err("RewriteRule: bad argument line".to_owned());
    }
    let mut step = Step {
        when,
        ..Step::default()
    };
    let mut untranslated: Option<String> = None;
    let mut escape: Option<Escape> = None;
    let mut no_plus = false;
    let mut keep: Option<String> = None;
    for (flag, value) in flags(d, args.get(2), "RewriteRule")? {
        match flag.as_str() {
            "l" | "last" | "end" => step.last = true,
            "nc" | "nocase" => step.nocase = true,
            "ne" | "noescape" => step.raw = true,
            "qsa" | "qsappend" => step.query = StepQuery::Append,
            "qsd" | "qsdiscard" => step.query = StepQuery::Drop,
            "f" | "forbidden" => step.status = Some(403),
            "g" | "gone" => step.status = Some(410),
            "r" | "redirect" => {
                let code = match value.to_ascii_lowercase().as_str() {
                    "" | "temp" => 302,
                    "permanent" => 301,
                    "seeother" => 303,
                    v if v.starts_with(|c: char| c.is_ascii_digit()) => {
                        // Apache reads the leading digits (`atoi`) and refuses an unknown status.
                        let digits: String = v.chars().take_while(char::is_ascii_digit).collect();
                        match digits.parse::<u16>() {
                            Ok(n) if KNOWN_STATUSES.contains(&n) && digits == v => n,
                            _ => {
                                return Err(format!(
                                    "RewriteRule: invalid HTTP response code '{value}' for flag 'R'"
                                ));
                            }
                        }
                    }
                    _ => {
                        return Err(format!(
                            "RewriteRule: invalid HTTP response code '{value}' for flag 'R'"
                        ));
                    }
                };
                step.status = Some(code);
            }
            "s" | "skip" => match value.parse() {
                Ok(n) => step.skip = n,
                Err(_) => return Err(format!("RewriteRule: bad skip count '{value}'")),
            },
            "ns" | "nosubreq" | "pt" | "passthrough" => {}
            // mod_rewrite: RewriteRule flags, [DPI].
            "dpi" | "discardpath" | "d" => step.discard_info = true,
            // mod_rewrite: RewriteRule flags, [B] (B=chars), [BCTLS], [BNE=chars], [BNP].
            "b" | "backrefescaping" => {
                let e = escape.get_or_insert_with(Escape::default);
                if !value.is_empty() {
                    e.only = Some(value.clone());
                }
            }
            "bctls" => escape.get_or_insert_with(Escape::default).controls = true,
            "bne" if value.is_empty() => {
                return Err(
                    "RewriteRule: flag 'BNE' wants a list of characters (i.e. [BNE=...])"
                        .to_owned(),
                );
            }
            "bne" => keep = Some(value.clone()),
            "bnp" | "backrefnoplus" | "backrefernoplus" => no_plus = true,
            // mod_rewrite: RewriteRule flags, [C].
            "c" | "chain" => step.chain = true,
            // mod_rewrite: RewriteRule flags, [N] (N=rounds).
            "n" | "next" => {
                step.again = true;
                if !value.is_empty() {
                    notes.push(format!(
                        "[N={value}]: seeother stops after {MAX_ROUNDS} rounds whatever the number (answering 500, as Apache does past its number)"
                    ));
                }
            }
            "t" | "type" | "h" | "handler" => notes.push(format!(
                "[{flag}={value}] only sets how a file is served; left out"
            )),
            "e" | "env" => {
                let (name, v) = value.split_once(':').unwrap_or((value.as_str(), ""));
                if name.starts_with('!') {
                    untranslated
                        .get_or_insert("[E=!VAR] (unsetting) has no translation".to_owned());
                } else {
                    match template(v) {
                        Ok(t) => step.set.push(crate::rule::SetVar {
                            name: name.to_owned(),
                            value: t,
                        }),
                        Err(why) => {
                            untranslated.get_or_insert(why);
                        }
                    }
                }
            }
            "co" | "cookie" | "p" | "proxy" | "qsl" | "qslast" | "unsafeallow3f"
            | "unsafeprefixstat" => {
                untranslated.get_or_insert(format!("the flag [{flag}] has no translation"));
            }
            other => return Err(format!("RewriteRule: unknown flag '{other}'")),
        }
    }
    step.escape = escape.map(|e| Escape { keep, no_plus, ..e });
    let mut pattern = args[0].as_str();
    if let Some(p) = pattern.strip_prefix('!') {
        step.negate = true;
        pattern = p;
    }
    if pcre_refuses(pattern) {
        return Err(format!(
            "RewriteRule: cannot compile regular expression '{}'",
            args[0]
        ));
    }
    if let Some(why) = untranslated {
        return Ok(Err(why));
    }
    if let Err(why) = linear(pattern, step.nocase) {
        return Ok(Err(why));
    }
    step.regex = pattern.to_owned();
    match step.status {
        Some(s) if (300..400).contains(&s) && ![301, 302, 303, 307, 308].contains(&s) => {
            return Ok(Err(format!(
                "the redirect status {s} is not one seeother sends"
            )));
        }
        Some(s) if !(300..400).contains(&s) && ![403, 404, 406, 410].contains(&s) => {
            return Ok(Err(format!(
                "the answer {s} has no translation (steps answer 403, 404, 406, 410 or redirect)"
            )));
        }
        // mod_rewrite: with a status outside 300-399 the substitution is dropped and
        // rewriting stops, as with [L].
        Some(s) if !(300..400).contains(&s) => {
            step.to = "-".to_owned();
            step.last = true;
            return Ok(Ok(step));
        }
        _ => {}
    }
    step.to = if args[1] == "-" {
        "-".to_owned()
    } else {
        match template(&args[1]) {
            Ok(t) => t,
            Err(why) => return Ok(Err(why)),
        }
    };
    if step.to == "-" && step.status.is_some_and(|s| (300..400).contains(&s)) {
        return Ok(Err(
            "a redirect to `-` (the unchanged path) has no translation".to_owned(),
        ));
    }
    Ok(Ok(step))
}

/// mod_alias: `Redirect [status] URL-path [URL]` (and `RedirectPermanent`, `RedirectTemp`)
/// under `scope`: the path and everything below it, the rest appended to the target.
pub fn redirect(d: &Directive, scope: &str) -> Result<Result<Step, Untranslated>, String> {
    let mut args: Vec<&str> = d.args.iter().map(String::as_str).collect();
    let mut status = match d.name.as_str() {
        "redirectpermanent" => 301,
        _ => 302,
    };
    if d.name == "redirect" && args.len() >= 2 && !args[0].starts_with('/') {
        status = match args[0].to_ascii_lowercase().as_str() {
            "permanent" => 301,
            "temp" => 302,
            "seeother" => 303,
            "gone" => 410,
            n => match n.parse::<u16>() {
                Ok(n) if (300..400).contains(&n) || n == 410 => n,
                _ => return Err(format!("Redirect: invalid status '{}'", args[0])),
            },
        };
        args.remove(0);
    }
    let (from, to) = match (args.first(), args.get(1)) {
        (Some(f), t) => (*f, t.copied()),
        _ => return Err("Redirect: bad argument line".to_owned()),
    };
    if !from.starts_with('/') {
        return Err(format!("Redirect: the URL-path '{from}' must start with /"));
    }
    if !from.starts_with(scope) && from != scope.trim_end_matches('/') {
        return Ok(Err(format!(
            "the URL-path {from:?} is outside the directory {scope:?}, so it never matches here"
        )));
    }
    // mod_alias: the whole path, by whole segments: `/a` matches `/a` and `/a/b`, not `/ab`;
    // the rest is appended to the target.
    let prefix = regex::escape(from.trim_end_matches('/'));
    let mut step = Step {
        when: vec![Condition {
            test: "{path}".to_owned(),
            regex: if from.ends_with('/') {
                format!("^{prefix}/(.*)$")
            } else {
                format!("^{prefix}(/.*)?$")
            },
            ..Condition::default()
        }],
        last: true,
        bare: true,
        ..Step::default()
    };
    if status == 410 {
        step.status = Some(410);
        step.to = "-".to_owned();
        return Ok(Ok(step));
    }
    let Some(to) = to else {
        return Err("Redirect: the target URL is missing".to_owned());
    };
    if ![301, 302, 303, 307, 308].contains(&status) {
        return Ok(Err(format!(
            "the redirect status {status} is not one seeother sends"
        )));
    }
    step.status = Some(status);
    // mod_alias: the URL is sent as written, the rest of the path appended escaped
    // (`ap_os_escape_path`: all but letters, digits and `$-_.+!*'(),:;@&=/~`).
    let base = to.replace('{', "{{").replace('}', "}}");
    step.to = format!("{base}{{%1}}");
    step.raw = true;
    step.escape = Some(Escape {
        keep: Some("$-.+!*'(),:;@&=/~".to_owned()),
        no_plus: true,
        ..Escape::default()
    });
    Ok(Ok(step))
}

/// mod_alias: `RedirectMatch [status] regex URL`, matched against the whole path.
pub fn redirect_match(d: &Directive) -> Result<Result<Step, Untranslated>, String> {
    let mut args: Vec<&str> = d.args.iter().map(String::as_str).collect();
    let mut status = 302;
    if args.len() == 3 || (args.len() == 2 && args[0].eq_ignore_ascii_case("gone")) {
        status = match args[0].to_ascii_lowercase().as_str() {
            "permanent" => 301,
            "temp" => 302,
            "seeother" => 303,
            "gone" => 410,
            n => match n.parse::<u16>() {
                Ok(n) => n,
                _ => return Err(format!("RedirectMatch: invalid status '{}'", args[0])),
            },
        };
        args.remove(0);
    }
    let Some(pattern) = args.first() else {
        return Err("RedirectMatch: bad argument line".to_owned());
    };
    if pcre_refuses(pattern) {
        return Err(format!(
            "RedirectMatch: cannot compile regular expression '{pattern}'"
        ));
    }
    if let Err(why) = linear(pattern, false) {
        return Ok(Err(why));
    }
    // The whole path is the step's condition; its groups are `{%N}`.
    let mut step = Step {
        regex: String::new(),
        when: vec![Condition {
            test: "{path}".to_owned(),
            regex: (*pattern).to_owned(),
            ..Condition::default()
        }],
        last: true,
        bare: true,
        ..Step::default()
    };
    if status == 410 {
        step.status = Some(410);
        step.to = "-".to_owned();
        return Ok(Ok(step));
    }
    if ![301, 302, 303, 307, 308].contains(&status) {
        return Ok(Err(format!(
            "the redirect status {status} is not one seeother sends"
        )));
    }
    let Some(to) = args.get(1) else {
        return Err("RedirectMatch: the target URL is missing".to_owned());
    };
    let mut t = String::new();
    let mut chars = to.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' if chars.peek().is_some_and(|d| d.is_ascii_digit()) => {
                t.push_str(&format!("{{%{}}}", chars.next().unwrap_or('0')));
            }
            '{' => t.push_str("{{"),
            '}' => t.push_str("}}"),
            c => t.push(c),
        }
    }
    step.status = Some(status);
    step.to = t;
    step.raw = true;
    Ok(Ok(step))
}
