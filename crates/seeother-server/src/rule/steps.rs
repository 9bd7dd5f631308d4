//! A rule group's steps compiled: regular expressions ([`Expr`]: linear time; look-around
//! runs on its own engine, back-references are refused with the engine's message) and target
//! templates.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError, Weak};

use http::HeaderName;

use super::{ANSWER_STATUSES, Condition, Expr, RuleError, RuleSpec, Step, StepQuery};
use seeother_core::respond::RedirectStatus;

/// Largest compiled size of one regular expression (bounds memory per rule).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A request value a template names.
#[derive(Clone, Debug)]
pub enum Var {
    /// A request header field (`{header:accept}`); empty when absent.
    Header(HeaderName),
    /// The query string without `?` (`{query}`).
    Query,
    /// The method (`{method}`).
    Method,
    /// `http` or `https` (`{scheme}`).
    Scheme,
    /// The host the request is for (`{host}`).
    Host,
    /// The whole request path (`{path}`).
    Path,
    /// A variable of the group (`{env:NAME}`); empty when unset.
    Env(Box<str>),
}

/// One piece of a template.
#[derive(Clone, Debug)]
pub enum Piece {
    /// Literal text.
    Text(Box<str>),
    /// Group N of the step's regex (`{N}`).
    Capture(u8),
    /// Group N of the last condition that matched (`{%N}`).
    CondCapture(u8),
    /// A request value.
    Var(Var),
}

/// A parsed template: `{1}`, `{%1}`, `{header:NAME}`, `{query}` … and literal text (`{{`,
/// `}}` for braces).
#[derive(Clone, Debug, Default)]
pub struct StepTemplate(pub Box<[Piece]>);

impl StepTemplate {
    /// Parse `text`; the error says which placeholder is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut pieces = Vec::new();
        let mut lit = String::new();
        let mut rest = text;
        while let Some(i) = rest.find(['{', '}']) {
            lit.push_str(&rest[..i]);
            let tail = &rest[i..];
            if tail.starts_with("{{") || tail.starts_with("}}") {
                lit.push_str(&tail[..1]);
                rest = &tail[2..];
                continue;
            }
            if tail.starts_with('}') {
                return Err("a lone `}`; write `}}` for a literal brace".to_owned());
            }
            let end = tail
                .find('}')
                .ok_or("a `{` without its `}`; write `{{` for a literal brace")?;
            let name = &tail[1..end];
            if !lit.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut lit).into()));
            }
            pieces.push(Self::placeholder(name)?);
            rest = &tail[end + 1..];
        }
        lit.push_str(rest);
        if !lit.is_empty() {
            pieces.push(Piece::Text(lit.into()));
        }
        Ok(StepTemplate(pieces.into()))
    }

    fn placeholder(name: &str) -> Result<Piece, String> {
        let digit = |s: &str| s.parse::<u8>().ok().filter(|n| *n <= 9);
        if let Some(n) = digit(name) {
            return Ok(Piece::Capture(n));
        }
        if let Some(n) = name.strip_prefix('%').and_then(digit) {
            return Ok(Piece::CondCapture(n));
        }
        if let Some(h) = name.strip_prefix("header:") {
            return HeaderName::from_bytes(h.trim().as_bytes())
                .map(|h| Piece::Var(Var::Header(h)))
                .map_err(|_| format!("`{{{name}}}`: {h:?} is not a header field name"));
        }
        if let Some(v) = name.strip_prefix("env:") {
            return Ok(Piece::Var(Var::Env(v.into())));
        }
        Ok(Piece::Var(match name {
            "query" => Var::Query,
            "method" => Var::Method,
            "scheme" => Var::Scheme,
            "host" => Var::Host,
            "path" => Var::Path,
            _ => {
                return Err(format!(
                    "`{{{name}}}` is no placeholder; use {{0}}…{{9}}, {{%0}}…{{%9}}, \
                     {{header:NAME}}, {{env:NAME}}, {{query}}, {{method}}, {{scheme}}, {{host}} or {{path}}"
                ));
            }
        }))
    }

    /// The request header fields it reads (`{header:NAME}`).
    pub fn reads(&self) -> impl Iterator<Item = &HeaderName> {
        self.0.iter().filter_map(|p| match p {
            Piece::Var(Var::Header(h)) => Some(h),
            _ => None,
        })
    }

    /// The template is literal text only: its text.
    pub fn as_literal(&self) -> Option<&str> {
        match &*self.0 {
            [] => Some(""),
            [Piece::Text(t)] => Some(t),
            _ => None,
        }
    }
}

