//! OAuth apps: the external clients of a Wix Headless project (docs/fidelity.md F-32 to F-36).
//!
//! This module holds the model and the lookups other areas need (a client id and its secret, its
//! redirect URIs). The OAuth Apps API that creates and changes them lives in `routes::oauth_apps`.
//! Secrets are stored only as SHA-256 digests and compared in constant time.

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::World;
use super::query::{Page, Query};
use crate::error::{FieldViolation, WixError};
use crate::ids::Ids;

/// An OAuth app (REST field names; the SDK renames `id`/`createdDate` to `_id`/`_createdDate`).
/// `Deserialize` is for the state file (`crate::state_file`), which stores the two skipped fields
/// beside the object.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct OAuthApp {
    /// GUID, read-only; the `clientId` of Headless token requests.
    pub id: String,
    /// When it was created, on the virtual clock.
    #[serde(serialize_with = "crate::world::oauth_apps::serialize_millis")]
    pub created_date: DateTime<Utc>,
    pub name: String,
    pub description: String,
    pub login_url: String,
    pub logout_url: String,
    /// Exact redirect URIs a member login may return to (max 20).
    pub allowed_redirect_uris: Vec<String>,
    /// Domains other flows may redirect to (max 20).
    pub allowed_redirect_domains: Vec<String>,
    /// "true until a secret has been generated".
    pub allow_secret_generation: bool,
    /// `OAUTH_APP_TYPE_UNSPECIFIED|WEB_APP|MOBILE|OTHER|SYSTEM`.
    pub application_type: String,
    /// `OAUTH_TECHNOLOGY_UNSPECIFIED|JAVASCRIPT|...|OTHER_TECHNOLOGY`.
    pub technology: String,
    /// Always empty in the mock; present because Wix returns it.
    pub wix_pages_domains_mappings: Vec<serde_json::Value>,
    /// The Headless project (site) the app belongs to. Not part of Wix's object.
    #[serde(skip)]
    pub site_id: String,
    /// SHA-256 of the secret, when one exists. Never serialised.
    #[serde(skip)]
    pub secret_digest: Option<[u8; 32]>,
}

/// SHA-256 of a secret, the only form in which secrets are kept.
pub fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

pub(crate) fn serialize_millis<S: serde::Serializer>(
    t: &DateTime<Utc>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::ids::rfc3339_millis(*t))
}

impl OAuthApp {
    /// Whether `presented` is this app's secret (constant time over the digests).
    pub fn secret_matches(&self, presented: &str) -> bool {
        match &self.secret_digest {
            Some(d) => d.ct_eq(&digest(presented)).into(),
            None => false,
        }
    }
}

impl World {
    /// The OAuth app a Headless request names as `clientId`; deleted apps are gone from the map.
    pub fn oauth_client(&self, client_id: &str) -> Result<&OAuthApp, WixError> {
        self.oauth_apps
            .get(client_id)
            .ok_or_else(|| WixError::InvalidClient(format!("unknown client_id `{client_id}`")))
    }
}

// ---- The OAuth Apps API's rules (routes::oauth_apps is the HTTP side) ----------------------------

/// `applicationType` values (docs/fidelity.md F-33; `SYSTEM` is in the docs, not in SDK 1.0.56's enum).
pub const APPLICATION_TYPES: &[&str] = &[
    "OAUTH_APP_TYPE_UNSPECIFIED",
    "WEB_APP",
    "MOBILE",
    "OTHER",
    "SYSTEM",
];
/// `technology` values (docs/fidelity.md F-33).
pub const TECHNOLOGIES: &[&str] = &[
    "OAUTH_TECHNOLOGY_UNSPECIFIED",
    "JAVASCRIPT",
    "ANGULAR",
    "VUE",
    "REACT",
    "REACT_NATIVE",
    "IOS",
    "ANDROID",
    "OTHER_TECHNOLOGY",
];
/// At most this many `allowedRedirectUris` and `allowedRedirectDomains` ("@maxSize 20").
pub const MAX_REDIRECTS: usize = 20;

