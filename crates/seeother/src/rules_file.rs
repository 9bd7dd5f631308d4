//! `seeother import` and `seeother export`: rule files in and out of the store.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use seeother_server::rules_file::{self, Format};
use seeother_server::store::Store;

/// Arguments of `seeother import`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "All rules of the file are applied, or none: problems are listed by \
line. A running server over the same database picks the change up within seconds."
)]
pub struct ImportArgs {
    /// The rule file (.toml, .json or .csv).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// The database.
    #[arg(long, value_name = "PATH", default_value = seeother_server::server::DEFAULT_DB)]
    pub db: PathBuf,

    /// The file's format, when its name does not say it.
    #[arg(long, value_name = "toml|json|csv", value_parser = parse_format)]
    pub format: Option<Format>,

    /// Only check the file; change nothing.
    #[arg(long)]
    pub check: bool,
}

/// Arguments of `seeother export`.
#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// The database.
    #[arg(long, value_name = "PATH", default_value = seeother_server::server::DEFAULT_DB)]
    pub db: PathBuf,

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
pub fn open_existing(db: &Path) -> Result<Store, String> {
    if !db.exists() {
        return Err(format!(
            "no database at {}; start `seeother serve --db {}` once, or give the right --db",
            db.display(),
            db.display()
        ));
    }
    Store::open(db).map_err(|e| e.to_string())
}

/// Run `seeother import`.
pub fn import(args: ImportArgs) -> ExitCode {
    let rules = match rules_file::read_path(&args.file, args.format) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("seeother import: {e}");
            return ExitCode::FAILURE;
        }
    };
    if args.check {
        println!("{}: {} rules, all valid", args.file.display(), rules.len());
        return ExitCode::SUCCESS;
    }
    let store = match Store::open(&args.db) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("seeother import: {e}");
            return ExitCode::FAILURE;
        }
    };
    let actor = format!("import:{}", args.file.display());
    match store.import(&rules, &actor) {
        Ok(r) => {
            println!(
                "{}: {} created, {} updated, {} unchanged (store {})",
                args.file.display(),
                r.created,
                r.updated,
                r.unchanged,
                args.db.display()
            );
            ExitCode::SUCCESS
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

/// Run `seeother export`.
pub fn export(args: ExportArgs) -> ExitCode {
    let format = args
        .format
        .or_else(|| args.output.as_deref().and_then(Format::from_path))
        .unwrap_or(Format::Toml);
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
