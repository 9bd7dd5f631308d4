//! The whole server: store, rules, token, listener, background counters, signals.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::access_log::{AccessLog, Destination, Format as LogFormat};
use crate::app::App;
use crate::auth::{AdminToken, TokenError, TokenSource};
use crate::catalog::{Catalog, CatalogError, STREAMED_FROM};
use crate::http::listener::{self, Limits, TlsError};
use crate::import::FileImportError;
use crate::reload;
use crate::rules_file::{Format, ReadError};
use crate::stats::{Maintenance, Unknown, UnknownLimits};
use crate::store::{DEFAULT_BUSY_TIMEOUT, ImportReport, Location, Store, StoreError};

/// The default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8303";
/// The default database file.
pub const DEFAULT_DB: &str = "seeother.db";

/// How to run the server.
#[derive(Clone, Debug)]
pub struct Options {
    /// Address to listen on (port 0 picks a free one).
    pub listen: SocketAddr,
    /// The store: a SQLite file (created on first start) or a PostgreSQL database.
    pub db: Location,
    /// Rule files loaded into the store at start (all or nothing, each; one unchanged since
    /// it was last applied, with no rule changed since, is skipped).
    pub rules: Vec<PathBuf>,
    /// A file holding the admin token (else `SEEOTHER_ADMIN_TOKEN`, else a generated one).
    pub admin_token_file: Option<PathBuf>,
    /// PEM certificate chain and private key, to serve HTTPS (h2 and HTTP/1.1 by ALPN).
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Connection limits and timeouts.
    pub limits: Limits,
    /// How often hit counters are written to the store.
    pub flush_interval: Duration,
    /// What is kept of the paths that match no rule (in memory and in the store).
    pub unknown: UnknownLimits,
    /// How long a write waits for another process's lock on the database before the API
    /// answers 503.
    pub db_busy_timeout: Duration,
    /// Threads that serve requests; 0 for one per core the process may run on. With one,
    /// everything runs on the calling thread (no hand-offs between threads).
    pub threads: usize,
    /// Wrong admin tokens (API and sign-in) allowed per client address.
    pub auth_throttle: crate::throttle::Config,
    /// A local snapshot of the index, written whenever the rules changed (at most every
    /// 30 s) and read at start: a SQLite store's is `DB.snapshot` unless
    /// given; a node on PostgreSQL keeps one only where given, and serves it while the
    /// database cannot be reached.
    pub snapshot: Option<PathBuf>,
    /// Keep no snapshot (SQLite: not even beside the store).
    pub no_snapshot: bool,
    /// Check every rule's targets this often in the background, under these limits
    /// ([`crate::check::background`]); off when `None`.
    pub check: Option<(Duration, seeother_client::check::Options)>,
    /// Where and how to write the access log, if at all.
    pub access_log: Option<(Destination, LogFormat)>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            listen: DEFAULT_LISTEN.parse().expect("valid default address"),
            db: Location::Sqlite(PathBuf::from(DEFAULT_DB)),
            rules: Vec::new(),
            admin_token_file: None,
            tls: None,
            limits: Limits::default(),
            flush_interval: Duration::from_secs(5),
            unknown: UnknownLimits::default(),
            db_busy_timeout: DEFAULT_BUSY_TIMEOUT,
            threads: 0,
            auth_throttle: crate::throttle::Config::default(),
            snapshot: None,
            no_snapshot: false,
            check: None,
            access_log: None,
        }
    }
}

/// Why the server could not start or run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No admin token could be had.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// A `--rules` file could not be read or is not valid.
    #[error(transparent)]
    Rules(#[from] ReadError),
    /// A `--rules` file could not be stored.
    #[error("{path}: {source}")]
    Import {
        /// The file.
        path: PathBuf,
        /// Why.
        source: CatalogError,
    },
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}; pick another address with --listen")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// TLS could not be set up.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The access log could not be opened.
    #[error("{0}; give another --access-log path, or - for standard output")]
    AccessLog(std::io::Error),
    /// The async runtime could not start.
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
    /// PostgreSQL cannot be reached at start and there is no snapshot to serve from.
    #[error(
        "cannot start: {source}; and there is no snapshot to serve from meanwhile ({why}). Start the database, or give --snapshot PATH (a node writes it while the database is up)"
    )]
    Unreachable {
        /// Why the database could not be used.
        source: StoreError,
        /// Why no snapshot was served.
        why: String,
    },
}

/// A server ready to run: store open, rules loaded, address bound.
#[derive(Debug)]
pub struct Server {
    listener: std::net::TcpListener,
    addr: SocketAddr,
    app: Arc<App>,
    token_source: TokenSource,
    tls: Option<Arc<rustls::ServerConfig>>,
    limits: Limits,
    flush_interval: Duration,
    loaded: Vec<(PathBuf, ImportReport)>,
    rules: Vec<PathBuf>,
    snapshot: Option<PathBuf>,
    from_snapshot: Option<i64>,
    check: Option<(Duration, seeother_client::check::Options)>,
    runtime: tokio::runtime::Runtime,
    shutdown: Shutdown,
}

