//! `GET /__admin/scenario` and `PUT /__admin/scenario`: the loaded scenario, and replacing it.

use serde_json::json;
use warp::http::StatusCode;
use warp::reply::Response;

use crate::app::App;
use crate::error::WixError;
use crate::namespaces::Namespaces;
use crate::request::Incoming;
use crate::routes::{json_response, reply_json};
use crate::scenario::Scenario;

/// GET /__admin/scenario — the loaded scenario, secrets included (this is a test tool).
pub async fn get(app: App) -> Response {
    json_response(
        StatusCode::OK,
        &json!({"origin": app.scenario_origin(), "scenario": &*app.scenario()}),
    )
}

/// PUT /__admin/scenario — the body (YAML or JSON) replaces the scenario and resets the state; a
/// bad one is refused with `<request body>:line:col: message` lines and the old one stays.
pub async fn put(all: &Namespaces, app: App, req: &Incoming) -> Response {
    reply_json((|| {
        let text = std::str::from_utf8(&req.body)
            .map_err(|_| WixError::BadRequest("the scenario is not UTF-8".into()))?;
        let scenario = Scenario::parse(text, "<request body>")
            .map_err(|e| WixError::BadRequest(e.to_string()))?;
        let name = scenario.name.clone();
        // The default namespace's scenario is every named namespace's too; a named one changes alone.
        match app.namespace() {
            None => all.replace_scenario(scenario, "request body"),
            Some(_) => app.replace_scenario(scenario, "request body"),
        }
        Ok(json!({"status": "reloaded", "scenario": name, "clock": app.clock().status()}))
    })())
}
