//! The Wix world the mock simulates: apps, sites, app instances, and every grant issued to them.
//!
//! Pure domain: no warp, no locks, no clock reads. Every operation takes `now` (read once per request
//! by [`crate::App`]) and, where it creates something random, the seeded [`Ids`]. That keeps each
//! flow atomic under the one lock `App` holds, and lets these rules be tested with literal times.

use std::collections::{BTreeMap, HashMap, VecDeque};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use crate::error::WixError;
use crate::ids::{Ids, Stamp, rfc3339_millis};
use crate::jwt::{InstanceClaim, Invalid, Signer};
use crate::scenario::{ConsentMode, EventSpec, EventTrigger, Scenario, Ttl};

pub mod credentials;
pub mod grants;
pub mod identity;
pub mod member_login;
pub mod members;
pub mod oauth_apps;
pub mod query;
pub mod saved;
pub mod signed;
pub mod webhooks;

pub use identity::{Identities, Identity};
pub use oauth_apps::OAuthApp;
pub use webhooks::{RemovedInstance, WebhookEvent};

/// How many recently issued access tokens `GET /__admin/state` lists. Access tokens are
/// self-contained JWTs, so the mock keeps no table of them; this ring is only for people looking.
pub const RECENT_TOKENS: usize = 50;

/// The longest a token of a Headless visitor can live: its refresh token (access tokens, even those
/// the admin API mints, live at most as long). A logged-out visitor is remembered this long.
pub const VISITOR_TOKENS_LIVE_SECS: u64 = identity::REFRESH_TOKEN_SECS;

/// A registered Wix app.
#[derive(Debug, Clone)]
pub struct WixApp {
    pub id: String,
    pub name: String,
    pub secret: String,
    pub app_url: String,
    pub redirect_urls: Vec<String>,
    pub scopes: Vec<String>,
    pub consent: ConsentMode,
    pub version: String,
    /// Where webhooks go; settable at run time through the admin API.
    pub webhook_url: Option<String>,
}

impl WixApp {
    /// Compares a presented secret in constant time.
    pub fn secret_matches(&self, presented: &str) -> bool {
        self.secret.as_bytes().ct_eq(presented.as_bytes()).into()
    }
}

/// A Wix site.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Site {
    pub id: String,
    pub name: String,
    pub url: Option<String>,
    pub owner_id: String,
    pub owner_email: String,
    pub locale: String,
    pub currency: String,
}

/// One installation of an app on a site.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Instance {
    pub instance_id: String,
    pub app_id: String,
    pub site_id: String,
    pub installed_at: String,
    /// Set once the instance sends `APP_FINISHED_CONFIGURATION` (docs/fidelity.md F-30).
    pub setup_complete: bool,
    /// When the app sent the browser to `/installer/close-window`.
    pub window_closed_at: Option<String>,
    /// How many BI events of each name the instance sent.
    pub bi_events: BTreeMap<String, u32>,
}

/// The `token` the App Market appends to the App URL; single use.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InstallToken {
    pub app_id: String,
    /// The site chosen in the App Market; a new site when absent.
    pub site_id: Option<String>,
    pub expires_at: DateTime<Utc>,
}

/// A consent page waiting for Approve or Deny.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingConsent {
    pub app_id: String,
    pub site_id: Option<String>,
    pub redirect_url: String,
    pub state: Option<String>,
    pub expires_at: DateTime<Utc>,
}

/// An authorization code from the installer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthCode {
    pub app_id: String,
    pub instance_id: String,
    pub redirect_url: String,
    pub expires_at: DateTime<Utc>,
    /// Codes are single-use; a used one is kept until it expires so reuse is told apart from garbage.
    pub used: bool,
}

/// What every authorization code the mock issues has, legacy app codes ([`AuthCode`]) and Headless
/// member codes alike, for [`redeemable`].
pub(crate) trait IssuedCode {
    /// The app id or OAuth client id it was issued to.
    fn issued_to(&self) -> &str;
    fn used(&self) -> bool;
    fn expires_at(&self) -> DateTime<Utc>;
    /// The redirect URI of the authorization request it answered.
    fn redirect_uri(&self) -> &str;
}

impl IssuedCode for AuthCode {
    fn issued_to(&self) -> &str {
        &self.app_id
    }
    fn used(&self) -> bool {
        self.used
    }
    fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }
    fn redirect_uri(&self) -> &str {
        &self.redirect_url
    }
}

/// The checks every code redemption makes (RFC 6749 §4.1.3), in one place for both kinds of code:
/// known, issued to this `client` (`whom` names it in the message: "app" or "client"), not used,
/// not expired, and for the redirect URI the client names, when it names one (Wix's legacy
/// exchange takes none). A used code fails and leaves what it issued valid (INFERRED,
/// docs/fidelity.md I-10). The caller marks the code used once the rest of its grant succeeded.
pub(crate) fn redeemable<'c, C: IssuedCode>(
    found: Option<&'c C>,
    client: &str,
    whom: &str,
    redirect_uri: Option<&str>,
    now: DateTime<Utc>,
) -> Result<&'c C, WixError> {
    let grant =
        found.ok_or_else(|| WixError::InvalidGrant("authorization code is unknown".into()))?;
    if grant.issued_to() != client {
        return Err(WixError::InvalidGrant(format!(
            "authorization code was issued to another {whom}"
        )));
    }
    if grant.used() {
        return Err(WixError::InvalidGrant(
            "authorization code was already used".into(),
        ));
    }
    if now >= grant.expires_at() {
        return Err(WixError::InvalidGrant("authorization code expired".into()));
    }
    if redirect_uri.is_some_and(|u| u != grant.redirect_uri()) {
        return Err(WixError::InvalidGrant(
            "redirect_uri does not match the authorization request".into(),
        ));
    }
    Ok(grant)
}

/// A legacy refresh token: valid while the app stays installed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefreshGrant {
    pub app_id: String,
    pub instance_id: String,
    pub issued_at: DateTime<Utc>,
}

