//! From arguments to the original request: URL, method, header fields, body, cookies.

use base64::Engine;
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, REFERER};
use http::{HeaderName, HeaderValue, Method};
use seeother_client::{Body, CookieJar};
use url::Url;

use super::Options;

/// The original request, ready to send.
pub struct Prepared {
    pub url: Url,
    pub request: http::Request<Body>,
    /// The jar, when `-b FILE` loaded one (otherwise a fresh jar is used).
    pub jar: Option<CookieJar>,
    /// Fields removed with `-H 'Name:'`, which the client must not add by default either.
    pub removed: Vec<HeaderName>,
}

/// Build the request from the arguments, or say which argument is wrong.
pub fn prepare(args: &Options) -> Result<Prepared, String> {
    let url = parse_url(&args.url)?;
    let body = data(args)?;
    let method = match (&args.method, args.head, &body) {
        (Some(m), _, _) => Method::from_bytes(m.as_bytes())
            .map_err(|_| format!("-X {m:?} is not a valid method name"))?,
        (None, true, _) => Method::HEAD,
        (None, false, Some(_)) => Method::POST,
        (None, false, None) => Method::GET,
    };
    let mut builder = http::Request::builder().method(method).uri(url.as_str());
    let headers = builder
        .headers_mut()
        .ok_or_else(|| format!("{url} cannot be requested"))?;
    if body.is_some() {
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
    }
    // The first -H for a name replaces a default (e.g. the form type); later ones add fields.
    let mut given: Vec<HeaderName> = Vec::new();
    let mut removed: Vec<HeaderName> = Vec::new();
    for line in &args.headers {
        match parse_header(line)? {
            (name, Some(value)) if given.contains(&name) => {
                headers.append(name, value);
            }
            (name, Some(value)) => {
                headers.insert(name.clone(), value);
                given.push(name);
            }
            (name, None) => {
                headers.remove(&name);
                removed.push(name);
            }
        }
    }
    let mut jar = None;
    let mut cookie_pairs = Vec::new();
    for arg in &args.cookie {
        if arg.contains('=') {
            cookie_pairs.push(arg.trim().trim_end_matches(';').to_owned());
        } else {
            let file = std::fs::File::open(arg)
                .map_err(|e| format!("cannot read the cookie file {arg}: {e}"))?;
            let loaded = jar.get_or_insert_with(CookieJar::new);
            loaded
                .load_netscape(std::io::BufReader::new(file))
                .map_err(|e| format!("{arg}: {e}"))?;
        }
    }
    if let Some(referer) = &args.referer {
        // curl's `URL;auto`: the later hops' Referer is the redirecting URL, as it is anyway.
        let referer = referer.strip_suffix(";auto").unwrap_or(referer);
        if !referer.is_empty() && !headers.contains_key(REFERER) {
            let value = HeaderValue::from_str(referer)
                .map_err(|_| format!("-e {referer:?}: a Referer cannot hold control characters"))?;
            headers.insert(REFERER, value);
        }
    }
    if let Some(user) = &args.user {
        if !headers.contains_key(AUTHORIZATION) {
            headers.insert(AUTHORIZATION, basic(user)?);
        }
    }
    if !cookie_pairs.is_empty() {
        let value = HeaderValue::from_str(&cookie_pairs.join("; "))
            .map_err(|_| "-b: the cookie string holds characters a header cannot".to_owned())?;
        headers.insert(COOKIE, value);
    }
    let mut request = builder
        .body(body.map(Body::from).unwrap_or_default())
        .map_err(|e| format!("cannot build the request: {e}"))?;
    // Keeps the fragment, which the request's URI cannot hold.
    request.extensions_mut().insert(url.clone());
    Ok(Prepared {
        url,
        request,
        jar,
        removed,
    })
}

