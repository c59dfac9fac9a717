//! Scenario files: the declarative description of the Wix world the mock serves.
//!
//! A scenario names the apps (with their secrets, URLs and scopes), the sites they are installed on,
//! the clock's start, the random seed and every time-to-live. It is YAML (parsed with serde-saphyr) or
//! JSON; unknown keys are errors, and every problem is reported as `file:line:col: message` so an
//! editor can jump to it. This module only reads and checks scenarios; `world` turns one into state.
//! `scenarios/README.md` documents the format field by field.

use std::collections::HashSet;
use std::fmt;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

pub mod identity;

pub use identity::{MemberLogin, MemberPolicy, MemberSpec, MemberStatus, Signup, UserSpec};
pub mod api_keys;

pub use api_keys::ApiKeySpec;
pub mod faults;
/// The shipped scenario library, embedded, and the fault presets drawn from it.
pub mod library;
pub mod stubs;

pub use faults::{Expectation, FaultSpec};

/// The origin the built-in scenario is loaded as.
pub const BUILTIN_ORIGIN: &str = "<built-in>";

/// The built-in default scenario, also shipped as `scenarios/default.yaml`.
pub const DEFAULT_YAML: &str = include_str!("../../scenarios/default.yaml");

/// [`DEFAULT_YAML`] as the server loads it: the same scenario, with the starter pack's stubs
/// inlined, as JSON. Parsing the YAML and the stub files was a third of the server's start-up
/// (0.5 ms of CPU; serde_json reads this in a tenth of that). Generated from the YAML by the unit
/// test `the_embedded_json_is_scenarios_default_yaml`, which also checks it parses to the same
/// scenario; after editing `scenarios/default.yaml` or `fixtures/stubs/`, regenerate it with
/// `WIX_MOCK_REGENERATE=1 cargo test --lib embedded_json`.
pub const DEFAULT_JSON: &str = include_str!("default.json");

/// A whole scenario file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name, printed at start and shown by the admin API.
    #[serde(default = "default_name")]
    pub name: String,
    /// What the scenario is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Seed of the random generator; random when absent (the admin API reports the one in use).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Where the virtual clock starts and whether it runs.
    #[serde(default)]
    pub clock: ClockSpec,
    /// Lifetimes of everything the mock issues.
    #[serde(default)]
    pub ttl: Ttl,
    /// How the installer asks for consent, unless an app says otherwise.
    #[serde(default)]
    pub consent: ConsentMode,
    /// The Wix apps (as registered in the Wix Dev Center).
    #[serde(default)]
    pub apps: Vec<AppSpec>,
    /// Wix sites, with the apps already installed on them.
    #[serde(default)]
    pub sites: Vec<SiteSpec>,
    /// Headless OAuth apps that exist at start (clients for visitor, member and admin tokens).
    #[serde(default)]
    pub oauth_apps: Vec<OAuthAppSpec>,
    /// How the member-login page logs members in: `auto` (CI) or `form`.
    #[serde(default, skip_serializing_if = "MemberLogin::is_auto")]
    pub member_login: MemberLogin,
    /// API keys: for the OAuth Apps API, and for the `authorized_client` grant (see `api_keys.rs`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_keys: Vec<ApiKeySpec>,
    /// Faults armed at start (see `faults.rs` and scenarios/README.md).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<Spanned<FaultSpec>>,
    /// Checks the conformance report makes (`GET /__admin/conformance`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expect: Vec<Spanned<Expectation>>,
    /// How webhooks are delivered, and further events to emit.
    #[serde(default)]
    pub webhooks: WebhooksSpec,
    /// Stubs for the rest of wixapis.com (issue 15, docs/stubs.md).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stubs: Vec<stubs::StubSpec>,
    /// A folder of stub files (one stub, a list, or `{stubs: [...]}` each), relative to the scenario
    /// file. Read when the scenario is loaded: its stubs are appended to `stubs` and the field is
    /// cleared, so `GET /__admin/scenario` shows every stub inline and can be `PUT` back as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stubs_dir: Option<String>,
}

