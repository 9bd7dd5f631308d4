//! curl's cookie file format ("Netscape format"): one cookie a line, seven tab-separated
//! fields: domain, include-subdomains, path, secure, expiry (Unix seconds, 0 for a session
//! cookie), name, value. A `#HttpOnly_` prefix on the domain marks an HttpOnly cookie.

use std::io::{self, BufRead, Write};

use cookie_store::{CookieDomain, CookieExpiration, RawCookie};
use url::Url;

use super::CookieJar;

const HTTP_ONLY_PREFIX: &str = "#HttpOnly_";

/// A cookie file that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum NetscapeError {
    /// Reading the file failed.
    #[error("cannot read the cookie file: {0}")]
    Io(#[from] io::Error),
    /// A line is not seven tab-separated fields.
    #[error(
        "cookie file line {line}: expected 7 tab-separated fields (domain, subdomains, path, \
         secure, expiry, name, value), found {found}"
    )]
    Fields {
        /// 1-based line number.
        line: usize,
        /// How many fields it has.
        found: usize,
    },
    /// A field holds a value that does not fit it.
    #[error("cookie file line {line}: {what}")]
    Value {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        what: String,
    },
}

impl CookieJar {
    /// Read cookies in curl's cookie file format (`curl -c` output) into a new jar. Expired
    /// cookies are skipped.
    ///
    /// ```
    /// use seeother_client::CookieJar;
    /// use seeother_core::follow::Jar;
    ///
    /// let file = "# Netscape HTTP Cookie File\n.example.com\tTRUE\t/\tFALSE\t0\tsid\t42\n";
    /// let jar = CookieJar::read_netscape(file.as_bytes()).unwrap();
    /// let url = url::Url::parse("http://www.example.com/").unwrap();
    /// assert_eq!(jar.cookie(&url).unwrap(), "sid=42");
    /// ```
    pub fn read_netscape(reader: impl BufRead) -> Result<Self, NetscapeError> {
        let jar = CookieJar::new();
        jar.load_netscape(reader)?;
        Ok(jar)
    }

    /// Add the cookies of a file in curl's cookie file format to this jar; returns how many
    /// were added.
    ///
    /// A line is held to the rules a `Set-Cookie` from its domain would be: a cookie for a public
    /// suffix with subdomains (`.com TRUE …`) is skipped, since it would go to every site under
    /// it (RFC 6265 §5.3 step 5), and so are expired cookies and ones the store refuses. A line
    /// that is not in the format is an error.
    pub fn load_netscape(&self, reader: impl BufRead) -> Result<usize, NetscapeError> {
        let mut count = 0;
        for (index, line) in reader.lines().enumerate() {
            let line = line?;
            let number = index + 1;
            let line = line.trim_end_matches(['\r', '\n']);
            let (line, http_only) = match line.strip_prefix(HTTP_ONLY_PREFIX) {
                Some(rest) => (rest, true),
                None => (line, false),
            };
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.split('\t').collect();
            // curl writes an empty value as a missing seventh field.
            let (domain, subdomains, path, secure, expiry, name, value) = match fields[..] {
                [d, s, p, sec, e, n, v] => (d, s, p, sec, e, n, v),
                [d, s, p, sec, e, n] => (d, s, p, sec, e, n, ""),
                _ => {
                    return Err(NetscapeError::Fields {
                        line: number,
                        found: fields.len(),
                    });
                }
            };
            let bad = |what: String| NetscapeError::Value { line: number, what };
            let expiry: i64 = expiry
                .parse()
                .map_err(|_| bad(format!("expiry {expiry:?} is not a number of seconds")))?;
            let secure = flag(secure).ok_or_else(|| bad(format!("secure {secure:?}")))?;
            let subdomains =
                flag(subdomains).ok_or_else(|| bad(format!("subdomains {subdomains:?}")))?;
            let host = domain.trim_start_matches('.');
            let scheme = if secure { "https" } else { "http" };
            let url = Url::parse(&format!("{scheme}://{host}{path}"))
                .map_err(|e| bad(format!("domain {domain:?} and path {path:?}: {e}")))?;
            // RFC 6265 §5.3 step 5: no cookie for a whole public suffix. (A host-only line for a
            // host that is a suffix is what that host itself could set, and is kept.)
            let canonical = url.host_str().unwrap_or(host);
            if subdomains && super::is_public_suffix(canonical) {
                continue;
            }
            let mut cookie = RawCookie::build((name.to_owned(), value.to_owned()))
                .path(path.to_owned())
                .secure(secure)
                .http_only(http_only);
            if subdomains {
                cookie = cookie.domain(host.to_owned());
            }
            if expiry != 0 {
                let when = cookie::time::OffsetDateTime::from_unix_timestamp(expiry)
                    .map_err(|e| bad(format!("expiry {expiry}: {e}")))?;
                cookie = cookie.expires(when);
            }
            // Expired cookies and ones the store refuses are skipped, as curl does.
            if self.insert(&cookie.build(), &url).is_ok() {
                count += 1;
            }
        }
        Ok(count)
    }

