//! The HTTP surface: every route, the filters they share, and the journal around them.
//!
//! Each area (`installer`, `oauth`, `oauth2`, `bi_event`, `oauth_apps`, `admin`, ...) exports `routes(app)`.
//! Routes follow the quickwit shape: path and extraction filters, then `.then(handler)` where the handler returns
//! `Result<T, WixError>` and knows nothing of warp, then one adaptor to a response. A rejection only
//! ever means "not this route" or comes from warp's own extraction; [`crate::error::handle_rejection`]
//! turns what is left into Wix-shaped errors.

mod admin;
mod admin_faults;
mod admin_namespaces;
mod admin_tokens;
mod admin_ui;
mod admin_webhooks;
mod apps;
mod bi_event;
mod installer;
mod layer;
mod oauth;
mod oauth2;
mod oauth_apps;
mod redirect_session;

use std::collections::BTreeMap;
use std::convert::Infallible;

use bytes::{Buf, Bytes, BytesMut};
use futures_util::TryStreamExt;
use serde::Serialize;
use serde_json::{Map, Value};
use warp::filters::BoxedFilter;
use warp::http::{HeaderValue, StatusCode, header};
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use crate::app::App;
use crate::error::{Rejected, WixError, handle_rejection};

/// Largest request body accepted, in bytes; larger ones get `413` (documented in README.md).
pub const BODY_LIMIT: u64 = 64 * 1024;

/// Every route of the mock, journaled, with Wix-shaped errors for whatever no route accepts; requests
/// naming a namespace go to that namespace's own tree (see `namespaces.rs`).
pub fn routes(app: App) -> BoxedFilter<(Response,)> {
    let tree = tree(app.clone());
    match app.namespaces() {
        Some(_) => crate::namespaces::dispatch(app).or(tree).unify().boxed(),
        None => tree,
    }
}

/// The routes of one app (the default one or a namespace's), wrapped in its layer.
pub(crate) fn tree(app: App) -> BoxedFilter<(Response,)> {
    let api = installer::routes(app.clone())
        .or(oauth::routes(app.clone()))
        .unify()
        .or(bi_event::routes(app.clone()))
        .unify()
        .or(oauth_apps::routes(app.clone()))
        .unify()
        .or(admin::routes(app.clone()))
        .unify()
        .or(identity_routes(app.clone()))
        .unify()
        .or(admin_faults::routes(app.clone()))
        .unify()
        .or(admin_webhooks::routes(app.clone()))
        .unify()
        .or(admin_ui::routes())
        .unify()
        .or(admin_namespaces::routes(app.clone()))
        .unify()
        .boxed();
    let api = admin_guard(app.clone())
        .and(api)
        .recover(handle_rejection)
        .unify()
        .boxed();
    // Faults, the journal and the conformance observer wrap everything (see layer.rs).
    layer::wrap(app, api)
}

/// The token endpoints and the identities behind them (issue 3): /oauth2/*, redirect sessions,
/// /apps/v1/instance and /__admin/tokens.
fn identity_routes(app: App) -> BoxedFilter<(Response,)> {
    let oauth2 = oauth2::routes(app.clone())
        .or(redirect_session::routes(app.clone()))
        .unify()
        .boxed();
    // A Wix site serves the same OAuth2 service under `/_api/oauth2` (wix-api.md §5, gateway map), so
    // `/_api/oauth2/token`, `/token-info`, `/authorize` and `/logout` answer as their `/oauth2` twins.
    let site_alias = warp::path("_api")
        .and(warp::path::peek())
        .and_then(|rest: warp::path::Peek| async move {
            match rest.segments().next() {
                Some("oauth2") => Ok(()),
                _ => Err(warp::reject::not_found()),
            }
        })
        .untuple_one()
        .and(oauth2.clone());
    oauth2
        .or(site_alias)
        .unify()
        .or(apps::routes(app.clone()))
        .unify()
        .or(admin_tokens::routes(app))
        .unify()
        .boxed()
}

/// Admin paths that stay open when an admin token is set: probes that reveal nothing.
const OPEN_ADMIN_PATHS: &[&str] = &["/__admin/health", "/__admin/ready", "/__admin/version"];

