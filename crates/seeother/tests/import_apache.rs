//! `seeother import --from apache`: a tree of `.htaccess` files translated as Apache httpd 2.4
//! runs them, then answered over real sockets; the report of what was not translated.

mod serve_support;

use std::fs;
use std::path::Path;

use serve_support::{Server, TempDir, cli};

fn write(root: &Path, dir: &str, text: &str) {
    let d = root.join(dir);
    fs::create_dir_all(&d).unwrap();
    fs::write(d.join(".htaccess"), text).unwrap();
}

/// A small site: each file cites the Apache documentation of what it exercises.
fn tree(dir: &TempDir) -> std::path::PathBuf {
    let root = dir.path().join("site");
    // mod_rewrite: RewriteRule in per-directory context; a substitution without [R] is an
    // internal rewrite, processed again from the start.
    write(
        &root,
        "",
        "RewriteEngine on\nRewriteRule ^ONT(.*)$ /ont$1\nHeader always set X-Site root\n",
    );
    // mod_rewrite: RewriteCond on %{HTTP_ACCEPT} and %{HTTP_USER_AGENT} with [OR]; [NC];
    // R=406; [L]; $N back-references. mod_headers: `Header set` (not on redirects) and
    // `Header always set`. mod_setenvif: SetEnvIf, read as %{ENV:…}.
    write(
        &root,
        "ont",
        r#"Options +FollowSymLinks
Header set Access-Control-Allow-Origin *
Header always set X-Dir ont
SetEnvIf Request_URI ^.*$ DOCS=https://docs.example.org/ont
RewriteEngine on
RewriteCond %{HTTP_ACCEPT} text/html [OR]
RewriteCond %{HTTP_USER_AGENT} ^Mozilla
RewriteRule ^$ %{ENV:DOCS}/index.html [R=303,L]
RewriteCond %{HTTP_ACCEPT} text/turtle
RewriteRule ^$ https://data.example.org/ont.ttl [R=303,L]
RewriteRule ^$ - [R=406,L]
RewriteRule ^v([0-9]+)/(.+)\.TTL$ https://data.example.org/$2-v$1.ttl [NC,R=302,L]
RewriteRule ^q$ https://data.example.org/q [R=302,QSA,L]
RewriteRule ^(a)\1$ https://never.example.org/ [R,L]
RewriteCond %{HTTP_ACCEPT} (?:^|,)\s*application/ld\+json\s*(?=;|,|$)(?![^,]*;\s*q\s*=\s*0(?:\.0*)?\s*(?:;|,|$))
RewriteRule ^ld$ https://data.example.org/ld.jsonld [R=303,L]
RewriteRule ^(kind|org)/((?!synthetic-)[A-Za-z0-9._~-]+)/?$ https://data.example.org/$1/$2 [R=302,L]
"#,
    );
    // mod_rewrite: RewriteBase; a relative substitution is taken below it.
    write(
        &root,
        "ont/v2",
        "RewriteEngine on\nRewriteBase /moved/\nRewriteRule ^(.*)$ $1.html [R=301,L]\n",
    );
    // mod_alias: Redirect matches whole segments and appends the rest; RedirectMatch; mod_dir:
    // DirectorySlash Off; core: ErrorDocument with a URL redirects (302) to it.
    write(
        &root,
        "old",
        "DirectorySlash Off\nRedirect 301 /old/page https://new.example.org/page\nRedirectMatch 302 ^/old/(\\d+)$ https://new.example.org/n/$1\nErrorDocument 404 https://new.example.org/missing\n",
    );
    // Apache refuses this file (flags without brackets): 500 for its whole directory.
    write(
        &root,
        "broken",
        "RewriteEngine on\nRewriteRule ^$ https://x.example/ R=303\n",
    );
    root
}

