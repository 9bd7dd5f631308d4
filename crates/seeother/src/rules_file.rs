//! `seeother import` and `seeother export`: rule files in and out of the store.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use seeother_server::import::{self, FileImportError};
use seeother_server::rule::RuleSpec;
use seeother_server::rules_file::{self, Format};
use seeother_server::store::{ImportReport, Location, Store, StoreError};

/// The exit status of `seeother import` when the database stayed locked by another writer
/// through every attempt (sysexits' EX_TEMPFAIL): nothing was imported; run it again later.
pub const EXIT_BUSY: u8 = 75;

/// Attempts of `seeother import` while another writer holds the database.
const ATTEMPTS: u32 = 3;

/// Arguments of `seeother import`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "All rules of the file are applied, or none: problems are listed by \
line. A running server over the same database picks the change up within seconds. \
While another process writes the database, the import waits for it (--db-busy-timeout) \
and tries 3 times. Exit status: 0 imported, 1 failed (nothing imported), 75 the database \
stayed locked by another writer (nothing imported; run it again later)."
)]
pub struct ImportArgs {
    /// The rule file (.toml, .json or .csv); with --from apache, a directory tree of
    /// .htaccess files or one such file (with --at); with --from nginx, a configuration file
    /// with server blocks; with --from netlify, a _redirects file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Translate another server's rules: `apache` (.htaccess: mod_rewrite, mod_alias,
    /// mod_headers, mod_setenvif, mod_dir), `nginx` (map, rewrite, return, location) or
    /// `netlify` (_redirects), printing what could not be translated.
    #[arg(long, value_name = "apache|nginx|netlify", value_parser = ["apache", "nginx", "netlify"])]
    pub from: Option<String>,

    /// With --from apache and one file: the URL path of its directory, e.g. /id/.
    #[arg(long, value_name = "PATH", requires = "from")]
    pub at: Option<String>,

    /// The store: a SQLite file (PATH or sqlite:PATH) or a PostgreSQL database
    /// (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME).
    #[arg(long, value_name = "PATH|URL", env = "SEEOTHER_DB", hide_env_values = true,
          default_value = seeother_server::server::DEFAULT_DB)]
    pub db: Location,

    /// The file's format, when its name does not say it.
    #[arg(long, value_name = "toml|json|csv", value_parser = parse_format)]
    pub format: Option<Format>,

    /// Only check the file; change nothing.
    #[arg(long)]
    pub check: bool,

    /// Seconds each attempt waits for another process's lock on the database (a running
    /// server holds it for a moment per write).
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0)]
    pub db_busy_timeout: f64,

    /// With --from: ask the server being replaced (e.g. http://127.0.0.1:8080, the old
    /// Apache) the requests that exercise each translated rule, write the rules with its
    /// answers as tests to --output, and import that file (refused when a test fails).
    #[arg(long, value_name = "URL", requires_all = ["from", "output"])]
    pub record_from: Option<String>,

    /// With --record-from: the site's public origin, which the server's absolute Location
    /// fields name (its ServerName), e.g. https://w3id.org (default: the --record-from URL).
    #[arg(long, value_name = "URL", requires = "record_from")]
    pub origin: Option<String>,

    /// With --record-from: the rule file written (.toml or .json): the rules and the tests.
    #[arg(short, long, value_name = "FILE", requires = "record_from")]
    pub output: Option<PathBuf>,
}

/// Arguments of `seeother export`.
#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// The store: a SQLite file (PATH or sqlite:PATH) or a PostgreSQL database
    /// (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME).
    #[arg(long, value_name = "PATH|URL", env = "SEEOTHER_DB", hide_env_values = true,
          default_value = seeother_server::server::DEFAULT_DB)]
    pub db: Location,

    /// The format (default: from --output's extension, else toml).
    #[arg(long, value_name = "toml|json|csv", value_parser = parse_format)]
    pub format: Option<Format>,

    /// Write to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

fn parse_format(s: &str) -> Result<Format, String> {
    Format::from_name(s).ok_or_else(|| format!("{s:?} is not a format; use toml, json or csv"))
}

/// Open an existing database (never create one by accident).
pub fn open_existing(db: &Location) -> Result<Store, String> {
    if let Location::Sqlite(db) = db
        && !db.exists()
    {
        return Err(format!(
            "no database at {}; start `seeother serve --db {}` once, or give the right --db",
            db.display(),
            db.display()
        ));
    }
    Store::connect(db, seeother_server::store::DEFAULT_BUSY_TIMEOUT).map_err(|e| e.to_string())
}

