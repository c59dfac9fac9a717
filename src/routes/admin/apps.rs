//! `/__admin/apps/{appId}/...`: an app's webhook public key, and where its webhooks go.

use serde::Deserialize;
use serde_json::json;
use warp::http::{StatusCode, header};
use warp::reply::Response;
use warp::{Reply, reply};

use super::parse_body;
use crate::app::App;
use crate::error::WixError;
use crate::request::Incoming;
use crate::routes::{json_response, reply_json};
use crate::world::webhooks::app_not_found;

/// GET /__admin/apps/{appId}/public-key — the PEM the app copies from its dashboard into
/// `AppStrategy({publicKey})`; with `Accept: application/json`, `{appId, kid, publicKey}`.
pub async fn public_key(app: App, req: &Incoming, app_id: String) -> Response {
    let key = match app.webhooks().key(&app_id).await {
        None => return app_not_found(&app_id).into_response(),
        Some(Err(e)) => {
            return WixError::BadRequest(format!("the app's key is unusable: {e}")).into_response();
        }
        Some(Ok(key)) => key,
    };
    if req.header("accept").is_some_and(|a| a.contains("json")) {
        let body = json!({"appId": app_id, "kid": key.kid, "publicKey": key.public_pem});
        return json_response(StatusCode::OK, &body);
    }
    reply::with_header(
        key.public_pem.clone(),
        header::CONTENT_TYPE,
        "text/plain; charset=utf-8",
    )
    .into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookUrl {
    url: Option<String>,
}

/// PUT /__admin/apps/{appId}/webhook-url — `{"url": "http://127.0.0.1:8080/webhooks"}` sets where the
/// app's webhooks go (for an app whose port is known only at run time); `{"url": null}` clears it.
pub async fn webhook_url(app: App, req: &Incoming, app_id: String) -> Response {
    reply_json((|| {
        let body: WebhookUrl = parse_body(&req.body, "webhook URL")?;
        let url = body.url.filter(|u| !u.is_empty());
        app.set_webhook_url(&app_id, url.clone())?;
        Ok(json!({"appId": app_id, "webhookUrl": url}))
    })())
}
