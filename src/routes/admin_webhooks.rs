//! Admin routes for webhooks and app instances: the app's public key and webhook URL, the delivery log
//! and redelivery, custom events, delivery faults, uninstalling, and the signed `instance` parameter.

use bytes::Bytes;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::{StatusCode, header};
use warp::reply::Response;
use warp::{Reply, reply};

use super::{body_bytes, json_response, query_params, raw_query, reply_json, with_app};
use crate::app::App;
use crate::delivery::{DeliveryFault, Release};
use crate::error::WixError;
use crate::world::signed::Viewer;
use crate::world::webhooks::app_not_found;

/// The webhook and instance admin routes.
pub fn routes(app: App) -> BoxedFilter<(Response,)> {
    public_key_route(app.clone())
        .or(webhook_url_route(app.clone()))
        .unify()
        .or(list_route(app.clone()))
        .unify()
        .or(redeliver_route(app.clone()))
        .unify()
        .or(emit_route(app.clone()))
        .unify()
        .or(faults_route(app.clone()))
        .unify()
        .or(release_route(app.clone()))
        .unify()
        .or(uninstall_route(app.clone()))
        .unify()
        .or(signed_instance_route(app))
        .unify()
        .boxed()
}

/// A JSON body, or `{}` when empty; unreadable JSON is a 400.
fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, WixError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        &b"{}"[..]
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| WixError::BadRequest(format!("invalid body: {e}")))
}

