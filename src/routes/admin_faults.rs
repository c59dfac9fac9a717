//! The admin API for faults, verification, conformance and live reload:
//!
//! - `POST /__admin/faults` arms faults (one spec or a list, YAML or JSON), `GET` lists them with
//!   their counters, `DELETE` disarms all of them (or `?name=` one); `GET /__admin/faults/presets`
//!   lists the scenario library's faults and the error presets, ready to post;
//! - `GET /__admin/requests?path=&method=&status=&since=&fault=` filters the journal;
//!   `POST /__admin/requests/wait` blocks until enough matching requests arrived or a timeout;
//! - `GET /__admin/conformance` (`?format=text` for people) reports the client's violations;
//! - `PUT /__admin/scenario` replaces the scenario, validated first: on error nothing changes.

use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;

use super::{body_bytes, json_response, query_params, raw_query, reply_json, with_app};
use crate::app::App;
use crate::conformance::render_text;
use crate::error::WixError;
use crate::faults::path_matches;
use crate::journal::Entry;
use crate::scenario::Scenario;
use crate::scenario::faults::{FaultSpec, fault_problems};
use crate::scenario::library::fault_presets;

/// Longest a `requests/wait` may block, in milliseconds.
pub const MAX_WAIT_MS: u64 = 60_000;

/// The routes of this file.
pub fn routes(app: App) -> BoxedFilter<(Response,)> {
    faults_route(app.clone())
        .or(requests_route(app.clone()))
        .unify()
        .or(wait_route(app.clone()))
        .unify()
        .or(conformance_route(app.clone()))
        .unify()
        .or(reload_route(app))
        .unify()
        .boxed()
}

