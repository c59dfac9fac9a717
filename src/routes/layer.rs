//! The layer around every route: faults, the journal and the conformance observer.
//!
//! A fault must match on body fields (`grant_type`, `client_id`) before the route runs, but a warp
//! body can be read only once. So the layer reads the request itself, then hands a rebuilt copy to
//! the routes through `warp::service`, on a task of its own (warp's request context is a scoped
//! thread-local that must not nest). The answer comes back as bytes the layer can rewrite, journal,
//! observe, and finally send whole, cut short, or not at all.
//!
//! Admin paths (`/__admin/...`) pass straight through: no faults, no journal.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use tower_service::Service;
use warp::filters::BoxedFilter;
use warp::http::{HeaderMap, HeaderValue, Method, Request, Uri, header};
use warp::path::FullPath;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use super::{body_bytes, raw_query, with_app};
use crate::app::App;
use crate::conformance::Observed;
use crate::error::{Rejected, WixError};
use crate::faults::{Applied, Plan, RequestView};
use crate::ids::rfc3339_millis;
use crate::journal::Answered;
use crate::scenario::faults::DropMode;

/// Wraps the routes (already recovering their rejections) in the fault and journal layer.
pub fn wrap(app: App, api: BoxedFilter<(Response,)>) -> BoxedFilter<(Response,)> {
    let service = warp::service(api);
    warp::method()
        .and(warp::path::full())
        .and(raw_query())
        .and(warp::header::headers_cloned())
        .and(body_or_error())
        .and(with_app(app))
        .then(
            move |method: Method,
                  path: FullPath,
                  query: String,
                  headers: HeaderMap,
                  body: Result<Bytes, WixError>,
                  app: App| {
                let service = service.clone();
                async move {
                    let started = std::time::Instant::now();
                    let path = path.as_str().to_string();
                    let res = handle(
                        service,
                        app,
                        method.clone(),
                        path.clone(),
                        query,
                        headers,
                        body,
                    )
                    .await;
                    // One line per request at info; the path only, since queries can carry codes.
                    tracing::info!(
                        method = method.as_str(),
                        path = path.as_str(),
                        status = res.status().as_u16(),
                        latency_us = started.elapsed().as_micros() as u64,
                        "request"
                    );
                    res
                }
            },
        )
        .boxed()
}

/// The body, or the error that reading it gave (too large, unreadable), so the layer still answers
/// and journals the request.
fn body_or_error() -> impl Filter<Extract = (Result<Bytes, WixError>,), Error = Infallible> + Clone
{
    body_bytes()
        .map(Ok)
        .or_else(|rejection: Rejection| async move {
            let err = rejection
                .find::<Rejected>()
                .map(|r| r.0.clone())
                .unwrap_or_else(|| WixError::BadRequest("unreadable request body".into()));
            Ok::<_, Infallible>((Err(err),))
        })
}

/// The routes as a service (warp does not name the type).
trait Routes:
    Service<Request<Full<Bytes>>, Response = Response, Error = Infallible, Future: Send>
    + Clone
    + Send
    + 'static
{
}

impl<S> Routes for S where
    S: Service<Request<Full<Bytes>>, Response = Response, Error = Infallible, Future: Send>
        + Clone
        + Send
        + 'static
{
}

async fn handle(
    service: impl Routes,
    app: App,
    method: Method,
    path: String,
    query: String,
    headers: HeaderMap,
    body: Result<Bytes, WixError>,
) -> Response {
    if path.starts_with("/__admin") {
        return match body {
            Ok(body) => call_routes(service, method, &path, &query, headers, body).await,
            Err(e) => e.into_response(),
        };
    }
    let now = app.now();
    let scenario = app.scenario();
    let body_result = body;
    let body = body_result.clone().unwrap_or_default();
    let mut req = RequestView::new(method.as_str(), &path, &query, headers.clone(), &body);
    // With no fault armed or pending, nothing can change this request: skip the fault work. The
    // ids it derives (a token decode and a world lock) only serve fault and `expect:` matchers.
    let quiet = app.faults().is_quiet();
    if !quiet || !scenario.expect.is_empty() {
        app.with_world(|w, _, _| req.derive_ids(w));
    }
    let plan = match &body_result {
        Ok(_) if !quiet => app.faults().plan(&req, now, app.ids()),
        _ => Plan::default(),
    };
    if plan.delay_ms > 0 {
        // Real latency, as a client feels it; tests pause tokio's clock or use tiny delays.
        tokio::time::sleep(std::time::Duration::from_millis(plan.delay_ms)).await;
    }
    let early = match body_result {
        Err(e) => Some(e),
        Ok(_) if quiet => None,
        Ok(_) => app
            .with_world(|w, now, _| app.faults().before(w, &req, &plan, now))
            .or_else(|| plan.error.clone()),
    };
    let res = match early {
        Some(e) => e.into_response(),
        None => call_routes(service, method.clone(), &path, &query, headers, body).await,
    };
    let (mut parts, res_body) = res.into_parts();
    let mut bytes = match res_body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let applied = if plan.state.is_some()
        || !plan.expires.is_empty()
        || parts.headers.contains_key(header::LOCATION)
    {
        app.faults()
            .after(&req, &plan, &mut parts.headers, &mut bytes, now, app.ids())
    } else {
        Applied::default()
    };
    // The body may have been rewritten: let hyper count it again.
    parts.headers.remove(header::CONTENT_LENGTH);
    let entry = app.journal().record_full(
        rfc3339_millis(now),
        Answered {
            method: method.as_str(),
            path: &path,
            raw_query: &query,
            body: &req.params,
            status: parts.status.as_u16(),
            faults: plan.fired.clone(),
        },
    );
    app.conformance().observe(
        Observed {
            entry: &entry,
            req: &req,
            status: parts.status.as_u16(),
            headers: &parts.headers,
            body: &bytes,
            applied: &applied,
            now,
            instant: tokio::time::Instant::now(),
        },
        &scenario,
    );
    match plan.drop {
        None => Response::from_parts(parts, bytes.into()),
        Some(mode) => dropped(parts, bytes, mode),
    }
}

/// Runs the routes on a rebuilt request, on a task of its own (see the module docs).
async fn call_routes(
    mut service: impl Routes,
    method: Method,
    path: &str,
    query: &str,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let uri = if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{query}")
    };
    let mut req = Request::new(Full::new(body));
    *req.method_mut() = method;
    *req.uri_mut() = uri.parse::<Uri>().unwrap_or_else(|_| Uri::from_static("/"));
    *req.headers_mut() = headers;
    match tokio::spawn(async move { service.call(req).await }).await {
        Ok(Ok(res)) => res,
        Ok(Err(never)) => match never {},
        // A panicking route is a bug; let it surface as it would without the layer.
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => WixError::BadRequest("the request was cancelled".into()).into_response(),
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
