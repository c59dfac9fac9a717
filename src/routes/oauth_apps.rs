//! The OAuth Apps API under `/oauth-app/v1/oauth-apps` (docs/fidelity.md F-32 to F-36; `@wix/auth-management`
//! `oAuthApps`, fixtures/sdk/10-* to 17-*, 25-* to 27-*).
//!
//! Every route authenticates first, then checks the path id, then the body, as Wix's gateway does.
//! A caller is either an access token whose scopes include `SCOPE.OAUTH_APP.MANAGE` (or, for reads,
//! `SCOPE.OAUTH_APP.READ`), or an API key declared in the scenario, sent raw as `Authorization` with
//! `wix-account-id`/`wix-site-id` headers. Apps belong to a site (a Headless project): a caller sees
//! and changes only the apps of its own site. The rules themselves live in `world::oauth_apps` and
//! `world::query`; this file only reads requests and shapes responses. Secrets appear in exactly two
//! responses (create, generate-secret) and nowhere else: not in the journal, not in any log.

use serde::Serialize;
use serde_json::{Map, Value, json};
use warp::reply::Response;

use super::{Incoming, reply_json, strip_bearer};
use crate::app::App;
use crate::error::{FieldViolation, WixError};
use crate::scenario::api_keys;
use crate::world::OAuthApp;
use crate::world::oauth_apps::{OAuthAppFields, READ_ONLY, SiteScope, UPDATABLE};
use crate::world::query::{PagingMetadata, Query};

/// The scope that allows every OAuth Apps call.
pub const MANAGE: &str = "SCOPE.OAUTH_APP.MANAGE";
/// The scope that allows get and query.
pub const READ: &str = "SCOPE.OAUTH_APP.READ";

/// POST /oauth-app/v1/oauth-apps — `{"oAuthApp": {...}}`; the answer carries the secret, this once.
pub async fn create(app: App, req: &Incoming) -> Response {
    reply_json(create_app(credentials(req), &req.body, app))
}

/// POST /oauth-app/v1/oauth-apps/query — `{"query": {filter, sort, paging | cursorPaging}}`.
pub async fn query(app: App, req: &Incoming) -> Response {
    reply_json(query_apps(credentials(req), &req.body, app))
}

/// GET /oauth-app/v1/oauth-apps/{id}?oAuthAppId={id} — the app, never its secret. The SDK repeats the
/// id as a query parameter; the path is what counts.
pub async fn get(app: App, req: &Incoming, id: String) -> Response {
    reply_json(get_app(id, credentials(req), app))
}

/// PATCH /oauth-app/v1/oauth-apps/{id} — `{"oAuthApp": {...}, "mask": "name,description"}`.
pub async fn update(app: App, req: &Incoming, id: String) -> Response {
    reply_json(update_app(id, credentials(req), &req.body, app))
}

/// DELETE /oauth-app/v1/oauth-apps/{id}?oAuthAppId={id} — `{}`.
pub async fn delete(app: App, req: &Incoming, id: String) -> Response {
    reply_json(delete_app(id, credentials(req), app))
}

/// POST /oauth-app/v1/oauth-apps/{id}/generate-secret — `{"oAuthAppSecret"}`, once per app. The SDK
/// sends `{"oAuthAppId"}` as the body; the path is what counts, so the body is not read.
pub async fn generate_secret(app: App, req: &Incoming, id: String) -> Response {
    reply_json(generate_app_secret(id, credentials(req), app))
}

/// GET /oauth-app/v1/oauth-apps/{id}/secret — refused: see [`get_app_secret`].
pub async fn get_secret(app: App, req: &Incoming, id: String) -> Response {
    reply_json(get_app_secret(id, credentials(req), app))
}

// ---- Authentication -------------------------------------------------------------------------------

/// What a request presents to authenticate: `Authorization` (raw or `Bearer`) and, for API keys,
/// the `wix-site-id`/`wix-account-id` headers.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    authorization: Option<String>,
    site_id: Option<String>,
    account_id: Option<String>,
}

