//! The admin API under `/__admin/` (the WireMock convention): health, the virtual clock, reset, the
//! loaded scenario, the live state and the request journal. Plain JSON routes that tests drive.

use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::json;
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;

use super::{body_bytes, json_response, reply_json, with_app};
use crate::app::App;
use crate::clock::ClockStatus;
use crate::error::WixError;

/// The admin routes.
pub fn routes(app: App) -> BoxedFilter<(Response,)> {
    let health = warp::path!("__admin" / "health")
        .and(warp::get())
        .map(|| json_response(StatusCode::OK, &json!({"status": "ok"})));
    let clock_get = warp::path!("__admin" / "clock")
        .and(warp::get())
        .and(with_app(app.clone()))
        .map(|app: App| json_response(StatusCode::OK, &app.clock().status()));
    let ready = warp::path!("__admin" / "ready")
        .and(warp::get())
        .and(with_app(app.clone()))
        .map(|app: App| {
            // The scenario is loaded before the listener is bound, so a server that answers is ready.
            json_response(
                StatusCode::OK,
                &json!({"status": "ready", "scenario": app.scenario().name}),
            )
        });
    let version = warp::path!("__admin" / "version").and(warp::get()).map(|| {
        json_response(
            StatusCode::OK,
            &json!({"name": env!("CARGO_PKG_NAME"), "version": env!("CARGO_PKG_VERSION")}),
        )
    });
    health
        .or(ready)
        .unify()
        .or(version)
        .unify()
        .boxed()
        .or(clock_get)
        .unify()
        .or(clock_route(app.clone()))
        .unify()
        .or(reset_route(app.clone()))
        .unify()
        .or(scenario_route(app.clone()))
        .unify()
        .or(state_route(app.clone()))
        .unify()
        .or(requests_route(app))
        .unify()
        .boxed()
}

/// `POST /__admin/clock` body: exactly one of the actions.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockCommand {
    /// Move forward by this many seconds (negative moves back).
    advance_secs: Option<i64>,
    /// Jump to this RFC 3339 time.
    set: Option<DateTime<Utc>>,
    /// `true` stops the clock, `false` lets it run.
    freeze: Option<bool>,
    /// `true` lets the clock run (same as `freeze: false`).
    resume: Option<bool>,
}

/// POST /__admin/clock — `{"advance_secs": 3600}`, `{"set": "2026-01-01T00:00:00Z"}`,
/// `{"freeze": true}` or `{"resume": true}`; answers the clock's new status.
fn clock_route(app: App) -> BoxedFilter<(Response,)> {
    warp::path!("__admin" / "clock")
        .and(warp::post())
        .and(body_bytes())
        .and(with_app(app))
        .then(move_clock)
        .map(reply_json)
        .boxed()
}

async fn move_clock(body: Bytes, app: App) -> Result<ClockStatus, WixError> {
    let cmd: ClockCommand = serde_json::from_slice(&body)
        .map_err(|e| WixError::BadRequest(format!("invalid clock command: {e}")))?;
    let clock = app.clock();
    let actions = [
        cmd.advance_secs.is_some(),
        cmd.set.is_some(),
        cmd.freeze.is_some(),
        cmd.resume.is_some(),
    ];
    if actions.iter().filter(|a| **a).count() != 1 {
        return Err(WixError::BadRequest(
            "give exactly one of advance_secs, set, freeze, resume".into(),
        ));
    }
    // The clock keeps within [1970, ~9899] so that "now + any TTL" cannot overflow; a command that
    // would leave that range is refused rather than silently clamped.
    if let Some(secs) = cmd.advance_secs {
        let target = Duration::try_seconds(secs).and_then(|d| clock.now().checked_add_signed(d));
        if !target.is_some_and(crate::clock::in_range) {
            return Err(WixError::BadRequest(format!(
                "advance_secs would move the clock outside {} .. {}",
                crate::ids::rfc3339_millis(crate::clock::earliest()),
                crate::ids::rfc3339_millis(crate::clock::latest())
            )));
        }
        clock.advance(Duration::seconds(secs));
    }
    if cmd.set.is_some_and(|at| !crate::clock::in_range(at)) {
        return Err(WixError::BadRequest(format!(
            "set must be between {} and {}",
            crate::ids::rfc3339_millis(crate::clock::earliest()),
            crate::ids::rfc3339_millis(crate::clock::latest())
        )));
    }
    if let Some(at) = cmd.set {
        clock.set(at);
    }
    match (cmd.freeze, cmd.resume) {
        (Some(true), _) => clock.freeze(),
        (Some(false), _) | (_, Some(true)) => clock.resume(),
        _ => {}
    }
    Ok(clock.status())
}

/// POST /__admin/reset — back to the scenario's initial state: world, clock, seed and journal.
fn reset_route(app: App) -> BoxedFilter<(Response,)> {
    warp::path!("__admin" / "reset")
        .and(warp::post())
        .and(with_app(app))
        .map(|app: App| {
            app.reset();
            json_response(
                StatusCode::OK,
                &json!({"status": "reset", "clock": app.clock().status()}),
            )
        })
        .boxed()
}

/// GET /__admin/scenario — the loaded scenario, secrets included (this is a test tool).
fn scenario_route(app: App) -> BoxedFilter<(Response,)> {
    warp::path!("__admin" / "scenario")
        .and(warp::get())
        .and(with_app(app))
        .map(|app: App| {
            json_response(
                StatusCode::OK,
                &json!({"origin": app.scenario_origin(), "scenario": &*app.scenario()}),
            )
        })
        .boxed()
}

/// GET /__admin/state — apps, sites, instances with setup status, live codes and tokens.
fn state_route(app: App) -> BoxedFilter<(Response,)> {
    warp::path!("__admin" / "state")
        .and(warp::get())
        .and(with_app(app))
        .map(|app: App| json_response(StatusCode::OK, &app.state()))
        .boxed()
}

/// DELETE /__admin/requests clears the journal (GET, with filters, is in admin_faults.rs).
fn requests_route(app: App) -> BoxedFilter<(Response,)> {
    warp::path!("__admin" / "requests")
        .and(warp::delete())
        .and(with_app(app))
        .map(|app: App| {
            app.journal().clear();
            json_response(StatusCode::OK, &json!({"status": "cleared"}))
        })
        .boxed()
}
