//! The saved part of the world, for `--state-file`: what [`World::saved`] captures and
//! [`World::restore`] puts back. `state_file.rs` owns the file around it (format, versions, the
//! clock and seed, reading and writing); this module is the one place outside the world's own
//! operations that reads and writes its maps wholesale, so a new map of state is saved by adding it
//! here, next to the fields it reads.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::member_login::{MemberCode, RedirectSession};
use super::{
    AuthCode, InstallToken, Instance, OAuthApp, PendingConsent, RefreshGrant, RemovedInstance,
    Site, World,
};
use crate::scenario::Scenario;

/// The saved part of the world (`state_file.rs`'s module doc says what is not saved, and why).
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

impl World {
    /// The state to save. Codes, install tokens, consent pages, login sessions, member codes and
    /// recovery links expired before `horizon` are left out, as [`World::sweep`] would collect them.
    pub fn saved(&self, horizon: DateTime<Utc>) -> WorldState {
        let world = self;
        fn live<V: Clone>(
            m: &HashMap<String, V>,
            expires: impl Fn(&V) -> DateTime<Utc>,
            horizon: DateTime<Utc>,
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
        WorldState {
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
        }
    }

    /// Puts saved state into this world, a world freshly made from the same scenario and seed
    /// (checked first with [`WorldState::check`]).
    pub fn restore(&mut self, w: WorldState) {
        let world = self;
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
        world.outbox.clear();
        world.reindex();
    }
}

impl WorldState {
    /// Whether this state can live with `scenario`: every app it names declared, every instance's
    /// site saved, every member's site known, every digest readable.
    pub fn check(&self, scenario: &Scenario) -> Result<(), String> {
        let declared: HashSet<&str> = scenario.apps.iter().map(|a| a.id.value.as_str()).collect();
        let w = self;
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
    fn hex_round_trips_and_rejects_junk() {
        let d = crate::world::oauth_apps::digest("s3cret");
        assert_eq!(from_hex(&to_hex(&d)), Some(d));
        assert_eq!(from_hex("zz"), None);
        assert_eq!(from_hex(&"g".repeat(64)), None);
        assert_eq!(from_hex(&"é".repeat(32)), None);
    }
}
