//! Reloads the scenario when its file changes on disk.
//!
//! Polls the file's modification time (file metadata, compared with the last one seen: no reading
//! of the system clock) on a tokio interval, which is real time as a file watcher needs. A changed
//! file is parsed and checked first; a bad one is logged (through `tracing`, so `--log-format json` covers it) as
//! `file:line:col: message` and the running scenario stays, exactly as `PUT /__admin/scenario` does.
//!
//! A save is rarely one step: `std::fs::write` and many editors truncate the file and then write it,
//! so a poll can land on an empty or half-written file. Read then, it would replace the running
//! scenario with a wrong one (an empty file is a valid scenario, "unnamed") or log a parse error for
//! a save that is fine. A change is therefore read only once the file has stopped changing
//! for [`SETTLE`].

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use crate::namespaces::Namespaces;
use crate::scenario::Scenario;

/// How often the file is looked at.
pub const POLL: Duration = Duration::from_millis(500);

/// How long a changed file must stay unchanged before it is read.
pub const SETTLE: Duration = Duration::from_millis(50);

/// Watches `path` until the task is dropped, reloading every namespace on every change; a change
/// is read once the file has held still for `settle` ([`SETTLE`] when serving).
///
/// The file's state is read here, when the watcher is made, not when the task first runs: a change
/// made after the server announced itself is always seen, however late the task is scheduled.
pub fn watch(
    namespaces: Namespaces,
    path: PathBuf,
    every: Duration,
    settle: Duration,
) -> impl std::future::Future<Output = ()> {
    let mut last = modified(&path);
    async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            ticks.tick().await;
            let mut now = modified(&path);
            if now == last {
                continue;
            }
            // Wait for the writer to finish: read only a file that stayed the same for `settle`.
            loop {
                tokio::time::sleep(settle).await;
                let again = modified(&path);
                if again == now {
                    break;
                }
                now = again;
            }
            last = now;
            match Scenario::from_file(&path) {
                Ok(scenario) => {
                    let name = scenario.name.clone();
                    namespaces.replace_scenario(scenario, format!("file {}", path.display()));
                    // `warn`, the default filter's level: a reload is rare and worth seeing.
                    tracing::warn!("reloaded scenario \"{name}\" from {}", path.display());
                }
                Err(e) => tracing::error!("{e}; kept the running scenario"),
            }
        }
    }
}

/// The file's modification time and length (a rewrite within the mtime's resolution usually
/// changes the length), `None` while it cannot be read.
fn modified(path: &PathBuf) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}
