//! `seeother import --from apache` with mod_rewrite's flow flags and file tests: `[N]` (a new
//! round), `[C]` (a chain), `[B]` (escaped backreferences) and `RewriteCond … -f` / `-d`
//! decided from the imported tree, each answered over a real socket; then the real Apache
//! over the same tree asked by `--record-from`, its answers kept as the rule file's tests,
//! which the translation passes.

mod apache_support;
mod serve_support;

use std::fs;
use std::path::Path;
use std::time::Duration;

use serve_support::{Server, TempDir, cli};

fn write(root: &Path, dir: &str, text: &str) {
    let d = root.join(dir);
    fs::create_dir_all(&d).unwrap();
    fs::write(d.join(".htaccess"), text).unwrap();
}

fn tree(dir: &TempDir) -> std::path::PathBuf {
    let root = dir.path().join("site");
    // mod_rewrite: RewriteRule flags, [N]: the rules run again from the first on the result;
    // one upper-case letter lowered per round.
    write(
        &root,
        "isil",
        "RewriteEngine On\n\
         RewriteRule ^(US-)([^A]*)A(.*)$ $1$2a$3\n\
         RewriteRule ^(US-)([^B]*)B(.*)$ $1$2b$3\n\
         RewriteRule US-.+([A-Z]) - [N]\n\
         RewriteRule ^US-(.+)$ https://id.example.org/org/$1 [R=303,L]\n",
    );
    // mod_rewrite: RewriteRule flags, [C]: a rule that does not match skips those chained to it.
    write(
        &root,
        "chain",
        "RewriteEngine on\n\
         RewriteRule ^a/(.*)$ b/$1 [C]\n\
         RewriteRule ^b/(.*)$ https://c.example/chained/$1 [R=302,L]\n\
         RewriteRule ^(.*)$ https://c.example/plain/$1 [R=302,L]\n",
    );
    // mod_rewrite: RewriteRule flags, [B]: backreferences escaped (as w3id.org's vocabulary
    // services pass the identifier on in a query).
    write(
        &root,
        "meta",
        "RewriteEngine On\n\
         RewriteRule ^(.*)$ https://r.example/resource?uri=https://w3id.org/meta/$1 [B,L,NE,QSA,R=307]\n",
    );
    // mod_rewrite: RewriteCond, CondPattern -f and -d: the file system, here the imported tree.
    write(
        &root,
        "files",
        "RewriteEngine on\n\
         RewriteCond %{REQUEST_FILENAME} !-f\n\
         RewriteCond %{REQUEST_FILENAME} !-d\n\
         RewriteRule ^([a-z.]+)/?$ https://f.example/page/$1 [R=303,L]\n\
         RewriteCond %{QUERY_STRING} ^u=(.*)$\n\
         RewriteCond %{REQUEST_URI} -U\n\
         RewriteRule ^u$ https://f.example/u [R=303,L]\n",
    );
    fs::create_dir_all(root.join("files/sub")).unwrap();
    fs::write(root.join("files/notes.txt"), "notes").unwrap();
    root
}

#[test]
fn flow_flags_and_file_tests_answer_as_apache_runs_them() {
    let dir = TempDir::new("import-apache-flags");
    let root = tree(&dir);
    let db = dir.path().join("a.db");
    let s = Server::start(&db, &[]);
    let (code, out, err) = cli(&[
        "import",
        "--from",
        "apache",
        root.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    // -U asks Apache itself; it is reported, with its rule.
    assert!(
        out.contains("files/.htaccess:6: not translated") && out.contains("subrequest"),
        "{out}"
    );
    assert!(
        !out.contains("[N]") && !out.contains("[B]") && !out.contains("[C]"),
        "{out}"
    );

    let up = serve_support::eventually(Duration::from_secs(10), || s.get("/chain/x").status != 404);
    assert!(up, "the server did not pick the import up");
    let location = |path: &str| {
        let r = s.get(path);
        (r.status, r.header("location").map(str::to_owned))
    };
    let at = |status: u16, l: &str| (status, Some(l.to_owned()));

    // [N]: A and B lowered over two rounds.
    assert_eq!(
        location("/isil/US-ABBA"),
        at(303, "https://id.example.org/org/abba")
    );
    // [C]; the second rule sees the path info ("/x", after "a") appended to "b/x", as
    // mod_rewrite per-directory appends it (Apache answers the same, as the test below records).
    assert_eq!(
        location("/chain/a/x"),
        at(302, "https://c.example/chained/x/x")
    );
    assert_eq!(
        location("/chain/b/x"),
        at(302, "https://c.example/plain/b/x")
    );
    // [B]: `/` and the space escaped in the backreference, the request's query appended.
    assert_eq!(
        location("/meta/a/b%20c?x=1"),
        at(
            307,
            "https://r.example/resource?uri=https://w3id.org/meta/a%2fb+c&x=1"
        )
    );
    // -f / -d: no such file or directory here, so the rule applies …
    assert_eq!(
        location("/files/other"),
        at(303, "https://f.example/page/other")
    );
    // … but the tree holds this file and this directory: Apache serves them, no rule answers.
    assert_eq!(s.get("/files/notes.txt").status, 404);
    assert_eq!(s.get("/files/sub/").status, 404);
    // mod_dir: DirectorySlash, for a directory on disk without a file of its own too.
    assert_eq!(location("/files/sub"), at(301, "/files/sub/"));
}

#[test]
fn answers_recorded_from_the_real_apache_are_the_translation_s_tests() {
    let dir = TempDir::new("import-apache-record");
    let root = tree(&dir);
    let apache = apache_support::Apache::start(apache_support::free_port(), &root);
    let db = dir.path().join("r.db");
    let _server = Server::start(&db, &[]);
    let output = dir.path().join("recorded.toml");
    let (code, out, err) = cli(&[
        "import",
        "--from",
        "apache",
        root.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
        "--record-from",
        &apache.url(),
        "--origin",
        "https://w3id.org",
        "--output",
        output.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("recorded as tests"), "{out}");
    let text = fs::read_to_string(&output).unwrap();
    // The file carries the rules and Apache's answers, among them the round-by-round
    // lowering ([N]) and the escaped backreference ([B]).
    assert!(
        text.contains("[[rules]]") && text.contains("[[tests]]"),
        "{text}"
    );
    assert!(
        text.contains("https://r.example/resource?uri=https://w3id.org/meta/"),
        "{text}"
    );
    // The written file passes its own tests offline, as `seeother test` runs them.
    let (code, out, err) = cli(&["test", output.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}\n{err}");
    // A recorded answer the translation does not give makes the file fail its tests.
    let at = text
        .rfind("https://f.example/page/")
        .expect("a recorded redirect");
    let broken = format!(
        "{}https://f.example/elsewhere/{}",
        &text[..at],
        &text[at + "https://f.example/page/".len()..]
    );
    let changed = dir.file("changed.toml", &broken);
    let (code, out, _) = cli(&["test", changed.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
}