/// `-u USER:PASSWORD` as `Authorization: Basic …` (RFC 7617 §2: base64 of `user:password`).
fn basic(user: &str) -> Result<HeaderValue, String> {
    if !user.contains(':') {
        return Err(format!(
            "-u {user:?}: give USER:PASSWORD (curl would ask for the password; this does not)"
        ));
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(user);
    let mut value = HeaderValue::from_str(&format!("Basic {encoded}"))
        .map_err(|_| "-u: the credentials cannot be sent".to_owned())?;
    value.set_sensitive(true);
    Ok(value)
}

/// `-O`: the file name for a URL, its last path segment (as curl; not decoded).
pub fn remote_name(input: &str) -> Result<std::path::PathBuf, String> {
    let url = parse_url(input)?;
    let name = url
        .path_segments()
        .and_then(|mut s| s.next_back())
        .unwrap_or("");
    if name.is_empty() || name == "." || name == ".." {
        return Err(format!(
            "-O: {url} has no file name at the end of its path; name the file with -o FILE"
        ));
    }
    Ok(std::path::PathBuf::from(name))
}

/// The URL, `http://` assumed without a scheme (as curl does).
fn parse_url(input: &str) -> Result<Url, String> {
    let with_scheme = if input.contains("://") {
        input.to_owned()
    } else {
        format!("http://{input}")
    };
    Url::parse(&with_scheme).map_err(|e| format!("{input:?} is not a valid URL: {e}"))
}

/// `Name: value`, `Name:` (remove), `Name;` (empty value).
fn parse_header(line: &str) -> Result<(HeaderName, Option<HeaderValue>), String> {
    let bad = |why: &str| format!("-H {line:?}: {why}; write it as 'Name: value'");
    if let Some(name) = line.strip_suffix(';').filter(|n| !n.contains(':')) {
        let name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| bad("not a valid field name"))?;
        return Ok((name, Some(HeaderValue::from_static(""))));
    }
    let (name, value) = line.split_once(':').ok_or_else(|| bad("no colon"))?;
    let name = HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| bad("not a valid field name"))?;
    let value = value.trim();
    if value.is_empty() {
        return Ok((name, None));
    }
    let value =
        HeaderValue::from_str(value).map_err(|_| bad("the value holds a control character"))?;
    Ok((name, Some(value)))
}

/// The body from `-d` and `--data-binary`, joined with `&` as curl does.
fn data(args: &Options) -> Result<Option<Bytes>, String> {
    if args.data.is_empty() && args.data_binary.is_empty() {
        return Ok(None);
    }
    let mut parts: Vec<Vec<u8>> = Vec::new();
    for (value, binary) in args
        .data
        .iter()
        .map(|d| (d, false))
        .chain(args.data_binary.iter().map(|d| (d, true)))
    {
        let bytes = match value.strip_prefix('@') {
            Some(path) => {
                let mut bytes = std::fs::read(path)
                    .map_err(|e| format!("cannot read the data file {path}: {e}"))?;
                if !binary {
                    bytes.retain(|b| *b != b'\r' && *b != b'\n');
                }
                bytes
            }
            None => value.as_bytes().to_vec(),
        };
        parts.push(bytes);
    }
    Ok(Some(Bytes::from(parts.join(&b'&'))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_parse_like_curl() {
        let (n, v) = parse_header("X-Token:  abc ").unwrap();
        assert_eq!(
            (n.as_str(), v.unwrap().to_str().unwrap()),
            ("x-token", "abc")
        );
        assert!(parse_header("User-Agent:").unwrap().1.is_none());
        assert_eq!(parse_header("X-Empty;").unwrap().1.unwrap(), "");
        assert!(parse_header("no colon here").is_err());
    }

    #[test]
    fn remote_name_is_the_last_segment() {
        assert_eq!(
            remote_name("http://h/a/b.tar.gz?x=1").unwrap(),
            std::path::PathBuf::from("b.tar.gz")
        );
        assert!(remote_name("http://h/a/").unwrap_err().contains("-o FILE"));
        assert!(remote_name("http://h").is_err());
    }

    #[test]
    fn basic_credentials_need_a_colon() {
        assert_eq!(basic("ann:pw").unwrap(), "Basic YW5uOnB3");
        assert!(basic("ann").unwrap_err().contains("USER:PASSWORD"));
    }

    #[test]
    fn url_without_scheme_is_http() {
        assert_eq!(
            parse_url("example.com/a").unwrap().as_str(),
            "http://example.com/a"
        );
        assert!(parse_url("http://[::1").is_err());
    }
}
