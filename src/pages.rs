//! The HTML pages a person sees: the installer's error page, the consent page and the close-window page.
//!
//! Self-contained (no external assets, no JavaScript needed to finish a flow) and escaped throughout:
//! every value shown comes from a request or a scenario.

use warp::Reply;
use warp::http::{HeaderValue, header};
use warp::reply::Response;

use crate::world::ConsentView;

const STYLE: &str = "body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;background:#f4f6fb;color:#162d3d;margin:0}\
main{max-width:34rem;margin:4rem auto;background:#fff;border-radius:8px;box-shadow:0 2px 8px rgba(22,45,61,.12);padding:2rem}\
h1{font-size:1.4rem;margin-top:0}.muted{color:#5f6d7a;font-size:.9rem}ul{padding-left:1.2rem}\
button{font-size:1rem;border-radius:18px;padding:.5rem 1.4rem;border:1px solid #116dff;cursor:pointer;margin-right:.5rem}\
.approve{background:#116dff;color:#fff}.deny{background:#fff;color:#116dff}button:focus{outline:3px solid #a8caff}";

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
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>{}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>\n",
        escape(title)
    );
    let mut res = warp::reply::html(html).into_response();
    // The real installer pages must not be cached, and pages with one-time values should not be either.
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// Wix's installer error page: "ERROR: BAD REQUEST 400 ... This action can't be completed."
/// (wix-api.md §2). The reason is shown too, which Wix does not do, because a mock should say why.
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

/// The consent page: the app, the permissions it asks for, Approve and Deny (plain form posts).
/// The form action is relative, so a page served under `/__ns/NAME/` posts back into its namespace.
pub fn consent(view: &ConsentView) -> Response {
    let scopes = if view.scopes.is_empty() {
        "<li>No special permissions</li>".to_string()
    } else {
        view.scopes
            .iter()
            .map(|s| format!("<li>{}</li>", escape(s)))
            .collect::<String>()
    };
    let site = view
        .site_name
        .as_deref()
        .map(|s| format!(" on <strong>{}</strong>", escape(s)))
        .unwrap_or_else(|| " on a new site".to_string());
    page(
        &format!("Install {}", view.app_name),
        &format!(
            "<h1>Add {app}{site}?</h1>\
<p><strong>{app}</strong> is asking for these permissions:</p><ul id=\"permissions\">{scopes}</ul>\
<p class=\"muted\">After you agree you will be sent to {redirect}</p>\
<form method=\"post\" action=\"consent\">\
<input type=\"hidden\" name=\"consent_id\" value=\"{id}\">\
<button class=\"approve\" type=\"submit\" name=\"decision\" value=\"approve\">Agree &amp; Add</button>\
<button class=\"deny\" type=\"submit\" name=\"decision\" value=\"deny\">Cancel</button></form>",
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

/// The Headless member-login page (`scenario.member_login: form`): e-mail, password, Log In and Cancel.
/// The form action is relative, as on the consent page, to stay inside a namespace.
pub fn member_login(view: &crate::world::member_login::LoginView) -> Response {
    let error = view
        .error
        .as_deref()
        .map(|e| format!("<p id=\"error\" class=\"muted\">{}</p>", escape(e)))
        .unwrap_or_default();
    page(
        "Log in",
        &format!(
            "<h1>Log in to {client}</h1>{error}\
<form method=\"post\" action=\"authorize\">\
<input type=\"hidden\" name=\"redirectSessionId\" value=\"{id}\">\
<p><label>E-mail <input type=\"email\" name=\"email\" value=\"{email}\"></label></p>\
<p><label>Password <input type=\"password\" name=\"password\" value=\"\"></label></p>\
<button class=\"approve\" type=\"submit\" name=\"action\" value=\"login\">Log In</button>\
<button class=\"deny\" type=\"submit\" name=\"action\" value=\"cancel\">Cancel</button></form>",
            client = escape(&view.client_name),
            id = escape(&view.session_id),
            email = escape(&view.email),
        ),
    )
}

/// The page the logout flow ends on when no `postFlowUrl` was given.
pub fn logged_out() -> Response {
    page(
        "Logged out",
        "<h1>You are logged out</h1><p id=\"status\">The member's tokens no longer work.</p>",
    )
}
