//! Shared by the `admin_*` tests: a signed-in admin session over real sockets (cookie and CSRF
//! token taken from the pages, as a browser would), on top of `serve_support`.
#![allow(dead_code)]

use crate::serve_support::{Resp, Server, TOKEN};

/// The value of the admin session cookie a response sets, if any.
pub fn set_cookie(r: &Resp) -> Option<String> {
    set_cookie_named(r, "seeother_admin")
}

/// The value of the sign-in form's cookie (its signed CSRF token) a response sets, if any.
pub fn set_form_cookie(r: &Resp) -> Option<String> {
    set_cookie_named(r, "seeother_sign_in")
}

/// The value of cookie `name` a response sets, if any.
pub fn set_cookie_named(r: &Resp, name: &str) -> Option<String> {
    let prefix = format!("{name}=");
    r.headers
        .iter()
        .filter(|(n, _)| n == "set-cookie")
        .find_map(|(_, v)| v.strip_prefix(prefix.as_str()))
        .map(|v| v.split(';').next().unwrap_or("").to_owned())
}

/// The full `Set-Cookie` value of a response.
pub fn set_cookie_line(r: &Resp) -> Option<&str> {
    r.header("set-cookie")
}

/// The CSRF token in a page's forms.
pub fn csrf_of(html: &str) -> Option<String> {
    let at = html.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    let end = html[at..].find('"')?;
    Some(html[at..at + end].to_owned())
}

/// `application/x-www-form-urlencoded` body of `pairs`.
pub fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            s.push('&');
        }
        s.push_str(&enc(k));
        s.push('=');
        s.push_str(&enc(v));
    }
    s
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                (b as char).to_string()
            }
            b' ' => "+".to_owned(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// A browser-like admin: the cookie it sends (`name=value`) and the CSRF token of its forms.
pub struct Admin<'s> {
    pub server: &'s Server,
    /// The `Cookie` field value: the sign-in form's cookie before signing in, the session
    /// cookie after.
    pub cookie: String,
    pub csrf: String,
}

impl<'s> Admin<'s> {
    /// Open the sign-in page, without signing in, and keep what a browser would: the cookies
    /// it sets (the form's signed cookie) and the form's CSRF token.
    pub fn anonymous(server: &'s Server) -> Admin<'s> {
        let r = server.get("/-/admin/sign-in");
        assert_eq!(r.status, 200, "{}", r.text());
        let cookie = r
            .headers
            .iter()
            .filter(|(n, _)| n == "set-cookie")
            .map(|(_, v)| v.split(';').next().unwrap_or("").to_owned())
            .collect::<Vec<_>>()
            .join("; ");
        assert!(!cookie.is_empty(), "the sign-in page sets a cookie");
        Admin {
            server,
            cookie,
            csrf: csrf_of(&r.text()).expect("the sign-in form has a CSRF token"),
        }
    }

    /// Sign in with the test token, as a browser would: sign-in page, form POST, then a page.
    pub fn sign_in(server: &'s Server) -> Admin<'s> {
        let anon = Self::anonymous(server);
        let r = anon.post(
            "/-/admin/sign-in",
            &[("csrf", &anon.csrf), ("token", TOKEN), ("next", "")],
        );
        assert_eq!(r.status, 303, "{}", r.text());
        let cookie = set_cookie(&r).expect("signing in sets a session cookie");
        let mut admin = Admin {
            server,
            cookie: format!("seeother_admin={cookie}"),
            csrf: String::new(),
        };
        let page = admin.get("/-/admin/rules");
        assert_eq!(page.status, 200, "{}", page.text());
        admin.csrf = csrf_of(&page.text()).expect("signed-in pages carry a CSRF token");
        admin
    }

    /// GET `target` with the cookie.
    pub fn get(&self, target: &str) -> Resp {
        self.server
            .request("GET", target, &[("Cookie", &self.cookie)], b"")
    }

    /// POST a URL-encoded form to `target` with the cookie.
    pub fn post(&self, target: &str, pairs: &[(&str, &str)]) -> Resp {
        self.server.request(
            "POST",
            target,
            &[
                ("Cookie", &self.cookie),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            form(pairs).as_bytes(),
        )
    }

    /// POST a form with this session's CSRF token added.
    pub fn submit(&self, target: &str, pairs: &[(&str, &str)]) -> Resp {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(pairs);
        self.post(target, &all)
    }
}

/// How many rules the JSON API lists.
pub fn rule_count(server: &Server) -> usize {
    let r = server.api("GET", "/-/api/rules?limit=1000", None);
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["rules"].as_array().unwrap().len()
}

/// A complete rule form, overridden by `over`.
pub fn rule_form<'a>(over: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![
        ("kind", "path"),
        ("matcher", "/id/berlin"),
        ("to", "https://example.org/page/berlin"),
        ("status", "303"),
        ("host", ""),
        ("query", "append"),
        ("type", ""),
        ("variants", ""),
        ("cache_control", ""),
    ];
    for (k, v) in over {
        match f.iter_mut().find(|(n, _)| n == k) {
            Some(slot) => slot.1 = v,
            None => f.push((k, v)),
        }
    }
    f
}
