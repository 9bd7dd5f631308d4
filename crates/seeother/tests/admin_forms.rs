//! The admin pages over real sockets: sign-in, CSRF refusal, every form's 303 target, 422
//! re-renders with the input kept, and nothing changed when a form fails.

mod admin_support;
mod serve_support;

use admin_support::{Admin, csrf_of, form, rule_count, rule_form, set_cookie, set_cookie_line};
use serve_support::{Server, TOKEN, TempDir};

fn start(name: &str) -> (TempDir, Server) {
    let dir = TempDir::new(&format!("admin-{name}"));
    let s = Server::start(&dir.path().join("s.db"), &[]);
    (dir, s)
}

#[test]
fn pages_need_a_session_and_sign_in_goes_where_asked() {
    let (_dir, s) = start("signin");
    let r = s.get("/-/admin/rules?q=a");
    assert_eq!(r.status, 303);
    assert_eq!(
        r.header("location"),
        Some("/-/admin/sign-in?next=%2F-%2Fadmin%2Frules%3Fq%3Da")
    );
    assert!(
        r.text().contains("<a href=\"/-/admin/sign-in?next="),
        "the core's note"
    );

    let page = s.get("/-/admin/sign-in?next=%2F-%2Fadmin%2Fimport");
    assert_eq!(page.status, 200);
    let cookie = set_cookie_line(&page).unwrap();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/-/admin", "Max-Age="] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    let html = page.text();
    assert!(html.contains("<html lang=\"en\">"));
    assert!(html.contains("<label for=\"token\">"));
    assert!(html.contains("name=\"next\" value=\"/-/admin/import\""));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert!(
        page.header("content-security-policy")
            .unwrap()
            .contains("frame-ancestors 'none'")
    );

    // A wrong token: the form again with 422 and the error beside the field.
    let anon = Admin::anonymous(&s);
    let r = anon.post(
        "/-/admin/sign-in",
        &[
            ("csrf", &anon.csrf),
            ("token", "not-the-token"),
            ("next", "/-/admin/import"),
        ],
    );
    assert_eq!(r.status, 422);
    let html = r.text();
    assert!(html.contains("id=\"token-error\""), "{html}");
    assert!(html.contains("aria-invalid=\"true\""));
    assert!(
        html.contains("name=\"next\" value=\"/-/admin/import\""),
        "next kept"
    );
    assert!(set_cookie(&r).is_none());
    assert_eq!(
        anon.get("/-/admin/rules").status,
        303,
        "still not signed in"
    );

    // The right token: a new session, 303 to the page asked for.
    let r = anon.post(
        "/-/admin/sign-in",
        &[
            ("csrf", &anon.csrf),
            ("token", TOKEN),
            ("next", "/-/admin/import"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.header("location"), Some("/-/admin/import"));
    let signed = set_cookie(&r).unwrap();
    assert_ne!(format!("seeother_admin={signed}"), anon.cookie);
    assert_eq!(anon.get("/-/admin/rules").status, 303, "the old id is void");

    // `next` leading elsewhere is refused by the core's guard: the rule list instead.
    for next in [
        "//evil.example/-/admin/",
        "/\\evil.example",
        "https://evil.example/-/admin/rules",
        "javascript:alert(1)",
        "/id/berlin",
    ] {
        let anon = Admin::anonymous(&s);
        let r = anon.post(
            "/-/admin/sign-in",
            &[("csrf", &anon.csrf), ("token", TOKEN), ("next", next)],
        );
        assert_eq!(r.status, 303, "{next}");
        assert_eq!(r.header("location"), Some("/-/admin/rules"), "{next}");
    }
    // An absolute URL on this very origin is fine, sent as a path.
    let anon = Admin::anonymous(&s);
    let own = s.url("/-/admin/rules/new");
    let r = anon.post(
        "/-/admin/sign-in",
        &[("csrf", &anon.csrf), ("token", TOKEN), ("next", &own)],
    );
    assert_eq!(r.header("location"), Some("/-/admin/rules/new"));
}

#[test]
fn a_post_without_a_valid_csrf_token_is_403_and_changes_nothing() {
    let (_dir, s) = start("csrf");
    let admin = Admin::sign_in(&s);
    let other = Admin::sign_in(&s);
    let anon = Admin::anonymous(&s);
    let fields = rule_form(&[]);
    let with = |csrf: &'static str| {
        let mut f = fields.clone();
        f.push(("csrf", csrf));
        f
    };
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let attempts: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("missing", fields.clone()),
        ("empty", with("")),
        ("wrong", with(leak("0".repeat(64)))),
        ("another session's", with(leak(other.csrf.clone()))),
        ("an anonymous session's", with(leak(anon.csrf.clone()))),
    ];
    for (what, f) in &attempts {
        let r = admin.post("/-/admin/rules", f);
        assert_eq!(r.status, 403, "{what} token");
        assert!(r.text().contains("nothing was changed"));
    }
    // The anonymous session's own token does not make it an admin.
    let r = anon.post("/-/admin/rules", &with(leak(anon.csrf.clone())));
    assert_eq!(r.status, 403);
    // No cookie at all.
    let r = s.request(
        "POST",
        "/-/admin/rules",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        form(&with(leak(admin.csrf.clone()))).as_bytes(),
    );
    assert_eq!(r.status, 403);
    assert_eq!(rule_count(&s), 0, "nothing was created");

    // Delete, import, sign-in and sign-out are guarded too.
    let r = admin.submit("/-/admin/rules", &fields);
    assert_eq!(r.status, 303);
    let page = r.header("location").unwrap().to_owned();
    let r = admin.post(&format!("{page}/delete"), &[("mode", "delete")]);
    assert_eq!(r.status, 403);
    let r = admin.post(
        "/-/admin/import",
        &[
            ("text", "[[rules]]\npath = \"/a\"\nto = \"/b\"\n"),
            ("format", "toml"),
        ],
    );
    assert_eq!(r.status, 403);
    let r = anon.post("/-/admin/sign-in", &[("token", TOKEN)]);
    assert_eq!(r.status, 403);
    assert!(set_cookie(&r).is_none());
    let r = admin.post("/-/admin/sign-out", &[]);
    assert_eq!(r.status, 403);
    assert_eq!(admin.get("/-/admin/rules").status, 200, "still signed in");
    assert_eq!(rule_count(&s), 1);
    assert_eq!(s.get("/id/berlin").status, 303, "the rule is still there");
}

