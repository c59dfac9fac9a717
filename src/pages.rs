//! The HTML pages a person sees: the installer's error page, the consent page, the member-login
//! form and the close-window page. (The dashboard is separate: `routes/admin/ui.rs`.)
//!
//! Self-contained (no external assets, no JavaScript needed to finish a flow) and escaped throughout:
//! every value shown comes from a request or a scenario.

use warp::Reply;
use warp::http::{HeaderValue, header};
use warp::reply::Response;

use crate::world::ConsentView;

/// The pages' stylesheet, inlined into each page so nothing is fetched from anywhere (and no
/// stylesheet request lands in the journal). A plain imitation of Wix's look; every colour keeps a
/// contrast ratio of at least 4.5:1 against its background (WCAG AA).
const STYLE: &str = include_str!("assets/pages.css");

/// Human-readable names of the permission scopes the shipped scenarios and tests use, as Wix's
/// consent screen words them (approximately: Wix's exact wording is not documented). Other scopes get
/// a label derived from their id by [`scope_label`].
const SCOPE_LABELS: &[(&str, &str)] = &[
    ("SCOPE.DC-APPS.MANAGE-YOUR-APP", "Manage your app"),
    ("SCOPE.DC.MANAGE-YOUR-APP", "Manage your app"),
    (
        "SCOPE.DC-APPS.READ-SITE-OWNER-EMAIL",
        "Read the site owner's email",
    ),
    ("SCOPE.DC-STORES.MANAGE-PRODUCTS", "Manage products"),
    ("SCOPE.DC-CONTACTS.READ-CONTACTS", "Read contacts"),
    (
        "SCOPE.DEV_CENTER.APP-INSTANCE-READ-BASIC-INFO",
        "Read basic site and app info",
    ),
    ("SCOPE.OAUTH_APP.MANAGE", "Manage OAuth apps"),
    ("SCOPE.OAUTH_APP.READ", "Read OAuth apps"),
    ("SCOPE.HEADLESS.MANAGE", "Manage Headless settings"),
];

/// The label shown next to a scope id: the known wording, else the id's last part in words
/// (`SCOPE.EVENTS.MANAGE-EVENTS` → "Manage events").
pub fn scope_label(scope: &str) -> String {
    if let Some((_, label)) = SCOPE_LABELS.iter().find(|(id, _)| *id == scope) {
        return (*label).to_string();
    }
    let last = scope.rsplit('.').next().unwrap_or(scope);
    let words = last.replace(['-', '_'], " ").to_lowercase();
    let mut chars = words.trim().chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => scope.to_string(),
    }
}

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(title: &str, body: &str) -> Response {
    // A banner, the main landmark and a footer that says this is not Wix.
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>{}</title><link rel=\"icon\" href=\"data:,\"><style>{STYLE}</style></head><body>\
<header class=\"topbar\"><span class=\"logo\" aria-hidden=\"true\">WiX</span><span class=\"badge\">wix-oauth-mock</span></header>\
<main>{body}</main><footer>Served by wix-oauth-mock, a local emulator. This is not Wix.</footer></body></html>\n",
        escape(title)
    );
    let mut res = warp::reply::html(html).into_response();
    // The real installer pages must not be cached, and pages with one-time values should not be either.
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Nothing but the page's own inline style (and close-window's one-line script) runs, and no
    // other site may frame the consent or login page to click it for the user (issue 18). No
    // form-action: browsers apply it to the redirect after a form too, which goes to the app.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}

/// The pages' Content-Security-Policy.
const PAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; \
img-src data:; base-uri 'none'; frame-ancestors 'none'";

/// Wix's installer error page: "ERROR: BAD REQUEST 400 ... This action can't be completed."
/// (docs/fidelity.md F-45, I-06). The reason is shown too, which Wix does not do, because a mock should say why.
pub fn installer_error(reason: &str) -> Response {
    page(
        "Error 400",
        &format!(
            "<h1>ERROR: BAD REQUEST 400</h1><p>This action can't be completed.</p>\
<p class=\"muted\">Reason (wix-oauth-mock): <span id=\"reason\">{}</span></p>",
            escape(reason)
        ),
    )
}