/// An access token as listed for people by the admin API. Its app and instance are read from the
/// token's own claim, not copied beside it (two allocations per token request, issue 13).
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: crate::jwt::Token,
    pub kind: &'static str,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// The newest access tokens, as `GET /__admin/state` lists them. Kept beside the world, not in
/// it, so minting a token needs only the world's read lock (`App` records what each grant minted).
#[derive(Debug, Default)]
pub struct IssuedTokens(VecDeque<IssuedToken>);

impl IssuedTokens {
    /// Lists a token issued at `now` for `ttl_secs`, forgetting the oldest beyond
    /// [`RECENT_TOKENS`].
    pub fn record(
        &mut self,
        token: &crate::jwt::Token,
        kind: &'static str,
        now: DateTime<Utc>,
        ttl_secs: u64,
    ) {
        if self.0.len() == RECENT_TOKENS {
            self.0.pop_front();
        }
        self.0.push_back(IssuedToken {
            token: token.clone(),
            kind,
            issued_at: now,
            expires_at: now + secs(ttl_secs),
        });
    }

    /// Forgets every token (a reset or a new scenario).
    pub fn clear(&mut self) {
        self.0.clear();
    }
}

impl IssuedToken {
    /// The app the token was issued to (a Headless token's OAuth app).
    pub fn app_id(&self) -> &str {
        self.token.claim().map_or("", |c| c.app_def_id.as_str())
    }

    /// The app instance it speaks for; empty for a Headless token.
    pub fn instance_id(&self) -> &str {
        self.token.claim().map_or("", |c| c.instance_id.as_str())
    }
}

/// What `/installer/install` does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstallStep {
    /// Redirect the browser here (consent was automatic).
    Redirect(String),
    /// Show the consent page.
    Consent(ConsentView),
}

/// What the consent page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentView {
    pub consent_id: String,
    pub app_name: String,
    pub scopes: Vec<String>,
    pub site_name: Option<String>,
    pub redirect_url: String,
}

/// The `/installer/install` query, already picked apart.
#[derive(Debug, Clone, Default)]
pub struct InstallRequest {
    pub app_id: Option<String>,
    pub redirect_url: Option<String>,
    pub state: Option<String>,
    pub token: Option<String>,
    /// Mock extension: install on this site when no App Market token names one.
    pub site_id: Option<String>,
}

/// The identity behind a valid access token.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The app instance; empty for Headless tokens, which belong to an OAuth app, not an instance.
    pub instance_id: String,
    /// The app id, or the OAuth app's client id for Headless tokens.
    pub app_id: String,
    /// The site the token acts on.
    pub site_id: String,
    /// Who the token speaks for.
    pub identity: Identity,
    /// The permission scopes the token carries (an app token carries its app's scopes).
    pub scopes: Vec<String>,
    pub claim: InstanceClaim,
}

impl Caller {
    /// `Ok` when the token carries at least one of `any_of`, else Wix's 403 PERMISSION_DENIED.
    pub fn require_scope(&self, any_of: &[&str]) -> Result<(), WixError> {
        if any_of
            .iter()
            .any(|s| self.scopes.iter().any(|have| have == s))
        {
            Ok(())
        } else {
            Err(WixError::PermissionDenied(format!(
                "the access token lacks the required permission ({})",
                any_of.join(" or ")
            )))
        }
    }
}

/// A BI event as `/apps/v1/bi-event` accepts it.
#[derive(Debug, Clone)]
pub struct BiEvent {
    pub event_name: String,
}

/// The whole simulated state.
#[derive(Debug)]
pub struct World {
    ttl: Ttl,
    signer: std::sync::Arc<Signer>,
    apps: BTreeMap<String, WixApp>,
    sites: BTreeMap<String, Site>,
    instances: BTreeMap<String, Instance>,
    install_tokens: HashMap<String, InstallToken>,
    consents: HashMap<String, PendingConsent>,
    codes: HashMap<String, AuthCode>,
    refresh_tokens: HashMap<String, RefreshGrant>,
    /// Headless OAuth apps by id (deleted ones are removed).
    oauth_apps: BTreeMap<String, OAuthApp>,
    /// Users, members, member sessions and member-login state.
    identities: Identities,
    /// Uninstalled instances, by id: their tokens no longer work; a reinstall on the same site reuses the id.
    removed_instances: BTreeMap<String, RemovedInstance>,
    /// Webhook events not yet handed to delivery (see [`World::take_outbox`]).
    outbox: Vec<WebhookEvent>,
    /// The scenario's further events (`webhooks.events`).
    declared_events: Vec<EventSpec>,
    /// (site id, app id) → id of the live instance of that app there, so an install finds it without
    /// scanning every instance (issue 18: 40,000 installs made each install 5× slower). Lookups check
    /// the entry against `instances`, which stays the truth; [`World::reindex`] rebuilds it.
    instance_index: HashMap<(String, String), String>,
    /// The same for `removed_instances`: a reinstall takes the removed instance's id back.
    removed_index: HashMap<(String, String), String>,
    /// When the sweep first saw each logged-out visitor; forgotten once no token of theirs can be
    /// valid any more (see [`World::sweep`]).
    visitors_out_since: HashMap<String, DateTime<Utc>>,
}

fn installer_error(msg: impl Into<String>) -> WixError {
    WixError::InstallerPage(msg.into())
}

/// What the rest of the server may read. The fields themselves are private to `world/`: everything
/// that changes the world is a named operation (here and in `world/*.rs`), called by `App` under
/// the lock it chooses.
impl World {
    /// The scenario's lifetimes.
    pub fn ttl(&self) -> &Ttl {
        &self.ttl
    }

    /// The access-token signer (its key is drawn from the seed).
    pub fn signer(&self) -> &std::sync::Arc<Signer> {
        &self.signer
    }

    /// A declared Wix app.
    pub fn app(&self, id: &str) -> Option<&WixApp> {
        self.apps.get(id)
    }

    /// Every declared Wix app, by id.
    pub fn apps(&self) -> impl Iterator<Item = &WixApp> {
        self.apps.values()
    }

