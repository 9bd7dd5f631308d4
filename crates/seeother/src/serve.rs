//! `seeother serve`: argument parsing and the start-up message; the server is
//! `seeother_server::Server`.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use seeother_server::access_log::{Destination, Format as LogFormat};
use seeother_server::http::body::BodyDeadline;
use seeother_server::http::listener::Limits;
use seeother_server::stats::UnknownLimits;
use seeother_server::store::{Location, UnknownRetention};
use seeother_server::{Options, Server};

/// Arguments of `seeother serve`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "The admin token comes from --admin-token-file, else from the \
SEEOTHER_ADMIN_TOKEN environment variable, else it is generated and stored beside the \
database (mode 0600). Logs go to standard error; set RUST_LOG (e.g. RUST_LOG=debug) for more."
)]
pub struct ServeArgs {
    /// Address to listen on: IP:PORT, HOST:PORT (e.g. localhost:8303) or a port alone (on
    /// 127.0.0.1).
    #[arg(long, value_name = "ADDR", default_value = seeother_server::server::DEFAULT_LISTEN,
          value_parser = listen_addr)]
    pub listen: SocketAddr,

    /// The store: a SQLite file (PATH or sqlite:PATH, created on first start) or a
    /// PostgreSQL database (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME, shared by a fleet).
    #[arg(long, value_name = "PATH|URL", env = "SEEOTHER_DB", hide_env_values = true,
          default_value = seeother_server::server::DEFAULT_DB)]
    pub db: Location,

    /// A local snapshot of the index, read at start instead of loading every rule, and
    /// written whenever the rules changed (at most every 30 s). SQLite: DB.snapshot unless
    /// given, used only when it is of the store's exact state. PostgreSQL: none unless given;
    /// caught up from at start, and served while the database cannot be reached.
    #[arg(long, value_name = "PATH", conflicts_with = "no_snapshot")]
    pub snapshot: Option<PathBuf>,

    /// Keep no snapshot of the index (every start loads the rules from the store).
    #[arg(long)]
    pub no_snapshot: bool,

    /// A rule file (TOML, JSON or CSV) to load into the store at start; repeatable.
    #[arg(long = "rules", value_name = "FILE")]
    pub rules: Vec<PathBuf>,

    /// A file holding the admin API's bearer token.
    #[arg(long, value_name = "PATH")]
    pub admin_token_file: Option<PathBuf>,

    /// PEM certificate chain: serve HTTPS (HTTP/2 and HTTP/1.1 by ALPN). Needs --tls-key.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key of --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Connections served at once.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub max_connections: usize,

    /// Connections one client address (IPv4, or IPv6 /64) may hold at once; more are closed
    /// at accept. 0: no limit (set it behind a reverse proxy, where one address is everyone).
    #[arg(long, value_name = "N", default_value_t = 256)]
    pub max_connections_per_client: usize,

    /// Seconds a client has to send a request's header block: the first from accept (TLS
    /// handshake included), each later one from the previous response.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    pub header_timeout: f64,

    /// Seconds a request body may take to arrive (admin pages and API), before the extension
    /// --body-min-rate earns; a body still unread then gets 408 and the connection is closed.
    #[arg(long, value_name = "SECONDS", default_value_t = 20.0)]
    pub body_timeout: f64,

    /// Bytes of a request body that earn one more second of --body-timeout (0: none).
    #[arg(long, value_name = "BYTES", default_value_t = 500)]
    pub body_min_rate: u64,

    /// Seconds after which an idle connection is closed.
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    pub idle_timeout: f64,

    /// Largest request header block, in bytes (over HTTP/1.1 never below 8192).
    #[arg(long, value_name = "BYTES", default_value_t = 16 * 1024)]
    pub max_header_bytes: usize,

    /// Seconds that shutdown (SIGTERM, SIGINT) waits for requests in flight.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    pub shutdown_grace: f64,

    /// Seconds between writes of the hit counters to the store.
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0)]
    pub flush_interval: f64,

    /// Distinct unknown paths (matching no rule) counted in memory between two flushes, and
    /// kept when a flush fails; requests for others are only counted in total.
    #[arg(long, value_name = "N", default_value_t = seeother_server::stats::MAX_UNKNOWN_PER_FLUSH)]
    pub unknown_paths: usize,

    /// Unknown paths kept in the store; beyond, the least asked-for are deleted.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub unknown_rows: u64,

    /// Days an unknown path is kept in the store after it was last asked for (0: until the
    /// row cap deletes it).
    #[arg(long, value_name = "DAYS", default_value_t = 30.0)]
    pub unknown_retention: f64,

    /// Days the counts per day (hits per rule and variant, 410s, unknown paths) are kept,
    /// today included; older days are deleted.
    #[arg(long, value_name = "DAYS", default_value_t = 400, value_parser = clap::value_parser!(u32).range(1..))]
    pub stats_retention: u32,

    /// Unknown paths kept per day in the store; beyond, the day's least asked-for go.
    #[arg(long, value_name = "N", default_value_t = 1_000)]
    pub unknown_per_day: u64,

    /// Seconds a write waits for another process's lock on the database (e.g. `seeother
    /// import`) before the API answers 503 with Retry-After.
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0)]
    pub db_busy_timeout: f64,

    /// Threads that serve requests (0: one per CPU the process may use, e.g. under taskset).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub threads: usize,

    /// Wrong admin tokens (API or sign-in form) a client address may send at once; past them
    /// it is answered 429 Too Many Requests, even with the right token, until it has waited.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub auth_failures: u32,

    /// Seconds after which a client address may send one more wrong admin token.
    #[arg(long, value_name = "SECONDS", default_value_t = 1.0)]
    pub auth_failure_interval: f64,

    /// Client addresses (IPv6: /64 prefixes) whose wrong tokens are tracked at once; past
    /// that the one closest to its limit's end is forgotten.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub auth_clients: usize,

    /// Serve every request with hyper, the general HTTP engine. By default plain GET, HEAD
    /// and POST requests for identifiers over HTTP/1.1 and HTTP/2 are answered directly (the
    /// same answers, with less work per request).
    #[arg(long)]
    pub no_fast_path: bool,

    /// Serve every HTTP/2 request with hyper. By default an HTTP/2 connection's plain
    /// redirects are answered in its own task (the same answers, with less work per
    /// request), and its other requests by the service in a task each. --no-fast-path turns
    /// this off too.
    #[arg(long)]
    pub no_fast_path_h2: bool,
    /// Run the direct path on tokio's epoll loop (a receive and a send system call per
    /// request) rather than on io_uring, which batches many connections' receives and sends
    /// into one system call. io_uring is used where the kernel offers it (Linux 5.11 or
    /// later, not forbidden by a seccomp filter); the log says which at start.
    #[arg(long)]
    pub no_io_uring: bool,

    /// Reverse proxies to believe: from these addresses or networks (CIDR, e.g. 127.0.0.1,
    /// 10.0.0.0/8, ::1) only, the Forwarded field (RFC 7239) or X-Forwarded-Host,
    /// X-Forwarded-Proto and X-Forwarded-For give the host, scheme and client address. From
    /// anyone else these fields are ignored. Repeatable, or comma-separated.
    #[arg(long, value_name = "CIDR", value_delimiter = ',', value_parser = proxy_net)]
    pub trust_proxy: Vec<ipnet::IpNet>,

    /// Write logs as JSON lines.
    #[arg(long)]
    pub log_json: bool,

    /// Write an access log, one line per request: to PATH (appended to, created with mode
    /// 0640; reopened on SIGHUP, for logrotate), or to standard output with `-`.
    #[arg(long, value_name = "PATH|-")]
    pub access_log: Option<PathBuf>,

    /// The access log's format: combined (Apache's and nginx's, for log analysers) or json
    /// (also the rule that answered, its Location and the time taken).
    #[arg(long, value_name = "combined|json", default_value = "combined",
          value_parser = ["combined", "json"], requires = "access_log")]
    pub access_log_format: String,

    /// Check every rule's targets in the background this often (e.g. 6h, 30m, 1d), as
    /// `seeother check` does, and keep the latest result per rule: in the API
    /// (/-/api/rules/{id}/check, /-/api/checks?state=broken) and the metrics
    /// (seeother_targets). Off by default.
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub check_interval: Option<Duration>,

    /// Seconds between two background check requests to one host (one at a time per host,
    /// four in all).
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 1.0,
        requires = "check_interval"
    )]
    pub check_delay: f64,
}

