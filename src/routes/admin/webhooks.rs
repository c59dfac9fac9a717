//! `/__admin/webhooks`: the delivery log and redelivery, custom events, delivery faults and held
//! deliveries.

use serde::Deserialize;
use serde_json::{Value, json};
use warp::Reply;
use warp::http::StatusCode;
use warp::reply::Response;

use super::parse_body;
use crate::app::App;
use crate::delivery::{DeliveryFault, Release};
use crate::error::WixError;
use crate::request::Incoming;
use crate::routes::{json_response, reply_json};

/// GET /__admin/webhooks — every delivery with its attempts, oldest first.
pub async fn list(app: App) -> Response {
    let list = app.webhooks().list();
    json_response(
        StatusCode::OK,
        &json!({"count": list.len(), "webhooks": list}),
    )
}

/// DELETE /__admin/webhooks — forgets finished deliveries.
pub async fn clear(app: App) -> Response {
    app.webhooks().clear();
    json_response(StatusCode::OK, &json!({"status": "cleared"}))
}

/// POST /__admin/webhooks/{id}/redeliver — sends a delivery's event again as a new delivery, signed
/// now, to the app's current webhook URL. 202 with the new delivery.
pub async fn redeliver(app: App, id: String) -> Response {
    let not_found = || WixError::NotFound {
        code: "WEBHOOK_NOT_FOUND",
        message: format!("no webhook delivery `{id}`"),
    };
    match id
        .parse::<u64>()
        .map_err(|_| not_found())
        .and_then(|n| app.redeliver(n))
    {
        Ok(d) => json_response(StatusCode::ACCEPTED, &d),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Emit {
    instance_id: String,
    event_type: String,
    #[serde(default)]
    data: Option<Value>,
    #[serde(default)]
    identity: Option<Value>,
}

/// POST /__admin/webhooks/emit — `{"instance_id", "event_type", "data"?, "identity"?}` sends any event
/// to the instance's app (identity defaults to the site owner). 202.
pub async fn emit(app: App, req: &Incoming) -> Response {
    let result = parse_body::<Emit>(&req.body, "event").and_then(|e| {
        if e.event_type.trim().is_empty() {
            return Err(WixError::BadRequest("event_type must not be empty".into()));
        }
        let data = e.data.unwrap_or_else(|| json!({}));
        app.emit_event(&e.instance_id, &e.event_type, data, e.identity)
    });
    match result {
        Ok(()) => json_response(StatusCode::ACCEPTED, &json!({"status": "queued"})),
        Err(e) => e.into_response(),
    }
}

/// POST /__admin/webhooks/faults — arms a [`DeliveryFault`] (`event_type`, `delay_ms`,
/// `duplicates`, `hold`, `times`) for the next matching deliveries.
pub async fn faults_arm(app: App, req: &Incoming) -> Response {
    reply_json(
        parse_body::<DeliveryFault>(&req.body, "delivery fault").map(|fault| {
            app.webhooks().arm_fault(fault.clone());
            json!({"status": "armed", "fault": fault})
        }),
    )
}

/// DELETE /__admin/webhooks/faults — disarms every delivery fault.
pub async fn faults_clear(app: App) -> Response {
    app.webhooks().clear_faults();
    json_response(StatusCode::OK, &json!({"status": "cleared"}))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct ReleaseBody {
    order: Release,
}

/// POST /__admin/webhooks/release — sends held deliveries; `{"order": "reversed"}` reorders them.
pub async fn release(app: App, req: &Incoming) -> Response {
    reply_json(
        parse_body::<ReleaseBody>(&req.body, "release request")
            .map(|r| json!({"released": app.webhooks().release_held(r.order)})),
    )
}
