//! `GET /__admin/clock` and `POST /__admin/clock`: the virtual clock.

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use warp::http::StatusCode;
use warp::reply::Response;

use crate::app::App;
use crate::clock::ClockStatus;
use crate::error::WixError;
use crate::request::Incoming;
use crate::routes::{json_response, reply_json};

/// GET /__admin/clock — the clock's status.
pub async fn get(app: App) -> Response {
    json_response(StatusCode::OK, &app.clock().status())
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
pub async fn set(app: App, req: &Incoming) -> Response {
    reply_json(move_clock(&req.body, &app))
}

fn move_clock(body: &[u8], app: &App) -> Result<ClockStatus, WixError> {
    let cmd: ClockCommand = super::parse_body(body, "clock command")?;
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
