//! Rule groups answering over real sockets: steps in order, captures inside segments,
//! case-insensitive matching, conditions on header fields and the query with their captures
//! in the target, answers other than redirects, the group's header fields, internal
//! rewrites (bounded), a deeper scope shadowing its parent, the slash redirect, variables.

mod serve_support;

use serve_support::{Server, TempDir, exchange};

const RULES: &str = r#"
[[rules]]
scope = "/"

# An internal rewrite, looked up again from the start (mod_rewrite: a substitution without R).
[[rules.steps]]
regex = "^OLD(.*)$"
to = "/ont/{1}"
last = true

[[rules.steps]]
regex = "^ping$"
to = "/pong"
last = true

[[rules.steps]]
regex = "^pong$"
to = "/ping"
last = true

[[rules]]
scope = "/ont/"
slash = true
headers = [
  { name = "Access-Control-Allow-Origin", value = "*", always = true },
  { name = "X-Only-On-Success", value = "1" },
]
env = [{ name = "SYNTAX", value = "ttl", test = "{header:accept}", regex = "text/turtle" }]

# A capture inside a segment and a suffix match.
[[rules.steps]]
regex = "^v([0-9.]+)/([^/]+)\\.ttl$"
to = "https://example.org/{2}/{1}.ttl"
status = 303
last = true

# Case-insensitive.
[[rules.steps]]
regex = "^readme$"
nocase = true
to = "https://example.org/readme"
status = 302
last = true

# Conditions: a regex on Accept, or a browser's User-Agent.
[[rules.steps]]
regex = "^$"
when = [
  { test = "{header:accept}", regex = "text/html", or = true },
  { test = "{header:user-agent}", regex = "^Mozilla/" },
]
to = "https://example.org/doc.html"
status = 303
last = true

# A variable set from Accept.
[[rules.steps]]
regex = "^$"
when = [{ test = "{env:SYNTAX}", regex = "^ttl$" }]
to = "https://example.org/ont.{env:SYNTAX}"
status = 303
last = true

# A condition's capture in the target; the query replaced.
[[rules.steps]]
regex = "^search$"
when = [{ test = "{query}", regex = "^q=([a-z]+)$" }]
to = "https://example.org/find?term={%1}"
status = 307
last = true

# Answers other than redirects.
[[rules.steps]]
regex = "^$"
when = [{ test = "{header:accept}", regex = "application/json" }]
status = 406

[[rules.steps]]
regex = "^withdrawn"
status = 410

[[rules.steps]]
regex = "^secret$"
when = [{ test = "{method}", regex = "^POST$", negate = true }]
status = 403

# A redirect without [L] keeps going: later steps see its result.
[[rules.steps]]
regex = "^a$"
to = "b"
status = 301

[[rules.steps]]
regex = "^b$"
to = "c"

[[rules]]
scope = "/ont/inner/"

[[rules.steps]]
regex = "^x$"
to = "https://example.org/inner-x"
status = 302
"#;

fn server(dir: &TempDir) -> Server {
    let rules = dir.file("groups.toml", RULES);
    Server::start(
        &dir.path().join("g.db"),
        &["--rules", rules.to_str().unwrap()],
    )
}

#[test]
fn steps_match_inside_segments_case_insensitively_and_in_order() {
    let dir = TempDir::new("groups-match");
    let s = server(&dir);
    let r = s.get("/ont/v1.2/core.ttl");
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some("https://example.org/core/1.2.ttl"))
    );
    // The group's `always` field is on the redirect; the success-only one is not.
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(r.header("x-only-on-success"), None);
    let r = s.get("/ont/ReadMe");
    assert_eq!(
        (r.status, r.header("location")),
        (302, Some("https://example.org/readme"))
    );
    // Nothing applies: 404, and the parent scope does not answer in its place.
    assert_eq!(s.get("/ont/nothing").status, 404);
    // A redirect step without `last` hands its result to the next, which rewrites it.
    let r = s.get("/ont/a");
    assert_eq!((r.status, r.header("location")), (301, Some("/ont/c")));
}