#[test]
fn create_edit_tombstone_delete_answer_303_to_what_they_changed() {
    let (_dir, s) = start("crud");
    let admin = Admin::sign_in(&s);
    assert_eq!(admin.get("/-/admin/rules/new").status, 200);

    let r = admin.submit(
        "/-/admin/rules",
        &rule_form(&[(
            "variants",
            "text/turtle https://example.org/data/berlin.ttl",
        )]),
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let created = s.api("GET", "/-/api/rules", None).json()["rules"][0].clone();
    let id = created["id"].as_i64().unwrap();
    let page = format!("/-/admin/rules/{id}");
    assert_eq!(r.header("location"), Some(page.as_str()));
    assert_eq!(created["path"], "/id/berlin");
    assert_eq!(created["variants"][0]["type"], "text/turtle");
    assert_eq!(rule_count(&s), 1);

    // The page of the rule: fields, variants, hits, history; reloading it changes nothing.
    assert_eq!(s.get("/id/berlin").status, 303);
    for _ in 0..2 {
        let r = admin.get(&page);
        assert_eq!(r.status, 200);
        let html = r.text();
        assert!(html.contains("<code>/id/berlin</code>"));
        assert!(html.contains("https://example.org/page/berlin"));
        assert!(html.contains("text/turtle"));
        assert!(html.contains("<dt>Hits</dt><dd>1</dd>"), "{html}");
        assert!(html.contains("<td>create</td>"));
    }
    assert_eq!(rule_count(&s), 1);

    // Edit: 303 back to the rule's page; the API sees the change.
    let edit = admin.get(&format!("{page}/edit"));
    assert_eq!(edit.status, 200);
    assert!(
        edit.text()
            .contains("value=\"https://example.org/page/berlin\"")
    );
    let r = admin.submit(
        &page,
        &rule_form(&[("to", "https://example.org/new/berlin"), ("status", "308")]),
    );
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.header("location"), Some(page.as_str()));
    let now = s.api("GET", &format!("/-/api/rules/{id}"), None).json();
    assert_eq!(now["to"], "https://example.org/new/berlin");
    assert_eq!(now["status"], 308);
    assert_eq!(
        s.get("/id/berlin").header("location"),
        Some("https://example.org/new/berlin")
    );
    let html = admin.get(&page).text();
    assert!(html.contains("<td>update</td>"), "history shows the edit");

    // Tombstone: still a rule, so 303 to its page; the identifier answers 410.
    assert_eq!(admin.get(&format!("{page}/delete")).status, 200);
    let r = admin.submit(&format!("{page}/delete"), &[("mode", "tombstone")]);
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some(page.as_str()));
    assert_eq!(s.get("/id/berlin").status, 410);
    assert!(admin.get(&page).text().contains("410 tombstone"));

    // Delete: 303 to the list, which says so; the API no longer has it.
    let r = admin.submit(&format!("{page}/delete"), &[("mode", "delete")]);
    assert_eq!(r.status, 303);
    let list = format!("/-/admin/rules?deleted={id}");
    assert_eq!(r.header("location"), Some(list.as_str()));
    assert!(
        admin
            .get(&list)
            .text()
            .contains(&format!("Rule {id} was deleted"))
    );
    assert_eq!(
        s.api("GET", &format!("/-/api/rules/{id}"), None).status,
        404
    );
    assert_eq!(s.get("/id/berlin").status, 404);
    assert_eq!(admin.get(&page).status, 404);
    assert_eq!(rule_count(&s), 0);
}