fn default_name() -> String {
    "unnamed".to_string()
}

/// The virtual clock's initial setting.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockSpec {
    /// RFC 3339 start time; the real time when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<DateTime<Utc>>,
    /// Whether the clock stands still until moved through the admin API.
    #[serde(default)]
    pub frozen: bool,
}

/// Lifetimes in seconds. Defaults are Wix's documented values.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Ttl {
    /// Authorization code from the installer: "valid 10 minutes" (docs/fidelity.md F-09).
    pub code_secs: u64,
    /// Legacy `/oauth/access` access token: 5 minutes (docs/fidelity.md F-13).
    pub legacy_access_token_secs: u64,
    /// `/oauth2/token` access tokens: "always 14400 (4 hours)" (docs/fidelity.md F-15).
    pub access_token_secs: u64,
    /// The `token` the App Market appends to the App URL. Undocumented; 10 minutes like a code (INFERRED, docs/fidelity.md I-08).
    pub install_token_secs: u64,
    /// A consent page left open. Undocumented; 10 minutes (INFERRED, I-08).
    pub consent_secs: u64,
}

impl Default for Ttl {
    fn default() -> Ttl {
        Ttl {
            code_secs: 600,
            legacy_access_token_secs: 300,
            access_token_secs: 14_400,
            install_token_secs: 600,
            consent_secs: 600,
        }
    }
}

/// How the installer obtains the user's consent.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ConsentMode {
    /// Consent is given at once and the installer redirects straight away (what CI wants).
    #[default]
    Auto,
    /// The installer shows an HTML page listing the permissions, with Approve and Deny.
    Page,
}

/// A Wix app as registered in the Dev Center.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppSpec {
    /// The app id (`appDefId`, the OAuth `client_id`), a GUID.
    pub id: Spanned<String>,
    /// Display name, shown on the consent page and by `GET /apps/v1/instance`.
    pub name: String,
    /// The app secret (the OAuth `client_secret`).
    pub secret: String,
    /// The App URL the App Market sends the browser to, with `?token=`.
    pub app_url: Spanned<String>,
    /// Registered redirect URLs: `/installer/install` redirects only to one of these, matched exactly.
    #[serde(default)]
    pub redirect_urls: Vec<Spanned<String>>,
    /// Permission scopes the app asks for, e.g. `SCOPE.DC-STORES.MANAGE-PRODUCTS`.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Overrides the scenario's consent mode for this app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<ConsentMode>,
    /// `appVersion` reported by `GET /apps/v1/instance`.
    #[serde(default = "default_version")]
    pub version: String,
    /// Where the mock POSTs this app's webhooks (AppInstalled, AppRemoved, declared events). Without
    /// one, deliveries are recorded as `no_webhook_url` and can be redelivered once a URL is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<Spanned<String>>,
    /// The RSA private key (PKCS#1 or PKCS#8 PEM) that signs this app's webhooks; generated from the
    /// seed when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_private_key: Option<String>,
    /// The `kid` of this app's webhook JWTs; derived from the key when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_key_id: Option<String>,
}

fn default_version() -> String {
    "1.0.0".to_string()
}

/// How webhooks are delivered: in the background, each attempt with a timeout, retried with a doubling
/// backoff while the app answers non-2xx or cannot be reached. Wix's own retry policy is undocumented;
/// the defaults are a choice (INFERRED, docs/fidelity.md I-29). Tests shrink the backoff to milliseconds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct WebhooksSpec {
    /// How long one attempt may take, in milliseconds.
    pub timeout_ms: u64,
    /// Attempts per delivery, the first included.
    pub max_attempts: u32,
    /// Wait before the second attempt, in milliseconds; doubled before each further one.
    pub backoff_ms: u64,
    /// Whether the instances declared under `sites[].installs` get an `AppInstalled` at start.
    pub on_start: bool,
    /// Further events to emit.
    pub events: Vec<EventSpec>,
    /// Delivery faults armed at start and after every reset, like the HTTP `faults`.
    pub faults: Vec<faults::DeliveryFault>,
}

