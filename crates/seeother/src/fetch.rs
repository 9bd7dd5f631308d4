//! `seeother fetch`.

use std::process::ExitCode;

/// Arguments of `seeother fetch`.
#[derive(clap::Args, Debug)]
pub struct FetchArgs {}

/// Run `seeother fetch`.
pub fn run(args: FetchArgs) -> ExitCode {
    let _ = args;
    eprintln!("seeother fetch: not built yet");
    ExitCode::FAILURE
}
