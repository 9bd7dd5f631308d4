//! `seeother test`: run the `[[tests]]` of rule files on their own rules, offline, through the
//! server's resolver; each failure printed as a diff.

use std::path::PathBuf;
use std::process::ExitCode;

use seeother_server::rules_file::{self, Format, tests};

/// Arguments of `seeother test`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Exit status: 0 every test passed, 1 a test failed, 2 a file cannot be read \
or has no valid rules."
)]
pub struct TestArgs {
    /// Rule files (.toml or .json) with [[tests]].
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
}

/// Run `seeother test`.
pub fn run(args: TestArgs) -> ExitCode {
    let (mut failed, mut broken) = (0usize, false);
    for path in &args.files {
        let name = path.display().to_string();
        let read = Format::from_path(path)
            .ok_or_else(|| {
                format!("{name}: cannot tell the format from the name; name it .toml or .json")
            })
            .and_then(|format| {
                let text = std::fs::read_to_string(path).map_err(|e| format!("{name}: {e}"))?;
                let rules = rules_file::parse(&text, format, &name).map_err(|e| e.to_string())?;
                let tests = tests::read(&text, format, &name).map_err(|e| e.to_string())?;
                Ok((rules, tests))
            });
        let (rules, list) = match read {
            Ok(r) => r,
            Err(e) => {
                eprintln!("seeother test: {e}");
                broken = true;
                continue;
            }
        };
        let failures = match tests::run(&rules, &list) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("seeother test: {name}: {e}");
                broken = true;
                continue;
            }
        };
        for f in &failures {
            println!("{name}:{}: {}", f.line, f.render());
        }
        if list.is_empty() {
            println!("{name}: no tests");
        } else {
            println!(
                "{name}: {} tests, {} passed, {} failed",
                list.len(),
                list.len() - failures.len(),
                failures.len()
            );
        }
        failed += failures.len();
    }
    if broken {
        ExitCode::from(2)
    } else if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
