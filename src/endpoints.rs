//! The one table of endpoints: every path the mock serves, declared once with its method, its
//! aliases and the name faults and expectations use for it (`match.endpoint`).
//!
//! Routing ([`route`]), the fault names of scenario files, the JSON Schema, the bad-input matrix, the
//! endpoint fuzz target and the README's endpoint table are derived from this table or checked against
//! it by a test, so they cannot drift. Adding an endpoint means: a row here, its handler in
//! `routes/` (the compiler asks for it: the dispatch `match` is exhaustive), the domain operation on
//! `App`, and tests.
//!
//! A leaf: it imports nothing of the crate.

/// Every endpoint, by name. The dispatch in `routes/mod.rs` matches on it exhaustively.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Id {
    AppMarketInstall,
    InstallerInstall,
    InstallerConsent,
    CloseWindow,
    OauthAccess,
    Oauth2Token,
    TokenInfo,
    AuthorizePage,
    AuthorizeForm,
    Logout,
    RedirectSession,
    BiEvent,
    AppInstance,
    OauthAppsCreate,
    OauthAppsQuery,
    OauthAppsGet,
    OauthAppsUpdate,
    OauthAppsDelete,
    OauthAppsGenerateSecret,
    OauthAppsSecret,
    AdminHealth,
    AdminReady,
    AdminVersion,
    AdminClockGet,
    AdminClockSet,
    AdminReset,
    AdminScenarioGet,
    AdminScenarioPut,
    AdminState,
    AdminRequestsList,
    AdminRequestsClear,
    AdminRequestsWait,
    AdminConformance,
    AdminFaultsArm,
    AdminFaultsList,
    AdminFaultsClear,
    AdminFaultPresets,
    AdminNamespacesList,
    AdminNamespacesClear,
    AdminNamespaceReset,
    AdminNamespaceDelete,
    AdminTokens,
    AdminUi,
    AdminUiScript,
    AdminUiStyle,
    AdminAppPublicKey,
    AdminAppWebhookUrl,
    AdminWebhooksList,
    AdminWebhooksClear,
    AdminWebhookRedeliver,
    AdminWebhooksEmit,
    AdminWebhookFaultsArm,
    AdminWebhookFaultsClear,
    AdminWebhooksRelease,
    AdminInstanceUninstall,
    AdminSignedInstance,
}

/// The HTTP methods the mock serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    /// The method named `name` (upper case), if the mock serves it.
    pub fn parse(name: &str) -> Option<Method> {
        Some(match name {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            _ => return None,
        })
    }
}

/// One endpoint.
#[derive(Debug)]
pub struct Endpoint {
    pub id: Id,
    pub method: Method,
    /// The path templates it answers, the documented one first; `{name}` is one path segment.
    pub paths: &'static [&'static str],
    /// The name a fault or expectation uses for it (`match.endpoint`); several endpoints can share
    /// one. Admin endpoints have none: faults never reach the admin API.
    pub fault_name: Option<&'static str>,
    /// One line for people (the README's endpoint table).
    pub summary: &'static str,
}

impl Endpoint {
    /// Whether this is part of the admin API (`/__admin/...`): no faults, no journal, guarded by the
    /// admin token.
    pub fn is_admin(&self) -> bool {
        self.paths[0].starts_with("/__admin")
    }
}

const fn ep(
    id: Id,
    method: Method,
    paths: &'static [&'static str],
    fault_name: Option<&'static str>,
    summary: &'static str,
) -> Endpoint {
    Endpoint {
        id,
        method,
        paths,
        fault_name,
        summary,
    }
}

use Method::{Delete, Get, Patch, Post, Put};

const OAUTH_APPS: &str = "/oauth-app/v1/oauth-apps";
const REDIRECT_SESSION: &[&str] = &[
    "/_api/redirects-api/v1/redirect-session",
    "/redirect-session/v1/redirect-session",
    "/headless/v1/redirect-session",
];

