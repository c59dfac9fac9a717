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

use serde_json::json;
use warp::http::StatusCode;
use warp::reply::Response;

use super::json_response;
use crate::app::App;

/// GET /__admin/health — the server answers.
pub async fn health(_app: App) -> Response {
    json_response(StatusCode::OK, &json!({"status": "ok"}))
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
