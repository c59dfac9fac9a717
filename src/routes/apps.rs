//! `GET /apps/v1/instance`: the app instance and its site, as the app sees them (docs/fidelity.md F-31).

use serde_json::{Value, json};
use warp::reply::Response;

use super::{Incoming, reply_json};
use crate::app::App;
use crate::error::WixError;

/// The scope Get App Instance needs ("Manage Your App").
pub const MANAGE_YOUR_APP: &str = "SCOPE.DC-APPS.MANAGE-YOUR-APP";
/// The scope that adds `site.ownerInfo` ("Read Site Owner Email"; the scope id is INFERRED, docs/fidelity.md I-22).
pub const READ_SITE_OWNER_EMAIL: &str = "SCOPE.DC-APPS.READ-SITE-OWNER-EMAIL";

/// GET /apps/v1/instance — with an app token (or a Wix user's token in the app); no parameters.
pub async fn instance(app: App, req: &Incoming) -> Response {
    reply_json(describe(app, req.access_token()))
}

fn describe(app: App, token: Option<String>) -> Result<Value, WixError> {
    let (caller, instance, wix_app, site) = app.app_instance(token.as_deref(), MANAGE_YOUR_APP)?;
    // `billing` appears only when `isFree` is false; every mock instance is free.
    let mut site_json = json!({
        "locale": site.locale,
        "multilingual": {"isMultiLingual": false, "supportedLanguages": []},
        "paymentCurrency": site.currency,
        "siteDisplayName": site.name,
        "url": site.url.clone().unwrap_or_default(),
        "description": "",
        "ownerEmail": site.owner_email,
        "siteId": site.id,
    });
    if caller.scopes.iter().any(|s| s == READ_SITE_OWNER_EMAIL) {
        site_json["ownerInfo"] = json!({"email": site.owner_email, "emailStatus": "VERIFIED"});
    }
    Ok(json!({
        "instance": {
            "appName": wix_app.name,
            "appVersion": wix_app.version,
            "instanceId": instance.instance_id,
            "isFree": true,
            "permissions": caller.scopes,
        },
        "site": site_json,
    }))
}