#[test]
fn a_failed_form_is_422_with_input_kept_errors_by_field_and_nothing_changed() {
    let (_dir, s) = start("invalid");
    let admin = Admin::sign_in(&s);
    let bad = rule_form(&[
        ("matcher", "id/no-slash"),
        ("to", "https://example.org/<x>"),
        ("status", "200"),
        ("host", "not a host"),
        ("cache_control", "max-age=60"),
    ]);
    let r = admin.submit("/-/admin/rules", &bad);
    assert_eq!(r.status, 422);
    let html = r.text();
    for field in ["matcher", "status", "host"] {
        assert!(
            html.contains(&format!("id=\"{field}-error\"")),
            "{field}: {html}"
        );
        assert!(
            html.contains(&format!("<a href=\"#{field}\">")),
            "summary links {field}"
        );
    }
    assert!(!html.contains("id=\"cache_control-error\""));
    assert!(html.contains("value=\"id/no-slash\""), "input kept");
    assert!(html.contains("value=\"not a host\""));
    assert!(html.contains("value=\"max-age=60\""));
    assert!(html.contains("<option value=\"200\"") || html.contains("aria-invalid"));
    assert!(
        csrf_of(&html).is_some(),
        "the re-rendered form can be sent again"
    );
    assert_eq!(rule_count(&s), 0);

    // A target the core refuses, with a good path: the error is beside `to`.
    let r = admin.submit(
        "/-/admin/rules",
        &rule_form(&[("to", "javascript:alert(1)")]),
    );
    assert_eq!(r.status, 422);
    assert!(r.text().contains("id=\"to-error\""));
    assert_eq!(rule_count(&s), 0);

    // A host without its scheme, and a target over 8 KiB: beside `to` too.
    let long = format!("https://example.org/{}", "a".repeat(9000));
    for to in ["example.org/d", long.as_str()] {
        let r = admin.submit("/-/admin/rules", &rule_form(&[("to", to)]));
        assert_eq!(r.status, 422);
        assert!(r.text().contains("id=\"to-error\""), "{}", &to[..20]);
    }
    assert_eq!(rule_count(&s), 0);

    // A second rule for the same path: the store's refusal, beside the path.
    assert_eq!(admin.submit("/-/admin/rules", &rule_form(&[])).status, 303);
    let r = admin.submit("/-/admin/rules", &rule_form(&[("to", "/other")]));
    assert_eq!(r.status, 422);
    let html = r.text();
    assert!(html.contains("id=\"matcher-error\""), "{html}");
    assert!(html.contains("already matches"));
    assert!(html.contains("value=\"/other\""));
    assert_eq!(rule_count(&s), 1);

    // A failed edit leaves the rule as it was.
    let id = s.api("GET", "/-/api/rules", None).json()["rules"][0]["id"]
        .as_i64()
        .unwrap();
    let before = s.api("GET", &format!("/-/api/rules/{id}"), None).json();
    let r = admin.submit(
        &format!("/-/admin/rules/{id}"),
        &rule_form(&[("to", "https://example.org/ok"), ("type", "not-a-type")]),
    );
    assert_eq!(r.status, 422);
    assert!(r.text().contains("id=\"type-error\""));
    assert!(r.text().contains("Edit rule"));
    assert_eq!(
        s.api("GET", &format!("/-/api/rules/{id}"), None).json(),
        before
    );

    // Bad ids and methods.
    assert_eq!(admin.get("/-/admin/rules/abc").status, 404);
    assert_eq!(admin.get("/-/admin/rules/999").status, 404);
    assert_eq!(
        admin.submit("/-/admin/rules/999", &rule_form(&[])).status,
        404
    );
    let r = s.request("PUT", "/-/admin/rules", &[], b"");
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, HEAD, POST"));
}