/// The consent page: the app, the permissions it asks for (label and scope id), Approve and Deny
/// (plain form posts; Approve is the form's first button, which form-walking clients press).
/// The form action is relative, so a page served under `/__ns/NAME/` posts back into its namespace.
pub fn consent(view: &ConsentView) -> Response {
    let scopes = if view.scopes.is_empty() {
        "<li><span class=\"perm-label\">No special permissions</span></li>".to_string()
    } else {
        view.scopes
            .iter()
            .map(|s| {
                format!(
                    "<li><span class=\"perm-label\">{}</span><span class=\"scope\">{}</span></li>",
                    escape(&scope_label(s)),
                    escape(s)
                )
            })
            .collect::<String>()
    };
    let site = view
        .site_name
        .as_deref()
        .map(|s| format!(" to <strong>{}</strong>", escape(s)))
        .unwrap_or_else(|| " to a new site".to_string());
    let initial = view
        .app_name
        .chars()
        .find(|c| c.is_alphanumeric())
        .map(|c| c.to_uppercase().to_string())
        .unwrap_or_else(|| "?".into());
    page(
        &format!("Install {}", view.app_name),
        &format!(
            "<div class=\"app\"><span class=\"app-icon\" aria-hidden=\"true\">{initial}</span>\
<div><h1>Add {app}{site}?</h1><p class=\"muted\">Review the permissions before you add this app.</p></div></div>\
<h2 id=\"perm-heading\" class=\"muted\">{app} will be able to:</h2>\
<ul id=\"permissions\" class=\"perms\" aria-labelledby=\"perm-heading\">{scopes}</ul>\
<p class=\"muted\">After you agree you will be sent to <code>{redirect}</code></p>\
<form method=\"post\" action=\"consent\">\
<input type=\"hidden\" name=\"consent_id\" value=\"{id}\">\
<div class=\"actions\">\
<button class=\"approve\" type=\"submit\" name=\"decision\" value=\"approve\">Agree &amp; Add</button>\
<button class=\"deny\" type=\"submit\" name=\"decision\" value=\"deny\">Cancel</button></div></form>",
            initial = escape(&initial),
            app = escape(&view.app_name),
            redirect = escape(&view.redirect_url),
            id = escape(&view.consent_id),
        ),
    )
}

/// The page `/installer/close-window` shows once the app finished its setup flow.
pub fn close_window(recorded: bool) -> Response {
    let note = if recorded {
        "The installation flow is complete."
    } else {
        "The access token was missing, unknown or expired, so the mock recorded nothing."
    };
    page(
        "Installation complete",
        &format!(
            "<h1>You can close this window</h1><p id=\"status\">{note}</p>\
<script>try{{window.close()}}catch(e){{}}</script>"
        ),
    )
}

/// The Headless member-login page (`scenario.member_login: form`): the site's members to pick from
/// or another e-mail, the password, and Log In, Sign Up and Cancel. Log In comes first, so a client
/// that submits the form as it is logs the preselected member in.
/// The form action is relative, as on the consent page, to stay inside a namespace.
pub fn member_login(view: &crate::world::member_login::LoginView) -> Response {
    let error = view
        .error
        .as_deref()
        .map(|e| {
            format!(
                "<p id=\"error\" class=\"error\" role=\"alert\">{}</p>",
                escape(e)
            )
        })
        .unwrap_or_default();
    let checked = |on: bool| if on { " checked" } else { "" };
    let members: String = view
        .members
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let hint = if m.has_password {
                "password required"
            } else {
                "no password"
            };
            format!(
                "<label class=\"choice\"><input type=\"radio\" name=\"member\" id=\"member-{i}\" value=\"{id}\"{c}>\
<span><strong>{nick}</strong><br><span class=\"muted\">{email} · {hint}</span></span></label>",
                id = escape(&m.id),
                c = checked(view.selected.as_deref() == Some(m.id.as_str())),
                nick = escape(&m.nickname),
                email = escape(&m.email),
            )
        })
        .collect();
    page(
        "Log in",
        &format!(
            "<h1>Log in to {client}</h1><p class=\"muted\">Pick one of the site's members or type another e-mail.</p>{error}\
<form method=\"post\" action=\"authorize\">\
<input type=\"hidden\" name=\"redirectSessionId\" value=\"{id}\">\
<fieldset><legend>Log in as</legend>{members}\
<label class=\"choice\"><input type=\"radio\" name=\"member\" id=\"member-other\" value=\"\"{other}>\
<span>Another e-mail (type it below)</span></label></fieldset>\
<label class=\"field\"><span>E-mail</span><input type=\"email\" name=\"email\" id=\"email\" autocomplete=\"username\" value=\"{email}\"></label>\
<label class=\"field\"><span>Password</span><input type=\"password\" name=\"password\" id=\"password\" autocomplete=\"current-password\" value=\"\"></label>\
<div class=\"actions\">\
<button class=\"approve\" type=\"submit\" name=\"action\" value=\"login\">Log In</button>\
<button class=\"deny\" type=\"submit\" name=\"action\" value=\"signup\">Sign Up as a new member</button>\
<button class=\"deny\" type=\"submit\" name=\"action\" value=\"cancel\">Cancel</button></div></form>",
            client = escape(&view.client_name),
            id = escape(&view.session_id),
            other = checked(view.selected.is_none()),
            email = escape(&view.email),
        ),
    )
}