/// Translate `args.file` from another server's format, printing the report; the rules that
/// passed validation.
fn translate(args: &ImportArgs) -> Result<Vec<RuleSpec>, String> {
    use seeother_server::migrate::{FindingKind, apache, netlify, nginx};
    let path = &args.file;
    let from = args.from.as_deref().unwrap_or("apache");
    let mut migration = if from != "apache" {
        if args.at.is_some() {
            return Err(format!(
                "--at is for --from apache; a {from} file names whole paths"
            ));
        }
        if !path.is_file() {
            return Err(format!("{}: no such file", path.display()));
        }
        if from == "nginx" {
            nginx::import_file(path)?
        } else {
            netlify::import_file(path)?
        }
    } else if path.is_dir() {
        if args.at.is_some() {
            return Err("--at is for one file; a directory's tree gives each file its path".into());
        }
        apache::import_tree(path)?
    } else if path.is_file() {
        let at = args.at.as_deref().ok_or_else(|| {
            format!(
                "{}: one file needs the URL path of its directory: add --at /dir/",
                path.display()
            )
        })?;
        apache::import_file(path, at)?
    } else {
        return Err(format!("{}: no such file or directory", path.display()));
    };
    let mut rules = Vec::with_capacity(migration.rules.len());
    let mut invalid = 0;
    for finding in &migration.findings {
        println!("{finding}");
    }
    for rule in std::mem::take(&mut migration.rules) {
        let scope = rule.matcher().to_owned();
        match rule.validate() {
            Ok(r) => rules.push(r),
            Err(e) => {
                invalid += 1;
                println!("{scope}: not imported: {e}");
            }
        }
    }
    let steps: usize = rules.iter().map(|r| r.steps.len()).sum();
    println!(
        "{}: {} files, {} groups with {} steps; {} files refused, {} constructs not translated, {} {} bugs not copied, {} notes, {} groups invalid",
        path.display(),
        migration.files,
        rules.len(),
        steps,
        migration.count(FindingKind::Refused),
        migration.count(FindingKind::Untranslated),
        migration.count(FindingKind::NotCopied),
        match from {
            "nginx" => "nginx",
            "netlify" => "Netlify",
            _ => "Apache",
        },
        migration.count(FindingKind::Note),
        invalid,
    );
    Ok(rules)
}

/// Run `seeother import`.
pub fn import(args: ImportArgs) -> ExitCode {
    let busy = match Duration::try_from_secs_f64(args.db_busy_timeout) {
        Ok(d) => d,
        Err(_) => {
            eprintln!(
                "seeother import: --db-busy-timeout {} is not a number of seconds ≥ 0",
                args.db_busy_timeout
            );
            return ExitCode::from(2);
        }
    };
    let actor = format!("import:{}", args.file.display());
    let result = if args.from.is_some() {
        let rules = match translate(&args) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("seeother import: {e}");
                return ExitCode::FAILURE;
            }
        };
        if let (Some(reference), Some(output)) = (&args.record_from, &args.output) {
            return record_and_import(args.clone_for(output.clone()), &rules, reference, busy);
        }
        if args.check {
            println!("{}: {} rules, all valid", args.file.display(), rules.len());
            return ExitCode::SUCCESS;
        }
        retrying(|| Store::connect(&args.db, busy)?.import_counted(&rules, &actor))
    } else if args.check {
        return match rules_file::tests::read_path_tested(&args.file, args.format) {
            Ok(rules) => {
                println!("{}: {} rules, all valid", args.file.display(), rules.len());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("seeother import: {e}");
                ExitCode::FAILURE
            }
        };
    } else {
        match import_file(&args, busy, &actor) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("seeother import: {e}");
                return ExitCode::FAILURE;
            }
        }
    };
    report(&args, result, busy)
}

/// Print what the store says of an import, or why it failed; the exit status.
fn report(args: &ImportArgs, result: Result<ImportReport, StoreError>, busy: Duration) -> ExitCode {
    match result {
        Ok(r) => {
            println!(
                "{}: {} created, {} updated, {} unchanged{} (store {})",
                args.file.display(),
                r.created,
                r.updated,
                r.unchanged,
                if r.skipped {
                    " (file unchanged since it was last applied, skipped)"
                } else {
                    ""
                },
                args.db
            );
            ExitCode::SUCCESS
        }
        Err(e) if e.is_busy() => {
            eprintln!(
                "seeother import: {}: the database {} stayed locked by another writer through \
                 {ATTEMPTS} attempts of {:?} each; nothing was imported. Run the import again \
                 once the other writer is done (a running `seeother serve` holds the lock only \
                 for a moment; look for another `seeother import`, or a `sqlite3` shell with an \
                 open transaction), or give it longer with --db-busy-timeout",
                args.file.display(),
                args.db,
                busy
            );
            ExitCode::from(EXIT_BUSY)
        }
        Err(e) => {
            eprintln!(
                "seeother import: {}: {e}; nothing was imported",
                args.file.display()
            );
            ExitCode::FAILURE
        }
    }
}

impl ImportArgs {
    /// The same import, of the rule file `file` (no translation).
    fn clone_for(&self, file: PathBuf) -> ImportArgs {
        ImportArgs {
            file,
            from: None,
            at: None,
            db: self.db.clone(),
            format: None,
            check: self.check,
            db_busy_timeout: self.db_busy_timeout,
            record_from: None,
            origin: self.origin.clone(),
            output: None,
        }
    }
}