/// Reads the credentials (a header that is not UTF-8 counts as absent).
fn credentials(req: &Incoming) -> Credentials {
    let get = |name: &str| {
        req.header(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    Credentials {
        authorization: get("authorization").map(|v| strip_bearer(&v).to_string()),
        site_id: get("wix-site-id"),
        account_id: get("wix-account-id"),
    }
}

/// What a call needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    Read,
    Manage,
}

/// Authenticates and authorizes a call; returns the site whose apps the caller acts on (`None`: the
/// token names no site, so it sees every app).
fn authorize(app: &App, creds: &Credentials, need: Need) -> Result<Option<String>, WixError> {
    let scopes: &[&str] = match need {
        Need::Read => &[MANAGE, READ],
        Need::Manage => &[MANAGE],
    };
    let token = creds.authorization.as_deref();
    // Keys cannot start with `OauthNG.` (the scenario check refuses it), so tokens never reach the
    // key comparison and keys never reach the JWT check.
    if let Some(presented) = token.filter(|t| !t.starts_with("OauthNG.")) {
        let scenario = app.scenario();
        if let Some(key) = api_keys::find(&scenario.api_keys, presented) {
            return authorize_api_key(app, key, creds, scopes);
        }
    }
    let caller = app.authorize(token)?;
    caller.require_scope(scopes)?;
    Ok(caller.claim.meta_site_id.clone())
}

/// An API key acts for its account on one site: the key's own, else the one `wix-site-id` names.
/// INFERRED (docs/fidelity.md I-26): a wrong account is 403, a missing site 400, a site the key cannot reach 403.
fn authorize_api_key(
    app: &App,
    key: &api_keys::ApiKeySpec,
    creds: &Credentials,
    scopes: &[&str],
) -> Result<Option<String>, WixError> {
    if let Some(account) = creds.account_id.as_deref()
        && account != key.account_id.value
    {
        return Err(WixError::PermissionDenied(format!(
            "the API key does not belong to account {account}"
        )));
    }
    let site = match (key.site_id.as_ref(), creds.site_id.as_deref()) {
        (Some(own), Some(asked)) if own.value != asked => {
            return Err(WixError::PermissionDenied(format!(
                "the API key cannot act on site {asked}"
            )));
        }
        (Some(own), _) => own.value.clone(),
        (None, Some(asked)) => asked.to_string(),
        (None, None) => {
            return Err(WixError::BadRequest(
                "an API key call to a site-level API needs the wix-site-id header".into(),
            ));
        }
    };
    if !app.has_site(&site) {
        return Err(WixError::PermissionDenied(format!(
            "the API key cannot act on site {site}"
        )));
    }
    if !scopes
        .iter()
        .any(|s| key.scopes.iter().any(|have| have == s))
    {
        return Err(WixError::PermissionDenied(format!(
            "the API key lacks the required permission ({})",
            scopes.join(" or ")
        )));
    }
    Ok(Some(site))
}

// ---- Handlers --------------------------------------------------------------------------------------

/// `{"oAuthApp": ...}`, serialised straight from the struct so fields keep Wix's order (a
/// `serde_json::Value` would sort them).
#[derive(Serialize)]
struct Envelope<T> {
    #[serde(rename = "oAuthApp")]
    o_auth_app: T,
}

/// An app with its secret: the create response only. Field order as Wix's (secret last).
#[derive(Serialize)]
struct WithSecret {
    #[serde(flatten)]
    app: OAuthApp,
    secret: String,
}

fn create_app(creds: Credentials, body: &[u8], app: App) -> Result<Envelope<WithSecret>, WixError> {
    let site = authorize(&app, &creds, Need::Manage)?.ok_or_else(|| {
        WixError::BadRequest(
            "the caller names no site (Headless project) to create the app on".into(),
        )
    })?;
    let obj = json_object(body)?;
    let fields = app_fields(&obj)?;
    let (created, secret) = app.create_oauth_app(&site, &fields)?;
    Ok(Envelope {
        o_auth_app: WithSecret {
            app: created,
            secret,
        },
    })
}

fn get_app(id: String, creds: Credentials, app: App) -> Result<Envelope<OAuthApp>, WixError> {
    let site = authorize(&app, &creds, Need::Read)?;
    check_id(&id)?;
    let found = app.get_oauth_app(SiteScope(site.as_deref()), &id)?;
    Ok(Envelope { o_auth_app: found })
}

/// The query response: `{"oAuthApps": [...], "pagingMetadata": {...}}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct QueryResponse {
    o_auth_apps: Vec<OAuthApp>,
    paging_metadata: PagingMetadata,
}

