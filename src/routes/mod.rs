//! The HTTP surface: the one entry that reads each request once, the handlers of every endpoint (one
//! file per area), and the replies they share.
//!
//! The server calls [`answer`] straight from hyper; in-process tests drive the same path through
//! [`routes`], a warp filter for `warp::test`. Both read the request into an [`Incoming`] and hand
//! it to `wrap.rs`, which resolves the namespace, checks the admin token, routes through the endpoint
//! table ([`crate::endpoints`]) and calls `dispatch` between the faults, the journal and the observer.
//! Handlers follow the quickwit shape: an adaptor that reads what it needs from the [`Incoming`], an
//! `async fn` that returns `Result<T, WixError>` and knows nothing of warp, then one reply function.

mod admin;
mod apps;
mod bi_event;
mod installer;
mod members;
mod oauth;
mod oauth2;
mod oauth_apps;
mod redirect_session;
mod reply;
mod stubs;
mod wrap;

use std::convert::Infallible;
use std::task::Poll;

use bytes::{Buf, Bytes, BytesMut};
use futures_util::TryStreamExt;
use warp::filters::BoxedFilter;
use warp::http::{HeaderMap, Method};
use warp::path::FullPath;
use warp::reply::Response;
use warp::{Filter, Rejection};

use crate::app::App;
use crate::endpoints::Id;
use crate::error::WixError;
use crate::namespaces::Namespaces;
pub use crate::request::{
    BODY_LIMIT, BODY_READ_TIMEOUT, Incoming, Params, query_params, snake_case, strip_bearer,
};
use reply::Rejected;
pub use reply::{json_response, redirect, reply_json, reply_redirect, reply_tokens};

/// Every route of the mock, for every namespace: one filter reads the request once (method, path,
/// query, headers and the size-limited body) and hands it to `wrap::handle`, which picks the
/// namespace, checks the admin token, routes through [`crate::endpoints::TABLE`] and runs the handler
/// between the fault engine, the journal and the conformance observer. No request is dispatched twice.
pub fn routes(namespaces: Namespaces) -> BoxedFilter<(Response,)> {
    warp::method()
        .and(warp::path::full())
        .and(raw_query())
        .and(warp::header::headers_cloned())
        .and(body_or_error())
        .then(
            move |method: Method,
                  path: FullPath,
                  query: String,
                  headers: HeaderMap,
                  body: Result<Bytes, WixError>| {
                let namespaces = namespaces.clone();
                async move {
                    wrap::handle(&namespaces, method, path.as_str(), query, headers, body).await
                }
            },
        )
        .boxed()
}

/// Answers one request straight from hyper, the way the server runs (no warp filter tree): the
/// parts are moved, not cloned, and the body is read once with [`BODY_LIMIT`] and
/// [`BODY_READ_TIMEOUT`], then `wrap::handle` does the rest exactly as for [`routes`] (which the
/// in-process tests drive through `warp::test`). Issue 13's profile had warp's filter state, its
/// route `RefCell` and `headers_cloned` at about 2 % of a token request.
pub async fn answer(
    namespaces: &Namespaces,
    req: http::Request<hyper::body::Incoming>,
) -> Response {
    let (parts, body) = req.into_parts();
    let body = read_body(&parts.headers, body).await;
    let path = parts.uri.path();
    let query = parts.uri.query().unwrap_or_default().to_string();
    wrap::handle(namespaces, parts.method, path, query, parts.headers, body).await
}

