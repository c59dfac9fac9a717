//! Which fields go into an instance's encoded `instance` parameter, and reading one back.
//!
//! The codec is [`crate::signed_instance`]; this part knows the world: the app secret that signs, the
//! site owner, whether the instance is still installed. [`World::decode_signed_instance`] is the pure
//! check that `POST /oauth2/token-info` calls when given `token=<instance>` (docs/fidelity.md F-29: the
//! recommended way to read the parameter).

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::World;
use super::webhooks::instance_not_found;
use crate::error::WixError;
use crate::ids::{Ids, rfc3339_millis};
use crate::signed_instance;

/// How long an encoded instance stays valid. Undocumented; 4 hours like an app access token (INFERRED, I-33).
pub const SIGNED_INSTANCE_TTL_SECS: i64 = 4 * 3600;

/// Who is looking at the app's iframe or dashboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    /// The site owner (the default): `uid` is the owner, `permissions` is `OWNER`.
    Owner,
    /// Another Wix user (a contributor): `uid` is theirs, `permissions` is empty (INFERRED, I-34).
    User(String),
    /// An anonymous site visitor: no `uid`, a fresh `aid`. Dashboards must refuse these (docs/fidelity.md F-41).
    Visitor,
}

/// A verified encoded instance, with what token-info reports about it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecodedInstance {
    /// `instanceId`.
    pub instance_id: String,
    /// `appDefId`: the app whose secret signed it (token-info's `clientId`).
    pub app_id: String,
    /// The site, when the instance is known (installed or removed).
    pub site_id: Option<String>,
    /// `USER` for a Wix user (`uid`), `VISITOR` for an anonymous visitor (`aid`).
    pub subject_type: &'static str,
    /// The `uid` or `aid`.
    pub subject_id: String,
    /// `signDate` in Unix seconds.
    pub iat: i64,
    /// `expirationDate` in Unix seconds.
    pub exp: i64,
    /// Signature good, not expired at `now`, and the instance still installed for that app.
    pub active: bool,
    /// The decoded JSON, as signed.
    pub payload: Value,
}

impl World {
    /// The encoded `instance` parameter for `instance_id` as `viewer` would get it, and its payload.
    pub fn signed_instance(
        &self,
        instance_id: &str,
        viewer: Viewer,
        now: DateTime<Utc>,
        ids: &Ids,
    ) -> Result<(String, Value), WixError> {
        let instance = self
            .instances
            .get(instance_id)
            .ok_or_else(|| instance_not_found(instance_id))?;
        let app = self
            .apps
            .get(&instance.app_id)
            .ok_or_else(|| instance_not_found(instance_id))?;
        let owner = self
            .sites
            .get(&instance.site_id)
            .map(|s| s.owner_id.clone());
        let mut p = Map::new();
        p.insert("instanceId".into(), json!(instance.instance_id));
        p.insert("appDefId".into(), json!(instance.app_id));
        p.insert("signDate".into(), json!(rfc3339_millis(now)));
        let (uid, permissions, aid) = match viewer {
            Viewer::Owner => (owner.clone(), "OWNER", None),
            Viewer::User(uid) if Some(&uid) == owner.as_ref() => (Some(uid), "OWNER", None),
            Viewer::User(uid) => (Some(uid), "", None),
            Viewer::Visitor => (None, "", Some(ids.guid())),
        };
        if let Some(uid) = &uid {
            p.insert("uid".into(), json!(uid));
        }
        p.insert("permissions".into(), json!(permissions));
        p.insert("demoMode".into(), json!(false));
        if let Some(owner) = &owner {
            p.insert("siteOwnerId".into(), json!(owner));
        }
        if let Some(uid) = &uid {
            // A Wix user on their own site is also its member (INFERRED, I-34).
            p.insert("siteMemberId".into(), json!(uid));
        }
        if let Some(aid) = &aid {
            p.insert("aid".into(), json!(aid));
        }
        let exp = now + Duration::seconds(SIGNED_INSTANCE_TTL_SECS);
        p.insert("expirationDate".into(), json!(rfc3339_millis(exp)));
        // Free apps: no premium package. `originInstanceId` is left out: the mock has no duplicated sites.
        p.insert("vendorProductId".into(), Value::Null);
        let payload = Value::Object(p);
        Ok((signed_instance::encode(&app.secret, &payload), payload))
    }