/// `--check-interval`: a duration such as `6h`, `30m` or `1d` (or seconds alone), not zero.
fn duration(s: &str) -> Result<Duration, String> {
    let d = match s.trim().parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => humantime::parse_duration(s.trim())
            .map_err(|e| format!("{s:?} is not a duration ({e}); write e.g. 6h, 30m, 1d or 90s"))?,
    };
    if d.is_zero() {
        return Err("a check interval of 0 would never rest; write e.g. 6h".to_owned());
    }
    Ok(d)
}

/// `--listen`: an address, a host name and port (its first IPv4 address, else its first), or a
/// port on the loopback address.
fn listen_addr(s: &str) -> Result<SocketAddr, String> {
    use std::net::{Ipv4Addr, ToSocketAddrs};
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Ok(port) = s.parse::<u16>() {
        return Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
    }
    if !s.contains(':') {
        return Err(format!(
            "{s:?} has no port; write HOST:PORT (localhost:8303), IP:PORT (0.0.0.0:8303) or a port (8303)"
        ));
    }
    let addrs: Vec<SocketAddr> = s
        .to_socket_addrs()
        .map_err(|e| {
            format!(
                "{s:?} cannot be resolved ({e}); write IP:PORT (127.0.0.1:8303) or a port (8303)"
            )
        })?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| format!("{s:?} resolves to no address"))
}

