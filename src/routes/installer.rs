//! The browser side of the legacy install flow (wix-api.md §2): the App Market click, the installer
//! with its consent page, and the close-window page the app finishes on.
//!
//! Errors here are HTML pages, as Wix shows them to the person in the browser, and a bad request is
//! never redirected anywhere: only a registered redirect URL ever receives the browser.

use std::collections::BTreeMap;

use bytes::Bytes;
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Reply};

use super::{Params, body_bytes, query_params, raw_query, redirect, reply_redirect, with_app};
use crate::app::App;
use crate::error::WixError;
use crate::pages;
use crate::world::{InstallRequest, InstallStep};

/// The installer routes.
pub fn routes(app: App) -> BoxedFilter<(Response,)> {
    app_market_route(app.clone())
        .or(install_route(app.clone()))
        .unify()
        .or(consent_route(app.clone()))
        .unify()
        .or(close_window_route(app))
        .unify()
        .boxed()
}

/// GET /app-market/install?appId=…[&siteId=…] — plays "the user installs the app from the App
/// Market": redirects to the app's App URL with a single-use `token`. Without `siteId` the app is
/// installed on a new site.
fn app_market_route(app: App) -> BoxedFilter<(Response,)> {
    warp::path!("app-market" / "install")
        .and(warp::get())
        .and(raw_query())
        .and(with_app(app))
        .then(app_market)
        .map(reply_redirect)
        .boxed()
}

async fn app_market(query: String, app: App) -> Result<String, WixError> {
    let q = query_params(&query).map_err(WixError::InstallerPage)?;
    let app_id = q
        .get("appId")
        .ok_or_else(|| WixError::InstallerPage("missing appId".into()))?;
    let site_id = q
        .get("siteId")
        .map(String::as_str)
        .filter(|s| !s.is_empty());
    app.with_world(|w, now, ids| w.app_market_install(app_id, site_id, now, ids))
}

/// GET /installer/install?appId=…&redirectUrl=…[&state=…][&token=…] — consent, then a `302` to
/// `redirectUrl?code=…&state=…&instanceId=…`.
fn install_route(app: App) -> BoxedFilter<(Response,)> {
    warp::path!("installer" / "install")
        .and(warp::get())
        .and(raw_query())
        .and(with_app(app))
        .then(install)
        .map(|step: Result<InstallStep, WixError>| match step {
            Ok(InstallStep::Redirect(location)) => redirect(&location),
            Ok(InstallStep::Consent(view)) => pages::consent(&view),
            Err(e) => e.into_response(),
        })
        .boxed()
}

async fn install(query: String, app: App) -> Result<InstallStep, WixError> {
    let mut q: BTreeMap<String, String> = query_params(&query).map_err(WixError::InstallerPage)?;
    let req = InstallRequest {
        app_id: q.remove("appId"),
        redirect_url: q.remove("redirectUrl"),
        // `state` is echoed exactly, even when empty, because the client compares it byte for byte.
        state: q.remove("state"),
        token: q.remove("token").filter(|t| !t.is_empty()),
        site_id: q.remove("siteId"),
    };
    app.with_world(|w, now, ids| w.start_install(req, now, ids))
}

/// POST /installer/consent — the consent page's Approve or Deny (form fields `consent_id`, `decision`).
fn consent_route(app: App) -> BoxedFilter<(Response,)> {
    warp::path!("installer" / "consent")
        .and(warp::post())
        .and(body_bytes())
        .and(with_app(app))
        .then(consent)
        .map(reply_redirect)
        .boxed()
}

async fn consent(body: Bytes, app: App) -> Result<String, WixError> {
    let params = Params::parse(&body).map_err(|e| WixError::InstallerPage(e.to_string()))?;
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
    app.with_world(|w, now, ids| w.decide_consent(id, approve, now, ids))
}

/// GET /installer/close-window?access_token=… — the page the app ends the flow on. Records that the
/// flow was closed when the token is valid; shows the page either way, as a browser would see it.
fn close_window_route(app: App) -> BoxedFilter<(Response,)> {
    warp::path!("installer" / "close-window")
        .and(warp::get())
        .and(raw_query())
        .and(with_app(app))
        .then(|query: String, app: App| async move {
            let token = query_params(&query)
                .ok()
                .and_then(|mut q| q.remove("access_token"));
            let recorded = app.with_world(|w, now, _| match w.authorize(token.as_deref(), now) {
                Ok(caller) => {
                    w.close_window(&caller, now);
                    true
                }
                Err(_) => false,
            });
            pages::close_window(recorded)
        })
        .boxed()
}
