//! The dashboard at `/__admin/ui`: a static HTML shell, a stylesheet and a small vanilla script, all
//! embedded in the binary. The script reads and drives only the admin API, polling every 2 seconds.
//!
//! The three files hold no data, so they stay open when an admin token is set (see `OPEN_ADMIN_PATHS`
//! in routes/mod.rs): the page loads, and the script sends the token (from `?token=`, kept in
//! sessionStorage) as `Authorization: Bearer` on every API call, or asks for it.

use warp::Reply;
use warp::http::{HeaderValue, header};
use warp::reply::Response;

/// The dashboard's HTML shell.
const SHELL: &str = include_str!("../../assets/dashboard.html");
/// The dashboard's script: fetch JSON, render with DOM nodes (never HTML strings), poll.
const SCRIPT: &str = include_str!("../../assets/dashboard.js");
/// The dashboard's stylesheet.
const STYLE: &str = include_str!("../../assets/dashboard.css");

/// The paths of the dashboard's files, for the admin guard.
pub const UI_PATHS: &[&str] = &["/__admin/ui", "/__admin/ui/app.js", "/__admin/ui/style.css"];

/// What a browser may load on the dashboard: its own files and the admin API, nothing else. The
/// script builds DOM nodes from JSON with `textContent`, and this keeps it that way.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// GET /__admin/ui — the dashboard's HTML shell. Its links are relative (`state`, `ui/app.js`),
/// so under `/__ns/NAME/__admin/ui` they stay in the namespace; `/__admin/ui/` is sent to
/// `/__admin/ui` (relatively, so the prefix stays too), where they resolve.
pub async fn shell(req: &crate::request::Incoming) -> Response {
    if req.raw_path.len() > 1 && req.raw_path.ends_with('/') {
        let mut res = Response::new(warp::hyper::body::Bytes::new().into());
        *res.status_mut() = warp::http::StatusCode::PERMANENT_REDIRECT;
        res.headers_mut()
            .insert(header::LOCATION, HeaderValue::from_static("../ui"));
        return res;
    }
    asset(SHELL, "text/html; charset=utf-8")
}

/// GET /__admin/ui/app.js — the dashboard's script.
pub async fn script() -> Response {
    asset(SCRIPT, "text/javascript; charset=utf-8")
}

/// GET /__admin/ui/style.css — the dashboard's stylesheet.
pub async fn style() -> Response {
    asset(STYLE, "text/css; charset=utf-8")
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut res = Response::new(body.into());
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The files change with the binary; no-cache keeps an upgraded mock from serving a stale script.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res.into_response()
}
