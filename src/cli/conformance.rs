//! `conformance`: prints a running mock's conformance report, for CI steps after a test suite.

use std::process::ExitCode;
use std::time::Duration;

use super::EXIT_UNREACHABLE;

/// A report is small and local; a mock that takes longer is stuck.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Fetches `GET /__admin/conformance` (with the admin token when given) and prints it; 0 passed,
/// 1 failed, 3 could not ask.
pub fn run(url: &str, json: bool, admin_token: Option<&str>) -> ExitCode {
    let target = format!("{}/__admin/conformance", url.trim_end_matches('/'));
    let answer = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(crate::client::get_with_token(&target, admin_token, TIMEOUT)),
        Err(e) => Err(format!("cannot start the runtime: {e}")),
    };
    let report: serde_json::Value = match answer {
        Ok((200, body)) => match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("{target} did not answer JSON: {e}");
                return ExitCode::from(EXIT_UNREACHABLE);
            }
        },
        Ok((status, body)) => {
            eprintln!(
                "{target} answered {status}: {}",
                String::from_utf8_lossy(&body)
            );
            return ExitCode::from(EXIT_UNREACHABLE);
        }
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(EXIT_UNREACHABLE);
        }
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        print!("{}", crate::conformance::render_text(&report));
    }
    if report["passed"].as_bool() == Some(true) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