#[test]
fn a_tree_is_answered_as_apache_answers_it() {
    let dir = TempDir::new("import-apache");
    let root = tree(&dir);
    let db = dir.path().join("a.db");
    // A server creates the database; the import adds the groups.
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
    // The report: file:line and why.
    assert!(
        out.contains("broken/.htaccess:2: file refused") && out.contains("bad flag delimiters"),
        "{out}"
    );
    assert!(
        out.contains("ont/.htaccess:14: not translated") && out.contains("back-references"),
        "{out}"
    );
    assert!(out.contains("5 files, 5 groups"), "{out}");

    let reloaded = serve_support::eventually(std::time::Duration::from_secs(10), || {
        s.get("/ont/").status != 404
    });
    assert!(reloaded, "the server did not pick the import up");
    let get = |path: &str, headers: &[(&str, &str)]| s.request("GET", path, headers, b"");
    let r = get("/ont/", &[("Accept", "text/html")]);
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some("https://docs.example.org/ont/index.html"))
    );
    // `Header always set` is on redirects, the parent's too; `Header set` is not.
    assert_eq!(r.header("x-dir"), Some("ont"));
    assert_eq!(r.header("x-site"), Some("root"));
    assert_eq!(r.header("access-control-allow-origin"), None);
    assert_eq!(
        get("/ont/", &[("User-Agent", "Mozilla/5.0")]).header("location"),
        Some("https://docs.example.org/ont/index.html")
    );
    assert_eq!(
        get("/ont/", &[("Accept", "text/turtle")]).header("location"),
        Some("https://data.example.org/ont.ttl")
    );
    assert_eq!(get("/ont/", &[("Accept", "image/png")]).status, 406);
    assert_eq!(
        get("/ont/v3/core.ttl", &[]).header("location"),
        Some("https://data.example.org/core-v3.ttl")
    );
    assert_eq!(
        get("/ont/q?a=1", &[]).header("location"),
        Some("https://data.example.org/q?a=1")
    );
    // Look-around, as PCRE runs it: ld+json accepted unless its q is 0; a capture that holds
    // a negative lookahead.
    let ld = |accept: &str| get("/ont/ld", &[("Accept", accept)]);
    assert_eq!(ld("text/html, application/ld+json;q=0.5").status, 303);
    assert_eq!(ld("application/ld+json").status, 303);
    assert_ne!(ld("application/ld+json;q=0").status, 303);
    assert_ne!(ld("application/ld+json2").status, 303);
    assert_eq!(
        get("/ont/org/acme/", &[]).header("location"),
        Some("https://data.example.org/org/acme")
    );
    assert_ne!(get("/ont/org/synthetic-acme", &[]).status, 302);
    // The root's internal rewrite lands in /ont/ (mod_dir then adds the slash).
    assert_eq!(get("/ONT", &[]).header("location"), Some("/ont/"));
    // RewriteBase.
    assert_eq!(
        get("/ont/v2/a", &[]).header("location"),
        Some("/moved/a.html")
    );
    // mod_alias, before mod_dir and with DirectorySlash Off.
    let r = get("/old/page/sub", &[]);
    assert_eq!(
        (r.status, r.header("location")),
        (301, Some("https://new.example.org/page/sub"))
    );
    let r = get("/old/pages", &[]);
    assert_eq!(
        (r.status, r.header("location")),
        (302, Some("https://new.example.org/missing"))
    );
    assert_eq!(
        get("/old/42", &[]).header("location"),
        Some("https://new.example.org/n/42")
    );
    // The directory itself (no index file, no listing) is a 404 too: its ErrorDocument answers.
    assert_eq!(
        get("/old", &[]).header("location"),
        Some("https://new.example.org/missing")
    );
    // A file Apache cannot read: its directory answers nothing but the slash redirect.
    assert_eq!(get("/broken/", &[]).status, 404);
    assert_eq!(get("/broken", &[]).header("location"), Some("/broken/"));
}

#[test]
fn one_file_at_a_path_and_check_only() {
    let dir = TempDir::new("import-apache-one");
    let file = dir.file(
        "rules.htaccess",
        "RewriteEngine on\nRewriteRule ^(.+)$ https://example.org/$1 [R=308,L]\n",
    );
    let (code, out, err) = cli(&[
        "import",
        "--from",
        "apache",
        file.to_str().unwrap(),
        "--check",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(err.contains("--at /dir/"), "{err}");
    let (code, out, err) = cli(&[
        "import",
        "--from",
        "apache",
        file.to_str().unwrap(),
        "--at",
        "/id",
        "--check",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("1 files, 1 groups with 1 steps"), "{out}");
}