impl Default for WebhooksSpec {
    fn default() -> WebhooksSpec {
        WebhooksSpec {
            timeout_ms: 10_000,
            max_attempts: 5,
            backoff_ms: 1_000,
            on_start: false,
            events: Vec::new(),
            faults: Vec::new(),
        }
    }
}

/// When a declared event is emitted.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub enum EventTrigger {
    /// Right after every `AppInstalled` of the app, for the new instance.
    #[default]
    AppInstalled,
    /// Right after every `AppRemoved` of the app, for the removed instance.
    AppRemoved,
    /// Once at start (and after each reset), for `instance_id`.
    #[serde(rename = "start")]
    Start,
}

/// A further webhook event a scenario emits (for example a billing event after each install).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EventSpec {
    /// The `eventType`, e.g. `PaidPlanPurchased` or `wix.contacts.v4.contact_created`.
    pub event_type: String,
    /// The app whose webhook URL receives it.
    pub app: Spanned<String>,
    /// When it is emitted.
    #[serde(default)]
    pub after: EventTrigger,
    /// The instance, for `after: start` (one declared under `sites[].installs` for this app).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<Spanned<String>>,
    /// The event's `data` (sent as a JSON string inside the payload); `{}` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
    /// The event's `identity`; the site owner as a Wix user when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<serde_json::Value>,
}

/// A Wix site.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteSpec {
    /// The site id (`metaSiteId`), a GUID.
    pub id: Spanned<String>,
    /// `siteDisplayName`.
    pub name: String,
    /// The published URL, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The site owner's e-mail address.
    #[serde(default = "default_owner_email")]
    pub owner_email: String,
    /// Site locale, e.g. `en`.
    #[serde(default = "default_locale")]
    pub locale: String,
    /// Payment currency, e.g. `USD`.
    #[serde(default = "default_currency")]
    pub currency: String,
    /// Apps already installed on this site at start.
    #[serde(default)]
    pub installs: Vec<InstallSpec>,
    /// Wix users (collaborators) of the site, each with a role and its scopes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<UserSpec>,
    /// Site members, who log in to the site's Headless clients.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<MemberSpec>,
    /// How members sign up and log in with a password (`register`, `login`).
    #[serde(default, skip_serializing_if = "MemberPolicy::is_default")]
    pub member_policy: MemberPolicy,
}

fn default_owner_email() -> String {
    "owner@example.com".to_string()
}
fn default_locale() -> String {
    "en".to_string()
}
fn default_currency() -> String {
    "USD".to_string()
}

/// An app installed on a site at start.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstallSpec {
    /// The id of an app declared under `apps`.
    pub app: Spanned<String>,
    /// The instance id, a GUID.
    pub instance_id: Spanned<String>,
    /// Whether the instance already sent `APP_FINISHED_CONFIGURATION`.
    #[serde(default)]
    pub setup_complete: bool,
    /// A refresh token that works from the start, so tests can begin mid-flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// A Headless OAuth app that exists at start.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthAppSpec {
    /// The app id (the `clientId`), a GUID.
    pub id: Spanned<String>,
    /// 2 to 256 characters.
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// A secret known to tests (for admin tokens). Without one, the app can still generate one, once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// The site (Headless project) it belongs to; the first site when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<Spanned<String>>,
    #[serde(default)]
    pub login_url: String,
    #[serde(default)]
    pub logout_url: String,
    #[serde(default)]
    pub allowed_redirect_uris: Vec<String>,
    #[serde(default)]
    pub allowed_redirect_domains: Vec<String>,
    #[serde(default = "default_application_type")]
    pub application_type: String,
    #[serde(default = "default_technology")]
    pub technology: String,
    /// `createdDate`; the clock's start when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_date: Option<DateTime<Utc>>,
}

