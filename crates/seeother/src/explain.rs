//! `seeother explain`.

use std::process::ExitCode;

/// Arguments of `seeother explain`.
#[derive(clap::Args, Debug)]
pub struct ExplainArgs {}

/// Run `seeother explain`.
pub fn run(args: ExplainArgs) -> ExitCode {
    let _ = args;
    eprintln!("seeother explain: not built yet");
    ExitCode::FAILURE
}
