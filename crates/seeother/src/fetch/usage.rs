//! Argument errors of `seeother fetch`: an unknown flag is answered with the closest one, not
//! clap's "to pass '-L' as a value, use '-- -L'" tip (which is never what a curl user meant).

/// The message for an unknown flag given to `fetch`, or `None` for any other error.
pub fn unknown_flag(error: &clap::Error, fetch: &clap::Command) -> Option<String> {
    if error.kind() != clap::error::ErrorKind::UnknownArgument {
        return None;
    }
    let given = match error.get(clap::error::ContextKind::InvalidArg)? {
        clap::error::ContextValue::String(s) => s.clone(),
        _ => return None,
    };
    // `--name=value`: the name is what is unknown.
    let name = given.split('=').next().unwrap_or(&given).to_owned();
    let mut message = format!("seeother fetch: unknown option '{name}'");
    match closest(&name, fetch) {
        Some(flag) => message.push_str(&format!("; the closest is {flag}")),
        None => message.push_str("; there is no option like it"),
    }
    message.push_str("\nSee 'seeother fetch --help' for the options.");
    Some(message)
}

/// The flag nearest to `given` by edit distance among the long names and aliases (and, for a
/// single letter, the short ones, case ignored), shown as `'--long' (-s)`.
fn closest(given: &str, fetch: &clap::Command) -> Option<String> {
    let mut best: Option<(usize, String)> = None;
    let short_given = given
        .strip_prefix('-')
        .filter(|s| !s.starts_with('-') && s.chars().count() == 1)
        .and_then(|s| s.chars().next());
    for arg in fetch.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        let shown = match arg.get_short() {
            Some(short) => format!("'--{long}' (-{short})"),
            None => format!("'--{long}'"),
        };
        let mut distance = usize::MAX;
        if let Some(c) = short_given {
            if arg.get_short().is_some_and(|s| s.eq_ignore_ascii_case(&c)) {
                distance = 0;
            }
        } else {
            let bare = given.trim_start_matches('-');
            let names = std::iter::once(long).chain(arg.get_all_aliases().into_iter().flatten());
            for name in names {
                distance = distance.min(strsim::damerau_levenshtein(bare, name));
            }
            // Nothing in common is no suggestion.
            if distance > bare.len().div_ceil(2).max(2) {
                continue;
            }
        }
        if distance != usize::MAX && best.as_ref().is_none_or(|(d, _)| distance < *d) {
            best = Some((distance, shown));
        }
    }
    best.map(|(_, shown)| shown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Arg, ArgAction, Command};

    fn command() -> Command {
        Command::new("fetch")
            .arg(
                Arg::new("location")
                    .short('L')
                    .long("location")
                    .action(ArgAction::SetTrue),
            )
            .arg(Arg::new("max-redirs").long("max-redirs"))
            .arg(
                Arg::new("insecure")
                    .short('k')
                    .long("insecure")
                    .action(ArgAction::SetTrue),
            )
    }

    #[test]
    fn the_closest_long_or_short_flag_is_named() {
        let c = command();
        assert_eq!(closest("--locaton", &c).unwrap(), "'--location' (-L)");
        assert_eq!(closest("--max-redir", &c).unwrap(), "'--max-redirs'");
        assert_eq!(closest("-l", &c).unwrap(), "'--location' (-L)");
        assert_eq!(closest("--frobnicate", &c), None);
    }
}