fn default_application_type() -> String {
    "OAUTH_APP_TYPE_UNSPECIFIED".to_string()
}
fn default_technology() -> String {
    "OAUTH_TECHNOLOGY_UNSPECIFIED".to_string()
}

/// One problem found in a scenario, at a position in its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line, 0 when unknown.
    pub line: u64,
    /// 1-based column, 0 when unknown.
    pub column: u64,
    /// What is wrong.
    pub message: String,
}

/// Why a scenario could not be loaded: every problem found, with the file it was read from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ScenarioError {
    /// The file (or a label such as `<built-in>` or `<request body>`).
    pub origin: String,
    /// Every problem, in file order.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}:{}:{}: {}", self.origin, p.line, p.column, p.message)?;
        }
        Ok(())
    }
}

impl Default for Scenario {
    /// The built-in default scenario.
    fn default() -> Scenario {
        Scenario::builtin()
    }
}

impl Scenario {
    /// The built-in default scenario.
    pub fn builtin() -> Scenario {
        // The embedded file is checked by a unit test, so this cannot fail in a released binary.
        Scenario::parse(DEFAULT_JSON, BUILTIN_ORIGIN).expect("the built-in scenario is valid")
    }

    /// Reads and checks a scenario file.
    pub fn from_file(path: &Path) -> Result<Scenario, ScenarioError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
            origin: origin.clone(),
            problems: vec![Problem {
                line: 0,
                column: 0,
                message: format!("cannot read file: {e}"),
            }],
        })?;
        Scenario::parse_at(&text, &origin, path.parent())
    }

    /// Parses and checks scenario text. JSON is recognised by its opening `{`; anything else is YAML.
    pub fn parse(text: &str, origin: &str) -> Result<Scenario, ScenarioError> {
        Scenario::parse_at(text, origin, None)
    }

    /// [`Scenario::parse`] for a file in `dir`, against which `stubs_dir` is resolved. Without a
    /// directory only the built-in scenario may name a `stubs_dir`: it gets the embedded starter pack.
    pub fn parse_at(
        text: &str,
        origin: &str,
        dir: Option<&Path>,
    ) -> Result<Scenario, ScenarioError> {
        let fail = |problems| ScenarioError {
            origin: origin.to_string(),
            problems,
        };
        let is_json = text.trim_start().starts_with('{');
        let scenario: Scenario = if is_json {
            serde_json::from_str(text).map_err(|e| {
                fail(vec![Problem {
                    line: e.line() as u64,
                    column: e.column() as u64,
                    message: e
                        .to_string()
                        .split(" at line ")
                        .next()
                        .unwrap_or("")
                        .to_string(),
                }])
            })?
        } else {
            serde_saphyr::from_str(text).map_err(|e| fail(vec![yaml_problem(&e)]))?
        };
        let mut scenario = scenario;
        if let Some(stubs_dir) = scenario.stubs_dir.take() {
            let loaded = match dir {
                // A copy of scenarios/default.yaml elsewhere still finds the starter pack.
                Some(dir) if dir.join(&stubs_dir).exists() || !stubs::names_starter(&stubs_dir) => {
                    stubs::read_dir(&dir.join(&stubs_dir))
                }
                // Scenario text that is not a file (the built-in one, `PUT /__admin/scenario`, a
                // test) can still name the starter pack, as scenarios/default.yaml does.
                _ if origin == BUILTIN_ORIGIN || stubs::names_starter(&stubs_dir) => {
                    stubs::starter_pack()
                }
                _ => Err(format!(
                    "stubs_dir `{stubs_dir}` needs a scenario file to be relative to; list the stubs under `stubs:` instead"
                )),
            };
            match loaded {
                Ok(more) => scenario.stubs.extend(more),
                Err(message) => {
                    return Err(fail(vec![Problem {
                        line: 0,
                        column: 0,
                        message,
                    }]));
                }
            }
        }
        // serde_json keeps no positions: for JSON, problems are located by finding the value in the text.
        let mut problems = scenario.check(is_json.then_some(text));
        // Names are given here (a derived name needs the whole list), so this is not in `check`.
        problems.extend(
            crate::stubs::name_and_check(&mut scenario.stubs, &[])
                .into_iter()
                .map(|message| Problem {
                    line: 0,
                    column: 0,
                    message,
                }),
        );
        problems.sort_by_key(|p| (p.line, p.column));
        if problems.is_empty() {
            Ok(scenario)
        } else {
            Err(fail(problems))
        }
    }

    /// Checks what the types alone cannot: ids are GUIDs and unique, references resolve, URLs parse.
    fn check(&self, json_text: Option<&str>) -> Vec<Problem> {
        let at = |span: &Spanned<String>, message: String| at(span, message, json_text);
        let mut problems = Vec::new();
        let mut app_ids = HashSet::new();
        for app in &self.apps {
            check_guid(&app.id, "app id", &mut problems, json_text);
            if !app_ids.insert(app.id.value.as_str()) {
                problems.push(at(&app.id, format!("duplicate app id `{}`", app.id.value)));
            }
            if app.secret.is_empty() {
                problems.push(at(
                    &app.id,
                    format!("app `{}` has an empty secret", app.id.value),
                ));
            }
            check_url(&app.app_url, "app_url", &mut problems, json_text);
            if let Some(url) = &app.webhook_url {
                check_url(url, "webhook_url", &mut problems, json_text);
            }
            if let Some(pem) = &app.webhook_private_key
                && let Err(e) =
                    crate::keys::AppKey::from_private_pem(pem, app.webhook_key_id.as_deref())
            {
                problems.push(at(
                    &app.id,
                    format!("app `{}`: webhook_private_key is {e}", app.id.value),
                ));
            }
            for url in &app.redirect_urls {
                check_url(url, "redirect URL", &mut problems, json_text);
            }
        }
        let mut site_ids = HashSet::new();
        let mut instance_ids = HashSet::new();
        for site in &self.sites {
            check_guid(&site.id, "site id", &mut problems, json_text);
            if !site_ids.insert(site.id.value.as_str()) {
                problems.push(at(
                    &site.id,
                    format!("duplicate site id `{}`", site.id.value),
                ));
            }
            let mut installed = HashSet::new();
            for install in &site.installs {
                if !app_ids.contains(install.app.value.as_str()) {
                    problems.push(at(
                        &install.app,
                        format!(
                            "site `{}` installs app `{}`, which is not declared under `apps`",
                            site.id.value, install.app.value
                        ),
                    ));
                }
                if !installed.insert(install.app.value.as_str()) {
                    problems.push(at(
                        &install.app,
                        format!(
                            "app `{}` is installed twice on site `{}`",
                            install.app.value, site.id.value
                        ),
                    ));
                }
                check_guid(
                    &install.instance_id,
                    "instance id",
                    &mut problems,
                    json_text,
                );
                if !instance_ids.insert(install.instance_id.value.as_str()) {
                    problems.push(at(
                        &install.instance_id,
                        format!("duplicate instance id `{}`", install.instance_id.value),
                    ));
                }
            }
        }
        let mut oauth_ids = HashSet::new();
        for o in &self.oauth_apps {
            check_guid(&o.id, "OAuth app id", &mut problems, json_text);
            if !oauth_ids.insert(o.id.value.as_str()) || app_ids.contains(o.id.value.as_str()) {
                problems.push(at(&o.id, format!("duplicate app id `{}`", o.id.value)));
            }
            if let Some(site) = o
                .site
                .as_ref()
                .filter(|s| !site_ids.contains(s.value.as_str()))
            {
                problems.push(at(
                    site,
                    format!(
                        "OAuth app `{}` names site `{}`, which is not declared under `sites`",
                        o.id.value, site.value
                    ),
                ));
            }
        }
        identity::check(self, json_text, &mut problems);
        api_keys::check(&self.api_keys, &site_ids, json_text, &mut problems);
        faults::check_faults(&self.faults, &mut problems);
        faults::check_expectations(&self.expect, &mut problems);
        problems.extend(self.check_webhooks(json_text));
        if self.clock.start.is_some_and(|t| !crate::clock::in_range(t)) {
            problems.push(Problem {
                line: 0,
                column: 0,
                message: format!(
                    "clock.start must be between {} and {}",
                    crate::ids::rfc3339_millis(crate::clock::earliest()),
                    crate::ids::rfc3339_millis(crate::clock::latest())
                ),
            });
        }
        let ttl = &self.ttl;
        for (name, secs) in [
            ("ttl.code_secs", ttl.code_secs),
            ("ttl.legacy_access_token_secs", ttl.legacy_access_token_secs),
            ("ttl.access_token_secs", ttl.access_token_secs),
            ("ttl.install_token_secs", ttl.install_token_secs),
            ("ttl.consent_secs", ttl.consent_secs),
        ] {
            if secs == 0 || secs > 10 * 365 * 24 * 3600 {
                problems.push(Problem {
                    line: 0,
                    column: 0,
                    message: format!("{name} must be between 1 second and 10 years, not {secs}"),
                });
            }
        }
        problems
    }

    /// Checks the `webhooks` section: bounds, and that declared events name declared apps and instances.
    fn check_webhooks(&self, json_text: Option<&str>) -> Vec<Problem> {
        let mut problems = Vec::new();
        let w = &self.webhooks;
        let bounds = [
            ("webhooks.timeout_ms", w.timeout_ms, 1, 600_000),
            ("webhooks.max_attempts", u64::from(w.max_attempts), 1, 20),
            ("webhooks.backoff_ms", w.backoff_ms, 0, 3_600_000),
        ];
        for (name, value, min, max) in bounds {
            if value < min || value > max {
                problems.push(Problem {
                    line: 0,
                    column: 0,
                    message: format!("{name} must be between {min} and {max}, not {value}"),
                });
            }
        }
        for e in &w.events {
            let installs = || {
                self.sites
                    .iter()
                    .flat_map(|s| &s.installs)
                    .filter(|i| i.app.value == e.app.value)
            };
            if e.event_type.trim().is_empty() {
                problems.push(at(
                    &e.app,
                    "an event has an empty event_type".into(),
                    json_text,
                ));
            }
            if self.app(&e.app.value).is_none() {
                problems.push(at(
                    &e.app,
                    format!(
                        "event `{}` names app `{}`, which is not declared under `apps`",
                        e.event_type, e.app.value
                    ),
                    json_text,
                ));
            }
            match (&e.instance_id, e.after) {
                (None, EventTrigger::Start) => problems.push(at(
                    &e.app,
                    format!(
                        "event `{}` is emitted at start and needs an instance_id",
                        e.event_type
                    ),
                    json_text,
                )),
                (Some(i), EventTrigger::Start) => {
                    if !installs().any(|x| x.instance_id.value == i.value) {
                        problems.push(at(
                            i,
                            format!(
                                "event `{}` names instance `{}`, which is not an install of app `{}`",
                                e.event_type, i.value, e.app.value
                            ),
                            json_text,
                        ));
                    }
                }
                (Some(i), _) => problems.push(at(
                    i,
                    format!(
                        "event `{}` follows every {:?} and takes no instance_id",
                        e.event_type, e.after
                    ),
                    json_text,
                )),
                (None, _) => {}
            }
        }
        problems
    }

    /// The app with this id.
    pub fn app(&self, id: &str) -> Option<&AppSpec> {
        self.apps.iter().find(|a| a.id.value == id)
    }
}