#[test]
fn import_answers_303_to_a_bookmarkable_report() {
    let (_dir, s) = start("import");
    let admin = Admin::sign_in(&s);
    assert_eq!(admin.get("/-/admin/import").status, 200);
    let toml = "[[rules]]\npath = \"/id/a\"\nto = \"https://example.org/a\"\n\n\
                [[rules]]\nprefix = \"/docs/\"\nto = \"https://example.org/d/\"\n";
    let r = admin.submit("/-/admin/import", &[("text", toml), ("format", "toml")]);
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.header("location"), Some("/-/admin/imports/1"));
    for _ in 0..2 {
        let report = admin.get("/-/admin/imports/1");
        assert_eq!(report.status, 200);
        let html = report.text();
        assert!(html.contains("<strong>2</strong> created"), "{html}");
        assert!(html.contains("<code>/docs/</code>"));
    }
    assert_eq!(rule_count(&s), 2);

    // The same file again: a second report, nothing changed.
    let r = admin.submit("/-/admin/import", &[("text", toml), ("format", "toml")]);
    assert_eq!(r.header("location"), Some("/-/admin/imports/2"));
    assert!(
        admin
            .get("/-/admin/imports/2")
            .text()
            .contains("<strong>2</strong> unchanged")
    );

    // A bad file: 422, problems by line, the text kept, nothing imported.
    let bad =
        "[[rules]]\npath = \"/id/ok\"\nto = \"/fine\"\n\n[[rules]]\npath = \"nope\"\nto = \"/x\"\n";
    let r = admin.submit("/-/admin/import", &[("text", bad), ("format", "toml")]);
    assert_eq!(r.status, 422);
    let html = r.text();
    assert!(html.contains("id=\"text-error\""));
    assert!(html.contains("line 5:"), "{html}");
    assert!(html.contains("path = &quot;nope&quot;"), "pasted text kept");
    assert_eq!(rule_count(&s), 2);
    assert_eq!(s.get("/id/ok").status, 404);
    let r = admin.submit(
        "/-/admin/import",
        &[("text", "path,to\n/x,/y\n"), ("format", "")],
    );
    assert_eq!(r.status, 422);
    assert!(r.text().contains("id=\"format-error\""));
    assert_eq!(admin.get("/-/admin/imports/99").status, 404);

    // A file upload (multipart/form-data), format from the file name.
    let boundary = "----seeotherTestBoundary7MA4YWxk";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"more.csv\"\r\n\
         Content-Type: text/csv\r\n\r\npath,to\n/id/c,https://example.org/c\n/id/d,https://example.org/d\n\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"format\"\r\n\r\n\r\n\
         --{boundary}--\r\n",
        admin.csrf
    );
    let cookie = admin.cookie.clone();
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let r = s.request(
        "POST",
        "/-/admin/import",
        &[("Cookie", &cookie), ("Content-Type", &content_type)],
        body.as_bytes(),
    );
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(r.header("location"), Some("/-/admin/imports/3"));
    let html = admin.get("/-/admin/imports/3").text();
    assert!(
        html.contains("more.csv") && html.contains("<strong>2</strong> created"),
        "{html}"
    );
    assert_eq!(rule_count(&s), 4);
    assert_eq!(
        s.get("/id/d").header("location"),
        Some("https://example.org/d")
    );
}

#[test]
fn list_searches_pages_and_escapes() {
    let (_dir, s) = start("list");
    let admin = Admin::sign_in(&s);
    let mut csv = String::from("path,to,host\n");
    for i in 0..60 {
        csv.push_str(&format!("/id/n{i:02},https://example.org/n{i:02},\n"));
    }
    csv.push_str("/id/hosted,https://example.org/h,id.example.org\n");
    let r = admin.submit("/-/admin/import", &[("text", &csv), ("format", "csv")]);
    assert_eq!(r.status, 303, "{}", r.text());

    let first = admin.get("/-/admin/rules").text();
    assert_eq!(
        first.matches("<tr><td><a href=\"/-/admin/rules/").count(),
        50
    );
    let at = first.find("rel=\"next\"").expect("a next page");
    let href_start = first[..at].rfind("href=\"").unwrap() + 6;
    let href = first[href_start..at]
        .trim_end_matches("\" ")
        .replace("&amp;", "&");
    let second = admin.get(&href).text();
    assert_eq!(
        second.matches("<tr><td><a href=\"/-/admin/rules/").count(),
        11
    );
    assert!(second.contains("First page"));

    let found = admin.get("/-/admin/rules?q=n07").text();
    assert_eq!(
        found.matches("<tr><td><a href=\"/-/admin/rules/").count(),
        1
    );
    assert!(found.contains("/id/n07"));
    let hosted = admin.get("/-/admin/rules?host=ID.example.org").text();
    assert_eq!(
        hosted.matches("<tr><td><a href=\"/-/admin/rules/").count(),
        1
    );
    assert!(hosted.contains("/id/hosted"));

    let hostile = admin.get("/-/admin/rules?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E%22");
    assert_eq!(hostile.status, 200);
    let html = hostile.text();
    assert!(!html.contains("<script>"));
    assert!(html.contains("value=\"&lt;script&gt;alert(1)&lt;/script&gt;&quot;\""));
    assert!(html.contains("No rule matches"));
}

