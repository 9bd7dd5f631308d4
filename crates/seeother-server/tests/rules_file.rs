//! Rule files: the three notations carry the same rules; problems are reported by line.

use seeother_server::rules_file::{Format, parse, write};

const TOML: &str = r#"
[[rules]]
path = "/id/berlin"
to = "https://example.org/page/berlin"
described_by = true
cache_control = "max-age=60"

[[rules.variants]]
type = "text/turtle"
to = "https://example.org/data/berlin.ttl"

[[rules]]
prefix = "/docs/"
to = "https://new.example.org/manual/"
status = 308
query = "drop"
host = "ID.example.org"

[[rules]]
pattern = "/id/{name}"
to = "/page/{name}"
gone = true
"#;

const JSON: &str = r#"{"rules": [
  {"path": "/id/berlin", "to": "https://example.org/page/berlin", "described_by": true,
   "cache_control": "max-age=60",
   "variants": [{"type": "text/turtle", "to": "https://example.org/data/berlin.ttl"}]},
  {"prefix": "/docs/", "to": "https://new.example.org/manual/", "status": 308, "query": "drop",
   "host": "id.example.org"},
  {"pattern": "/id/{name}", "to": "/page/{name}", "gone": true}
]}"#;

const CSV: &str = "path,prefix,pattern,to,status,query,host,variants,cache_control,described_by,gone
/id/berlin,,,https://example.org/page/berlin,,,,text/turtle=https://example.org/data/berlin.ttl,max-age=60,true,
,/docs/,,https://new.example.org/manual/,308,drop,id.example.org,,,,
,,/id/{name},/page/{name},,,,,,,yes
";

#[test]
fn the_three_notations_say_the_same() {
    let toml = parse(TOML, Format::Toml, "r.toml").unwrap();
    let json = parse(JSON, Format::Json, "r.json").unwrap();
    let csv = parse(CSV, Format::Csv, "r.csv").unwrap();
    assert_eq!(toml.len(), 3);
    assert_eq!(toml, json);
    assert_eq!(toml, csv);
    assert_eq!(toml[1].host.as_deref(), Some("id.example.org"));
    assert_eq!(toml[0].variants[0].media_type, "text/turtle");
    // A bare JSON array works too.
    let bare = JSON
        .trim_start_matches("{\"rules\": ")
        .trim_end_matches('}');
    assert_eq!(parse(bare, Format::Json, "r.json").unwrap(), toml);
}

#[test]
fn written_files_read_back_the_same() {
    let rules = parse(TOML, Format::Toml, "r.toml").unwrap();
    for format in [Format::Toml, Format::Json, Format::Csv] {
        let text = write(&rules, format);
        assert_eq!(
            parse(&text, format, "out").unwrap(),
            rules,
            "{format:?}:\n{text}"
        );
    }
}

#[test]
fn problems_are_reported_by_line_and_nothing_is_returned() {
    let toml = "[[rules]]\npath = \"/a\"\nto = \"/b\"\n\n[[rules]]\npath = \"/c\"\nto = \"javascript:alert(1)\"\n\n[[rules]]\nprefix = \"/d/\"\npath = \"/e\"\nto = \"/f\"\n";
    let err = parse(toml, Format::Toml, "bad.toml").unwrap_err();
    let lines: Vec<Option<usize>> = err.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, [Some(5), Some(9)]);
    let text = err.to_string();
    assert!(
        text.contains("bad.toml:5: `to` is refused: it uses the `javascript:` scheme"),
        "{text}"
    );
    assert!(
        text.contains("bad.toml:9: the rule has more than one"),
        "{text}"
    );
    assert!(
        text.ends_with("nothing from this file was applied"),
        "{text}"
    );

    let err = parse(
        "[[rules]]\npath = \"/a\"\nto = \"/b\"\ncolour = \"red\"\n",
        Format::Toml,
        "x.toml",
    )
    .unwrap_err();
    assert_eq!(err.errors[0].line, Some(4));
    assert!(err.errors[0].message.contains("colour"));

    let json = "{\"rules\": [\n{\"path\": \"/a\", \"to\": \"/b\"},\n{\"path\": \"/a\", \"to\": \"/c\"},\n{\"path\": \"/x\", \"to\": \"/y\", \"status\": 200}\n]}";
    let err = parse(json, Format::Json, "x.json").unwrap_err();
    let got: Vec<(Option<usize>, bool)> = err
        .errors
        .iter()
        .map(|e| {
            (
                e.line,
                e.message.contains("line 2") || e.message.contains("status"),
            )
        })
        .collect();
    assert_eq!(got, [(Some(3), true), (Some(4), true)], "{err}");

    let csv = "path,to,status\n/a,/b,303\n/c,/d,abc\n/e,/f\\u{0}\n";
    let err = parse(csv, Format::Csv, "x.csv").unwrap_err();
    assert_eq!(err.errors[0].line, Some(3), "{err}");
    let err = parse("path,target\n/a,/b\n", Format::Csv, "x.csv").unwrap_err();
    assert!(err.errors[0].message.contains("unknown: target"), "{err}");
}