fn at(span: &Spanned<String>, message: String, json_text: Option<&str>) -> Problem {
    let (line, column) = match json_text {
        Some(text) => locate_in_text(text, &span.value),
        None => (span.referenced.line(), span.referenced.column()),
    };
    Problem {
        line,
        column,
        message,
    }
}

fn check_guid(
    id: &Spanned<String>,
    what: &str,
    problems: &mut Vec<Problem>,
    json_text: Option<&str>,
) {
    if !crate::ids::is_guid(&id.value) {
        problems.push(at(
            id,
            format!(
                "{what} `{}` is not a GUID like 5e2c9a6f-8a61-4b4f-9a43-0f3d2b1c7a10",
                id.value
            ),
            json_text,
        ));
    }
}

fn check_url(
    u: &Spanned<String>,
    what: &str,
    problems: &mut Vec<Problem>,
    json_text: Option<&str>,
) {
    // The one rule for every URL the mock redirects or posts to (`redirect::check`): http(s) written
    // as such, no userinfo, no backslash, a host (issue 18).
    if let Err(e) = crate::redirect::check(&u.value) {
        problems.push(at(
            u,
            format!("{what} `{}` is not an absolute http(s) URL: {e}", u.value),
            json_text,
        ));
    }
}

fn yaml_problem(e: &serde_saphyr::Error) -> Problem {
    let (line, column) = e
        .location()
        .map(|l| (l.line(), l.column()))
        .unwrap_or((0, 0));
    // The rendered error carries a source snippet after its first line; the first line is the message.
    let rendered = e.to_string();
    let message = rendered
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("invalid YAML")
        .trim_start_matches("error: ")
        .to_string();
    Problem {
        line,
        column,
        message,
    }
}

