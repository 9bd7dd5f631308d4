//! Apache httpd 2.4 `.htaccess` files as rule groups.
//!
//! Each file becomes one group whose scope is its directory's URL path: the file's
//! `RewriteRule`s in order (mod_rewrite does not inherit a parent's rules unless
//! `RewriteOptions Inherit` says so), then its own and its ancestors' `Redirect*` (mod_alias
//! merges them, nearest first), with its ancestors' and its own `Header`s and `SetEnvIf`s
//! (mod_headers and mod_setenvif merge them, root first). `RewriteEngine`, `RewriteBase` and
//! `DirectorySlash` are inherited when a file does not set them, as Apache merges them.

mod files;
mod parse;
pub mod questions;
pub mod record;
mod rewrite;

use std::path::{Path, PathBuf};

use super::{Finding, FindingKind, Migration};
use crate::rule::{Condition, EnvRule, ErrorPage, HeaderField, RuleSpec, Step};
use parse::Directive;

/// What one file says, before inheritance.
#[derive(Clone, Debug, Default)]
struct FileConf {
    scope: String,
    engine: Option<bool>,
    base: Option<String>,
    slash: Option<bool>,
    inherit: Option<bool>,
    allow_no_slash: bool,
    steps: Vec<Step>,
    alias: Vec<Step>,
    headers: Vec<HeaderField>,
    env: Vec<EnvRule>,
    errors: Vec<ErrorPage>,
}

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

/// Import a tree of `.htaccess` files: `root/.htaccess` is the site's root (`/`),
/// `root/a/b/.htaccess` the directory `/a/b/`.
pub fn import_tree(root: &Path) -> Result<Migration, String> {
    let mut files = Vec::new();
    walk(root, root, &mut files).map_err(|e| format!("{}: {e}", root.display()))?;
    files.sort();
    // What is on disk, for the file tests (-f, -d …) of RewriteCond.
    let mut tree = files::Tree::default();
    files::scan(root, "", &mut tree).map_err(|e| format!("{}: {e}", root.display()))?;
    let mut out = Migration::default();
    let mut confs: Vec<(String, Option<FileConf>)> = Vec::new();
    for (scope, path) in &files {
        let conf = read_file(path, scope, Some(&tree), &mut out);
        confs.push((scope.clone(), conf));
    }
    assemble(&confs, Some(&tree), &mut out);
    Ok(out)
}

/// Import one file as the directory `at` (a URL path; `/` added at the end if missing).
pub fn import_file(file: &Path, at: &str) -> Result<Migration, String> {
    if !at.starts_with('/') {
        return Err(format!(
            "--at {at:?}: the directory's URL path starts with `/`, e.g. --at /id/"
        ));
    }
    let mut scope = at.to_owned();
    if !scope.ends_with('/') {
        scope.push('/');
    }
    let mut out = Migration::default();
    let conf = read_file(file, &scope, None, &mut out);
    assemble(&[(scope, conf)], None, &mut out);
    Ok(out)
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> std::io::Result<()> {
    let file = dir.join(".htaccess");
    if file.is_file() {
        let rel = dir.strip_prefix(root).unwrap_or(Path::new(""));
        let mut scope = String::from("/");
        for part in rel.components() {
            scope.push_str(&part.as_os_str().to_string_lossy());
            scope.push('/');
        }
        out.push((scope, file));
    }
    let mut subdirs: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    subdirs.sort();
    for d in subdirs {
        walk(root, &d, out)?;
    }
    Ok(())
}

/// The nearest ancestors first.
fn ancestors<'c>(
    confs: &'c [(String, Option<FileConf>)],
    scope: &str,
) -> impl Iterator<Item = &'c FileConf> {
    let mut chain: Vec<&FileConf> = confs
        .iter()
        .filter(|(s, _)| s.len() < scope.len() && scope.starts_with(s.as_str()))
        .filter_map(|(_, c)| c.as_ref())
        .collect();
    chain.sort_by_key(|c| std::cmp::Reverse(c.scope.len()));
    chain.into_iter()
}