/// `--record-from`: ask the reference, write `args.file` (the rules and its answers as
/// tests), then check or import that file as any rule file.
fn record_and_import(
    args: ImportArgs,
    rules: &[RuleSpec],
    reference: &str,
    busy: Duration,
) -> ExitCode {
    let recorded = crate::record::parse_reference(reference).and_then(|url| {
        let origin = match &args.origin {
            Some(o) => crate::record::parse_reference(o)
                .map_err(|e| e.replace("--record-from", "--origin"))?,
            None => url.clone(),
        };
        crate::record::record(rules, &url, &origin, &args.file)
    });
    match recorded {
        Ok(summary) => println!("{summary}"),
        Err(e) => {
            eprintln!("seeother import: {e}");
            return ExitCode::FAILURE;
        }
    }
    let actor = format!("import:{}", args.file.display());
    let result = if args.check {
        return match rules_file::tests::read_path_tested(&args.file, None) {
            Ok(rules) => {
                println!(
                    "{}: {} rules, every recorded answer given by the translation",
                    args.file.display(),
                    rules.len()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("seeother import: {e}");
                ExitCode::FAILURE
            }
        };
    } else {
        match import_file(&args, busy, &actor) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("seeother import: {e}");
                return ExitCode::FAILURE;
            }
        }
    };
    report(&args, result, busy)
}

/// Import the rule file of `args`, skipped when it is unchanged since it was last applied
/// and no rule changed since. `Err` when the file cannot be read or has problems; `Ok` with
/// the store's answer otherwise.
fn import_file(
    args: &ImportArgs,
    busy: Duration,
    actor: &str,
) -> Result<Result<ImportReport, StoreError>, String> {
    let path = &args.file;
    let format = args
        .format
        .or_else(|| Format::from_path(path))
        .ok_or_else(|| rules_file::ReadError::UnknownFormat(path.clone()).to_string())?;
    let store = match retrying(|| Store::connect(&args.db, busy)) {
        Ok(store) => store,
        Err(e) => return Ok(Err(e)),
    };
    // The rules are written as they are read; another writer's lock is waited for as
    // `retrying` does, the file read again for each attempt.
    let mut made = 1;
    loop {
        match import::import_file_streamed(&store, path, format, actor) {
            Ok(report) => return Ok(Ok(report)),
            Err(FileImportError::Read(e)) => return Err(e.to_string()),
            Err(FileImportError::Import(e)) if e.is_busy() && made < ATTEMPTS => {
                eprintln!(
                    "seeother import: the database is locked by another writer; trying again \
                     ({made} of {ATTEMPTS} attempts made)"
                );
                made += 1;
                std::thread::sleep(Duration::from_secs(1));
            }
            Err(FileImportError::Import(e)) => return Ok(Err(e)),
        }
    }
}

/// Run `attempt` (which opens the store or writes to it), again (up to [`ATTEMPTS`] times, a
/// second apart) while another writer holds the database longer than the busy timeout.
fn retrying<T>(mut attempt: impl FnMut() -> Result<T, StoreError>) -> Result<T, StoreError> {
    let mut made = 1;
    loop {
        match attempt() {
            Err(e) if e.is_busy() && made < ATTEMPTS => {
                eprintln!(
                    "seeother import: the database is locked by another writer; trying again \
                     ({made} of {ATTEMPTS} attempts made)"
                );
                made += 1;
                std::thread::sleep(Duration::from_secs(1));
            }
            other => return other,
        }
    }
}

/// The format of an export: `--format`, else the output file's extension (which must then
/// name one), else TOML. Nothing is written in a format the file's name does not say.
fn export_format(args: &ExportArgs) -> Result<Format, String> {
    let Some(path) = args.output.as_deref() else {
        return Ok(args.format.unwrap_or(Format::Toml));
    };
    if let Some(format) = args.format {
        return Ok(format);
    }
    match path.extension() {
        None => Ok(Format::Toml),
        Some(_) => Format::from_path(path).ok_or_else(|| {
            format!(
                "cannot tell the format of {} from its name; name it .toml, .json or .csv, or give --format toml|json|csv",
                path.display()
            )
        }),
    }
}

/// Run `seeother export`.
pub fn export(args: ExportArgs) -> ExitCode {
    let format = match export_format(&args) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("seeother export: {e}");
            return ExitCode::from(2);
        }
    };
    let result = open_existing(&args.db).and_then(|store| {
        let mut rules = Vec::new();
        store
            .for_each_rule(|r| rules.push(r))
            .map_err(|e| e.to_string())?;
        Ok(rules_file::write(&rules, format))
    });
    let text = match result {
        Ok(t) => t,
        Err(e) => {
            eprintln!("seeother export: {e}");
            return ExitCode::FAILURE;
        }
    };
    let written = match &args.output {
        Some(path) => std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display())),
        None => std::io::stdout()
            .write_all(text.as_bytes())
            .map_err(|e| e.to_string()),
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("seeother export: {e}");
            ExitCode::FAILURE
        }
    }
}
