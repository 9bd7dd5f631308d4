//! `seeother fetch`: a curl-like user agent that follows redirects by the book (the work is done
//! by `seeother-client`; this module parses arguments and prints).

mod exit;
mod human;
mod json;
mod request;
mod retry;
mod usage;
mod verbose;
mod write_out;

pub use usage::unknown_flag;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use seeother_client::{Client, CookieJar, Policy, redact};

/// Arguments of `seeother fetch`.
#[derive(clap::Args, Debug)]
#[command(after_long_help = exit::HELP)]
pub struct FetchArgs {
    /// The options, boxed to keep the command enum small.
    #[command(flatten)]
    pub options: Box<Options>,
}

/// The options of `seeother fetch`.
#[derive(clap::Args, Debug)]
pub struct Options {
    /// The URL to fetch (`http://` or `https://`; `http://` is assumed when no scheme is given).
    #[arg(value_name = "URL")]
    pub url: String,

    /// The method of the original request (redirects then change it by the book: a 303 turns
    /// anything but HEAD into GET).
    #[arg(short = 'X', long = "request", value_name = "METHOD")]
    pub method: Option<String>,

    /// Send DATA as the request body (`@FILE` reads a file, without its CR/LF); implies POST and
    /// an `application/x-www-form-urlencoded` type. Repeated values are joined with `&`.
    #[arg(short = 'd', long = "data", value_name = "DATA")]
    pub data: Vec<String>,

    /// Like --data, but `@FILE` is sent byte for byte.
    #[arg(long = "data-binary", value_name = "DATA")]
    pub data_binary: Vec<String>,

    /// Add a header field, `Name: value` (repeatable). `Name:` removes a default field,
    /// `Name;` sends it empty.
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub headers: Vec<String>,

    /// Send HEAD and print the final response's header fields.
    #[arg(short = 'I', long = "head")]
    pub head: bool,

    /// Print the final response's status line and header fields before its body.
    #[arg(short = 'i', long = "include")]
    pub include: bool,

    /// Write the final body to FILE instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Write the final body to a file named like the URL's last path segment, in the current
    /// directory (curl's `-O`; the original URL's name, not a redirect target's).
    #[arg(short = 'O', long = "remote-name", conflicts_with = "output")]
    pub remote_name: bool,

    /// Print nothing but the body: no hop chain, and no error message unless --show-error.
    #[arg(short = 's', long = "silent")]
    pub silent: bool,

    /// With --silent, still print the error message when the fetch fails.
    #[arg(short = 'S', long = "show-error")]
    pub show_error: bool,

    /// Print each hop's request and response header fields on standard error (`> ` sent,
    /// `< ` received, as curl), numbered; credentials masked.
    #[arg(short = 'v', long = "verbose", conflicts_with = "silent")]
    pub verbose: bool,

    /// After the fetch, print FORMAT on standard output with curl's variables replaced:
    /// %{http_code} %{url_effective} %{num_redirects} %{redirect_url} %{time_total}
    /// %{time_connect} %{size_download} %{exitcode} %{errormsg} %{json}; \n \t \\ and %%
    /// as in curl. `@FILE` reads FORMAT from FILE.
    #[arg(short = 'w', long = "write-out", value_name = "FORMAT")]
    pub write_out: Option<String>,

    /// Accepted for curl's sake: redirects are followed by default.
    #[arg(short = 'L', long = "location")]
    pub location: bool,

    /// Redirects to follow at most; 0 follows none (a redirect is then an error).
    #[arg(long = "max-redirs", value_name = "N", default_value_t = 20)]
    pub max_redirs: u32,