/// GET /__admin/apps/{appId}/public-key — the PEM the app copies from its dashboard into
/// `AppStrategy({publicKey})`; with `Accept: application/json`, `{appId, kid, publicKey}`.
fn public_key_route(app: App) -> BoxedFilter<(Response,)> {
    warp::path!("__admin" / "apps" / String / "public-key")
        .and(warp::get())
        .and(warp::header::optional::<String>("accept"))
        .and(with_app(app))
        .then(
            |app_id: String, accept: Option<String>, app: App| async move {
                let key = match app.webhooks().key(&app_id).await {
                    None => return app_not_found(&app_id).into_response(),
                    Some(Err(e)) => {
                        return WixError::BadRequest(format!("the app's key is unusable: {e}"))
                            .into_response();
                    }
                    Some(Ok(key)) => key,
                };
                if accept.is_some_and(|a| a.contains("json")) {
                    let body =
                        json!({"appId": app_id, "kid": key.kid, "publicKey": key.public_pem});
                    return json_response(StatusCode::OK, &body);
                }
                reply::with_header(
                    key.public_pem.clone(),
                    header::CONTENT_TYPE,
                    "text/plain; charset=utf-8",
                )
                .into_response()
            },
        )
        .boxed()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookUrl {
    url: Option<String>,
}

/// PUT /__admin/apps/{appId}/webhook-url — `{"url": "http://127.0.0.1:8080/webhooks"}` sets where the
/// app's webhooks go (for an app whose port is known only at run time); `{"url": null}` clears it.
fn webhook_url_route(app: App) -> BoxedFilter<(Response,)> {
    warp::path!("__admin" / "apps" / String / "webhook-url")
        .and(warp::put())
        .and(body_bytes())
        .and(with_app(app))
        .then(|app_id: String, body: Bytes, app: App| async move {
            let req: WebhookUrl = parse_body(&body)?;
            let url = req.url.filter(|u| !u.is_empty());
            app.with_world(|w, _, _| w.set_webhook_url(&app_id, url.clone()))?;
            Ok(json!({"appId": app_id, "webhookUrl": url}))
        })
        .map(reply_json)
        .boxed()
}

/// GET /__admin/webhooks — every delivery with its attempts, oldest first; DELETE forgets finished ones.
fn list_route(app: App) -> BoxedFilter<(Response,)> {
    let get = warp::path!("__admin" / "webhooks")
        .and(warp::get())
        .and(with_app(app.clone()))
        .map(|app: App| {
            let list = app.webhooks().list();
            json_response(
                StatusCode::OK,
                &json!({"count": list.len(), "webhooks": list}),
            )
        });
    let delete = warp::path!("__admin" / "webhooks")
        .and(warp::delete())
        .and(with_app(app))
        .map(|app: App| {
            app.webhooks().clear();
            json_response(StatusCode::OK, &json!({"status": "cleared"}))
        });
    get.or(delete).unify().boxed()
}

/// POST /__admin/webhooks/{id}/redeliver — sends a delivery's event again as a new delivery, signed now,
/// to the app's current webhook URL. 202 with the new delivery.
fn redeliver_route(app: App) -> BoxedFilter<(Response,)> {
    warp::path!("__admin" / "webhooks" / String / "redeliver")
        .and(warp::post())
        .and(with_app(app))
        .map(|id: String, app: App| {
            let not_found = || WixError::NotFound {
                code: "WEBHOOK_NOT_FOUND",
                message: format!("no webhook delivery `{id}`"),
            };
            let result = id.parse::<u64>().map_err(|_| not_found()).and_then(|n| {
                let urls = app.with_world(|w, _, _| {
                    w.apps
                        .values()
                        .map(|a| (a.id.clone(), a.webhook_url.clone()))
                        .collect::<std::collections::HashMap<_, _>>()
                });
                app.webhooks()
                    .redeliver(n, |app_id| urls.get(app_id).cloned().flatten())
            });
            match result {
                Ok(d) => json_response(StatusCode::ACCEPTED, &d),
                Err(e) => e.into_response(),
            }
        })
        .boxed()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Emit {
    instance_id: String,
    event_type: String,
    #[serde(default)]
    data: Option<Value>,
    #[serde(default)]
    identity: Option<Value>,
}

/// POST /__admin/webhooks/emit — `{"instanceId", "eventType", "data"?, "identity"?}` sends any event
/// to the instance's app (identity defaults to the site owner). 202.
fn emit_route(app: App) -> BoxedFilter<(Response,)> {
    warp::path!("__admin" / "webhooks" / "emit")
        .and(warp::post())
        .and(body_bytes())
        .and(with_app(app))
        .then(|body: Bytes, app: App| async move {
            let req: Emit = parse_body(&body)?;
            if req.event_type.trim().is_empty() {
                return Err(WixError::BadRequest("eventType must not be empty".into()));
            }
            let data = req.data.unwrap_or_else(|| json!({}));
            app.with_world(|w, now, _| {
                w.emit_event(&req.instance_id, &req.event_type, data, req.identity, now)
            })?;
            Ok(())
        })
        .map(|r: Result<(), WixError>| match r {
            Ok(()) => json_response(StatusCode::ACCEPTED, &json!({"status": "queued"})),
            Err(e) => e.into_response(),
        })
        .boxed()
}

/// POST /__admin/webhooks/faults — arms a [`DeliveryFault`] (`event_type`, `delay_ms`, `duplicates`,
/// `hold`, `times`) for the next matching deliveries; DELETE disarms them all.
fn faults_route(app: App) -> BoxedFilter<(Response,)> {
    let post = warp::path!("__admin" / "webhooks" / "faults")
        .and(warp::post())
        .and(body_bytes())
        .and(with_app(app.clone()))
        .then(|body: Bytes, app: App| async move {
            let fault: DeliveryFault = parse_body(&body)?;
            app.webhooks().arm_fault(fault.clone());
            Ok(json!({"status": "armed", "fault": fault}))
        })
        .map(reply_json);
    let delete = warp::path!("__admin" / "webhooks" / "faults")
        .and(warp::delete())
        .and(with_app(app))
        .map(|app: App| {
            app.webhooks().clear_faults();
            json_response(StatusCode::OK, &json!({"status": "cleared"}))
        });
    post.or(delete).unify().boxed()
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct ReleaseBody {
    order: Release,
}

/// POST /__admin/webhooks/release — sends held deliveries; `{"order": "reversed"}` reorders them.
fn release_route(app: App) -> BoxedFilter<(Response,)> {
    warp::path!("__admin" / "webhooks" / "release")
        .and(warp::post())
        .and(body_bytes())
        .and(with_app(app))
        .then(|body: Bytes, app: App| async move {
            let req: ReleaseBody = parse_body(&body)?;
            Ok(json!({"released": app.webhooks().release_held(req.order)}))
        })
        .map(reply_json)
        .boxed()
}

/// POST /__admin/instances/{instanceId}/uninstall — removes the instance: its access and refresh
/// tokens stop working and the app gets `AppRemoved`. Answers the removed instance.
fn uninstall_route(app: App) -> BoxedFilter<(Response,)> {
    warp::path!("__admin" / "instances" / String / "uninstall")
        .and(warp::post())
        .and(with_app(app))
        .map(|instance_id: String, app: App| reply_json(app.uninstall(&instance_id)))
        .boxed()
}

/// GET /__admin/instances/{instanceId}/signed-instance[?uid=…|?visitor=true] — the `instance` parameter
/// Wix appends to the app's iframe or dashboard URL, as the site owner (default), another Wix user, or
/// an anonymous visitor; with its decoded payload.
fn signed_instance_route(app: App) -> BoxedFilter<(Response,)> {
    warp::path!("__admin" / "instances" / String / "signed-instance")
        .and(warp::get())
        .and(raw_query())
        .and(with_app(app))
        .then(|instance_id: String, query: String, app: App| async move {
            let q = query_params(&query).map_err(WixError::BadRequest)?;
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
            let (instance, payload) =
                app.with_world(|w, now, ids| w.signed_instance(&instance_id, viewer, now, ids))?;
            Ok(json!({"instance": instance, "payload": payload}))
        })
        .map(reply_json)
        .boxed()
}