    /// Checks an encoded `instance` parameter: `None` unless its signature is the secret of the app it
    /// names; otherwise what token-info reports, with `active` false once expired or uninstalled.
    pub fn decode_signed_instance(
        &self,
        instance: &str,
        now: DateTime<Utc>,
    ) -> Option<DecodedInstance> {
        let claimed = signed_instance::peek(instance)?;
        let instance_id = claimed.get("instanceId")?.as_str()?.to_string();
        let known = self.instances.get(&instance_id).or_else(|| {
            self.removed_instances
                .get(&instance_id)
                .map(|r| &r.instance)
        });
        let app_id = match claimed.get("appDefId").and_then(Value::as_str) {
            Some(id) => id.to_string(),
            None => known?.app_id.clone(),
        };
        let app = self.apps.get(&app_id)?;
        let payload = signed_instance::verify(&app.secret, instance)?;
        let time = |field: &str| {
            payload
                .get(field)
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<DateTime<Utc>>().ok())
                .map(|t| t.timestamp())
        };
        let iat = time("signDate").unwrap_or(0);
        let exp = time("expirationDate").unwrap_or(0);
        let (subject_type, subject_id) = match (
            payload.get("uid").and_then(Value::as_str),
            payload.get("aid").and_then(Value::as_str),
        ) {
            (Some(uid), _) => ("USER", uid.to_string()),
            (None, Some(aid)) => ("VISITOR", aid.to_string()),
            (None, None) => ("UNKNOWN", String::new()),
        };
        let installed = self
            .instances
            .get(&instance_id)
            .is_some_and(|i| i.app_id == app_id);
        Some(DecodedInstance {
            site_id: known.map(|i| i.site_id.clone()),
            instance_id,
            app_id,
            subject_type,
            subject_id,
            iat,
            exp,
            active: installed && exp > now.timestamp(),
            payload,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;

    const INSTANCE: &str = "54f783ac-8c25-4a73-9ebf-a1125f71c5e3";

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn a_signed_instance_decodes_until_it_expires_or_the_app_is_removed() {
        let ids = Ids::new(Some(1));
        let now = t("2026-01-01T00:00:00Z");
        let mut w = World::from_scenario(&Scenario::builtin(), now, &ids);
        let (s, payload) = w
            .signed_instance(INSTANCE, Viewer::Owner, now, &ids)
            .unwrap();
        let d = w.decode_signed_instance(&s, now).unwrap();
        assert!(d.active);
        assert_eq!(d.subject_type, "USER");
        assert_eq!(d.payload, payload);
        assert_eq!(d.exp - d.iat, SIGNED_INSTANCE_TTL_SECS);
        let later = now + Duration::seconds(SIGNED_INSTANCE_TTL_SECS);
        assert!(!w.decode_signed_instance(&s, later).unwrap().active);
        w.uninstall(INSTANCE, now).unwrap();
        assert!(!w.decode_signed_instance(&s, now).unwrap().active);
        assert!(w.decode_signed_instance("x.y", now).is_none());
        let (sig, data) = s.split_once('.').unwrap();
        let forged = format!("{}.{data}", &sig[1..]);
        assert!(w.decode_signed_instance(&forged, now).is_none());
    }

    #[test]
    fn a_visitor_gets_an_aid_and_no_uid() {
        let ids = Ids::new(Some(1));
        let now = t("2026-01-01T00:00:00Z");
        let w = World::from_scenario(&Scenario::builtin(), now, &ids);
        let (s, payload) = w
            .signed_instance(INSTANCE, Viewer::Visitor, now, &ids)
            .unwrap();
        assert!(payload.get("uid").is_none());
        assert_eq!(payload["permissions"], "");
        let d = w.decode_signed_instance(&s, now).unwrap();
        assert_eq!(d.subject_type, "VISITOR");
        assert_eq!(payload["aid"], json!(d.subject_id));
    }
}
