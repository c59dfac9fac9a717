//! `POST /oauth/access`: the legacy token endpoint of custom authentication (docs/fidelity.md F-11 to F-14).
//!
//! Grants: `authorization_code` (the installer's code) and `refresh_token`. The client authenticates
//! with `client_id` + `client_secret` in the body, or with HTTP Basic as RFC 6749 clients do.

use std::borrow::Cow;

use base64::Engine as _;
use base64::prelude::BASE64_STANDARD;
use warp::reply::Response;

use super::{Incoming, Params, reply_tokens};
use crate::app::{AccessResponse, App, LegacyGrant};
use crate::conformance::Issued;
use crate::error::WixError;

/// POST /oauth/access (and /oauth/access/) — exchange an authorization code or a refresh token.
pub async fn access(app: App, req: &Incoming) -> Response {
    reply_tokens(
        req,
        exchange(
            req.params(),
            req.header(warp::http::header::AUTHORIZATION),
            app,
        ),
        |a| Issued {
            access_token: a.access_token.clone(),
            refresh_token: Some(a.refresh_token.clone().into()),
            expires_in: None,
        },
    )
}

fn exchange(
    params: Result<&Params, WixError>,
    authorization: Option<&str>,
    app: App,
) -> Result<AccessResponse, WixError> {
    let params = params?;
    let grant_type = params.required("grant_type")?;
    if !matches!(grant_type, "authorization_code" | "refresh_token") {
        return Err(WixError::UnsupportedGrantType(format!(
            "grant_type `{grant_type}` is not supported by /oauth/access"
        )));
    }
    let (client_id, client_secret) = client_credentials(params, authorization)?;
    // What the grant needs is read only after the client has authenticated, as Wix checks in
    // that order: a wrong secret is `invalid_client` whatever else is missing.
    let grant = if grant_type == "authorization_code" {
        params.required("code").and_then(|code| {
            Ok(LegacyGrant::Code {
                code,
                redirect_uri: params.optional("redirect_uri")?,
            })
        })
    } else {
        params.required("refresh_token").map(LegacyGrant::Refresh)
    };
    app.legacy_access(&client_id, &client_secret, grant)
}

/// The client's id and secret, from the body or from HTTP Basic (RFC 6749 §2.3.1).
/// Borrowed from the body when sent there (the usual case: no copy per token request).
pub fn client_credentials<'a>(
    params: &'a Params,
    authorization: Option<&str>,
) -> Result<(Cow<'a, str>, Cow<'a, str>), WixError> {
    let from_body = (
        params.optional("client_id")?,
        params.optional("client_secret")?,
    );
    if let (Some(id), Some(secret)) = from_body {
        return Ok((Cow::Borrowed(id), Cow::Borrowed(secret)));
    }
    if let Some((id, secret)) = authorization.and_then(basic_credentials) {
        return Ok((Cow::Owned(id), Cow::Owned(secret)));
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