/// `--trust-proxy`: a network in CIDR notation, or one address.
fn proxy_net(s: &str) -> Result<ipnet::IpNet, String> {
    let s = s.trim();
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map(|n| n.trunc())
        .map_err(|_| {
            format!(
                "{s:?} is no address or network; write one such as 127.0.0.1, ::1 or 10.0.0.0/8"
            )
        })
}

fn seconds(name: &str, s: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(s)
        .map_err(|_| format!("--{name} {s} is not a number of seconds ≥ 0"))
}

/// Set up tracing on standard error (`RUST_LOG` filters; `info` by default).
pub fn init_logs(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colour only for a person at a terminal, never in a file or a journal.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

fn options(args: ServeArgs) -> Result<Options, String> {
    Ok(Options {
        listen: args.listen,
        db: args.db,
        snapshot: args.snapshot,
        no_snapshot: args.no_snapshot,
        access_log: args.access_log.map(|path| {
            let to = if path.as_os_str() == "-" {
                Destination::Stdout
            } else {
                Destination::File(path)
            };
            let format =
                LogFormat::from_name(&args.access_log_format).unwrap_or(LogFormat::Combined);
            (to, format)
        }),
        rules: args.rules,
        admin_token_file: args.admin_token_file,
        tls: args.tls_cert.zip(args.tls_key),
        limits: Limits {
            max_connections: args.max_connections.max(1),
            max_connections_per_client: args.max_connections_per_client,
            header_read_timeout: seconds("header-timeout", args.header_timeout)?,
            body: BodyDeadline {
                timeout: seconds("body-timeout", args.body_timeout)?,
                min_rate: args.body_min_rate,
            },
            idle_timeout: seconds("idle-timeout", args.idle_timeout)?,
            max_header_bytes: args.max_header_bytes,
            shutdown_grace: seconds("shutdown-grace", args.shutdown_grace)?,
            fast_path: !args.no_fast_path,
            fast_path_h2: !args.no_fast_path_h2,
            io_uring: !args.no_io_uring,
            trusted_proxies: args.trust_proxy.into(),
        },
        flush_interval: seconds("flush-interval", args.flush_interval)?,
        unknown: UnknownLimits {
            max_paths: args.unknown_paths,
            store: UnknownRetention {
                max_rows: args.unknown_rows,
                max_age: match Duration::try_from_secs_f64(args.unknown_retention * 86_400.0) {
                    Ok(d) if d.is_zero() => None,
                    Ok(d) => Some(d),
                    Err(_) => {
                        return Err(format!(
                            "--unknown-retention {} is not a number of days ≥ 0",
                            args.unknown_retention
                        ));
                    }
                },
            },
            daily: seeother_server::store::daily::DailyRetention {
                days: args.stats_retention,
                unknown_per_day: args.unknown_per_day.max(1),
            },
        },
        db_busy_timeout: seconds("db-busy-timeout", args.db_busy_timeout)?,
        threads: args.threads,
        auth_throttle: seeother_server::throttle::Config {
            burst: args.auth_failures.max(1),
            interval: seconds("auth-failure-interval", args.auth_failure_interval)?,
            max_clients: args.auth_clients.max(1),
        },
        check: match args.check_interval {
            Some(every) => Some((
                every,
                seeother_client::check::Options {
                    delay: seconds("check-delay", args.check_delay)?,
                    ..seeother_server::check::background::default_options()
                },
            )),
            None => None,
        },
    })
}

/// Run `seeother serve`.
pub fn run(args: ServeArgs) -> ExitCode {
    init_logs(args.log_json);
    let db = args.db.clone();
    let options = match options(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("seeother serve: {e}");
            return ExitCode::from(2);
        }
    };
    let server = match Server::prepare(options) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("seeother serve: {e}");
            return ExitCode::FAILURE;
        }
    };
    let base = server.base_url();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "seeother serve: listening on {base}");
    for (path, r) in server.rules_loaded() {
        let _ = writeln!(
            out,
            "  loaded {}: {} created, {} updated, {} unchanged{}",
            path.display(),
            r.created,
            r.updated,
            r.unchanged,
            if r.skipped {
                " (file unchanged, skipped)"
            } else {
                ""
            }
        );
    }
    match server.from_snapshot() {
        None => {
            let started = server.started();
            let how = match &started.snapshot {
                Some(path) => format!("read from its snapshot {}", path.display()),
                None => "loaded".to_owned(),
            };
            let _ = writeln!(
                out,
                "  rules:  {} (store {db}; {how} in {:.0?})",
                server.rule_count(),
                started.took
            );
        }
        Some(seq) => {
            let _ = writeln!(
                out,
                "  rules:  {} (from the snapshot of change {seq}: {db} cannot be reached)",
                server.rule_count()
            );
        }
    }
    let _ = writeln!(
        out,
        "  API:    {base}/-/api/rules (OpenAPI: {base}/-/api/openapi.json)"
    );
    let _ = writeln!(out, "  token:  {}", server.token_source());
    let _ = writeln!(out, "  health: {base}/-/healthz, metrics: {base}/-/metrics");
    let _ = out.flush();
    drop(out);
    match server.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("seeother serve: {e}");
            ExitCode::FAILURE
        }
    }
}
