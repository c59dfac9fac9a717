//! Responses: JSON, redirects, and [`WixError`] as Wix sends it. The only place warp meets the
//! error type.

use warp::Reply;
use warp::http::{HeaderValue, StatusCode, header};
use warp::reply::Response;

use crate::error::WixError;

impl warp::Reply for WixError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let WixError::InstallerPage(reason) = &self {
            let mut res = crate::pages::installer_error(reason).into_response();
            *res.status_mut() = status;
            return res;
        }
        let mut res = warp::reply::json(&self.body()).into_response();
        *res.status_mut() = status;
        if let WixError::Injected { headers, .. } = &self {
            for (k, v) in headers {
                // Checked when the fault was loaded; an invalid one is skipped rather than panicking.
                if let (Ok(k), Ok(v)) = (
                    warp::http::HeaderName::from_bytes(k.as_bytes()),
                    HeaderValue::from_str(v),
                ) {
                    res.headers_mut().insert(k, v);
                }
            }
        }
        if matches!(self, WixError::MethodNotAllowed) {
            // RFC 9110 asks for Allow on 405; the mock does not know the allowed set per path, so it
            // names the methods it serves at all.
            res.headers_mut().insert(
                header::ALLOW,
                HeaderValue::from_static("GET, POST, PUT, PATCH, DELETE"),
            );
        }
        res
    }
}

/// A [`WixError`] raised from inside a filter (body too large, unreadable).
#[derive(Debug)]
pub struct Rejected(pub WixError);

impl warp::reject::Reject for Rejected {}

/// Serialises a handler's result: the value as JSON with 200, or the error as Wix sends it.
pub fn reply_json<T: serde::Serialize>(result: Result<T, WixError>) -> Response {
    match result {
        Ok(value) => json_response(StatusCode::OK, &value),
        Err(e) => e.into_response(),
    }
}

/// Like [`reply_json`], with the tokens the value carries attached for the conformance observer
/// (so it need not parse the answer back).
pub fn reply_tokens<T: crate::jwt::WriteJson>(
    req: &super::Incoming,
    result: Result<T, WixError>,
    issued: impl FnOnce(&T) -> crate::conformance::Issued,
) -> Response {
    match result {
        Ok(value) => {
            let tokens = issued(&value);
            // Written by the answer itself (the tokens copied, not escaped byte by byte), into a
            // buffer sized once for a token answer.
            let mut body = Vec::with_capacity(1024);
            value.write_json(&mut body);
            // A handler answers once, so the cell is empty.
            let _ = req.issued.set(tokens);
            json_bytes(StatusCode::OK, body)
        }
        Err(e) => e.into_response(),
    }
}

/// `value` as a JSON response with `status`.
pub fn json_response<T: serde::Serialize>(status: StatusCode, value: &T) -> Response {
    // As `warp::reply::json`, with the buffer sized once for a token answer (~850 bytes) instead
    // of grown from 128 bytes by reallocation (issue 13).
    let mut body = Vec::with_capacity(1024);
    if let Err(e) = serde_json::to_writer(&mut body, value) {
        // The mock's own types always serialise; warp answers the same way if one ever did not.
        tracing::error!("reply::json error: {e}");
        let mut res = Response::new(Vec::new().into());
        *res.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        return res;
    }
    json_bytes(status, body)
}

/// `body`, already JSON, as a response with `status`.
fn json_bytes(status: StatusCode, body: Vec<u8>) -> Response {
    let mut res = Response::new(body.into());
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    *res.status_mut() = status;
    res
}

/// A `302 Found` to `location`, or the error page when the handler failed.
pub fn reply_redirect(result: Result<String, WixError>) -> Response {
    match result {
        Ok(location) => redirect(&location),
        Err(e) => e.into_response(),
    }
}

/// A `302 Found` to `location`.
pub fn redirect(location: &str) -> Response {
    let mut res = warp::reply::html("").into_response();
    *res.status_mut() = StatusCode::FOUND;
    match HeaderValue::from_str(location) {
        Ok(v) => {
            res.headers_mut().insert(header::LOCATION, v);
            res
        }
        // Every location is built with `url`, which percent-encodes; kept for safety.
        Err(_) => {
            WixError::InstallerPage("cannot redirect to an invalid URL".into()).into_response()
        }
    }
}