/// The request body, at most [`BODY_LIMIT`] bytes whether or not a Content-Length was sent, or
/// the error the request gets (413, 408, or 400 for a body that could not be read).
async fn read_body(headers: &HeaderMap, body: hyper::body::Incoming) -> Result<Bytes, WixError> {
    let announced = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if announced.is_some_and(|n| n > BODY_LIMIT) {
        return Err(WixError::PayloadTooLarge(BODY_LIMIT));
    }
    let limited = http_body_util::Limited::new(body, BODY_LIMIT as usize);
    let mut read = std::pin::pin!(whole(limited));
    // Nearly every body has arrived with its headers: read once before arming the timeout (its
    // clock read was 0.2 % of a token request's cycles, issue 13).
    let first = std::future::poll_fn(|cx| Poll::Ready(read.as_mut().poll(cx))).await;
    let read = match first {
        Poll::Ready(read) => Ok(read),
        Poll::Pending => tokio::time::timeout(BODY_READ_TIMEOUT, read).await,
    };
    match read {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            Err(WixError::PayloadTooLarge(BODY_LIMIT))
        }
        Ok(Err(_)) => Err(WixError::BadRequest("unreadable request body".into())),
        Err(_) => Err(WixError::RequestTimeout(BODY_READ_TIMEOUT.as_secs())),
    }
}

/// A body's bytes, read to its end. A body that arrives in one frame (a token request; every
/// handler's answer) is that frame's `Bytes`, shared rather than copied; several frames are joined.
/// `BodyExt::collect` would do the same through a queue allocated per body, two allocations and
/// frees per request for nothing (issue 13).
pub(crate) async fn whole<B>(body: B) -> Result<Bytes, B::Error>
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
{
    use http_body_util::BodyExt;
    let mut body = body;
    let mut first: Option<Bytes> = None;
    let mut joined: Option<BytesMut> = None;
    while let Some(frame) = body.frame().await {
        // Trailers carry no body bytes.
        let Ok(data) = frame?.into_data() else {
            continue;
        };
        match (&mut joined, &first) {
            (Some(buf), _) => buf.extend_from_slice(&data),
            (None, None) => first = Some(data),
            (None, Some(head)) => {
                let mut buf = BytesMut::with_capacity(head.len() + data.len());
                buf.extend_from_slice(head);
                buf.extend_from_slice(&data);
                joined = Some(buf);
            }
        }
    }
    Ok(match joined {
        Some(buf) => buf.freeze(),
        None => first.unwrap_or_default(),
    })
}

