//! The state file (`--state-file`): the live world saved to disk, so a long-lived local dev server
//! keeps its installs, tokens and OAuth apps across restarts.
//!
//! What is saved is the **state** of the world: sites, instances (live and removed), install tokens,
//! pending consents, codes, refresh tokens, OAuth apps (secrets as SHA-256 digests in hex), member
//! sessions, redirect sessions and member codes, apps' run-time webhook URLs, plus the seed, the
//! clock's position and the generator's stream number. What the scenario **configures** is read from
//! the scenario at every start: apps and their secrets, users, members, API keys, TTLs, faults,
//! webhook settings. The journal, armed faults, the conformance report, webhook deliveries and the
//! admin API's list of recent access tokens start empty.
//!
//! The generator's exact position is not saved; on load the sequence moves to a fresh stream of the
//! same seed ([`Ids::fork`]), numbered in the file, so no code or id of an earlier run comes back.
//! The access-token signing key is drawn first from the seed, so the same seed means tokens issued
//! before the restart still verify.
//!
//! Files are written atomically ([`write_atomic`]): a temporary file in the same directory, fsync,
//! rename. A file that cannot be read, parsed, is of another format version or names things the
//! scenario lacks is an error: the server refuses to start and never overwrites it. This module
//! owns the file format; the world's part of it is `world/saved.rs` ([`WorldState`]), and the lock
//! is taken in `App`.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::clock::ClockPosition;
use crate::ids::Ids;
use crate::scenario::Scenario;
use crate::world::World;
pub use crate::world::saved::{SavedMember, SavedOAuthApp, WorldState};

/// What the `format` field says, so a stray JSON file is not mistaken for state.
pub const FORMAT: &str = "wix-oauth-mock/state";
/// The format version this build writes and reads. Bump it on any change old builds cannot read.
/// Version 2 added members, the outbox and recovery links (issue 14).
pub const VERSION: u32 = 2;
/// Older versions this build still reads (their missing fields start empty).
const READS: &[u32] = &[1, VERSION];
/// How often (real time) a running server saves, when something changed.
pub const SAVE_EVERY: std::time::Duration = std::time::Duration::from_secs(30);
/// The largest state file this build reads (64 MiB; a state of 100 000 installs is about 60 MB).
/// Reading stops there, so `--state-file /dev/zero` or a runaway file cannot eat the memory.
pub const MAX_BYTES: u64 = 64 * 1024 * 1024;

/// A problem with a state file; the message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The file exists but could not be read.
    #[error("cannot read state file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not a state file of this version, or names things the scenario lacks.
    #[error(
        "state file {path} is unusable: {reason}. It was left untouched; move it away (or fix it) \
         to start from the scenario"
    )]
    Unusable { path: PathBuf, reason: String },
    /// The file could not be written.
    #[error("cannot write state file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The whole file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateFile {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`VERSION`] when written by this build.
    pub version: u32,
    /// The name of the scenario the state grew from; loading under another scenario is refused.
    pub scenario: String,
    /// The seed (the access-token signing key and every derived key depend on it).
    pub seed: u64,
    /// The generator's stream number (see [`Ids::fork`]).
    pub stream: u64,
    /// Where the virtual clock stood.
    pub clock: ClockPosition,
    /// The world's state.
    pub world: WorldState,
}

impl StateFile {
    /// The state of `world` (with the seed, stream and clock position it lives with). Codes, install
    /// tokens, consent pages, login sessions and member codes more than an hour past their expiry are
    /// left out, as [`World::sweep`] would collect them: a server nobody calls still saves a clean
    /// file (issue 18).
    pub fn capture(world: &World, scenario: &str, ids: &Ids, clock: ClockPosition) -> StateFile {
        let horizon = clock.now() - chrono::Duration::hours(1);
        StateFile {
            format: FORMAT.to_string(),
            version: VERSION,
            scenario: scenario.to_string(),
            seed: ids.seed(),
            stream: ids.generation(),
            clock,
            world: world.saved(horizon),
        }
    }

    /// Parses a file's bytes and checks them against `scenario`; `path` is only for messages.
    pub fn parse(bytes: &[u8], path: &Path, scenario: &Scenario) -> Result<StateFile, StateError> {
        let unusable = |reason: String| StateError::Unusable {
            path: path.to_path_buf(),
            reason,
        };
        // Look at the envelope first, so a future version says "version 2", not "unknown field".
        #[derive(Deserialize)]
        struct Envelope {
            format: Option<String>,
            version: Option<u32>,
        }
        let envelope: Envelope =
            serde_json::from_slice(bytes).map_err(|e| unusable(format!("not valid JSON ({e})")))?;
        if envelope.format.as_deref() != Some(FORMAT) {
            return Err(unusable(format!(
                "not a wix-oauth-mock state file (\"format\" is not \"{FORMAT}\")"
            )));
        }
        if !envelope.version.is_some_and(|v| READS.contains(&v)) {
            return Err(unusable(format!(
                "format version {} but this build reads version {VERSION}",
                envelope
                    .version
                    .map_or_else(|| "missing".to_string(), |v| v.to_string())
            )));
        }
        let state: StateFile =
            serde_json::from_slice(bytes).map_err(|e| unusable(format!("{e}")))?;
        state.check(scenario).map_err(unusable)?;
        Ok(state)
    }