/// Every endpoint, in routing order: for a path two rows could both match, the first wins (so a
/// literal segment comes before a `{param}` in the same place).
pub static TABLE: &[Endpoint] = &[
    // ---- The legacy install flow ----
    ep(
        Id::AppMarketInstall,
        Get,
        &["/app-market/install"],
        Some("app_market"),
        "the App Market's install click: redirects to the App URL with a `token`",
    ),
    ep(
        Id::InstallerInstall,
        Get,
        &["/installer/install"],
        Some("install"),
        "consent, then `302` to the redirect URL with `code`, `state`, `instanceId`",
    ),
    ep(
        Id::InstallerConsent,
        Post,
        &["/installer/consent"],
        Some("install"),
        "the consent page's Approve or Deny",
    ),
    ep(
        Id::CloseWindow,
        Get,
        &["/installer/close-window"],
        Some("close_window"),
        "the page the app ends the install flow on",
    ),
    ep(
        Id::OauthAccess,
        Post,
        &["/oauth/access"],
        Some("oauth_access"),
        "legacy tokens: `authorization_code` and `refresh_token`",
    ),
    // ---- OAuth2 (also under /_api/oauth2, as a Wix site serves it: docs/fidelity.md F-46) ----
    ep(
        Id::Oauth2Token,
        Post,
        &["/oauth2/token", "/_api/oauth2/token"],
        Some("token"),
        "every `/oauth2/token` grant",
    ),
    ep(
        Id::TokenInfo,
        Post,
        &[
            "/oauth2/token-info",
            "/oauth2/token_info",
            "/_api/oauth2/token-info",
            "/_api/oauth2/token_info",
        ],
        Some("token_info"),
        "what a token says, or `{\"active\": false}`",
    ),
    ep(
        Id::AuthorizePage,
        Get,
        &["/oauth2/authorize", "/_api/oauth2/authorize"],
        Some("authorize"),
        "member login for a redirect session: the login page, or straight back with a code",
    ),
    ep(
        Id::AuthorizeForm,
        Post,
        &["/oauth2/authorize", "/_api/oauth2/authorize"],
        Some("authorize"),
        "the member-login form's submission",
    ),
    ep(
        Id::Logout,
        Get,
        &["/oauth2/logout", "/_api/oauth2/logout"],
        Some("logout"),
        "ends the member's session and redirects to `postFlowUrl`",
    ),
    ep(
        Id::RedirectSession,
        Post,
        REDIRECT_SESSION,
        Some("redirect_session"),
        "a Headless redirect session (login, logout, checkout, ...)",
    ),
    // ---- App management ----
    ep(
        Id::BiEvent,
        Post,
        &["/apps/v1/bi-event"],
        Some("bi_event"),
        "the app reports a BI event (`APP_FINISHED_CONFIGURATION` finishes setup)",
    ),
    ep(
        Id::AppInstance,
        Get,
        &["/apps/v1/instance"],
        Some("app_instance"),
        "Get App Instance: the instance and its site",
    ),
    // ---- OAuth Apps API ----
    ep(
        Id::OauthAppsCreate,
        Post,
        &[OAUTH_APPS],
        Some("oauth_apps"),
        "create an OAuth app; the answer carries its secret, once",
    ),
    ep(
        Id::OauthAppsQuery,
        Post,
        &["/oauth-app/v1/oauth-apps/query"],
        Some("oauth_apps"),
        "query OAuth apps (filter, sort, offset or cursor paging)",
    ),
    ep(
        Id::OauthAppsGet,
        Get,
        &["/oauth-app/v1/oauth-apps/{id}"],
        Some("oauth_apps"),
        "get an OAuth app",
    ),
    ep(
        Id::OauthAppsUpdate,
        Patch,
        &["/oauth-app/v1/oauth-apps/{id}"],
        Some("oauth_apps"),
        "update an OAuth app by field mask",
    ),
    ep(
        Id::OauthAppsDelete,
        Delete,
        &["/oauth-app/v1/oauth-apps/{id}"],
        Some("oauth_apps"),
        "delete an OAuth app",
    ),
    ep(
        Id::OauthAppsGenerateSecret,
        Post,
        &["/oauth-app/v1/oauth-apps/{id}/generate-secret"],
        Some("oauth_apps"),
        "generate an app's secret, once",
    ),
    ep(
        Id::OauthAppsSecret,
        Get,
        &["/oauth-app/v1/oauth-apps/{id}/secret"],
        Some("oauth_apps"),
        "refused: a secret is shown once",
    ),
    // ---- Admin API ----
    ep(
        Id::AdminHealth,
        Get,
        &["/__admin/health"],
        None,
        "liveness and version",
    ),
    ep(Id::AdminReady, Get, &["/__admin/ready"], None, "readiness"),
    ep(
        Id::AdminVersion,
        Get,
        &["/__admin/version"],
        None,
        "the mock's version",
    ),
    ep(
        Id::AdminClockGet,
        Get,
        &["/__admin/clock"],
        None,
        "the virtual clock",
    ),
    ep(
        Id::AdminClockSet,
        Post,
        &["/__admin/clock"],
        None,
        "advance, set, freeze or resume the clock",
    ),
    ep(
        Id::AdminReset,
        Post,
        &["/__admin/reset"],
        None,
        "back to the scenario's initial state",
    ),
    ep(
        Id::AdminScenarioGet,
        Get,
        &["/__admin/scenario"],
        None,
        "the loaded scenario",
    ),
    ep(
        Id::AdminScenarioPut,
        Put,
        &["/__admin/scenario"],
        None,
        "replace the scenario",
    ),
    ep(
        Id::AdminState,
        Get,
        &["/__admin/state"],
        None,
        "everything live",
    ),
    ep(
        Id::AdminRequestsList,
        Get,
        &["/__admin/requests"],
        None,
        "the journal, filtered",
    ),
    ep(
        Id::AdminRequestsClear,
        Delete,
        &["/__admin/requests"],
        None,
        "clear the journal",
    ),
    ep(
        Id::AdminRequestsWait,
        Post,
        &["/__admin/requests/wait"],
        None,
        "wait until the journal holds matching requests",
    ),
    ep(
        Id::AdminConformance,
        Get,
        &["/__admin/conformance"],
        None,
        "the conformance report",
    ),
    ep(
        Id::AdminFaultsArm,
        Post,
        &["/__admin/faults"],
        None,
        "arm faults",
    ),
    ep(
        Id::AdminFaultsList,
        Get,
        &["/__admin/faults"],
        None,
        "the armed faults",
    ),
    ep(
        Id::AdminFaultsClear,
        Delete,
        &["/__admin/faults"],
        None,
        "disarm faults",
    ),
    ep(
        Id::AdminFaultPresets,
        Get,
        &["/__admin/faults/presets"],
        None,
        "the dashboard's fault presets",
    ),
    ep(
        Id::AdminNamespacesList,
        Get,
        &["/__admin/namespaces"],
        None,
        "the live namespaces",
    ),
    ep(
        Id::AdminNamespacesClear,
        Delete,
        &["/__admin/namespaces"],
        None,
        "forget every namespace",
    ),
    ep(
        Id::AdminNamespaceReset,
        Post,
        &["/__admin/namespaces/{name}/reset"],
        None,
        "reset one namespace",
    ),
    ep(
        Id::AdminNamespaceDelete,
        Delete,
        &["/__admin/namespaces/{name}"],
        None,
        "forget one namespace",
    ),
    ep(
        Id::AdminTokens,
        Post,
        &["/__admin/tokens"],
        None,
        "mint a token for any identity",
    ),
    ep(Id::AdminUi, Get, &["/__admin/ui"], None, "the dashboard"),
    ep(
        Id::AdminUiScript,
        Get,
        &["/__admin/ui/app.js"],
        None,
        "the dashboard's script",
    ),
    ep(
        Id::AdminUiStyle,
        Get,
        &["/__admin/ui/style.css"],
        None,
        "the dashboard's styles",
    ),
    ep(
        Id::AdminAppPublicKey,
        Get,
        &["/__admin/apps/{appId}/public-key"],
        None,
        "an app's webhook public key (PEM)",
    ),
    ep(
        Id::AdminAppWebhookUrl,
        Put,
        &["/__admin/apps/{appId}/webhook-url"],
        None,
        "where an app's webhooks go",
    ),
    ep(
        Id::AdminWebhooksList,
        Get,
        &["/__admin/webhooks"],
        None,
        "every webhook delivery",
    ),
    ep(
        Id::AdminWebhooksClear,
        Delete,
        &["/__admin/webhooks"],
        None,
        "forget finished deliveries",
    ),
    ep(
        Id::AdminWebhooksEmit,
        Post,
        &["/__admin/webhooks/emit"],
        None,
        "send any event",
    ),
    ep(
        Id::AdminWebhookFaultsArm,
        Post,
        &["/__admin/webhooks/faults"],
        None,
        "arm a webhook delivery fault",
    ),
    ep(
        Id::AdminWebhookFaultsClear,
        Delete,
        &["/__admin/webhooks/faults"],
        None,
        "disarm webhook delivery faults",
    ),
    ep(
        Id::AdminWebhooksRelease,
        Post,
        &["/__admin/webhooks/release"],
        None,
        "send held deliveries",
    ),
    ep(
        Id::AdminWebhookRedeliver,
        Post,
        &["/__admin/webhooks/{id}/redeliver"],
        None,
        "send a delivery again",
    ),
    ep(
        Id::AdminInstanceUninstall,
        Post,
        &["/__admin/instances/{instanceId}/uninstall"],
        None,
        "uninstall an instance",
    ),
    ep(
        Id::AdminSignedInstance,
        Get,
        &["/__admin/instances/{instanceId}/signed-instance"],
        None,
        "the signed `instance` parameter for an instance",
    ),
];