/// Fields a PATCH mask may name (docs/fidelity.md F-35, I-25).
pub const UPDATABLE: &[&str] = &[
    "name",
    "description",
    "loginUrl",
    "logoutUrl",
    "allowedRedirectUris",
    "allowedRedirectDomains",
    "applicationType",
    "technology",
];
/// Fields of the object a client may not change; naming one in a mask is a validation error.
pub const READ_ONLY: &[&str] = &[
    "id",
    "_id",
    "createdDate",
    "_createdDate",
    "secret",
    "allowSecretGeneration",
    "wixPagesDomainsMappings",
];

/// The client-settable fields of an OAuth app as a request carries them; `None` = not sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OAuthAppFields {
    pub name: Option<String>,
    pub description: Option<String>,
    pub login_url: Option<String>,
    pub logout_url: Option<String>,
    pub allowed_redirect_uris: Option<Vec<String>>,
    pub allowed_redirect_domains: Option<Vec<String>>,
    pub application_type: Option<String>,
    pub technology: Option<String>,
}

impl OAuthAppFields {
    /// Reads the settable fields of a request's `oAuthApp` object (`at` is its path, for violations).
    /// Read-only and unknown fields are ignored, as Wix's gateway does on create.
    pub fn from_json(
        obj: &serde_json::Map<String, serde_json::Value>,
        at: &str,
        violations: &mut Vec<FieldViolation>,
    ) -> OAuthAppFields {
        use serde_json::Value;
        let mut text = |name: &str| match obj.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                violations.push(FieldViolation::new(
                    &format!("{at}.{name}"),
                    "INVALID_TYPE",
                    format!("{name} must be a string"),
                ));
                None
            }
        };
        let name = text("name");
        let description = text("description");
        let login_url = text("loginUrl");
        let logout_url = text("logoutUrl");
        let application_type = text("applicationType");
        let technology = text("technology");
        let mut list = |name: &str| match obj.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => Some(
                items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
            ),
            Some(_) => {
                violations.push(FieldViolation::new(
                    &format!("{at}.{name}"),
                    "INVALID_TYPE",
                    format!("{name} must be an array of strings"),
                ));
                None
            }
        };
        OAuthAppFields {
            name,
            description,
            login_url,
            logout_url,
            allowed_redirect_uris: list("allowedRedirectUris"),
            allowed_redirect_domains: list("allowedRedirectDomains"),
            application_type,
            technology,
        }
    }
}

/// Checks one field's value against Wix's rules, adding a violation per broken rule.
fn check_field(app: &OAuthApp, field: &str, at: &str, v: &mut Vec<FieldViolation>) {
    let path = format!("{at}.{field}");
    match field {
        "name" => {
            let n = app.name.chars().count();
            if n == 0 {
                v.push(FieldViolation::new(
                    &path,
                    "REQUIRED_FIELD",
                    "name is required",
                ));
            } else if n < 2 {
                v.push(FieldViolation::new(
                    &path,
                    "MIN_LENGTH",
                    "name must be at least 2 characters long",
                ));
            } else if n > 256 {
                v.push(FieldViolation::new(
                    &path,
                    "MAX_LENGTH",
                    "name must be at most 256 characters long",
                ));
            }
        }
        "loginUrl" | "logoutUrl" => {
            let url = if field == "loginUrl" {
                &app.login_url
            } else {
                &app.logout_url
            };
            if !url.is_empty() && !is_web_url(url) {
                v.push(FieldViolation::new(
                    &path,
                    "FORMAT",
                    format!("{field} must be an absolute http(s) URL (WEB_URL)"),
                ));
            }
        }
        "allowedRedirectUris" => {
            if app.allowed_redirect_uris.len() > MAX_REDIRECTS {
                v.push(FieldViolation::new(
                    &path,
                    "MAX_SIZE",
                    format!("at most {MAX_REDIRECTS} redirect URIs are allowed"),
                ));
            }
            for (i, uri) in app.allowed_redirect_uris.iter().enumerate() {
                if !is_redirect_uri(uri) {
                    v.push(FieldViolation::new(
                        &format!("{path}[{i}]"),
                        "FORMAT",
                        "a redirect URI must be an absolute http(s) URI (or a native app's reverse-domain scheme) without userinfo or a fragment",
                    ));
                }
            }
        }
        "allowedRedirectDomains" => {
            if app.allowed_redirect_domains.len() > MAX_REDIRECTS {
                v.push(FieldViolation::new(
                    &path,
                    "MAX_SIZE",
                    format!("at most {MAX_REDIRECTS} redirect domains are allowed"),
                ));
            }
            for (i, d) in app.allowed_redirect_domains.iter().enumerate() {
                if !is_domain(d) {
                    v.push(FieldViolation::new(
                        &format!("{path}[{i}]"),
                        "FORMAT",
                        "a redirect domain must be a host name such as example.com (optionally with :port)",
                    ));
                }
            }
        }
        "applicationType" if !APPLICATION_TYPES.contains(&app.application_type.as_str()) => {
            v.push(FieldViolation::new(
                &path,
                "INVALID_ENUM_VALUE",
                format!(
                    "applicationType must be one of {}",
                    APPLICATION_TYPES.join(", ")
                ),
            ));
        }
        "technology" if !TECHNOLOGIES.contains(&app.technology.as_str()) => {
            v.push(FieldViolation::new(
                &path,
                "INVALID_ENUM_VALUE",
                format!("technology must be one of {}", TECHNOLOGIES.join(", ")),
            ));
        }
        _ => {}
    }
}