#[test]
fn conditions_test_header_fields_query_method_and_variables() {
    let dir = TempDir::new("groups-conditions");
    let s = server(&dir);
    let get = |headers: &[(&str, &str)]| s.request("GET", "/ont/", headers, b"");
    let html = "https://example.org/doc.html";
    assert_eq!(
        get(&[("Accept", "text/html")]).header("location"),
        Some(html)
    );
    assert_eq!(
        get(&[("User-Agent", "Mozilla/5.0 (X11)")]).header("location"),
        Some(html)
    );
    let r = get(&[("Accept", "text/turtle")]);
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some("https://example.org/ont.ttl"))
    );
    let r = get(&[("Accept", "application/json")]);
    assert_eq!(r.status, 406);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(get(&[("Accept", "image/png")]).status, 404);

    let r = s.get("/ont/search?q=cats");
    assert_eq!(
        (r.status, r.header("location")),
        (307, Some("https://example.org/find?term=cats"))
    );
    assert_eq!(s.get("/ont/search?q=CATS1").status, 404);
    assert_eq!(s.get("/ont/withdrawn/x").status, 410);
    assert_eq!(s.get("/ont/secret").status, 403);
    assert_eq!(s.request("POST", "/ont/secret", &[], b"").status, 404);
}

#[test]
fn the_direct_path_keeps_the_header_fields_rules_read() {
    let dir = TempDir::new("groups-direct");
    let s = server(&dir);
    // Without `Connection: close` the first request takes the server's direct HTTP/1.1 path.
    let raw = format!(
        "GET /ont/ HTTP/1.1\r\nHost: {}\r\nUser-Agent: Mozilla/5.0\r\n\r\nGET /-/healthz HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
        s.addr
    );
    let r = exchange(s.addr, raw.as_bytes());
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some("https://example.org/doc.html"))
    );
}

#[test]
fn rewrites_scopes_and_the_slash_redirect() {
    let dir = TempDir::new("groups-scopes");
    let s = server(&dir);
    // The root's rewrite is looked up again and lands in /ont/.
    let r = s.get("/OLDv2/a.ttl");
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some("https://example.org/a/2.ttl"))
    );
    // A rewrite that never ends is cut off: 500.
    assert_eq!(s.get("/ping").status, 500);
    // The deeper scope shadows its parent: /ont/'s steps do not run under /ont/inner/.
    let r = s.get("/ont/inner/x");
    assert_eq!(
        (r.status, r.header("location")),
        (302, Some("https://example.org/inner-x"))
    );
    assert_eq!(s.get("/ont/inner/ReadMe").status, 404);
    // mod_dir's DirectorySlash: the scope without its slash.
    let r = s.get("/ont?x=1");
    assert_eq!((r.status, r.header("location")), (301, Some("/ont/?x=1")));
}

#[test]
fn groups_round_trip_through_export_and_are_refused_when_wrong() {
    let dir = TempDir::new("groups-export");
    let s = server(&dir);
    drop(s);
    let db = dir.path().join("g.db");
    let (code, out, err) = serve_support::cli(&["export", "--db", db.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("scope = \"/ont/\""), "{out}");
    let again = dir.file("again.toml", &out);
    let (code, out, err) = serve_support::cli(&[
        "import",
        "--db",
        db.to_str().unwrap(),
        again.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("0 created, 0 updated, 3 unchanged"), "{out}");

    // A back-reference cannot run in linear time: refused with the engine's reason.
    let bad = dir.file(
        "bad.toml",
        "[[rules]]\nscope = \"/x/\"\n[[rules.steps]]\nregex = \"^(a)\\\\1\"\nto = \"/y\"\n",
    );
    let (code, _, err) = serve_support::cli(&["import", "--check", bad.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        err.contains("steps[0].regex") && err.contains("back-references"),
        "{err}"
    );
}
