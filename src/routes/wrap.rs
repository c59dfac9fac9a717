//! One pass per request: namespace, admin guard, routing, then the handler between the fault engine,
//! the journal and the conformance observer, as plain functions around one [`Incoming`].
//!
//! The request was read once by the filter in `routes/mod.rs`; nothing here rebuilds it or runs a
//! second route tree. The answer's bytes are read back only to be journaled, observed, and rewritten or
//! cut short when a fault says so.
//!
//! Admin paths (`/__admin/...`) pass straight to their handler: no faults, no journal.

use std::borrow::Cow;

use bytes::Bytes;
use tracing::Instrument;
use warp::Reply;
use warp::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use warp::reply::Response;

use super::{Incoming, admin_guard, dispatch, stubs};
use crate::app::App;
use crate::conformance::Observed;
use crate::endpoints::{self, Endpoint, Routed};
use crate::error::WixError;
use crate::faults::{Applied, Plan};
use crate::journal::Answered;
use crate::namespaces::{self, Namespaces};
use crate::scenario::faults::DropMode;
use crate::stubs::Found;

/// The header Wix puts its request id in: a `HeaderName` made once, since inserting by `&str`
/// checks and copies the name on every request (0.5 % of a token request, issue 13).
static REQUEST_ID: HeaderName = HeaderName::from_static("x-wix-request-id");

/// The namespace header's name, made once for the same reason.
static NAMESPACE: HeaderName = HeaderName::from_static(namespaces::HEADER);

/// Answers one request read by the filter: picks the namespace's app, then [`serve`]s.
pub async fn handle(
    all: &Namespaces,
    method: Method,
    full_path: &str,
    query: String,
    headers: HeaderMap,
    body: Result<Bytes, WixError>,
) -> Response {
    // A header value that is not visible ASCII cannot be a valid name: say so instead of ignoring it.
    let mut given = headers.get_all(&NAMESPACE).iter();
    let named = given.next().map(|v| v.to_str().unwrap_or("\u{fffd}"));
    if given.next().is_some() {
        // Two names: which one a proxy or client meant is unknowable, so neither wins (issue 18).
        return WixError::Validation(vec![crate::error::FieldViolation::new(
            "namespace",
            "REPEATED",
            format!("the {} header is given more than once", namespaces::HEADER),
        )])
        .into_response();
    }
    match namespaces::select(full_path, named) {
        None => {
            let app = all.default_app().clone();
            serve(
                all,
                app,
                method,
                full_path.to_string(),
                query,
                headers,
                body,
            )
            .await
        }
        Some(Err(e)) => e.into_response(),
        Some(Ok((name, path))) => {
            let app = all.app(&name);
            // The one log line per request then names the namespace.
            let span = tracing::info_span!("namespace", name = name.as_str());
            serve(all, app, method, path, query, headers, body)
                .instrument(span)
                .await
        }
    }
}

async fn serve(
    all: &Namespaces,
    app: App,
    method: Method,
    path: String,
    query: String,
    headers: HeaderMap,
    body: Result<Bytes, WixError>,
) -> Response {
    // The clock is read for the log line only when there is one (a clock read per request).
    let started = tracing::enabled!(tracing::Level::INFO).then(std::time::Instant::now);
    let admin_path = path.starts_with("/__admin");
    let (body, unreadable) = match body {
        Ok(body) => (body, None),
        Err(e) => (Bytes::new(), Some(e)),
    };
    let mut req = Incoming::new(method, path, query, headers, body);
    let res = if admin_path {
        admin(all, app, &req, unreadable).await
    } else {
        api(all, app, &mut req, unreadable).await
    };
    tracing::info!(
        method = req.method.as_str(),
        path = req.raw_path.as_str(),
        status = res.status().as_u16(),
        latency_us = started.map_or(0, |t| t.elapsed().as_micros() as u64),
        "request"
    );
    res
}

/// The endpoint a request routes to, with its path arguments, or the 404 or 405 it gets.
fn routed(req: &Incoming) -> Result<(&'static Endpoint, Vec<String>), WixError> {
    match endpoints::route(req.method.as_str(), &req.raw_path) {
        Routed::Found(endpoint, args) => {
            Ok((endpoint, args.into_iter().map(str::to_string).collect()))
        }
        Routed::MethodNotAllowed => Err(WixError::MethodNotAllowed),
        Routed::NotFound => Err(WixError::RouteNotFound),
    }
}

/// The admin API: the guard, then the handler; nothing journaled, no faults.
async fn admin(
    all: &Namespaces,
    app: App,
    req: &Incoming,
    unreadable: Option<WixError>,
) -> Response {
    if let Some(e) = unreadable {
        return e.into_response();
    }
    if let Err(e) = admin_guard(all, &app, &req.raw_path, &req.headers) {
        return e.into_response();
    }
    match routed(req) {
        Ok((endpoint, args)) => dispatch(endpoint.id, all, app, req, args).await,
        Err(e) => e.into_response(),
    }
}