/// Runs the handler of endpoint `id`. Exhaustive: a new row in the endpoint table does not compile
/// until it has a handler here.
async fn dispatch(
    id: Id,
    all: &Namespaces,
    app: App,
    req: &Incoming,
    args: Vec<String>,
) -> Response {
    let arg = args.into_iter().next().unwrap_or_default();
    match id {
        Id::AppMarketInstall => installer::app_market(app, req).await,
        Id::InstallerInstall => installer::install(app, req).await,
        Id::InstallerConsent => installer::consent(app, req).await,
        Id::CloseWindow => installer::close_window(app, req).await,
        Id::OauthAccess => oauth::access(app, req).await,
        Id::Oauth2Token => oauth2::token(app, req).await,
        Id::TokenInfo => oauth2::token_info(app, req).await,
        Id::AuthorizePage => redirect_session::authorize_page(app, req).await,
        Id::AuthorizeForm => redirect_session::authorize_form(app, req).await,
        Id::Logout => redirect_session::logout_page(app, req).await,
        Id::RedirectSession => redirect_session::create(app, req).await,
        Id::MemberRegister => members::register(app, req).await,
        Id::MemberLogin => members::login(app, req).await,
        Id::MemberSignOn => members::sign_on(app, req).await,
        Id::MemberLogout => members::logout(app, req).await,
        Id::MemberChangePassword => members::change_password(app, req).await,
        Id::VerificationVerify => members::verify(app, req).await,
        Id::VerificationResend => members::resend(app, req).await,
        Id::RecoverySendEmail => members::send_email(app, req).await,
        Id::RecoveryActivationEmail => members::activation_email(app, req).await,
        Id::RecoveryRecover => members::recover(app, req).await,
        Id::ResetPasswordPage => members::reset_page(app, req).await,
        Id::ResetPasswordForm => members::reset_form(app, req).await,
        Id::BiEvent => bi_event::bi_event(app, req).await,
        Id::AppInstance => apps::instance(app, req).await,
        Id::OauthAppsCreate => oauth_apps::create(app, req).await,
        Id::OauthAppsQuery => oauth_apps::query(app, req).await,
        Id::OauthAppsGet => oauth_apps::get(app, req, arg).await,
        Id::OauthAppsUpdate => oauth_apps::update(app, req, arg).await,
        Id::OauthAppsDelete => oauth_apps::delete(app, req, arg).await,
        Id::OauthAppsGenerateSecret => oauth_apps::generate_secret(app, req, arg).await,
        Id::OauthAppsSecret => oauth_apps::get_secret(app, req, arg).await,
        Id::AdminHealth => admin::health(app).await,
        Id::AdminReady => admin::ready(app).await,
        Id::AdminVersion => admin::version().await,
        Id::AdminClockGet => admin::clock::get(app).await,
        Id::AdminClockSet => admin::clock::set(app, req).await,
        Id::AdminReset => admin::reset(app).await,
        Id::AdminScenarioGet => admin::scenario::get(app).await,
        Id::AdminScenarioPut => admin::scenario::put(all, app, req).await,
        Id::AdminState => admin::state(app).await,
        Id::AdminRequestsList => admin::requests::list(app, req).await,
        Id::AdminRequestsClear => admin::requests::clear(app).await,
        Id::AdminOutbox => members::outbox(app, req).await,
        Id::AdminRequestsWait => admin::requests::wait(all, app, req).await,
        Id::AdminConformance => admin::conformance::get(app, req).await,
        Id::AdminFaultsArm => admin::faults::arm(app, req).await,
        Id::AdminFaultsList => admin::faults::list(app).await,
        Id::AdminFaultsClear => admin::faults::clear(app, req).await,
        Id::AdminFaultPresets => admin::faults::presets().await,
        Id::AdminNamespacesList => admin::namespaces::list(all, app).await,
        Id::AdminNamespacesClear => admin::namespaces::clear(all, app).await,
        Id::AdminNamespaceReset => admin::namespaces::reset(all, app, arg).await,
        Id::AdminNamespaceDelete => admin::namespaces::delete(all, app, arg).await,
        Id::AdminTokens => admin::tokens::mint(app, req).await,
        Id::AdminUi => admin::ui::shell(req).await,
        Id::AdminUiScript => admin::ui::script().await,
        Id::AdminUiStyle => admin::ui::style().await,
        Id::AdminAppPublicKey => admin::apps::public_key(app, req, arg).await,
        Id::AdminAppWebhookUrl => admin::apps::webhook_url(app, req, arg).await,
        Id::AdminWebhooksList => admin::webhooks::list(app).await,
        Id::AdminWebhooksClear => admin::webhooks::clear(app).await,
        Id::AdminWebhookRedeliver => admin::webhooks::redeliver(app, arg).await,
        Id::AdminWebhooksEmit => admin::webhooks::emit(app, req).await,
        Id::AdminWebhookFaultsArm => admin::webhooks::faults_arm(app, req).await,
        Id::AdminWebhookFaultsClear => admin::webhooks::faults_clear(app).await,
        Id::AdminWebhooksRelease => admin::webhooks::release(app, req).await,
        Id::AdminInstanceUninstall => admin::instances::uninstall(app, arg).await,
        Id::AdminSignedInstance => admin::instances::signed_instance(app, req, arg).await,
        Id::AdminStubsList => stubs::list(app).await,
        Id::AdminStubsAdd => stubs::add(app, req).await,
        Id::AdminStubsClear => stubs::clear(app).await,
        Id::AdminStubsReset => stubs::reset(app).await,
        Id::AdminStubGet => stubs::get(app, arg).await,
        Id::AdminStubDelete => stubs::remove(app, arg).await,
        Id::AdminTlsCa => admin::tls_ca(all),
        Id::AdminOpenApi => json_response(warp::http::StatusCode::OK, &crate::openapi::admin_api()),
    }
}

