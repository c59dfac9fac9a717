//! Who a token speaks for, and every `/oauth2/token` grant that mints one (wix-api.md §4-6).
//!
//! Identities: an app on one of its instances, a Wix user acting in that app (the app's scopes
//! intersected with the user's role), an anonymous visitor or a logged-in member of a Headless
//! OAuth app, and a Headless OAuth app acting as itself (admin token).
//!
//! Access tokens and Headless refresh tokens are self-contained signed JWTs, so memory stays flat
//! however many are minted. Revocation is kept as small records instead of a token table: a token is
//! dead when its app is uninstalled or its OAuth app deleted, and a member's tokens die together when
//! the member logs out (a per-member session generation, carried in the token's `sid`). Member-login
//! redirect sessions and authorization codes are short-lived and swept an hour after they expire.
//! Pure domain, like the rest of `world`: no warp, no locks, `now` passed in.

use std::collections::{BTreeMap, HashMap};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{Caller, IssuedToken, RECENT_TOKENS, World, secs, with_query};
use crate::error::{FieldViolation, WixError};
use crate::ids::{Ids, rfc3339_millis};
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
/// years, since a JWT needs an `exp`) unless revoked (INFERRED).
const REFRESH_TOKEN_SECS: u64 = 10 * 365 * 24 * 3600;

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
#[derive(Debug, Clone, Serialize)]
pub struct Member {
    pub id: String,
    pub site_id: String,
    pub email: String,
    #[serde(skip)]
    pub password: Option<String>,
    pub nickname: String,
    /// Position in the scenario: auto-login picks the site's first member as declared.
    #[serde(skip)]
    pub order: usize,
}

/// Where the member-login redirect puts `code` and `state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    Fragment,
    Query,
}

/// A member-login redirect session waiting for the browser (wix-api.md §6).
#[derive(Debug, Clone, Serialize)]
pub struct RedirectSession {
    pub client_id: String,
    pub site_id: String,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub code_challenge: String,
    pub response_mode: ResponseMode,
    pub expires_at: DateTime<Utc>,
}

/// A member-login authorization code: single use, bound to its PKCE challenge and redirect URI.
#[derive(Debug, Clone, Serialize)]
pub struct MemberCode {
    pub client_id: String,
    pub site_id: String,
    pub member_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub expires_at: DateTime<Utc>,
    pub used: bool,
}

/// `auth.authRequest` of a redirect session, as sent (camelCase on the wire).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthRequest {
    pub redirect_uri: Option<String>,
    pub client_id: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub response_mode: Option<String>,
    pub response_type: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub session_token: Option<String>,
    pub idp: Option<String>,
}

/// What the login page was given.
#[derive(Debug, Clone)]
pub enum Login {
    /// Auto-login: the member named by id or e-mail, else the site's first member.
    Auto { member: Option<String> },
    /// The form was submitted.
    Form { email: String, password: String },
    /// The person pressed Cancel.
    Cancel,
}

/// What the login page does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginStep {
    /// Redirect the browser here.
    Redirect(String),
    /// Show the login form (again, with an error when one is set).
    Form(LoginView),
}

/// What the login form shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginView {
    pub session_id: String,
    pub client_name: String,
    pub email: String,
    pub error: Option<String>,
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
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// The `data` of a Headless refresh token.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RefreshData {
    refresh: HeadlessRefresh,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct HeadlessRefresh {
    client_id: String,
    site_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    visitor_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    member_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
}

/// `POST /oauth2/token-info`'s answer. INFERRED types: the doc prints every value as a string
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
    /// API key → site id.
    pub api_keys: HashMap<String, String>,
    pub member_login: MemberLogin,
    /// Member id → session generation; a logout bumps it. Bounded by the number of members.
    pub member_generations: HashMap<String, u32>,
    pub redirect_sessions: HashMap<String, RedirectSession>,
    pub member_codes: HashMap<String, MemberCode>,
    next_gc: Option<DateTime<Utc>>,
}

