//! Headless member login and logout through redirect sessions (docs/fidelity.md F-24 to F-27).
//!
//! `POST /redirect-session/v1/redirect-session` (the documented path), `/_api/redirects-api/v1/
//! redirect-session` (what the SDK posts to) and `/headless/v1/redirect-session` (a gateway alias)
//! create a session and answer `redirectSession.fullUrl` on the mock's own host, taken from the
//! request's `Host` header so a fetch preload that rewrites Wix hosts can follow it. The page at
//! `/oauth2/authorize` logs a scenario member in (at once, or through a small form) and redirects
//! to the exact registered redirect URI with `code` and `state` in the fragment or the query.

use serde::Deserialize;
use serde_json::{Value, json};
use warp::Reply;
use warp::reply::Response;

use super::{Incoming, query_params, redirect, reply_json};
use crate::app::App;
use crate::error::WixError;
use crate::pages;
use crate::world::member_login::{AuthRequest, Login, LoginStep};

/// The create body: a login (`auth`) or a `logout` flow. Other Wix flows (checkout, bookings...)
/// are not served and get a validation error.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateRedirectSession {
    auth: Option<AuthFlow>,
    logout: Option<LogoutFlow>,
    callbacks: Option<Callbacks>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthFlow {
    auth_request: Option<AuthRequest>,
    #[allow(dead_code)]
    // Accepted as sent: a session token (direct login) or `web_message` decides what the page does.
    prompt: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogoutFlow {
    client_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Callbacks {
    post_flow_url: Option<String>,
}

/// POST /redirect-session/v1/redirect-session, /_api/redirects-api/v1/redirect-session and
/// /headless/v1/redirect-session — `{auth: {authRequest, prompt}}` or `{logout: {clientId},
/// callbacks: {postFlowUrl}}`, with a Headless (visitor or member) access token.
pub async fn create(app: App, req: &Incoming) -> Response {
    reply_json(create_session(
        req.header("host"),
        req.header("x-forwarded-proto"),
        req.access_token(),
        &req.body,
        app,
    ))
}

fn create_session(
    host: Option<&str>,
    proto: Option<&str>,
    token: Option<String>,
    body: &[u8],
    app: App,
) -> Result<Value, WixError> {
    // The gateway authenticates before it reads the body.
    let caller = app.authorize(token.as_deref())?;
    let req: CreateRedirectSession = serde_json::from_slice(body)
        .map_err(|e| WixError::BadRequest(format!("invalid redirect session request: {e}")))?;
    // Inside a namespace the URLs keep its `/__ns/NAME` prefix, so the browser stays in it.
    let origin = format!("{}{}", origin(host, proto), app.base_path());
    let post_flow_url = req
        .callbacks
        .as_ref()
        .and_then(|c| c.post_flow_url.clone())
        .filter(|u| !u.is_empty());
    match (req.auth, req.logout) {
        (Some(auth), None) => {
            let auth_request = auth.auth_request.unwrap_or_default();
            let (id, session_token) = app.create_login_session(&auth_request)?;
            let endpoint = format!("{origin}/oauth2/authorize");
            let full = format!("{endpoint}?redirectSessionId={id}");
            Ok(session_body(
                &id,
                &full,
                &endpoint,
                json!({"redirectSessionId": id}),
                &session_token,
            ))
        }
        (None, Some(logout)) => {
            let client_id = logout.client_id.filter(|c| !c.is_empty()).ok_or_else(|| {
                WixError::Validation(vec![crate::error::FieldViolation::new(
                    "logout.clientId",
                    "REQUIRED_FIELD",
                    "clientId is required",
                )])
            })?;
            // The member is logged out now: the SDK drops its tokens as soon as it has the URL.
            let (id, session_token) =
                app.create_logout_session(&caller, &client_id, post_flow_url.as_deref())?;
            let endpoint = format!("{origin}/oauth2/logout");
            let mut search = vec![("clientId", client_id.as_str())];
            if let Some(u) = post_flow_url.as_deref() {
                search.push(("postFlowUrl", u));
            }
            let query = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&search)
                .finish();
            let params: serde_json::Map<String, Value> = search
                .iter()
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect();
            Ok(session_body(
                &id,
                &format!("{endpoint}?{query}"),
                &endpoint,
                Value::Object(params),
                &session_token,
            ))
        }
        _ => Err(WixError::Validation(vec![
            crate::error::FieldViolation::new(
                "auth",
                "ONE_OF",
                "give exactly one flow: auth (member login) or logout",
            ),
        ])),
    }
}

/// Wix's `redirectSession` object (docs/fidelity.md F-25); `shortUrl` is the full URL, as the mock has no
/// URL shortener.
fn session_body(id: &str, full: &str, endpoint: &str, search: Value, session_token: &str) -> Value {
    json!({"redirectSession": {
        "id": id,
        "fullUrl": full,
        "shortUrl": full,
        "sessionToken": session_token,
        "urlDetails": {"endpoint": endpoint, "searchParams": search},
    }})
}

/// `http://<Host>` when the Host header is a plain host[:port], else `http://localhost`; `https://` when
/// the request came over TLS (`server::run_tls` sets `x-forwarded-proto: https`) or through a proxy
/// that says so.
pub(super) fn origin(host: Option<&str>, proto: Option<&str>) -> String {
    let scheme = match proto.map(str::trim) {
        Some(p) if p.eq_ignore_ascii_case("https") => "https",
        _ => "http",
    };
    host.map(str::trim)
        .filter(|h| !h.is_empty())
        .and_then(|h| {
            let u = url::Url::parse(&format!("{scheme}://{h}/")).ok()?;
            let plain = u.path() == "/"
                && u.username().is_empty()
                && u.password().is_none()
                && u.query().is_none()
                && u.fragment().is_none();
            plain.then(|| u.as_str().trim_end_matches('/').to_string())
        })
        .unwrap_or_else(|| format!("{scheme}://localhost"))
}

fn login_reply(step: Result<LoginStep, WixError>) -> Response {
    match step {
        Ok(LoginStep::Redirect(location)) => redirect(&location),
        Ok(LoginStep::Form(view)) => pages::member_login(&view),
        Ok(LoginStep::WebMessage { origins, data }) => pages::web_message(&origins, &data),
        Err(e) => e.into_response(),
    }
}

fn page_error(e: impl ToString) -> WixError {
    WixError::InstallerPage(e.to_string())
}

/// GET /oauth2/authorize?redirectSessionId=…[&member=<id or e-mail>] — the login page. With
/// `member_login: auto` it logs in at once (the named member, else the site's first); with `form`
/// it shows the form.
pub async fn authorize_page(app: App, req: &Incoming) -> Response {
    let step = (|| {
        let mut q = query_params(&req.raw_query).map_err(page_error)?;
        let id = q
            .remove("redirectSessionId")
            .ok_or_else(|| page_error("missing redirectSessionId"))?;
        let member = q.remove("member").filter(|m| !m.is_empty());
        app.login_member(&id, Login::Auto { member })
    })();
    login_reply(step)
}

/// POST /oauth2/authorize — the login form (`redirectSessionId`, `member` (a listed member's id) or
/// `email`, `password`, `action` = `login` | `signup` | `cancel`).
pub async fn authorize_form(app: App, req: &Incoming) -> Response {
    let step = (|| {
        let p = req.params().map_err(page_error)?;
        let id = p.required("redirect_session_id").map_err(page_error)?;
        let text = |name: &str| -> Result<String, WixError> {
            Ok(p.optional(name).map_err(page_error)?.unwrap_or("").into())
        };
        let login = match p.optional("action").map_err(page_error)? {
            Some("cancel") => Login::Cancel,
            Some("signup") => Login::Signup {
                email: text("email")?,
                password: text("password")?,
            },
            _ => Login::Form {
                // A listed member picked on the form; empty means "another e-mail".
                member: p.optional("member").map_err(page_error)?.map(Into::into),
                email: text("email")?,
                password: text("password")?,
            },
        };
        app.login_member(id, login)
    })();
    login_reply(step)
}

/// GET /oauth2/logout?clientId=…[&postFlowUrl=…] — where a logout session sends the browser: on to
/// `postFlowUrl` (checked again against the OAuth app) or a "logged out" page.
pub async fn logout_page(app: App, req: &Incoming) -> Response {
    let result = (|| {
        let mut q = query_params(&req.raw_query).map_err(page_error)?;
        let client_id = q
            .remove("clientId")
            .ok_or_else(|| page_error("missing clientId"))?;
        let post = q.remove("postFlowUrl").filter(|u| !u.is_empty());
        app.logout(None, &client_id, post.as_deref())
            .map_err(page_error)?;
        Ok::<_, WixError>(post)
    })();
    match result {
        // Wix adds wixMemberLoggedIn to every callback URL (docs/fidelity.md F-48).
        Ok(Some(url)) => match url::Url::parse(&url) {
            Ok(mut u) => {
                u.query_pairs_mut()
                    .append_pair("wixMemberLoggedIn", "false");
                redirect(u.as_str())
            }
            Err(_) => redirect(&url),
        },
        Ok(None) => pages::logged_out(),
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::origin;

    #[test]
    fn the_origin_comes_from_a_plain_host_header_only() {
        assert_eq!(
            origin(Some("127.0.0.1:34567"), None),
            "http://127.0.0.1:34567"
        );
        assert_eq!(
            origin(Some("evil.example/path?x"), None),
            "http://localhost"
        );
        assert_eq!(origin(Some("user@evil.example"), None), "http://localhost");
        assert_eq!(origin(None, None), "http://localhost");
        assert_eq!(
            origin(Some("www.wixapis.com"), Some("https")),
            "https://www.wixapis.com"
        );
        assert_eq!(
            origin(Some("localhost:8443"), Some("HTTPS")),
            "https://localhost:8443"
        );
        assert_eq!(origin(None, Some("https")), "https://localhost");
        assert_eq!(
            origin(Some("a.example"), Some("gopher")),
            "http://a.example"
        );
    }
}