/// Admin paths that stay open when an admin token is set: probes that reveal nothing.
const OPEN_ADMIN_PATHS: &[&str] = &["/__admin/health", "/__admin/ready", "/__admin/version"];

/// With an admin token configured, `/__admin/*` needs it, as `Authorization: Bearer <token>` or
/// `X-Wix-Mock-Admin-Token: <token>`. `path` is the path after any namespace prefix.
fn admin_guard(
    all: &Namespaces,
    app: &App,
    path: &str,
    headers: &HeaderMap,
) -> Result<(), WixError> {
    if !OPEN_ADMIN_PATHS.contains(&path)
        && let Some(host) = foreign_host(headers, all.allowed_hosts())
    {
        return Err(WixError::PermissionDenied(format!(
            "the admin API does not answer requests for host `{host}` (a page of another site could have \
             made its name resolve here); start the mock with --allowed-host {host} if it is yours"
        )));
    }
    if !OPEN_ADMIN_PATHS.contains(&path)
        && !admin::ui::UI_PATHS.contains(&path)
        && cross_site(headers)
    {
        return Err(WixError::PermissionDenied(
            "the admin API refuses requests a browser sends from another site".into(),
        ));
    }
    let Some(expected) = app.admin_token() else {
        return Ok(());
    };
    // The dashboard's files hold no data; its script sends the token on each API call.
    if !path.starts_with("/__admin")
        || OPEN_ADMIN_PATHS.contains(&path)
        || admin::ui::UI_PATHS.contains(&path)
    {
        return Ok(());
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let presented = header("x-wix-mock-admin-token").or(header("authorization").map(strip_bearer));
    match presented {
        Some(p) if crate::app::constant_time_eq(p, &expected) => Ok(()),
        _ => Err(WixError::Unauthenticated {
            code: "ADMIN_TOKEN_REQUIRED",
            message: "the admin API needs the admin token (Authorization: Bearer <token>)".into(),
        }),
    }
}

/// The request's `Host` name when the admin API must not answer it: DNS rebinding lets a web page
/// make its own name (`attacker.example`) resolve to 127.0.0.1, and its requests are then
/// same-origin, so the Origin check alone cannot tell. Allowed: no `Host` at all, IP addresses,
/// `localhost` and `*.localhost`, names without a dot (a container's service name, e.g.
/// `wix-mock`, which no public DNS serves), Wix's hosts the HTTPS port serves, and `allowed`.
fn foreign_host(headers: &HeaderMap, allowed: &[String]) -> Option<String> {
    let host = headers.get("host")?.to_str().ok()?;
    let name = match host.strip_prefix('[') {
        Some(v6) => {
            return v6
                .split(']')
                .next()
                .filter(|ip| ip.parse::<std::net::Ipv6Addr>().is_err())
                .map(str::to_string);
        }
        None => host.rsplit_once(':').map_or(host, |(name, _port)| name),
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let ok = name.parse::<std::net::IpAddr>().is_ok()
        || name == "localhost"
        || name.ends_with(".localhost")
        || !name.contains('.')
        || crate::tls::DEFAULT_HOSTS.contains(&name.as_str())
        || allowed.contains(&name);
    (!ok).then_some(name)
}

/// Whether a browser sent this request from another site: `Sec-Fetch-Site: cross-site`, or an
/// `Origin` that is neither the request's own host nor a loopback host (a dev app's own pages on
/// `localhost:3000` may drive the mock). Without a token on a developer's laptop, this is what keeps
/// a web page from moving the clock or reading the scenario's secrets (issue 18). Clients that are
/// not browsers send neither header.
fn cross_site(headers: &HeaderMap) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if header("sec-fetch-site").is_some_and(|s| s.eq_ignore_ascii_case("cross-site")) {
        return true;
    }
    let Some(origin) = header("origin") else {
        return false;
    };
    let Ok(url) = url::Url::parse(origin) else {
        // `null` (a sandboxed frame, a file) and anything unparsable.
        return true;
    };
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    let own = header("host").is_some_and(|host| {
        let port = url
            .port_or_known_default()
            .map(|p| format!(":{p}"))
            .unwrap_or_default();
        let with_port = format!("{}{port}", url.host_str().unwrap_or(""));
        host.eq_ignore_ascii_case(&with_port)
            || host.eq_ignore_ascii_case(url.host_str().unwrap_or(""))
    });
    !(loopback || own)
}

/// The body, or the error that reading it gave (too large, unreadable), so the pipeline still
/// answers and journals the request.
fn body_or_error() -> impl Filter<Extract = (Result<Bytes, WixError>,), Error = Infallible> + Clone
{
    body_bytes()
        .map(Ok)
        .or_else(|rejection: Rejection| async move {
            let err = rejection
                .find::<Rejected>()
                .map(|r| r.0.clone())
                .unwrap_or_else(|| WixError::BadRequest("unreadable request body".into()));
            Ok::<_, Infallible>((Err(err),))
        })
}

/// The raw query string, empty when there is none (never rejects).
pub fn raw_query() -> impl Filter<Extract = (String,), Error = Infallible> + Clone {
    warp::query::raw().or(warp::any().map(String::new)).unify()
}

/// The request body, at most [`BODY_LIMIT`] bytes whether or not a Content-Length was sent.
pub fn body_bytes() -> impl Filter<Extract = (Bytes,), Error = Rejection> + Clone {
    warp::header::optional::<u64>("content-length")
        .and_then(|len: Option<u64>| async move {
            match len {
                Some(n) if n > BODY_LIMIT => Err(warp::reject::custom(Rejected(
                    WixError::PayloadTooLarge(BODY_LIMIT),
                ))),
                _ => Ok(()),
            }
        })
        .untuple_one()
        .and(warp::body::stream())
        .and_then(|stream| async move {
            match tokio::time::timeout(BODY_READ_TIMEOUT, collect_limited(stream)).await {
                Ok(body) => body,
                Err(_) => Err(warp::reject::custom(Rejected(WixError::RequestTimeout(
                    BODY_READ_TIMEOUT.as_secs(),
                )))),
            }
        })
}

async fn collect_limited<S, B>(stream: S) -> Result<Bytes, Rejection>
where
    S: futures_util::Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    let mut stream = std::pin::pin!(stream);
    let mut body = BytesMut::new();
    while let Some(mut chunk) = stream.try_next().await.map_err(|_| {
        warp::reject::custom(Rejected(WixError::BadRequest(
            "unreadable request body".into(),
        )))
    })? {
        if body.len() as u64 + chunk.remaining() as u64 > BODY_LIMIT {
            return Err(warp::reject::custom(Rejected(WixError::PayloadTooLarge(
                BODY_LIMIT,
            ))));
        }
        while chunk.has_remaining() {
            let part = chunk.chunk();
            body.extend_from_slice(part);
            let n = part.len();
            chunk.advance(n);
        }
    }
    Ok(body.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(parts: &[&'static str]) -> impl hyper::body::Body<Data = Bytes, Error = Infallible> {
        let frames: Vec<Result<hyper::body::Frame<Bytes>, Infallible>> = parts
            .iter()
            .map(|p| Ok(hyper::body::Frame::data(Bytes::from_static(p.as_bytes()))))
            .collect();
        http_body_util::StreamBody::new(futures_util::stream::iter(frames))
    }

    #[tokio::test]
    async fn a_body_in_one_frame_is_that_frame_and_several_are_joined() {
        let one = Bytes::from_static(b"{\"grant_type\":\"x\"}");
        let got = whole(http_body_util::Full::new(one.clone())).await.unwrap();
        assert_eq!(got.as_ptr(), one.as_ptr(), "shared, not copied");
        assert_eq!(
            whole(frames(&["ab", "", "cd", "e"])).await.unwrap(),
            "abcde"
        );
        assert_eq!(whole(frames(&[])).await.unwrap(), "");
    }
}