/// A compiled condition.
#[derive(Clone, Debug)]
pub struct CompiledCondition {
    /// What is tested.
    pub test: StepTemplate,
    /// The expression.
    pub regex: Arc<Expr>,
    /// Pass when it does not match.
    pub negate: bool,
    /// Or-ed with the next.
    pub or: bool,
}

/// What a step does when it applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Rewrite the path; the rules run again on the result when the group is done.
    Rewrite,
    /// Redirect with this status when the group is done.
    Redirect(RedirectStatus),
    /// Answer this status (403, 404, 406, 410) at once.
    Answer(u16),
}

/// A compiled step.
#[derive(Clone, Debug)]
pub struct CompiledStep {
    /// Matched against the path below the scope.
    pub regex: Arc<Expr>,
    /// Applies when the regex does not match.
    pub negate: bool,
    /// Its conditions.
    pub when: Box<[CompiledCondition]>,
    /// The substitution; `None` for `-`.
    pub to: Option<StepTemplate>,
    /// What it does.
    pub action: Action,
    /// Stop after it.
    pub last: bool,
    /// Send the target as written.
    pub raw: bool,
    /// Query handling.
    pub query: StepQuery,
    /// Steps skipped after it.
    pub skip: u16,
    /// Runs for the scope without its slash too.
    pub bare: bool,
    /// Variables it sets.
    pub set: Box<[(Box<str>, StepTemplate)]>,
    /// Run the steps again from the first when it applies.
    pub again: bool,
    /// When it does not apply, the steps chained to it are skipped.
    pub chain: bool,
    /// Drops the path info when it rewrites.
    pub discard_info: bool,
    /// How captures put into `to` are percent-encoded, if they are.
    pub escape: Option<CaptureEscape>,
}

/// The bytes a step's `escape` percent-encodes in a capture (mod_rewrite's `escape_backref`:
/// letters, digits and `_` never, a space as `+` unless `no_plus`, the others as `%hh`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureEscape {
    encode: [u64; 4],
    plus: bool,
}

impl CaptureEscape {
    /// The table for `e`.
    pub fn new(e: &super::Escape) -> Self {
        let has =
            |set: &Option<String>, b: u8| set.as_ref().is_some_and(|s| s.as_bytes().contains(&b));
        let mut encode = [0u64; 4];
        for b in 0..=255u8 {
            // mod_rewrite: BCTLS chooses what is no visible character or obs-text, `B=chars`
            // adds those characters, plain B chooses all.
            let base = if e.controls {
                b <= b' ' || b == 0x7f
            } else {
                e.only.is_none()
            };
            let chosen = base || has(&e.only, b);
            if chosen && !has(&e.keep, b) && !(b.is_ascii_alphanumeric() || b == b'_') {
                encode[usize::from(b >> 6)] |= 1 << (b & 63);
            }
        }
        let plus = !e.no_plus;
        CaptureEscape { encode, plus }
    }

    fn encodes(&self, b: u8) -> bool {
        self.encode[usize::from(b >> 6)] & (1 << (b & 63)) != 0
    }