#[test]
fn formats_by_name_extension_and_media_type() {
    assert_eq!(
        Format::from_path("a/rules.TOML".as_ref()),
        Some(Format::Toml)
    );
    assert_eq!(Format::from_path("rules.csv".as_ref()), Some(Format::Csv));
    assert_eq!(Format::from_path("rules.txt".as_ref()), None);
    assert_eq!(
        Format::from_media_type("application/json; charset=utf-8"),
        Some(Format::Json)
    );
    assert_eq!(Format::from_media_type("text/csv"), Some(Format::Csv));
    assert_eq!(Format::from_name("yaml"), None);
}

/// Deep in a large file, in each notation, a problem is reported on its own line and a rule
/// repeated far below names the line of the first (lines are found in one pass: reading is
/// linear in the file's size).
#[test]
fn large_files_report_problems_on_their_lines() {
    let n = 20_000;
    let rule = |i: usize| (format!("/id/{i}"), format!("https://example.org/{i}"));
    let bad = 15_000;
    let to = |i: usize| {
        if i == bad {
            "javascript:x".to_owned()
        } else {
            rule(i).1
        }
    };
    // (text, line of rule i)
    let mut toml = String::new();
    let mut json = String::from("{\"rules\": [\n");
    let mut csv = String::from("path,to\n");
    for i in 0..=n {
        // Rule n repeats rule 7.
        let path = rule(if i == n { 7 } else { i }).0;
        toml.push_str(&format!(
            "[[rules]]\npath = \"{path}\"\nto = \"{}\"\n\n",
            to(i)
        ));
        let sep = if i == n { "" } else { "," };
        json.push_str(&format!(
            "{{\"path\": \"{path}\", \"to\": \"{}\"}}{sep}\n",
            to(i)
        ));
        csv.push_str(&format!("{path},{}\n", to(i)));
    }
    json.push_str("]}\n");
    // The line rule `i` starts on, in each notation.
    type LineOf = fn(usize) -> usize;
    let cases: [(Format, &str, LineOf); 3] = [
        (Format::Toml, &toml, |i| 4 * i + 1),
        (Format::Json, &json, |i| i + 2),
        (Format::Csv, &csv, |i| i + 2),
    ];
    for (format, text, line) in cases {
        let err = parse(text, format, "big").unwrap_err();
        let got: Vec<Option<usize>> = err.errors.iter().map(|e| e.line).collect();
        assert_eq!(got, [Some(line(bad)), Some(line(n))], "{format:?}: {err}");
        assert!(
            err.errors[1]
                .message
                .contains(&format!("as the rule on line {}", line(7))),
            "{format:?}: {err}"
        );
    }
}

/// A line `[[rules]]` inside a multi-line string is text, not a new rule.
#[test]
fn a_rules_header_inside_a_multi_line_string_is_text() {
    let toml = "[[rules]]\npath = \"/a\"\nto = \"https://example.org/a\"\ncache_control = \"\"\"\n[[rules]]\npath = \"/b\"\n\"\"\"\n";
    let err = parse(toml, Format::Toml, "s.toml").unwrap_err();
    let lines: Vec<Option<usize>> = err.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, [Some(1)], "{err}");
    let ok = "[[rules]]\npath = \"/a\"\nto = \"https://example.org/a\"\ntype = '''text/html'''\n\n# [[rules]]\n[[rules]] # the second\npath = \"/b\"\nto = \"https://example.org/b\"\n";
    let rules = parse(ok, Format::Toml, "s.toml").unwrap();
    assert_eq!(rules.len(), 2);
}
