//! The grants of `POST /oauth2/token` (docs/fidelity.md F-15 to F-23): client credentials for an instance or for a
//! Headless admin, `anonymous` visitors, `refresh_token`, `authorization_code` with PKCE,
//! `strip_bound_session` and `authorized_client`. Each checks everything before it issues anything.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::World;
use super::identity::{Identity, Minted, Subject, unknown_instance};
use crate::error::WixError;
use crate::ids::Ids;

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

impl World {
    // ---- /oauth2/token grants -------------------------------------------------------------------

    /// `client_credentials` with `instance_id`: the app's token for one of its instances (§4a).
    pub fn instance_token(
        &self,
        client_id: &str,
        client_secret: &str,
        instance_id: &str,
        now: DateTime<Utc>,
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
        self.app_token(instance_id, ttl, now)
    }

    /// `client_credentials` with an OAuth app's id and secret and no instance: a Headless admin token.
    pub fn headless_admin_token(
        &self,
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
        &self,
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

    /// `refresh_token` on `/oauth2/token`: the **client id** says which kind of refresh this is, not
    /// the token's shape (issue 16; INFERRED, docs/fidelity.md I-13). A Headless OAuth app's id means a visitor or member refresh
    /// token, and anything else it sends is `invalid_grant`; a Wix app's id means a legacy app
    /// refresh token and needs the app's secret; an unknown id is `invalid_client`. Only a request
    /// with no client id at all falls back on the token's prefix. `credentials` is the route's
    /// reading of `client_id`/`client_secret` (body or Basic), whose error matters only for an app.
    pub fn refresh(
        &self,
        client_id: Option<&str>,
        credentials: Result<(&str, &str), WixError>,
        refresh_token: &str,
        now: DateTime<Utc>,
        ids: &Ids,
    ) -> Result<Minted, WixError> {
        let basic_id = credentials.as_ref().ok().map(|(id, _)| *id);
        let headless = match client_id.or(basic_id) {
            Some(id) if self.oauth_apps.contains_key(id) => true,
            Some(id) if self.apps.contains_key(id) => false,
            Some(id) => {
                return Err(WixError::InvalidClient(format!("unknown client_id `{id}`")));
            }
            None => Self::is_headless_refresh(refresh_token),
        };
        if headless {
            let client_id = client_id.or(basic_id).map(str::to_string);
            self.refresh_headless(client_id.as_deref(), refresh_token, now, ids)
        } else {
            let (id, secret) = credentials?;
            self.refresh_app(id, secret, refresh_token, now, ids)
        }
    }

    /// `refresh_token` for a Headless visitor or member: a new access token; the refresh token stays
    /// valid and is returned as it was (the SDK keeps its old one).
    pub fn refresh_headless(
        &self,
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
        minted.refresh_token = Some(refresh_token.to_string().into());
        Ok(minted)
    }

    /// `refresh_token` on `/oauth2/token` with a legacy app refresh token and the app's credentials:
    /// a 4-hour app token for the instance (the refresh token is returned unchanged).
    pub fn refresh_app(
        &self,
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
        minted.refresh_token = Some(refresh_token.to_string().into());
        Ok(minted)
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
        let grant = super::redeemable(
            self.identities.member_codes.get(code),
            client_id,
            "client",
            redirect_uri,
            now,
        )?;
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
    /// SDK sends no client id, so the app is the token's (docs/fidelity.md F-18); its secret must match.
    pub fn strip_bound_session(
        &self,
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
    /// client and an API key of the same site (docs/fidelity.md F-22, external login).
    pub fn authorized_client(
        &self,
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
        // A key bound to one site must name the visitor's; an account-wide key serves any of them.
        let key = crate::scenario::api_keys::find(&self.identities.api_keys, api_key);
        match key.map(|k| k.site_id.as_ref().map(|s| s.value.as_str())) {
            Some(None) => {}
            Some(Some(site)) if site == caller.site_id => {}
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
}

/// Revocations a `revoke` fault makes (docs/faults.md), in the middle of a flow; `revoke: instance`
/// is [`World::uninstall`].
impl World {
    /// Forgets a refresh token.
    pub fn revoke_refresh_token(&mut self, refresh_token: &str) {
        self.refresh_tokens.remove(refresh_token);
    }

    /// Forgets every refresh token of an instance; returns them.
    pub fn revoke_refresh_tokens_of(&mut self, instance_id: &str) -> Vec<String> {
        let mut revoked = Vec::new();
        self.refresh_tokens.retain(|t, g| {
            let keep = g.instance_id != instance_id;
            if !keep {
                revoked.push(t.clone());
            }
            keep
        });
        revoked
    }

    /// Deletes a Headless OAuth app: its tokens and secret stop working.
    pub fn revoke_oauth_app(&mut self, client_id: &str) {
        self.oauth_apps.remove(client_id);
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
    fn verifiers_follow_rfc_7636() {
        assert!(valid_verifier(&"a".repeat(43)));
        assert!(!valid_verifier(&"a".repeat(42)));
        assert!(!valid_verifier(&"a".repeat(129)));
        assert!(!valid_verifier(&format!("{}!", "a".repeat(43))));
    }
}
