//! `POST /oauth2/token` and `POST /oauth2/token-info`: the OAuth2Ng service (wix-api.md §4, §5).
//!
//! One token endpoint serves apps (client credentials for an instance, `strip_bound_session`, legacy
//! refresh tokens), Headless clients (`anonymous` visitors, `refresh_token`, `authorization_code` +
//! PKCE members, `authorized_client`) and Headless admins (client credentials of an OAuth app, no
//! instance). Bodies are JSON (any Content-Type) or forms, snake_case or lowerCamel; answers are
//! snake_case with status exactly 200, because the SDK fails on any other.

use bytes::Bytes;
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::reply::Response;

use super::oauth::client_credentials;
use super::{Params, body_bytes, reply_json, strip_bearer, with_app};
use crate::app::App;
use crate::error::WixError;
use crate::world::identity::{Minted, TokenInfo};

/// The OAuth2Ng routes.
pub fn routes(app: App) -> BoxedFilter<(Response,)> {
    token_route(app.clone())
        .or(token_info_route(app))
        .unify()
        .boxed()
}

/// POST /oauth2/token — every grant: `client_credentials`, `anonymous`, `refresh_token`,
/// `authorization_code`, `strip_bound_session`, `authorized_client`.
fn token_route(app: App) -> BoxedFilter<(Response,)> {
    warp::path!("oauth2" / "token")
        .and(warp::path::end())
        .and(warp::post())
        .and(warp::header::optional::<String>("authorization"))
        .and(body_bytes())
        .and(with_app(app))
        .then(token)
        .map(reply_json)
        .boxed()
}

async fn token(authorization: Option<String>, body: Bytes, app: App) -> Result<Minted, WixError> {
    let params = Params::parse(&body)?;
    let grant_type = params.required("grant_type")?;
    match grant_type {
        "client_credentials" => {
            let (id, secret) = client_credentials(&params, authorization.as_deref())?;
            let instance_id = params.optional("instance_id")?;
            app.with_world(|w, now, ids| match instance_id {
                Some(instance_id) => w.instance_token(&id, &secret, instance_id, now, ids),
                // No instance: an OAuth app's id and secret ask for a Headless admin token (§4b).
                None if w.oauth_apps.contains_key(&id) => {
                    w.headless_admin_token(&id, &secret, now, ids)
                }
                None if w.apps.contains_key(&id) => Err(WixError::InvalidRequest(
                    "missing required parameter `instance_id`".into(),
                )),
                None => Err(WixError::InvalidClient(format!("unknown client_id `{id}`"))),
            })
        }
        "anonymous" => {
            let client_id = params.required("client_id")?;
            app.with_world(|w, now, ids| w.visitor_tokens(client_id, now, ids))
        }
        "refresh_token" => {
            let refresh_token = params.required("refresh_token")?;
            // The client's kind decides (World::refresh); a legacy app token needs the secret.
            let client_id = params.optional("client_id")?;
            let credentials = client_credentials(&params, authorization.as_deref());
            app.with_world(|w, now, ids| w.refresh(client_id, credentials, refresh_token, now, ids))
        }
        "authorization_code" => {
            let client_id = params.required("client_id")?;
            let code = params.required("code")?;
            let verifier = params.required("code_verifier")?;
            let redirect_uri = params.optional("redirect_uri")?;
            app.with_world(|w, now, ids| {
                w.exchange_member_code(client_id, code, verifier, redirect_uri, now, ids)
            })
        }
        "strip_bound_session" => {
            let access_token = strip_bearer(params.required("access_token")?).to_string();
            let secret = params.required("client_secret")?;
            let client_id = params.optional("client_id")?;
            app.with_world(|w, now, ids| {
                w.strip_bound_session(&access_token, client_id, secret, now, ids)
            })
        }
        "authorized_client" => {
            let member_id = params.required("member_id")?;
            // The SDK sends `Authorization: <visitor token>,<API key>` (wix-api.md §4b).
            let (visitor, api_key) = authorization
                .as_deref()
                .and_then(|h| h.split_once(','))
                .map(|(t, k)| (strip_bearer(t).to_string(), k.trim().to_string()))
                .filter(|(t, k)| !t.is_empty() && !k.is_empty())
                .ok_or_else(|| {
                    WixError::InvalidClient(
                        "authorized_client needs `Authorization: <visitor token>,<API key>`".into(),
                    )
                })?;
            app.with_world(|w, now, ids| {
                w.authorized_client(&visitor, &api_key, member_id, now, ids)
            })
        }
        other => Err(WixError::UnsupportedGrantType(format!(
            "grant_type `{other}` is not supported by /oauth2/token"
        ))),
    }
}

/// POST /oauth2/token-info (and the gateway alias /oauth2/token_info) — `{"token"}` with no
/// Authorization: what the token says, or `{"active": false}` when it is expired, revoked or unknown.
fn token_info_route(app: App) -> BoxedFilter<(Response,)> {
    let path = warp::path!("oauth2" / "token-info").or(warp::path!("oauth2" / "token_info"));
    path.unify()
        .and(warp::post())
        .and(body_bytes())
        .and(with_app(app))
        .then(token_info)
        .map(reply_json)
        .boxed()
}

async fn token_info(body: Bytes, app: App) -> Result<TokenInfo, WixError> {
    let params = Params::parse(&body)?;
    let token = strip_bearer(params.required("token")?).to_string();
    Ok(app.with_world(|w, now, _| w.token_info(&token, now)))
}
