//! `GET /apps/v1/instance`: the app instance and its site, as the app sees them (wix-api.md §7).

use serde_json::{Value, json};
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::reply::Response;

use super::{access_token, reply_json, with_app};
use crate::app::App;
use crate::error::WixError;

/// The scope Get App Instance needs ("Manage Your App").
pub const MANAGE_YOUR_APP: &str = "SCOPE.DC-APPS.MANAGE-YOUR-APP";
/// The scope that adds `site.ownerInfo` ("Read Site Owner Email"; the scope id is INFERRED).
pub const READ_SITE_OWNER_EMAIL: &str = "SCOPE.DC-APPS.READ-SITE-OWNER-EMAIL";

/// The app-management routes.
pub fn routes(app: App) -> BoxedFilter<(Response,)> {
    instance_route(app)
}

/// GET /apps/v1/instance — with an app token (or a Wix user's token in the app); no parameters.
fn instance_route(app: App) -> BoxedFilter<(Response,)> {
    warp::path!("apps" / "v1" / "instance")
        .and(warp::get())
        .and(access_token())
        .and(with_app(app))
        .then(|token: Option<String>, app: App| async move {
            app.with_world(|w, now, _| {
                let caller = w.authorize(token.as_deref(), now)?;
                caller.require_app_instance()?;
                caller.require_scope(&[MANAGE_YOUR_APP])?;
                let instance = w.instances.get(&caller.instance_id);
                let app = w.apps.get(&caller.app_id);
                let site = w.sites.get(&caller.site_id);
                let (Some(instance), Some(app), Some(site)) = (instance, app, site) else {
                    return Err(WixError::NotFound {
                        code: "INSTANCE_NOT_FOUND",
                        message: "app instance not found".into(),
                    });
                };
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
                    site_json["ownerInfo"] =
                        json!({"email": site.owner_email, "emailStatus": "VERIFIED"});
                }
                Ok::<Value, WixError>(json!({
                    "instance": {
                        "appName": app.name,
                        "appVersion": app.version,
                        "instanceId": instance.instance_id,
                        "isFree": true,
                        "permissions": caller.scopes,
                    },
                    "site": site_json,
                }))
            })
        })
        .map(reply_json)
        .boxed()
}
