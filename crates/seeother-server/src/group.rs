//! Running a rule group on a request: its steps in order, as mod_rewrite runs a directory's
//! rules (mod_rewrite: RewriteRule, RewriteCond and their flags, per-directory context).
//! Pure, like [`crate::resolve`], which calls it.

use std::borrow::Cow;

use http::{HeaderMap, Method};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use seeother_core::respond::RedirectStatus;

use crate::rule::{
    Action, Caps, CaptureEscape, CompiledGroup, MAX_ROUNDS, Piece, StepQuery, StepTemplate, Var,
};

/// What mod_rewrite escapes in a substitution without `NE` (its `ap_escape_uri`): all but
/// letters, digits and `$-_.+!*'(),:;@&=/~`.
const ESCAPE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'$')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'+')
    .remove(b'!')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b',')
    .remove(b':')
    .remove(b';')
    .remove(b'@')
    .remove(b'&')
    .remove(b'=')
    .remove(b'/')
    .remove(b'~');

/// The request values a group can test.
#[derive(Clone, Copy, Debug)]
pub struct Facts<'a> {
    /// The method.
    pub method: &'a Method,
    /// The header fields.
    pub headers: &'a HeaderMap,
    /// The query without `?`.
    pub query: Option<&'a str>,
    /// The host.
    pub host: Option<&'a str>,
    /// The whole path (as received).
    pub path: &'a str,
    /// `http` or `https`.
    pub scheme: &'a str,
}

/// What a group decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Redirect to `location` (a path or an absolute URL, query included).
    Redirect {
        /// The status.
        status: RedirectStatus,
        /// The target.
        location: String,
        /// Sent as written (mod_rewrite's `NE`), not percent-encoded further.
        as_written: bool,
    },
    /// Answer this status with the server's page.
    Answer(u16),
    /// Look the request up again with this path and query.
    Rewrite {
        /// The new path.
        path: String,
        /// The new query.
        query: Option<String>,
    },
    /// No step applied: nothing answers (the scope shadows its parents).
    NoMatch,
    /// The steps ran more than [`MAX_ROUNDS`] rounds (`again`): a loop, answered 500 as
    /// mod_rewrite answers one.
    Loop,
}

/// The group's variables: (name, value), later ones replacing earlier ones.
type Env = Vec<(Box<str>, String)>;

/// Expand `t` into `out`; with `escape`, the captures are percent-encoded as they go in
/// (mod_rewrite: RewriteRule flags, [B]: both `$N` and `%N`).
fn render(
    t: &StepTemplate,
    caps: Option<&Caps<'_>>,
    cond: Option<&Caps<'_>>,
    f: &Facts<'_>,
    env: &Env,
    escape: Option<&CaptureEscape>,
    out: &mut String,
) {
    for piece in t.0.iter() {
        render_piece(piece, caps, cond, f, env, escape, out);
    }
}

/// Expand a step's target. mod_rewrite (2.4.60 and later, AH10508): a `?` that a capture or
/// variable brings in before the target's own `?` would let the request choose the query,
/// and the rule answers 403 (`None`); one brought in after it is part of the query.
fn render_target(
    t: &StepTemplate,
    caps: Option<&Caps<'_>>,
    cond: Option<&Caps<'_>>,
    f: &Facts<'_>,
    env: &Env,
    escape: Option<&CaptureEscape>,
) -> Option<String> {
    let mut out = String::new();
    let mut in_query = false;
    let mut part = String::new();
    for piece in t.0.iter() {
        if let Piece::Text(s) = piece {
            in_query |= s.contains('?');
            out.push_str(s);
            continue;
        }
        part.clear();
        render_piece(piece, caps, cond, f, env, escape, &mut part);
        if !in_query && part.contains('?') {
            return None;
        }
        out.push_str(&part);
    }
    Some(out)
}

