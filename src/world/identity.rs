//! Who a token speaks for: the shared check behind `World::authorize`, minting for any identity, and
//! token info (docs/fidelity.md F-15 to F-29).
//!
//! Identities: an app on one of its instances, a Wix user acting in that app (the app's scopes
//! intersected with the user's role), an anonymous visitor or a logged-in member of a Headless
//! OAuth app, and a Headless OAuth app acting as itself (admin token).
//!
//! Access tokens and Headless refresh tokens are self-contained signed JWTs, so memory stays flat
//! however many are minted. Revocation is kept as small records instead of a token table: a token is
//! dead when its app is uninstalled or its OAuth app deleted, and a member's tokens die together when
//! the member logs out (a per-member session generation, carried in the token's `sid`). The grants
//! of `/oauth2/token` are in `grants.rs`, the member-login redirect flow in `member_login.rs`.
//! Pure domain, like the rest of `world`: no warp, no locks, `now` passed in.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::member_login::{MemberCode, RedirectSession};
use super::{Caller, World, secs};
use crate::error::WixError;
use crate::ids::{Ids, Stamp};
use crate::jwt::InstanceClaim;
use crate::scenario::{MemberLogin, Scenario};

/// The scopes of a Headless admin token (client credentials of an OAuth app, no instance). The OAuth
/// Apps API requires one of the first two.
pub const HEADLESS_ADMIN_SCOPES: &[&str] = &["SCOPE.OAUTH_APP.MANAGE", "SCOPE.OAUTH_APP.READ"];
/// Prefix of a Headless visitor refresh token (the form is undocumented; opaque to clients).
pub const VISITOR_REFRESH_PREFIX: &str = "OAUTH2.VREFRESH.";
/// Prefix of a Headless member refresh token.
pub const MEMBER_REFRESH_PREFIX: &str = "OAUTH2.MREFRESH.";
/// Headless refresh tokens have no documented lifetime; like legacy ones they live "forever" (10
/// years, since a JWT needs an `exp`) unless revoked (INFERRED, docs/fidelity.md I-14).
pub(crate) const REFRESH_TOKEN_SECS: u64 = 10 * 365 * 24 * 3600;

/// Who a valid token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// The app itself on one of its instances (client credentials, legacy tokens).
    App,
    /// A Wix user of the site acting in the app.
    User { user_id: String },
    /// An anonymous visitor of a Headless OAuth app.
    Visitor { visitor_id: String },
    /// A logged-in site member of a Headless OAuth app.
    Member { member_id: String },
    /// A Headless OAuth app acting as itself (an admin token).
    HeadlessAdmin,
}

impl Identity {
    /// `subjectType` as token-info reports it.
    pub fn subject_type(&self) -> &'static str {
        match self {
            Identity::App | Identity::HeadlessAdmin => "APP",
            Identity::User { .. } => "USER",
            Identity::Visitor { .. } => "VISITOR",
            Identity::Member { .. } => "MEMBER",
        }
    }
}

impl Caller {
    /// `Ok` for a token of an app instance (the app itself or a Wix user in it); Headless tokens
    /// (visitors, members, OAuth-app admins) belong to no instance and get Wix's 403.
    pub fn require_app_instance(&self) -> Result<(), WixError> {
        match self.identity {
            Identity::App | Identity::User { .. } => Ok(()),
            Identity::Visitor { .. } | Identity::Member { .. } | Identity::HeadlessAdmin => {
                let kind = match self.identity {
                    Identity::Visitor { .. } => "visitor",
                    Identity::Member { .. } => "member",
                    _ => "admin",
                };
                Err(WixError::PermissionDenied(format!(
                    "this API needs an app instance token, not the {kind} token of a Headless OAuth app"
                )))
            }
        }
    }
}

/// A Wix user of a site.
#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: String,
    pub site_id: String,
    pub email: String,
    pub role: String,
    /// The role's scopes; `None` is every scope.
    pub scopes: Option<Vec<String>>,
}

