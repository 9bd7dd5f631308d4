//! Reading an `.htaccess` file as Apache httpd 2.4 reads it: directives with continuation
//! lines, quoted arguments, blocks; the syntax errors that make Apache refuse the file (it then
//! answers 500 for the whole directory).

/// One directive: its line, lower-case name and arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directive {
    /// The line it starts on.
    pub line: usize,
    /// The name, lower case.
    pub name: String,
    /// The arguments, unquoted.
    pub args: Vec<String>,
    /// What follows the name, as written (mod_rewrite splits it itself).
    pub raw: String,
}

/// A file read: its directives, and the blocks left out (line, what).
#[derive(Clone, Debug, Default)]
pub struct Parsed {
    /// The directives, blocks that always apply (`<IfModule>`) flattened.
    pub directives: Vec<Directive>,
    /// Blocks whose content applies only sometimes (`<If>`, `<Files>` …), left out.
    pub skipped: Vec<(usize, String)>,
}

/// Directives Apache accepts in `.htaccess` with core, mod_rewrite, mod_alias, mod_headers,
/// mod_setenvif, mod_dir, mod_mime and mod_authz_core loaded.
const KNOWN: &[&str] = &[
    "rewriteengine",
    "rewriterule",
    "rewritecond",
    "rewritebase",
    "rewriteoptions",
    "redirect",
    "redirectmatch",
    "redirectpermanent",
    "redirecttemp",
    "header",
    "requestheader",
    "setenvif",
    "setenvifnocase",
    "browsermatch",
    "browsermatchnocase",
    "directoryslash",
    "directoryindex",
    "directoryindexredirect",
    "fallbackresource",
    "errordocument",
    "options",
    "addtype",
    "adddefaultcharset",
    "defaultlanguage",
    "addcharset",
    "addencoding",
    "addlanguage",
    "addhandler",
    "addoutputfilter",
    "forcetype",
    "removetype",
    "removehandler",
    "sethandler",
    "defaulttype",
    "require",
    "filesmatch",
    "serversignature",
    "fileetag",
    "contentdigest",
    "acceptpathinfo",
];

/// Apache's `ap_getword_conf`: words split on white space, `"…"` and `'…'` quoted, `\` before
/// the quote character keeps it.
pub fn split_args(line: &str) -> Vec<String> {
    let b: Vec<char> = line.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && b[i].is_whitespace() {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let mut word = String::new();
        if b[i] == '"' || b[i] == '\'' {
            let q = b[i];
            i += 1;
            while i < b.len() && b[i] != q {
                if b[i] == '\\' && i + 1 < b.len() && (b[i + 1] == q || b[i + 1] == '\\') {
                    i += 1;
                }
                word.push(b[i]);
                i += 1;
            }
            i += 1;
        } else {
            while i < b.len() && !b[i].is_whitespace() {
                word.push(b[i]);
                i += 1;
            }
        }
        out.push(word);
    }
    out
}

/// mod_rewrite's `parseargline`: the (at most three) words of a `RewriteRule` or `RewriteCond`.
/// A word may be quoted (`"…"` or `'…'`, up to the same quote); a backslash before white space
/// keeps the space in the word (the backslash stays too, for the regular expression); nothing
/// else is unescaped. What follows the third word is ignored.
pub fn rewrite_args(raw: &str) -> Vec<String> {
    let b = raw.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while out.len() < 3 {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        let quote = (b[i] == b'"' || b[i] == b'\'').then(|| b[i]);
        if quote.is_some() {
            i += 1;
        }
        let start = i;
        while i < b.len() {
            let c = b[i];
            if (c.is_ascii_whitespace() && quote.is_none()) || Some(c) == quote {
                break;
            }
            if c == b'\\' && b.get(i + 1).is_some_and(u8::is_ascii_whitespace) {
                i += 1;
            }
            i += 1;
        }
        out.push(String::from_utf8_lossy(&b[start..i.min(b.len())]).into_owned());
        // Past the closing quote or the white space.
        i += 1;
    }
    out
}

/// Read `text`, or give the line and message of the first error Apache stops at.
pub fn parse(text: &str) -> Result<Parsed, (usize, String)> {
    let mut parsed = Parsed::default();
    // Blocks open now: whether each one's content is kept.
    let mut blocks: Vec<(String, bool)> = Vec::new();
    let mut pending = String::new();
    let mut start = 0;
    for (no, raw) in text.lines().enumerate() {
        let no = no + 1;
        if pending.is_empty() {
            start = no;
        }
        // Apache: a line ending in `\` continues on the next.
        if let Some(head) = raw.strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
            continue;
        }
        pending.push_str(raw);
        let line = std::mem::take(&mut pending);
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let keep = blocks.iter().all(|(_, k)| *k);
        if let Some(close) = line.strip_prefix("</") {
            let name = close.trim_end_matches('>').trim().to_ascii_lowercase();
            match blocks.pop() {
                Some((open, _)) if open == name => continue,
                _ => {
                    return Err((
                        start,
                        format!("</{name}> without matching <{name}> section"),
                    ));
                }
            }
        }
        if let Some(open) = line.strip_prefix('<') {
            let Some(open) = open.strip_suffix('>') else {
                return Err((start, format!("<{open} directive missing closing '>'")));
            };
            let name = open
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_lowercase();
            let kept = match name.as_str() {
                // The modules translated are loaded, so their <IfModule> content applies.
                "ifmodule" => !open.contains('!'),
                "if" | "elseif" | "else" | "files" | "filesmatch" | "limit" | "limitexcept"
                | "ifdefine" | "ifversion" | "requireall" | "requireany" => {
                    if keep {
                        parsed.skipped.push((start, format!("<{open}>")));
                    }
                    false
                }
                _ => return Err((start, format!("invalid command '<{name}'"))),
            };
            blocks.push((name, kept));
            continue;
        }
        let args = split_args(line);
        let name = args[0].to_ascii_lowercase();
        if !KNOWN.contains(&name.as_str()) {
            return Err((
                start,
                format!(
                    "invalid command '{}', perhaps misspelled or defined by a module not included in the server configuration",
                    args[0]
                ),
            ));
        }
        if keep {
            let raw = line[line.find(char::is_whitespace).unwrap_or(line.len())..]
                .trim()
                .to_owned();
            parsed.directives.push(Directive {
                line: start,
                name,
                args: args[1..].to_vec(),
                raw,
            });
        }
    }
    if let Some((open, _)) = blocks.last() {
        return Err((start, format!("<{open}> section is not closed")));
    }
    Ok(parsed)
}
