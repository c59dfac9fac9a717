//! `GET /__admin/conformance[?format=text]`: the client's violations with their requests, and the
//! `expect:` results.

use warp::http::StatusCode;
use warp::reply::Response;

use crate::app::App;
use crate::conformance::render_text;
use crate::request::{Incoming, query_params};
use crate::routes::json_response;

/// GET /__admin/conformance — JSON, or text for people with `?format=text`.
pub async fn get(app: App, req: &Incoming) -> Response {
    let value = serde_json::to_value(app.conformance_report()).unwrap_or_default();
    let text = query_params(&req.raw_query)
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
}