    /// Whether `id` is a Headless OAuth app (deleted ones are not).
    pub fn is_oauth_app(&self, id: &str) -> bool {
        self.oauth_apps.contains_key(id)
    }

    /// A site, declared or made by an install.
    pub fn site(&self, id: &str) -> Option<&Site> {
        self.sites.get(id)
    }

    /// A live instance (uninstalled ones are not).
    pub fn instance(&self, id: &str) -> Option<&Instance> {
        self.instances.get(id)
    }

    /// A declared Wix app, to change in place: for tests and benchmarks that arrange what the API
    /// and the scenario checks would refuse (through `App::with_world`); the server never calls it.
    pub fn app_mut(&mut self, id: &str) -> Option<&mut WixApp> {
        self.apps.get_mut(id)
    }

    /// A Headless OAuth app, to change in place (for tests, as [`World::app_mut`]).
    pub fn oauth_app_mut(&mut self, id: &str) -> Option<&mut OAuthApp> {
        self.oauth_apps.get_mut(id)
    }

    /// How many sites and live instances there are.
    pub fn counts(&self) -> (usize, usize) {
        (self.sites.len(), self.instances.len())
    }

    /// A member, declared or registered.
    pub fn member(&self, id: &str) -> Option<&identity::Member> {
        self.identities.members.get(id)
    }

    /// The instance an installer code was issued for, while the world remembers the code (what a
    /// fault or an expectation matches a request's `code` by).
    pub fn instance_of_code(&self, code: &str) -> Option<&str> {
        self.codes.get(code).map(|c| c.instance_id.as_str())
    }

    /// The instance a live refresh token was issued for.
    pub fn instance_of_refresh_token(&self, refresh_token: &str) -> Option<&str> {
        self.refresh_tokens
            .get(refresh_token)
            .map(|g| g.instance_id.as_str())
    }

    /// Whether an instance has not finished its setup while another install of the same app
    /// has: only an app with a setup step can leave an install incomplete.
    pub fn setup_unfinished(&self, instance_id: &str) -> bool {
        self.instances.get(instance_id).is_some_and(|i| {
            !i.setup_complete
                && self
                    .instances
                    .values()
                    .any(|o| o.app_id == i.app_id && o.setup_complete)
        })
    }
}

impl World {
    /// The initial state a scenario describes. Draws the signing key first, so it depends on the seed only.
    pub fn from_scenario(scenario: &Scenario, now: DateTime<Utc>, ids: &Ids) -> World {
        let signer = std::sync::Arc::new(Signer::new(&ids.bytes(32), ids.token("", 8)));
        let apps = scenario
            .apps
            .iter()
            .map(|a| {
                let app = WixApp {
                    id: a.id.value.clone(),
                    name: a.name.clone(),
                    secret: a.secret.clone(),
                    app_url: a.app_url.value.clone(),
                    redirect_urls: a.redirect_urls.iter().map(|u| u.value.clone()).collect(),
                    scopes: a.scopes.clone(),
                    consent: a.consent.unwrap_or(scenario.consent),
                    version: a.version.clone(),
                    webhook_url: a.webhook_url.as_ref().map(|u| u.value.clone()),
                };
                (app.id.clone(), app)
            })
            .collect();
        let mut world = World {
            ttl: scenario.ttl.clone(),
            signer,
            apps,
            sites: BTreeMap::new(),
            instances: BTreeMap::new(),
            install_tokens: HashMap::new(),
            consents: HashMap::new(),
            codes: HashMap::new(),
            refresh_tokens: HashMap::new(),
            oauth_apps: BTreeMap::new(),
            identities: Identities::from_scenario(scenario, ids),
            removed_instances: BTreeMap::new(),
            outbox: Vec::new(),
            declared_events: scenario.webhooks.events.clone(),
            instance_index: HashMap::new(),
            removed_index: HashMap::new(),
            visitors_out_since: HashMap::new(),
        };
        let first_site = scenario
            .sites
            .first()
            .map(|s| s.id.value.clone())
            .unwrap_or_default();
        for o in &scenario.oauth_apps {
            let app = OAuthApp {
                id: o.id.value.clone(),
                created_date: o.created_date.unwrap_or(now),
                name: o.name.clone(),
                description: o.description.clone(),
                login_url: o.login_url.clone(),
                logout_url: o.logout_url.clone(),
                allowed_redirect_uris: o.allowed_redirect_uris.clone(),
                allowed_redirect_domains: o.allowed_redirect_domains.clone(),
                // A known secret counts as generated.
                allow_secret_generation: o.secret.is_none(),
                application_type: o.application_type.clone(),
                technology: o.technology.clone(),
                wix_pages_domains_mappings: Vec::new(),
                site_id: o
                    .site
                    .as_ref()
                    .map(|s| s.value.clone())
                    .unwrap_or_else(|| first_site.clone()),
                secret_digest: o.secret.as_deref().map(oauth_apps::digest),
            };
            world.oauth_apps.insert(app.id.clone(), app);
        }
        for s in &scenario.sites {
            // The generated id is drawn even when a declared OWNER replaces it, so declaring an
            // owner does not shift every id and token drawn after it.
            let generated_owner = ids.guid();
            let declared_owner = s
                .users
                .iter()
                .find(|u| u.role == "OWNER")
                .map(|u| u.id.value.clone());
            let site = Site {
                id: s.id.value.clone(),
                name: s.name.clone(),
                url: s.url.clone(),
                // A declared OWNER user is the owner: webhooks, signed instances and tokens name them.
                owner_id: declared_owner.unwrap_or(generated_owner),
                owner_email: s.owner_email.clone(),
                locale: s.locale.clone(),
                currency: s.currency.clone(),
            };
            world.sites.insert(site.id.clone(), site);
            for i in &s.installs {
                world.instances.insert(
                    i.instance_id.value.clone(),
                    Instance {
                        instance_id: i.instance_id.value.clone(),
                        app_id: i.app.value.clone(),
                        site_id: s.id.value.clone(),
                        installed_at: rfc3339_millis(now),
                        setup_complete: i.setup_complete,
                        window_closed_at: None,
                        bi_events: BTreeMap::new(),
                    },
                );
                if let Some(rt) = &i.refresh_token {
                    world.refresh_tokens.insert(
                        rt.clone(),
                        RefreshGrant {
                            app_id: i.app.value.clone(),
                            instance_id: i.instance_id.value.clone(),
                            issued_at: now,
                        },
                    );
                }
            }
        }
        world.reindex();
        // Start-up events, in file order: AppInstalled for declared installs when asked, then `start` events.
        let installed: Vec<Instance> = scenario
            .sites
            .iter()
            .flat_map(|s| &s.installs)
            .filter_map(|i| world.instances.get(&i.instance_id.value).cloned())
            .collect();
        for instance in &installed {
            if scenario.webhooks.on_start {
                world.emit_installed(instance, now);
            }
            world.emit_declared(EventTrigger::Start, instance, now);
        }
        world
    }

