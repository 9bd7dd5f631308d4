//! `seeother import --from nginx`: a configuration run by the real nginx and, imported, by
//! seeother; the same requests to both must get the same status and `Location` (resolved
//! against the request URL, since nginx makes a path absolute and seeother sends it as is).

mod nginx_support;
mod serve_support;

use std::net::SocketAddr;

use nginx_support::{Nginx, free_port};
use serve_support::{Server, TempDir, cli, exchange};

/// Each construct cites the nginx documentation it follows.
const CONFIG: &str = r#"
# ngx_http_map_module: exact strings (without case), then regexes in order, then default.
map $uri $moved {
    default "";
    /old-a https://new.example.org/a;
    /Old-B /b;
    ~^/legacy/(\d+)$ https://new.example.org/item/$1;
    ~*^/ANY/(.+)$ /any/$1;
}

server {
    listen 127.0.0.1:PORT;
    server_name _;
    # ngx_http_rewrite_module: server-level directives run before a location is chosen.
    if ($moved) {
        return 301 $moved;
    }
    rewrite "^/blog/(\d{4})/(.+)$" https://blog.example.org/$1/$2 permanent;
    rewrite ^/short/(.*)$ /long/$1? redirect;
    rewrite ^/keep/(.*)$ /kept/$1 redirect;
    # ngx_http_core_module, location: "=" first; then the longest prefix ("^~" stops);
    # then regexes in order; then the longest prefix.
    location = /exact { return 308 https://example.org/exact; }
    location = /gone { return 410; }
    location ^~ /static/ { return 302 https://cdn.example.org$uri; }
    location /static/plain/ { return 303 /plain; }
    location ~ \.php$ { return 301 https://php.example.org$request_uri; }
    location ~* ^/ID/([a-z]+)$ { return 303 https://data.example.org/$1; }
    location ~ ^/id/ { return 307 https://second.example.org/; }
    location /docs/ {
        rewrite ^/docs/(.*)$ /manual/$1 redirect;
        return 404;
    }
    location /files/ { root /nonexistent; }
    location / { return 302 /home$is_args$args; }
}

server {
    listen 127.0.0.1:PORT;
    server_name old.example.org;
    return 301 https://new.example.org$request_uri;
}
"#;

/// (host, target): each construct, on both sides of its edges.
const REQUESTS: &[(&str, &str)] = &[
    ("localhost", "/old-a"),
    ("localhost", "/OLD-A"),
    ("localhost", "/Old-B"),
    ("localhost", "/old-b?x=1"),
    ("localhost", "/legacy/42"),
    ("localhost", "/legacy/x"),
    ("localhost", "/any/thing"),
    ("localhost", "/blog/2024/post?x=1"),
    ("localhost", "/blog/24/post"),
    ("localhost", "/short/a?drop=1"),
    ("localhost", "/keep/a?kept=1"),
    ("localhost", "/exact"),
    ("localhost", "/exact/"),
    ("localhost", "/gone"),
    ("localhost", "/static/a.css"),
    ("localhost", "/static/a.php"),
    ("localhost", "/static/plain/x"),
    ("localhost", "/static/plain/x.php"),
    ("localhost", "/ID/abc"),
    ("localhost", "/id/abc"),
    ("localhost", "/id/a1"),
    ("localhost", "/docs/a/b?q=1"),
    ("localhost", "/docs/"),
    ("localhost", "/files/x"),
    ("localhost", "/other?a=1"),
    ("localhost", "/"),
    ("localhost", "/a//b"),
    ("localhost", "/x.php?y=2"),
    ("old.example.org", "/x?y=1"),
    ("old.example.org", "/"),
    ("unknown.example.org", "/old-a"),
];

fn ask(addr: SocketAddr, host: &str, target: &str) -> (u16, Option<String>) {
    let req = format!("GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    let r = exchange(addr, req.as_bytes());
    // nginx makes a path absolute with the request's host and its port: the same URL.
    let location = r.header("location").map(|l| {
        let origin = format!("http://{host}:{}", addr.port());
        l.strip_prefix(&origin).unwrap_or(l).to_owned()
    });
    (r.status, location)
}

#[test]
fn seeother_answers_as_nginx_does() {
    let dir = TempDir::new("import-nginx");
    let port = free_port();
    let config = CONFIG.replace("PORT", &port.to_string());
    let file = dir.file("site.conf", &config);
    let nginx = Nginx::start(port, &config);
    let db = dir.path().join("n.db");
    let s = Server::start(&db, &[]);
    let (code, out, err) = cli(&[
        "import",
        "--from",
        "nginx",
        file.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("site.conf:34: not translated") && out.contains("root serve(s) content"),
        "{out}"
    );
    assert!(out.contains("1 files, 2 groups"), "{out}");
    let loaded = serve_support::eventually(std::time::Duration::from_secs(10), || {
        s.get("/exact").status == 308
    });
    assert!(loaded, "the server did not pick the import up");
    let nginx_addr: SocketAddr = format!("127.0.0.1:{}", nginx.port).parse().unwrap();
    let mut differ = Vec::new();
    for (host, target) in REQUESTS {
        let want = ask(nginx_addr, host, target);
        let got = ask(s.addr, host, target);
        if want != got {
            differ.push(format!("{host} {target}: nginx {want:?}, seeother {got:?}"));
        }
    }
    assert!(
        differ.is_empty(),
        "{} of {} differ:\n{}",
        differ.len(),
        REQUESTS.len(),
        differ.join("\n")
    );
}

#[test]
fn a_file_nginx_cannot_read_is_refused_with_its_line() {
    let dir = TempDir::new("import-nginx-bad");
    let file = dir.file("bad.conf", "server {\n    return 301 /x\n}\n");
    let (code, out, err) = cli(&[
        "import",
        "--from",
        "nginx",
        file.to_str().unwrap(),
        "--check",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("bad.conf:3: file refused"), "{out}");
    assert!(out.contains("0 groups"), "{out}");
}