    /// Append `text` to `out`, encoded. A character is encoded whole when any of its bytes is,
    /// so `out` stays UTF-8.
    pub fn push(&self, text: &str, out: &mut String) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for c in text.chars() {
            let mut buf = [0u8; 4];
            let bytes = c.encode_utf8(&mut buf).as_bytes();
            if !bytes.iter().any(|&b| self.encodes(b)) {
                out.push(c);
            } else if c == ' ' && self.plus {
                out.push('+');
            } else {
                for &b in bytes {
                    out.push('%');
                    out.push(char::from(HEX[usize::from(b >> 4)]));
                    out.push(char::from(HEX[usize::from(b & 15)]));
                }
            }
        }
    }
}

/// Compiled expressions by text and case rule, shared by every step, condition and variable
/// that uses the same one: a corpus repeats them (w3id.org's 1,722 groups hold 18,922
/// expressions, 5,033 distinct), so each is compiled and holds its search caches once.
/// Entries die with the last rule that uses them and are swept as the map grows.
static SHARED: LazyLock<Mutex<Shared>> = LazyLock::new(Mutex::default);

#[derive(Default)]
struct Shared {
    by_text: HashMap<(Box<str>, bool), Weak<Expr>>,
    /// Sweep the dead entries when the map reaches this size.
    sweep_at: usize,
}

fn regex(field: &str, text: &str, nocase: bool) -> Result<Arc<Expr>, RuleError> {
    let key = (Box::<str>::from(text), nocase);
    if let Some(live) = shared().by_text.get(&key).and_then(Weak::upgrade) {
        return Ok(live);
    }
    // Compiled outside the lock: a large expression must not hold up the others.
    let compiled =
        Arc::new(
            Expr::new(text, nocase, REGEX_SIZE_LIMIT).map_err(|e| RuleError::Group {
                field: field.to_owned(),
                reason: format!(
                    "{text:?} cannot run on the linear-time engine: {e}; rewrite it without \
                 back-references"
                ),
            })?,
        );
    let mut shared = shared();
    if shared.by_text.len() >= shared.sweep_at {
        shared.by_text.retain(|_, r| r.strong_count() > 0);
        shared.sweep_at = (shared.by_text.len() * 2).max(1024);
    }
    shared.by_text.insert(key, Arc::downgrade(&compiled));
    Ok(compiled)
}

fn shared() -> std::sync::MutexGuard<'static, Shared> {
    // The map holds no invariant a panic could break.
    SHARED.lock().unwrap_or_else(PoisonError::into_inner)
}

fn template(field: &str, text: &str) -> Result<StepTemplate, RuleError> {
    StepTemplate::parse(text).map_err(|reason| RuleError::Group {
        field: field.to_owned(),
        reason,
    })
}

/// Compile `steps` (field names in errors are `steps[N]…`).
pub fn compile_steps(steps: &[Step]) -> Result<Box<[CompiledStep]>, RuleError> {
    steps
        .iter()
        .enumerate()
        .map(|(i, s)| compile_step(i, s))
        .collect()
}

fn compile_condition(i: usize, j: usize, c: &Condition) -> Result<CompiledCondition, RuleError> {
    Ok(CompiledCondition {
        test: template(&format!("steps[{i}].when[{j}].test"), &c.test)?,
        regex: regex(&format!("steps[{i}].when[{j}].regex"), &c.regex, c.nocase)?,
        negate: c.negate,
        or: c.or,
    })
}