    /// Do not follow redirects: the first response is the answer (curl without -L).
    #[arg(
        long = "no-follow",
        visible_alias = "no-location",
        conflicts_with = "location"
    )]
    pub no_follow: bool,

    /// Send `User-Agent: UA` instead of `seeother/VERSION`; `-A ''` sends none. An explicit
    /// `-H 'User-Agent: …'` wins.
    #[arg(short = 'A', long = "user-agent", value_name = "UA")]
    pub user_agent: Option<String>,

    /// Send `Referer: URL` with the first request (`URL;auto` as well: later hops send the
    /// redirecting URL, as they do anyway).
    #[arg(short = 'e', long = "referer", value_name = "URL")]
    pub referer: Option<String>,

    /// Send `USER:PASSWORD` with HTTP Basic authentication (RFC 7617). Like any
    /// `Authorization`, it is never sent to another origin than the first.
    #[arg(short = 'u', long = "user", value_name = "USER:PASSWORD")]
    pub user: Option<String>,

    /// Retry up to N times after a transient failure: a timeout, or a final 408, 429, 500,
    /// 502, 503 or 504 (as curl). Not after a refused connection, nor with a one-shot body.
    #[arg(long = "retry", value_name = "N", default_value_t = 0)]
    pub retry: u32,

    /// Wait SECS between retries (default: 1 s, doubling each time; a Retry-After of the
    /// answer wins).
    #[arg(long = "retry-delay", value_name = "SECS")]
    pub retry_delay: Option<f64>,

    /// Follow a redirect from https to http (refused by default).
    #[arg(long = "allow-downgrade")]
    pub allow_downgrade: bool,

    /// Keep POST as POST on 301 and 302 (a 303 always becomes GET).
    #[arg(long = "keep-post")]
    pub keep_post: bool,

    /// Time allowed for the whole fetch, all hops together, in seconds.
    #[arg(short = 'm', long = "timeout", value_name = "SECS")]
    pub timeout: Option<f64>,

    /// Time allowed to open each TCP connection, in seconds.
    #[arg(long = "connect-timeout", value_name = "SECS", default_value_t = 10.0)]
    pub connect_timeout: f64,

    /// Time allowed for each request (connection, response and body), in seconds.
    #[arg(long = "hop-timeout", value_name = "SECS", default_value_t = 30.0)]
    pub hop_timeout: f64,

    /// The largest final body accepted, in bytes.
    #[arg(long = "max-filesize", value_name = "BYTES", default_value_t = 1 << 30)]
    pub max_filesize: u64,

    /// Send cookies: `name=value; name2=value2` as a `Cookie` field, or a cookie file (curl's
    /// format) loaded into the jar when the argument has no `=`.
    #[arg(short = 'b', long = "cookie", value_name = "DATA|FILE")]
    pub cookie: Vec<String>,

    /// Save the jar's cookies to FILE after the fetch, in curl's cookie file format.
    #[arg(
        short = 'c',
        long = "cookie-jar",
        value_name = "FILE",
        conflicts_with = "no_cookies"
    )]
    pub cookie_jar: Option<PathBuf>,

    /// Keep no cookie jar: `Set-Cookie` fields are ignored.
    #[arg(long = "no-cookies")]
    pub no_cookies: bool,

    /// Connect to ADDR whenever a URL names HOST:PORT, instead of resolving HOST (curl's
    /// `--resolve`; repeatable). The URL, `Host`, TLS name and cookies stay HOST's.
    #[arg(long = "resolve", value_name = "HOST:PORT:ADDR")]
    pub resolve: Vec<String>,

    /// Trust the root certificates in this PEM file as well as the system's. A self-signed
    /// server certificate (`openssl req -x509`) given here is trusted as the server's own.
    #[arg(long = "cacert", value_name = "FILE")]
    pub cacert: Option<PathBuf>,

    /// Ask for a compressed body (gzip, deflate, br, zstd) and decode it; --max-filesize then
    /// bounds the decoded size, so a decompression bomb is an error (exit 63). Header fields
    /// are printed as received.
    #[arg(long = "compressed")]
    pub compressed: bool,

    /// Send the requests through this proxy (`[http://][user:password@]host[:port]`, port 1080
    /// by default as curl); https URLs through a CONNECT tunnel. Hosts in `NO_PROXY` go
    /// direct. Without it, `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and `NO_PROXY` (lower case
    /// too) are used as curl uses them.
    #[arg(short = 'x', long = "proxy", value_name = "URL")]
    pub proxy: Option<String>,

    /// Do not check the server's certificate at all (curl's `-k`): anyone on the path can read
    /// and change the traffic. Prefer --cacert with the server's certificate.
    #[arg(short = 'k', long = "insecure")]
    pub insecure: bool,

    /// Print one JSON document on standard output (result, every hop, or the error) instead of
    /// the body.
    #[arg(long = "json")]
    pub json: bool,
}

