//! `seeother serve`.

use std::process::ExitCode;

/// Arguments of `seeother serve`.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {}

/// Run `seeother serve`.
pub fn run(args: ServeArgs) -> ExitCode {
    let _ = args;
    eprintln!("seeother serve: not built yet");
    ExitCode::FAILURE
}
