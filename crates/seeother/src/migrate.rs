//! `seeother migrate`: copy a single node's SQLite store into PostgreSQL.

use std::process::ExitCode;

use seeother_server::store::{DEFAULT_BUSY_TIMEOUT, Location, Store};

/// Arguments of `seeother migrate`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Copies the rules (with their ids), their history, the hit counters and the \
unknown paths in one transaction, and keeps the copy only if the counts on both sides match. \
Stop the nodes that use the target database while it runs."
)]
pub struct MigrateArgs {
    /// The SQLite store to copy (PATH or sqlite:PATH).
    #[arg(long, value_name = "PATH")]
    pub from: Location,

    /// The PostgreSQL database to copy into (postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME).
    #[arg(long, value_name = "URL")]
    pub to: Location,

    /// Replace what the target holds (else a target with rules or history is refused).
    #[arg(long)]
    pub force: bool,
}

/// Run `seeother migrate`.
pub fn run(args: MigrateArgs) -> ExitCode {
    match migrate(&args) {
        Ok(message) => {
            println!("{message}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("seeother migrate: {e}");
            ExitCode::FAILURE
        }
    }
}

fn migrate(args: &MigrateArgs) -> Result<String, String> {
    let Location::Sqlite(from) = &args.from else {
        return Err(format!(
            "--from {} is not a SQLite store; give its path (sqlite:PATH)",
            args.from
        ));
    };
    if !matches!(args.to, Location::Postgres(_)) {
        return Err(format!(
            "--to {} is not a PostgreSQL URL; give postgres://USER[:PASSWORD]@HOST[:PORT]/DBNAME",
            args.to
        ));
    }
    let source = crate::rules_file::open_existing(&args.from)?;
    let target = Store::connect(&args.to, DEFAULT_BUSY_TIMEOUT).map_err(|e| e.to_string())?;
    let (Store::Sqlite(source), Store::Postgres(target)) = (&source, &target) else {
        unreachable!("the locations were checked above");
    };
    let copied = target
        .copy_from(source, args.force)
        .map_err(|e| e.to_string())?;
    Ok(format!(
        "copied {} to {}: {} rules, {} history entries, {} hits, {} unknown paths (counts verified)",
        from.display(),
        args.to,
        copied.rules,
        copied.history,
        copied.hits,
        copied.unknown
    ))
}