/// What routing a request gave.
#[derive(Debug)]
pub enum Routed<'p> {
    /// This endpoint, with the path's `{param}` segments in order.
    Found(&'static Endpoint, Vec<&'p str>),
    /// A served path, but not with this method.
    MethodNotAllowed,
    /// No endpoint has this path.
    NotFound,
}

/// Routes `method` and `path` through the table. A trailing `/` is ignored; a `{param}` segment is
/// any non-empty segment, taken as it is (not percent-decoded), as warp's path filters did.
pub fn route<'p>(method: &str, path: &'p str) -> Routed<'p> {
    let path = path.strip_prefix('/').unwrap_or(path);
    let path = path.strip_suffix('/').unwrap_or(path);
    let mut path_known = false;
    for endpoint in TABLE {
        for template in endpoint.paths {
            let Some(args) = match_template(template, path) else {
                continue;
            };
            if endpoint.method.as_str() == method {
                return Routed::Found(endpoint, args);
            }
            path_known = true;
        }
    }
    if path_known {
        Routed::MethodNotAllowed
    } else {
        Routed::NotFound
    }
}

fn match_template<'p>(template: &str, path: &'p str) -> Option<Vec<&'p str>> {
    let mut args = Vec::new();
    let mut segments = path.split('/');
    for want in template[1..].split('/') {
        let have = segments.next()?;
        if want.starts_with('{') {
            if have.is_empty() {
                return None;
            }
            args.push(have);
        } else if want != have {
            return None;
        }
    }
    segments.next().is_none().then_some(args)
}