/// Run `seeother fetch`.
pub fn run(args: FetchArgs) -> ExitCode {
    let mut args = *args.options;
    let format = match args
        .write_out
        .as_deref()
        .map(write_out::Format::parse)
        .transpose()
    {
        Ok(f) => f,
        Err(message) => {
            eprintln!("seeother fetch: {message}");
            return ExitCode::from(exit::USAGE);
        }
    };
    if args.remote_name {
        match request::remote_name(&args.url) {
            Ok(name) => args.output = Some(name),
            Err(message) => {
                eprintln!("seeother fetch: {}", redact::message(&message));
                return ExitCode::from(exit::USAGE);
            }
        }
    }
    let prepared = match request::prepare(&args) {
        Ok(p) => p,
        Err(message) => {
            // The message may quote the URL given, password and all.
            eprintln!("seeother fetch: {}", redact::message(&message));
            return ExitCode::from(exit::USAGE);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("seeother fetch: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let client = match build_client(&args, &prepared.removed) {
        Ok(c) => c,
        Err(message) => {
            eprintln!("seeother fetch: {}", redact::message(&message));
            return ExitCode::from(exit::USAGE);
        }
    };
    let jar = prepared.jar.clone().unwrap_or_default();
    let jar_used = (!args.no_cookies).then_some(&jar);
    let started = std::time::Instant::now();
    let mut outcome = if args.json {
        json_fetch(&args, &runtime, &client, prepared, jar_used)
    } else {
        // The body goes to its output as it arrives.
        human::fetch(&args, &runtime, &client, prepared, jar_used)
    };
    outcome.time_total = started.elapsed();
    let mut code = outcome.code;
    if let Some(format) = &format {
        if let Err(e) = format.print(&outcome) {
            if e.kind() != std::io::ErrorKind::BrokenPipe {
                eprintln!("seeother fetch: cannot write the output: {e}");
            }
            code = code.max(exit::WRITE);
        }
    }
    if let Some(path) = &args.cookie_jar {
        if let Err(e) = save_jar(&jar, path) {
            eprintln!(
                "seeother fetch: cannot write the cookie jar {}: {e}",
                path.display()
            );
            code = code.max(exit::WRITE);
        }
    }
    ExitCode::from(code)
}

/// `--json`: the body is part of the document, so it is read into memory (up to
/// `--max-filesize`) before anything is printed.
fn json_fetch(
    args: &Options,
    runtime: &tokio::runtime::Runtime,
    client: &Client,
    prepared: request::Prepared,
    jar: Option<&CookieJar>,
) -> write_out::Outcome {
    let mut retry = retry::Retry::new(args, prepared.request.body().is_replayable());
    let mut request = prepared.request;
    let result = loop {
        let result = runtime.block_on(async {
            match jar {
                Some(jar) => client.send_with_jar(request, jar).await,
                None => client.send(request).await,
            }
        });
        let attempt = match &result {
            Ok(r) => retry::Attempt::Answer(r.status, &r.headers),
            Err(e) => retry::Attempt::Failed(e),
        };
        let Some(delay) = retry.after(attempt) else {
            break result;
        };
        // Each try sends the request anew, as the arguments describe it.
        match retry::again(args, runtime, delay) {
            Some(next) => request = next,
            None => break result,
        }
    };
    let mut code = match &result {
        Ok(_) => 0,
        Err(e) => exit::code(e),
    };
    match (&result, &args.output) {
        (Err(e), _) => human::print_error(args, e),
        // The body is in the document; --output gets a copy of it as well.
        (Ok(response), Some(path)) => {
            if let Err(e) = std::fs::write(path, &response.body) {
                eprintln!("seeother fetch: cannot write {}: {e}", path.display());
                code = code.max(exit::WRITE);
            }
        }
        (Ok(_), None) => {}
    }
    if let Err(e) = json::print(&prepared.url, &result) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("seeother fetch: cannot write the output: {e}");
        }
        code = code.max(exit::WRITE);
    }
    match &result {
        Ok(r) => write_out::Outcome::of_response(code, r.status, &r.history, r.body.len() as u64),
        Err(e) => write_out::Outcome::of_error(code, &prepared.url, e),
    }
}

