//! Admin routes for namespaces (see `namespaces.rs`): list, reset and delete them. They act on the
//! default app's registry, so inside a namespace (`/__ns/NAME/__admin/namespaces`) they answer 400.

use serde_json::{Value, json};
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::reply::Response;

use super::{reply_json, with_app};
use crate::app::App;
use crate::error::WixError;
use crate::namespaces::{Namespaces, validate};

/// The namespace admin routes.
pub fn routes(app: App) -> BoxedFilter<(Response,)> {
    list_route(app.clone())
        .or(reset_route(app.clone()))
        .unify()
        .or(delete_route(app.clone()))
        .unify()
        .or(delete_all_route(app))
        .unify()
        .boxed()
}

fn registry(app: &App) -> Result<&Namespaces, WixError> {
    app.namespaces().ok_or_else(|| {
        WixError::BadRequest(
            "namespaces are managed from the default namespace (no header, no /__ns/ prefix)"
                .into(),
        )
    })
}

/// What the listing says of one namespace.
fn describe(name: &str, app: &App) -> Value {
    json!({
        "name": name,
        "base_path": app.base_path(),
        "scenario": app.scenario().name,
        "seed": app.ids().seed(),
        "clock": app.clock().status(),
        "requests": app.journal().len(),
    })
}

/// GET /__admin/namespaces — the live namespaces, most recently used first, with the limit.
fn list_route(app: App) -> BoxedFilter<(Response,)> {
    warp::path!("__admin" / "namespaces")
        .and(warp::get())
        .and(with_app(app))
        .then(|app: App| async move {
            let registry = registry(&app)?;
            let listed: Vec<Value> = registry
                .list()
                .iter()
                .map(|n| describe(&n.name, &n.app))
                .collect();
            Ok(json!({
                "count": listed.len(),
                "limit": registry.limit(),
                "evicted": registry.evicted(),
                "namespaces": listed,
            }))
        })
        .map(reply_json)
        .boxed()
}

/// POST /__admin/namespaces/{name}/reset — back to its scenario's initial state (made if absent,
/// so a suite can reset its namespace before first use).
fn reset_route(app: App) -> BoxedFilter<(Response,)> {
    warp::path!("__admin" / "namespaces" / String / "reset")
        .and(warp::post())
        .and(with_app(app))
        .then(|name: String, app: App| async move {
            registry(&app)?;
            let ns = app.in_namespace(&name)?;
            ns.reset();
            Ok(json!({"status": "reset", "namespace": name, "clock": ns.clock().status()}))
        })
        .map(reply_json)
        .boxed()
}

/// DELETE /__admin/namespaces/{name} — forgets it; the next request under the name starts afresh.
fn delete_route(app: App) -> BoxedFilter<(Response,)> {
    warp::path!("__admin" / "namespaces" / String)
        .and(warp::delete())
        .and(with_app(app))
        .then(|name: String, app: App| async move {
            validate(&name)?;
            if registry(&app)?.remove(&name) {
                Ok(json!({"status": "deleted", "namespace": name}))
            } else {
                Err(WixError::NotFound {
                    code: "NAMESPACE_NOT_FOUND",
                    message: format!("no namespace `{name}` lives"),
                })
            }
        })
        .map(reply_json)
        .boxed()
}

/// DELETE /__admin/namespaces — forgets every namespace.
fn delete_all_route(app: App) -> BoxedFilter<(Response,)> {
    warp::path!("__admin" / "namespaces")
        .and(warp::delete())
        .and(with_app(app))
        .then(|app: App| async move {
            let count = registry(&app)?.clear();
            Ok::<_, WixError>(json!({"status": "deleted", "count": count}))
        })
        .map(reply_json)
        .boxed()
}