fn query_apps(creds: Credentials, body: &[u8], app: App) -> Result<QueryResponse, WixError> {
    let site = authorize(&app, &creds, Need::Read)?;
    // An empty body is an empty query: every app, default order.
    let obj = if body.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        json_object(body)?
    };
    let q = Query::parse(obj.get("query"))?;
    // The page is copied out under the lock and serialised after it is released.
    let (o_auth_apps, paging_metadata) = app.query_oauth_apps(SiteScope(site.as_deref()), &q);
    Ok(QueryResponse {
        o_auth_apps,
        paging_metadata,
    })
}

fn update_app(
    id: String,
    creds: Credentials,
    body: &[u8],
    app: App,
) -> Result<Envelope<OAuthApp>, WixError> {
    let site = authorize(&app, &creds, Need::Manage)?;
    check_id(&id)?;
    let obj = json_object(body)?;
    let fields = app_fields(&obj)?;
    if let Some(body_id) = obj
        .get("oAuthApp")
        .and_then(|a| a.get("id"))
        .and_then(Value::as_str)
        .filter(|b| !b.is_empty() && *b != id)
    {
        return Err(WixError::Validation(vec![FieldViolation::new(
            "oAuthApp.id",
            "OTHER",
            format!("oAuthApp.id `{body_id}` does not match the id in the path"),
        )]));
    }
    let mask = parse_mask(obj.get("mask"))?;
    let updated = app.update_oauth_app(SiteScope(site.as_deref()), &id, &fields, &mask)?;
    Ok(Envelope {
        o_auth_app: updated,
    })
}

fn delete_app(id: String, creds: Credentials, app: App) -> Result<Value, WixError> {
    let site = authorize(&app, &creds, Need::Manage)?;
    check_id(&id)?;
    app.delete_oauth_app(SiteScope(site.as_deref()), &id)?;
    Ok(json!({}))
}

fn generate_app_secret(id: String, creds: Credentials, app: App) -> Result<Value, WixError> {
    let site = authorize(&app, &creds, Need::Manage)?;
    check_id(&id)?;
    let secret = app.generate_oauth_app_secret(SiteScope(site.as_deref()), &id)?;
    Ok(json!({ "oAuthAppSecret": secret }))
}

/// `GET /{id}/secret` is in SDK 1.0.56 but not in Wix's docs, which say the secret "is returned only
/// when creating ... can't be retrieved later". The mock keeps only SHA-256 digests, so it could not
/// return a secret even if it wanted to. INFERRED (docs/fidelity.md I-24): for an app the caller can see it answers 428
/// FAILED_PRECONDITION `SECRET_NOT_RETRIEVABLE` (404 for an unknown app), so a script that relies on
/// reading a secret back fails loudly here rather than in production.
fn get_app_secret(id: String, creds: Credentials, app: App) -> Result<Value, WixError> {
    let site = authorize(&app, &creds, Need::Manage)?;
    check_id(&id)?;
    app.get_oauth_app(SiteScope(site.as_deref()), &id)?;
    Err(WixError::FailedPrecondition {
        code: "SECRET_NOT_RETRIEVABLE",
        message: format!(
            "the secret of OAuth app {id} cannot be retrieved: it is shown only once, when the app is created or a secret is generated"
        ),
    })
}

// ---- Request reading -------------------------------------------------------------------------------

/// `oAuthAppId` is "@format GUID": anything else is a validation error, not a 404.
fn check_id(id: &str) -> Result<(), WixError> {
    if crate::ids::is_guid(id) {
        Ok(())
    } else {
        Err(WixError::Validation(vec![FieldViolation::new(
            "oAuthAppId",
            "FORMAT",
            "oAuthAppId must be a GUID",
        )]))
    }
}

fn json_object(body: &[u8]) -> Result<Map<String, Value>, WixError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(_) => Err(WixError::BadRequest(
            "request body must be a JSON object".into(),
        )),
        Err(e) => Err(WixError::BadRequest(format!(
            "request body is not valid JSON: {e}"
        ))),
    }
}

