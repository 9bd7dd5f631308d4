//! nginx's configuration syntax: directives ending in `;`, blocks in `{ }`, quotes, `#`
//! comments, as `ngx_conf_read_token` reads them.

/// One directive: its name, arguments and block (for `server { … }`, `location … { … }`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directive {
    /// The name as written.
    pub name: String,
    /// The arguments, quotes removed and escapes resolved.
    pub args: Vec<String>,
    /// The line it starts on (1-based).
    pub line: usize,
    /// The block's directives, for a block directive.
    pub block: Option<Vec<Directive>>,
}

struct Lexer<'a> {
    text: &'a [u8],
    pos: usize,
    line: usize,
}

#[derive(Debug, PartialEq, Eq)]
enum Token {
    Word(String),
    Semicolon,
    Open,
    Close,
}

impl Lexer<'_> {
    /// The next token and its line; `None` at the end.
    fn next(&mut self) -> Result<Option<(Token, usize)>, (usize, String)> {
        // Blanks and comments between tokens.
        loop {
            match self.text.get(self.pos) {
                None => return Ok(None),
                Some(b'\n') => {
                    self.line += 1;
                    self.pos += 1;
                }
                Some(c) if c.is_ascii_whitespace() => self.pos += 1,
                Some(b'#') => {
                    while self.text.get(self.pos).is_some_and(|c| *c != b'\n') {
                        self.pos += 1;
                    }
                }
                Some(_) => break,
            }
        }
        let line = self.line;
        let c = self.text[self.pos];
        match c {
            b';' => {
                self.pos += 1;
                return Ok(Some((Token::Semicolon, line)));
            }
            b'{' => {
                self.pos += 1;
                return Ok(Some((Token::Open, line)));
            }
            b'}' => {
                self.pos += 1;
                return Ok(Some((Token::Close, line)));
            }
            _ => {}
        }
        let mut word = Vec::new();
        if c == b'"' || c == b'\'' {
            self.pos += 1;
            loop {
                match self.text.get(self.pos) {
                    None => return Err((line, "a quoted string without its closing quote".into())),
                    Some(&q) if q == c => {
                        self.pos += 1;
                        break;
                    }
                    Some(b'\\') => self.escape(&mut word),
                    Some(&b) => {
                        if b == b'\n' {
                            self.line += 1;
                        }
                        word.push(b);
                        self.pos += 1;
                    }
                }
            }
            // nginx: a quoted string must be followed by a space, `;` or `{`.
            if let Some(n) = self.text.get(self.pos)
                && !(n.is_ascii_whitespace() || matches!(n, b';' | b'{' | b'}'))
            {
                return Err((
                    line,
                    format!("unexpected \"{}\" after a quoted string", *n as char),
                ));
            }
        } else {
            while let Some(&b) = self.text.get(self.pos) {
                if b.is_ascii_whitespace() || b == b';' || b == b'}' {
                    break;
                }
                // `${name}` keeps its braces; any other `{` opens a block.
                if b == b'{' && !word.ends_with(b"$") {
                    break;
                }
                if b == b'{' {
                    while let Some(&b) = self.text.get(self.pos) {
                        word.push(b);
                        self.pos += 1;
                        if b == b'}' {
                            break;
                        }
                    }
                    continue;
                }
                if b == b'\\' {
                    self.escape(&mut word);
                    continue;
                }
                word.push(b);
                self.pos += 1;
            }
        }
        Ok(Some((
            Token::Word(String::from_utf8_lossy(&word).into_owned()),
            line,
        )))
    }

    /// A backslash: `\"`, `\'` and `\\` lose it, `\t` `\r` `\n` are control characters,
    /// anything else keeps it (so regexes keep `\d`, `\.`).
    fn escape(&mut self, word: &mut Vec<u8>) {
        let next = self.text.get(self.pos + 1).copied();
        match next {
            Some(q @ (b'"' | b'\'' | b'\\')) => {
                word.push(q);
                self.pos += 2;
            }
            Some(b't') => {
                word.push(b'\t');
                self.pos += 2;
            }
            Some(b'r') => {
                word.push(b'\r');
                self.pos += 2;
            }
            Some(b'n') => {
                word.push(b'\n');
                self.pos += 2;
            }
            _ => {
                word.push(b'\\');
                self.pos += 1;
            }
        }
    }
}

/// Parse a configuration file; the error gives the line and what nginx would say.
pub fn parse(text: &str) -> Result<Vec<Directive>, (usize, String)> {
    let mut lexer = Lexer {
        text: text.as_bytes(),
        pos: 0,
        line: 1,
    };
    let (block, end) = block(&mut lexer, 0)?;
    if let Some(line) = end {
        return Err((line, "unexpected \"}\"".into()));
    }
    Ok(block)
}

/// Directives up to the `}` closing the block (its line) or the end of the file (`None`).
fn block(
    lexer: &mut Lexer<'_>,
    depth: usize,
) -> Result<(Vec<Directive>, Option<usize>), (usize, String)> {
    if depth > 32 {
        return Err((lexer.line, "blocks nested too deep".into()));
    }
    let mut out = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut start = 0;
    loop {
        let Some((token, line)) = lexer.next()? else {
            if !words.is_empty() {
                return Err((
                    start,
                    "unexpected end of file, expecting \";\" or \"}\"".into(),
                ));
            }
            if depth > 0 {
                return Err((lexer.line, "unexpected end of file, expecting \"}\"".into()));
            }
            return Ok((out, None));
        };
        match token {
            Token::Word(w) => {
                if words.is_empty() {
                    start = line;
                }
                words.push(w);
            }
            Token::Semicolon | Token::Open if words.is_empty() => {
                return Err((line, "unexpected \";\" or \"{\" without a directive".into()));
            }
            Token::Semicolon => {
                let name = words.remove(0);
                out.push(Directive {
                    name,
                    args: std::mem::take(&mut words),
                    line: start,
                    block: None,
                });
            }
            Token::Open => {
                let name = words.remove(0);
                let args = std::mem::take(&mut words);
                let (inner, end) = block(lexer, depth + 1)?;
                if end.is_none() {
                    return Err((lexer.line, "unexpected end of file, expecting \"}\"".into()));
                }
                out.push(Directive {
                    name,
                    args,
                    line: start,
                    block: Some(inner),
                });
            }
            Token::Close => {
                if !words.is_empty() {
                    return Err((line, "unexpected \"}\"".into()));
                }
                if depth == 0 {
                    return Err((line, "unexpected \"}\"".into()));
                }
                return Ok((out, Some(line)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_quotes_and_comments() {
        let d = parse(
            "server { # c\n  location ~ \"^/a{2}$\" { return 301 '/b c'; }\n  rewrite ^/x\\.y$ ${scheme}://h/ permanent;\n}\n",
        )
        .unwrap();
        let server = d[0].block.as_ref().unwrap();
        assert_eq!(server[0].args, ["~", "^/a{2}$"]);
        assert_eq!(server[0].line, 2);
        assert_eq!(server[0].block.as_ref().unwrap()[0].args, ["301", "/b c"]);
        assert_eq!(server[1].args, ["^/x\\.y$", "${scheme}://h/", "permanent"]);
        assert_eq!(server[1].line, 3);
    }

    #[test]
    fn errors_have_lines() {
        assert_eq!(parse("server {\n return 301 /x;\n").unwrap_err().0, 3);
        assert_eq!(parse("return 301 /x\n").unwrap_err().0, 1);
        assert_eq!(parse("a;\n}\n").unwrap_err().0, 2);
    }
}