    // ---- App Market and installer -------------------------------------------------------------

    /// "The user installs the app from the App Market": returns the App URL with a fresh `token`.
    pub fn app_market_install(
        &mut self,
        app_id: &str,
        site_id: Option<&str>,
        now: DateTime<Utc>,
        ids: &Ids,
    ) -> Result<String, WixError> {
        self.maybe_gc(now);
        let app = self
            .apps
            .get(app_id)
            .ok_or_else(|| installer_error("unknown appId"))?;
        if site_id.is_some_and(|site| !self.sites.contains_key(site)) {
            return Err(installer_error("unknown siteId"));
        }
        let token = ids.token("", 48);
        let mut params = vec![("token", token.clone())];
        // Opening an app already installed on the chosen site: Wix's App URL also carries the signed
        // `instance` parameter (docs/fidelity.md F-41), as the site owner sees it.
        let installed = site_id.and_then(|site| self.instance_on(site, app_id));
        if let Some(instance) = installed
            && let Ok((signed, _)) =
                self.signed_instance(&instance.instance_id, signed::Viewer::Owner, now, ids)
        {
            params.push(("instance", signed));
        }
        // The App URL comes from the scenario; a browser is sent there, so it passes the redirect check.
        crate::redirect::check(&app.app_url).map_err(|e| {
            installer_error(format!("the app's App URL cannot be redirected to: {e}"))
        })?;
        let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let url = with_query(&app.app_url, &pairs)
            .ok_or_else(|| installer_error("the app's App URL is not a valid URL"))?;
        self.install_tokens.insert(
            token,
            InstallToken {
                app_id: app_id.to_string(),
                site_id: site_id.map(str::to_string),
                expires_at: now + secs(self.ttl.install_token_secs),
            },
        );
        Ok(url)
    }

    /// `GET /installer/install`: validates everything before anything is consumed, then either
    /// installs at once (automatic consent) or opens a consent page.
    pub fn start_install(
        &mut self,
        req: InstallRequest,
        now: DateTime<Utc>,
        ids: &Ids,
    ) -> Result<InstallStep, WixError> {
        self.maybe_gc(now);
        let app_id = req
            .app_id
            .filter(|s| !s.is_empty())
            .ok_or_else(|| installer_error("missing appId"))?;
        let app = self
            .apps
            .get(&app_id)
            .ok_or_else(|| installer_error("unknown appId"))?;
        let redirect_url = req
            .redirect_url
            .filter(|s| !s.is_empty())
            .ok_or_else(|| installer_error("missing redirectUrl"))?;
        // Exact match only: anything else gets the error page and is never redirected to. The
        // registered URL must also pass the redirect check (a scenario could register `javascript:`).
        match crate::redirect::matches_exactly(&redirect_url, &app.redirect_urls) {
            Ok(_) => {}
            Err(crate::redirect::Unsafe::NotRegistered) => {
                return Err(installer_error(
                    "redirectUrl is not registered for this app",
                ));
            }
            Err(e) => {
                return Err(installer_error(format!(
                    "redirectUrl cannot be redirected to: {e}"
                )));
            }
        }
        let mut site_id = req.site_id.filter(|s| !s.is_empty());
        if let Some(token) = req.token.as_deref() {
            let t = self.install_tokens.get(token).ok_or_else(|| {
                installer_error("the install token is unknown or was already used")
            })?;
            if t.app_id != app_id {
                return Err(installer_error(
                    "the install token was issued for another app",
                ));
            }
            if now >= t.expires_at {
                return Err(installer_error("the install token expired"));
            }
            if t.site_id.is_some() {
                site_id = t.site_id.clone();
            }
        }
        if site_id
            .as_ref()
            .is_some_and(|site| !self.sites.contains_key(site))
        {
            return Err(installer_error("unknown siteId"));
        }
        // Everything checked: now consume the single-use token.
        if let Some(token) = req.token.as_deref() {
            self.install_tokens.remove(token);
        }
        match app.consent {
            ConsentMode::Auto => {
                let url = self.complete_install(
                    &app_id,
                    site_id,
                    &redirect_url,
                    req.state.as_deref(),
                    now,
                    ids,
                );
                Ok(InstallStep::Redirect(url))
            }
            ConsentMode::Page => {
                let consent_id = ids.token("", 32);
                let view = ConsentView {
                    consent_id: consent_id.clone(),
                    app_name: app.name.clone(),
                    scopes: app.scopes.clone(),
                    site_name: site_id
                        .as_ref()
                        .and_then(|s| self.sites.get(s))
                        .map(|s| s.name.clone()),
                    redirect_url: redirect_url.clone(),
                };
                self.consents.insert(
                    consent_id,
                    PendingConsent {
                        app_id,
                        site_id,
                        redirect_url,
                        state: req.state,
                        expires_at: now + secs(self.ttl.consent_secs),
                    },
                );
                Ok(InstallStep::Consent(view))
            }
        }
    }