/// POST /__admin/faults — arm; GET — list; DELETE [?name=…] — disarm; GET /__admin/faults/presets —
/// the library's faults (`{presets: [{id, group, description, faults}]}`; post `faults` to arm one).
fn faults_route(app: App) -> BoxedFilter<(Response,)> {
    let post = warp::path!("__admin" / "faults")
        .and(warp::post())
        .and(body_bytes())
        .and(with_app(app.clone()))
        .then(|body: Bytes, app: App| async move {
            match parse_faults(&body) {
                Ok(specs) => {
                    let names = app.faults().arm(specs);
                    json_response(StatusCode::CREATED, &json!({"armed": names}))
                }
                Err(e) => {
                    use warp::Reply;
                    e.into_response()
                }
            }
        });
    let get = warp::path!("__admin" / "faults")
        .and(warp::get())
        .and(with_app(app.clone()))
        .map(|app: App| json_response(StatusCode::OK, &json!({"faults": app.faults().list()})));
    let delete = warp::path!("__admin" / "faults")
        .and(warp::delete())
        .and(raw_query())
        .and(with_app(app))
        .map(|query: String, app: App| {
            let q = query_params(&query).unwrap_or_default();
            let removed = app.faults().clear(q.get("name").map(String::as_str));
            json_response(StatusCode::OK, &json!({"removed": removed}))
        });
    let presets = warp::path!("__admin" / "faults" / "presets")
        .and(warp::get())
        .map(|| json_response(StatusCode::OK, &json!({"presets": fault_presets()})));
    post.or(get)
        .unify()
        .or(delete)
        .unify()
        .or(presets)
        .unify()
        .boxed()
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

/// Which journal entries a query or a wait is about.
#[derive(Debug, Default, Clone)]
struct JournalFilter {
    /// Exact path, or a prefix ending in `*`.
    path: Option<String>,
    method: Option<String>,
    /// `429`, or a class like `4xx`.
    status: Option<String>,
    /// A journal id (entries after it) or an RFC 3339 time (entries at or after it).
    since: Option<String>,
    /// Only entries on which this fault fired.
    fault: Option<String>,
}

impl JournalFilter {
    fn from_query(raw: &str) -> Result<JournalFilter, WixError> {
        let mut q = query_params(raw).map_err(WixError::BadRequest)?;
        let f = JournalFilter {
            path: q.remove("path"),
            method: q.remove("method"),
            status: q.remove("status"),
            since: q.remove("since"),
            fault: q.remove("fault"),
        };
        if let Some(k) = q.keys().next() {
            return Err(WixError::BadRequest(format!(
                "unknown filter `{k}` (use path, method, status, since, fault)"
            )));
        }
        f.check()?;
        Ok(f)
    }

    fn check(&self) -> Result<(), WixError> {
        if let Some(s) = &self.status
            && !status_pattern_ok(s)
        {
            return Err(WixError::BadRequest(format!(
                "status `{s}` is neither a status like 429 nor a class like 4xx"
            )));
        }
        if let Some(s) = &self.since
            && s.parse::<u64>().is_err()
            && s.parse::<chrono::DateTime<chrono::Utc>>().is_err()
        {
            return Err(WixError::BadRequest(format!(
                "since `{s}` is neither a journal id nor an RFC 3339 time"
            )));
        }
        Ok(())
    }

    fn accepts(&self, e: &Entry) -> bool {
        self.path.as_ref().is_none_or(|p| path_matches(p, &e.path))
            && self
                .method
                .as_ref()
                .is_none_or(|m| m.eq_ignore_ascii_case(&e.method))
            && self
                .status
                .as_ref()
                .is_none_or(|s| status_matches(s, e.status))
            && self.fault.as_ref().is_none_or(|f| e.faults.contains(f))
            && self.since.as_ref().is_none_or(|s| match s.parse::<u64>() {
                Ok(id) => e.id > id,
                // Both sides are RFC 3339 UTC with milliseconds, so they compare as times.
                Err(_) => match (
                    s.parse::<chrono::DateTime<chrono::Utc>>(),
                    e.time.parse::<chrono::DateTime<chrono::Utc>>(),
                ) {
                    (Ok(since), Ok(at)) => at >= since,
                    _ => false,
                },
            })
    }

    fn select(&self, app: &App) -> Vec<Entry> {
        app.journal()
            .entries()
            .into_iter()
            .filter(|e| self.accepts(e))
            .collect()
    }
}

fn status_pattern_ok(s: &str) -> bool {
    let b = s.as_bytes();
    s.parse::<u16>().is_ok_and(|n| (100..=599).contains(&n))
        || (b.len() == 3 && (b'1'..=b'5').contains(&b[0]) && s[1..].eq_ignore_ascii_case("xx"))
}

fn status_matches(pattern: &str, status: u16) -> bool {
    match pattern.parse::<u16>() {
        Ok(n) => n == status,
        Err(_) => pattern.as_bytes().first().map(|c| (c - b'0') as u16) == Some(status / 100),
    }
}

/// GET /__admin/requests?path=&method=&status=&since=&fault= — the journal, filtered, with a count.
fn requests_route(app: App) -> BoxedFilter<(Response,)> {
    warp::path!("__admin" / "requests")
        .and(warp::get())
        .and(raw_query())
        .and(with_app(app))
        .then(|query: String, app: App| async move {
            let filter = JournalFilter::from_query(&query)?;
            let entries = filter.select(&app);
            Ok(json!({"count": entries.len(), "requests": entries}))
        })
        .map(reply_json)
        .boxed()
}

/// `POST /__admin/requests/wait` body: a filter, how many, and how long.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WaitFor {
    path: Option<String>,
    method: Option<String>,
    status: Option<String>,
    since: Option<String>,
    fault: Option<String>,
    /// How many matching entries to wait for (1 by default).
    #[serde(default = "one")]
    count: usize,
    /// How long to wait, in real milliseconds (5000 by default, at most [`MAX_WAIT_MS`]).
    #[serde(default = "five_seconds")]
    timeout_ms: u64,
}

fn one() -> usize {
    1
}
fn five_seconds() -> u64 {
    5000
}

