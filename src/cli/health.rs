//! `health`: the container health check. Asks a mock on 127.0.0.1 for `/__admin/health`.

use std::process::ExitCode;
use std::time::Duration;

use super::{EXIT_UNREACHABLE, HealthArgs};

/// How long the probe may take: Docker's own `--timeout` is the outer bound.
const TIMEOUT: Duration = Duration::from_secs(2);

/// 0 when the mock answers 200, 1 when it answers anything else, 3 when it cannot be reached.
/// Silent on success, as a health check run every few seconds should be.
pub fn run(args: &HealthArgs) -> ExitCode {
    let port = port(args);
    let url = format!("http://127.0.0.1:{port}/__admin/health");
    let answer = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(crate::client::get(&url, TIMEOUT)),
        Err(e) => Err(format!("cannot start the runtime: {e}")),
    };
    match answer {
        Ok((200, _)) => ExitCode::SUCCESS,
        Ok((status, _)) => {
            eprintln!("{url} answered {status}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(EXIT_UNREACHABLE)
        }
    }
}

/// The port as `serve` chose it: `--port` when given on the command line; else the port a running
/// `serve` wrote to `--port-file` (which knows about `serve --port N` given to a container, where
/// the health check cannot see the arguments); else `$WIX_MOCK_PORT` or the default.
fn port(args: &HealthArgs) -> u16 {
    if args.port_given {
        return args.port;
    }
    args.port_file
        .as_ref()
        .and_then(|path| std::fs::read_to_string(path).ok())
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(args.port)
}