    /// The user's answer on the consent page. Returns where to redirect the browser.
    pub fn decide_consent(
        &mut self,
        consent_id: &str,
        approve: bool,
        now: DateTime<Utc>,
        ids: &Ids,
    ) -> Result<String, WixError> {
        self.maybe_gc(now);
        let pending = self.consents.remove(consent_id).ok_or_else(|| {
            installer_error("this consent page is unknown or was already answered")
        })?;
        if now >= pending.expires_at {
            return Err(installer_error("this consent page expired"));
        }
        if approve {
            return Ok(self.complete_install(
                &pending.app_id,
                pending.site_id,
                &pending.redirect_url,
                pending.state.as_deref(),
                now,
                ids,
            ));
        }
        // What Wix does on Deny is undocumented. The mock follows RFC 6749 §4.1.2.1 (`access_denied`
        // on the redirect URL), which is what an OAuth client library expects to handle (INFERRED, docs/fidelity.md I-07).
        let mut params = vec![
            ("error", "access_denied"),
            ("error_description", "the user denied the installation"),
        ];
        if let Some(state) = pending.state.as_deref() {
            params.push(("state", state));
        }
        Ok(with_query(&pending.redirect_url, &params).unwrap_or(pending.redirect_url))
    }

    /// Creates (or reuses) the instance, issues a code, and builds the redirect back to the app.
    fn complete_install(
        &mut self,
        app_id: &str,
        site_id: Option<String>,
        redirect_url: &str,
        state: Option<&str>,
        now: DateTime<Utc>,
        ids: &Ids,
    ) -> String {
        let site_id = site_id.unwrap_or_else(|| self.new_site(ids));
        let existing = self
            .instance_on(&site_id, app_id)
            .map(|i| i.instance_id.clone());
        let instance_id = existing.unwrap_or_else(|| {
            // "instanceId … remains the same even if the app is uninstalled and reinstalled" (Wix docs,
            // About App Instances): a reinstall on the same site takes the removed instance's id back.
            let previous = self
                .removed_on(&site_id, app_id)
                .map(|r| r.instance.instance_id.clone());
            let id = match previous {
                Some(id) => {
                    self.removed_instances.remove(&id);
                    id
                }
                None => ids.guid(),
            };
            let instance = Instance {
                instance_id: id.clone(),
                app_id: app_id.to_string(),
                site_id: site_id.clone(),
                installed_at: rfc3339_millis(now),
                setup_complete: false,
                window_closed_at: None,
                bi_events: BTreeMap::new(),
            };
            self.instances.insert(id.clone(), instance.clone());
            self.instance_index
                .insert((site_id.clone(), app_id.to_string()), id.clone());
            self.emit_installed(&instance, now);
            id
        });
        let code = ids.token("OAUTH2.CODE.", 32);
        self.codes.insert(
            code.clone(),
            AuthCode {
                app_id: app_id.to_string(),
                instance_id: instance_id.clone(),
                redirect_url: redirect_url.to_string(),
                expires_at: now + secs(self.ttl.code_secs),
                used: false,
            },
        );
        // Wix appends code, state (only when one was sent, echoed exactly) and instanceId.
        let mut params = vec![("code", code.as_str())];
        if let Some(state) = state {
            params.push(("state", state));
        }
        params.push(("instanceId", instance_id.as_str()));
        with_query(redirect_url, &params).unwrap_or_else(|| redirect_url.to_string())
    }

    /// The live instance of `app_id` on `site_id`, through the index (checked against `instances`).
    pub fn instance_on(&self, site_id: &str, app_id: &str) -> Option<&Instance> {
        let id = self
            .instance_index
            .get(&(site_id.to_string(), app_id.to_string()))?;
        self.instances
            .get(id)
            .filter(|i| i.site_id == site_id && i.app_id == app_id)
    }

    /// The removed instance of `app_id` on `site_id`, through the index.
    fn removed_on(&self, site_id: &str, app_id: &str) -> Option<&RemovedInstance> {
        let id = self
            .removed_index
            .get(&(site_id.to_string(), app_id.to_string()))?;
        self.removed_instances
            .get(id)
            .filter(|r| r.instance.site_id == site_id && r.instance.app_id == app_id)
    }

    /// Records that `instance` was removed, for [`World::removed_on`].
    pub(super) fn index_removed(&mut self, instance: &Instance) {
        self.removed_index.insert(
            (instance.site_id.clone(), instance.app_id.clone()),
            instance.instance_id.clone(),
        );
    }

    /// Rebuilds the (site, app) indexes from `instances` and `removed_instances`: after the state file
    /// replaced them, or whenever they were changed other than through the world's operations.
    pub fn reindex(&mut self) {
        self.instance_index = self
            .instances
            .values()
            .map(|i| ((i.site_id.clone(), i.app_id.clone()), i.instance_id.clone()))
            .collect();
        self.removed_index = self
            .removed_instances
            .values()
            .map(|r| {
                let i = &r.instance;
                ((i.site_id.clone(), i.app_id.clone()), i.instance_id.clone())
            })
            .collect();
    }

    fn new_site(&mut self, ids: &Ids) -> String {
        let id = ids.guid();
        let n = self.sites.len() + 1;
        self.sites.insert(
            id.clone(),
            Site {
                id: id.clone(),
                name: format!("Site {n}"),
                url: None,
                owner_id: ids.guid(),
                owner_email: format!("owner{n}@example.com"),
                locale: "en".into(),
                currency: "USD".into(),
            },
        );
        id
    }

    // ---- OAuth grants ----------------------------------------------------------------------------

    /// Authenticates an app by its id and secret (RFC 6749 client authentication).
    pub fn authenticate_client(
        &self,
        client_id: &str,
        client_secret: &str,
    ) -> Result<&WixApp, WixError> {
        let app = self
            .apps
            .get(client_id)
            .ok_or_else(|| WixError::InvalidClient(format!("unknown client_id `{client_id}`")))?;
        if !app.secret_matches(client_secret) {
            return Err(WixError::InvalidClient(
                "bad client_id/client_secret".into(),
            ));
        }
        Ok(app)
    }