impl Server {
    /// Bind the address, then open the store, load `--rules` files and obtain the token.
    pub fn prepare(options: Options) -> Result<Server, ServeError> {
        // The address first: a start that cannot bind (the port is taken) has written nothing,
        // neither the store, nor the token, nor the `--rules` files' rules.
        let tls = match &options.tls {
            Some((cert, key)) => Some(listener::tls_config(cert, key)?),
            None => None,
        };
        let bind = |source| ServeError::Bind {
            addr: options.listen,
            source,
        };
        let listener = std::net::TcpListener::bind(options.listen).map_err(bind)?;
        listener.set_nonblocking(true).map_err(bind)?;
        let addr = listener.local_addr().map_err(bind)?;
        reload::ignore_hangup();
        let access = match &options.access_log {
            Some((to, format)) => {
                Some(AccessLog::open(to.clone(), *format).map_err(ServeError::AccessLog)?)
            }
            None => None,
        };
        let (catalog, token, token_source) = open(&options)?;
        let from_snapshot = (!catalog.health().database).then(|| catalog.seen());
        let mut loaded = Vec::new();
        for path in &options.rules {
            if from_snapshot.is_some() {
                tracing::warn!(file = %path.display(), "serving the snapshot; rules file not applied");
                continue;
            }
            loaded.push((path.clone(), apply_rules_file(&catalog, path)?));
        }
        let snapshot = snapshot_path(&options);
        let mut app = App::new(catalog, token);
        app.unknown = Arc::new(Unknown::new(options.unknown));
        app.throttle = crate::throttle::Throttle::new(options.auth_throttle);
        app.access = access;
        let runtime = runtime(options.threads)?;
        // Listened for before the caller says it has started: a SIGTERM sent right after the
        // start-up message stops the server gracefully instead of killing it.
        let shutdown = {
            let _entered = runtime.enter();
            Shutdown::listen()
        };
        Ok(Server {
            listener,
            addr,
            app: Arc::new(app),
            token_source,
            tls,
            limits: options.limits,
            flush_interval: options.flush_interval,
            loaded,
            rules: options.rules,
            snapshot,
            from_snapshot,
            check: options.check,
            runtime,
            shutdown,
        })
    }

    /// The address bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Whether the server speaks TLS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Where the admin token came from.
    pub fn token_source(&self) -> &TokenSource {
        &self.token_source
    }

    /// What each `--rules` file changed (or that it was skipped, unchanged).
    pub fn rules_loaded(&self) -> &[(PathBuf, ImportReport)] {
        &self.loaded
    }

    /// The change number of the snapshot served, when the node started from one (the
    /// database could not be reached).
    pub fn from_snapshot(&self) -> Option<i64> {
        self.from_snapshot
    }

    /// How many rules answer requests.
    pub fn rule_count(&self) -> usize {
        self.app.catalog.index().len()
    }

    /// How the rules were loaded at start.
    pub fn started(&self) -> &crate::catalog::Started {
        self.app.catalog.started()
    }

    /// The base URL (`http://ADDR` or `https://ADDR`).
    pub fn base_url(&self) -> String {
        format!(
            "{}://{}",
            if self.is_tls() { "https" } else { "http" },
            self.addr
        )
    }

    /// Serve until SIGTERM or SIGINT, then finish requests in flight, write the counters and
    /// return. SIGHUP reopens the access log and applies the `--rules` files again (see
    /// `reload`). From the end of [`Server::prepare`] on, none of the three ends the process
    /// abruptly: a SIGTERM sent before `run` is called stops it as soon as it runs.
    pub fn run(self) -> Result<(), ServeError> {
        let runtime = self.runtime;
        let maintenance =
            Maintenance::spawn(self.app.clone(), self.flush_interval, self.snapshot.clone());
        let result = runtime.block_on(async move {
            if let Some((interval, options)) = self.check {
                tokio::spawn(crate::check::background::run(
                    self.app.clone(),
                    interval,
                    options,
                ));
            }
            let listener = tokio::net::TcpListener::from_std(self.listener).map_err(|source| {
                ServeError::Bind {
                    addr: self.addr,
                    source,
                }
            })?;
            let logs = self.app.clone();
            let hangups = tokio::spawn(reload::on_hangup(
                self.app.clone(),
                self.rules,
                apply_rules_file,
                move || {
                    if let Some(log) = &logs.access {
                        log.reopen();
                    }
                },
            ));
            let app = self.app.clone();
            let stop = self.shutdown.wait();
            listener::serve(listener, self.app, self.limits, self.tls, stop).await;
            hangups.abort();
            if let Some(log) = &app.access {
                log.close();
            }
            Ok(())
        });
        maintenance.stop();
        tracing::info!("stopped");
        result
    }
}