/// The `oAuthApp` object of a create or update body, read into fields.
fn app_fields(obj: &Map<String, Value>) -> Result<OAuthAppFields, WixError> {
    let inner = match obj.get("oAuthApp") {
        Some(Value::Object(o)) => o,
        None | Some(Value::Null) => {
            return Err(WixError::Validation(vec![FieldViolation::new(
                "oAuthApp",
                "REQUIRED_FIELD",
                "oAuthApp is required",
            )]));
        }
        Some(_) => {
            return Err(WixError::Validation(vec![FieldViolation::new(
                "oAuthApp",
                "INVALID_TYPE",
                "oAuthApp must be an object",
            )]));
        }
    };
    let mut violations = Vec::new();
    let fields = OAuthAppFields::from_json(inner, "oAuthApp", &mut violations);
    if violations.is_empty() {
        Ok(fields)
    } else {
        Err(WixError::Validation(violations))
    }
}

/// The update mask in every form seen: the proto3 JSON string `"name,description"` (what the SDK
/// sends), `{"paths": [...]}` (the "Scala FW JSON mapping"), `{"path": "..."}` (the doc example) and a
/// bare array. No mask means no change (INFERRED, docs/fidelity.md I-25). snake_case paths are folded to
/// lowerCamel. Read-only and unknown fields are validation errors.
fn parse_mask(mask: Option<&Value>) -> Result<Vec<&'static str>, WixError> {
    let bad_type = || {
        WixError::Validation(vec![FieldViolation::new(
            "mask",
            "INVALID_TYPE",
            "mask must be a comma-separated string, {\"paths\": [...]} or {\"path\": \"...\"}",
        )])
    };
    let strings = |items: &Vec<Value>| -> Result<Vec<String>, WixError> {
        items
            .iter()
            .map(|v| v.as_str().map(str::to_string).ok_or_else(bad_type))
            .collect()
    };
    let raw: Vec<String> = match mask {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => s.split(',').map(str::to_string).collect(),
        Some(Value::Array(items)) => strings(items)?,
        Some(Value::Object(o)) => match (o.get("paths"), o.get("path")) {
            (Some(Value::Array(items)), None) => strings(items)?,
            (None, Some(Value::String(p))) => vec![p.clone()],
            _ => return Err(bad_type()),
        },
        Some(_) => return Err(bad_type()),
    };
    let mut paths = Vec::new();
    let mut violations = Vec::new();
    for p in raw
        .iter()
        .map(|p| camel_case(p.trim()))
        .filter(|p| !p.is_empty())
    {
        if let Some(f) = UPDATABLE.iter().find(|f| **f == p) {
            if !paths.contains(f) {
                paths.push(*f);
            }
        } else if READ_ONLY.contains(&p.as_str()) {
            violations.push(FieldViolation::new(
                "mask",
                "FIELD_NOT_ALLOWED",
                format!("`{p}` is read-only and cannot be updated"),
            ));
        } else {
            violations.push(FieldViolation::new(
                "mask",
                "FIELD_NOT_ALLOWED",
                format!(
                    "`{p}` is not an updatable field (updatable: {})",
                    UPDATABLE.join(", ")
                ),
            ));
        }
    }
    if violations.is_empty() {
        Ok(paths)
    } else {
        Err(WixError::Validation(violations))
    }
}

/// `allowed_redirect_uris` → `allowedRedirectUris`; lowerCamel is returned unchanged.
fn camel_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut upper = false;
    for c in s.chars() {
        if c == '_' && !out.is_empty() {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_are_read_in_every_wire_form() {
        let expect = vec!["name", "description"];
        assert_eq!(
            parse_mask(Some(&json!("name, description"))).unwrap(),
            expect
        );
        assert_eq!(
            parse_mask(Some(&json!({"paths": ["name", "description"]}))).unwrap(),
            expect
        );
        assert_eq!(
            parse_mask(Some(&json!(["name", "description", "name"]))).unwrap(),
            expect
        );
        assert_eq!(
            parse_mask(Some(&json!({"path": "allowed_redirect_domains"}))).unwrap(),
            vec!["allowedRedirectDomains"]
        );
        assert!(parse_mask(None).unwrap().is_empty());
        assert!(parse_mask(Some(&json!(""))).unwrap().is_empty());
        assert!(parse_mask(Some(&json!("id,name"))).is_err());
        assert!(parse_mask(Some(&json!(7))).is_err());
    }
}
