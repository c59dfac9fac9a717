//! Webhook events as the world sees them: what happened to which instance, waiting in an outbox.
//!
//! Pure, like the rest of `world`: installing and uninstalling push [`WebhookEvent`]s into
//! [`World::outbox`], and [`crate::App`] takes them out after every operation and hands them to
//! [`crate::delivery`], which signs and sends them. Nothing here knows about keys, HTTP or retries.
//!
//! Wix's envelope (docs/fidelity.md F-37, F-38): the JWT's `data` claim is a JSON string holding `eventType`,
//! `instanceId`, `data` and `identity`, and `data` and `identity` are JSON strings themselves.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Instance, World};
use crate::error::WixError;
use crate::ids::rfc3339_millis;
use crate::scenario::EventTrigger;

/// `eventType` of the App Instance Installed webhook (SDK `EventDefinition('AppInstalled')`).
pub const APP_INSTALLED: &str = "AppInstalled";
/// `eventType` of the App Instance Removed webhook.
pub const APP_REMOVED: &str = "AppRemoved";

/// Something that happened to an app instance, to be delivered to the app's webhook URL.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WebhookEvent {
    /// `eventType`, e.g. `AppInstalled`.
    pub event_type: String,
    /// The app that receives it (the JWT's `aud`).
    pub app_id: String,
    /// `instanceId`.
    pub instance_id: String,
    /// The event's own data (sent as a JSON string).
    pub data: Value,
    /// Who caused it (sent as a JSON string).
    pub identity: Value,
    /// When it happened on the virtual clock: the JWT's `iat`.
    pub at: DateTime<Utc>,
}

impl WebhookEvent {
    /// The JWT `data` claim: a JSON string whose `data` and `identity` are JSON strings too.
    pub fn envelope(&self) -> String {
        json!({
            "eventType": self.event_type,
            "instanceId": self.instance_id,
            "data": self.data.to_string(),
            "identity": self.identity.to_string(),
        })
        .to_string()
    }
}

/// An instance that was uninstalled: gone from the live instances ([`World::instance`]), so its tokens stop working, but
/// remembered so the admin API shows it and a reinstall on the same site gets the same id back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RemovedInstance {
    /// The instance as it was when removed.
    #[serde(flatten)]
    pub instance: Instance,
    /// When it was uninstalled.
    pub removed_at: String,
}

impl World {
    /// Takes every event emitted since the last call, oldest first.
    pub fn take_outbox(&mut self) -> Vec<WebhookEvent> {
        std::mem::take(&mut self.outbox)
    }

    /// `identity` of an event a site owner caused (INFERRED shape, docs/fidelity.md I-28: SDK `IdentificationData`,
    /// `{"identityType":"WIX_USER","wixUserId":…}`).
    pub fn owner_identity(&self, site_id: &str) -> Value {
        match self.sites.get(site_id) {
            Some(site) => json!({"identityType": "WIX_USER", "wixUserId": site.owner_id}),
            None => json!({"identityType": "UNKNOWN"}),
        }
    }

    /// Emits an event for an installed instance.
    fn emit(
        &mut self,
        event_type: &str,
        instance: &Instance,
        data: Value,
        identity: Option<Value>,
        now: DateTime<Utc>,
    ) {
        let identity = identity.unwrap_or_else(|| self.owner_identity(&instance.site_id));
        self.outbox.push(WebhookEvent {
            event_type: event_type.to_string(),
            app_id: instance.app_id.clone(),
            instance_id: instance.instance_id.clone(),
            data,
            identity,
            at: now,
        });
    }

    /// Emits `AppInstalled` for a new instance, then the scenario's events that follow it.
    pub(super) fn emit_installed(&mut self, instance: &Instance, now: DateTime<Utc>) {
        // `originInstanceId` is sent only for duplicated sites, which the mock does not simulate.
        let data = json!({"appId": instance.app_id});
        self.emit(APP_INSTALLED, instance, data, None, now);
        self.emit_declared(EventTrigger::AppInstalled, instance, now);
    }

    /// Emits the scenario's events declared for `trigger` of this instance's app.
    pub(super) fn emit_declared(
        &mut self,
        trigger: EventTrigger,
        instance: &Instance,
        now: DateTime<Utc>,
    ) {
        let declared: Vec<_> = self
            .declared_events
            .iter()
            .filter(|e| e.after == trigger && e.app.value == instance.app_id)
            .filter(|e| {
                trigger != EventTrigger::Start
                    || e.instance_id.as_ref().map(|i| i.value.as_str())
                        == Some(instance.instance_id.as_str())
            })
            .cloned()
            .collect();
        for e in declared {
            let data = e.data.clone().unwrap_or_else(|| json!({}));
            self.emit(&e.event_type, instance, data, e.identity.clone(), now);
        }
    }