fn compile_step(i: usize, s: &Step) -> Result<CompiledStep, RuleError> {
    let bad = |field: &str, reason: String| RuleError::Group {
        field: format!("steps[{i}].{field}"),
        reason,
    };
    let action = match s.status {
        None => Action::Rewrite,
        Some(code) if ANSWER_STATUSES.contains(&code) => Action::Answer(code),
        Some(code) => Action::Redirect(RedirectStatus::from_code(code).ok_or_else(|| {
            bad(
                "status",
                format!("{code} is not an answer a step gives; use 301, 302, 303, 307, 308 (a redirect), 403, 404, 406, 410, or none (a rewrite)"),
            )
        })?),
    };
    let to = match s.to.trim() {
        "-" => None,
        "" => return Err(bad("to", "empty; write `-` to keep the path".to_owned())),
        t => Some(template(&format!("steps[{i}].to"), t)?),
    };
    if to.is_none() && matches!(action, Action::Redirect(_)) {
        return Err(bad(
            "to",
            "a redirect needs a target; `-` is for steps that keep the path".to_owned(),
        ));
    }
    Ok(CompiledStep {
        regex: regex(&format!("steps[{i}].regex"), &s.regex, s.nocase)?,
        negate: s.negate,
        when: s
            .when
            .iter()
            .enumerate()
            .map(|(j, c)| compile_condition(i, j, c))
            .collect::<Result<_, _>>()?,
        to,
        action,
        last: s.last || matches!(action, Action::Answer(_)),
        raw: s.raw,
        query: s.query,
        skip: s.skip,
        bare: s.bare,
        set: s
            .set
            .iter()
            .enumerate()
            .map(|(j, v)| {
                Ok((
                    v.name.as_str().into(),
                    template(&format!("steps[{i}].set[{j}].value"), &v.value)?,
                ))
            })
            .collect::<Result<_, RuleError>>()?,
        again: s.again,
        chain: s.chain,
        discard_info: s.discard_info,
        escape: s.escape.as_ref().map(CaptureEscape::new),
    })
}

impl RuleSpec {
    /// The first group-only field set on a rule that is no group.
    pub(super) fn group_field(&self) -> Option<&'static str> {
        if !self.steps.is_empty() {
            Some("steps")
        } else if !self.headers.is_empty() {
            Some("headers")
        } else if self.slash {
            Some("slash")
        } else if self.base.is_some() {
            Some("base")
        } else if !self.env.is_empty() {
            Some("env")
        } else if !self.errors.is_empty() {
            Some("errors")
        } else {
            None
        }
    }

    /// Validate a group (its scope already canonical).
    pub(super) fn validate_group(mut self) -> Result<RuleSpec, RuleError> {
        let scope = self.scope.clone().unwrap_or_default();
        let group = |field: &str, reason: &str| RuleError::Group {
            field: field.to_owned(),
            reason: reason.to_owned(),
        };
        if !scope.ends_with('/') {
            return Err(group(
                "scope",
                "a scope is a directory and ends in `/`, e.g. \"/id/\"",
            ));
        }
        if !self.to.trim().is_empty() || !self.variants.is_empty() || self.gone {
            return Err(group(
                "to",
                "a group answers through its steps; move the target into a step",
            ));
        }
        compile_steps(&self.steps)?;
        compile_env(&self.env)?;
        for (i, e) in self.errors.iter().enumerate() {
            if !ANSWER_STATUSES.contains(&e.status)
                || !(e.to.starts_with("https://") || e.to.starts_with("http://"))
                || seeother_core::location::Location::parse(&e.to).is_err()
            {
                return Err(group(
                    &format!("errors[{i}]"),
                    "an error page is a status (403, 404, 406, 410) and an absolute http(s) URL",
                ));
            }
        }
        for (i, h) in self.headers.iter().enumerate() {
            if HeaderName::from_bytes(h.name.as_bytes()).is_err()
                || http::HeaderValue::from_str(&h.value).is_err()
            {
                return Err(group(
                    &format!("headers[{i}]"),
                    "not a valid header field name and value",
                ));
            }
        }
        if let Some(base) = &self.base
            && !base.starts_with('/')
        {
            return Err(group("base", "a base is a path and starts with `/`"));
        }
        self.status = 303;
        Ok(self)
    }
}

/// A compiled variable definition.
#[derive(Clone, Debug)]
pub struct CompiledEnv {
    /// The name.
    pub name: Box<str>,
    /// The value (none: unset).
    pub value: Option<StepTemplate>,
    /// What is tested.
    pub test: StepTemplate,
    /// The expression.
    pub regex: Arc<Expr>,
}

