//! The admin pages over HTTPS with curl as the peer: session cookies are `Secure`, and the
//! sign-in form's 303 leads into the pages over HTTP/2.

mod admin_support;
mod serve_support;

use std::process::Command;

use admin_support::csrf_of;
use serve_support::{Server, TOKEN, TempDir};

fn curl(args: &[&str]) -> String {
    let out = Command::new("curl")
        .args(["--max-time", "20", "-sS"])
        .args(args)
        .output()
        .expect("curl is installed (scripts/test-all installs it)");
    assert!(
        out.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn session_cookies_are_secure_over_tls() {
    let dir = TempDir::new("admin-tls");
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert_file = dir.file("cert.pem", &cert.cert.pem());
    let key_file = dir.file("key.pem", &cert.key_pair.serialize_pem());
    let s = Server::start(
        &dir.path().join("s.db"),
        &[
            "--tls-cert",
            cert_file.to_str().unwrap(),
            "--tls-key",
            key_file.to_str().unwrap(),
        ],
    );
    let port = s.addr.port();
    let resolve = format!("localhost:{port}:127.0.0.1");
    let jar = dir.path().join("jar.txt");
    let jar = jar.to_str().unwrap();
    let base = format!("https://localhost:{port}");
    let common = [
        "--cacert",
        cert_file.to_str().unwrap(),
        "--resolve",
        &resolve,
        "--http2",
        "-b",
        jar,
        "-c",
        jar,
        "-D",
        "-",
    ];
    let run = |extra: &[&str]| {
        let mut args: Vec<&str> = common.to_vec();
        args.extend_from_slice(extra);
        curl(&args)
    };

    let page = run(&[&format!("{base}/-/admin/sign-in")]);
    assert!(page.starts_with("HTTP/2 200"), "{page}");
    let cookie = page
        .lines()
        .find(|l| l.starts_with("set-cookie:"))
        .expect("a session cookie");
    assert!(cookie.contains("; Secure"), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let csrf = csrf_of(&page).expect("a CSRF token");

    let signed = run(&[
        "--data-urlencode",
        &format!("csrf={csrf}"),
        "--data-urlencode",
        &format!("token={TOKEN}"),
        "--data-urlencode",
        "next=/-/admin/import",
        &format!("{base}/-/admin/sign-in"),
    ]);
    assert!(signed.starts_with("HTTP/2 303"), "{signed}");
    assert!(signed.contains("location: /-/admin/import"), "{signed}");
    let cookie = signed
        .lines()
        .find(|l| l.starts_with("set-cookie:"))
        .expect("a new session cookie");
    assert!(cookie.contains("; Secure"), "{cookie}");

    // curl sends the Secure cookie back over HTTPS: the page opens.
    let import = run(&[&format!("{base}/-/admin/import")]);
    assert!(import.starts_with("HTTP/2 200"), "{import}");
    assert!(import.contains("<title>Import rules</title>"));
}
