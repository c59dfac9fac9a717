//! `/__admin/faults`: arm faults (one spec or a list, YAML or JSON), list them with their counters,
//! disarm them (all, or `?name=` one), and the scenario library's presets.

use serde_json::json;
use warp::Reply;
use warp::http::StatusCode;
use warp::reply::Response;

use crate::app::App;
use crate::error::WixError;
use crate::request::{Incoming, query_params};
use crate::routes::json_response;
use crate::scenario::faults::{FaultSpec, fault_problems};
use crate::scenario::library::fault_presets;

/// POST /__admin/faults — arms the faults in the body; `201 {"armed": [names]}`.
pub async fn arm(app: App, req: &Incoming) -> Response {
    match parse_faults(&req.body) {
        Ok(specs) => {
            let names = app.faults().arm(specs);
            json_response(StatusCode::CREATED, &json!({"armed": names}))
        }
        Err(e) => e.into_response(),
    }
}

/// GET /__admin/faults — the armed faults with their counters.
pub async fn list(app: App) -> Response {
    json_response(StatusCode::OK, &json!({"faults": app.faults().list()}))
}

/// DELETE /__admin/faults[?name=…] — disarms every fault, or the one named.
pub async fn clear(app: App, req: &Incoming) -> Response {
    let q = query_params(&req.raw_query).unwrap_or_default();
    let removed = app.faults().clear(q.get("name").map(String::as_str));
    json_response(StatusCode::OK, &json!({"removed": removed}))
}

/// GET /__admin/faults/presets — the library's faults (`{presets: [{id, group, description,
/// faults}]}`; post `faults` to arm one).
pub async fn presets() -> Response {
    json_response(StatusCode::OK, &json!({"presets": fault_presets()}))
}

/// One fault spec or a list of them, YAML or JSON, every problem reported.
fn parse_faults(body: &[u8]) -> Result<Vec<FaultSpec>, WixError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| WixError::BadRequest("the body is not UTF-8".into()))?;
    let trimmed = text.trim_start();
    let as_list = trimmed.starts_with('[') || trimmed.starts_with('-');
    let parsed: Result<Vec<FaultSpec>, String> = if as_list {
        serde_saphyr::from_str::<Vec<FaultSpec>>(text).map_err(|e| first_line(&e.to_string()))
    } else {
        serde_saphyr::from_str::<FaultSpec>(text)
            .map(|f| vec![f])
            .map_err(|e| first_line(&e.to_string()))
    };
    let specs = parsed.map_err(|e| WixError::BadRequest(format!("invalid fault: {e}")))?;
    let problems: Vec<String> = specs
        .iter()
        .enumerate()
        .flat_map(|(i, f)| {
            let label = f.name.clone().unwrap_or_else(|| format!("[{i}]"));
            fault_problems(f)
                .into_iter()
                .map(move |p| format!("fault `{label}`: {p}"))
        })
        .collect();
    if problems.is_empty() {
        Ok(specs)
    } else {
        Err(WixError::BadRequest(problems.join("; ")))
    }
}

fn first_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("invalid")
        .trim_start_matches("error: ")
        .to_string()
}