/// Compile a group's variables.
pub fn compile_env(env: &[super::EnvRule]) -> Result<Box<[CompiledEnv]>, RuleError> {
    env.iter()
        .enumerate()
        .map(|(i, e)| {
            Ok(CompiledEnv {
                name: e.name.as_str().into(),
                value: e
                    .value
                    .as_deref()
                    .map(|v| template(&format!("env[{i}].value"), v))
                    .transpose()?,
                test: template(&format!("env[{i}].test"), &e.test)?,
                regex: regex(&format!("env[{i}].regex"), &e.regex, e.nocase)?,
            })
        })
        .collect()
}

/// A group ready to run: its steps, the header fields its answers carry, its base.
#[derive(Clone, Debug)]
pub struct CompiledGroup {
    /// The steps in order.
    pub steps: Box<[CompiledStep]>,
    /// Header fields sent on every answer of the group (`always` ones: no answer of a
    /// redirect server is a success).
    pub headers: Box<[(HeaderName, http::HeaderValue)]>,
    /// Redirect the scope without its slash to the scope.
    pub slash: bool,
    /// What relative targets are taken below.
    pub base: Box<str>,
    /// The variables, set in order before the steps run.
    pub env: Box<[CompiledEnv]>,
    /// (status, URL): error answers redirected.
    pub errors: Box<[(u16, Box<str>)]>,
    /// The steps filed by the literal their matches start with (a group of many steps).
    pub filter: Option<super::StepFilter>,
}

impl CompiledGroup {
    /// The request header fields its steps and variables read (with repeats).
    pub fn reads(&self) -> impl Iterator<Item = &HeaderName> {
        let steps = self.steps.iter().flat_map(|s| {
            let when = s.when.iter().flat_map(|c| c.test.reads());
            let set = s.set.iter().flat_map(|(_, v)| v.reads());
            s.to.iter()
                .flat_map(StepTemplate::reads)
                .chain(when)
                .chain(set)
        });
        let env = self.env.iter().flat_map(|e| {
            e.test
                .reads()
                .chain(e.value.iter().flat_map(StepTemplate::reads))
        });
        steps.chain(env)
    }

    /// Compile a group of `scope`.
    pub fn new(
        scope: &str,
        steps: &[Step],
        headers: &[super::HeaderField],
        slash: bool,
        base: Option<&str>,
        env: &[super::EnvRule],
        errors: &[super::ErrorPage],
    ) -> Result<Self, RuleError> {
        Ok(CompiledGroup {
            errors: errors
                .iter()
                .map(|e| (e.status, e.to.as_str().into()))
                .collect(),
            env: compile_env(env)?,
            steps: compile_steps(steps)?,
            headers: headers
                .iter()
                .filter(|h| h.always)
                .filter_map(|h| {
                    Some((
                        HeaderName::from_bytes(h.name.as_bytes()).ok()?,
                        http::HeaderValue::from_str(&h.value).ok()?,
                    ))
                })
                .collect(),
            slash,
            base: base.unwrap_or(scope).into(),
            filter: super::StepFilter::new(steps),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_expression_is_compiled_once_while_a_rule_holds_it() {
        let a = regex("t", "^shared-[a-z]+$", false).unwrap();
        let b = regex("t", "^shared-[a-z]+$", false).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let nocase = regex("t", "^shared-[a-z]+$", true).unwrap();
        assert!(!Arc::ptr_eq(&a, &nocase));
        assert!(nocase.is_match("SHARED-X") && !a.is_match("SHARED-X"));
        let weak = Arc::downgrade(&a);
        drop((a, b));
        assert!(
            weak.upgrade().is_none(),
            "the map keeps no expression alive"
        );
        let again = regex("t", "^shared-[a-z]+$", false).unwrap();
        assert!(again.is_match("shared-x"));
        let e = regex("steps[0].regex", r"(a)\1", false).unwrap_err();
        assert!(e.to_string().contains("back-references"), "{e}");
    }
}
