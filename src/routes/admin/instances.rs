//! `/__admin/instances/{instanceId}/...`: uninstall an instance, and the signed `instance` parameter.

use serde_json::json;
use warp::reply::Response;

use crate::app::App;
use crate::error::WixError;
use crate::request::{Incoming, query_params};
use crate::routes::reply_json;
use crate::world::signed::Viewer;

/// POST /__admin/instances/{instanceId}/uninstall — removes the instance: its access and refresh
/// tokens stop working and the app gets `AppRemoved`. Answers the removed instance.
pub async fn uninstall(app: App, instance_id: String) -> Response {
    reply_json(app.uninstall(&instance_id))
}

/// GET /__admin/instances/{instanceId}/signed-instance[?uid=…|?visitor=true] — the `instance`
/// parameter Wix appends to the app's iframe or dashboard URL, as the site owner (default), another
/// Wix user, or an anonymous visitor; with its decoded payload.
pub async fn signed_instance(app: App, req: &Incoming, instance_id: String) -> Response {
    reply_json((|| {
        let q = query_params(&req.raw_query).map_err(WixError::BadRequest)?;
        let visitor = match q.get("visitor").map(String::as_str) {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => {
                return Err(WixError::BadRequest("visitor must be true or false".into()));
            }
        };
        let viewer = match (q.get("uid").filter(|u| !u.is_empty()), visitor) {
            (Some(_), true) => {
                return Err(WixError::BadRequest(
                    "give uid or visitor=true, not both".into(),
                ));
            }
            (Some(uid), false) => Viewer::User(uid.clone()),
            (None, true) => Viewer::Visitor,
            (None, false) => Viewer::Owner,
        };
        let (instance, payload) = app.signed_instance(&instance_id, viewer)?;
        Ok(json!({"instance": instance, "payload": payload}))
    })())
}