/// With an admin token configured, `/__admin/*` needs it, as `Authorization: Bearer <token>` or
/// `X-Wix-Mock-Admin-Token: <token>`. Reads headers without rejecting, so odd headers on other routes
/// are left for those routes to judge.
fn admin_guard(app: App) -> BoxedFilter<()> {
    // The token is fixed for the server's life: without one, the guard reads nothing at all (it
    // runs on every request, so it must not clone the headers for nothing; issue 8).
    let Some(expected) = app.admin_token() else {
        return warp::any().boxed();
    };
    warp::path::full()
        .and(warp::header::headers_cloned())
        .and_then(
            move |path: warp::path::FullPath, headers: warp::http::HeaderMap| {
                let expected = expected.clone();
                async move {
                    let path = path.as_str();
                    // The dashboard's files hold no data; its script sends the token on each API call.
                    if !path.starts_with("/__admin")
                        || OPEN_ADMIN_PATHS.contains(&path)
                        || admin_ui::UI_PATHS.contains(&path)
                    {
                        return Ok(());
                    }
                    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
                    let presented = header("x-wix-mock-admin-token")
                        .or(header("authorization").map(strip_bearer));
                    match presented {
                    Some(p) if crate::app::constant_time_eq(p, &expected) => Ok(()),
                    _ => Err(warp::reject::custom(Rejected(WixError::Unauthenticated {
                        code: "ADMIN_TOKEN_REQUIRED",
                        message:
                            "the admin API needs the admin token (Authorization: Bearer <token>)"
                                .into(),
                    }))),
                }
                }
            },
        )
        .untuple_one()
        .boxed()
}

/// Hands a clone of the app to a handler.
pub fn with_app(app: App) -> impl Filter<Extract = (App,), Error = Infallible> + Clone {
    warp::any().map(move || app.clone())
}

/// The raw query string, empty when there is none (never rejects).
pub fn raw_query() -> impl Filter<Extract = (String,), Error = Infallible> + Clone {
    warp::query::raw().or(warp::any().map(String::new)).unify()
}

/// The request body, at most [`BODY_LIMIT`] bytes whether or not a Content-Length was sent.
pub fn body_bytes() -> impl Filter<Extract = (Bytes,), Error = Rejection> + Clone {
    warp::header::optional::<u64>("content-length")
        .and_then(|len: Option<u64>| async move {
            match len {
                Some(n) if n > BODY_LIMIT => Err(warp::reject::custom(Rejected(
                    WixError::PayloadTooLarge(BODY_LIMIT),
                ))),
                _ => Ok(()),
            }
        })
        .untuple_one()
        .and(warp::body::stream())
        .and_then(|stream| async move { collect_limited(stream).await })
}

async fn collect_limited<S, B>(stream: S) -> Result<Bytes, Rejection>
where
    S: futures_util::Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    let mut stream = std::pin::pin!(stream);
    let mut body = BytesMut::new();
    while let Some(mut chunk) = stream.try_next().await.map_err(|_| {
        warp::reject::custom(Rejected(WixError::BadRequest(
            "unreadable request body".into(),
        )))
    })? {
        if body.len() as u64 + chunk.remaining() as u64 > BODY_LIMIT {
            return Err(warp::reject::custom(Rejected(WixError::PayloadTooLarge(
                BODY_LIMIT,
            ))));
        }
        while chunk.has_remaining() {
            let part = chunk.chunk();
            body.extend_from_slice(part);
            let n = part.len();
            chunk.advance(n);
        }
    }
    Ok(body.freeze())
}

/// The `Authorization` header's token: raw, as Wix documents it, or after `Bearer ` (wix-api.md §0).
pub fn access_token() -> impl Filter<Extract = (Option<String>,), Error = Infallible> + Clone {
    warp::header::optional::<String>("authorization")
        .or(warp::any().map(|| None))
        .unify()
        .map(|h: Option<String>| h.map(|v| strip_bearer(&v).to_string()))
}

/// `Bearer <token>` → `<token>` (any case); a raw token is returned as it is.
pub fn strip_bearer(value: &str) -> &str {
    let v = value.trim();
    match v.get(..7) {
        Some(p) if p.eq_ignore_ascii_case("bearer ") => v[7..].trim_start(),
        _ => v,
    }
}

/// Serialises a handler's result: the value as JSON with 200, or the error as Wix sends it.
pub fn reply_json<T: Serialize>(result: Result<T, WixError>) -> Response {
    match result {
        Ok(value) => json_response(StatusCode::OK, &value),
        Err(e) => e.into_response(),
    }
}