impl Identities {
    /// The users, members and API keys a scenario declares. Draws nothing from the generator, so
    /// every id and token the rest of the world draws stays what it was.
    pub fn from_scenario(scenario: &Scenario) -> Identities {
        let mut out = Identities {
            member_login: scenario.member_login,
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
            for m in &site.members {
                out.members.insert(
                    m.id.value.clone(),
                    Member {
                        id: m.id.value.clone(),
                        site_id: site_id.clone(),
                        email: m.email.clone(),
                        password: m.password.clone(),
                        nickname: m.nickname.clone(),
                        order: out.members.len(),
                    },
                );
            }
            for key in &site.api_keys {
                out.api_keys.insert(key.clone(), site_id.clone());
            }
        }
        out
    }

    fn generation(&self, member_id: &str) -> String {
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
                    "session_generation": self.member_generations.get(&m.id).copied().unwrap_or(0),
                })
            })
            .collect();
        json!({
            "users": users,
            "members": members,
            "member_login": self.member_login,
            "open_login_sessions": self.redirect_sessions.values().filter(|s| s.expires_at > now).count(),
            "live_member_codes": self.member_codes.values().filter(|c| c.expires_at > now && !c.used).count(),
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

/// RFC 7636 S256: `base64url-nopad(SHA-256(verifier))`.
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// RFC 7636 §4.1: 43 to 128 characters of `[A-Za-z0-9-._~]`.
fn valid_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-._~".contains(&c))
}

fn revoked(message: &str) -> WixError {
    WixError::Unauthenticated {
        code: "TOKEN_REVOKED",
        message: message.into(),
    }
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

    fn remember(
        &mut self,
        token: &str,
        kind: &'static str,
        app_id: &str,
        instance_id: &str,
        now: DateTime<Utc>,
        exp: DateTime<Utc>,
    ) {
        if self.recent_tokens.len() == RECENT_TOKENS {
            self.recent_tokens.pop_front();
        }
        self.recent_tokens.push_back(IssuedToken {
            token: token.to_string(),
            kind,
            app_id: app_id.to_string(),
            instance_id: instance_id.to_string(),
            issued_at: now,
            expires_at: exp,
        });
    }

    /// Mints tokens for any identity (the admin API, and every grant below).
    pub fn mint_for(
        &mut self,
        subject: Subject,
        ttl_secs: u64,
        now: DateTime<Utc>,
        ids: &Ids,
    ) -> Result<Minted, WixError> {
        let exp = now + secs(ttl_secs);
        let minted = |access_token: String, refresh_token: Option<String>| Minted {
            access_token,
            token_type: "Bearer",
            expires_in: ttl_secs,
            refresh_token,
        };
        match subject {
            Subject::App { instance_id } => {
                if !self.instances.contains_key(&instance_id) {
                    return Err(unknown_instance(&instance_id));
                }
                let token =
                    self.mint_access_token(&instance_id, "client_credentials", ttl_secs, now)?;
                Ok(minted(token, None))
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
                    sign_date: rfc3339_millis(now),
                    uid: Some(user_id.clone()),
                    permissions: scopes.join(","),
                    site_owner_id: site.map(|s| s.owner_id.clone()),
                    meta_site_id: Some(instance.site_id.clone()),
                    expiration_date: rfc3339_millis(exp),
                    ..Default::default()
                };
                let token = self.signer.mint(claim, now, exp);
                self.remember(&token, "user", &instance.app_id, &instance_id, now, exp);
                Ok(minted(token, None))
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
                self.remember(&token, "visitor", &client_id, "", now, exp);
                Ok(minted(token, Some(refresh)))
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
                    // A real member token carries `permissions: "offline_access"` (wix-api.md §4c).
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
                self.remember(&token, "member", &client_id, "", now, exp);
                Ok(minted(token, Some(refresh)))
            }
            Subject::HeadlessAdmin { client_id } => {
                let site_id = self.oauth_client(&client_id)?.site_id.clone();
                let claim = InstanceClaim {
                    permissions: HEADLESS_ADMIN_SCOPES.join(","),
                    ..self.headless_claim(&client_id, &site_id, now, exp)
                };
                let token = self.signer.mint(claim, now, exp);
                self.remember(&token, "headless_admin", &client_id, "", now, exp);
                Ok(minted(token, None))
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
            sign_date: rfc3339_millis(now),
            site_owner_id: self.sites.get(site_id).map(|s| s.owner_id.clone()),
            meta_site_id: Some(site_id.to_string()),
            expiration_date: rfc3339_millis(exp),
            ..Default::default()
        }
    }

    // ---- /oauth2/token grants -------------------------------------------------------------------

    /// `client_credentials` with `instance_id`: the app's token for one of its instances (§4a).
    pub fn instance_token(
        &mut self,
        client_id: &str,
        client_secret: &str,
        instance_id: &str,
        now: DateTime<Utc>,
        ids: &Ids,
    ) -> Result<Minted, WixError> {
        if self.oauth_apps.contains_key(client_id) {
            return Err(WixError::InvalidClient(format!(
                "`{client_id}` is a Headless OAuth app: ask without instance_id for an admin token"
            )));
        }
        self.authenticate_client(client_id, client_secret)?;
        let instance = self
            .instances
            .get(instance_id)
            .ok_or_else(|| unknown_instance(instance_id))?;
        if instance.app_id != client_id {
            return Err(WixError::InvalidGrant(
                "app is not installed on instance_id".into(),
            ));
        }
        let ttl = self.ttl.access_token_secs;
        self.mint_for(
            Subject::App {
                instance_id: instance_id.to_string(),
            },
            ttl,
            now,
            ids,
        )
    }

    /// `client_credentials` with an OAuth app's id and secret and no instance: a Headless admin token.
    pub fn headless_admin_token(
        &mut self,
        client_id: &str,
        client_secret: &str,
        now: DateTime<Utc>,
        ids: &Ids,
    ) -> Result<Minted, WixError> {
        if !self.oauth_client(client_id)?.secret_matches(client_secret) {
            return Err(WixError::InvalidClient(
                "bad client_id/client_secret".into(),
            ));
        }
        let ttl = self.ttl.access_token_secs;
        self.mint_for(
            Subject::HeadlessAdmin {
                client_id: client_id.to_string(),
            },
            ttl,
            now,
            ids,
        )
    }

    /// `anonymous`: visitor access and refresh tokens for a Headless client (no secret).
    pub fn visitor_tokens(
        &mut self,
        client_id: &str,
        now: DateTime<Utc>,
        ids: &Ids,
    ) -> Result<Minted, WixError> {
        if self.apps.contains_key(client_id) {
            return Err(WixError::InvalidClient(format!(
                "`{client_id}` is a Wix app, not a Headless OAuth app"
            )));
        }
        let ttl = self.ttl.access_token_secs;
        self.mint_for(
            Subject::Visitor {
                client_id: client_id.to_string(),
                visitor_id: None,
            },
            ttl,
            now,
            ids,
        )
    }

    /// `refresh_token` for a Headless visitor or member: a new access token; the refresh token stays
    /// valid and is returned as it was (the SDK keeps its old one).
    pub fn refresh_headless(
        &mut self,
        client_id: Option<&str>,
        refresh_token: &str,
        now: DateTime<Utc>,
        ids: &Ids,
    ) -> Result<Minted, WixError> {
        let grant = self.check_headless_refresh(refresh_token, now)?;
        if client_id.is_some_and(|c| c != grant.client_id) {
            return Err(WixError::InvalidGrant(
                "refresh token was issued to another client".into(),
            ));
        }
        let ttl = self.ttl.access_token_secs;
        let subject = match (grant.member_id, grant.visitor_id) {
            (Some(member_id), _) => Subject::Member {
                client_id: grant.client_id,
                member_id,
            },
            (None, visitor_id) => Subject::Visitor {
                client_id: grant.client_id,
                visitor_id,
            },
        };
        let mut minted = self.mint_for(subject, ttl, now, ids)?;
        minted.refresh_token = Some(refresh_token.to_string());
        Ok(minted)
    }

    /// Verifies a Headless refresh token and that what it speaks for still exists.
    fn check_headless_refresh(
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
        Ok(grant)
    }

    /// `refresh_token` on `/oauth2/token` with a legacy app refresh token and the app's credentials:
    /// a 4-hour app token for the instance (the refresh token is returned unchanged).
    pub fn refresh_app(
        &mut self,
        client_id: &str,
        client_secret: &str,
        refresh_token: &str,
        now: DateTime<Utc>,
        ids: &Ids,
    ) -> Result<Minted, WixError> {
        self.authenticate_client(client_id, client_secret)?;
        let instance_id = self.check_refresh(client_id, refresh_token)?;
        let ttl = self.ttl.access_token_secs;
        let mut minted = self.mint_for(Subject::App { instance_id }, ttl, now, ids)?;
        minted.refresh_token = Some(refresh_token.to_string());
        Ok(minted)
    }

    /// Whether a token is a Headless refresh token (by its prefix).
    pub fn is_headless_refresh(token: &str) -> bool {
        token.starts_with(VISITOR_REFRESH_PREFIX) || token.starts_with(MEMBER_REFRESH_PREFIX)
    }

    /// `authorization_code` with PKCE: member tokens for a code from the member-login page.
    /// Everything is checked before the code is spent, so a failed attempt issues nothing.
    pub fn exchange_member_code(
        &mut self,
        client_id: &str,
        code: &str,
        code_verifier: &str,
        redirect_uri: Option<&str>,
        now: DateTime<Utc>,
        ids: &Ids,
    ) -> Result<Minted, WixError> {
        self.maybe_gc_identities(now);
        self.oauth_client(client_id)?;
        if !valid_verifier(code_verifier) {
            return Err(WixError::InvalidRequest(
                "code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~] (RFC 7636)".into(),
            ));
        }
        let grant = self
            .identities
            .member_codes
            .get(code)
            .ok_or_else(|| WixError::InvalidGrant("authorization code is unknown".into()))?;
        if grant.client_id != client_id {
            return Err(WixError::InvalidGrant(
                "authorization code was issued to another client".into(),
            ));
        }
        if grant.used {
            return Err(WixError::InvalidGrant(
                "authorization code was already used".into(),
            ));
        }
        if now >= grant.expires_at {
            return Err(WixError::InvalidGrant("authorization code expired".into()));
        }
        if redirect_uri.is_some_and(|u| u != grant.redirect_uri) {
            return Err(WixError::InvalidGrant(
                "redirect_uri does not match the authorization request".into(),
            ));
        }
        let challenge = pkce_challenge(code_verifier);
        if !bool::from(challenge.as_bytes().ct_eq(grant.code_challenge.as_bytes())) {
            return Err(WixError::InvalidGrant(
                "code_verifier does not match the code_challenge (S256)".into(),
            ));
        }
        let member_id = grant.member_id.clone();
        let ttl = self.ttl.access_token_secs;
        let minted = self.mint_for(
            Subject::Member {
                client_id: client_id.to_string(),
                member_id,
            },
            ttl,
            now,
            ids,
        )?;
        if let Some(g) = self.identities.member_codes.get_mut(code) {
            g.used = true;
        }
        Ok(minted)
    }

    /// `strip_bound_session`: a fresh, unbound app token for the instance of `access_token`. The
    /// SDK sends no client id, so the app is the token's (wix-api.md §4a); its secret must match.
    pub fn strip_bound_session(
        &mut self,
        access_token: &str,
        client_id: Option<&str>,
        client_secret: &str,
        now: DateTime<Utc>,
        ids: &Ids,
    ) -> Result<Minted, WixError> {
        let caller = self
            .authorize(Some(access_token), now)
            .map_err(|e| match e {
                WixError::Unauthenticated { message, .. } => WixError::InvalidGrant(message),
                other => other,
            })?;
        if caller.instance_id.is_empty() {
            return Err(WixError::InvalidGrant(
                "access_token is not an app token".into(),
            ));
        }
        if client_id.is_some_and(|c| c != caller.app_id) {
            return Err(WixError::InvalidGrant(
                "access_token was issued to another app".into(),
            ));
        }
        self.authenticate_client(&caller.app_id, client_secret)?;
        let ttl = self.ttl.access_token_secs;
        self.mint_for(
            Subject::App {
                instance_id: caller.instance_id,
            },
            ttl,
            now,
            ids,
        )
    }

    /// `authorized_client`: member tokens for `member_id`, asked with a visitor token of a Headless
    /// client and an API key of the same site (wix-api.md §4b, external login).
    pub fn authorized_client(
        &mut self,
        visitor_token: &str,
        api_key: &str,
        member_id: &str,
        now: DateTime<Utc>,
        ids: &Ids,
    ) -> Result<Minted, WixError> {
        let caller = self
            .authorize(Some(visitor_token), now)
            .map_err(|e| WixError::InvalidClient(format!("visitor token: {e}")))?;
        if !matches!(
            caller.identity,
            Identity::Visitor { .. } | Identity::Member { .. }
        ) {
            return Err(WixError::InvalidClient(
                "the Authorization token must be a Headless visitor token".into(),
            ));
        }
        match self.identities.api_keys.get(api_key) {
            Some(site) if *site == caller.site_id => {}
            _ => {
                return Err(WixError::InvalidClient(
                    "the API key is unknown or belongs to another site".into(),
                ));
            }
        }
        if self
            .identities
            .members
            .get(member_id)
            .is_none_or(|m| m.site_id != caller.site_id)
        {
            return Err(WixError::InvalidGrant(format!(
                "no member `{member_id}` on this site"
            )));
        }
        let ttl = self.ttl.access_token_secs;
        self.mint_for(
            Subject::Member {
                client_id: caller.app_id,
                member_id: member_id.to_string(),
            },
            ttl,
            now,
            ids,
        )
    }

    // ---- Member login (redirect sessions) ---------------------------------------------------------

    /// Creates a member-login redirect session. Every field is checked here, so the login page only
    /// ever redirects to a registered URI. Returns the session id.
    pub fn create_login_session(
        &mut self,
        req: &AuthRequest,
        now: DateTime<Utc>,
        ids: &Ids,
    ) -> Result<String, WixError> {
        self.maybe_gc_identities(now);
        let field = |f: &str| format!("auth.authRequest.{f}");
        let mut violations = Vec::new();
        let mut required = |name: &str, value: &Option<String>| match value.as_deref() {
            Some(v) if !v.is_empty() => Some(v.to_string()),
            _ => {
                violations.push(FieldViolation::new(
                    &field(name),
                    "REQUIRED_FIELD",
                    format!("{name} is required"),
                ));
                None
            }
        };
        let client_id = required("clientId", &req.client_id);
        let redirect_uri = required("redirectUri", &req.redirect_uri);
        let challenge = required("codeChallenge", &req.code_challenge);
        if req
            .code_challenge_method
            .as_deref()
            .is_some_and(|m| m != "S256")
        {
            violations.push(FieldViolation::new(
                &field("codeChallengeMethod"),
                "INVALID_ENUM_VALUE",
                "only S256 is supported",
            ));
        }
        if req.response_type.as_deref().is_some_and(|t| t != "code") {
            violations.push(FieldViolation::new(
                &field("responseType"),
                "INVALID_ENUM_VALUE",
                "responseType must be code",
            ));
        }
        let response_mode = match req.response_mode.as_deref() {
            None | Some("") | Some("fragment") => ResponseMode::Fragment,
            Some("query") => ResponseMode::Query,
            Some(other) => {
                // web_message needs a browser window to post to; the mock serves redirects only.
                violations.push(FieldViolation::new(
                    &field("responseMode"),
                    "INVALID_ENUM_VALUE",
                    format!(
                        "responseMode `{other}` is not supported by the mock (fragment or query)"
                    ),
                ));
                ResponseMode::Fragment
            }
        };
        if challenge
            .as_deref()
            .is_some_and(|c| c.len() != 43 || URL_SAFE_NO_PAD.decode(c).is_err())
        {
            violations.push(FieldViolation::new(
                &field("codeChallenge"),
                "INVALID_FORMAT",
                "codeChallenge must be base64url(SHA-256(verifier)) without padding",
            ));
        }
        let (Some(client_id), Some(redirect_uri), Some(code_challenge), true) =
            (client_id, redirect_uri, challenge, violations.is_empty())
        else {
            return Err(WixError::Validation(violations));
        };
        let oauth_app = self
            .oauth_apps
            .get(&client_id)
            .ok_or_else(|| WixError::NotFound {
                code: "OAUTH_APP_NOT_FOUND",
                message: format!("OAuth app {client_id} not found"),
            })?;
        // Wix redirects only to exact `allowedRedirectUris` (wix-api.md §6).
        if !oauth_app.allowed_redirect_uris.contains(&redirect_uri) {
            return Err(WixError::Validation(vec![FieldViolation::new(
                &field("redirectUri"),
                "NOT_ALLOWED",
                "redirectUri is not one of the OAuth app's allowedRedirectUris",
            )]));
        }
        let site_id = oauth_app.site_id.clone();
        let id = ids.guid();
        self.identities.redirect_sessions.insert(
            id.clone(),
            RedirectSession {
                client_id,
                site_id,
                redirect_uri,
                state: req.state.clone(),
                code_challenge,
                response_mode,
                expires_at: now + secs(self.ttl.consent_secs),
            },
        );
        Ok(id)
    }

    /// A logout redirect session: checks the client and where to go after, and logs the member
    /// behind `caller` out (every token of that member stops working at once).
    pub fn logout(
        &mut self,
        caller: Option<&Caller>,
        client_id: &str,
        post_flow_url: Option<&str>,
    ) -> Result<(), WixError> {
        let oauth_app = self
            .oauth_apps
            .get(client_id)
            .ok_or_else(|| WixError::NotFound {
                code: "OAUTH_APP_NOT_FOUND",
                message: format!("OAuth app {client_id} not found"),
            })?;
        if let Some(url) = post_flow_url {
            // Flows other than login need the URL's domain in allowedRedirectDomains (wix-api.md §6).
            let host = url::Url::parse(url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string));
            let allowed = oauth_app.allowed_redirect_uris.iter().any(|u| u == url)
                || host.is_some_and(|h| oauth_app.allowed_redirect_domains.contains(&h));
            if !allowed {
                return Err(WixError::Validation(vec![FieldViolation::new(
                    "callbacks.postFlowUrl",
                    "NOT_ALLOWED",
                    "postFlowUrl's domain is not one of the OAuth app's allowedRedirectDomains",
                )]));
            }
        }
        if let Some(Caller {
            identity: Identity::Member { member_id },
            app_id,
            ..
        }) = caller
            && app_id == client_id
        {
            *self
                .identities
                .member_generations
                .entry(member_id.clone())
                .or_default() += 1;
        }
        Ok(())
    }

    /// The member-login page: logs a member in (or shows the form) and redirects to the session's
    /// redirect URI with `code` and `state`, or with `error` when the person cancels.
    pub fn login_member(
        &mut self,
        session_id: &str,
        login: Login,
        now: DateTime<Utc>,
        ids: &Ids,
    ) -> Result<LoginStep, WixError> {
        self.maybe_gc_identities(now);
        let page = |m: &str| WixError::InstallerPage(m.to_string());
        let session = self
            .identities
            .redirect_sessions
            .get(session_id)
            .ok_or_else(|| page("this login session is unknown or was already used"))?
            .clone();
        if now >= session.expires_at {
            return Err(page("this login session expired"));
        }
        let site_members = || {
            self.identities
                .members
                .values()
                .filter(|m| m.site_id == session.site_id)
        };
        let view = |email: String, error: Option<String>| {
            LoginStep::Form(LoginView {
                session_id: session_id.to_string(),
                client_name: self
                    .oauth_apps
                    .get(&session.client_id)
                    .map(|a| a.name.clone())
                    .unwrap_or_default(),
                email,
                error,
            })
        };
        let member_id = match login {
            Login::Cancel => {
                self.identities.redirect_sessions.remove(session_id);
                return Ok(LoginStep::Redirect(callback(
                    &session,
                    &[
                        ("error", "access_denied"),
                        ("error_description", "the member cancelled the login"),
                    ],
                )));
            }
            Login::Auto { member } if self.identities.member_login == MemberLogin::Auto => {
                let found = match member.as_deref() {
                    Some(who) => site_members()
                        .find(|m| m.id == who || m.email.eq_ignore_ascii_case(who))
                        .map(|m| m.id.clone()),
                    None => site_members().min_by_key(|m| m.order).map(|m| m.id.clone()),
                };
                match found {
                    Some(id) => id,
                    None => {
                        self.identities.redirect_sessions.remove(session_id);
                        return Ok(LoginStep::Redirect(callback(
                            &session,
                            &[
                                ("error", "access_denied"),
                                ("error_description", "no such member on this site"),
                            ],
                        )));
                    }
                }
            }
            Login::Auto { member } => {
                let email = member
                    .or_else(|| {
                        site_members()
                            .min_by_key(|m| m.order)
                            .map(|m| m.email.clone())
                    })
                    .unwrap_or_default();
                return Ok(view(email, None));
            }
            Login::Form { email, password } => {
                let found = site_members()
                    .find(|m| m.email.eq_ignore_ascii_case(&email))
                    .filter(|m| {
                        m.password
                            .as_deref()
                            .is_none_or(|p| bool::from(p.as_bytes().ct_eq(password.as_bytes())))
                    })
                    .map(|m| m.id.clone());
                match found {
                    Some(id) => id,
                    None => return Ok(view(email, Some("wrong e-mail or password".into()))),
                }
            }
        };
        let code = ids.token("OAUTH2.MCODE.", 32);
        self.identities.redirect_sessions.remove(session_id);
        self.identities.member_codes.insert(
            code.clone(),
            MemberCode {
                client_id: session.client_id.clone(),
                site_id: session.site_id.clone(),
                member_id,
                redirect_uri: session.redirect_uri.clone(),
                code_challenge: session.code_challenge.clone(),
                expires_at: now + secs(self.ttl.code_secs),
                used: false,
            },
        );
        Ok(LoginStep::Redirect(callback(&session, &[("code", &code)])))
    }

    // ---- Token info ---------------------------------------------------------------------------------

    /// `POST /oauth2/token-info`: what any token the mock issued says about itself. Access tokens,
    /// Headless refresh tokens and legacy refresh tokens are understood (the SDK's `getTokenInfo`
    /// sends its refresh token when it has one); anything else, expired or revoked is inactive.
    pub fn token_info(&self, token: &str, now: DateTime<Utc>) -> TokenInfo {
        let inactive = TokenInfo::default();
        if let Some((claim, claims)) = self.signer.decode(token) {
            if claims.exp <= now.timestamp() {
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
            // A legacy refresh token never expires while the app is installed: no `exp` (INFERRED).
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
        inactive
    }

    // ---- Housekeeping -------------------------------------------------------------------------------

    /// Drops login sessions and member codes an hour after they expired, at most once a virtual minute.
    fn maybe_gc_identities(&mut self, now: DateTime<Utc>) {
        if self.identities.next_gc.is_some_and(|at| now < at) {
            return;
        }
        self.identities.next_gc = Some(now + Duration::seconds(60));
        let horizon = now - Duration::hours(1);
        self.identities
            .redirect_sessions
            .retain(|_, s| s.expires_at > horizon);
        self.identities
            .member_codes
            .retain(|_, c| c.expires_at > horizon);
    }
}

fn unknown_instance(instance_id: &str) -> WixError {
    // Wix answers an unknown instance with 404 ("app not found in any meta-site", wix-api.md §4a).
    WixError::UnknownInstance(format!(
        "app not found in any meta-site: instance `{instance_id}`"
    ))
}

/// The session's redirect URI with `params` (and the session's `state`) in its fragment or query.
fn callback(session: &RedirectSession, params: &[(&str, &str)]) -> String {
    let mut all: Vec<(&str, &str)> = params.to_vec();
    if let Some(state) = session.state.as_deref() {
        all.push(("state", state));
    }
    match session.response_mode {
        ResponseMode::Query => {
            with_query(&session.redirect_uri, &all).unwrap_or_else(|| session.redirect_uri.clone())
        }
        ResponseMode::Fragment => match url::Url::parse(&session.redirect_uri) {
            Ok(mut u) => {
                let fragment = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(all)
                    .finish();
                u.set_fragment(Some(&fragment));
                u.to_string()
            }
            Err(_) => session.redirect_uri.clone(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pkce_challenge_matches_rfc_7636_appendix_b() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
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

    #[test]
    fn verifiers_follow_rfc_7636() {
        assert!(valid_verifier(&"a".repeat(43)));
        assert!(!valid_verifier(&"a".repeat(42)));
        assert!(!valid_verifier(&"a".repeat(129)));
        assert!(!valid_verifier(&format!("{}!", "a".repeat(43))));
    }
}
