//! nginx values with variables (`$1`, `$uri`, `${host}` …) as step templates.

/// A value translated into a step template.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Target {
    /// The template.
    pub to: String,
    /// It ended in `$request_uri` or `$is_args$args`: the request's query follows.
    pub keep_query: bool,
    /// It uses `$1` … (`{%1}` …: the groups of the step's condition).
    pub uses_captures: bool,
    /// It holds a decoded path (`$uri`, `$request_uri`), to be percent-encoded again.
    pub decoded: bool,
}

impl Target {
    /// Translate `text`; the error names the variable that has no translation.
    pub fn parse(text: &str) -> Result<Target, String> {
        let mut t = Target::default();
        let mut rest = text;
        while let Some(i) = rest.find(['$', '{', '}']) {
            t.to.push_str(&rest[..i]);
            let tail = &rest[i..];
            if let Some(b) = tail.strip_prefix('{') {
                t.to.push_str("{{");
                rest = b;
                continue;
            }
            if let Some(b) = tail.strip_prefix('}') {
                t.to.push_str("}}");
                rest = b;
                continue;
            }
            let after = &tail[1..];
            let (name, next) = if let Some(b) = after.strip_prefix('{') {
                let end = b.find('}').ok_or("a `${` without its `}`")?;
                (&b[..end], &b[end + 1..])
            } else {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                // `$1` is one digit: `$12` is $1 then "2".
                let end = if after.starts_with(|c: char| c.is_ascii_digit()) {
                    1.min(end)
                } else {
                    end
                };
                (&after[..end], &after[end..])
            };
            if name.is_empty() {
                t.to.push('$');
                rest = after;
                continue;
            }
            rest = next;
            // ngx_http_core_module, embedded variables.
            match name {
                n if n.len() == 1 && n.as_bytes()[0].is_ascii_digit() => {
                    t.to.push_str(&format!("{{%{n}}}"));
                    t.uses_captures = true;
                }
                "uri" | "document_uri" => {
                    t.to.push_str("/{0}");
                    t.decoded = true;
                }
                "request_uri" if rest.is_empty() => {
                    t.to.push_str("{path}");
                    t.keep_query = true;
                    t.decoded = true;
                }
                "is_args" if rest == "$args" || rest == "${args}" || rest == "$query_string" => {
                    t.keep_query = true;
                    rest = "";
                }
                "args" | "query_string" => t.to.push_str("{query}"),
                "host" => t.to.push_str("{host}"),
                "scheme" => t.to.push_str("{scheme}"),
                "request_method" => t.to.push_str("{method}"),
                h if h.starts_with("http_") => {
                    t.to.push_str(&format!("{{header:{}}}", h[5..].replace('_', "-")));
                }
                other => return Err(format!("the variable ${other} has no translation")),
            }
        }
        t.to.push_str(rest);
        Ok(t)
    }

    /// A redirect target nginx sends as a URL: absolute, or a path (made absolute by nginx,
    /// kept relative by seeother: the same URL once resolved).
    pub fn check_url(&self) -> Result<(), String> {
        let to = self.to.to_ascii_lowercase();
        if to.starts_with('/')
            || to.starts_with("http://")
            || to.starts_with("https://")
            || to.starts_with("{scheme}://")
        {
            Ok(())
        } else {
            Err(format!(
                "{:?} is neither a path nor an absolute URL (nginx would put it after its own scheme and host)",
                self.to
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables() {
        let t = Target::parse("https://$host$request_uri").unwrap();
        assert_eq!(
            (t.to.as_str(), t.keep_query),
            ("https://{host}{path}", true)
        );
        let t = Target::parse("$scheme://x/$1/${2}z$uri$is_args$args").unwrap();
        assert_eq!(t.to, "{scheme}://x/{%1}/{%2}z/{0}");
        assert!(t.keep_query && t.uses_captures);
        assert_eq!(Target::parse("/a{b}").unwrap().to, "/a{{b}}");
        assert!(
            Target::parse("/$cookie_x")
                .unwrap_err()
                .contains("$cookie_x")
        );
        assert_eq!(Target::parse("/$12").unwrap().to, "/{%1}2");
    }
}
