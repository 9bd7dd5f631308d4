//! A rule file imported while it is read (`seeother import`): large enough for the bulk path
//! (the count of changes made once, not by the trigger), in each notation, with the same
//! store as the import of the parsed file gives; and a file with any problem, applied not at
//! all, with the problems the whole file's reading reports.

mod temp_dir;

use std::path::{Path, PathBuf};
use temp_dir::TempDir;

use seeother_server::import::{FileImportError, import_file_streamed};
use seeother_server::rule::RuleSpec;
use seeother_server::rules_file::{Format, stream};
use seeother_server::store::Store;

/// Enough rules for several chunks and the bulk path.
const N: usize = 3000;

fn rules_text(format: Format, n: usize, extra: &str) -> String {
    let mut s = String::new();
    match format {
        Format::Csv => {
            s.push_str("path,prefix,to\n");
            for i in 0..n {
                if i % 50 == 0 {
                    s.push_str(&format!(",/c/{i}/,https://example.org/c/{i}/\n"));
                } else {
                    s.push_str(&format!("/id/{i},,https://example.org/page/{i}\n"));
                }
            }
            s.push_str(extra);
        }
        Format::Toml => {
            for i in 0..n {
                s.push_str(&format!(
                    "[[rules]]\npath = \"/id/{i}\"\nto = \"https://example.org/page/{i}\"\n\n"
                ));
            }
            s.push_str(extra);
        }
        Format::Json => {
            s.push_str("{\"rules\": [\n");
            let rules: Vec<String> = (0..n)
                .map(|i| {
                    format!("{{\"path\": \"/id/{i}\", \"to\": \"https://example.org/page/{i}\"}}")
                })
                .collect();
            s.push_str(&rules.join(",\n"));
            s.push_str(extra);
            s.push_str("\n]}\n");
        }
    }
    s
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn all_rules(store: &Store) -> Vec<RuleSpec> {
    let mut rules = Vec::new();
    store
        .for_each_rule(|mut r| {
            r.id = None;
            r.hits = None;
            rules.push(r);
        })
        .unwrap();
    rules
}

#[test]
fn a_large_file_is_written_as_read_in_each_notation() {
    let dir = TempDir::new("each");
    for (format, ext) in [
        (Format::Csv, "csv"),
        (Format::Toml, "toml"),
        (Format::Json, "json"),
    ] {
        let path = write(&dir.0, &format!("rules.{ext}"), &rules_text(format, N, ""));
        // Read as it streams (not by the whole file's reading, which would give the same store).
        let mut given = 0;
        let plain = stream::read_file(&path, format, |chunk| {
            given += chunk.len();
            true
        });
        assert!(plain, "{ext}: read in chunks");
        assert_eq!(given, N, "{ext}");
        let store = Store::open(&dir.0.join(format!("{ext}.db"))).unwrap();
        let before = store.rules_changes().unwrap();
        let report = import_file_streamed(&store, &path, format, "import:rules").unwrap();
        assert_eq!(
            (report.created, report.updated, report.unchanged),
            (N, 0, 0)
        );
        assert_eq!(
            store.rules_changes().unwrap(),
            before + N as i64,
            "{ext}: one change per rule created"
        );

        // The same rules, in the file's order, as the import of the parsed file gives.
        let parsed = seeother_server::rules_file::read_path(&path, Some(format)).unwrap();
        let other = Store::in_memory().unwrap();
        other.import(&parsed, "import:rules").unwrap();
        assert_eq!(all_rules(&store), all_rules(&other), "{ext}");

        // Each rule's history says the import created it.
        let last = store.count().unwrap() as i64;
        let history = store.history(last).unwrap();
        assert_eq!(history.len(), 1, "{ext}");
        assert_eq!(history[0].action, "create");
        assert_eq!(history[0].actor, "import:rules");
        assert_eq!(history[0].new.as_ref().unwrap().to, parsed[N - 1].to);
        assert_eq!(
            history[0].new_target.as_deref(),
            Some(parsed[N - 1].to.as_str())
        );

        // The trigger counts single changes again.
        let a = store.get(1).unwrap().unwrap();
        store
            .update(1, &a.clone().without_server_fields(), "t")
            .unwrap();
        assert_eq!(store.rules_changes().unwrap(), before + N as i64 + 1);

        // Unchanged: skipped. One rule changed and one added: one update, one creation.
        let again = import_file_streamed(&store, &path, format, "import:rules").unwrap();
        assert!(!again.skipped, "{ext}: the store changed since");
        assert_eq!((again.created, again.updated, again.unchanged), (0, 0, N));
        let again = import_file_streamed(&store, &path, format, "import:rules").unwrap();
        assert!(again.skipped, "{ext}");
        let mut text = rules_text(format, N + 1, "");
        text = text.replacen(
            "https://example.org/page/7",
            "https://example.org/moved/7",
            1,
        );
        let path = write(&dir.0, &format!("rules.{ext}"), &text);
        let changed = import_file_streamed(&store, &path, format, "import:rules").unwrap();
        assert_eq!(
            (changed.created, changed.updated, changed.unchanged),
            (1, 1, N - 1),
            "{ext}"
        );
        assert_eq!(store.rules_changes().unwrap(), before + N as i64 + 3);
        assert_eq!(
            store.history(8).unwrap().len(),
            2,
            "{ext}: created, updated"
        );
    }
}

#[test]
fn a_file_with_a_problem_applies_nothing_and_says_where() {
    let dir = TempDir::new("bad");
    let store = Store::open(&dir.0.join("s.db")).unwrap();
    let before = store.rules_changes().unwrap();
    let cases = [
        (Format::Csv, "csv", "/id/5,,https://example.org/twice\n"),
        (Format::Csv, "csv", "/id/bad,,ftp://example.org/x\n"),
        (
            Format::Toml,
            "toml",
            "[[rules]]\npath = \"/id/5\"\nto = \"https://example.org/twice\"\n",
        ),
        (
            Format::Toml,
            "toml",
            "[[tests]]\nurl = \"/id/1\"\nexpect = { status = 303, location = \"https://example.org/wrong\" }\n",
        ),
        (
            Format::Json,
            "json",
            ",\n{\"path\": \"/id/x\", \"to\": \"https://example.org/x\", \"colour\": \"red\"}",
        ),
    ];
    for (format, ext, extra) in cases {
        let path = write(&dir.0, &format!("bad.{ext}"), &rules_text(format, N, extra));
        assert!(
            !stream::read_file(&path, format, |_| true),
            "{ext} {extra:?}: not read in chunks"
        );
        let err = match import_file_streamed(&store, &path, format, "import:bad") {
            Err(FileImportError::Read(e)) => e.to_string(),
            Err(FileImportError::Import(e)) => panic!("{ext}: {e}"),
            Ok(r) => panic!("{ext} {extra:?}: imported {r:?}"),
        };
        let whole = seeother_server::rules_file::tests::read_path_tested(&path, Some(format))
            .unwrap_err()
            .to_string();
        assert_eq!(err, whole, "{ext}: the whole file's report");
        let named = err
            .split(&format!("bad.{ext}:"))
            .nth(1)
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()));
        assert!(named, "{ext}: a line is named: {err}");
        assert_eq!(store.count().unwrap(), 0, "{ext}: nothing applied");
        assert_eq!(store.rules_changes().unwrap(), before);
    }
}

