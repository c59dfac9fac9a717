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
//! owns the file format; the lock is taken in `App`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::clock::ClockPosition;
use crate::ids::Ids;
use crate::scenario::Scenario;
use crate::world::member_login::{MemberCode, RedirectSession};
use crate::world::{
    AuthCode, InstallToken, Instance, OAuthApp, PendingConsent, RefreshGrant, RemovedInstance,
    Site, World,
};

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

/// The saved part of the world (see the module doc for what is not saved, and why).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorldState {
    pub sites: BTreeMap<String, Site>,
    pub instances: BTreeMap<String, Instance>,
    pub removed_instances: BTreeMap<String, RemovedInstance>,
    pub install_tokens: BTreeMap<String, InstallToken>,
    pub consents: BTreeMap<String, PendingConsent>,
    pub codes: BTreeMap<String, AuthCode>,
    pub refresh_tokens: BTreeMap<String, RefreshGrant>,
    pub oauth_apps: BTreeMap<String, SavedOAuthApp>,
    /// App id → webhook URL, as set at run time (`PUT /__admin/apps/{id}/webhook-url`).
    pub webhook_urls: BTreeMap<String, Option<String>>,
    pub member_generations: BTreeMap<String, u32>,
    pub logged_out_visitors: Vec<String>,
    pub redirect_sessions: BTreeMap<String, RedirectSession>,
    pub member_codes: BTreeMap<String, MemberCode>,
    /// Members as they are now: registered ones, and what changed for scenario ones (status,
    /// password, verification). Passwords as PBKDF2 digests only.
    #[serde(default)]
    pub members: BTreeMap<String, SavedMember>,
    /// E-mails in the outbox, oldest first.
    #[serde(default)]
    pub outbox: Vec<crate::world::members::Mail>,
    /// Live recovery links (a link e-mailed before a restart still works after it).
    #[serde(default)]
    pub recoveries: BTreeMap<String, crate::world::members::Recovery>,
}

/// A member, with the password's digest (`pbkdf2-sha256$rounds$salt$digest`), never the password.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedMember {
    #[serde(flatten)]
    pub member: crate::world::identity::Member,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_pbkdf2: Option<String>,
}

/// An OAuth app with the two fields its API shape leaves out.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedOAuthApp {
    #[serde(flatten)]
    pub app: OAuthApp,
    /// The Headless project (site) it belongs to.
    pub site_id: String,
    /// SHA-256 of the secret in lower-case hex; the secret itself is never kept.
    pub secret_sha256: Option<String>,
}