fn assemble(confs: &[(String, Option<FileConf>)], tree: Option<&files::Tree>, out: &mut Migration) {
    let owned: Vec<&str> = confs.iter().map(|(s, _)| s.as_str()).collect();
    for (scope, conf) in confs {
        let Some(conf) = conf else {
            // The directory is still there: without its file's rules, but with mod_dir's
            // slash redirect (Apache gives it before it reads the file).
            let mut rule = RuleSpec::scope(scope, Vec::new());
            rule.slash = ancestors(confs, scope)
                .find_map(|c| c.slash)
                .unwrap_or(true);
            out.rules.push(rule);
            continue;
        };
        let up: Vec<&FileConf> = ancestors(confs, scope).collect();
        let engine = conf
            .engine
            .or_else(|| up.iter().find_map(|c| c.engine))
            .unwrap_or(false);
        let mut rule = RuleSpec::scope(scope, Vec::new());
        if engine {
            rule.steps = conf.steps.clone();
            if conf.allow_no_slash {
                for s in &mut rule.steps {
                    s.bare = true;
                }
            }
            if conf.inherit == Some(true) {
                // RewriteOptions Inherit: the parent's rules run after the file's own.
                if let Some(parent) = up.first() {
                    rule.steps.extend(parent.steps.iter().cloned());
                }
            }
        }
        rule.steps.extend(conf.alias.iter().cloned());
        for c in &up {
            rule.steps.extend(c.alias.iter().cloned());
        }
        for c in up.iter().rev() {
            rule.headers.extend(c.headers.iter().cloned());
            rule.env.extend(c.env.iter().cloned());
        }
        rule.headers.extend(conf.headers.iter().cloned());
        rule.env.extend(conf.env.iter().cloned());
        // core: ErrorDocument is inherited per status, the nearest file's winning.
        for c in up.iter().rev().chain(std::iter::once(&conf)) {
            for e in &c.errors {
                rule.errors.retain(|x| x.status != e.status);
                rule.errors.push(e.clone());
            }
        }
        rule.base = conf
            .base
            .clone()
            .or_else(|| up.iter().find_map(|c| c.base.clone()));
        // mod_dir: DirectorySlash is On unless a file here or above turns it Off.
        rule.slash = conf
            .slash
            .or_else(|| up.iter().find_map(|c| c.slash))
            .unwrap_or(true);
        if rule.slash
            && let Some(step) = tree.and_then(|t| files::slash_step(t, scope, &owned))
        {
            rule.steps.push(step);
        }
        out.rules.push(rule);
    }
}

fn read_file(
    path: &Path,
    scope: &str,
    tree: Option<&files::Tree>,
    out: &mut Migration,
) -> Option<FileConf> {
    out.files += 1;
    let mut r = Reader {
        file: path.to_owned(),
        out,
    };
    let text = match std::fs::read(path) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) => {
            r.say(0, FindingKind::Refused, format!("cannot be read: {e}"));
            return None;
        }
    };
    let parsed = match parse::parse(&text) {
        Ok(p) => p,
        Err((line, why)) => {
            r.say(
                line,
                FindingKind::Refused,
                format!("Apache cannot read this file ({why}) and answers 500 for everything under {scope}; nothing of it was imported (seeother answers 404 there)"),
            );
            return None;
        }
    };
    for (line, block) in &parsed.skipped {
        r.say(
            *line,
            FindingKind::Untranslated,
            format!("{block}: a section that applies only to some requests or files; its content was left out"),
        );
    }
    let mut conf = FileConf {
        scope: scope.to_owned(),
        ..FileConf::default()
    };
    match read_directives(&parsed.directives, &mut conf, tree, &mut r) {
        Ok(()) => Some(conf),
        Err((line, why)) => {
            r.say(
                line,
                FindingKind::Refused,
                format!("Apache cannot read this file ({why}) and answers 500 for everything under {scope}; nothing of it was imported"),
            );
            None
        }
    }
}

fn on_off(d: &Directive) -> Result<bool, (usize, String)> {
    match d.args.first().map(|a| a.to_ascii_lowercase()).as_deref() {
        Some("on") if d.args.len() == 1 => Ok(true),
        Some("off") if d.args.len() == 1 => Ok(false),
        _ => Err((d.line, format!("{} must be On or Off", d.name))),
    }
}

