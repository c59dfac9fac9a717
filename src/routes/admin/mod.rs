//! The admin API under `/__admin/` (the WireMock convention), one file per resource:
//! `clock.rs`, `scenario.rs` (GET, PUT), `requests.rs` (the journal: GET, DELETE, wait),
//! `faults.rs`, `conformance.rs`, `namespaces.rs`, `tokens.rs`, `webhooks.rs` (deliveries and their
//! faults), `apps.rs` (an app's webhook key and URL), `instances.rs` (uninstall, signed instance) and
//! `ui.rs` (the dashboard). This file holds the probes, reset and the state.
//!
//! Admin endpoints see no faults and are not journaled; with `--admin-token` they need the token
//! (see `routes::admin_guard`).

pub mod apps;
pub mod clock;
pub mod conformance;
pub mod faults;
pub mod instances;
pub mod namespaces;
pub mod requests;
pub mod scenario;
pub mod tokens;
pub mod ui;
pub mod webhooks;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use warp::Reply;
use warp::http::StatusCode;
use warp::reply::Response;

use super::json_response;
use crate::app::App;
use crate::error::WixError;
use crate::request::snake_case;

/// An admin request's JSON body as `T`, `{}` when empty. The admin API documents snake_case field
/// names (`advance_secs`, `event_type`, `timeout_ms`) and accepts their lowerCamel spelling too
/// (`advanceSecs`, `eventType`), as a JavaScript client writes them; only the top-level names are
/// folded, never what is inside (an event's `data` goes out as it came). Naming one field both ways
/// is a 400, as is unreadable JSON; `what` says which request it was.
pub(super) fn parse_body<T: DeserializeOwned>(body: &[u8], what: &str) -> Result<T, WixError> {
    let bad = |e: &dyn std::fmt::Display| WixError::BadRequest(format!("invalid {what}: {e}"));
    if body.iter().all(u8::is_ascii_whitespace) {
        return serde_json::from_value(Value::Object(Map::new())).map_err(|e| bad(&e));
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| bad(&e))?;
    let value = match value {
        Value::Object(fields) => {
            let mut folded = Map::with_capacity(fields.len());
            for (name, v) in fields {
                let snake = snake_case(&name);
                if folded.contains_key(&snake) {
                    return Err(bad(&format_args!(
                        "`{snake}` is given twice (as `{name}` too)"
                    )));
                }
                folded.insert(snake, v);
            }
            Value::Object(folded)
        }
        other => other,
    };
    serde_json::from_value(value).map_err(|e| bad(&e))
}

/// GET /__admin/health — the server answers; with what its journals hold against their budget.
pub async fn health(app: App) -> Response {
    let journal = app.journal();
    let budget = journal.budget();
    json_response(
        StatusCode::OK,
        &json!({
            "status": "ok",
            "journal": {
                "bytes": journal.bytes(),
                "budget_bytes": budget.per_namespace,
                "all_namespaces_bytes": budget.used(),
                "all_namespaces_budget_bytes": budget.total,
            }
        }),
    )
}

/// GET /__admin/ready — the scenario is loaded before the listener is bound, so a server that
/// answers is ready.
pub async fn ready(app: App) -> Response {
    json_response(
        StatusCode::OK,
        &json!({"status": "ready", "scenario": app.scenario().name}),
    )
}

/// GET /__admin/version — the mock's name and version.
pub async fn version() -> Response {
    json_response(
        StatusCode::OK,
        &json!({"name": env!("CARGO_PKG_NAME"), "version": env!("CARGO_PKG_VERSION")}),
    )
}

/// POST /__admin/reset — back to the scenario's initial state: world, clock, seed and journal.
pub async fn reset(app: App) -> Response {
    app.reset();
    json_response(
        StatusCode::OK,
        &json!({"status": "reset", "clock": app.clock().status()}),
    )
}

/// GET /__admin/state — apps, sites, instances with setup status, live codes and tokens.
pub async fn state(app: App) -> Response {
    json_response(StatusCode::OK, &app.state())
}

/// GET /__admin/tls/ca.pem — the CA certificate a client must trust for the HTTPS port, as the file
/// `--tls-ca-out` also holds (handy when the mock runs in a container). 404 when the server has no
/// HTTPS port or serves a certificate it was given (`--tls-cert`: its CA is the user's own).
pub fn tls_ca(all: &crate::namespaces::Namespaces) -> Response {
    match all.tls_ca() {
        Some(pem) => warp::http::Response::builder()
            .header("content-type", "application/x-pem-file")
            .header(
                "content-disposition",
                "inline; filename=\"wix-mock-ca.pem\"",
            )
            .body(pem.to_string().into())
            .unwrap_or_default(),
        None => WixError::NotFound {
            code: "TLS_CA_NOT_AVAILABLE",
            message: "no CA certificate: the server was started without --tls, or with --tls-cert"
                .into(),
        }
        .into_response(),
    }
}