// Sorted maps (not the world's HashMaps) so the file is the same bytes for the same state: diffable,
// and "changed?" is a byte comparison.
fn sorted<V: Clone>(m: &HashMap<String, V>) -> BTreeMap<String, V> {
    m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

impl StateFile {
    /// The state of `world` (with the seed, stream and clock position it lives with). Codes, install
    /// tokens, consent pages, login sessions and member codes more than an hour past their expiry are
    /// left out, as [`World::sweep`] would collect them: a server nobody calls still saves a clean
    /// file (issue 18).
    pub fn capture(world: &World, scenario: &str, ids: &Ids, clock: ClockPosition) -> StateFile {
        let horizon = clock.now() - chrono::Duration::hours(1);
        fn live<V: Clone>(
            m: &HashMap<String, V>,
            expires: impl Fn(&V) -> chrono::DateTime<chrono::Utc>,
            horizon: chrono::DateTime<chrono::Utc>,
        ) -> BTreeMap<String, V> {
            m.iter()
                .filter(|(_, v)| expires(v) > horizon)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        }
        let mut visitors: Vec<String> = world
            .identities
            .logged_out_visitors
            .iter()
            .cloned()
            .collect();
        visitors.sort();
        StateFile {
            format: FORMAT.to_string(),
            version: VERSION,
            scenario: scenario.to_string(),
            seed: ids.seed(),
            stream: ids.generation(),
            clock,
            world: WorldState {
                sites: world.sites.clone(),
                instances: world.instances.clone(),
                removed_instances: world.removed_instances.clone(),
                install_tokens: live(&world.install_tokens, |t| t.expires_at, horizon),
                consents: live(&world.consents, |c| c.expires_at, horizon),
                codes: live(&world.codes, |c| c.expires_at, horizon),
                refresh_tokens: sorted(&world.refresh_tokens),
                oauth_apps: world
                    .oauth_apps
                    .iter()
                    .map(|(id, a)| {
                        let saved = SavedOAuthApp {
                            app: a.clone(),
                            site_id: a.site_id.clone(),
                            secret_sha256: a.secret_digest.map(|d| to_hex(&d)),
                        };
                        (id.clone(), saved)
                    })
                    .collect(),
                webhook_urls: world
                    .apps
                    .iter()
                    .map(|(id, a)| (id.clone(), a.webhook_url.clone()))
                    .collect(),
                member_generations: sorted(&world.identities.member_generations),
                logged_out_visitors: visitors,
                redirect_sessions: live(
                    &world.identities.redirect_sessions,
                    |s| s.expires_at,
                    horizon,
                ),
                member_codes: live(&world.identities.member_codes, |c| c.expires_at, horizon),
                members: world
                    .identities
                    .members
                    .iter()
                    .map(|(id, m)| {
                        let saved = SavedMember {
                            member: m.clone(),
                            password_pbkdf2: m.password.as_ref().map(|p| p.encode()),
                        };
                        (id.clone(), saved)
                    })
                    .collect(),
                outbox: world.identities.mail.clone(),
                recoveries: live(&world.identities.recoveries, |r| r.expires_at, horizon),
            },
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
        let declared: HashSet<&str> = scenario.apps.iter().map(|a| a.id.value.as_str()).collect();
        let w = &self.world;
        let named = w
            .instances
            .values()
            .map(|i| &i.app_id)
            .chain(w.removed_instances.values().map(|r| &r.instance.app_id))
            .chain(w.codes.values().map(|c| &c.app_id))
            .chain(w.refresh_tokens.values().map(|r| &r.app_id));
        for app_id in named {
            if !declared.contains(app_id.as_str()) {
                return Err(format!(
                    "it names app {app_id}, which the scenario no longer declares"
                ));
            }
        }
        for i in w.instances.values() {
            if !w.sites.contains_key(&i.site_id) {
                return Err(format!(
                    "instance {} is on site {}, which the file lacks",
                    i.instance_id, i.site_id
                ));
            }
        }
        let sites: HashSet<&str> = scenario.sites.iter().map(|s| s.id.value.as_str()).collect();
        for (id, m) in &w.members {
            if !sites.contains(m.member.site_id.as_str())
                && !w.sites.contains_key(&m.member.site_id)
            {
                return Err(format!(
                    "member {id} is on site {}, which is unknown",
                    m.member.site_id
                ));
            }
            if let Some(p) = &m.password_pbkdf2
                && crate::world::members::PasswordHash::decode(p).is_none()
            {
                return Err(format!(
                    "member {id}'s password_pbkdf2 is not one this build reads"
                ));
            }
        }
        for (id, a) in &w.oauth_apps {
            if let Some(hex) = &a.secret_sha256 {
                from_hex(hex).ok_or_else(|| {
                    format!("OAuth app {id}'s secret_sha256 is not 64 hex digits")
                })?;
            }
        }
        Ok(())
    }

    /// Puts the saved state into `world`, a world freshly made from the same scenario and seed.
    pub fn apply(self, world: &mut World) {
        let w = self.world;
        world.sites = w.sites;
        world.instances = w.instances;
        world.removed_instances = w.removed_instances;
        world.install_tokens = w.install_tokens.into_iter().collect();
        world.consents = w.consents.into_iter().collect();
        world.codes = w.codes.into_iter().collect();
        world.refresh_tokens = w.refresh_tokens.into_iter().collect();
        world.oauth_apps = w
            .oauth_apps
            .into_iter()
            .map(|(id, saved)| {
                let mut app = saved.app;
                app.site_id = saved.site_id;
                // Checked in `check`.
                app.secret_digest = saved.secret_sha256.as_deref().and_then(from_hex);
                (id, app)
            })
            .collect();
        for (id, url) in w.webhook_urls {
            if let Some(app) = world.apps.get_mut(&id) {
                app.webhook_url = url;
            }
        }
        world.identities.member_generations = w.member_generations.into_iter().collect();
        world.identities.logged_out_visitors = w.logged_out_visitors.into_iter().collect();
        world.identities.redirect_sessions = w.redirect_sessions.into_iter().collect();
        world.identities.member_codes = w.member_codes.into_iter().collect();
        // Saved members replace the scenario's of the same id; new ones are added. A scenario
        // member missing from the file (declared after it was saved) stays as declared.
        for (id, saved) in w.members {
            let mut m = saved.member;
            // Checked in `check`.
            m.password = saved
                .password_pbkdf2
                .as_deref()
                .and_then(crate::world::members::PasswordHash::decode);
            if let Some(declared) = world.identities.members.get(&id) {
                m.order = declared.order;
            } else {
                m.order = world.identities.members.len();
            }
            world.identities.members.insert(id, m);
        }
        world.identities.mail = w.outbox;
        world.identities.recoveries = w.recoveries.into_iter().collect();
        world.recent_tokens.clear();
        world.outbox.clear();
        world.reindex();
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

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
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
    fn hex_round_trips_and_rejects_junk() {
        let d = crate::world::oauth_apps::digest("s3cret");
        assert_eq!(from_hex(&to_hex(&d)), Some(d));
        assert_eq!(from_hex("zz"), None);
        assert_eq!(from_hex(&"g".repeat(64)), None);
        assert_eq!(from_hex(&"é".repeat(32)), None);
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
