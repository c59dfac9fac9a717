//! Admin routes for namespaces (see `namespaces.rs`): list, reset and delete them. They act on the
//! default app's registry, so inside a namespace (`/__ns/NAME/__admin/namespaces`) they answer 400.

use serde_json::{Value, json};
use warp::reply::Response;

use crate::app::App;
use crate::error::WixError;
use crate::namespaces::{Namespaces, validate};
use crate::routes::reply_json;

/// The registry, when asked from the default namespace (namespaces do not nest).
fn registry<'a>(all: &'a Namespaces, app: &App) -> Result<&'a Namespaces, WixError> {
    match app.namespace() {
        None => Ok(all),
        Some(_) => Err(WixError::BadRequest(
            "namespaces are managed from the default namespace (no header, no /__ns/ prefix)"
                .into(),
        )),
    }
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
pub async fn list(all: &Namespaces, app: App) -> Response {
    reply_json((|| {
        let registry = registry(all, &app)?;
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
    })())
}

/// POST /__admin/namespaces/{name}/reset — back to its scenario's initial state (made if absent,
/// so a suite can reset its namespace before first use).
pub async fn reset(all: &Namespaces, app: App, name: String) -> Response {
    reply_json((|| {
        let ns = registry(all, &app)?.in_namespace(&name)?;
        ns.reset();
        Ok(json!({"status": "reset", "namespace": name, "clock": ns.clock().status()}))
    })())
}

/// DELETE /__admin/namespaces/{name} — forgets it; the next request under the name starts afresh.
pub async fn delete(all: &Namespaces, app: App, name: String) -> Response {
    reply_json((|| {
        validate(&name)?;
        if registry(all, &app)?.remove(&name) {
            Ok(json!({"status": "deleted", "namespace": name}))
        } else {
            Err(WixError::NotFound {
                code: "NAMESPACE_NOT_FOUND",
                message: format!("no namespace `{name}` lives"),
            })
        }
    })())
}

/// DELETE /__admin/namespaces — forgets every namespace.
pub async fn clear(all: &Namespaces, app: App) -> Response {
    reply_json(registry(all, &app).map(|r| json!({"status": "deleted", "count": r.clear()})))
}
