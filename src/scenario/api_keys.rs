//! API keys a scenario declares: what `Authorization: <apiKey>` with `wix-account-id`/`wix-site-id`
//! headers may do (docs/fidelity.md F-04; the SDK's `ApiKeyStrategy`, fixtures/sdk/25-api-key-get-oauth-app.json).
//!
//! This module only reads and checks the declarations and matches a presented key. Which routes
//! accept keys, and what the headers mean there, is the routes' business.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::Problem;

/// An API key, as created in a Wix account's API Keys page.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeySpec {
    /// The key itself, sent raw as the `Authorization` header.
    pub key: Spanned<String>,
    /// The account that owns the key (a GUID); a `wix-account-id` header must name it.
    pub account_id: Spanned<String>,
    /// The one site the key may act on. Without it the key acts on whichever site `wix-site-id` names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_id: Option<Spanned<String>>,
    /// Permission scopes the key grants, e.g. `SCOPE.OAUTH_APP.MANAGE`.
    #[serde(default)]
    pub scopes: Vec<String>,
}

impl ApiKeySpec {
    /// Whether `presented` is this key, compared in constant time over SHA-256 digests (so neither
    /// the content nor the length of the key leaks through timing).
    pub fn matches(&self, presented: &str) -> bool {
        let a: [u8; 32] = Sha256::digest(self.key.value.as_bytes()).into();
        let b: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        a.ct_eq(&b).into()
    }
}

/// The declared key equal to `presented`, if any. Every key is compared, so the time taken does not
/// depend on which one matched.
pub fn find<'a>(keys: &'a [ApiKeySpec], presented: &str) -> Option<&'a ApiKeySpec> {
    let mut found = None;
    for k in keys {
        if k.matches(presented) {
            found = Some(k);
        }
    }
    found
}

/// Checks keys are non-empty and unique, account ids are GUIDs and sites are declared.
pub(super) fn check(
    keys: &[ApiKeySpec],
    site_ids: &HashSet<&str>,
    json_text: Option<&str>,
    problems: &mut Vec<Problem>,
) {
    let mut seen = HashSet::new();
    for k in keys {
        if k.key.value.trim().is_empty() {
            problems.push(super::at(
                &k.account_id,
                "an API key of this account is empty".into(),
                json_text,
            ));
        } else if k.key.value.starts_with("OauthNG.") {
            // Access tokens start so; a key looking like one would be ambiguous.
            problems.push(super::at(
                &k.key,
                "an API key must not start with `OauthNG.` (access tokens do)".into(),
                json_text,
            ));
        }
        if !seen.insert(k.key.value.as_str()) {
            // The key is a secret: name the position only.
            problems.push(super::at(&k.key, "duplicate API key".into(), json_text));
        }
        if !crate::ids::is_guid(&k.account_id.value) {
            problems.push(super::at(
                &k.account_id,
                format!(
                    "API key account_id `{}` is not a GUID like 5e2c9a6f-8a61-4b4f-9a43-0f3d2b1c7a10",
                    k.account_id.value
                ),
                json_text,
            ));
        }
        if let Some(site) = k
            .site_id
            .as_ref()
            .filter(|s| !site_ids.contains(s.value.as_str()))
        {
            problems.push(super::at(
                site,
                format!(
                    "API key names site `{}`, which is not declared under `sites`",
                    site.value
                ),
                json_text,
            ));
        }
    }
}
