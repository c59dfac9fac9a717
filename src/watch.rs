//! Reloads the scenario when its file changes on disk.
//!
//! Polls the file's modification time (file metadata, compared with the last one seen: no reading
//! of the system clock) on a tokio interval, which is real time as a file watcher needs. A changed
//! file is parsed and checked first; a bad one is logged (through `tracing`, so `--log-format json` covers it) as
//! `file:line:col: message` and the running scenario stays, exactly as `PUT /__admin/scenario` does.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use crate::namespaces::Namespaces;
use crate::scenario::Scenario;

/// How often the file is looked at.
pub const POLL: Duration = Duration::from_millis(500);

/// Watches `path` until the task is dropped, reloading every namespace on every change.
pub async fn watch(namespaces: Namespaces, path: PathBuf, every: Duration) {
    let mut last = modified(&path);
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        ticks.tick().await;
        let now = modified(&path);
        if now == last {
            continue;
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

/// The file's modification time and length (a rewrite within the mtime's resolution usually
/// changes the length), `None` while it cannot be read.
fn modified(path: &PathBuf) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}
