//! The one table of endpoints: every path the mock serves, declared once with its method, its
//! aliases and the name faults and expectations use for it (`match.endpoint`).
//!
//! Routing ([`route`]), the fault names of scenario files, the JSON Schema, the bad-input matrix, the
//! endpoint fuzz target and the endpoint tables of docs/endpoints.md and docs/admin-api.md are derived
//! from this table or checked against it by a test, so they cannot drift. Adding an endpoint means: a
//! row here, its handler in `routes/` (the compiler asks for it: the dispatch `match` is exhaustive),
//! the domain operation on `App`, and tests.
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
    MemberRegister,
    MemberLogin,
    MemberSignOn,
    MemberLogout,
    MemberChangePassword,
    VerificationVerify,
    VerificationResend,
    RecoverySendEmail,
    RecoveryActivationEmail,
    RecoveryRecover,
    ResetPasswordPage,
    ResetPasswordForm,
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
    AdminOpenApi,
    AdminClockGet,
    AdminClockSet,
    AdminReset,
    AdminScenarioGet,
    AdminScenarioPut,
    AdminState,
    AdminRequestsList,
    AdminOutbox,
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
    AdminStubsList,
    AdminStubsAdd,
    AdminStubsClear,
    AdminStubsReset,
    AdminStubGet,
    AdminStubDelete,
    AdminTlsCa,
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
    /// One line for people (the endpoint tables of docs/).
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
        r#"`?appId=…[&siteId=…]`: plays the App Market click: `302` to the app's App URL with a single-use `token` (a new site unless `siteId` names one; an app already installed there also gets the signed `instance`)"#,
    ),
    ep(
        Id::InstallerInstall,
        Get,
        &["/installer/install"],
        Some("install"),
        r#"`?appId&redirectUrl[&state][&token]`: checks the app, that `redirectUrl` is registered (exact match), the token; consents (automatically, or with an HTML page); `302` to `redirectUrl?code=…&state=…&instanceId=…`. Bad parameters get Wix's HTML 400 page and are never redirected"#,
    ),
    ep(
        Id::InstallerConsent,
        Post,
        &["/installer/consent"],
        Some("install"),
        r#"the consent page's Approve / Deny (`consent_id`, `decision=approve\|deny`); Deny redirects with `error=access_denied`"#,
    ),
    ep(
        Id::CloseWindow,
        Get,
        &["/installer/close-window"],
        Some("close_window"),
        r#"`?access_token=…`: the page the app finishes on; records that the flow closed"#,
    ),
    ep(
        Id::OauthAccess,
        Post,
        &["/oauth/access"],
        Some("oauth_access"),
        r#"legacy `authorization_code` and `refresh_token` grants (also with a trailing `/`); answers `{"access_token","refresh_token"}`"#,
    ),
    // ---- OAuth2 (also under /_api/oauth2, as a Wix site serves it: docs/fidelity.md F-46) ----
    ep(
        Id::Oauth2Token,
        Post,
        &["/oauth2/token", "/_api/oauth2/token"],
        Some("token"),
        r#"every grant: `client_credentials`, `anonymous`, `refresh_token`, `authorization_code` (PKCE), `strip_bound_session`, `authorized_client`"#,
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
        r#"`{"token"}` → what the token is; `{"active": false}` for anything expired, revoked or unknown"#,
    ),
    ep(
        Id::AuthorizePage,
        Get,
        &["/oauth2/authorize", "/_api/oauth2/authorize"],
        Some("authorize"),
        r#"`?redirectSessionId=…[&member=…]`: the member-login page: logs a member in at once, or shows a form (`member_login: form`)"#,
    ),
    ep(
        Id::AuthorizeForm,
        Post,
        &["/oauth2/authorize", "/_api/oauth2/authorize"],
        Some("authorize"),
        r#"the login form (`redirectSessionId`, `member` or `email`, `password`, `action=login\|signup\|cancel`)"#,
    ),
    ep(
        Id::Logout,
        Get,
        &["/oauth2/logout", "/_api/oauth2/logout"],
        Some("logout"),
        r#"`?clientId=…[&postFlowUrl=…]`: where a logout session sends the browser: on to `postFlowUrl` (with `wixMemberLoggedIn=false`), or a "logged out" page"#,
    ),
    ep(
        Id::RedirectSession,
        Post,
        REDIRECT_SESSION,
        Some("redirect_session"),
        r#"a member-login (`auth`) or `logout` redirect session, with a Headless token"#,
    ),
    // ---- Headless members with their own login form (issue 14; docs/members.md) ----
    ep(
        Id::MemberRegister,
        Post,
        &[
            "/_api/iam/authentication/v2/register",
            "/iam/authentication/v2/register",
        ],
        Some("register"),
        r#"`{loginId: {email}, password, profile?, captchaTokens?}` with a visitor token: a new member; `state` `SUCCESS` + `sessionToken`, `REQUIRE_OWNER_APPROVAL` or `REQUIRE_EMAIL_VERIFICATION` + `stateToken`, as the site's `member_policy` says"#,
    ),
    ep(
        Id::MemberLogin,
        Post,
        &[
            "/_api/iam/authentication/v2/login",
            "/iam/authentication/v2/login",
        ],
        Some("login"),
        r#"`{loginId: {email}, password, captchaTokens?}`: the same states; wrong passwords are counted (`-19976`, then `-19973` reset required)"#,
    ),
    ep(
        Id::MemberSignOn,
        Post,
        &[
            "/_api/iam/authentication/v2/sign-on",
            "/iam/authentication/v2/sign-on",
        ],
        Some("sign_on"),
        r#"`{loginId: {email}, profile?}` with `Authorization: <visitor token>,<API key>`: `{sessionToken, identity}` for the member (created when new), for `authorized_client` with `session_token`"#,
    ),
    ep(
        Id::MemberLogout,
        Get,
        &[
            "/_api/iam/authentication/v1/logout",
            "/iam/authentication/v1/logout",
        ],
        Some("member_logout"),
        r#"`?clientId&postLogoutRedirectUri` with a member token: every token of the member stops working; answers `{}`"#,
    ),
    ep(
        Id::MemberChangePassword,
        Post,
        &[
            "/_api/iam/authentication/v2/change-password",
            "/iam/authentication/v2/change-password",
        ],
        Some("change_password"),
        r#"`{newPassword}` with a member token; answers `{}`"#,
    ),
    ep(
        Id::VerificationVerify,
        Post,
        &[
            "/_api/iam/verification/v1/auth/verify",
            "/iam/verification/v1/auth/verify",
        ],
        Some("verify"),
        r#"`{code, stateToken}`: the code from the outbox; answers the next state (`SUCCESS` + `sessionToken`, or `REQUIRE_OWNER_APPROVAL`)"#,
    ),
    ep(
        Id::VerificationResend,
        Post,
        &[
            "/_api/iam/verification/v1/auth/resend",
            "/iam/verification/v1/auth/resend",
        ],
        Some("verify"),
        r#"`{stateToken}`: a new code to the outbox; answers `{}`"#,
    ),
    ep(
        Id::RecoverySendEmail,
        Post,
        &[
            "/_api/iam/recovery/v1/send-email",
            "/iam/recovery/v1/send-email",
        ],
        Some("recovery"),
        r#"`{email, redirect?: {url, clientId}}`: a recovery link to the outbox (none for an unknown e-mail, same answer); answers `{}`"#,
    ),
    ep(
        Id::RecoveryActivationEmail,
        Post,
        &[
            "/_api/iam/recovery/v1/activation-email",
            "/iam/recovery/v1/activation-email",
        ],
        Some("recovery"),
        r#"`{identityId, emailOptions?: {redirect}}`: an activation (set-password) link to the outbox; answers `{}`"#,
    ),
    ep(
        Id::RecoveryRecover,
        Post,
        &["/_api/iam/recovery/v1/recover", "/iam/recovery/v1/recover"],
        Some("recovery"),
        r#"`{recoveryToken, password}`: the new password (a link works once); answers `SUCCESS` + `sessionToken`"#,
    ),
    ep(
        Id::ResetPasswordPage,
        Get,
        &["/iam/recovery/reset-password"],
        Some("reset_password"),
        r#"`?recoveryToken=…`: the page a recovery link opens (mock's own, no script): a new-password form"#,
    ),
    ep(
        Id::ResetPasswordForm,
        Post,
        &["/iam/recovery/reset-password"],
        Some("reset_password"),
        r#"the reset form (`recoveryToken`, `password`): `recover`, then `302` to the link's redirect URL or a "password changed" page"#,
    ),
    // ---- App management ----
    ep(
        Id::BiEvent,
        Post,
        &["/apps/v1/bi-event"],
        Some("bi_event"),
        r#"`{eventName, customEventName?, eventData?}` with an access token; `APP_FINISHED_CONFIGURATION` completes the instance's setup; answers `{}`"#,
    ),
    ep(
        Id::AppInstance,
        Get,
        &["/apps/v1/instance"],
        Some("app_instance"),
        r#"Get App Instance: the instance, site and app of an app token (needs `SCOPE.DC-APPS.MANAGE-YOUR-APP`)"#,
    ),
    // ---- OAuth Apps API ----
    ep(
        Id::OauthAppsCreate,
        Post,
        &[OAUTH_APPS],
        Some("oauth_apps"),
        r#"create an OAuth app; the answer carries its secret, this once"#,
    ),
    ep(
        Id::OauthAppsQuery,
        Post,
        &["/oauth-app/v1/oauth-apps/query"],
        Some("oauth_apps"),
        r#"query OAuth apps (filter, sort, paging or cursor paging)"#,
    ),
    ep(
        Id::OauthAppsGet,
        Get,
        &["/oauth-app/v1/oauth-apps/{id}"],
        Some("oauth_apps"),
        r#"get an OAuth app (never its secret)"#,
    ),
    ep(
        Id::OauthAppsUpdate,
        Patch,
        &["/oauth-app/v1/oauth-apps/{id}"],
        Some("oauth_apps"),
        r#"update an OAuth app with a field mask"#,
    ),
    ep(
        Id::OauthAppsDelete,
        Delete,
        &["/oauth-app/v1/oauth-apps/{id}"],
        Some("oauth_apps"),
        r#"delete an OAuth app"#,
    ),
    ep(
        Id::OauthAppsGenerateSecret,
        Post,
        &["/oauth-app/v1/oauth-apps/{id}/generate-secret"],
        Some("oauth_apps"),
        r#"a new secret, once per app"#,
    ),
    ep(
        Id::OauthAppsSecret,
        Get,
        &["/oauth-app/v1/oauth-apps/{id}/secret"],
        Some("oauth_apps"),
        r#"always `428 SECRET_NOT_RETRIEVABLE`: a secret is shown once"#,
    ),
    // ---- Admin API ----
    ep(
        Id::AdminHealth,
        Get,
        &["/__admin/health"],
        None,
        r#"`{"status":"ok"}` (liveness)"#,
    ),
    ep(
        Id::AdminReady,
        Get,
        &["/__admin/ready"],
        None,
        r#"`{"status":"ready","scenario"}` (the scenario is loaded before the port is bound)"#,
    ),
    ep(
        Id::AdminVersion,
        Get,
        &["/__admin/version"],
        None,
        r#"`{"name","version"}`"#,
    ),
    ep(
        Id::AdminOpenApi,
        Get,
        &["/__admin/openapi.json"],
        None,
        r#"this admin API described in OpenAPI 3.1 (for client generators and editors)"#,
    ),
    ep(
        Id::AdminClockGet,
        Get,
        &["/__admin/clock"],
        None,
        r#"`{"now", "unix", "frozen"}`"#,
    ),
    ep(
        Id::AdminClockSet,
        Post,
        &["/__admin/clock"],
        None,
        r#"one of `{"advance_secs": 3600}` (negative moves back), `{"set": "2026-01-01T00:00:00Z"}`, `{"freeze": true}`, `{"resume": true}`; answers the new clock"#,
    ),
    ep(
        Id::AdminReset,
        Post,
        &["/__admin/reset"],
        None,
        r#"back to the scenario's initial state: world, clock, seed, journal, webhook deliveries, scenario faults (faults armed at run time are dropped) and conformance"#,
    ),
    ep(
        Id::AdminScenarioGet,
        Get,
        &["/__admin/scenario"],
        None,
        r#"`{"scenario", "origin"}`: the loaded scenario, secrets included (this is a test tool), and where it came from"#,
    ),
    ep(
        Id::AdminScenarioPut,
        Put,
        &["/__admin/scenario"],
        None,
        r#"replaces the running scenario (YAML or JSON body) and resets; `400` with `line:col` messages for a bad one, which is not loaded"#,
    ),
    ep(
        Id::AdminState,
        Get,
        &["/__admin/state"],
        None,
        r#"apps (without secrets), sites, instances with setup status, removed instances, live codes, refresh tokens, recent access tokens with time left, identities, OAuth apps"#,
    ),
    ep(
        Id::AdminRequestsList,
        Get,
        &["/__admin/requests"],
        None,
        r#"`?path=&method=&status=&since=&fault=&request_id=`: the journal, filtered: `{"count", "requests"}`, oldest first, last 1000, secrets redacted"#,
    ),
    ep(
        Id::AdminOutbox,
        Get,
        &["/__admin/outbox"],
        None,
        r#"`?email=&wait=<ms>`: e-mails the mock did not send (verification codes, recovery and activation links), newest first; `wait` holds the answer until one matches"#,
    ),
    ep(
        Id::AdminRequestsClear,
        Delete,
        &["/__admin/requests"],
        None,
        r#"clears the journal"#,
    ),
    ep(
        Id::AdminRequestsWait,
        Post,
        &["/__admin/requests/wait"],
        None,
        r#"waits for matching requests: `200 {"matched": true, …}` or `408 {"matched": false, …}` at the timeout"#,
    ),
    ep(
        Id::AdminConformance,
        Get,
        &["/__admin/conformance"],
        None,
        r#"`[?format=text]`: the conformance report: violations and `expect:` results"#,
    ),
    ep(
        Id::AdminFaultsArm,
        Post,
        &["/__admin/faults"],
        None,
        r#"arms one fault or a list (YAML or JSON): `{"armed": [names]}`"#,
    ),
    ep(
        Id::AdminFaultsList,
        Get,
        &["/__admin/faults"],
        None,
        r#"armed faults with `matched` / `fired` counters"#,
    ),
    ep(
        Id::AdminFaultsClear,
        Delete,
        &["/__admin/faults"],
        None,
        r#"`[?name=…]`: disarms one fault, or all"#,
    ),
    ep(
        Id::AdminFaultPresets,
        Get,
        &["/__admin/faults/presets"],
        None,
        r#"the scenario library's faults, ready to post to `/__admin/faults`"#,
    ),
    ep(
        Id::AdminNamespacesList,
        Get,
        &["/__admin/namespaces"],
        None,
        r#"the live namespaces, most recently used first, with the limit"#,
    ),
    ep(
        Id::AdminNamespacesClear,
        Delete,
        &["/__admin/namespaces"],
        None,
        r#"forgets every namespace"#,
    ),
    ep(
        Id::AdminNamespaceReset,
        Post,
        &["/__admin/namespaces/{name}/reset"],
        None,
        r#"resets one namespace (made if absent)"#,
    ),
    ep(
        Id::AdminNamespaceDelete,
        Delete,
        &["/__admin/namespaces/{name}"],
        None,
        r#"forgets one namespace; the next request under its name starts afresh"#,
    ),
    ep(
        Id::AdminTokens,
        Post,
        &["/__admin/tokens"],
        None,
        r#"mints a token for any identity"#,
    ),
    ep(Id::AdminUi, Get, &["/__admin/ui"], None, r#"the dashboard"#),
    ep(
        Id::AdminUiScript,
        Get,
        &["/__admin/ui/app.js"],
        None,
        r#"the dashboard's script"#,
    ),
    ep(
        Id::AdminUiStyle,
        Get,
        &["/__admin/ui/style.css"],
        None,
        r#"the dashboard's styles"#,
    ),
    ep(
        Id::AdminAppPublicKey,
        Get,
        &["/__admin/apps/{appId}/public-key"],
        None,
        r#"the app's webhook public key as PEM; `{appId, kid, publicKey}` with `Accept: application/json`"#,
    ),
    ep(
        Id::AdminAppWebhookUrl,
        Put,
        &["/__admin/apps/{appId}/webhook-url"],
        None,
        r#"`{"url": "http://…"}` sets, `{"url": null}` clears the app's webhook URL"#,
    ),
    ep(
        Id::AdminWebhooksList,
        Get,
        &["/__admin/webhooks"],
        None,
        r#"the last 1000 deliveries, oldest first, each with its attempts"#,
    ),
    ep(
        Id::AdminWebhooksClear,
        Delete,
        &["/__admin/webhooks"],
        None,
        r#"forgets finished deliveries"#,
    ),
    ep(
        Id::AdminWebhooksEmit,
        Post,
        &["/__admin/webhooks/emit"],
        None,
        r#"`{"instance_id", "event_type", "data"?, "identity"?}`: sends any event to the instance's app; `202`"#,
    ),
    ep(
        Id::AdminWebhookFaultsArm,
        Post,
        &["/__admin/webhooks/faults"],
        None,
        r#"arms a delivery fault: `{"event_type"?, "delay_ms"?, "duplicates"?, "hold"?, "times"?}`"#,
    ),
    ep(
        Id::AdminWebhookFaultsClear,
        Delete,
        &["/__admin/webhooks/faults"],
        None,
        r#"disarms every delivery fault"#,
    ),
    ep(
        Id::AdminWebhooksRelease,
        Post,
        &["/__admin/webhooks/release"],
        None,
        r#"sends held deliveries; `{"order": "reversed"}` sends the newest first"#,
    ),
    ep(
        Id::AdminWebhookRedeliver,
        Post,
        &["/__admin/webhooks/{id}/redeliver"],
        None,
        r#"sends the delivery's event again as a new delivery, signed now, to the app's current URL; `202`"#,
    ),
    ep(
        Id::AdminInstanceUninstall,
        Post,
        &["/__admin/instances/{instanceId}/uninstall"],
        None,
        r#"uninstalls: tokens revoked at once, `AppRemoved` sent"#,
    ),
    ep(
        Id::AdminSignedInstance,
        Get,
        &["/__admin/instances/{instanceId}/signed-instance"],
        None,
        r#"`[?uid=…\|?visitor=true]`: the encoded `instance` parameter and its payload"#,
    ),
    ep(
        Id::AdminStubsList,
        Get,
        &["/__admin/stubs"],
        None,
        r#"the stubs in matching order, each with `matched` (requests it matched), and the named scenario `states` (docs/stubs.md)"#,
    ),
    ep(
        Id::AdminStubsAdd,
        Post,
        &["/__admin/stubs"],
        None,
        r#"adds a stub, a list, or `{stubs: [...]}` (YAML or JSON): `201 {"added": [names]}`; `400` listing every problem"#,
    ),
    ep(
        Id::AdminStubsClear,
        Delete,
        &["/__admin/stubs"],
        None,
        r#"removes every stub, the scenario's too (until a reset)"#,
    ),
    ep(
        Id::AdminStubsReset,
        Post,
        &["/__admin/stubs/reset"],
        None,
        r#"back to the scenario's stubs, with sequences and scenario states at their start"#,
    ),
    ep(
        Id::AdminStubGet,
        Get,
        &["/__admin/stubs/{name}"],
        None,
        r#"one stub, with `matched`"#,
    ),
    ep(
        Id::AdminStubDelete,
        Delete,
        &["/__admin/stubs/{name}"],
        None,
        r#"removes one stub"#,
    ),
    ep(
        Id::AdminTlsCa,
        Get,
        &["/__admin/tls/ca.pem"],
        None,
        r#"the CA certificate (PEM) a client must trust for the HTTPS port (`--tls`); `404 TLS_CA_NOT_AVAILABLE` without `--tls` or with `--tls-cert`"#,
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
    for (endpoint, template, with_params) in TEMPLATES.iter() {
        // Most templates have no `{param}`: one comparison, which fails on the length for nearly
        // every row (the table's scan was 2 % of a token request, then looking for `{` in every
        // template on every request 0.5 %, issue 13).
        let args = if *with_params {
            match match_template(template, path) {
                Some(args) => args,
                None => continue,
            }
        } else if *template == path {
            Vec::new()
        } else {
            continue;
        };
        if endpoint.method.as_str() == method {
            return Routed::Found(endpoint, args);
        }
        path_known = true;
    }
    if path_known {
        Routed::MethodNotAllowed
    } else {
        Routed::NotFound
    }
}

/// Every path of [`TABLE`] in its order, without the leading `/`, with whether it has a
/// `{param}`: worked out once instead of on every request.
static TEMPLATES: std::sync::LazyLock<Vec<(&'static Endpoint, &'static str, bool)>> =
    std::sync::LazyLock::new(|| {
        TABLE
            .iter()
            .flat_map(|endpoint| {
                endpoint.paths.iter().map(move |template| {
                    let template = template.strip_prefix('/').unwrap_or(template);
                    (endpoint, template, template.contains('{'))
                })
            })
            .collect()
    });

/// Matches a template with `{param}`s (without its leading `/`) against `path`; the params.
fn match_template<'p>(template: &str, path: &'p str) -> Option<Vec<&'p str>> {
    let mut args = Vec::new();
    let mut segments = path.split('/');
    for want in template.split('/') {
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

/// The table of the Wix surface (`admin == false`) or of the admin API, generated from the
/// table (a test checks that docs/endpoints.md and docs/admin-api.md hold exactly this).
pub fn markdown(admin: bool) -> String {
    let mut out = if admin {
        String::from("| method | path | what it does |\n|---|---|---|\n")
    } else {
        String::from("| method | path | also at | what it does |\n|---|---|---|---|\n")
    };
    for e in TABLE.iter().filter(|e| e.is_admin() == admin) {
        let path = format!("`{}`", e.paths[0]);
        if admin {
            out += &format!("| {} | {path} | {} |\n", e.method.as_str(), e.summary);
        } else {
            let also: Vec<String> = e.paths[1..].iter().map(|p| format!("`{p}`")).collect();
            out += &format!(
                "| {} | {path} | {} | {} |\n",
                e.method.as_str(),
                also.join(", "),
                e.summary
            );
        }
    }
    out
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
