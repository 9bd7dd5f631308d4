//! mod_rewrite's file tests (`RewriteCond %{REQUEST_FILENAME} -f`, `-d` …) decided from the
//! imported tree: seeother serves no files, but the tree says which paths are directories and
//! files on Apache's disk, so a test becomes a condition on the request path that lists them.

use std::path::Path;

use crate::rule::{Condition, Step};

use super::rewrite::Untranslated;

/// What is on disk under the imported tree, by URL path (no final slash; `""` is the root).
#[derive(Clone, Debug, Default)]
pub struct Tree {
    /// The directories.
    pub dirs: Vec<String>,
    /// The regular files: path, size, executable.
    pub files: Vec<(String, u64, bool)>,
    /// The symbolic links.
    pub links: Vec<String>,
}

impl Tree {
    /// Record what `dir` (the URL path `url`, without final slash) holds.
    pub fn add(&mut self, url: &str, entry: &std::fs::DirEntry) {
        let name = entry.file_name();
        let path = format!("{url}/{}", name.to_string_lossy());
        let Ok(kind) = entry.file_type() else {
            return;
        };
        if kind.is_symlink() {
            self.links.push(path.clone());
        }
        // apr_stat follows links for every test but -l / -L.
        let Ok(meta) = std::fs::metadata(entry.path()) else {
            return;
        };
        if meta.is_file() {
            use std::os::unix::fs::PermissionsExt;
            let exec = meta.permissions().mode() & 0o111 != 0;
            self.files.push((path, meta.len(), exec));
        }
    }
}

/// Whether `pattern` is one of the file tests mod_rewrite knows (RewriteCond, CondPattern
/// `-d`, `-f`, `-s`, `-l`, `-L`, `-h`, `-H`, `-x`, `-F`, `-U`).
pub fn is_file_test(pattern: &str) -> bool {
    matches!(
        pattern,
        "-d" | "-f" | "-s" | "-l" | "-L" | "-x" | "-F" | "-U" | "-h" | "-H"
    )
}

/// The test strings that name the requested file: per-directory, `%{REQUEST_FILENAME}` (and
/// `%{SCRIPT_FILENAME}`, the same there) or the document root followed by the URL path.
fn names_requested_file(test: &str) -> bool {
    matches!(
        test,
        "%{REQUEST_FILENAME}"
            | "%{SCRIPT_FILENAME}"
            | "%{DOCUMENT_ROOT}%{REQUEST_URI}"
            | "%{DOCUMENT_ROOT}/%{REQUEST_URI}"
    )
}

/// A regular expression matching nothing (an empty class).
const NOTHING: &str = r"[^\s\S]";

fn alternatives<'a>(paths: impl Iterator<Item = &'a str>, scope: &str, tail: &str) -> String {
    let below = scope.trim_end_matches('/');
    let mut any = false;
    let mut out = String::from("^(?:");
    for p in paths.filter(|p| *p == below || p.starts_with(scope)) {
        if any {
            out.push('|');
        }
        any = true;
        out.push_str(&regex::escape(p));
    }
    if !any {
        return NOTHING.to_owned();
    }
    out.push(')');
    out.push_str(tail);
    out
}

/// `RewriteCond TEST -d` (or another file test) in the directory `scope`, as a condition on
/// `{path}` listing what `tree` holds there. Files whose names start with `.ht` are left out:
/// the server configuration refuses them (403) before any rule runs.
pub fn condition(
    test: &str,
    op: &str,
    negate: bool,
    scope: &str,
    tree: Option<&Tree>,
) -> Result<Condition, Untranslated> {
    if matches!(op, "-F" | "-U") {
        return Err(format!(
            "the test {op} asks the server itself (a subrequest) whether the path would be served, which has no translation"
        ));
    }
    let Some(tree) = tree else {
        return Err(format!(
            "the file test {op} is decided from the imported tree, and one file has none; import the directory tree instead of --at"
        ));
    };
    if !names_requested_file(test) {
        return Err(format!(
            "the file test {op} on {test:?} has no translation (only the requested file, %{{REQUEST_FILENAME}}, is known from the imported tree)"
        ));
    }
    let shown = |p: &&str| {
        !p.rsplit('/')
            .next()
            .is_some_and(|name| name.starts_with(".ht"))
    };
    // A file's name followed by more path is still that file (the rest is path info).
    let file_tail = "(?:/.*)?$";
    let regex = match op {
        // A directory, asked for with or without its final slash.
        "-d" => alternatives(tree.dirs.iter().map(String::as_str), scope, "/?$"),
        "-f" => alternatives(
            tree.files.iter().map(|(p, _, _)| p.as_str()).filter(shown),
            scope,
            file_tail,
        ),
        "-s" => alternatives(
            tree.files
                .iter()
                .filter(|(_, size, _)| *size > 0)
                .map(|(p, _, _)| p.as_str())
                .filter(shown),
            scope,
            file_tail,
        ),
        "-x" => alternatives(
            tree.files
                .iter()
                .filter(|(_, _, exec)| *exec)
                .map(|(p, _, _)| p.as_str())
                .filter(shown),
            scope,
            file_tail,
        ),
        // -l, -L, -h, -H: a symbolic link.
        _ => alternatives(tree.links.iter().map(String::as_str), scope, "/?$"),
    };
    Ok(Condition {
        test: "{path}".to_owned(),
        regex,
        negate,
        ..Condition::default()
    })
}