#[test]
fn only_the_plain_case_is_read_in_chunks() {
    let plain = |format: Format, text: &str| {
        let mut given = 0;
        let whole = stream::read(text.as_bytes(), format, 0, |chunk| {
            given += chunk.len();
            true
        });
        whole.then_some(given)
    };
    let rule = r#"{"path": "/a", "to": "https://example.org/a"}"#;
    assert_eq!(
        plain(Format::Json, &format!("[{rule}]")),
        Some(1),
        "a bare array"
    );
    assert_eq!(
        plain(Format::Json, &format!(" {{\"rules\": [{rule}]}} ")),
        Some(1)
    );
    assert_eq!(plain(Format::Json, r#"{"rules": []}"#), Some(0));
    for (text, why) in [
        (format!(r#"{{"rules": [{rule}], "tests": []}}"#), "tests"),
        (
            format!(r#"{{"tests": [], "rules": [{rule}]}}"#),
            "tests first",
        ),
        (
            format!(r#"{{"rules": [{rule}], "colour": 1}}"#),
            "an unknown key",
        ),
        (format!(r#"{{"rules": [{rule}, {rule}]}}"#), "one key twice"),
        (format!(r#"{{"rules": [{rule}]}} x"#), "text after"),
        ("{}".to_owned(), "no rules"),
    ] {
        assert_eq!(plain(Format::Json, &text), None, "{why}");
    }
    let table = "[[rules]]\npath = \"/a\"\nto = \"https://example.org/a\"\n";
    assert_eq!(plain(Format::Toml, &format!("# rules\n\n{table}")), Some(1));
    assert_eq!(plain(Format::Toml, "# nothing\n"), Some(0));
    for (text, why) in [
        (format!("title = \"x\"\n{table}"), "a key before the rules"),
        (
            format!("{table}[[tests]]\nurl = \"/a\"\nexpect = {{ status = 303 }}\n"),
            "tests",
        ),
        (format!("{table}colour = 1\n"), "an unknown field"),
        (format!("{table}{table}"), "one key twice"),
    ] {
        assert_eq!(plain(Format::Toml, &text), None, "{why}");
    }
    assert_eq!(
        plain(
            Format::Csv,
            "path,to\n# a comment\n/a,https://example.org/a\n"
        ),
        Some(1)
    );
    assert_eq!(
        plain(Format::Csv, "path,to,colour\n/a,https://example.org/a,1\n"),
        None
    );
    assert_eq!(
        plain(Format::Csv, "path,to\n/a,https://example.org/a,1\n"),
        None
    );
}