#[test]
fn try_it_shows_what_explain_would_answer() {
    let (_dir, s) = start("try");
    let admin = Admin::sign_in(&s);
    let r = admin.submit(
        "/-/admin/rules",
        &rule_form(&[
            ("kind", "pattern"),
            ("matcher", "/id/{name}"),
            ("to", "https://example.org/page/{name}"),
            (
                "variants",
                "text/turtle https://example.org/data/{name}.ttl",
            ),
        ]),
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let page = r.header("location").unwrap().to_owned();
    let html = admin.get(&page).text();
    assert!(
        html.contains("id=\"try-url\" name=\"try\" value=\"/id/x\""),
        "{html}"
    );

    let html = admin
        .get(&format!("{page}?try=%2Fid%2Fberlin&accept=text%2Fturtle"))
        .text();
    assert!(html.contains("<strong>303</strong>"), "{html}");
    assert!(html.contains("location: https://example.org/data/berlin.ttl"));
    assert!(html.contains("vary: Accept"));
    assert!(html.contains("(this rule)"));
    let html = admin
        .get(&format!("{page}?try=%2Fid%2Fberlin&accept="))
        .text();
    assert!(html.contains("location: https://example.org/page/berlin"));
    let html = admin
        .get(&format!("{page}?try=%2Fnothing%2Fhere%2Fat%2Fall&accept="))
        .text();
    assert!(html.contains("<strong>404</strong>"));
    let html = admin
        .get(&format!("{page}?try=%20bad%20url&accept="))
        .text();
    assert!(html.contains("class=\"error\" role=\"alert\""));
    // Trying counts no hit.
    let rule = s.api("GET", "/-/api/rules", None).json()["rules"][0].clone();
    assert_eq!(rule["hits"], 0);
}

#[test]
fn sign_out_revokes_the_session() {
    let (_dir, s) = start("signout");
    let admin = Admin::sign_in(&s);
    let r = admin.submit("/-/admin/sign-out", &[]);
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/-/admin/sign-in"));
    assert!(set_cookie_line(&r).unwrap().contains("Max-Age=0"));
    assert_eq!(admin.get("/-/admin/rules").status, 303);
    let r = admin.submit("/-/admin/rules", &rule_form(&[]));
    assert_eq!(r.status, 403, "the revoked session's token is void");
    assert_eq!(rule_count(&s), 0);
}

#[test]
fn stylesheet_is_cached_and_pages_share_the_core_shell() {
    let (_dir, s) = start("style");
    let css = s.get("/-/admin/style.css");
    assert_eq!(css.status, 200);
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    assert_eq!(css.header("cache-control"), Some("public, max-age=86400"));
    let head = s.request("HEAD", "/-/admin/style.css", &[], b"");
    assert_eq!(head.header("content-length"), css.header("content-length"));
    assert!(head.body.is_empty());

    let admin = Admin::sign_in(&s);
    let page = admin.get("/-/admin/rules").text();
    let missing = s.get("/no/such/rule").text();
    // The same shell: doctype, lang, viewport and the core's inline style.
    let head_of = |h: &str| h[..h.find("<title>").unwrap()].to_owned();
    assert_eq!(head_of(&page), head_of(&missing));
    assert!(page.contains("href=\"/-/admin/style.css\""));
    let head = admin
        .server
        .request("HEAD", "/-/admin/rules", &[("Cookie", &admin.cookie)], b"");
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
}

#[test]
fn oversized_or_unknown_bodies_are_refused_and_change_nothing() {
    let (_dir, s) = start("limits");
    let admin = Admin::sign_in(&s);
    let big = "x".repeat(100 * 1024);
    let mut fields = rule_form(&[("variants", &big)]);
    fields.push(("csrf", &admin.csrf));
    let r = admin.post("/-/admin/rules", &fields);
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(r.text().contains("larger than 64 KiB"));
    let cookie = admin.cookie.clone();
    let r = s.request(
        "POST",
        "/-/admin/rules",
        &[("Cookie", &cookie), ("Content-Type", "application/json")],
        b"{}",
    );
    assert_eq!(r.status, 415);
    assert_eq!(rule_count(&s), 0);
}
