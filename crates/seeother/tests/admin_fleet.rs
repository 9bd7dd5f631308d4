//! The admin pages' state is the store's, over real sockets: a sign-in on one node of a
//! fleet (three nodes on one private PostgreSQL cluster) works on the others until it is
//! signed out anywhere; the sign-in form and import reports too; a rule's page shows the
//! fleet's hits; and on a single SQLite node a session and a report survive a restart.

mod admin_support;
#[path = "../../seeother-server/tests/pg_support/mod.rs"]
mod pg_support;
mod serve_support;

use std::path::Path;
use std::time::Duration;

use admin_support::{Admin, rule_form, set_cookie};
use pg_support::Cluster;
use serve_support::{Server, TOKEN, TempDir, eventually};

/// How long a change may take to reach another node here.
const LIMIT: Duration = Duration::from_secs(3);

fn fleet(pg: &Cluster) -> [Server; 3] {
    let url = pg.create_db("admin");
    let node = || Server::start(Path::new(&url), &["--flush-interval", "0.2"]);
    [node(), node(), node()]
}

/// The same browser (cookie, CSRF token) talking to another node.
fn on<'s>(admin: &Admin<'_>, server: &'s Server) -> Admin<'s> {
    Admin {
        server,
        cookie: admin.cookie.clone(),
        csrf: admin.csrf.clone(),
    }
}

#[test]
fn a_sign_in_on_one_node_works_on_the_others_until_signed_out_on_any() {
    let pg = Cluster::start();
    let [a, b, c] = fleet(&pg);

    let on_a = Admin::sign_in(&a);
    let on_b = on(&on_a, &b);
    let page = on_b.get("/-/admin/rules");
    assert_eq!(page.status, 200, "B knows A's session: {}", page.text());
    // A form posted to B with the session's CSRF token: the rule is created, and C has it.
    let r = on_b.submit("/-/admin/rules", &rule_form(&[]));
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(eventually(LIMIT, || c.get("/id/berlin").status == 303));
    // A wrong CSRF token is still refused on B.
    let wrong = Admin {
        csrf: "0".repeat(64),
        ..on(&on_a, &b)
    };
    assert_eq!(wrong.submit("/-/admin/rules", &rule_form(&[])).status, 403);

    // An import on A; its report (a 303's target) is shown by C.
    let r = on_a.submit(
        "/-/admin/import",
        &[
            (
                "text",
                "[[rules]]\npath = \"/id/imported\"\nto = \"/elsewhere\"\n",
            ),
            ("format", "toml"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let report = r.header("location").unwrap().to_owned();
    let shown = on(&on_a, &c).get(&report);
    assert_eq!(shown.status, 200, "{}", shown.text());
    assert!(shown.text().contains("/id/imported"), "{}", shown.text());

    // The sign-in form shown by A is accepted by B (one key, in the store).
    let anon = Admin::anonymous(&a);
    let r = b.request(
        "POST",
        "/-/admin/sign-in",
        &[
            ("Cookie", &anon.cookie),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        admin_support::form(&[("csrf", &anon.csrf), ("token", TOKEN), ("next", "")]).as_bytes(),
    );
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(set_cookie(&r).is_some());

    // Signed out on B: refused on A and C, pages and forms alike.
    let r = on_b.submit("/-/admin/sign-out", &[]);
    assert_eq!(r.status, 303, "{}", r.text());
    for n in [&a, &c] {
        let gone = on(&on_a, n);
        let page = gone.get("/-/admin/rules");
        assert_eq!(page.status, 303, "{} still knows the session", n.addr);
        assert!(
            page.header("location")
                .unwrap()
                .starts_with("/-/admin/sign-in")
        );
        let r = gone.submit("/-/admin/rules", &rule_form(&[("matcher", "/id/after")]));
        assert_eq!(r.status, 403, "{}", r.text());
    }
    assert_eq!(a.get("/id/after").status, 404, "nothing was created");

    // With PostgreSQL stopped, a page that needs the session answers 503 with Retry-After,
    // saying why; redirects are still answered.
    let signed = Admin::sign_in(&c);
    pg.stop();
    let r = signed.get("/-/admin/rules");
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(r.header("retry-after").is_some());
    assert!(
        r.text().contains("PostgreSQL cannot be reached"),
        "{}",
        r.text()
    );
    assert_eq!(c.get("/id/berlin").status, 303);
}

#[test]
fn a_rules_page_on_every_node_shows_the_hits_of_the_whole_fleet() {
    let pg = Cluster::start();
    let nodes = fleet(&pg);
    let admin = Admin::sign_in(&nodes[0]);
    let r = admin.submit("/-/admin/rules", &rule_form(&[]));
    assert_eq!(r.status, 303, "{}", r.text());
    let page = r.header("location").unwrap().to_owned();
    for n in &nodes {
        assert!(eventually(LIMIT, || n.get("/id/berlin").status == 303));
    }
    // Each node answered once while waiting, then 4, 8 and 12 more times.
    for (i, n) in nodes.iter().enumerate() {
        for _ in 0..4 * (i + 1) {
            assert_eq!(n.get("/id/berlin").status, 303);
        }
    }
    let total = format!("<dt>Hits</dt><dd>{}</dd>", 3 + 4 + 8 + 12);
    for n in &nodes {
        let here = on(&admin, n);
        let ok = eventually(LIMIT, || here.get(&page).text().contains(&total));
        assert!(
            ok,
            "{} does not show {total}: {}",
            n.addr,
            here.get(&page).text()
        );
    }
}

#[test]
fn a_session_and_an_import_report_survive_a_restart_of_a_sqlite_node() {
    let dir = TempDir::new("admin-restart");
    let db = dir.path().join("seeother.db");
    let mut first = Server::start(&db, &[]);
    let admin = Admin::sign_in(&first);
    let r = admin.submit(
        "/-/admin/import",
        &[
            ("text", "[[rules]]\npath = \"/id/kept\"\nto = \"/there\"\n"),
            ("format", "toml"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let report = r.header("location").unwrap().to_owned();
    let (cookie, csrf) = (admin.cookie.clone(), admin.csrf.clone());
    drop(admin);
    first.kill9();

    let second = Server::start(&db, &[]);
    let again = Admin {
        server: &second,
        cookie,
        csrf,
    };
    let page = again.get("/-/admin/rules");
    assert_eq!(
        page.status,
        200,
        "the session outlived the process: {}",
        page.text()
    );
    let shown = again.get(&report);
    assert_eq!(shown.status, 200, "{}", shown.text());
    assert!(shown.text().contains("/id/kept"));
    let r = again.submit("/-/admin/sign-out", &[]);
    assert_eq!(r.status, 303);
    assert_eq!(again.get("/-/admin/rules").status, 303, "signed out");
}