/// A site member.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Member {
    pub id: String,
    pub site_id: String,
    pub email: String,
    /// Salted and hashed; never serialised, never shown (the state file writes its encoding).
    #[serde(skip)]
    pub password: Option<super::credentials::PasswordHash>,
    pub nickname: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub status: crate::scenario::MemberStatus,
    pub email_verified: bool,
    /// Wrong passwords in a row; at the site's `max_wrong_passwords` the member must reset.
    pub wrong_passwords: u32,
    /// Position in the scenario: auto-login picks the site's first member as declared.
    #[serde(skip)]
    pub order: usize,
    /// When the member joined (`None` for scenario members: they were there at start).
    pub created_at: Option<DateTime<Utc>>,
    /// Bumped by every change (Wix's identity `revision`).
    pub revision: u64,
    /// Joined at run time (`register`, `sign-on`, the login form's Sign Up), not declared.
    pub registered: bool,
}

/// Who `POST /__admin/tokens` mints a token for.
#[derive(Debug, Clone)]
pub enum Subject {
    App {
        instance_id: String,
    },
    User {
        instance_id: String,
        user_id: String,
    },
    Visitor {
        client_id: String,
        visitor_id: Option<String>,
    },
    Member {
        client_id: String,
        member_id: String,
    },
    HeadlessAdmin {
        client_id: String,
    },
}

/// Tokens a grant issued.
#[derive(Debug, Clone, Serialize)]
pub struct Minted {
    /// Signed when the answer is serialised, after the world lock is released.
    pub access_token: crate::jwt::Token,
    pub token_type: &'static str,
    pub expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<crate::jwt::Token>,
    /// How the admin API's token list names the grant (`client_credentials`, `visitor`, ...).
    #[serde(skip)]
    pub kind: &'static str,
}

impl crate::jwt::WriteJson for Minted {
    fn write_json(&self, out: &mut Vec<u8>) {
        use crate::jwt::write_json_str;
        out.extend_from_slice(b"{\"access_token\":");
        self.access_token.write_json(out);
        out.extend_from_slice(b",\"token_type\":");
        write_json_str(out, self.token_type);
        out.extend_from_slice(b",\"expires_in\":");
        // serde_json writes numbers with itoa, without allocating; writing to a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, &self.expires_in);
        if let Some(refresh) = &self.refresh_token {
            out.extend_from_slice(b",\"refresh_token\":");
            refresh.write_json(out);
        }
        out.push(b'}');
    }
}

/// The `data` of a Headless refresh token.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RefreshData {
    refresh: HeadlessRefresh,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct HeadlessRefresh {
    pub(super) client_id: String,
    pub(super) site_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) visitor_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) member_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) sid: Option<String>,
}

/// `POST /oauth2/token-info`'s answer. INFERRED types (docs/fidelity.md I-17): the doc prints every value as a string
/// (`"active":"true"`, `"exp":"1715096067"`), the SDK types them `active: boolean`, `exp: number`;
/// the mock sends the SDK's types, which is what code written against the SDK reads.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TokenInfo {
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    /// Mock extension: the scopes the token carries (for a Wix user, the intersection).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
}

/// The identity part of the world: scenario people, member sessions, redirect sessions and codes.
#[derive(Debug, Default)]
pub struct Identities {
    pub users: BTreeMap<String, User>,
    pub members: BTreeMap<String, Member>,
    /// The scenario's API keys (one list for every API that takes keys).
    pub api_keys: Vec<crate::scenario::ApiKeySpec>,
    pub member_login: MemberLogin,
    /// Member id → session generation; a logout bumps it. Bounded by the number of members.
    pub member_generations: HashMap<String, u32>,
    /// Visitors who logged out. Grows by one per visitor logout, never per token.
    pub logged_out_visitors: HashSet<String>,
    pub redirect_sessions: HashMap<String, RedirectSession>,
    pub member_codes: HashMap<String, MemberCode>,
    /// Each site's member policy (sign-up, verification, captcha, wrong passwords).
    pub policies: HashMap<String, crate::scenario::MemberPolicy>,
    /// Session tokens of `register`, `login`, `verify`, `recover` and `sign-on`: single use.
    pub session_tokens: HashMap<String, super::credentials::SessionGrant>,
    /// `stateToken` → the e-mailed code it waits for.
    pub verifications: HashMap<String, super::credentials::PendingVerification>,
    /// Recovery and activation links' tokens.
    pub recoveries: HashMap<String, super::credentials::Recovery>,
    /// E-mails the mock did not send, oldest first (`GET /__admin/outbox`).
    pub mail: Vec<super::credentials::Mail>,
    pub(super) next_gc: Option<DateTime<Utc>>,
}

