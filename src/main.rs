//! The `wix-oauth-mock` binary: parse the command line, then serve or run the command. Everything
//! else is in the library (`cli`, `server`).

use std::process::ExitCode;

use wix_oauth_mock::{cli, server};

fn main() -> ExitCode {
    let cli = cli::parse();
    match cli.serve_args() {
        Some(args) => server::serve(args),
        None => cli::run(&cli),
    }
}