fn read_directives(
    directives: &[Directive],
    conf: &mut FileConf,
    tree: Option<&files::Tree>,
    r: &mut Reader<'_>,
) -> Result<(), (usize, String)> {
    let mut conds: Vec<Condition> = Vec::new();
    let mut conds_ok = true;
    for d in directives {
        let at = |e: String| (d.line, e);
        match d.name.as_str() {
            "rewriteengine" => conf.engine = Some(on_off(d)?),
            "rewritebase" => {
                if d.args.len() != 1 {
                    return Err(at("RewriteBase takes one argument".to_owned()));
                }
                if !d.args[0].starts_with('/') {
                    return Err(at("RewriteBase: argument is not a valid URL".to_owned()));
                }
                let mut base = d.args[0].clone();
                if !base.ends_with('/') {
                    base.push('/');
                }
                conf.base = Some(base);
            }
            "rewriteoptions" => {
                for o in &d.args {
                    match o.to_ascii_lowercase().as_str() {
                        "inherit" => conf.inherit = Some(true),
                        // mod_rewrite: RewriteOptions AllowNoSlash: the rules run for the
                        // directory asked for without its slash too.
                        "allownoslash" => conf.allow_no_slash = true,
                        "ignoreinherit" | "mergebase" | "longurloptimization" => {}
                        other => r.say(
                            d.line,
                            FindingKind::Untranslated,
                            format!("RewriteOptions {other} has no translation; left out"),
                        ),
                    }
                }
            }
            "rewritecond" => match rewrite::condition(d, &conf.scope, tree).map_err(at)? {
                Ok(c) => conds.push(c),
                Err(why) => {
                    r.say(d.line, FindingKind::Untranslated, why);
                    conds_ok = false;
                }
            },
            "rewriterule" => {
                let when = std::mem::take(&mut conds);
                let mut notes = Vec::new();
                let step = rewrite::rule(d, when, &mut notes).map_err(at)?;
                for n in notes {
                    r.say(d.line, FindingKind::Note, n);
                }
                match step {
                    Ok(_) if !conds_ok => r.say(
                        d.line,
                        FindingKind::Untranslated,
                        "a condition of this rule has no translation, so the rule was left out",
                    ),
                    Ok(step) => {
                        if step.status.is_some_and(|s| (300..400).contains(&s))
                            && !step.to.starts_with('/')
                            && !step.to.to_ascii_lowercase().starts_with("http")
                            && !step.to.starts_with('{')
                            && conf.base.is_none()
                        {
                            r.say(
                                d.line,
                                FindingKind::NotCopied,
                                format!(
                                    "a relative redirect target without RewriteBase: Apache puts its file-system path into the Location; seeother redirects below {}",
                                    conf.scope
                                ),
                            );
                        }
                        conf.steps.push(step);
                    }
                    Err(why) => r.say(d.line, FindingKind::Untranslated, why),
                }
                conds_ok = true;
            }
            "redirect" | "redirectpermanent" | "redirecttemp" => {
                match rewrite::redirect(d, &conf.scope).map_err(at)? {
                    Ok(s) => conf.alias.push(s),
                    Err(why) => r.say(d.line, FindingKind::Untranslated, why),
                }
            }
            "redirectmatch" => match rewrite::redirect_match(d).map_err(at)? {
                Ok(s) => conf.alias.push(s),
                Err(why) => r.say(d.line, FindingKind::Untranslated, why),
            },
            "header" => header(d, conf, r).map_err(at)?,
            "setenvif" | "setenvifnocase" | "browsermatch" | "browsermatchnocase" => {
                setenvif(d, conf, r).map_err(at)?
            }
            "directoryslash" => conf.slash = Some(on_off(d)?),
            "errordocument" => {
                let status = d.args.first().and_then(|s| s.parse::<u16>().ok());
                match (status, d.args.get(1)) {
                    (Some(code), Some(to))
                        if crate::rule::ANSWER_STATUSES.contains(&code)
                            && (to.starts_with("http://") || to.starts_with("https://")) =>
                    {
                        conf.errors.retain(|e| e.status != code);
                        conf.errors.push(ErrorPage {
                            status: code,
                            to: to.clone(),
                        });
                    }
                    (None, _) | (_, None) => {
                        return Err(at("ErrorDocument takes two arguments, a status and a document".to_owned()));
                    }
                    _ => r.say(
                        d.line,
                        FindingKind::Untranslated,
                        "ErrorDocument with a local document or a message serves a file or text, which seeother does not; left out",
                    ),
                }
            }
            "requestheader" | "fallbackresource" | "directoryindex" | "sethandler" => r.say(
                d.line,
                FindingKind::Untranslated,
                format!("{} concerns serving files; left out", d.name),
            ),
            // Content types, character sets, options: no effect on redirects.
            _ => {}
        }
    }
    Ok(())
}

