//! `POST /oauth/access`: the legacy token endpoint of custom authentication (wix-api.md §3).
//!
//! Grants: `authorization_code` (the installer's code) and `refresh_token`. The client authenticates
//! with `client_id` + `client_secret` in the body, or with HTTP Basic as RFC 6749 clients do.

use base64::Engine as _;
use base64::prelude::BASE64_STANDARD;
use bytes::Bytes;
use serde::Serialize;
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::reply::Response;

use super::{Params, body_bytes, reply_json, with_app};
use crate::app::App;
use crate::error::WixError;

/// The legacy token routes.
pub fn routes(app: App) -> BoxedFilter<(Response,)> {
    access_route(app)
}

/// The 200 body: exactly these two fields, no `expires_in` or `token_type` (wix-api.md §3).
#[derive(Debug, Serialize)]
pub struct AccessResponse {
    pub access_token: String,
    pub refresh_token: String,
}

/// POST /oauth/access (and /oauth/access/) — exchange an authorization code or a refresh token.
fn access_route(app: App) -> BoxedFilter<(Response,)> {
    warp::path!("oauth" / "access")
        .and(warp::path::end())
        .and(warp::post())
        .and(warp::header::optional::<String>("authorization"))
        .and(body_bytes())
        .and(with_app(app))
        .then(access)
        .map(reply_json)
        .boxed()
}

async fn access(
    authorization: Option<String>,
    body: Bytes,
    app: App,
) -> Result<AccessResponse, WixError> {
    let params = Params::parse(&body)?;
    let grant_type = params.required("grant_type")?;
    if !matches!(grant_type, "authorization_code" | "refresh_token") {
        return Err(WixError::UnsupportedGrantType(format!(
            "grant_type `{grant_type}` is not supported by /oauth/access"
        )));
    }
    let (client_id, client_secret) = client_credentials(&params, authorization.as_deref())?;
    let ttl = app.with_world(|w, _, _| w.ttl.legacy_access_token_secs);
    app.with_world(|w, now, ids| {
        w.authenticate_client(&client_id, &client_secret)?;
        let (instance_id, refresh_token) = if grant_type == "authorization_code" {
            let code = params.required("code")?;
            let redirect_uri = params.optional("redirect_uri")?;
            w.exchange_code(&client_id, code, redirect_uri, now, ids)?
        } else {
            let refresh_token = params.required("refresh_token")?;
            // Wix returns the refresh token "identical to the one ... sent" (wix-api.md §3).
            (
                w.check_refresh(&client_id, refresh_token)?,
                refresh_token.to_string(),
            )
        };
        let access_token = w.mint_access_token(&instance_id, "legacy", ttl, now)?;
        Ok(AccessResponse {
            access_token,
            refresh_token,
        })
    })
}

/// The client's id and secret, from the body or from HTTP Basic (RFC 6749 §2.3.1).
pub fn client_credentials(
    params: &Params,
    authorization: Option<&str>,
) -> Result<(String, String), WixError> {
    let from_body = (
        params.optional("client_id")?,
        params.optional("client_secret")?,
    );
    if let (Some(id), Some(secret)) = from_body {
        return Ok((id.to_string(), secret.to_string()));
    }
    if let Some((id, secret)) = authorization.and_then(basic_credentials) {
        return Ok((id, secret));
    }
    match from_body.0 {
        None => Err(WixError::InvalidRequest(
            "missing required parameter `client_id`".into(),
        )),
        Some(_) => Err(WixError::InvalidRequest(
            "missing required parameter `client_secret`".into(),
        )),
    }
}

/// `Basic base64(id:secret)` → `(id, secret)`, with RFC 6749's form-decoding of each part.
fn basic_credentials(header: &str) -> Option<(String, String)> {
    let encoded = header
        .trim()
        .strip_prefix("Basic ")
        .or_else(|| header.trim().strip_prefix("basic "))?;
    let decoded = BASE64_STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((unescape(id)?, unescape(secret)?))
}