    /// Exchanges an installer code for a new refresh token. Returns `(instance_id, refresh_token)`.
    pub fn exchange_code(
        &mut self,
        app_id: &str,
        code: &str,
        redirect_uri: Option<&str>,
        now: DateTime<Utc>,
        ids: &Ids,
    ) -> Result<(String, String), WixError> {
        self.maybe_gc(now);
        let grant = redeemable(self.codes.get(code), app_id, "app", redirect_uri, now)?;
        let instance_id = grant.instance_id.clone();
        if !self.instances.contains_key(&instance_id) {
            return Err(WixError::InvalidGrant(
                "app is not installed on this site any more".into(),
            ));
        }
        if let Some(g) = self.codes.get_mut(code) {
            g.used = true;
        }
        let refresh_token = ids.token("OAUTH2.REFRESH.", 32);
        self.refresh_tokens.insert(
            refresh_token.clone(),
            RefreshGrant {
                app_id: app_id.to_string(),
                instance_id: instance_id.clone(),
                issued_at: now,
            },
        );
        Ok((instance_id, refresh_token))
    }

    /// Checks a legacy refresh token. Returns the instance id; the token itself stays valid.
    pub fn check_refresh(&self, app_id: &str, refresh_token: &str) -> Result<String, WixError> {
        let grant = self.refresh_tokens.get(refresh_token).ok_or_else(|| {
            WixError::InvalidGrant("refresh token is unknown or was revoked".into())
        })?;
        if grant.app_id != app_id {
            return Err(WixError::InvalidGrant(
                "refresh token was issued to another app".into(),
            ));
        }
        if !self.instances.contains_key(&grant.instance_id) {
            return Err(WixError::InvalidGrant(
                "app is not installed on this site any more".into(),
            ));
        }
        Ok(grant.instance_id.clone())
    }

    /// An access token for an instance, valid `ttl_secs` from `now` (signed when first read).
    pub fn mint_access_token(
        &self,
        instance_id: &str,
        ttl_secs: u64,
        now: DateTime<Utc>,
    ) -> Result<crate::jwt::Token, WixError> {
        let instance = self.instances.get(instance_id).ok_or_else(|| {
            WixError::InvalidGrant("app is not installed on this site any more".into())
        })?;
        let exp = now + secs(ttl_secs);
        let site = self.sites.get(&instance.site_id);
        let claim = InstanceClaim {
            instance_id: instance.instance_id.clone(),
            app_def_id: instance.app_id.clone(),
            sign_date: Stamp(now),
            site_owner_id: site.map(|s| s.owner_id.clone()),
            meta_site_id: Some(instance.site_id.clone()),
            expiration_date: Stamp(exp),
            ..Default::default()
        };
        Ok(self.signer.mint(claim, now, exp))
    }

    /// The shared access-token check of every protected route: signature, expiry on the virtual
    /// clock, and that the instance it speaks for is still installed.
    pub fn authorize(&self, token: Option<&str>, now: DateTime<Utc>) -> Result<Caller, WixError> {
        let token = token
            .filter(|t| !t.is_empty())
            .ok_or(WixError::Unauthenticated {
                code: "MISSING_TOKEN",
                message: "missing access token in the Authorization header".into(),
            })?;
        let (claim, _) = self.signer.verify(token, now).map_err(|e| match e {
            Invalid::Unknown => WixError::Unauthenticated {
                code: "INVALID_TOKEN",
                message: "unknown or malformed access token".into(),
            },
            Invalid::Expired => WixError::Unauthenticated {
                code: "TOKEN_EXPIRED",
                message: "access token expired".into(),
            },
            Invalid::NotYetValid => WixError::Unauthenticated {
                code: "INVALID_TOKEN",
                message:
                    "access token was issued after the current time (the clock was moved back)"
                        .into(),
            },
        })?;
        // Who the token speaks for, and whether that still holds (world/identity.rs).
        self.caller_for(claim)
    }

    // ---- App management ---------------------------------------------------------------------------

    /// Records a BI event; `APP_FINISHED_CONFIGURATION` completes the instance's setup.
    pub fn record_bi_event(&mut self, caller: &Caller, event: &BiEvent) {
        if let Some(instance) = self.instances.get_mut(&caller.instance_id) {
            if event.event_name == "APP_FINISHED_CONFIGURATION" {
                instance.setup_complete = true;
            }
            *instance
                .bi_events
                .entry(event.event_name.clone())
                .or_default() += 1;
        }
    }

    /// Records that the app closed the install window with a valid token.
    pub fn close_window(&mut self, caller: &Caller, now: DateTime<Utc>) {
        if let Some(instance) = self.instances.get_mut(&caller.instance_id) {
            instance.window_closed_at = Some(rfc3339_millis(now));
        }
    }

    // ---- Housekeeping ------------------------------------------------------------------------------

    /// Runs [`World::sweep`] at most once a virtual minute, so its cost is amortised over the
    /// operations that call it. A clock moved back by more than a minute sweeps at once rather than
    /// waiting for the old schedule to come round again.
    pub(super) fn maybe_gc(&mut self, now: DateTime<Utc>) {
        let period = Duration::seconds(60);
        // One schedule for the whole world; it lives in `Identities`, where member login kept its own.
        if let Some(at) = self.identities.next_gc
            && now < at
            && at - now <= period
        {
            return;
        }
        self.identities.next_gc = Some(now + period);
        self.sweep(now);
    }