/// `value` as a JSON response with `status`.
pub fn json_response<T: Serialize>(status: StatusCode, value: &T) -> Response {
    let mut res = warp::reply::json(value).into_response();
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

/// Request parameters from a JSON object or a form body, with lowerCamel names folded to snake_case.
///
/// Wix's token endpoints take both case styles and both encodings "whatever the Content-Type says"
/// (wix-api.md §3, §4b: an old client sent JSON as text/plain), so the body is sniffed instead.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params(BTreeMap<String, Value>);

impl Params {
    /// Parses a body: empty, a JSON object, or `application/x-www-form-urlencoded`.
    pub fn parse(body: &[u8]) -> Result<Params, WixError> {
        let text = std::str::from_utf8(body)
            .map_err(|_| WixError::InvalidRequest("request body is not valid UTF-8".into()))?;
        let trimmed = text.trim();
        let pairs: Vec<(String, Value)> = if trimmed.is_empty() {
            Vec::new()
        } else if trimmed.starts_with('{') {
            let map: Map<String, Value> = serde_json::from_str(trimmed)
                .map_err(|e| WixError::InvalidRequest(format!("malformed JSON body: {e}")))?;
            map.into_iter().collect()
        } else if trimmed.starts_with(['[', '"'])
            || trimmed.parse::<f64>().is_ok()
            || trimmed == "null"
        {
            return Err(WixError::InvalidRequest(
                "request body must be a JSON object or a form".into(),
            ));
        } else {
            serde_urlencoded::from_str::<Vec<(String, String)>>(trimmed)
                .map_err(|e| WixError::InvalidRequest(format!("malformed form body: {e}")))?
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect()
        };
        let mut params = BTreeMap::new();
        for (key, value) in pairs {
            let name = snake_case(&key);
            if params.insert(name.clone(), value).is_some() {
                // RFC 6749 §3.1: "Request and response parameters MUST NOT be included more than once."
                return Err(WixError::InvalidRequest(format!(
                    "parameter `{name}` is given more than once"
                )));
            }
        }
        Ok(Params(params))
    }

    /// A string parameter; absent and empty are both `None`, any other JSON type is an error.
    pub fn optional(&self, name: &str) -> Result<Option<&str>, WixError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(WixError::InvalidRequest(format!(
                "`{name}` must be a string"
            ))),
        }
    }

    /// A string parameter that must be present and non-empty.
    pub fn required(&self, name: &str) -> Result<&str, WixError> {
        self.optional(name)?
            .ok_or_else(|| WixError::InvalidRequest(format!("missing required parameter `{name}`")))
    }
}

/// `grantType` → `grant_type`; snake_case names are returned unchanged.
pub fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Parses a query string into single-valued parameters; a repeated or undecodable one is an error.
pub fn query_params(raw: &str) -> Result<BTreeMap<String, String>, String> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw).map_err(|e| format!("malformed query string: {e}"))?;
    let mut out = BTreeMap::new();
    for (k, v) in pairs {
        if out.contains_key(&k) {
            return Err(format!("query parameter `{k}` is given more than once"));
        }
        out.insert(k, v);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_accept_json_in_both_cases_and_forms() {
        let a = Params::parse(br#"{"grantType":"refresh_token","client_id":"x"}"#).unwrap();
        assert_eq!(a.required("grant_type").unwrap(), "refresh_token");
        assert_eq!(a.required("client_id").unwrap(), "x");
        let b = Params::parse(b"grant_type=refresh_token&clientId=x").unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn params_refuse_repeats_wrong_types_and_garbage() {
        assert!(Params::parse(b"a=1&a=2").is_err());
        assert!(Params::parse(br#"{"clientId":"a","client_id":"b"}"#).is_err());
        assert!(
            Params::parse(br#"{"code":1}"#)
                .unwrap()
                .required("code")
                .is_err()
        );
        assert!(Params::parse(br#"{"code":"#).is_err());
        assert!(Params::parse(b"[1,2]").is_err());
        assert!(Params::parse(&[0xff, 0xfe]).is_err());
        assert!(Params::parse(b"").unwrap().optional("x").unwrap().is_none());
    }

    #[test]
    fn bearer_is_optional_in_authorization() {
        assert_eq!(strip_bearer("Bearer OauthNG.JWS.x"), "OauthNG.JWS.x");
        assert_eq!(strip_bearer("bearer  OauthNG.JWS.x"), "OauthNG.JWS.x");
        assert_eq!(strip_bearer("OauthNG.JWS.x"), "OauthNG.JWS.x");
    }
}
