//! `seeother backup` and `seeother restore`: a consistent copy of a live SQLite store, and
//! putting one back.

use std::path::PathBuf;
use std::process::ExitCode;

use seeother_server::store::{Backup, Location};

/// Arguments of `seeother backup`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Safe while `seeother serve` runs on the store and writes go on: the copy is \
the store at one moment (SQLite's VACUUM INTO), checked before this says it is done. For a \
PostgreSQL store use pg_dump."
)]
pub struct BackupArgs {
    /// The new file to write (never overwritten).
    #[arg(value_name = "OUT")]
    pub out: PathBuf,

    /// The store to copy.
    #[arg(long, value_name = "PATH", env = "SEEOTHER_DB", hide_env_values = true,
          default_value = seeother_server::server::DEFAULT_DB)]
    pub db: Location,
}

/// Arguments of `seeother restore`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "The backup is checked first (SQLite's integrity check, its schema version, a \
rules table), and the store as it was is kept beside it as DB.before-restore-UNIXTIME. A \
server running on the store reloads its rules by itself."
)]
pub struct RestoreArgs {
    /// The backup to put back (a file written by `seeother backup`).
    #[arg(value_name = "BACKUP")]
    pub backup: PathBuf,

    /// The store to replace.
    #[arg(long, value_name = "PATH", env = "SEEOTHER_DB", hide_env_values = true,
          default_value = seeother_server::server::DEFAULT_DB)]
    pub db: Location,
}

fn summary(b: &Backup) -> String {
    format!("{} rules, schema {}, {} bytes", b.rules, b.schema, b.bytes)
}

/// Run `seeother backup`.
pub fn backup(args: BackupArgs) -> ExitCode {
    let done = crate::rules_file::open_existing(&args.db)
        .and_then(|store| store.backup_to(&args.out).map_err(|e| e.to_string()));
    match done {
        Ok(b) => {
            println!(
                "{}: backup of {} ({})",
                args.out.display(),
                args.db,
                summary(&b)
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("seeother backup: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Run `seeother restore`.
pub fn restore(args: RestoreArgs) -> ExitCode {
    let done = crate::rules_file::open_existing(&args.db)
        .and_then(|store| store.restore_from(&args.backup).map_err(|e| e.to_string()));
    match done {
        Ok(b) => {
            println!(
                "{}: restored from {} ({}); the store as it was is in {}",
                args.db,
                args.backup.display(),
                summary(&b),
                b.kept.as_deref().unwrap_or_else(|| "".as_ref()).display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("seeother restore: {e}");
            ExitCode::FAILURE
        }
    }
}