    /// Collects what can no longer be used (issue 18: state that only grew):
    /// - codes (used or not), install tokens, consent pages, login redirect sessions and member codes
    ///   an hour after they expired; the hour of grace lets a late client hear "expired", not "unknown";
    /// - logged-out visitors once every token that visitor could hold has expired. Visitor tokens are
    ///   self-contained, so the only bound is the longest lifetime a visitor token can have
    ///   ([`VISITOR_TOKENS_LIVE_SECS`]), counted from when the sweep first saw the logout (never
    ///   earlier than the logout itself, so no revoked token comes back).
    ///
    /// Linear in what is live; called through `World::maybe_gc`. Public so the server can also
    /// sweep before it saves the state file or after it moves the clock.
    pub fn sweep(&mut self, now: DateTime<Utc>) {
        let horizon = now - Duration::hours(1);
        self.codes.retain(|_, c| c.expires_at > horizon);
        self.install_tokens.retain(|_, t| t.expires_at > horizon);
        self.consents.retain(|_, c| c.expires_at > horizon);
        self.identities
            .redirect_sessions
            .retain(|_, s| s.expires_at > horizon);
        self.identities
            .member_codes
            .retain(|_, c| c.expires_at > horizon);
        let out = &mut self.identities.logged_out_visitors;
        for v in out.iter() {
            if !self.visitors_out_since.contains_key(v) {
                self.visitors_out_since.insert(v.clone(), now);
            }
        }
        let forget_before = now - secs(VISITOR_TOKENS_LIVE_SECS);
        self.visitors_out_since.retain(|v, since| {
            if *since <= forget_before {
                out.remove(v);
                false
            } else {
                out.contains(v)
            }
        });
    }

    /// Everything live, for `GET /__admin/state`. Apps are listed without their secrets.
    pub fn snapshot(&self, now: DateTime<Utc>, issued: &IssuedTokens) -> Value {
        let left = |t: &DateTime<Utc>| (*t - now).num_seconds().max(0);
        let apps: Vec<Value> = self
            .apps
            .values()
            .map(|a| {
                json!({
                    "id": a.id, "name": a.name, "app_url": a.app_url, "redirect_urls": a.redirect_urls,
                    "scopes": a.scopes, "consent": a.consent, "version": a.version,
                    "webhook_url": a.webhook_url,
                })
            })
            .collect();
        let mut codes: Vec<Value> = self
            .codes
            .iter()
            .filter(|(_, c)| c.expires_at > now)
            .map(|(code, c)| {
                json!({
                    "code": code, "app_id": c.app_id, "instance_id": c.instance_id, "used": c.used,
                    "expires_at": rfc3339_millis(c.expires_at), "expires_in": left(&c.expires_at),
                })
            })
            .collect();
        codes.sort_by(|a, b| a["expires_at"].as_str().cmp(&b["expires_at"].as_str()));
        let mut refresh: Vec<Value> = self
            .refresh_tokens
            .iter()
            .map(|(t, g)| {
                json!({
                    "refresh_token": t, "app_id": g.app_id, "instance_id": g.instance_id,
                    "issued_at": rfc3339_millis(g.issued_at),
                })
            })
            .collect();
        refresh.sort_by(|a, b| {
            (a["issued_at"].as_str(), a["refresh_token"].as_str())
                .cmp(&(b["issued_at"].as_str(), b["refresh_token"].as_str()))
        });
        let access: Vec<Value> = issued
            .0
            .iter()
            .filter(|t| t.expires_at > now)
            .map(|t| {
                json!({
                    "access_token": t.token, "kind": t.kind, "app_id": t.app_id(), "instance_id": t.instance_id(),
                    "issued_at": rfc3339_millis(t.issued_at), "expires_at": rfc3339_millis(t.expires_at),
                    "expires_in": left(&t.expires_at),
                })
            })
            .collect();
        json!({
            "apps": apps,
            "sites": self.sites.values().collect::<Vec<_>>(),
            "instances": self.instances.values().collect::<Vec<_>>(),
            "removed_instances": self.removed_instances.values().collect::<Vec<_>>(),
            "oauth_apps": self.oauth_apps.values().collect::<Vec<_>>(),
            "codes": codes,
            "refresh_tokens": refresh,
            "access_tokens": access,
            "pending_installs": self.install_tokens.len(),
            "pending_consents": self.consents.len(),
            "identities": self.identities.snapshot(self, now),
        })
    }
}

fn secs(s: u64) -> Duration {
    Duration::seconds(s.min(i64::MAX as u64 / 1000) as i64)
}

