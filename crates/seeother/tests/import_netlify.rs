//! `seeother import --from netlify`: a `_redirects` file translated as Netlify documents it
//! ("Redirects and rewrites", "Redirect options"), then answered over real sockets.

mod serve_support;

use serve_support::{Server, TempDir, cli};

/// Each line follows an example of Netlify's documentation.
const REDIRECTS: &str = "\
# Basic redirects: 301 unless a status is given.
/home              /
/blog/my-post.php  /blog/my-post
/news              /blog           302
/legacy            https://example.org/legacy 308!
# Query parameters (\"Redirect options\"): a literal value, and a placeholder.
/store id=:id      /blog/:id       301
/search lang=en    /en/search      302
# Splats and placeholders.
/news/*            /blog/:splat
/posts/:year/:month/:slug  /archive/:year-:month/:slug.html 301
# Domain-level rule.
https://old.example.org/*  https://example.org/old/:splat 301!
# A rewrite (200) to a path, looked up again; 404 and 410.
/app/*             /news/:splat    200
/private/*         /404.html       404
/gone              /410.html       410
# Conditions have no translation.
/fr                /fr/index.html  302  Country=fr
/shop/*.html       /x
";

#[test]
fn a_redirects_file_is_answered_as_netlify_documents_it() {
    let dir = TempDir::new("import-netlify");
    let file = dir.file("_redirects", REDIRECTS);
    let db = dir.path().join("n.db");
    let s = Server::start(&db, &[]);
    let (code, out, err) = cli(&[
        "import",
        "--from",
        "netlify",
        file.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    // The report: file:line and why.
    assert!(
        out.contains("_redirects:19: not translated") && out.contains("Country=fr"),
        "{out}"
    );
    assert!(out.contains("_redirects:20: not translated"), "{out}");
    assert!(
        out.contains("_redirects:0: note") && out.contains("without `!`"),
        "{out}"
    );
    assert!(out.contains("1 files, 2 groups"), "{out}");
    let loaded = serve_support::eventually(std::time::Duration::from_secs(10), || {
        s.get("/home").status == 301
    });
    assert!(loaded, "the server did not pick the import up");
    let ask = |host: &str, target: &str| {
        let r = s.request("GET", target, &[("Host", host)], b"");
        (r.status, r.header("location").map(str::to_owned))
    };
    let at = |target: &str| ask("www.example.org", target);
    let redirect = |status: u16, to: &str| (status, Some(to.to_owned()));
    assert_eq!(at("/home"), redirect(301, "/"));
    // A trailing slash is optional; the request's query goes on.
    assert_eq!(at("/home/?a=1"), redirect(301, "/?a=1"));
    assert_eq!(at("/blog/my-post.php"), redirect(301, "/blog/my-post"));
    assert_eq!(at("/news"), redirect(302, "/blog"));
    assert_eq!(at("/legacy"), redirect(308, "https://example.org/legacy"));
    // The matched query parameter is consumed.
    assert_eq!(at("/store?id=my-post"), redirect(301, "/blog/my-post"));
    assert_eq!(at("/store?x=1&id=7"), redirect(301, "/blog/7"));
    assert_eq!(at("/store").0, 404);
    assert_eq!(at("/search?lang=en"), redirect(302, "/en/search"));
    assert_eq!(at("/search?lang=de").0, 404);
    // The first matching line answers: /news itself went to /blog above.
    assert_eq!(
        at("/news/2004/01/story"),
        redirect(301, "/blog/2004/01/story")
    );
    assert_eq!(
        at("/posts/2024/05/hello"),
        redirect(301, "/archive/2024-05/hello.html")
    );
    assert_eq!(at("/posts/2024/05").0, 404);
    // The domain-level rule answers its host only, and that host keeps the other rules.
    assert_eq!(
        ask("old.example.org", "/a/b"),
        redirect(301, "https://example.org/old/a/b")
    );
    assert_eq!(ask("old.example.org", "/home").0, 301);
    // 200: the new path is looked up again (here, the splat rule for /news/*).
    assert_eq!(at("/app/x"), redirect(301, "/blog/x"));
    assert_eq!(at("/private/key"), (404, None));
    assert_eq!(at("/gone"), (410, None));
    assert_eq!(at("/fr").0, 404);
}