impl Identities {
    /// The users, members and API keys a scenario declares. Draws nothing from the generator, so
    /// every id and token the rest of the world draws stays what it was.
    pub fn from_scenario(scenario: &Scenario, ids: &Ids) -> Identities {
        let mut out = Identities {
            member_login: scenario.member_login,
            api_keys: scenario.api_keys.clone(),
            ..Default::default()
        };
        for site in &scenario.sites {
            let site_id = site.id.value.clone();
            for u in &site.users {
                out.users.insert(
                    u.id.value.clone(),
                    User {
                        id: u.id.value.clone(),
                        site_id: site_id.clone(),
                        email: u.email.clone(),
                        role: u.role.clone(),
                        scopes: u.scopes.clone(),
                    },
                );
            }
            out.policies
                .insert(site_id.clone(), site.member_policy.clone());
            for m in &site.members {
                // The salt is derived from the seed and the member, not drawn: scenario members
                // must not move the sequence every later id and token comes from.
                let salt = ids.derived(&format!("member-password/{}", m.id.value));
                out.members.insert(
                    m.id.value.clone(),
                    Member {
                        id: m.id.value.clone(),
                        site_id: site_id.clone(),
                        email: m.email.clone(),
                        password: m.password.as_deref().map(|p| {
                            super::credentials::PasswordHash::deferred(p.into(), &salt[..16])
                        }),
                        nickname: m.nickname.clone(),
                        first_name: m.first_name.clone(),
                        last_name: m.last_name.clone(),
                        status: m.status,
                        email_verified: m.email_verified,
                        wrong_passwords: 0,
                        order: out.members.len(),
                        created_at: None,
                        revision: 1,
                        registered: false,
                    },
                );
            }
        }
        out
    }

    pub(super) fn generation(&self, member_id: &str) -> String {
        self.member_generations
            .get(member_id)
            .copied()
            .unwrap_or(0)
            .to_string()
    }

    /// For `GET /__admin/state`: users with their role, members, and the open login sessions.
    pub fn snapshot(&self, world: &World, now: DateTime<Utc>) -> Value {
        let users: Vec<Value> = self
            .users
            .values()
            .map(|u| {
                // Each app installed on the user's site, with the scopes a token would carry.
                let effective: BTreeMap<&str, Vec<String>> = world
                    .instances
                    .values()
                    .filter(|i| i.site_id == u.site_id)
                    .filter_map(|i| world.apps.get(&i.app_id))
                    .map(|a| (a.id.as_str(), intersect(&a.scopes, u.scopes.as_deref())))
                    .collect();
                json!({
                    "id": u.id, "site_id": u.site_id, "email": u.email, "role": u.role,
                    "scopes": u.scopes, "scopes_by_app": effective,
                })
            })
            .collect();
        let members: Vec<Value> = self
            .members
            .values()
            .map(|m| {
                json!({
                    "id": m.id, "site_id": m.site_id, "email": m.email, "nickname": m.nickname,
                    "first_name": m.first_name, "last_name": m.last_name,
                    "status": m.status, "email_verified": m.email_verified,
                    "has_password": m.password.is_some(),
                    "wrong_passwords": m.wrong_passwords, "registered": m.registered,
                    "session_generation": self.member_generations.get(&m.id).copied().unwrap_or(0),
                })
            })
            .collect();
        json!({
            "users": users,
            "members": members,
            "member_login": self.member_login,
            "open_login_sessions": self.redirect_sessions.values().filter(|s| s.expires_at > now).count(),
            "logged_out_visitors": self.logged_out_visitors.len(),
            "live_member_codes": self.member_codes.values().filter(|c| c.expires_at > now && !c.used).count(),
            "live_session_tokens": self.session_tokens.values().filter(|g| g.expires_at > now).count(),
            "pending_verifications": self.verifications.values().filter(|p| p.expires_at > now).count(),
            "outbox": self.mail.len(),
        })
    }
}

/// The app's scopes a user's role allows (`None` allows all), in the app's order.
pub fn intersect(app_scopes: &[String], user_scopes: Option<&[String]>) -> Vec<String> {
    match user_scopes {
        None => app_scopes.to_vec(),
        Some(allowed) => app_scopes
            .iter()
            .filter(|s| allowed.contains(s))
            .cloned()
            .collect(),
    }
}