/// Open the store and load its rules (from the snapshot when PostgreSQL cannot be reached and
/// one is given), and obtain the token.
fn open(options: &Options) -> Result<(Arc<Catalog>, AdminToken, TokenSource), ServeError> {
    let busy = options.db_busy_timeout;
    let (store, snapshot) = match Store::connect(&options.db, busy) {
        Ok(store) => (store, None),
        Err(e) if e.is_busy() && matches!(options.db, Location::Postgres(_)) => {
            let Location::Postgres(url) = &options.db else {
                unreachable!("matched above")
            };
            let unreachable = |why: String| ServeError::Unreachable {
                source: StoreError::Busy(crate::store::Busy::Unavailable(e.to_string())),
                why,
            };
            let Some(path) = &options.snapshot else {
                return Err(unreachable("no --snapshot given".into()));
            };
            let loaded = crate::snapshot::read(path).map_err(|s| unreachable(s.to_string()))?;
            tracing::warn!(
                error = %e,
                snapshot = %path.display(),
                seen = loaded.seq,
                rules = loaded.index.len(),
                "PostgreSQL cannot be reached; serving the snapshot until it can"
            );
            let store = Store::Postgres(Box::new(crate::store::Postgres::offline(url, busy)?));
            (store, Some((loaded, e.to_string())))
        }
        Err(e) => return Err(e.into()),
    };
    let store = Arc::new(store);
    // Before the rules are loaded: a token refused (too short) stops the start at once.
    let (token, token_source) =
        AdminToken::obtain(options.admin_token_file.as_deref(), store.path())?;
    let catalog = match snapshot {
        Some((loaded, why)) => Catalog::from_snapshot(
            store,
            loaded.index,
            loaded.seq,
            format!("started from the snapshot of change {} ({why})", loaded.seq),
        ),
        None => Catalog::open_from(store, snapshot_path(options).as_deref())?,
    };
    Ok((Arc::new(catalog), token, token_source))
}

/// Where the snapshot of the index is kept, if anywhere.
pub fn snapshot_path(options: &Options) -> Option<PathBuf> {
    if options.no_snapshot {
        return None;
    }
    match (&options.snapshot, &options.db) {
        (Some(path), _) => Some(path.clone()),
        (None, Location::Sqlite(db)) if db.as_os_str() != ":memory:" => {
            let mut path = db.as_os_str().to_owned();
            path.push(".snapshot");
            Some(path.into())
        }
        (None, _) => None,
    }
}

/// Import the `--rules` file at `path`, unless it is unchanged since it was last applied and
/// no rule changed since (then importing it would change nothing, and the report says
/// `skipped`).
fn apply_rules_file(catalog: &Catalog, path: &Path) -> Result<ImportReport, ServeError> {
    let format =
        Format::from_path(path).ok_or_else(|| ReadError::UnknownFormat(path.to_owned()))?;
    let actor = format!("file:{}", path.display());
    let large = std::fs::metadata(path).is_ok_and(|m| m.len() >= STREAMED_FROM as u64);
    let imported = if large {
        catalog.import_file_streamed(path, format, &actor)
    } else {
        crate::import::import_file(catalog.store(), path, format, |rules| {
            catalog.import(rules, &actor)
        })
    };
    imported.map_err(|e| match e {
        FileImportError::Read(e) => e.into(),
        FileImportError::Import(source) => ServeError::Import {
            path: path.to_owned(),
            source,
        },
    })
}

/// The runtime that serves: one thread, or `threads` (0: as many as the CPU affinity mask
/// allows, so `taskset -c 0` gives 1).
fn runtime(threads: usize) -> Result<tokio::runtime::Runtime, ServeError> {
    let threads = match threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    }
    .map_err(ServeError::Runtime)
}

/// SIGTERM and SIGINT, listened for from the moment it is made (tokio installs the handlers
/// when a `Signal` is created, not when it is first polled).
#[derive(Debug)]
struct Shutdown {
    #[cfg(unix)]
    signals: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Shutdown {
    /// Start listening; inside the runtime's context.
    fn listen() -> Shutdown {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let signals = match (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) {
                (Ok(term), Ok(int)) => Some((term, int)),
                (Err(e), _) | (_, Err(e)) => {
                    tracing::warn!(error = %e, "cannot listen for SIGTERM and SIGINT");
                    None
                }
            };
            Shutdown { signals }
        }
        #[cfg(not(unix))]
        Shutdown {}
    }

    /// Completes at the first SIGTERM or SIGINT (Ctrl-C).
    async fn wait(self) {
        #[cfg(unix)]
        match self.signals {
            Some((mut term, mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            None => std::future::pending().await,
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