/// The endpoint with this id.
pub fn get(id: Id) -> &'static Endpoint {
    TABLE.iter().find(|e| e.id == id).unwrap_or(&TABLE[0])
}

/// Every fault name (`match.endpoint`), in table order, without repeats (`any` not included).
pub fn fault_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for name in TABLE.iter().filter_map(|e| e.fault_name) {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(method: &str, path: &str) -> Option<(Id, Vec<String>)> {
        match route(method, path) {
            Routed::Found(e, args) => Some((e.id, args.iter().map(|a| a.to_string()).collect())),
            _ => None,
        }
    }

    #[test]
    fn every_path_routes_to_its_own_row() {
        for e in TABLE {
            for p in e.paths {
                let concrete = p
                    .replace("{id}", "x")
                    .replace("{name}", "x")
                    .replace("{appId}", "x")
                    .replace("{instanceId}", "x");
                assert_eq!(
                    found(e.method.as_str(), &concrete).map(|f| f.0),
                    Some(e.id),
                    "{p}"
                );
            }
        }
    }

    #[test]
    fn literal_segments_win_over_params_and_methods_decide() {
        assert_eq!(
            found("POST", "/oauth-app/v1/oauth-apps/query").unwrap().0,
            Id::OauthAppsQuery
        );
        assert_eq!(
            found("GET", "/oauth-app/v1/oauth-apps/query").unwrap(),
            (Id::OauthAppsGet, vec!["query".to_string()])
        );
        assert!(matches!(
            route("PUT", "/oauth2/token"),
            Routed::MethodNotAllowed
        ));
        assert!(matches!(route("GET", "/nowhere"), Routed::NotFound));
    }

    #[test]
    fn a_trailing_slash_is_ignored_but_empty_segments_are_not() {
        assert_eq!(found("POST", "/oauth/access/").unwrap().0, Id::OauthAccess);
        assert!(found("POST", "/oauth//access").is_none());
        assert!(found("GET", "/oauth-app/v1/oauth-apps//secret").is_none());
    }

    #[test]
    fn ids_are_unique_and_every_id_has_a_row() {
        for e in TABLE {
            assert_eq!(
                TABLE.iter().filter(|o| o.id == e.id).count(),
                1,
                "{:?}",
                e.id
            );
            assert_eq!(get(e.id).id, e.id);
        }
    }
}
