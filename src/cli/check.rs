//! `check FILE…`: validates scenario files without serving them.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::scenario::Scenario;

/// Prints `FILE: ok` per good file on stdout and `file:line:col: message` per problem on stderr
/// (the format editors and CI annotations understand); 1 when any file has a problem.
pub fn run(files: &[PathBuf]) -> ExitCode {
    let mut failed = false;
    for file in files {
        match Scenario::from_file(file) {
            Ok(s) => println!("{}: ok (scenario \"{}\")", file.display(), s.name),
            Err(e) => {
                failed = true;
                eprintln!("{e}");
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
