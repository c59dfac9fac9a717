//! The browser side of the legacy install flow (docs/fidelity.md F-08 to F-10): the App Market click, the installer
//! with its consent page, and the close-window page the app finishes on.
//!
//! Errors here are HTML pages, as Wix shows them to the person in the browser, and a bad request is
//! never redirected anywhere: only a registered redirect URL ever receives the browser.

use std::collections::BTreeMap;

use warp::Reply;
use warp::reply::Response;

use super::{Incoming, Params, query_params, redirect, reply_redirect};
use crate::app::App;
use crate::error::WixError;
use crate::pages;
use crate::world::{InstallRequest, InstallStep};

/// GET /app-market/install?appId=…[&siteId=…] — plays "the user installs the app from the App
/// Market": redirects to the app's App URL with a single-use `token`. Without `siteId` the app is
/// installed on a new site.
pub async fn app_market(app: App, req: &Incoming) -> Response {
    reply_redirect(app_market_install(&req.raw_query, app))
}

fn app_market_install(query: &str, app: App) -> Result<String, WixError> {
    let q = query_params(query).map_err(WixError::InstallerPage)?;
    let app_id = q
        .get("appId")
        .ok_or_else(|| WixError::InstallerPage("missing appId".into()))?;
    let site_id = q
        .get("siteId")
        .map(String::as_str)
        .filter(|s| !s.is_empty());
    app.app_market_install(app_id, site_id)
}

/// GET /installer/install?appId=…&redirectUrl=…[&state=…][&token=…] — consent, then a `302` to
/// `redirectUrl?code=…&state=…&instanceId=…`.
pub async fn install(app: App, req: &Incoming) -> Response {
    match start_install(&req.raw_query, app) {
        Ok(InstallStep::Redirect(location)) => redirect(&location),
        Ok(InstallStep::Consent(view)) => pages::consent(&view),
        Err(e) => e.into_response(),
    }
}

fn start_install(query: &str, app: App) -> Result<InstallStep, WixError> {
    let mut q: BTreeMap<String, String> = query_params(query).map_err(WixError::InstallerPage)?;
    let req = InstallRequest {
        app_id: q.remove("appId"),
        redirect_url: q.remove("redirectUrl"),
        // `state` is echoed exactly, even when empty, because the client compares it byte for byte.
        state: q.remove("state"),
        token: q.remove("token").filter(|t| !t.is_empty()),
        site_id: q.remove("siteId"),
    };
    app.start_install(req)
}

/// POST /installer/consent — the consent page's Approve or Deny (form fields `consent_id`, `decision`).
pub async fn consent(app: App, req: &Incoming) -> Response {
    reply_redirect(decide(req.params(), app))
}

fn decide(params: Result<&Params, WixError>, app: App) -> Result<String, WixError> {
    let params = params.map_err(|e| WixError::InstallerPage(e.to_string()))?;
    let id = params
        .required("consent_id")
        .map_err(|e| WixError::InstallerPage(e.to_string()))?;
    let approve = match params
        .optional("decision")
        .map_err(|e| WixError::InstallerPage(e.to_string()))?
    {
        Some("approve") => true,
        Some("deny") => false,
        _ => {
            return Err(WixError::InstallerPage(
                "decision must be approve or deny".into(),
            ));
        }
    };
    app.decide_consent(id, approve)
}

/// GET /installer/close-window?access_token=… — the page the app ends the flow on. Records that the
/// flow was closed when the token is valid; shows the page either way, as a browser would see it.
pub async fn close_window(app: App, req: &Incoming) -> Response {
    let token = query_params(&req.raw_query)
        .ok()
        .and_then(|mut q| q.remove("access_token"));
    pages::close_window(app.close_window(token.as_deref()))
}