fn revoked(message: &str) -> WixError {
    WixError::Unauthenticated {
        code: "TOKEN_REVOKED",
        message: message.into(),
    }
}

/// An unknown instance: Wix answers 404 ("app not found in any meta-site", docs/fidelity.md F-17).
pub(super) fn unknown_instance(instance_id: &str) -> WixError {
    // Wix answers an unknown instance with 404 ("app not found in any meta-site", docs/fidelity.md F-17).
    WixError::UnknownInstance(format!(
        "app not found in any meta-site: instance `{instance_id}`"
    ))
}

impl World {
    // ---- The shared token check ---------------------------------------------------------------

    /// The caller a verified claim speaks for, or why it no longer counts (uninstalled app, deleted
    /// OAuth app, logged-out member). Called by [`World::authorize`].
    pub(crate) fn caller_for(&self, claim: InstanceClaim) -> Result<Caller, WixError> {
        if let Some(app) = self.apps.get(&claim.app_def_id) {
            let instance = match self.instances.get(&claim.instance_id) {
                Some(i) if i.app_id == claim.app_def_id => i,
                _ => {
                    return Err(revoked(
                        "access token was revoked: the app is not installed on this site",
                    ));
                }
            };
            let (identity, scopes) = match &claim.uid {
                Some(uid) => {
                    let user = self
                        .identities
                        .users
                        .get(uid)
                        .filter(|u| u.site_id == instance.site_id)
                        .ok_or_else(|| {
                            revoked("access token was revoked: the user is not on this site")
                        })?;
                    (
                        Identity::User {
                            user_id: uid.clone(),
                        },
                        intersect(&app.scopes, user.scopes.as_deref()),
                    )
                }
                None => (Identity::App, app.scopes.clone()),
            };
            return Ok(Caller {
                instance_id: instance.instance_id.clone(),
                app_id: app.id.clone(),
                site_id: instance.site_id.clone(),
                scopes,
                identity,
                claim,
            });
        }
        let oauth_app = self.oauth_apps.get(&claim.app_def_id).ok_or_else(|| {
            revoked("access token was revoked: its app or OAuth app no longer exists")
        })?;
        let (identity, scopes) = if let Some(member_id) = &claim.site_member_id {
            if claim.sid.as_deref() != Some(self.identities.generation(member_id).as_str()) {
                return Err(revoked("access token was revoked: the member logged out"));
            }
            (
                Identity::Member {
                    member_id: member_id.clone(),
                },
                Vec::new(),
            )
        } else if let Some(aid) = &claim.aid {
            if self.identities.logged_out_visitors.contains(aid) {
                return Err(revoked("access token was revoked: the visitor logged out"));
            }
            (
                Identity::Visitor {
                    visitor_id: aid.clone(),
                },
                Vec::new(),
            )
        } else {
            (
                Identity::HeadlessAdmin,
                HEADLESS_ADMIN_SCOPES
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            )
        };
        Ok(Caller {
            instance_id: String::new(),
            app_id: oauth_app.id.clone(),
            site_id: oauth_app.site_id.clone(),
            scopes,
            identity,
            claim,
        })
    }

    // ---- Minting ------------------------------------------------------------------------------------

    /// An app's access token for an instance it is installed on, as a token answer carries it
    /// (`client_credentials`; the instance id is borrowed, not copied into a [`Subject`]).
    pub(crate) fn app_token(
        &self,
        instance_id: &str,
        ttl_secs: u64,
        now: DateTime<Utc>,
    ) -> Result<Minted, WixError> {
        let token = self.mint_access_token(instance_id, ttl_secs, now)?;
        Ok(Minted {
            access_token: token,
            token_type: "Bearer",
            expires_in: ttl_secs,
            refresh_token: None,
            kind: "client_credentials",
        })
    }

