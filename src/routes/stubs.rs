//! Stubs over HTTP (issue 15): the answer of a matched stub, the 404 of an unmatched request with its
//! nearest misses, and the admin API `/__admin/stubs`. Matching, authorization and rendering are
//! `App` operations (`match_stub`, `answer_stub`); this module only turns their results into replies.

use serde_json::{Value, json};
use warp::Reply;
use warp::http::{HeaderName, HeaderValue, StatusCode};
use warp::reply::Response;

use crate::app::App;
use crate::error::WixError;
use crate::request::Incoming;
use crate::routes::json_response;
use crate::scenario::stubs::parse_file;
use crate::stubs::{Answer, Compiled, NearMiss, Refusal, describe};

/// A matched stub's answer (after its delay, real time, bounded), and why it refused, if it did.
pub async fn answer(
    app: &App,
    req: &Incoming,
    stub: &Compiled,
    params: &[(String, String)],
) -> (Response, Option<Refusal>) {
    match app.answer_stub(req, stub, params) {
        Answer::Refused(e, why) => (e.into_response(), Some(why)),
        Answer::Sent(r) => {
            if r.delay_ms > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(r.delay_ms)).await;
            }
            let mut res = Response::new(r.body.into());
            *res.status_mut() = StatusCode::from_u16(r.status).unwrap_or(StatusCode::OK);
            for (k, v) in r.headers {
                // Names were checked when the stub was loaded; a value that renders into something
                // a header cannot carry is left out rather than failing the answer.
                if let (Ok(k), Ok(v)) = (
                    HeaderName::from_bytes(k.as_bytes()),
                    HeaderValue::from_str(&v),
                ) {
                    res.headers_mut().append(k, v);
                }
            }
            (res, None)
        }
    }
}

/// Record mode: the upstream's answer, as it came (the stub file written is redacted), and the
/// name of that file's stub; `502` when the upstream cannot be asked.
pub async fn record(app: &App, req: &Incoming) -> (Response, Option<String>) {
    let Some(recorder) = app.recorder() else {
        return (WixError::RouteNotFound.into_response(), None);
    };
    match recorder.forward(req).await {
        Ok(x) => {
            let mut res = Response::new(x.body.into());
            *res.status_mut() = StatusCode::from_u16(x.status).unwrap_or(StatusCode::BAD_GATEWAY);
            if let Some(ct) = x
                .content_type
                .and_then(|ct| HeaderValue::from_str(&ct).ok())
            {
                res.headers_mut()
                    .insert(warp::http::header::CONTENT_TYPE, ct);
            }
            (res, Some(x.stub))
        }
        Err(message) => {
            tracing::warn!("record: {message}");
            let e = WixError::Injected {
                status: 502,
                body: json!({"message": message, "details": {"applicationError": {"code": "UPSTREAM_UNREACHABLE", "description": message, "data": {}}}}),
                headers: Vec::new(),
            };
            (e.into_response(), None)
        }
    }
}

/// The 404 for a path nothing serves: Wix's body, plus `nearMisses` when a stub came close
/// (INFERRED, docs/fidelity.md I-42: a mock extension).
pub fn unmatched(e: WixError, near: &[NearMiss]) -> Response {
    if near.is_empty() {
        return e.into_response();
    }
    let mut body = e.body();
    body["nearMisses"] = json!(near);
    json_response(e.status(), &body)
}

/// GET /__admin/stubs — every stub in matching order, with how many requests each matched, and the
/// states of the named scenarios.
pub async fn list(app: App) -> Response {
    let stubs: Vec<Value> = app.stubs().all().iter().map(|s| describe(s)).collect();
    json_response(
        StatusCode::OK,
        &json!({"count": stubs.len(), "stubs": stubs, "states": app.stubs().states()}),
    )
}

/// POST /__admin/stubs — adds one stub, a list, or `{stubs: [...]}` (YAML or JSON); `201 {"added": [names]}`.
pub async fn add(app: App, req: &Incoming) -> Response {
    let Ok(text) = std::str::from_utf8(&req.body) else {
        return WixError::BadRequest("the body is not UTF-8".into()).into_response();
    };
    let specs = match parse_file(text) {
        Ok(s) => s,
        Err(e) => return WixError::BadRequest(format!("invalid stub: {e}")).into_response(),
    };
    match app.stubs().add(specs) {
        Ok(names) => json_response(StatusCode::CREATED, &json!({"added": names})),
        Err(problems) => WixError::BadRequest(problems.join("; ")).into_response(),
    }
}

/// DELETE /__admin/stubs — removes every stub (the scenario's too, until a reset).
pub async fn clear(app: App) -> Response {
    let names: Vec<String> = app.stubs().all().iter().map(|s| s.name.clone()).collect();
    for name in &names {
        app.stubs().remove(name);
    }
    json_response(StatusCode::OK, &json!({"removed": names.len()}))
}

/// POST /__admin/stubs/reset — back to the scenario's stubs, sequences and states at their start.
pub async fn reset(app: App) -> Response {
    app.stubs().replace(&app.scenario().stubs);
    json_response(StatusCode::OK, &json!({"stubs": app.stubs().len()}))
}

/// GET /__admin/stubs/{name}
pub async fn get(app: App, name: String) -> Response {
    match app.stubs().get(&name) {
        Some(s) => json_response(StatusCode::OK, &describe(&s)),
        None => not_found(&name).into_response(),
    }
}

/// DELETE /__admin/stubs/{name}
pub async fn remove(app: App, name: String) -> Response {
    if app.stubs().remove(&name) {
        json_response(StatusCode::OK, &json!({"removed": name}))
    } else {
        not_found(&name).into_response()
    }
}

fn not_found(name: &str) -> WixError {
    WixError::NotFound {
        code: "STUB_NOT_FOUND",
        message: format!("no stub is named `{name}`"),
    }
}
