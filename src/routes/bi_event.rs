//! `POST /apps/v1/bi-event`: the app reports a BI event (docs/fidelity.md F-30).
//!
//! `APP_FINISHED_CONFIGURATION` moves the instance from "setup incomplete" to "setup complete". The
//! body is REST JSON (lowerCamel); the answer is `{}`.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use warp::reply::Response;

use super::{Incoming, reply_json};
use crate::app::App;
use crate::error::{FieldViolation, WixError};
use crate::world::BiEvent;

/// Event names Wix documents. Others are rejected as an invalid enum value, as a proto gateway does.
const EVENT_NAMES: &[&str] = &[
    "APP_FINISHED_CONFIGURATION",
    "APP_DASHBOARD_LOADED",
    "CUSTOM",
    "CHARGE",
    "FUNDS_RETURNED",
];

/// POST /apps/v1/bi-event — `{eventName, customEventName?, eventData?}` with an app access token.
pub async fn bi_event(app: App, req: &Incoming) -> Response {
    reply_json(record(req.access_token(), &req.body, app))
}

fn record(token: Option<String>, body: &[u8], app: App) -> Result<Value, WixError> {
    // The token is checked before the body, as Wix's gateway authenticates first.
    let caller = app.authorize(token.as_deref())?;
    // Visitor, member and Headless admin tokens pass the token check but belong to no instance.
    caller.require_app_instance()?;
    let event = validate(body)?;
    app.record_bi_event(&caller, &event);
    Ok(json!({}))
}

/// Checks the body the way Wix's gateway would and lists every violated field.
fn validate(body: &[u8]) -> Result<BiEvent, WixError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| WixError::BadRequest(format!("request body is not valid JSON: {e}")))?;
    let Value::Object(obj) = value else {
        return Err(WixError::BadRequest(
            "request body must be a JSON object".into(),
        ));
    };
    let mut violations = Vec::new();
    let text = |name: &str, violations: &mut Vec<FieldViolation>| match obj.get(name) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            violations.push(FieldViolation::new(
                name,
                "INVALID_TYPE",
                format!("{name} must be a string"),
            ));
            None
        }
    };
    let event_name = text("eventName", &mut violations);
    let custom_name = text("customEventName", &mut violations);
    let mut data = BTreeMap::new();
    match obj.get("eventData") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (k, v) in map {
                match v {
                    Value::String(s) => {
                        data.insert(k.clone(), s.clone());
                    }
                    _ => violations.push(FieldViolation::new(
                        &format!("eventData.{k}"),
                        "INVALID_TYPE",
                        "eventData values must be strings (map<string, string>)",
                    )),
                }
            }
        }
        Some(_) => violations.push(FieldViolation::new(
            "eventData",
            "INVALID_TYPE",
            "eventData must be an object",
        )),
    }
    match event_name.as_deref() {
        None | Some("") => {
            if !violations.iter().any(|v| v.field == "eventName") {
                violations.push(FieldViolation::new(
                    "eventName",
                    "REQUIRED_FIELD",
                    "eventName is required",
                ));
            }
        }
        Some(name) if !EVENT_NAMES.contains(&name) => violations.push(FieldViolation::new(
            "eventName",
            "INVALID_ENUM_VALUE",
            format!("eventName must be one of {}", EVENT_NAMES.join(", ")),
        )),
        Some("CUSTOM") if custom_name.as_deref().is_none_or(|n| n.chars().count() < 2) => {
            violations.push(FieldViolation::new(
                "customEventName",
                "MIN_LENGTH",
                "customEventName of at least 2 characters is required when eventName is CUSTOM",
            ))
        }
        Some("CHARGE" | "FUNDS_RETURNED") if !data.contains_key("sum") => {
            violations.push(FieldViolation::new(
                "eventData.sum",
                "REQUIRED_FIELD",
                "eventData.sum is required for CHARGE and FUNDS_RETURNED",
            ))
        }
        Some(_) => {}
    }
    if !violations.is_empty() {
        return Err(WixError::Validation(violations));
    }
    Ok(BiEvent {
        event_name: event_name.unwrap_or_default(),
    })
}