fn render_piece(
    piece: &Piece,
    caps: Option<&Caps<'_>>,
    cond: Option<&Caps<'_>>,
    f: &Facts<'_>,
    env: &Env,
    escape: Option<&CaptureEscape>,
    out: &mut String,
) {
    let group = |c: Option<&Caps<'_>>, n: u8, out: &mut String| {
        if let Some(m) = c.and_then(|c| c.get(n as usize)) {
            match escape {
                Some(e) => e.push(m, out),
                None => out.push_str(m),
            }
        }
    };
    match piece {
        Piece::Text(s) => out.push_str(s),
        Piece::Capture(n) => group(caps, *n, out),
        Piece::CondCapture(n) => group(cond, *n, out),
        Piece::Var(v) => match v {
            Var::Header(h) => {
                // mod_rewrite: %{HTTP:header} joins repeated fields with ", ".
                let mut first = true;
                for value in f.headers.get_all(h) {
                    if !first {
                        out.push_str(", ");
                    }
                    first = false;
                    out.push_str(&String::from_utf8_lossy(value.as_bytes()));
                }
                // RFC 9110 §7.2: the host the request is for, whether it came in a Host
                // field or in the target (HTTP/2's :authority); the listener keeps it apart.
                if first && *h == http::header::HOST {
                    out.push_str(f.host.unwrap_or(""));
                }
            }
            Var::Query => out.push_str(f.query.unwrap_or("")),
            Var::Method => out.push_str(f.method.as_str()),
            Var::Scheme => out.push_str(f.scheme),
            Var::Host => out.push_str(f.host.unwrap_or("")),
            Var::Path => out.push_str(&decode(f.path)),
            Var::Env(name) => {
                if let Some((_, v)) = env.iter().find(|(n, _)| n == name) {
                    out.push_str(v);
                }
            }
        },
    }
}

fn decode(path: &str) -> Cow<'_, str> {
    percent_decode_str(path).decode_utf8_lossy()
}

/// Whether `s` is an absolute URL a step may redirect to.
fn is_absolute_url(s: &str) -> bool {
    scheme_len(s).is_some()
}

/// mod_rewrite's `is_absolute_uri` for the schemes a step may redirect to: the length of the
/// scheme part (`https://`, `mailto:`) `s` starts with.
fn scheme_len(s: &str) -> Option<usize> {
    let lower = |p: &str| s.len() >= p.len() && s[..p.len()].eq_ignore_ascii_case(p);
    ["http://", "https://", "mailto:"]
        .into_iter()
        .find(|p| lower(p))
        .map(str::len)
}

/// The path as Apache matches it: percent-decoded, runs of `/` merged into one (core:
/// `MergeSlashes On`), `.` and `..` segments removed (core: `ap_normalize_path`, as RFC 3986
/// §5.2.4 removes dot segments).
fn matched_path(path: &str) -> String {
    let decoded = decode(path);
    let mut out = String::with_capacity(decoded.len());
    for c in decoded.chars() {
        if c == '/' && out.ends_with('/') {
            continue;
        }
        out.push(c);
    }
    if out.contains("/.") {
        out = remove_dot_segments(&out);
    }
    out
}

/// RFC 3986 §5.2.4 on a path of single slashes; `..` above the root stays at the root.
fn remove_dot_segments(path: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    let mut parts = path.split('/').peekable();
    // The part before the first `/` (empty for an absolute path).
    let head = parts.next().unwrap_or("");
    let mut trailing = false;
    while let Some(seg) = parts.next() {
        let last = parts.peek().is_none();
        match seg {
            "." => trailing = last,
            ".." => {
                kept.pop();
                trailing = last;
            }
            s => {
                kept.push(s);
                trailing = false;
            }
        }
    }
    let mut out = String::with_capacity(path.len());
    out.push_str(head);
    for seg in &kept {
        out.push('/');
        out.push_str(seg);
    }
    if trailing || out.is_empty() {
        out.push('/');
    }
    out
}