fn is_web_url(s: &str) -> bool {
    url::Url::parse(s)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
}

/// `@format URI`: absolute, any scheme (mobile apps use custom ones), no fragment (RFC 6749 §3.1.2).
/// An http(s) URI, or a native app's private-use scheme (`com.example.app:/callback`), without a
/// fragment: the same rule the login redirect applies, so `javascript:`, `data:` or `ftp:` URIs are
/// refused when registered rather than stored and refused later (issue 18).
fn is_redirect_uri(s: &str) -> bool {
    crate::redirect::check_registered(s).is_ok_and(|u| u.fragment().is_none())
}

fn is_domain(s: &str) -> bool {
    if s.is_empty() || s.contains(['/', '?', '#', '@']) || s.chars().any(char::is_whitespace) {
        return false;
    }
    url::Url::parse(&format!("https://{s}/")).is_ok_and(|u| u.host_str().is_some())
}

/// Applies the fields named in `names` from `fields`; a named field that was not sent is cleared, as
/// a proto field mask does (INFERRED, docs/fidelity.md I-25).
fn apply(app: &mut OAuthApp, fields: &OAuthAppFields, names: &[&str]) {
    for name in names {
        match *name {
            "name" => app.name = fields.name.clone().unwrap_or_default(),
            "description" => app.description = fields.description.clone().unwrap_or_default(),
            "loginUrl" => app.login_url = fields.login_url.clone().unwrap_or_default(),
            "logoutUrl" => app.logout_url = fields.logout_url.clone().unwrap_or_default(),
            "allowedRedirectUris" => {
                app.allowed_redirect_uris = fields.allowed_redirect_uris.clone().unwrap_or_default()
            }
            "allowedRedirectDomains" => {
                app.allowed_redirect_domains =
                    fields.allowed_redirect_domains.clone().unwrap_or_default()
            }
            "applicationType" => {
                app.application_type = fields
                    .application_type
                    .clone()
                    .unwrap_or_else(|| APPLICATION_TYPES[0].to_string())
            }
            "technology" => {
                app.technology = fields
                    .technology
                    .clone()
                    .unwrap_or_else(|| TECHNOLOGIES[0].to_string())
            }
            _ => {}
        }
    }
}

/// A secret as Wix shapes them: `oas_` and 32 URL-safe characters (fixtures/sdk/10-create-oauth-app.json, 16-generate-secret.json).
fn new_secret(ids: &Ids) -> String {
    ids.token("oas_", 32)
}

fn not_found(id: &str) -> WixError {
    WixError::NotFound {
        code: "OAUTH_APP_NOT_FOUND",
        message: format!("OAuth app {id} not found"),
    }
}

/// Which apps a caller may see: those of one site (a token's or an API key's), or all.
#[derive(Debug, Clone, Copy)]
pub struct SiteScope<'a>(pub Option<&'a str>);

