//! `seeother`: the command line. Argument parsing and printing only; the work is done by
//! `seeother-server` and `seeother-client`.

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

mod backup;
mod check;
mod explain;
mod fetch;
mod migrate;
mod record;
mod rule_tests;
mod rules_file;
mod serve;

/// HTTP 303 See Other, done right: a redirect server and a user agent.
#[derive(Parser, Debug)]
#[command(name = "seeother", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the redirect server (a persistent-identifier and link resolver).
    Serve(Box<serve::ServeArgs>),
    /// Fetch a URL, following redirects by the book and showing every hop.
    Fetch(fetch::FetchArgs),
    /// Follow every rule's targets and say which are broken (exit 1 when one is).
    Check(check::CheckArgs),
    /// Say which rule a request matches and what the answer would be, without a server.
    Explain(explain::ExplainArgs),
    /// Load a rule file (TOML, JSON or CSV) into the store.
    Import(rules_file::ImportArgs),
    /// Write the store's rules as TOML, JSON or CSV.
    Export(rules_file::ExportArgs),
    /// Run the tests inside rule files ([[tests]]) on their rules, offline.
    Test(rule_tests::TestArgs),
    /// Copy a SQLite store (rules, history, counters) into PostgreSQL, for a fleet.
    Migrate(migrate::MigrateArgs),
    /// Write a consistent copy of a SQLite store, safe while the server runs.
    Backup(backup::BackupArgs),
    /// Put a backup back in place of a SQLite store (keeping the store as it was).
    Restore(backup::RestoreArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // `fetch` names the closest flag to an unknown one (curl users type many).
            let command = Cli::command();
            let fetch = command.find_subcommand("fetch");
            let in_fetch = std::env::args().nth(1).as_deref() == Some("fetch");
            if let Some(message) = fetch
                .filter(|_| in_fetch)
                .and_then(|f| fetch::unknown_flag(&e, f))
            {
                eprintln!("{message}");
                return ExitCode::from(2);
            }
            e.exit()
        }
    };
    match cli.command {
        Command::Serve(args) => serve::run(*args),
        Command::Fetch(args) => fetch::run(args),
        Command::Check(args) => check::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Import(args) => rules_file::import(args),
        Command::Export(args) => rules_file::export(args),
        Command::Test(args) => rule_tests::run(args),
        Command::Migrate(args) => migrate::run(args),
        Command::Backup(args) => backup::backup(args),
        Command::Restore(args) => backup::restore(args),
    }
}