/// mod_headers: `Header [always|onsuccess] action name [value] [env=…|expr=…]`.
fn header(d: &Directive, conf: &mut FileConf, r: &mut Reader<'_>) -> Result<(), String> {
    let mut args: Vec<&str> = d.args.iter().map(String::as_str).collect();
    let mut always = false;
    if let Some(first) = args.first() {
        match first.to_ascii_lowercase().as_str() {
            "always" => {
                always = true;
                args.remove(0);
            }
            "onsuccess" => {
                args.remove(0);
            }
            _ => {}
        }
    }
    let Some(action) = args.first().map(|a| a.to_ascii_lowercase()) else {
        return Err("Header requires at least two arguments".to_owned());
    };
    let Some(name) = args.get(1) else {
        return Err("Header requires at least two arguments".to_owned());
    };
    let name = name.trim_end_matches(':').to_owned();
    match action.as_str() {
        "unset" => {
            conf.headers.retain(|h| !h.name.eq_ignore_ascii_case(&name));
            return Ok(());
        }
        "set" | "append" | "add" | "merge" | "setifempty" => {}
        "echo" | "edit" | "edit*" | "note" => {
            r.say(
                d.line,
                FindingKind::Untranslated,
                format!("Header {action} has no translation; left out"),
            );
            return Ok(());
        }
        other => return Err(format!("Header: unknown action '{other}'")),
    }
    let Some(value) = args.get(2) else {
        return Err(format!("Header {action} requires a value"));
    };
    if args.len() > 3 || value.starts_with("expr=") {
        r.say(
            d.line,
            FindingKind::Untranslated,
            "a Header with a condition (env= or expr=) has no translation; left out",
        );
        return Ok(());
    }
    if action == "set" {
        conf.headers.retain(|h| !h.name.eq_ignore_ascii_case(&name));
    }
    conf.headers.push(HeaderField {
        name,
        value: (*value).to_owned(),
        always,
    });
    Ok(())
}

/// mod_setenvif: `SetEnvIf attribute regex [!]var[=value] …`.
fn setenvif(d: &Directive, conf: &mut FileConf, r: &mut Reader<'_>) -> Result<(), String> {
    let browser = d.name.starts_with("browsermatch");
    let nocase = d.name.ends_with("nocase");
    let (attribute, rest) = if browser {
        ("User-Agent", &d.args[..])
    } else {
        match d.args.split_first() {
            Some((a, rest)) => (a.as_str(), rest),
            None => return Err(format!("{} requires at least two arguments", d.name)),
        }
    };
    let Some((pattern, vars)) = rest.split_first() else {
        return Err(format!("{} requires at least two arguments", d.name));
    };
    let test = match attribute.to_ascii_lowercase().as_str() {
        "request_uri" => "{path}".to_owned(),
        "request_method" => "{method}".to_owned(),
        "remote_host" | "remote_addr" | "server_addr" | "request_protocol" => {
            r.say(
                d.line,
                FindingKind::Untranslated,
                format!("SetEnvIf on {attribute} has no translation; left out"),
            );
            return Ok(());
        }
        h => format!("{{header:{h}}}"),
    };
    if rewrite::template(pattern).is_err()
        || crate::rule::Expr::new(pattern, false, 1 << 20).is_err()
    {
        r.say(
            d.line,
            FindingKind::Untranslated,
            format!(
                "the regular expression {pattern:?} cannot run on the linear-time engine; left out"
            ),
        );
        return Ok(());
    }
    for v in vars {
        let (name, value) = match v.strip_prefix('!') {
            Some(n) => (n.to_owned(), None),
            None => match v.split_once('=') {
                Some((n, val)) => (n.to_owned(), Some(val.to_owned())),
                None => (v.to_owned(), Some("1".to_owned())),
            },
        };
        let value = match value.map(|v| rewrite::template(&v)).transpose() {
            Ok(v) => v,
            Err(why) => {
                r.say(d.line, FindingKind::Untranslated, why);
                continue;
            }
        };
        conf.env.push(EnvRule {
            name,
            value,
            test: test.clone(),
            regex: pattern.clone(),
            nocase,
        });
    }
    Ok(())
}
