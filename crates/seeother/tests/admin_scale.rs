//! The admin pages with many rules, over real sockets: the list's counts, pages read by
//! cursor (first, previous, next, last; walked both ways; a tampered cursor refused) and
//! orders (hits, last change); long targets that break after their separators; an import
//! report paged with the updated rules first; a refused file's problems capped; the "As JSON" link read with the admin session (never a write);
//! the icon; history times in ISO 8601 with the zone.

mod admin_support;
mod serve_support;

use std::time::Duration;

use admin_support::Admin;
use serve_support::{Server, TempDir, eventually};

fn start(name: &str) -> (TempDir, Server) {
    let dir = TempDir::new(&format!("admin-scale-{name}"));
    let s = Server::start(&dir.path().join("s.db"), &[]);
    (dir, s)
}

/// `n` rules `/id/nNNN` → `https://example.org/nNNN`, imported through the API.
fn import(s: &Server, n: usize) {
    let mut csv = String::from("path,to\n");
    for i in 0..n {
        csv.push_str(&format!("/id/n{i:03},https://example.org/n{i:03}\n"));
    }
    let r = s.request(
        "POST",
        "/-/api/import?format=csv",
        &[("Authorization", &format!("Bearer {}", serve_support::TOKEN))],
        csv.as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
}

/// The rule rows of a list page.
fn rows(html: &str) -> usize {
    html.matches("<tr><td><a href=\"/-/admin/rules/").count()
}

/// The id in the first row of a list page.
fn first_id(html: &str) -> i64 {
    let at = html
        .find("<tr><td><a href=\"/-/admin/rules/")
        .expect("a row")
        + 32;
    html[at..at + html[at..].find('"').unwrap()]
        .parse()
        .unwrap()
}

/// The ids of the rows of a list page, in order.
fn all_ids(html: &str) -> Vec<i64> {
    html.split("<tr><td><a href=\"/-/admin/rules/")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].parse().unwrap())
        .collect()
}

/// The ids of every page from `start` on, following the link named `text`.
fn walk(admin: &Admin, start: &str, text: &str) -> Vec<i64> {
    let mut seen = Vec::new();
    let mut page = admin.get(start).text();
    loop {
        let mut ids = all_ids(&page);
        if text == "Previous page" {
            ids.reverse();
        }
        seen.extend(ids);
        match link(&page, text) {
            Some(next) => page = admin.get(&next).text(),
            None => return seen,
        }
        assert!(seen.len() < 10_000, "the walk loops");
    }
}

/// The `href` of the link with text `text`, `&amp;` decoded.
fn link(html: &str, text: &str) -> Option<String> {
    let end = html.find(&format!(">{text}</a>"))?;
    let start = html[..end].rfind("href=\"")? + 6;
    let href = &html[start..end];
    Some(href[..href.find('"')?].replace("&amp;", "&"))
}