/// Everything else: faults before, the handler, faults after, the journal and the observer.
async fn api(
    all: &Namespaces,
    app: App,
    req: &mut Incoming,
    unreadable: Option<WixError>,
) -> Response {
    let now = app.now();
    let scenario = app.scenario();
    let routed = routed(req);
    // No endpoint serves the path: a stub may (issue 15). Matched before the fault plan, so a
    // `match.stub` fault sees the stub's name.
    let mut found = None;
    // The endpoint table's own text of the path, when the request used a literal path as written.
    let mut literal = None;
    match &routed {
        Ok((endpoint, args)) => {
            req.endpoint = endpoint.fault_name;
            if args.is_empty() {
                literal = endpoint.paths.iter().copied().find(|p| *p == req.raw_path);
            }
        }
        Err(_) if unreadable.is_none() && app.recorder().is_some() => {}
        Err(_) if unreadable.is_none() && !app.stubs().is_empty() => {
            found = Some(app.match_stub(req));
        }
        Err(_) => {}
    }
    // With no fault armed or pending, nothing can change this request: skip the fault work. The
    // ids it derives (a token decode and a world lock) only serve fault and `expect:` matchers.
    let quiet = app.faults().is_quiet();
    if !quiet || !scenario.expect.is_empty() {
        app.derive_ids(req);
    }
    let plan = match &unreadable {
        None if !quiet => app.faults().plan(req, now, app.ids()),
        _ => Plan::default(),
    };
    if plan.delay_ms > 0 {
        // Real latency, as a client feels it; tests pause tokio's clock or use tiny delays.
        tokio::time::sleep(std::time::Duration::from_millis(plan.delay_ms)).await;
    }
    let early = match unreadable {
        Some(e) => Some(e),
        None if quiet => None,
        None => app.fault_before(req, &plan).or_else(|| plan.error.clone()),
    };
    let mut refusal = None;
    let mut near_misses = Vec::new();
    let res = match (early, routed, found) {
        (Some(e), _, _) => e.into_response(),
        (None, Ok((endpoint, args)), _) => dispatch(endpoint.id, all, app.clone(), req, args).await,
        (None, Err(_), None) if app.recorder().is_some() => {
            let (res, name) = stubs::record(&app, req).await;
            req.stub = name;
            res
        }
        (None, Err(_), Some(Found::Stub { stub, params })) => {
            let (res, why) = stubs::answer(&app, req, &stub, &params).await;
            refusal = why;
            res
        }
        (None, Err(e), Some(Found::Unmatched(near))) => {
            let res = stubs::unmatched(e, &near);
            near_misses = near;
            res
        }
        (None, Err(e), None) => e.into_response(),
    };
    let (mut parts, res_body) = res.into_parts();
    // Handlers answer with whole in-memory bodies: this only takes the bytes back, it waits on nothing.
    let mut bytes = super::whole(res_body).await.unwrap_or_default();
    let mut issued = req.issued.take();
    let applied = if plan.state.is_some()
        || !plan.expires.is_empty()
        || parts.headers.contains_key(header::LOCATION)
    {
        let before = bytes.clone();
        let applied =
            app.faults()
                .after(req, &plan, &mut parts.headers, &mut bytes, now, app.ids());
        if bytes != before {
            // The body was rewritten: let hyper count it again, and let the observer read what
            // was sent rather than what the handler issued.
            parts.headers.remove(header::CONTENT_LENGTH);
            issued = None;
        }
        applied
    } else {
        Applied::default()
    };
    // Wix sends a request id on every API answer, and the SDK quotes it in its errors (F-44); the
    // journal keeps it so the request an error names can be found.
    let request_id = app.next_request_id();
    if let Ok(v) = HeaderValue::from_str(request_id.as_str()) {
        parts.headers.insert(REQUEST_ID.clone(), v);
    }
    let entry = app.journal().record_full(
        crate::journal::Stamp(now),
        Answered {
            request_id,
            method: req.method.as_str(),
            path: match literal {
                Some(path) => Cow::Borrowed(path),
                None => Cow::Owned(req.raw_path.clone()),
            },
            raw_query: &req.raw_query,
            body: &req.params,
            status: parts.status.as_u16(),
            faults: plan.fired.clone(),
            stub: req.stub.clone(),
            near_misses,
        },
    );
    app.conformance().observe(
        Observed {
            entry: &entry,
            req,
            status: parts.status.as_u16(),
            headers: &parts.headers,
            body: &bytes,
            applied: &applied,
            now,
            instant: tokio::time::Instant::now(),
            refusal,
            issued: issued.as_ref(),
        },
        &scenario,
    );
    match plan.drop {
        None => Response::from_parts(parts, bytes.into()),
        Some(mode) => dropped(parts, bytes, mode),
    }
}

/// The answer as a `drop` effect sends it: nothing at all, or the head and half the body. Either
/// way the body stream fails, which makes hyper abort the connection instead of finishing it.
fn dropped(mut parts: warp::http::response::Parts, bytes: Bytes, mode: DropMode) -> Response {
    let broken = || std::io::Error::new(std::io::ErrorKind::ConnectionAborted, "fault: drop");
    // Step 0 yields the prefix, step 1 pauses once so hyper flushes what it has, step 2 fails.
    let prefix = match mode {
        // Nothing is flushed before the failure: the client sees the connection close, no answer.
        DropMode::Connection => None,
        DropMode::Truncated => {
            // The full length is announced, so the client knows the body was cut short.
            if let Ok(v) = HeaderValue::from_str(&bytes.len().to_string()) {
                parts.headers.insert(header::CONTENT_LENGTH, v);
            }
            Some(bytes.slice(..bytes.len() / 2))
        }
    };
    let start = if prefix.is_some() { 0 } else { 2 };
    let chunks = futures_util::stream::unfold((start, prefix), move |(step, prefix)| async move {
        match step {
            0 => Some((Ok(prefix.clone().unwrap_or_default()), (1, prefix))),
            1 => {
                tokio::task::yield_now().await;
                Some((Ok(Bytes::new()), (2, prefix)))
            }
            2 => Some((Err(broken()), (3, prefix))),
            _ => None,
        }
    });
    let (_, body) = warp::reply::stream(chunks).into_response().into_parts();
    Response::from_parts(parts, body)
}
