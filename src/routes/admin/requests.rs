//! `/__admin/requests`: the request journal, filtered (`GET`), cleared (`DELETE`), and waited on
//! (`POST /__admin/requests/wait`).

use serde::Deserialize;
use serde_json::json;
use warp::Reply;
use warp::http::StatusCode;
use warp::reply::Response;

use crate::app::App;
use crate::error::WixError;
use crate::faults::path_matches;
use crate::journal::Entry;
use crate::namespaces::Namespaces;
use crate::request::{Incoming, query_params};
use crate::routes::{json_response, reply_json};

/// Longest a `requests/wait` may block, in milliseconds.
pub const MAX_WAIT_MS: u64 = 60_000;

/// GET /__admin/requests?path=&method=&status=&since=&fault= — the journal, filtered, with a count.
pub async fn list(app: App, req: &Incoming) -> Response {
    reply_json(JournalFilter::from_query(&req.raw_query).map(|filter| {
        let entries = filter.select(&app);
        json!({"count": entries.len(), "requests": entries})
    }))
}

/// DELETE /__admin/requests — clears the journal.
pub async fn clear(app: App) -> Response {
    app.journal().clear();
    json_response(StatusCode::OK, &json!({"status": "cleared"}))
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
    /// Only the entry whose answer carried this `x-wix-request-id` (what an SDK error quotes).
    request_id: Option<String>,
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
            request_id: q.remove("request_id"),
        };
        if let Some(k) = q.keys().next() {
            return Err(WixError::BadRequest(format!(
                "unknown filter `{k}` (use path, method, status, since, fault, request_id)"
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
            && self.request_id.as_ref().is_none_or(|r| e.request_id == **r)
            && self.since.as_ref().is_none_or(|s| match s.parse::<u64>() {
                Ok(id) => e.id > id,
                // Compared as the entry shows its time: cut to milliseconds.
                Err(_) => s
                    .parse::<chrono::DateTime<chrono::Utc>>()
                    .is_ok_and(|since| chrono::SubsecRound::trunc_subsecs(e.time.0, 3) >= since),
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
pub async fn wait(all: &Namespaces, app: App, req: &Incoming) -> Response {
    let wait: WaitFor = match super::parse_body(&req.body, "wait request") {
        Ok(w) => w,
        Err(e) => return e.into_response(),
    };
    let filter = JournalFilter {
        path: wait.path,
        method: wait.method,
        status: wait.status,
        since: wait.since,
        fault: wait.fault,
        request_id: None,
    };
    if let Err(e) = filter.check() {
        return e.into_response();
    }
    if wait.timeout_ms > MAX_WAIT_MS {
        return WixError::BadRequest(format!("timeout_ms must be at most {MAX_WAIT_MS}"))
            .into_response();
    }
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_millis(wait.timeout_ms);
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
        tokio::select! {
            arrived = tokio::time::timeout_at(deadline, arrival) => {
                if arrived.is_err() {
                    return json_response(
                        StatusCode::REQUEST_TIMEOUT,
                        &json!({"matched": false, "count": entries.len(), "requests": entries}),
                    );
                }
            }
            () = all.stopping() => {
                return WixError::Unavailable {
                    code: "SHUTTING_DOWN",
                    message: "the mock is shutting down".into(),
                }
                .into_response();
            }
        }
    }
}