/// `base` with `params` appended to its query (existing parameters kept), or `None` if `base` is no URL.
pub fn with_query(base: &str, params: &[(&str, &str)]) -> Option<String> {
    let mut url = url::Url::parse(base).ok()?;
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
    }
    Some(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::identity::Subject;
    use super::*;

    const APP: &str = "5e2c9a6f-8a61-4b4f-9a43-0f3d2b1c7a10";
    const REDIRECT: &str = "http://localhost:3000/wix/oauth/callback";

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn world() -> (World, Ids) {
        let ids = Ids::new(Some(1));
        let w = World::from_scenario(&Scenario::builtin(), t("2026-01-01T00:00:00Z"), &ids);
        (w, ids)
    }

    fn install(w: &mut World, ids: &Ids, now: DateTime<Utc>) -> (String, String) {
        let req = InstallRequest {
            app_id: Some(APP.into()),
            redirect_url: Some(REDIRECT.into()),
            state: Some("s1".into()),
            ..Default::default()
        };
        let InstallStep::Redirect(url) = w.start_install(req, now, ids).unwrap() else {
            panic!()
        };
        let url = url::Url::parse(&url).unwrap();
        let q: HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["state"], "s1");
        (q["code"].clone(), q["instanceId"].clone())
    }

    #[test]
    fn a_code_is_single_use_and_expires_after_its_ttl() {
        let (mut w, ids) = world();
        let now = t("2026-01-01T00:00:00Z");
        let (code, instance) = install(&mut w, &ids, now);
        let (got, _) = w.exchange_code(APP, &code, None, now, &ids).unwrap();
        assert_eq!(got, instance);
        assert!(
            matches!(w.exchange_code(APP, &code, None, now, &ids), Err(WixError::InvalidGrant(m)) if m.contains("already used"))
        );

        let (late, _) = install(&mut w, &ids, now);
        let later = now + Duration::seconds(600);
        assert!(
            matches!(w.exchange_code(APP, &late, None, later, &ids), Err(WixError::InvalidGrant(m)) if m.contains("expired"))
        );
    }

    #[test]
    fn an_unregistered_redirect_url_is_refused_before_anything_is_created() {
        let (mut w, ids) = world();
        let before = w.instances.len();
        let req = InstallRequest {
            app_id: Some(APP.into()),
            redirect_url: Some("http://localhost:3000/wix/oauth/callback/evil".into()),
            ..Default::default()
        };
        let err = w
            .start_install(req, t("2026-01-01T00:00:00Z"), &ids)
            .unwrap_err();
        assert!(matches!(err, WixError::InstallerPage(_)));
        assert_eq!(w.instances.len(), before);
        assert!(w.codes.is_empty());
    }

    #[test]
    fn access_tokens_stop_working_at_expiry_and_when_the_instance_is_gone() {
        let (mut w, _) = world();
        let now = t("2026-01-01T00:00:00Z");
        let instance = "54f783ac-8c25-4a73-9ebf-a1125f71c5e3";
        let token = w.mint_access_token(instance, 300, now).unwrap();
        assert_eq!(
            w.authorize(Some(token.as_str()), now + Duration::seconds(299))
                .unwrap()
                .instance_id,
            instance
        );
        assert!(matches!(
            w.authorize(Some(token.as_str()), now + Duration::seconds(300)),
            Err(WixError::Unauthenticated {
                code: "TOKEN_EXPIRED",
                ..
            })
        ));
        w.instances.remove(instance);
        assert!(matches!(
            w.authorize(Some(token.as_str()), now),
            Err(WixError::Unauthenticated {
                code: "TOKEN_REVOKED",
                ..
            })
        ));
        assert!(matches!(
            w.authorize(None, now),
            Err(WixError::Unauthenticated {
                code: "MISSING_TOKEN",
                ..
            })
        ));
    }

    const CLIENT: &str = "0a4ceeaf-bc1a-46aa-9a26-b8f700fc63f5";

    fn login_session(w: &mut World, ids: &Ids, now: DateTime<Utc>) -> String {
        let req = member_login::AuthRequest {
            redirect_uri: Some("http://localhost:3000/callback".into()),
            client_id: Some(CLIENT.into()),
            code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
            ..Default::default()
        };
        w.create_login_session(&req, now, ids).unwrap()
    }

    #[test]
    fn regression_18_sessions_and_codes_are_collected_an_hour_after_they_expire() {
        // Arrange: a used code, a fresh code and 100 abandoned login sessions.
        let (mut w, ids) = world();
        let now = t("2026-01-01T00:00:00Z");
        let (used, _) = install(&mut w, &ids, now);
        w.exchange_code(APP, &used, None, now, &ids).unwrap();
        install(&mut w, &ids, now);
        for _ in 0..100 {
            login_session(&mut w, &ids, now);
        }
        assert_eq!(w.codes.len(), 2);
        assert_eq!(w.identities.redirect_sessions.len(), 100);
        // Act: within the hour of grace nothing goes; after it, the next operation collects all.
        let grace = now + Duration::seconds(600 + 3599);
        login_session(&mut w, &ids, grace);
        assert_eq!(w.codes.len(), 2);
        // (At most once a virtual minute: the next sweep is a minute after the last.)
        let later = now + Duration::seconds(600 + 3600 + 120);
        let kept = login_session(&mut w, &ids, later);
        // Assert
        assert!(w.codes.is_empty());
        // (the session opened during the grace hour is still live; the 100 old ones are gone)
        assert_eq!(w.identities.redirect_sessions.len(), 2);
        assert!(w.identities.redirect_sessions.contains_key(&kept));
    }

    #[test]
    fn regression_18_a_logged_out_visitor_is_forgotten_only_when_no_token_of_theirs_can_work() {
        // Arrange
        let (mut w, ids) = world();
        let now = t("2026-01-01T00:00:00Z");
        let minted = w
            .mint_for(
                Subject::Visitor {
                    client_id: CLIENT.into(),
                    visitor_id: None,
                },
                14_400,
                now,
                &ids,
            )
            .unwrap();
        let caller = w
            .authorize(Some(minted.access_token.as_str()), now)
            .unwrap();
        w.logout(Some(&caller), CLIENT, None).unwrap();
        assert_eq!(w.identities.logged_out_visitors.len(), 1);
        // Act: sweeps long after the access token died, but while the refresh token could still live.
        w.sweep(now);
        w.sweep(now + Duration::days(3650) - Duration::seconds(1));
        // Assert
        assert_eq!(w.identities.logged_out_visitors.len(), 1);
        let refresh = minted.refresh_token.unwrap();
        assert!(
            w.check_headless_refresh(refresh.as_str(), now + Duration::days(30))
                .is_err()
        );
        // Once the longest-lived visitor token has expired, the visitor is forgotten.
        w.sweep(now + secs(VISITOR_TOKENS_LIVE_SECS));
        assert!(w.identities.logged_out_visitors.is_empty());
        assert!(w.visitors_out_since.is_empty());
    }

    #[test]
    fn the_site_and_app_index_survives_uninstall_reinstall_and_a_rebuild() {
        // Arrange
        let (mut w, ids) = world();
        let now = t("2026-01-01T00:00:00Z");
        let site = "6354435d-e875-4113-8645-ccc901f07efd";
        let instance = "54f783ac-8c25-4a73-9ebf-a1125f71c5e3";
        assert_eq!(w.instance_on(site, APP).unwrap().instance_id, instance);
        // Act
        w.uninstall(instance, now).unwrap();
        assert!(w.instance_on(site, APP).is_none());
        w.reindex();
        let url = w.complete_install(APP, Some(site.into()), REDIRECT, None, now, &ids);
        // Assert: the reinstall took the id back, and the index knows it.
        assert!(url.contains(instance), "{url}");
        assert_eq!(w.instance_on(site, APP).unwrap().instance_id, instance);
        assert!(w.removed_instances.is_empty());
        // A stale entry (an instance removed behind the world's back) finds nothing.
        w.instances.remove(instance);
        assert!(w.instance_on(site, APP).is_none());
    }

    #[test]
    fn with_query_keeps_existing_parameters_and_encodes_values() {
        assert_eq!(
            with_query("https://a.example/cb?x=1", &[("state", "a b&c")]).unwrap(),
            "https://a.example/cb?x=1&state=a+b%26c"
        );
    }
}
