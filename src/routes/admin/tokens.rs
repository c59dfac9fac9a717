//! `POST /__admin/tokens`: mint a token for any identity, so a test can start mid-flow.
//!
//! `{"identity": "app"|"user"|"visitor"|"member"|"headless_admin", "instance_id", "user_id",
//! "client_id", "member_id", "visitor_id", "ttl_secs"}` → the same body `/oauth2/token` answers.

use serde::Deserialize;
use warp::reply::Response;

use crate::app::App;
use crate::error::{FieldViolation, WixError};
use crate::request::Incoming;
use crate::routes::reply_json;
use crate::world::identity::{Minted, Subject};

/// POST /__admin/tokens — mint a token for the identity in the body.
pub async fn mint(app: App, req: &Incoming) -> Response {
    reply_json(mint_for(&req.body, app).await)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MintRequest {
    identity: String,
    instance_id: Option<String>,
    user_id: Option<String>,
    client_id: Option<String>,
    member_id: Option<String>,
    visitor_id: Option<String>,
    /// Lifetime of the access token; the scenario's `ttl.access_token_secs` when absent.
    ttl_secs: Option<u64>,
}

async fn mint_for(body: &[u8], app: App) -> Result<Minted, WixError> {
    let req: MintRequest = super::parse_body(body, "token request")?;
    let need = |name: &str, v: &Option<String>| {
        v.clone().filter(|s| !s.is_empty()).ok_or_else(|| {
            WixError::Validation(vec![FieldViolation::new(
                name,
                "REQUIRED_FIELD",
                format!("{name} is required for identity `{}`", req.identity),
            )])
        })
    };
    let subject = match req.identity.as_str() {
        "app" => Subject::App {
            instance_id: need("instance_id", &req.instance_id)?,
        },
        "user" => Subject::User {
            instance_id: need("instance_id", &req.instance_id)?,
            user_id: need("user_id", &req.user_id)?,
        },
        "visitor" => Subject::Visitor {
            client_id: need("client_id", &req.client_id)?,
            visitor_id: req.visitor_id.clone().filter(|v| !v.is_empty()),
        },
        "member" => Subject::Member {
            client_id: need("client_id", &req.client_id)?,
            member_id: need("member_id", &req.member_id)?,
        },
        "headless_admin" => Subject::HeadlessAdmin {
            client_id: need("client_id", &req.client_id)?,
        },
        other => {
            return Err(WixError::Validation(vec![FieldViolation::new(
                "identity",
                "INVALID_ENUM_VALUE",
                format!(
                    "identity `{other}` is not one of app, user, visitor, member, headless_admin"
                ),
            )]));
        }
    };
    if req
        .ttl_secs
        .is_some_and(|t| t == 0 || t > 10 * 365 * 24 * 3600)
    {
        return Err(WixError::Validation(vec![FieldViolation::new(
            "ttl_secs",
            "OUT_OF_RANGE",
            "ttl_secs must be between 1 second and 10 years",
        )]));
    }
    // The mint reports unknown client ids in the OAuth dialect; here they are plain 404s.
    app.mint_token(subject, req.ttl_secs).map_err(|e| match e {
        WixError::InvalidClient(m) => WixError::NotFound {
            code: "OAUTH_APP_NOT_FOUND",
            message: m,
        },
        WixError::UnknownInstance(m) => WixError::NotFound {
            code: "INSTANCE_NOT_FOUND",
            message: m,
        },
        other => other,
    })
}
