//! serde's "unknown field" message, reworded for a person writing a rule: the fields one may
//! write (not `id` and `hits`, which the server sets), and the one probably meant.

/// Fields of a rule that the server sets and a rule file or API call has no reason to write.
const SERVER_FIELDS: &[&str] = &["id", "hits"];

/// `message` with serde's "unknown field `X`, expected one of `a`, `b`…" (or "expected `a` or
/// `b`") reworded: the closest field suggested, the list cut to the fields a user may write.
/// Any other message is returned as it is.
///
/// ```
/// use seeother_server::rules_file::unknown_field::explain;
///
/// let m = explain("unknown field `stauts`, expected one of `id`, `path`, `to`, `status`, `hits`");
/// assert_eq!(m, "unknown field `stauts`; did you mean `status`? The fields are: path, to, status");
/// assert_eq!(explain("invalid type: map"), "invalid type: map");
/// ```
pub fn explain(message: &str) -> String {
    let Some((field, expected, rest)) = parse(message) else {
        return message.to_owned();
    };
    // Only the rule's own list names `hits`: elsewhere an `id` may be a real field.
    let writable: Vec<&str> = if expected.contains(&"hits") {
        expected
            .iter()
            .copied()
            .filter(|f| !SERVER_FIELDS.contains(f))
            .collect()
    } else {
        expected
    };
    let mut out = format!("unknown field `{field}`");
    match closest(field, &writable) {
        Some(near) => out.push_str(&format!("; did you mean `{near}`? The fields are: ")),
        None => out.push_str("; the fields are: "),
    }
    if writable.is_empty() {
        out.push_str("none");
    }
    out.push_str(&writable.join(", "));
    out.push_str(rest);
    out
}

/// (the unknown field, the fields expected, what follows the list).
fn parse(message: &str) -> Option<(&str, Vec<&str>, &str)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, rest) = rest.split_once('`')?;
    let rest = rest.strip_prefix(", ")?;
    if rest.starts_with("there are no fields") {
        let end = "there are no fields".len();
        return Some((field, Vec::new(), &rest[end..]));
    }
    let mut list = rest
        .strip_prefix("expected one of ")
        .or_else(|| rest.strip_prefix("expected "))?;
    let mut names = Vec::new();
    loop {
        let inner = list.strip_prefix('`')?;
        let (name, after) = inner.split_once('`')?;
        names.push(name);
        if let Some(next) = after
            .strip_prefix(", ")
            .or_else(|| after.strip_prefix(" or "))
            .filter(|n| n.starts_with('`'))
        {
            list = next;
        } else {
            return Some((field, names, after));
        }
    }
}

/// The field nearest `field` by edit distance, when near enough to be a slip (a third of its
/// length, at least one edit) or when one is the other with a character case changed.
fn closest<'a>(field: &str, fields: &[&'a str]) -> Option<&'a str> {
    let lower = field.to_ascii_lowercase().replace('-', "_");
    fields
        .iter()
        .map(|f| (strsim::damerau_levenshtein(&lower, f), *f))
        .filter(|(d, f)| *d <= (f.len() / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, f)| f)
}

#[cfg(test)]
mod tests {
    use super::explain;

    #[test]
    fn a_rule_list_loses_the_server_fields_and_suggests_the_nearest() {
        let m = explain(
            "unknown field `cache-control`, expected one of `id`, `path`, `prefix`, `to`, `cache_control`, `hits` at line 1 column 17",
        );
        assert_eq!(
            m,
            "unknown field `cache-control`; did you mean `cache_control`? The fields are: path, prefix, to, cache_control at line 1 column 17"
        );
        assert_eq!(
            explain("unknown field `ids`, expected one of `id`, `path`, `to`"),
            "unknown field `ids`; did you mean `id`? The fields are: id, path, to"
        );
    }

    #[test]
    fn short_lists_and_no_suggestion() {
        assert_eq!(
            explain("unknown field `rule`, expected `rules` or `tests`"),
            "unknown field `rule`; did you mean `rules`? The fields are: rules, tests"
        );
        assert_eq!(
            explain("unknown field `zzzzzz`, expected one of `path`, `to`, `status`"),
            "unknown field `zzzzzz`; the fields are: path, to, status"
        );
    }
}