/// mod_dir: DirectorySlash, for the directories on disk below `scope` that have no file of
/// their own (`owned`: the directories that do, as scopes): a step, after every other, that
/// redirects each asked for without its final slash to it (301), as mod_dir does when no rule
/// changed the request. `None` when there are none.
pub fn slash_step(tree: &Tree, scope: &str, owned: &[&str]) -> Option<Step> {
    let mut names = Vec::new();
    for d in &tree.dirs {
        let Some(rel) = d.strip_prefix(scope) else {
            continue;
        };
        // The nearest directory with a file is this scope: none in between has one.
        let mut at = scope.to_owned();
        let mut own = false;
        for part in rel.split('/') {
            at.push_str(part);
            at.push('/');
            own |= owned.contains(&at.as_str());
        }
        if !own && !rel.is_empty() {
            names.push(regex::escape(rel));
        }
    }
    if names.is_empty() {
        return None;
    }
    let target = scope.replace('{', "{{").replace('}', "}}");
    Some(Step {
        regex: format!("^({})$", names.join("|")),
        to: format!("{target}{{1}}/"),
        status: Some(301),
        last: true,
        ..Step::default()
    })
}

/// Walk `dir` (the URL path `url`) into `tree`.
pub fn scan(dir: &Path, url: &str, tree: &mut Tree) -> std::io::Result<()> {
    tree.dirs.push(url.to_owned());
    let mut subdirs = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        tree.add(url, &entry);
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            subdirs.push((entry.path(), entry.file_name()));
        }
    }
    subdirs.sort();
    for (path, name) in subdirs {
        scan(&path, &format!("{url}/{}", name.to_string_lossy()), tree)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> Tree {
        Tree {
            dirs: vec!["".into(), "/d".into(), "/d/sub".into(), "/other".into()],
            files: vec![
                ("/d/notes.txt".into(), 5, false),
                ("/d/empty".into(), 0, true),
                ("/d/.htaccess".into(), 40, false),
                ("/other/x".into(), 1, false),
            ],
            links: vec!["/d/link".into()],
        }
    }

    fn passes(c: &Condition, path: &str) -> bool {
        regex::Regex::new(&c.regex).unwrap().is_match(path) != c.negate
    }

    #[test]
    fn file_tests_are_decided_from_the_tree_below_the_directory() {
        let t = tree();
        // mod_rewrite: RewriteCond, CondPattern -d: "is directory".
        let d = condition("%{REQUEST_FILENAME}", "-d", false, "/d/", Some(&t)).unwrap();
        assert!(passes(&d, "/d/sub") && passes(&d, "/d/sub/") && passes(&d, "/d/"));
        assert!(!passes(&d, "/d/subx") && !passes(&d, "/d/notes.txt"));
        // -f: "is regular file"; a path below a file is that file (the rest is path info);
        // `.ht*` files never reach the rules.
        let f = condition("%{REQUEST_FILENAME}", "-f", true, "/d/", Some(&t)).unwrap();
        assert!(!passes(&f, "/d/notes.txt") && !passes(&f, "/d/notes.txt/more"));
        assert!(passes(&f, "/d/notes.txtx") && passes(&f, "/d/.htaccess"));
        assert!(
            passes(&f, "/other/x"),
            "only the directory's own subtree is listed"
        );
        // -s: "is regular file, with size"; -x: "has executable permissions"; -l: "is
        // symbolic link".
        let s = condition("%{REQUEST_FILENAME}", "-s", false, "/d/", Some(&t)).unwrap();
        assert!(passes(&s, "/d/notes.txt") && !passes(&s, "/d/empty"));
        let x = condition("%{SCRIPT_FILENAME}", "-x", false, "/d/", Some(&t)).unwrap();
        assert!(passes(&x, "/d/empty") && !passes(&x, "/d/notes.txt"));
        let l = condition(
            "%{DOCUMENT_ROOT}%{REQUEST_URI}",
            "-l",
            false,
            "/d/",
            Some(&t),
        );
        assert!(passes(&l.unwrap(), "/d/link"));
        // Nothing listed: -f never passes, !-f always.
        let none = condition("%{REQUEST_FILENAME}", "-f", false, "/d/sub/", Some(&t)).unwrap();
        assert!(!passes(&none, "/d/sub/a"));
        let not = condition("%{REQUEST_FILENAME}", "-f", true, "/d/sub/", Some(&t)).unwrap();
        assert!(passes(&not, "/d/sub/a"));
        // What the tree cannot say is reported.
        let why = condition("%{REQUEST_URI}", "-U", false, "/d/", Some(&t)).unwrap_err();
        assert!(why.contains("subrequest"), "{why}");
        let why = condition("%{HTTP_HOST}", "-f", false, "/d/", Some(&t)).unwrap_err();
        assert!(why.contains("REQUEST_FILENAME"), "{why}");
        let why = condition("%{REQUEST_FILENAME}", "-d", false, "/d/", None).unwrap_err();
        assert!(why.contains("--at"), "{why}");
    }

    #[test]
    fn directories_without_a_file_of_their_own_get_the_slash_redirect() {
        // mod_dir: DirectorySlash: "/d/sub" names a directory on disk, so it is redirected to
        // "/d/sub/"; "/other" has its own file, whose group gives its redirect.
        let mut t = tree();
        t.dirs.push("/d/sub/deeper".into());
        t.dirs.push("/other/x.y".into());
        let step = slash_step(&t, "/d/", &["/", "/d/", "/other/"]).unwrap();
        assert_eq!(step.regex, r"^(sub|sub/deeper)$");
        assert_eq!((step.to.as_str(), step.status), ("/d/{1}/", Some(301)));
        let root = slash_step(&t, "/", &["/", "/d/", "/other/"]);
        assert!(root.is_none(), "{root:?}");
        let other = slash_step(&t, "/other/", &["/", "/d/", "/other/"]).unwrap();
        assert_eq!(other.regex, r"^(x\.y)$");
    }
}