    /// Write the jar's unexpired cookies, session cookies included, in curl's cookie file
    /// format.
    pub fn write_netscape(&self, mut out: impl Write) -> io::Result<()> {
        writeln!(out, "# Netscape HTTP Cookie File")?;
        writeln!(out, "# Written by seeother. Edit at your own risk.")?;
        writeln!(out)?;
        let store = self.lock();
        for c in store.iter_unexpired() {
            let (domain, subdomains) = match &c.domain {
                CookieDomain::Suffix(d) => (format!(".{d}"), "TRUE"),
                CookieDomain::HostOnly(d) => (d.clone(), "FALSE"),
                CookieDomain::NotPresent | CookieDomain::Empty => continue,
            };
            let prefix = if c.http_only() == Some(true) {
                HTTP_ONLY_PREFIX
            } else {
                ""
            };
            let expiry = match &c.expires {
                CookieExpiration::AtUtc(t) => t.unix_timestamp(),
                CookieExpiration::SessionEnd => 0,
            };
            writeln!(
                out,
                "{prefix}{domain}\t{subdomains}\t{}\t{}\t{expiry}\t{}\t{}",
                String::from(&c.path),
                if c.secure() == Some(true) {
                    "TRUE"
                } else {
                    "FALSE"
                },
                c.name(),
                c.value()
            )?;
        }
        Ok(())
    }
}

fn flag(s: &str) -> Option<bool> {
    match s {
        "TRUE" | "true" => Some(true),
        "FALSE" | "false" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use seeother_core::follow::Jar;

    #[test]
    fn round_trip_keeps_domain_path_secure_and_http_only() {
        let jar = CookieJar::new();
        let url = Url::parse("https://a.example.com/app/login").unwrap();
        jar.add("s=1; Domain=example.com; Path=/; Secure; HttpOnly", &url)
            .unwrap();
        jar.add("h=2; Path=/app; Max-Age=3600", &url).unwrap();
        let mut file = Vec::new();
        jar.write_netscape(&mut file).unwrap();
        let text = String::from_utf8(file.clone()).unwrap();
        assert!(
            text.contains("#HttpOnly_.example.com\tTRUE\t/\tTRUE\t0\ts\t1"),
            "{text}"
        );
        assert!(
            text.contains("a.example.com\tFALSE\t/app\tFALSE\t"),
            "{text}"
        );

        let back = CookieJar::read_netscape(&file[..]).unwrap();
        assert_eq!(back.len(), 2);
        let sub = Url::parse("https://b.example.com/").unwrap();
        assert_eq!(back.cookie(&sub).unwrap(), "s=1");
        let plain = Url::parse("http://b.example.com/").unwrap();
        assert!(back.cookie(&plain).is_none(), "secure cookie over http");
        let host_only = Url::parse("http://a.example.com/app/x").unwrap();
        assert_eq!(back.cookie(&host_only).unwrap(), "h=2");
        let other_path = Url::parse("http://a.example.com/other").unwrap();
        assert!(back.cookie(&other_path).is_none());
    }

    #[test]
    fn expired_lines_are_skipped_and_bad_lines_reported() {
        let file = "example.com\tFALSE\t/\tFALSE\t1\told\tx\n";
        assert!(
            CookieJar::read_netscape(file.as_bytes())
                .unwrap()
                .is_empty()
        );
        let err = CookieJar::read_netscape("a\tb\n".as_bytes()).unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
    }
}