impl SiteScope<'_> {
    /// Whether `app` is visible in this scope.
    pub fn sees(&self, app: &OAuthApp) -> bool {
        self.0.is_none_or(|site| app.site_id == site)
    }
}

impl World {
    /// Creates an app on `site_id` with every field defaulted; returns it and its one-time secret.
    pub fn create_oauth_app(
        &mut self,
        site_id: &str,
        fields: &OAuthAppFields,
        now: DateTime<Utc>,
        ids: &Ids,
    ) -> Result<(OAuthApp, String), WixError> {
        let mut app = OAuthApp {
            id: String::new(),
            // Wix timestamps carry milliseconds; keeping exactly those makes filters by createdDate exact.
            created_date: now.trunc_subsecs(3),
            name: String::new(),
            description: String::new(),
            login_url: String::new(),
            logout_url: String::new(),
            allowed_redirect_uris: Vec::new(),
            allowed_redirect_domains: Vec::new(),
            allow_secret_generation: true,
            application_type: APPLICATION_TYPES[0].to_string(),
            technology: TECHNOLOGIES[0].to_string(),
            wix_pages_domains_mappings: Vec::new(),
            site_id: site_id.to_string(),
            secret_digest: None,
        };
        apply(&mut app, fields, UPDATABLE);
        let mut violations = Vec::new();
        for f in UPDATABLE {
            check_field(&app, f, "oAuthApp", &mut violations);
        }
        if !violations.is_empty() {
            return Err(WixError::Validation(violations));
        }
        app.id = ids.guid();
        let secret = new_secret(ids);
        app.secret_digest = Some(digest(&secret));
        self.oauth_apps.insert(app.id.clone(), app.clone());
        Ok((app, secret))
    }

    /// The app with this id, if `scope` may see it.
    pub fn get_oauth_app(&self, scope: SiteScope, id: &str) -> Result<&OAuthApp, WixError> {
        self.oauth_apps
            .get(id)
            .filter(|a| scope.sees(a))
            .ok_or_else(|| not_found(id))
    }

    /// Changes the fields named in `mask` (already checked to be updatable) and nothing else.
    pub fn update_oauth_app(
        &mut self,
        scope: SiteScope,
        id: &str,
        fields: &OAuthAppFields,
        mask: &[&str],
    ) -> Result<OAuthApp, WixError> {
        let mut app = self.get_oauth_app(scope, id)?.clone();
        apply(&mut app, fields, mask);
        let mut violations = Vec::new();
        for f in mask {
            check_field(&app, f, "oAuthApp", &mut violations);
        }
        if !violations.is_empty() {
            return Err(WixError::Validation(violations));
        }
        self.oauth_apps.insert(app.id.clone(), app.clone());
        Ok(app)
    }

    /// Deletes an app. Its client id is gone from the map, so `oauth_client` refuses it from now on.
    pub fn delete_oauth_app(&mut self, scope: SiteScope, id: &str) -> Result<(), WixError> {
        self.get_oauth_app(scope, id)?;
        self.oauth_apps.remove(id);
        Ok(())
    }

    /// `generate-secret`: once per app. The new secret replaces any earlier one (INFERRED, docs/fidelity.md I-23), and
    /// `allowSecretGeneration` turns false.
    pub fn generate_oauth_app_secret(
        &mut self,
        scope: SiteScope,
        id: &str,
        ids: &Ids,
    ) -> Result<String, WixError> {
        let allowed = self.get_oauth_app(scope, id)?.allow_secret_generation;
        if !allowed {
            return Err(WixError::FailedPrecondition {
                code: "SECRET_ALREADY_GENERATED",
                message: format!(
                    "a secret was already generated for OAuth app {id}; it can be generated only once"
                ),
            });
        }
        let secret = new_secret(ids);
        if let Some(app) = self.oauth_apps.get_mut(id) {
            app.secret_digest = Some(digest(&secret));
            app.allow_secret_generation = false;
        }
        Ok(secret)
    }

    /// Runs a parsed query over the apps `scope` may see.
    pub fn query_oauth_apps<'a>(&'a self, scope: SiteScope, query: &Query) -> Page<'a> {
        query.run(&self.oauth_apps, |a| scope.sees(a))
    }
}