    /// Whether this state can live with `scenario`: same scenario, every app it names declared, a
    /// clock position the clock can take.
    fn check(&self, scenario: &Scenario) -> Result<(), String> {
        if self.scenario != scenario.name {
            return Err(format!(
                "it was saved under scenario \"{}\", not \"{}\"",
                self.scenario, scenario.name
            ));
        }
        check_clock(self.clock)?;
        self.world.check(scenario)
    }

    /// Puts the saved state into `world`, a world freshly made from the same scenario and seed.
    pub fn apply(self, world: &mut World) {
        world.restore(self.world);
    }

    /// The file's bytes: pretty JSON, so a person can read and diff it.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).unwrap_or_default();
        out.push(b'\n');
        out
    }
}

/// A clock position the virtual clock can take: a frozen instant in its range, or an offset no
/// larger than the whole range (a larger one, such as `i64::MIN` ms, would overflow chrono).
fn check_clock(clock: ClockPosition) -> Result<(), String> {
    match clock {
        ClockPosition::Frozen { at } if !crate::clock::in_range(at) => Err(format!(
            "clock.at {at} is outside the clock's range ({} to {})",
            crate::clock::earliest(),
            crate::clock::latest()
        )),
        ClockPosition::Live { offset_ms } => {
            let span = (crate::clock::latest() - crate::clock::earliest()).num_milliseconds();
            if offset_ms.checked_abs().is_some_and(|a| a <= span) {
                Ok(())
            } else {
                Err(format!(
                    "clock.offset_ms {offset_ms} is beyond the clock's range (±{span} ms)"
                ))
            }
        }
        ClockPosition::Frozen { .. } => Ok(()),
    }
}

/// Reads `path`: `Ok(None)` when it does not exist (first start), an error when it exists but cannot
/// be used. At most [`MAX_BYTES`] are read: a larger file (or an endless one such as `/dev/zero`) is
/// unusable.
pub fn load(path: &Path, scenario: &Scenario) -> Result<Option<StateFile>, StateError> {
    use std::io::Read;
    let read_error = |source| StateError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(read_error(source)),
    };
    let mut bytes = Vec::new();
    file.take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(StateError::Unusable {
            path: path.to_path_buf(),
            reason: format!(
                "it is larger than {} MiB, the most this build reads",
                MAX_BYTES / (1024 * 1024)
            ),
        });
    }
    StateFile::parse(&bytes, path, scenario).map(Some)
}

/// Writes `bytes` to `path` so that the path holds either the old content or all of the new: a
/// temporary file beside it, fsync, rename over, fsync of the directory. On error the temporary file
/// is removed and `path` is as it was.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "no file name"))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        // Make the rename itself durable; not every platform can open a directory, so best effort.
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes `state` to `path` atomically.
pub fn save(path: &Path, state: &StateFile) -> Result<(), StateError> {
    write_atomic(path, &state.to_bytes()).map_err(|source| StateError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Saves `app`'s state to `path` every `every` (real time) when it changed since the last save, until
/// `stop` resolves. The caller saves once more after the server stopped. A failed save is logged and
/// retried at the next tick; the file keeps its last good content.
pub async fn autosave(
    app: crate::App,
    path: PathBuf,
    every: std::time::Duration,
    stop: impl std::future::Future<Output = ()>,
) {
    let mut last = app.capture_state().to_bytes();
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await; // the first tick is immediate
    let mut stop = std::pin::pin!(stop);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = &mut stop => return,
        }
        let bytes = app.capture_state().to_bytes();
        if bytes == last {
            continue;
        }
        match write_atomic(&path, &bytes) {
            Ok(()) => last = bytes,
            Err(e) => tracing::error!("cannot write state file {}: {e}", path.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clock_position_tells_its_now_at_any_offset_without_panicking() {
        let min = ClockPosition::Live {
            offset_ms: i64::MIN,
        };
        let max = ClockPosition::Live {
            offset_ms: i64::MAX,
        };
        assert_eq!(min.now(), crate::clock::earliest());
        assert_eq!(max.now(), crate::clock::latest());
        let at = "2026-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(ClockPosition::Frozen { at }.now(), at);
    }

    #[test]
    fn an_atomic_write_that_fails_leaves_nothing_behind() {
        let dir = std::env::temp_dir().join(format!("wix-mock-atomic-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("target-is-a-dir")).unwrap();
        // Renaming a file over a directory fails after the temporary file was written.
        assert!(write_atomic(&dir.join("target-is-a-dir"), b"{}").is_err());
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
        assert_eq!(left.len(), 1, "{left:?}");
        // A good write replaces the whole file.
        write_atomic(&dir.join("s.json"), b"old").unwrap();
        write_atomic(&dir.join("s.json"), b"new").unwrap();
        assert_eq!(std::fs::read(dir.join("s.json")).unwrap(), b"new");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