    /// Mints tokens for any identity (the admin API, and every grant below).
    pub fn mint_for(
        &self,
        subject: Subject,
        ttl_secs: u64,
        now: DateTime<Utc>,
        ids: &Ids,
    ) -> Result<Minted, WixError> {
        let exp = now + secs(ttl_secs);
        let minted = |access_token: crate::jwt::Token,
                      refresh_token: Option<crate::jwt::Token>,
                      kind: &'static str| Minted {
            access_token,
            token_type: "Bearer",
            expires_in: ttl_secs,
            refresh_token,
            kind,
        };
        match subject {
            Subject::App { instance_id } => {
                if !self.instances.contains_key(&instance_id) {
                    return Err(unknown_instance(&instance_id));
                }
                self.app_token(&instance_id, ttl_secs, now)
            }
            Subject::User {
                instance_id,
                user_id,
            } => {
                let instance = self
                    .instances
                    .get(&instance_id)
                    .ok_or_else(|| unknown_instance(&instance_id))?
                    .clone();
                let user = self
                    .identities
                    .users
                    .get(&user_id)
                    .filter(|u| u.site_id == instance.site_id)
                    .ok_or_else(|| WixError::NotFound {
                        code: "USER_NOT_FOUND",
                        message: format!("no user `{user_id}` on the instance's site"),
                    })?;
                let app_scopes = self
                    .apps
                    .get(&instance.app_id)
                    .map(|a| a.scopes.clone())
                    .unwrap_or_default();
                let scopes = intersect(&app_scopes, user.scopes.as_deref());
                let site = self.sites.get(&instance.site_id);
                let claim = InstanceClaim {
                    instance_id: instance.instance_id.clone(),
                    app_def_id: instance.app_id.clone(),
                    sign_date: Stamp(now),
                    uid: Some(user_id.clone()),
                    permissions: scopes.join(","),
                    site_owner_id: site.map(|s| s.owner_id.clone()),
                    meta_site_id: Some(instance.site_id.clone()),
                    expiration_date: Stamp(exp),
                    ..Default::default()
                };
                let token = self.signer.mint(claim, now, exp);
                Ok(minted(token, None, "user"))
            }
            Subject::Visitor {
                client_id,
                visitor_id,
            } => {
                let site_id = self.oauth_client(&client_id)?.site_id.clone();
                let visitor_id = visitor_id.unwrap_or_else(|| ids.guid());
                let claim = self.headless_claim(&client_id, &site_id, now, exp);
                let claim = InstanceClaim {
                    aid: Some(visitor_id.clone()),
                    ..claim
                };
                let token = self.signer.mint(claim, now, exp);
                let refresh = self.signer.mint_other(
                    VISITOR_REFRESH_PREFIX,
                    &RefreshData {
                        refresh: HeadlessRefresh {
                            client_id: client_id.clone(),
                            site_id,
                            visitor_id: Some(visitor_id),
                            member_id: None,
                            sid: None,
                        },
                    },
                    now,
                    now + secs(REFRESH_TOKEN_SECS),
                );
                Ok(minted(token, Some(refresh), "visitor"))
            }
            Subject::Member {
                client_id,
                member_id,
            } => {
                let site_id = self.oauth_client(&client_id)?.site_id.clone();
                if self
                    .identities
                    .members
                    .get(&member_id)
                    .is_none_or(|m| m.site_id != site_id)
                {
                    return Err(WixError::NotFound {
                        code: "MEMBER_NOT_FOUND",
                        message: format!("no member `{member_id}` on the OAuth app's site"),
                    });
                }
                let sid = self.identities.generation(&member_id);
                let claim = InstanceClaim {
                    site_member_id: Some(member_id.clone()),
                    sid: Some(sid.clone()),
                    // A real member token carries `permissions: "offline_access"` (docs/fidelity.md F-28).
                    permissions: "offline_access".into(),
                    ..self.headless_claim(&client_id, &site_id, now, exp)
                };
                let token = self.signer.mint(claim, now, exp);
                let refresh = self.signer.mint_other(
                    MEMBER_REFRESH_PREFIX,
                    &RefreshData {
                        refresh: HeadlessRefresh {
                            client_id: client_id.clone(),
                            site_id,
                            visitor_id: None,
                            member_id: Some(member_id),
                            sid: Some(sid),
                        },
                    },
                    now,
                    now + secs(REFRESH_TOKEN_SECS),
                );
                Ok(minted(token, Some(refresh), "member"))
            }
            Subject::HeadlessAdmin { client_id } => {
                let site_id = self.oauth_client(&client_id)?.site_id.clone();
                let claim = InstanceClaim {
                    permissions: HEADLESS_ADMIN_SCOPES.join(","),
                    ..self.headless_claim(&client_id, &site_id, now, exp)
                };
                let token = self.signer.mint(claim, now, exp);
                Ok(minted(token, None, "headless_admin"))
            }
        }
    }

    fn headless_claim(
        &self,
        client_id: &str,
        site_id: &str,
        now: DateTime<Utc>,
        exp: DateTime<Utc>,
    ) -> InstanceClaim {
        InstanceClaim {
            // Headless tokens belong to an OAuth app, not to an app instance.
            instance_id: String::new(),
            app_def_id: client_id.to_string(),
            sign_date: Stamp(now),
            site_owner_id: self.sites.get(site_id).map(|s| s.owner_id.clone()),
            meta_site_id: Some(site_id.to_string()),
            expiration_date: Stamp(exp),
            ..Default::default()
        }
    }

    // ---- Headless refresh tokens ----------------------------------------------------------------

    /// Whether a token is a Headless refresh token (by its prefix).
    pub fn is_headless_refresh(token: &str) -> bool {
        token.starts_with(VISITOR_REFRESH_PREFIX) || token.starts_with(MEMBER_REFRESH_PREFIX)
    }

    /// Verifies a Headless refresh token and that what it speaks for still exists.
    pub(super) fn check_headless_refresh(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<HeadlessRefresh, WixError> {
        let unknown = || WixError::InvalidGrant("refresh token is unknown or was revoked".into());
        let (data, claims) = [VISITOR_REFRESH_PREFIX, MEMBER_REFRESH_PREFIX]
            .iter()
            .find_map(|p| self.signer.decode_other::<RefreshData>(p, token))
            .ok_or_else(unknown)?;
        let grant = data.refresh;
        if claims.exp <= now.timestamp() {
            return Err(WixError::InvalidGrant("refresh token expired".into()));
        }
        if claims.iat > now.timestamp() {
            return Err(WixError::InvalidGrant(
                "refresh token was issued after the current time (the clock was moved back)".into(),
            ));
        }
        if !self.oauth_apps.contains_key(&grant.client_id) {
            return Err(WixError::InvalidGrant(
                "refresh token of a deleted OAuth app".into(),
            ));
        }
        if let Some(member_id) = &grant.member_id
            && grant.sid.as_deref() != Some(self.identities.generation(member_id).as_str())
        {
            return Err(WixError::InvalidGrant(
                "refresh token was revoked: the member logged out".into(),
            ));
        }
        if grant
            .visitor_id
            .as_ref()
            .is_some_and(|v| self.identities.logged_out_visitors.contains(v))
        {
            return Err(WixError::InvalidGrant(
                "refresh token was revoked: the visitor logged out".into(),
            ));
        }
        Ok(grant)
    }

    // ---- Token info ---------------------------------------------------------------------------------

    /// `POST /oauth2/token-info`: what any token the mock issued says about itself. Access tokens,
    /// Headless refresh tokens and legacy refresh tokens are understood (the SDK's `getTokenInfo`
    /// sends its refresh token when it has one); anything else, expired or revoked is inactive.
    pub fn token_info(&self, token: &str, now: DateTime<Utc>) -> TokenInfo {
        let inactive = TokenInfo::default();
        if let Some((claim, claims)) = self.signer.decode(token) {
            if claims.exp <= now.timestamp() || claims.iat > now.timestamp() {
                return inactive;
            }
            let Ok(caller) = self.caller_for(claim) else {
                return inactive;
            };
            let subject_id = match &caller.identity {
                Identity::App | Identity::HeadlessAdmin => caller.app_id.clone(),
                Identity::User { user_id } => user_id.clone(),
                Identity::Visitor { visitor_id } => visitor_id.clone(),
                Identity::Member { member_id } => member_id.clone(),
            };
            return TokenInfo {
                active: true,
                subject_type: Some(caller.identity.subject_type()),
                subject_id: Some(subject_id),
                exp: Some(claims.exp),
                iat: Some(claims.iat),
                client_id: Some(caller.app_id.clone()),
                site_id: Some(caller.site_id.clone()),
                instance_id: Some(caller.instance_id.clone()).filter(|i| !i.is_empty()),
                scopes: Some(caller.scopes),
            };
        }
        if World::is_headless_refresh(token) {
            let Ok(grant) = self.check_headless_refresh(token, now) else {
                return inactive;
            };
            let claims = [VISITOR_REFRESH_PREFIX, MEMBER_REFRESH_PREFIX]
                .iter()
                .find_map(|p| self.signer.decode_other::<RefreshData>(p, token))
                .map(|(_, c)| c);
            let (subject_type, subject_id) = match (&grant.member_id, &grant.visitor_id) {
                (Some(m), _) => ("MEMBER", m.clone()),
                (None, v) => ("VISITOR", v.clone().unwrap_or_default()),
            };
            return TokenInfo {
                active: true,
                subject_type: Some(subject_type),
                subject_id: Some(subject_id),
                exp: claims.as_ref().map(|c| c.exp),
                iat: claims.as_ref().map(|c| c.iat),
                client_id: Some(grant.client_id),
                site_id: Some(grant.site_id),
                instance_id: None,
                scopes: Some(Vec::new()),
            };
        }
        if let Some(grant) = self.refresh_tokens.get(token)
            && let Some(instance) = self.instances.get(&grant.instance_id)
        {
            // A legacy refresh token never expires while the app is installed: no `exp` (INFERRED, I-18).
            return TokenInfo {
                active: true,
                subject_type: Some("APP"),
                subject_id: Some(grant.app_id.clone()),
                exp: None,
                iat: Some(grant.issued_at.timestamp()),
                client_id: Some(grant.app_id.clone()),
                site_id: Some(instance.site_id.clone()),
                instance_id: Some(instance.instance_id.clone()),
                scopes: self.apps.get(&grant.app_id).map(|a| a.scopes.clone()),
            };
        }
        // The encoded `instance` parameter of an iframe or dashboard page (docs/fidelity.md F-29: token-info
        // is the recommended way to read it). A forged, expired or uninstalled one is inactive. Which
        // subject it names (`USER` for `uid`, `VISITOR` for `aid`) is not documented (INFERRED, I-19).
        if let Some(decoded) = self.decode_signed_instance(token, now)
            && decoded.active
        {
            return TokenInfo {
                active: true,
                subject_type: Some(decoded.subject_type),
                subject_id: Some(decoded.subject_id),
                exp: Some(decoded.exp),
                iat: Some(decoded.iat),
                client_id: Some(decoded.app_id),
                site_id: decoded.site_id,
                instance_id: Some(decoded.instance_id),
                scopes: None,
            };
        }
        inactive
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_answers_are_written_byte_for_byte_as_serde_json_writes_them() {
        use crate::jwt::{Token, WriteJson};
        let written = |v: &dyn Fn(&mut Vec<u8>)| {
            let mut out = Vec::new();
            v(&mut out);
            String::from_utf8(out).unwrap()
        };
        let jwt = "OauthNG.JWS.eyJhbGciOiJIUzI1NiJ9.eyJkYXRhIjoie30ifQ.c2lnbmF0dXJl-_";
        // Text that needs escaping takes serde_json's escape, not the copy.
        for text in [jwt, "a\"quoted\\token\u{1}\n", "visitor-tökén"] {
            for refresh in [None, Some(Token::from(format!("{text}.refresh")))] {
                let minted = Minted {
                    access_token: Token::from(text.to_string()),
                    token_type: "Bearer",
                    expires_in: 14_400,
                    refresh_token: refresh,
                    kind: "test",
                };
                assert_eq!(
                    written(&|out| minted.write_json(out)),
                    serde_json::to_string(&minted).unwrap()
                );
            }
            let access = crate::app::AccessResponse {
                access_token: Token::from(text.to_string()),
                refresh_token: format!("OAUTH2.REFRESH.{text}"),
            };
            assert_eq!(
                written(&|out| access.write_json(out)),
                serde_json::to_string(&access).unwrap()
            );
        }
    }

    #[test]
    fn a_user_gets_the_app_scopes_its_role_allows() {
        let app = vec!["A".to_string(), "B".to_string(), "C".to_string()];
        assert_eq!(intersect(&app, None), app);
        assert_eq!(
            intersect(
                &app,
                Some(&["C".to_string(), "A".to_string(), "Z".to_string()])
            ),
            vec!["A".to_string(), "C".to_string()]
        );
    }
}