/// Run `group`, filed under `scope`, on the request `f`. With `bare` (the scope asked for
/// without its final slash) only the steps marked `bare` run.
pub fn run(group: &CompiledGroup, scope: &str, f: &Facts<'_>, bare: bool) -> Decision {
    let full = matched_path(f.path);
    let mut env: Env = Vec::new();
    // mod_setenvif: SetEnvIf runs before the rewrite rules, in order; a later match wins.
    for e in group.env.iter() {
        let mut tested = String::new();
        render(&e.test, None, None, f, &env, None, &mut tested);
        let Some(caps) = e.regex.captures(&tested) else {
            continue;
        };
        env.retain(|(n, _)| *n != e.name);
        if let Some(v) = &e.value {
            let mut value = String::new();
            render(v, Some(&caps), None, f, &env, None, &mut value);
            env.push((e.name.clone(), value));
        }
    }
    // mod_rewrite per-directory: the pattern sees the path below the directory.
    // What the steps match: the path below the scope until a step substitutes a path that
    // starts with `/` or a URL, which later steps see whole (mod_rewrite strips the
    // directory only from what is below it).
    let rel = full
        .strip_prefix(scope)
        .unwrap_or(full.trim_start_matches('/'));
    // mod_rewrite: RewriteRule, per-directory: each rule matches "the concatenation of the
    // current values of the URI and PATH_INFO"; the path info is what follows the first
    // segment below the directory (where Apache's walk of its file system finds nothing: a
    // path here names no file), and it stays as it was when a rule rewrites the URI, unless
    // [DPI] discards it. `cur` ends with `info_len` bytes of it.
    let mut info: &str = rel.find('/').map_or("", |at| &rel[at..]);
    let mut cur = rel.to_owned();
    let mut info_len = info.len();
    let mut below = true;
    let mut query: Option<String> = f.query.map(str::to_owned);
    let mut redirect: Option<RedirectStatus> = None;
    let mut raw = false;
    let mut changed = false;
    let mut rounds = 1;
    // The steps that can match `cur`, in order (a large group's); none: every step.
    let filter = group.filter.as_ref();
    let mut candidates = filter.and_then(|f| f.candidates(&cur));
    let mut i = 0;
    while i < group.steps.len() {
        if let Some(c) = &candidates {
            // The others cannot match and are neither negated nor chained: skipping them is
            // what trying them would do.
            match c.get(c.partition_point(|&s| (s as usize) < i)) {
                Some(&next) => i = next as usize,
                None => break,
            }
        }
        let step = &group.steps[i];
        i += 1;
        if bare && !step.bare {
            continue;
        }
        // mod_rewrite: RewriteRule flags, [C]: a rule that does not apply takes the rules
        // chained to it along (up to and including the first without C).
        let skip_chain = |i: &mut usize| {
            let mut s = step;
            while s.chain && *i < group.steps.len() {
                s = &group.steps[*i];
                *i += 1;
            }
        };
        let caps = step.regex.captures(&cur);
        if caps.is_some() == step.negate {
            skip_chain(&mut i);
            continue;
        }
        let caps = if step.negate { None } else { caps };
        let mut tested = Vec::with_capacity(step.when.len());
        for c in step.when.iter() {
            let mut value = String::new();
            render(&c.test, caps.as_ref(), None, f, &env, None, &mut value);
            tested.push(value);
        }
        let mut last_cond: Option<Caps<'_>> = None;
        // mod_rewrite: conditions in order; [OR] joins one to the next; %N refers to the
        // last condition whose regex matched.
        let mut passed = true;
        let mut j = 0;
        let mut cond_index: Option<usize> = None;
        while j < step.when.len() {
            let c = &step.when[j];
            let m = c.regex.is_match(&tested[j]);
            if m && !c.negate {
                cond_index = Some(j);
            }
            let ok = m != c.negate;
            if c.or {
                if ok {
                    while j < step.when.len() && step.when[j].or {
                        j += 1;
                    }
                }
                j += 1;
                continue;
            }
            if !ok {
                passed = false;
                break;
            }
            j += 1;
        }
        if !passed {
            skip_chain(&mut i);
            continue;
        }
        if let Some(k) = cond_index {
            last_cond = step.when[k].regex.captures(&tested[k]);
        }
        for (name, value) in step.set.iter() {
            let mut v = String::new();
            render(
                value,
                caps.as_ref(),
                last_cond.as_ref(),
                f,
                &env,
                None,
                &mut v,
            );
            env.retain(|(n, _)| n != name);
            env.push((name.clone(), v));
        }
        if let Some(to) = &step.to {
            let escape = step.escape.as_ref();
            let Some(next) = render_target(to, caps.as_ref(), last_cond.as_ref(), f, &env, escape)
            else {
                return Decision::Answer(403);
            };
            let (path, own_query) = match next.split_once('?') {
                Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
                None => (next, None),
            };
            query = match (step.query, own_query) {
                (StepQuery::Drop, q) => q,
                (StepQuery::Append, Some(q)) => match f.query.filter(|s| !s.is_empty()) {
                    Some(orig) if !q.is_empty() => Some(format!("{q}&{orig}")),
                    Some(orig) => Some(orig.to_owned()),
                    None => Some(q),
                },
                (_, Some(q)) => Some(q),
                (_, None) => query,
            }
            .filter(|q| !q.is_empty());
            below = !(is_absolute_url(&path) || path.starts_with('/'));
            cur = path;
            if step.discard_info {
                info = "";
            }
            cur.push_str(info);
            info_len = info.len();
            changed = true;
            candidates = filter.and_then(|f| f.candidates(&cur));
            raw |= step.raw;
        }
        match step.action {
            Action::Answer(code) => return Decision::Answer(code),
            Action::Redirect(status) => redirect = Some(status),
            Action::Rewrite if !below && is_absolute_url(&cur) => {
                // mod_rewrite: a full URL as substitution is an external redirect (302).
                redirect.get_or_insert(RedirectStatus::Found);
            }
            Action::Rewrite => {}
        }
        if step.last {
            break;
        }
        // mod_rewrite: RewriteRule flags, [N]: the rules run again from the first, on the
        // result; too many rounds answer 500.
        if step.again {
            rounds += 1;
            if rounds > MAX_ROUNDS {
                return Decision::Loop;
            }
            i = 0;
            continue;
        }
        i += step.skip as usize;
    }
    // The result is the URI, without the path info.
    cur.truncate(cur.len() - info_len);
    if below {
        // A relative result is taken below the base (RewriteBase, else the directory).
        cur = format!("{}{}", group.base, cur);
    }
    if let Some(status) = redirect {
        let mut location = if raw { cur } else { escape_url(&cur) };
        // mod_rewrite: a substitution that starts with `/` is a path, which it prefixes with
        // the server's name; `//x` sent as it is would name the host x (RFC 3986 §4.2), so
        // the path is sent as `/.//x`, which resolves to it (§5.2.4).
        if location.starts_with("//") {
            location.insert_str(0, "/.");
        }
        if let Some(q) = query {
            location.push('?');
            if raw {
                location.push_str(&q);
            } else {
                location.push_str(&utf8_percent_encode(&q, ESCAPE).to_string());
            }
        }
        return Decision::Redirect {
            status,
            location,
            as_written: raw,
        };
    }
    if changed && cur != full {
        let path = utf8_percent_encode(&cur, ESCAPE).to_string();
        return Decision::Rewrite { path, query };
    }
    Decision::NoMatch
}

/// Escape the path of `url` (scheme and authority kept) as mod_rewrite does without `NE`.
fn escape_url(url: &str) -> String {
    // mod_rewrite's escape_absolute_uri: after the scheme, and the host when it has one.
    let start = match scheme_len(url) {
        Some(after) if url[..after].ends_with('/') => {
            url[after..].find('/').map_or(url.len(), |i| after + i)
        }
        Some(after) => after,
        None => 0,
    };
    let mut out = url[..start].to_owned();
    out.push_str(&utf8_percent_encode(&url[start..], ESCAPE).to_string());
    out
}