    /// Uninstalls an instance: its access and refresh tokens stop working at once, and the app gets
    /// `AppRemoved`. The same path serves `POST /__admin/instances/{id}/uninstall` and a `revoke` fault.
    pub fn uninstall(
        &mut self,
        instance_id: &str,
        now: DateTime<Utc>,
    ) -> Result<RemovedInstance, WixError> {
        let instance = self
            .instances
            .remove(instance_id)
            .ok_or_else(|| instance_not_found(instance_id))?;
        self.emit(
            APP_REMOVED,
            &instance,
            json!({"appId": instance.app_id}),
            None,
            now,
        );
        self.emit_declared(EventTrigger::AppRemoved, &instance, now);
        let removed = RemovedInstance {
            instance,
            removed_at: rfc3339_millis(now),
        };
        self.index_removed(&removed.instance);
        self.removed_instances
            .insert(instance_id.to_string(), removed.clone());
        // Its refresh tokens die with it: collected now, so a reinstall (which takes the same
        // instance id back) does not bring them back to life.
        self.refresh_tokens
            .retain(|_, g| g.instance_id != instance_id);
        Ok(removed)
    }

    /// Emits any event for an installed instance (`POST /__admin/webhooks/emit`).
    pub fn emit_event(
        &mut self,
        instance_id: &str,
        event_type: &str,
        data: Value,
        identity: Option<Value>,
        now: DateTime<Utc>,
    ) -> Result<(), WixError> {
        let instance = self
            .instances
            .get(instance_id)
            .cloned()
            .ok_or_else(|| instance_not_found(instance_id))?;
        self.emit(event_type, &instance, data, identity, now);
        Ok(())
    }

    /// Sets or clears an app's webhook URL (for apps whose port is known only at run time).
    pub fn set_webhook_url(&mut self, app_id: &str, url: Option<String>) -> Result<(), WixError> {
        if let Some(u) = &url {
            // The mock posts signed events there: the same check as every redirect (issue 18).
            if let Err(e) = crate::redirect::check(u) {
                return Err(WixError::BadRequest(format!(
                    "`{u}` is not an absolute http(s) URL: {e}"
                )));
            }
        }
        let app = self
            .apps
            .get_mut(app_id)
            .ok_or_else(|| app_not_found(app_id))?;
        app.webhook_url = url;
        Ok(())
    }

    /// The webhook URL of an app, if it has one.
    pub fn webhook_url(&self, app_id: &str) -> Option<String> {
        self.apps.get(app_id).and_then(|a| a.webhook_url.clone())
    }
}

/// 404 for an instance id that is not installed.
pub fn instance_not_found(instance_id: &str) -> WixError {
    WixError::NotFound {
        code: "INSTANCE_NOT_FOUND",
        message: format!("no installed app instance `{instance_id}`"),
    }
}

/// 404 for an unknown app id.
pub fn app_not_found(app_id: &str) -> WixError {
    WixError::NotFound {
        code: "APP_NOT_FOUND",
        message: format!("no app `{app_id}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Ids;
    use crate::scenario::Scenario;

    const INSTANCE: &str = "54f783ac-8c25-4a73-9ebf-a1125f71c5e3";

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn the_envelope_nests_data_and_identity_as_json_strings() {
        let e = WebhookEvent {
            event_type: APP_INSTALLED.into(),
            app_id: "a".into(),
            instance_id: "i".into(),
            data: json!({"appId": "a"}),
            identity: json!({"identityType": "WIX_USER"}),
            at: t("2026-01-01T00:00:00Z"),
        };
        let outer: Value = serde_json::from_str(&e.envelope()).unwrap();
        assert_eq!(outer["eventType"], "AppInstalled");
        assert_eq!(outer["data"], r#"{"appId":"a"}"#);
        assert_eq!(outer["identity"], r#"{"identityType":"WIX_USER"}"#);
    }

    #[test]
    fn uninstalling_emits_app_removed_and_a_reinstall_would_find_the_old_id() {
        let ids = Ids::new(Some(1));
        let now = t("2026-01-01T00:00:00Z");
        let mut w = World::from_scenario(&Scenario::builtin(), now, &ids);
        assert!(w.take_outbox().is_empty());
        let removed = w.uninstall(INSTANCE, now).unwrap();
        assert_eq!(removed.instance.instance_id, INSTANCE);
        let out = w.take_outbox();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].event_type, APP_REMOVED);
        assert_eq!(out[0].data, json!({"appId": removed.instance.app_id}));
        assert!(!w.instances.contains_key(INSTANCE));
        assert!(matches!(
            w.uninstall(INSTANCE, now),
            Err(WixError::NotFound { .. })
        ));
    }
}
