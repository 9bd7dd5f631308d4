//! `seeother fetch`: a curl-like user agent that follows redirects by the book (the work is done
//! by `seeother-client`; this module parses arguments and prints).

mod exit;
mod human;
mod json;
mod request;

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

    /// Do not print the hop chain (errors are still reported).
    #[arg(short = 's', long = "silent")]
    pub silent: bool,

    /// Redirects to follow at most; 0 follows none (a redirect is then an error).
    #[arg(long = "max-redirs", value_name = "N", default_value_t = 20)]
    pub max_redirs: u32,

    /// Do not follow redirects: the first response is the answer.
    #[arg(long = "no-follow")]
    pub no_follow: bool,

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

    /// Trust the root certificates in this PEM file as well as the system's.
    #[arg(long = "cacert", value_name = "FILE")]
    pub cacert: Option<PathBuf>,

    /// Print one JSON document on standard output (result, every hop, or the error) instead of
    /// the body.
    #[arg(long = "json")]
    pub json: bool,
}

/// Run `seeother fetch`.
pub fn run(args: FetchArgs) -> ExitCode {
    let args = *args.options;
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
    let mut code = if args.json {
        json_fetch(&args, &runtime, &client, prepared, jar_used)
    } else {
        // The body goes to its output as it arrives.
        human::fetch(&args, &runtime, &client, prepared.request, jar_used)
    };
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
) -> u8 {
    let result = runtime.block_on(async {
        match jar {
            Some(jar) => client.send_with_jar(prepared.request, jar).await,
            None => client.send(prepared.request).await,
        }
    });
    let mut code = match &result {
        Ok(_) => 0,
        Err(e) => exit::code(e),
    };
    match (&result, &args.output) {
        (Err(e), _) => human::print_error(e),
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
    code
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
        .max_body_size(args.max_filesize);
    for entry in &args.resolve {
        let (host, port, addr) = parse_resolve(entry)?;
        builder = builder.resolve(host, port, addr);
    }
    for name in removed {
        builder = builder.default_header(name.clone(), None);
    }
    if let Some(path) = &args.cacert {
        let pem = std::fs::read(path)
            .map_err(|e| format!("cannot read --cacert {}: {e}", path.display()))?;
        builder = builder
            .add_root_certificates_pem(&pem)
            .map_err(|e| format!("--cacert {}: {e}", path.display()))?;
    }
    builder.build().map_err(|e| e.to_string())
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