#[test]
fn the_list_counts_pages_and_sorts() {
    let (_dir, s) = start("list");
    import(&s, 130);
    let admin = Admin::sign_in(&s);

    let first = admin.get("/-/admin/rules").text();
    assert!(
        first.contains("130 rules. Showing 1–50, page 1 of 3."),
        "{first}"
    );
    assert_eq!(rows(&first), 50);
    assert!(link(&first, "Previous page").is_none());
    assert!(link(&first, "First page").is_none());
    // The next page starts after the last rule shown (a cursor), and says which page it is.
    let ids = all_ids(&first);
    let next = link(&first, "Next page").expect("a next page");
    assert_eq!(
        next,
        format!("/-/admin/rules?after={}&page=2", ids[49]),
        "{first}"
    );
    let last = link(&first, "Last page").expect("a last page");
    assert_eq!(last, "/-/admin/rules?end=1");
    let last = admin.get(&last).text();
    assert_eq!(rows(&last), 30);
    assert!(last.contains("Showing 101–130, page 3 of 3."), "{last}");
    assert!(link(&last, "Next page").is_none());
    assert!(link(&last, "Last page").is_none());
    let previous = link(&last, "Previous page").expect("a previous page");
    assert_eq!(
        previous,
        format!("/-/admin/rules?before={}&page=2", all_ids(&last)[0])
    );
    let second = admin.get(&previous).text();
    assert!(second.contains("Showing 51–100, page 2 of 3."), "{second}");
    assert_eq!(link(&last, "First page").as_deref(), Some("/-/admin/rules"));
    // Forward by "Next page" and backward by "Previous page": every rule once, in order.
    let forward = walk(&admin, "/-/admin/rules", "Next page");
    assert_eq!(forward.len(), 130);
    assert!(forward.windows(2).all(|w| w[0] < w[1]), "{forward:?}");
    let mut backward = walk(&admin, "/-/admin/rules?end=1", "Previous page");
    backward.reverse();
    assert_eq!(forward, backward);
    // A page past the end (rules deleted since): the last one.
    assert!(
        admin
            .get("/-/admin/rules?page=99")
            .text()
            .contains("page 3 of 3")
    );

    // A search: the total and the matching count, its pages keep the search.
    let found = admin.get("/-/admin/rules?q=n1").text();
    assert!(
        found.contains("130 rules; <strong>30</strong> match"),
        "{found}"
    );
    assert!(found.contains("page 1 of 1."), "{found}");
    let found = admin.get("/-/admin/rules?q=/id/&sort=hits").text();
    let next = link(&found, "Next page").expect("a next page");
    assert_eq!(
        next,
        format!(
            "/-/admin/rules?q=%2Fid%2F&sort=hits&after=0.{}&page=2",
            all_ids(&found)[49]
        ),
        "by hits the cursor is HITS.ID"
    );
    assert_eq!(
        link(&found, "Last page").as_deref(),
        Some("/-/admin/rules?q=%2Fid%2F&sort=hits&end=1")
    );
    let searched = walk(&admin, "/-/admin/rules?q=/id/&sort=changed", "Next page");
    assert_eq!(searched.len(), 130);
    let mut back = walk(
        &admin,
        "/-/admin/rules?q=/id/&sort=changed&end=1",
        "Previous page",
    );
    back.reverse();
    assert_eq!(searched, back);

    // A cursor from the user that is no place in the list: a 400 page that says so.
    for bad in [
        "/-/admin/rules?after=abc",
        "/-/admin/rules?after=-3",
        "/-/admin/rules?after=99999999999999999999",
        "/-/admin/rules?sort=hits&after=12",
        "/-/admin/rules?sort=changed&before=1.2.3",
        "/-/admin/rules?sort=hits&after=1%27%20OR%201=1",
        "/-/admin/rules?after=1&before=2",
    ] {
        let r = admin.get(bad);
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
        let text = r.text();
        assert!(
            text.contains("is not a place in this list") || text.contains("not both"),
            "{bad}: {text}"
        );
    }
    // A well-formed cursor past the end (the rules deleted since): the last page.
    let past = admin.get("/-/admin/rules?after=999999&page=7").text();
    assert!(past.contains("page 3 of 3"), "{past}");

    // By hits: the rule asked for most comes first.
    for _ in 0..3 {
        assert_eq!(s.get("/id/n077").status, 303);
    }
    assert_eq!(s.get("/id/n012").status, 303);
    let n077 = s.api("GET", "/-/api/rules?q=/id/n077", None).json()["rules"][0]["id"]
        .as_i64()
        .unwrap();
    assert!(eventually(Duration::from_secs(10), || {
        first_id(&admin.get("/-/admin/rules?sort=hits").text()) == n077
    }));
    let by_hits = admin.get("/-/admin/rules?sort=hits").text();
    assert!(
        by_hits.contains("<option value=\"hits\" selected>"),
        "{by_hits}"
    );
    assert!(by_hits.contains("Rules, by hits, most first"));

    // By last change: the rule changed last comes first.
    let n005 = s.api("GET", "/-/api/rules?q=/id/n005", None).json()["rules"][0]["id"]
        .as_i64()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    let r = s.api(
        "PATCH",
        &format!("/-/api/rules/{n005}"),
        Some(r#"{"status": 308}"#),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        first_id(&admin.get("/-/admin/rules?sort=changed").text()),
        n005
    );
}

#[test]
fn long_targets_break_after_their_separators() {
    let (_dir, s) = start("long");
    let long = format!("https://example.org/{}/x?a=1&b=2", "segment-".repeat(40));
    let body = format!(r#"{{"path": "/long", "to": "{long}"}}"#);
    assert_eq!(s.api("POST", "/-/api/rules", Some(&body)).status, 201);
    let admin = Admin::sign_in(&s);
    let html = admin.get("/-/admin/rules").text();
    assert!(
        html.contains("<code>https:/<wbr>/<wbr>example.<wbr>org/<wbr>segment-<wbr>segment-<wbr>"),
        "{html}"
    );
    assert!(
        html.contains("x?<wbr>a=<wbr>1&amp;<wbr>b=<wbr>2</code>"),
        "{html}"
    );
    let css = s.get("/-/admin/style.css").text();
    assert!(css.contains("td code,dd code{overflow-wrap:anywhere}"));
}

#[test]
fn an_import_report_is_paged_with_the_updated_rules_first() {
    let (_dir, s) = start("report");
    import(&s, 10);
    let admin = Admin::sign_in(&s);
    let mut csv = String::from("path,to\n");
    for i in 0..450 {
        // The first ten exist: five of them change.
        let to = if i < 5 { "changed" } else { "n" };
        csv.push_str(&format!("/id/n{i:03},https://example.org/{to}{i:03}\n"));
    }
    let r = admin.submit("/-/admin/import", &[("text", &csv), ("format", "csv")]);
    assert_eq!(r.status, 303, "{}", r.text());
    let report = r.header("location").unwrap().to_owned();
    let page = admin.get(&report).text();
    assert!(page.contains("<strong>440</strong> created, <strong>5</strong> updated, <strong>5</strong> unchanged."), "{page}");
    assert!(
        page.contains("445 rules changed; page 1 of 3 (200 a page), updated rules first."),
        "{page}"
    );
    assert_eq!(rows(&page), 200);
    let changes: Vec<&str> = page
        .match_indices("</a></td><td>")
        .map(|(i, _)| &page[i + 13..i + 20])
        .collect();
    assert!(
        changes[..5].iter().all(|c| c.starts_with("updated")),
        "{changes:?}"
    );
    assert!(
        changes[5..].iter().all(|c| c.starts_with("created")),
        "{changes:?}"
    );
    let last = link(&page, "Last page").expect("a last page");
    assert_eq!(last, format!("{report}?page=3"));
    let last = admin.get(&last).text();
    assert_eq!(rows(&last), 45);
    assert!(link(&last, "Previous page").is_some());
}

#[test]
fn a_refused_file_lists_its_first_hundred_problems() {
    let (_dir, s) = start("problems");
    let admin = Admin::sign_in(&s);
    let mut csv = String::from("path,to\n");
    for i in 0..150 {
        csv.push_str(&format!("/id/n{i:03},javascript:alert({i})\n"));
    }
    let r = admin.submit("/-/admin/import", &[("text", &csv), ("format", "csv")]);
    assert_eq!(r.status, 422);
    let html = r.text();
    assert!(
        html.contains("line 2: `to` is refused: it uses the `javascript:` scheme"),
        "{html}"
    );
    assert!(html.contains("line 101: "), "{html}");
    assert!(!html.contains("line 102: "), "{html}");
    assert!(html.contains("… and 50 more problems (the first 100 are listed); `seeother import --check FILE` lists them all"));
}

#[test]
fn as_json_reads_with_the_admin_session_but_never_writes() {
    let (_dir, s) = start("json");
    import(&s, 1);
    // The session cookie goes to the API as well as to the pages (and to no rule's path).
    let anon = Admin::anonymous(&s);
    let r = anon.post(
        "/-/admin/sign-in",
        &[
            ("csrf", &anon.csrf),
            ("token", serve_support::TOKEN),
            ("next", ""),
        ],
    );
    let line = r
        .headers
        .iter()
        .find(|(n, v)| n == "set-cookie" && v.starts_with("seeother_admin="))
        .map(|(_, v)| v.clone())
        .expect("a session cookie");
    assert!(line.contains("; Path=/-/;"), "{line}");
    let admin = Admin::sign_in(&s);
    let id = s.api("GET", "/-/api/rules", None).json()["rules"][0]["id"]
        .as_i64()
        .unwrap();
    let page = admin.get(&format!("/-/admin/rules/{id}")).text();
    let href = link(&page, "As JSON (API)").expect("the link");
    assert_eq!(href, format!("/-/api/rules/{id}"));
    let r = admin.get(&href);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["path"], "/id/n000");
    assert_eq!(admin.get("/-/api/rules").status, 200);
    assert_eq!(admin.get(&format!("/-/api/rules/{id}/history")).status, 200);

    // Writes need the token, whatever the cookie.
    let cookie = [
        ("Cookie", admin.cookie.as_str()),
        ("Content-Type", "application/json"),
    ];
    let body = br#"{"path": "/id/n000", "to": "https://example.org/other"}"#;
    for (method, target) in [
        ("PUT", format!("/-/api/rules/{id}")),
        ("PATCH", format!("/-/api/rules/{id}")),
        ("POST", "/-/api/rules".to_owned()),
        ("DELETE", format!("/-/api/rules/{id}")),
    ] {
        let r = s.request(method, &target, &cookie, body);
        assert_eq!(r.status, 401, "{method} {target}: {}", r.text());
    }
    assert_eq!(
        s.get("/id/n000").header("location"),
        Some("https://example.org/n000")
    );

    // No session, or one signed out: 401.
    assert_eq!(s.get(&href).status, 401);
    let r = admin.submit("/-/admin/sign-out", &[]);
    assert_eq!(r.status, 303);
    assert_eq!(admin.get(&href).status, 401);
}

#[test]
fn the_icon_and_iso_times() {
    let (_dir, s) = start("icon");
    import(&s, 1);
    let admin = Admin::sign_in(&s);
    let id = s.api("GET", "/-/api/rules", None).json()["rules"][0]["id"]
        .as_i64()
        .unwrap();
    let page = admin.get(&format!("/-/admin/rules/{id}")).text();
    let head = &page[..page.find("</head>").unwrap()];
    assert!(
        head.contains("<link rel=\"icon\" type=\"image/svg+xml\" href=\"/-/admin/favicon.svg\">"),
        "{head}"
    );
    let icon = s.get("/-/admin/favicon.svg");
    assert_eq!(icon.status, 200);
    assert_eq!(icon.header("content-type"), Some("image/svg+xml"));
    assert!(icon.header("cache-control").unwrap().contains("max-age"));
    assert!(icon.text().starts_with("<svg "));

    // The history's times: `<time datetime="2026-12-01T17:11:05Z">` and the same text.
    let at = page.find("<time datetime=\"").expect("a time") + 16;
    let iso = &page[at..at + 20];
    let b = iso.as_bytes();
    assert!(
        iso.ends_with('Z') && b[4] == b'-' && b[7] == b'-' && b[10] == b'T' && b[13] == b':',
        "{iso}"
    );
    assert!(page.contains(&format!("\">{iso}</time>")));
}