fn build_client(args: &Options, removed: &[http::HeaderName]) -> Result<Client, String> {
    let policy = Policy {
        max_redirects: args.max_redirs,
        keep_post: args.keep_post,
        allow_downgrade: args.allow_downgrade,
        ..Policy::default()
    };
    let secs = |name: &str, s: f64| {
        Duration::try_from_secs_f64(s)
            .map_err(|_| format!("--{name} {s}: give a positive number of seconds"))
    };
    let mut builder = Client::builder()
        .policy(policy)
        .follow_redirects(!args.no_follow)
        .cookies(!args.no_cookies)
        .connect_timeout(Some(secs("connect-timeout", args.connect_timeout)?))
        .hop_timeout(Some(secs("hop-timeout", args.hop_timeout)?))
        .chain_timeout(args.timeout.map(|t| secs("timeout", t)).transpose()?)
        .max_body_size(args.max_filesize)
        // Before the removals: `-H 'Accept-Encoding:'` still removes its field.
        .decompress(args.compressed);
    for entry in &args.resolve {
        let (host, port, addr) = parse_resolve(entry)?;
        builder = builder.resolve(host, port, addr);
    }
    match args.user_agent.as_deref() {
        // curl: `-A ''` sends no User-Agent.
        Some("") => builder = builder.default_header(http::header::USER_AGENT, None),
        Some(ua) => {
            let value = http::HeaderValue::from_str(ua)
                .map_err(|_| format!("-A {ua:?}: a User-Agent cannot hold control characters"))?;
            builder = builder.default_header(http::header::USER_AGENT, Some(value));
        }
        None => {}
    }
    for name in removed {
        builder = builder.default_header(name.clone(), None);
    }
    builder = builder.danger_accept_invalid_certs(args.insecure);
    builder = match &args.proxy {
        Some(proxy) => {
            let no_proxy = std::env::var("NO_PROXY")
                .or_else(|_| std::env::var("no_proxy"))
                .unwrap_or_default();
            builder.proxy(&proxy_url(proxy)?, &no_proxy)
        }
        None => builder.proxy_from_env(),
    };
    if let Some(path) = &args.cacert {
        let pem = std::fs::read(path)
            .map_err(|e| format!("cannot read --cacert {}: {e}", path.display()))?;
        builder = builder
            .add_root_certificates_pem(&pem)
            .map_err(|e| format!("--cacert {}: {e}", path.display()))?;
    }
    builder.build().map_err(|e| e.to_string())
}

/// The proxy of `-x`, `http://` assumed and port 1080 when none is given (as curl).
fn proxy_url(given: &str) -> Result<String, String> {
    let with_scheme = if given.contains("://") {
        given.to_owned()
    } else {
        format!("http://{given}")
    };
    let mut url = url::Url::parse(&with_scheme).map_err(|e| {
        format!("-x {given:?} is not a proxy URL ({e}); write it as http://host:port")
    })?;
    if url.scheme() != "http" {
        return Err(format!(
            "-x {given:?}: only http:// proxies are supported (https URLs go through them with \
             CONNECT)"
        ));
    }
    if url.port().is_none() {
        let _ = url.set_port(Some(1080));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// `HOST:PORT:ADDR`, ADDR an IPv4 or IPv6 address (brackets optional), as curl's `--resolve`.
fn parse_resolve(entry: &str) -> Result<(&str, u16, std::net::IpAddr), String> {
    let bad = |why: &str| {
        format!(
            "--resolve {entry:?}: {why}; write it as HOST:PORT:ADDR, e.g. example.com:443:127.0.0.1"
        )
    };
    let mut parts = entry.splitn(3, ':');
    let (Some(host), Some(port), Some(addr)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad("expected three parts separated by ':'"));
    };
    if host.is_empty() {
        return Err(bad("the host is empty"));
    }
    let port = port
        .parse()
        .map_err(|_| bad("the port is not a number from 0 to 65535"))?;
    let addr = addr
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .map_err(|_| bad("the address is not an IP address"))?;
    Ok((host, port, addr))
}

fn save_jar(jar: &CookieJar, path: &std::path::Path) -> std::io::Result<()> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    jar.write_netscape(&mut file)?;
    file.flush()
}
