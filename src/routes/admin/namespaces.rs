//! Admin routes for namespaces (see `namespaces.rs`): list, reset and delete them. They act on the
//! default app's registry, so inside a namespace (`/__ns/NAME/__admin/namespaces`) they answer 400.

use serde_json::{Value, json};
use warp::reply::Response;

use crate::app::App;
use crate::error::WixError;
use crate::namespaces::{Namespaces, validate};
use crate::routes::reply_json;

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
pub async fn list(app: App) -> Response {
    reply_json((|| {
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
    })())
}

/// POST /__admin/namespaces/{name}/reset — back to its scenario's initial state (made if absent,
/// so a suite can reset its namespace before first use).
pub async fn reset(app: App, name: String) -> Response {
    reply_json((|| {
        registry(&app)?;
        let ns = app.in_namespace(&name)?;
        ns.reset();
        Ok(json!({"status": "reset", "namespace": name, "clock": ns.clock().status()}))
    })())
}

/// DELETE /__admin/namespaces/{name} — forgets it; the next request under the name starts afresh.
pub async fn delete(app: App, name: String) -> Response {
    reply_json((|| {
        validate(&name)?;
        if registry(&app)?.remove(&name) {
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
pub async fn clear(app: App) -> Response {
    reply_json(registry(&app).map(|r| json!({"status": "deleted", "count": r.clear()})))
}