/// POST /__admin/requests/wait — `{path?, method?, status?, since?, fault?, count?, timeout_ms?}`;
/// 200 with the matching requests once there are `count` of them, 408 with what there is at the
/// timeout (a non-2xx, so `curl --fail` in a script notices).
fn wait_route(app: App) -> BoxedFilter<(Response,)> {
    warp::path!("__admin" / "requests" / "wait")
        .and(warp::post())
        .and(body_bytes())
        .and(with_app(app))
        .then(|body: Bytes, app: App| async move {
            let text = if body.iter().all(u8::is_ascii_whitespace) {
                &b"{}"[..]
            } else {
                &body[..]
            };
            let wait: WaitFor = match serde_json::from_slice(text) {
                Ok(w) => w,
                Err(e) => {
                    return WixError::BadRequest(format!("invalid wait request: {e}")).into_resp();
                }
            };
            let filter = JournalFilter {
                path: wait.path,
                method: wait.method,
                status: wait.status,
                since: wait.since,
                fault: wait.fault,
            };
            if let Err(e) = filter.check() {
                return e.into_resp();
            }
            if wait.timeout_ms > MAX_WAIT_MS {
                return WixError::BadRequest(format!("timeout_ms must be at most {MAX_WAIT_MS}"))
                    .into_resp();
            }
            let deadline =
                tokio::time::Instant::now() + std::time::Duration::from_millis(wait.timeout_ms);
            loop {
                // Registered before looking, so an entry recorded in between still wakes us.
                let arrival = app.journal().arrival();
                let entries = filter.select(&app);
                if entries.len() >= wait.count {
                    return json_response(
                        StatusCode::OK,
                        &json!({"matched": true, "count": entries.len(), "requests": entries}),
                    );
                }
                if tokio::time::timeout_at(deadline, arrival).await.is_err() {
                    return json_response(
                        StatusCode::REQUEST_TIMEOUT,
                        &json!({"matched": false, "count": entries.len(), "requests": entries}),
                    );
                }
            }
        })
        .boxed()
}

trait IntoResp {
    fn into_resp(self) -> Response;
}

impl IntoResp for WixError {
    fn into_resp(self) -> Response {
        use warp::Reply;
        self.into_response()
    }
}

/// GET /__admin/conformance[?format=text] — violations with their requests, and `expect:` results.
fn conformance_route(app: App) -> BoxedFilter<(Response,)> {
    warp::path!("__admin" / "conformance")
        .and(warp::get())
        .and(raw_query())
        .and(with_app(app))
        .map(|query: String, app: App| {
            let scenario = app.scenario();
            let report = app.with_world(|w, _, _| app.conformance().report(&scenario, w));
            let value = serde_json::to_value(&report).unwrap_or_default();
            let text = query_params(&query)
                .ok()
                .and_then(|q| q.get("format").cloned())
                .is_some_and(|f| f == "text");
            if text {
                let mut res = warp::http::Response::new(render_text(&value).into());
                res.headers_mut().insert(
                    warp::http::header::CONTENT_TYPE,
                    warp::http::HeaderValue::from_static("text/plain; charset=utf-8"),
                );
                res
            } else {
                json_response(StatusCode::OK, &value)
            }
        })
        .boxed()
}

/// PUT /__admin/scenario — the body (YAML or JSON) replaces the scenario and resets the state; a
/// bad one is refused with `<request body>:line:col: message` lines and the old one stays.
fn reload_route(app: App) -> BoxedFilter<(Response,)> {
    warp::path!("__admin" / "scenario")
        .and(warp::put())
        .and(body_bytes())
        .and(with_app(app))
        .then(|body: Bytes, app: App| async move {
            let text = std::str::from_utf8(&body)
                .map_err(|_| WixError::BadRequest("the scenario is not UTF-8".into()))?;
            let scenario = Scenario::parse(text, "<request body>")
                .map_err(|e| WixError::BadRequest(e.to_string()))?;
            let name = scenario.name.clone();
            app.replace_scenario(scenario, "request body");
            Ok(json!({"status": "reloaded", "scenario": name, "clock": app.clock().status()}))
        })
        .map(reply_json)
        .boxed()
}
