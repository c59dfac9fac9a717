//! OAuth apps: the external clients of a Wix Headless project (wix-api.md §9).
//!
//! This module holds the model and the lookups other areas need (a client id and its secret, its
//! redirect URIs). The OAuth Apps API that creates and changes them lives in `routes::oauth_apps`.
//! Secrets are stored only as SHA-256 digests and compared in constant time.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::World;
use crate::error::WixError;

/// An OAuth app (REST field names; the SDK renames `id`/`createdDate` to `_id`/`_createdDate`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
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
