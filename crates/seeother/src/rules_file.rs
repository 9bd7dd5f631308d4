//! `seeother import` and `seeother export`.

use std::process::ExitCode;

/// Arguments of `seeother import`.
#[derive(clap::Args, Debug)]
pub struct ImportArgs {}

/// Arguments of `seeother export`.
#[derive(clap::Args, Debug)]
pub struct ExportArgs {}

/// Run `seeother import`.
pub fn import(args: ImportArgs) -> ExitCode {
    let _ = args;
    eprintln!("seeother import: not built yet");
    ExitCode::FAILURE
}

/// Run `seeother export`.
pub fn export(args: ExportArgs) -> ExitCode {
    let _ = args;
    eprintln!("seeother export: not built yet");
    ExitCode::FAILURE
}