/// The `responseMode: web_message` answer of `/oauth2/authorize` (direct login): a page, loaded in
/// the SDK's hidden iframe, that posts `data` (`{code, state}` or `{error, error_description,
/// state}`) to its parent (or opener) as the SDK's `addPostMessageListener` waits for, with each of
/// `origins` (the registered redirect URIs' origins) as the target, never `*`: the browser delivers
/// it only to a window of that origin. Only those origins may frame the page.
pub fn web_message(origins: &[String], data: &[(String, String)]) -> Response {
    let map: serde_json::Map<String, serde_json::Value> = data
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    // JSON inside a <script>: `<` escaped so no value can close the element.
    let js = |v: &serde_json::Value| v.to_string().replace('<', "\\u003c");
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Logging in</title></head><body>\
<p id=\"status\">Handing the result to the application…</p><script>\
(function(){{var data={data};var origins={origins};var target=window.opener||window.parent;\
if(target&&target!==window){{origins.forEach(function(o){{target.postMessage(data,o);}});}}}})();</script></body></html>\n",
        data = js(&serde_json::Value::Object(map)),
        origins = js(&serde_json::json!(origins)),
    );
    let mut res = warp::reply::html(html).into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Origins are `scheme://host[:port]` from checked URLs: no space or quote can reach the header.
    let ancestors = if origins.is_empty() {
        "'none'".to_string()
    } else {
        origins.join(" ")
    };
    let csp = format!(
        "default-src 'none'; script-src 'unsafe-inline'; base-uri 'none'; frame-ancestors {ancestors}"
    );
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}

/// The reset-password page a recovery (or activation) link opens: a plain form, no script, that
/// posts the new password back to the same path (`recover`).
pub fn reset_password(token: &str, email: &str, error: Option<&str>) -> Response {
    let error = error
        .map(|e| {
            format!(
                "<p id=\"error\" class=\"error\" role=\"alert\">{}</p>",
                escape(e)
            )
        })
        .unwrap_or_default();
    page(
        "Reset password",
        &format!(
            "<h1>Choose a new password</h1><p class=\"muted\">For <span id=\"email\">{email}</span>.</p>{error}\
<form method=\"post\" action=\"reset-password\">\
<input type=\"hidden\" name=\"recoveryToken\" value=\"{token}\">\
<label class=\"field\"><span>New password</span><input type=\"password\" name=\"password\" id=\"password\" autocomplete=\"new-password\" value=\"\"></label>\
<div class=\"actions\"><button class=\"approve\" type=\"submit\">Set password</button></div></form>",
            email = escape(email),
            token = escape(token),
        ),
    )
}

/// Where the reset page ends when the link gave no redirect URL.
pub fn password_changed() -> Response {
    page(
        "Password changed",
        "<h1>Your password was changed</h1><p id=\"status\">Log in with the new password.</p>",
    )
}

/// The page the logout flow ends on when no `postFlowUrl` was given.
pub fn logged_out() -> Response {
    page(
        "Logged out",
        "<h1>You are logged out</h1><p id=\"status\">The member's tokens no longer work.</p>",
    )
}

#[cfg(test)]
mod tests {
    use super::scope_label;

    #[test]
    fn scopes_get_known_labels_or_words_from_their_id() {
        assert_eq!(
            scope_label("SCOPE.DC-STORES.MANAGE-PRODUCTS"),
            "Manage products"
        );
        assert_eq!(scope_label("SCOPE.EVENTS.MANAGE-EVENTS"), "Manage events");
        assert_eq!(scope_label("offline_access"), "Offline access");
        assert_eq!(scope_label(""), "");
    }
}