/// The 1-based line and column of `"value"` in JSON text, `(0, 0)` when absent.
fn locate_in_text(text: &str, value: &str) -> (u64, u64) {
    let needle = format!("\"{value}\"");
    match text.find(&needle) {
        Some(offset) => {
            let before = &text[..offset];
            let line = before.matches('\n').count() as u64 + 1;
            let column = (offset - before.rfind('\n').map(|i| i + 1).unwrap_or(0)) as u64 + 1;
            (line, column)
        }
        None => (0, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What [`DEFAULT_JSON`] must hold: `scenarios/default.yaml` parsed, starter pack included.
    fn default_json_from_yaml() -> String {
        let from_yaml = Scenario::parse(DEFAULT_YAML, BUILTIN_ORIGIN).unwrap();
        serde_json::to_string_pretty(&from_yaml).unwrap() + "\n"
    }

    #[test]
    fn the_embedded_json_is_scenarios_default_yaml() {
        let expected = default_json_from_yaml();
        if std::env::var_os("WIX_MOCK_REGENERATE").is_some() {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/scenario/default.json");
            std::fs::write(path, &expected).unwrap();
            return;
        }
        assert!(
            DEFAULT_JSON == expected,
            "src/scenario/default.json is not scenarios/default.yaml (with fixtures/stubs/) any more: \
             regenerate it with `WIX_MOCK_REGENERATE=1 cargo test --lib embedded_json`"
        );
        // The same scenario either way, down to every derived stub name and default, but for the
        // YAML positions kept for error messages (a valid scenario never shows them).
        let positions = regex::Regex::new(
            r", (referenced|defined): Location \{ line: \d+, column: \d+, span: Span \{ [^}]* \}, source_id: \d+ \}",
        )
        .unwrap();
        let without_positions =
            |s: &Scenario| positions.replace_all(&format!("{s:?}"), "").into_owned();
        let (from_json, from_yaml) = (
            Scenario::builtin(),
            Scenario::parse(DEFAULT_YAML, BUILTIN_ORIGIN).unwrap(),
        );
        assert_eq!(without_positions(&from_json), without_positions(&from_yaml));
        assert!(without_positions(&from_json).contains("member-password-0001"));
    }

    #[test]
    fn the_builtin_scenario_is_valid() {
        let s = Scenario::builtin();
        assert!(!s.apps.is_empty());
        assert!(!s.sites.is_empty());
    }

    #[test]
    fn unknown_keys_are_reported_with_their_position() {
        let err = Scenario::parse("name: x\nappz: []\n", "s.yaml").unwrap_err();
        let p = &err.problems[0];
        assert_eq!((p.line, p.column), (2, 1), "{err}");
        assert!(err.to_string().starts_with("s.yaml:2:1: "), "{err}");
    }

    #[test]
    fn a_site_naming_a_missing_app_is_reported_at_the_reference() {
        let yaml = "sites:\n  - id: 6354435d-e875-4113-8645-ccc901f07efd\n    name: S\n    installs:\n      - app: 11111111-2222-4333-8444-555555555555\n        instance_id: 54f783ac-8c25-4a73-9ebf-a1125f71c5e3\n";
        let err = Scenario::parse(yaml, "s.yaml").unwrap_err();
        assert_eq!(err.problems.len(), 1, "{err}");
        assert_eq!(
            (err.problems[0].line, err.problems[0].column),
            (5, 14),
            "{err}"
        );
        assert!(err.problems[0].message.contains("not declared"), "{err}");
    }

    #[test]
    fn webhook_settings_and_declared_events_are_checked() {
        let base = DEFAULT_YAML.replace(
            "    app_url: http://localhost:3000/wix/app\n",
            "    app_url: http://localhost:3000/wix/app\n    webhook_url: not-a-url\n",
        );
        let yaml = format!(
            "{base}webhooks:\n  max_attempts: 0\n  events:\n    - event_type: X\n      app: 5e2c9a6f-8a61-4b4f-9a43-0f3d2b1c7a10\n      after: start\n"
        );
        let err = Scenario::parse(&yaml, "s.yaml").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("webhook_url `not-a-url`"), "{text}");
        assert!(text.contains("webhooks.max_attempts"), "{text}");
        assert!(text.contains("needs an instance_id"), "{text}");
        let ok = format!(
            "{DEFAULT_YAML}webhooks:\n  events:\n    - event_type: X\n      app: 5e2c9a6f-8a61-4b4f-9a43-0f3d2b1c7a10\n      after: start\n      instance_id: 54f783ac-8c25-4a73-9ebf-a1125f71c5e3\n      data: {{ a: [1, 2] }}\n"
        );
        let s = Scenario::parse(&ok, "ok.yaml").unwrap();
        assert_eq!(
            s.webhooks.events[0].data,
            Some(serde_json::json!({"a": [1, 2]}))
        );
    }

    #[test]
    fn scenario_urls_follow_the_one_redirect_rule() {
        for (bad, why) in [
            ("http://user@localhost:3000/wix/app", "user name"),
            ("http:\\\\evil.example/app", "backslash"),
            ("javascript://localhost/%0aalert(1)", "http:// or https://"),
        ] {
            let yaml = DEFAULT_YAML.replace(
                "app_url: http://localhost:3000/wix/app",
                &format!("app_url: \"{bad}\""),
            );
            let text = Scenario::parse(&yaml, "s.yaml").unwrap_err().to_string();
            assert!(
                text.contains("app_url") && text.contains(why),
                "{bad}: {text}"
            );
        }
    }

    #[test]
    fn json_scenarios_are_accepted_and_located() {
        let json = "{\n  \"sites\": [{\"id\": \"6354435d-e875-4113-8645-ccc901f07efd\", \"name\": \"S\",\n    \"installs\": [{\"app\": \"11111111-2222-4333-8444-555555555555\", \"instance_id\": \"54f783ac-8c25-4a73-9ebf-a1125f71c5e3\"}]}]\n}";
        let err = Scenario::parse(json, "s.json").unwrap_err();
        assert_eq!(err.problems[0].line, 3, "{err}");
        assert!(Scenario::parse("{\"name\": \"empty\"}", "e.json").is_ok());
    }
}
