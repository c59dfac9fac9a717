//! `POST /oauth2/token` and `POST /oauth2/token-info`: the OAuth2Ng service (docs/fidelity.md F-15 to F-23, F-29).
//!
//! One token endpoint serves apps (client credentials for an instance, `strip_bound_session`, legacy
//! refresh tokens), Headless clients (`anonymous` visitors, `refresh_token`, `authorization_code` +
//! PKCE members, `authorized_client`) and Headless admins (client credentials of an OAuth app, no
//! instance). Bodies are JSON (any Content-Type) or forms, snake_case or lowerCamel; answers are
//! snake_case with status exactly 200, because the SDK fails on any other.

use warp::reply::Response;

use super::oauth::client_credentials;
use super::{Incoming, Params, reply_json, reply_tokens, strip_bearer};
use crate::app::App;
use crate::conformance::Issued;
use crate::error::WixError;
use crate::world::identity::{Minted, TokenInfo};

/// POST /oauth2/token — every grant: `client_credentials`, `anonymous`, `refresh_token`,
/// `authorization_code`, `strip_bound_session`, `authorized_client`.
pub async fn token(app: App, req: &Incoming) -> Response {
    reply_tokens(
        req,
        grant(
            req.params(),
            req.header(warp::http::header::AUTHORIZATION),
            app,
        ),
        |m| Issued {
            access_token: m.access_token.clone(),
            refresh_token: m.refresh_token.clone(),
            expires_in: Some(m.expires_in),
        },
    )
}

fn grant(
    params: Result<&Params, WixError>,
    authorization: Option<&str>,
    app: App,
) -> Result<Minted, WixError> {
    let params = params?;
    let grant_type = params.required("grant_type")?;
    match grant_type {
        "client_credentials" => {
            let (id, secret) = client_credentials(params, authorization)?;
            let instance_id = params.optional("instance_id")?;
            app.client_credentials(&id, &secret, instance_id)
        }
        "anonymous" => {
            let client_id = params.required("client_id")?;
            app.visitor_tokens(client_id)
        }
        "refresh_token" => {
            let refresh_token = params.required("refresh_token")?;
            // The client's kind decides (World::refresh); a legacy app token needs the secret.
            let client_id = params.optional("client_id")?;
            let credentials = client_credentials(params, authorization);
            let credentials = match &credentials {
                Ok((id, secret)) => Ok((&**id, &**secret)),
                Err(e) => Err(e.clone()),
            };
            app.refresh(client_id, credentials, refresh_token)
        }
        "authorization_code" => {
            let client_id = params.required("client_id")?;
            let code = params.required("code")?;
            let verifier = params.required("code_verifier")?;
            let redirect_uri = params.optional("redirect_uri")?;
            app.exchange_member_code(client_id, code, verifier, redirect_uri)
        }
        "strip_bound_session" => {
            let access_token = strip_bearer(params.required("access_token")?).to_string();
            let secret = params.required("client_secret")?;
            let client_id = params.optional("client_id")?;
            app.strip_bound_session(&access_token, client_id, secret)
        }
        "authorized_client" => {
            let member_id = params.required("member_id")?;
            // The SDK sends `Authorization: <visitor token>,<API key>` (docs/fidelity.md F-22).
            let (visitor, api_key) = authorization
                .and_then(|h| h.split_once(','))
                .map(|(t, k)| (strip_bearer(t).to_string(), k.trim().to_string()))
                .filter(|(t, k)| !t.is_empty() && !k.is_empty())
                .ok_or_else(|| {
                    WixError::InvalidClient(
                        "authorized_client needs `Authorization: <visitor token>,<API key>`".into(),
                    )
                })?;
            // After `sign-on`, the SDK also sends its single-use `session_token`.
            match params.optional("session_token")? {
                Some(session) => {
                    app.authorized_client_with_session(&visitor, &api_key, member_id, session)
                }
                None => app.authorized_client(&visitor, &api_key, member_id),
            }
        }
        other => Err(WixError::UnsupportedGrantType(format!(
            "grant_type `{other}` is not supported by /oauth2/token"
        ))),
    }
}

/// POST /oauth2/token-info (and the gateway alias /oauth2/token_info) — `{"token"}` with no
/// Authorization: what the token says, or `{"active": false}` when it is expired, revoked or unknown.
pub async fn token_info(app: App, req: &Incoming) -> Response {
    reply_json(describe(req.params(), app))
}

fn describe(params: Result<&Params, WixError>, app: App) -> Result<TokenInfo, WixError> {
    let token = strip_bearer(params?.required("token")?).to_string();
    Ok(app.token_info(&token))
}
