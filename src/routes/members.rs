//! Headless members with their own login form (issue 14, docs/members.md): the authentication,
//! verification and recovery endpoints the SDK's `OAuthStrategy` calls, and the mock's own
//! reset-password page that recovery links open.
//!
//! Bodies are read with serde in the SDK's camelCase shapes (`@wix/auto_sdk_identity_*`); the
//! decisions are `App` operations over `world::members`.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use warp::Reply;
use warp::reply::Response;

use super::{Incoming, query_params, redirect, reply_json, strip_bearer};
use crate::app::App;
use crate::error::{FieldViolation, WixError};
use crate::pages;
use crate::world::members::{Registration, identity_json};

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LoginId {
    email: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Profile {
    first_name: Option<String>,
    last_name: Option<String>,
    nickname: Option<String>,
}

/// One of `captchaTokens` (the SDK sends `{Recaptcha, InvisibleRecaptcha}`).
#[derive(Debug, Default, Deserialize)]
struct CaptchaToken {
    #[serde(alias = "Recaptcha", alias = "recaptcha")]
    recaptcha: Option<String>,
    #[serde(alias = "InvisibleRecaptcha", alias = "invisibleRecaptcha")]
    invisible_recaptcha: Option<String>,
    #[serde(alias = "NoCaptcha", alias = "noCaptcha")]
    no_captcha: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Credentials {
    login_id: Option<LoginId>,
    password: Option<String>,
    profile: Option<Profile>,
    captcha_tokens: Option<Vec<CaptchaToken>>,
    verify_email: Option<bool>,
}

impl Credentials {
    fn email(&self) -> Option<&str> {
        self.login_id.as_ref().and_then(|l| l.email.as_deref())
    }

    /// The first captcha token sent, whichever kind.
    fn captcha(&self) -> Option<String> {
        self.captcha_tokens.iter().flatten().find_map(|t| {
            t.recaptcha
                .clone()
                .or_else(|| t.invisible_recaptcha.clone())
                .or_else(|| t.no_captcha.clone())
                .filter(|c| !c.is_empty())
        })
    }

    fn registration(self) -> Registration {
        let captcha = self.captcha();
        let profile = self.profile.unwrap_or_default();
        Registration {
            email: self.login_id.and_then(|l| l.email).unwrap_or_default(),
            password: self.password.unwrap_or_default(),
            nickname: profile.nickname,
            first_name: profile.first_name,
            last_name: profile.last_name,
            captcha,
        }
    }
}

/// The JSON body as `T`; an empty body is `{}`.
fn body<T: DeserializeOwned>(req: &Incoming) -> Result<T, WixError> {
    let text: &[u8] = if req.body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        &req.body
    };
    serde_json::from_slice(text).map_err(|e| WixError::BadRequest(format!("invalid body: {e}")))
}

/// A required string field; its violation carries `data` (the SDK's `register` reads
/// `v.data.type` of every violation).
fn required<'a>(value: Option<&'a str>, field: &str, kind: &str) -> Result<&'a str, WixError> {
    value.filter(|v| !v.is_empty()).ok_or_else(|| {
        WixError::Validation(vec![FieldViolation::with_data(
            field,
            "REQUIRED_FIELD",
            format!("{field} is required"),
            json!({"type": kind}),
        )])
    })
}

/// `http(s)://host[:port]` of the request plus the namespace's base path: where links in the
/// outbox point.
fn link_base(app: &App, req: &Incoming) -> String {
    format!(
        "{}{}",
        super::redirect_session::origin(req.header("host"), req.header("x-forwarded-proto")),
        app.base_path()
    )
}

/// POST /_api/iam/authentication/v2/register — a new member.
pub async fn register(app: App, req: &Incoming) -> Response {
    reply_json((|| {
        // The gateway authenticates before it reads the body.
        app.authorize(req.access_token().as_deref())?;
        let creds: Credentials = body(req)?;
        required(creds.email(), "loginId.email", "EMAIL")?;
        required(creds.password.as_deref(), "password", "PASSWORD")?;
        let outcome = app.register_member(req.access_token().as_deref(), creds.registration())?;
        Ok(outcome.body())
    })())
}

/// POST /_api/iam/authentication/v2/login — e-mail and password.
pub async fn login(app: App, req: &Incoming) -> Response {
    reply_json((|| {
        app.authorize(req.access_token().as_deref())?;
        let creds: Credentials = body(req)?;
        // applicationErrors, not violations: the SDK's `login` reads
        // `details.applicationError.code` without `?.`.
        let missing = |what: &str| WixError::Application {
            status: 400,
            code: if what == "email" {
                "INVALID_EMAIL"
            } else {
                crate::world::members::INVALID_PASSWORD
            },
            message: format!("the {what} is required"),
        };
        let email = creds
            .email()
            .filter(|e| !e.is_empty())
            .ok_or_else(|| missing("email"))?;
        let password = creds
            .password
            .as_deref()
            .filter(|p| !p.is_empty())
            .ok_or_else(|| missing("password"))?;
        let outcome = app.login_with_password(
            req.access_token().as_deref(),
            email,
            password,
            creds.captcha().as_deref(),
        )?;
        Ok(outcome.body())
    })())
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Verify {
    code: Option<String>,
    state_token: Option<String>,
}

/// POST /_api/iam/verification/v1/auth/verify — the e-mailed code for a `stateToken`.
pub async fn verify(app: App, req: &Incoming) -> Response {
    reply_json((|| {
        app.authorize(req.access_token().as_deref())?;
        let v: Verify = body(req)?;
        let code = required(v.code.as_deref(), "code", "CODE")?;
        let state = required(v.state_token.as_deref(), "stateToken", "STATE_TOKEN")?;
        Ok(app
            .verify_code(req.access_token().as_deref(), code, state)?
            .body())
    })())
}

/// POST /_api/iam/verification/v1/auth/resend — a new code for a `stateToken`.
pub async fn resend(app: App, req: &Incoming) -> Response {
    reply_json((|| {
        app.authorize(req.access_token().as_deref())?;
        let v: Verify = body(req)?;
        let state = required(v.state_token.as_deref(), "stateToken", "STATE_TOKEN")?;
        app.resend_code(req.access_token().as_deref(), state)?;
        Ok(json!({}))
    })())
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RedirectTo {
    url: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SendEmail {
    email: Option<String>,
    redirect: Option<RedirectTo>,
    identity_id: Option<String>,
    email_options: Option<EmailOptions>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EmailOptions {
    redirect: Option<RedirectTo>,
}

/// POST /_api/iam/recovery/v1/send-email — a recovery link to the outbox.
pub async fn send_email(app: App, req: &Incoming) -> Response {
    reply_json((|| {
        app.authorize(req.access_token().as_deref())?;
        let b: SendEmail = body(req)?;
        let email = required(b.email.as_deref(), "email", "EMAIL")?;
        let url = b.redirect.and_then(|r| r.url).filter(|u| !u.is_empty());
        app.send_recovery_email(
            req.access_token().as_deref(),
            email,
            url.as_deref(),
            &link_base(&app, req),
        )?;
        Ok(json!({}))
    })())
}

/// POST /_api/iam/recovery/v1/activation-email — an activation link to the outbox.
pub async fn activation_email(app: App, req: &Incoming) -> Response {
    reply_json((|| {
        app.authorize(req.access_token().as_deref())?;
        let b: SendEmail = body(req)?;
        let id = required(b.identity_id.as_deref(), "identityId", "ID")?;
        let url = b
            .email_options
            .and_then(|o| o.redirect)
            .and_then(|r| r.url)
            .filter(|u| !u.is_empty());
        app.send_activation_email(
            req.access_token().as_deref(),
            id,
            url.as_deref(),
            &link_base(&app, req),
        )?;
        Ok(json!({}))
    })())
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Recover {
    recovery_token: Option<String>,
    password: Option<String>,
}

/// POST /_api/iam/recovery/v1/recover — the new password through a recovery link's token.
pub async fn recover(app: App, req: &Incoming) -> Response {
    reply_json((|| {
        let b: Recover = body(req)?;
        let token = required(b.recovery_token.as_deref(), "recoveryToken", "TOKEN")?;
        let password = required(b.password.as_deref(), "password", "PASSWORD")?;
        Ok(app.recover_password(token, password)?.0.body())
    })())
}

/// `<visitor token>,<API key>` from `Authorization` (the SDK's external login).
fn token_and_key(req: &Incoming) -> Result<(String, String), WixError> {
    req.header("authorization")
        .and_then(|h| h.split_once(','))
        .map(|(t, k)| (strip_bearer(t).to_string(), k.trim().to_string()))
        .filter(|(t, k)| !t.is_empty() && !k.is_empty())
        .ok_or_else(|| WixError::Unauthenticated {
            code: "MISSING_TOKEN",
            message: "sign-on needs `Authorization: <visitor token>,<API key>`".into(),
        })
}

/// POST /_api/iam/authentication/v2/sign-on — a session token for a member, by e-mail, with a
/// visitor token and an API key.
pub async fn sign_on(app: App, req: &Incoming) -> Response {
    reply_json((|| {
        let (visitor, key) = token_and_key(req)?;
        app.authorize(Some(&visitor))?;
        let creds: Credentials = body(req)?;
        let email = required(creds.email(), "loginId.email", "EMAIL")?.to_string();
        let verify = creds.verify_email.unwrap_or(false);
        let (session, member) =
            app.sign_on(&visitor, &key, &email, creds.registration(), verify)?;
        Ok(json!({"sessionToken": session, "identity": identity_json(&member)}))
    })())
}

/// GET /_api/iam/authentication/v1/logout?clientId&postLogoutRedirectUri — ends the member's
/// session.
pub async fn logout(app: App, req: &Incoming) -> Response {
    reply_json((|| {
        let mut q = query_params(&req.raw_query)
            .map_err(|e| WixError::BadRequest(format!("invalid query: {e}")))?;
        let client = q.remove("clientId").filter(|c| !c.is_empty());
        let post = q.remove("postLogoutRedirectUri").filter(|u| !u.is_empty());
        app.logout_member(
            req.access_token().as_deref(),
            client.as_deref(),
            post.as_deref(),
        )?;
        Ok(json!({}))
    })())
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChangePassword {
    new_password: Option<String>,
}

/// POST /_api/iam/authentication/v2/change-password — with a member token.
pub async fn change_password(app: App, req: &Incoming) -> Response {
    reply_json((|| {
        app.authorize(req.access_token().as_deref())?;
        let b: ChangePassword = body(req)?;
        let password = required(b.new_password.as_deref(), "newPassword", "PASSWORD")?;
        app.change_password(req.access_token().as_deref(), password)?;
        Ok(json!({}))
    })())
}

fn page_error(e: impl ToString) -> WixError {
    WixError::InstallerPage(e.to_string())
}

/// GET /iam/recovery/reset-password?recoveryToken=… — the page a recovery link opens.
pub async fn reset_page(app: App, req: &Incoming) -> Response {
    let result = (|| {
        let mut q = query_params(&req.raw_query).map_err(page_error)?;
        let token = q
            .remove("recoveryToken")
            .filter(|t| !t.is_empty())
            .ok_or_else(|| page_error("missing recoveryToken"))?;
        let email = app.recovery_link(&token).map_err(page_error)?;
        Ok::<_, WixError>(pages::reset_password(&token, &email, None))
    })();
    result.unwrap_or_else(|e| e.into_response())
}

/// POST /iam/recovery/reset-password — the reset form: `recover`, then on to the link's redirect
/// URL (or a "password changed" page). A bad password shows the form again.
pub async fn reset_form(app: App, req: &Incoming) -> Response {
    let result = (|| {
        let p = req.params().map_err(page_error)?;
        let token = p.required("recovery_token").map_err(page_error)?;
        let password = p.optional("password").map_err(page_error)?.unwrap_or("");
        match app.recover_password(token, password) {
            Ok((_, Some(url))) => Ok(redirect(&url)),
            Ok((_, None)) => Ok(pages::password_changed()),
            Err(WixError::Validation(v)) => {
                let email = app.recovery_link(token).map_err(page_error)?;
                let why = v.first().map(|f| f.description.clone()).unwrap_or_default();
                Ok(pages::reset_password(token, &email, Some(&why)))
            }
            Err(e) => Err(page_error(e)),
        }
    })();
    result.unwrap_or_else(|e: WixError| e.into_response())
}

/// GET /__admin/outbox?email=&wait=<ms> — e-mails the mock did not send, newest first.
pub async fn outbox(app: App, req: &Incoming) -> Response {
    const MAX_WAIT_MS: u64 = 30_000;
    let q = match query_params(&req.raw_query) {
        Ok(q) => q,
        Err(e) => return WixError::BadRequest(format!("invalid query: {e}")).into_response(),
    };
    let email = q.get("email").filter(|e| !e.is_empty()).cloned();
    let wait = match q.get("wait").map(|w| w.parse::<u64>()) {
        None => 0,
        Some(Ok(ms)) if ms <= MAX_WAIT_MS => ms,
        Some(_) => {
            return WixError::BadRequest(format!(
                "wait must be a number of milliseconds, at most {MAX_WAIT_MS}"
            ))
            .into_response();
        }
    };
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_millis(wait);
    loop {
        // Registered before looking: a request journaled in between (every e-mail comes from one)
        // still wakes us.
        let arrival = app.journal().arrival();
        let messages = app.outbox(email.as_deref());
        if !messages.is_empty() || tokio::time::Instant::now() >= deadline {
            let body: Value = json!({"count": messages.len(), "messages": messages});
            return super::json_response(warp::http::StatusCode::OK, &body);
        }
        if tokio::time::timeout_at(deadline, arrival).await.is_err() {
            let messages = app.outbox(email.as_deref());
            let body: Value = json!({"count": messages.len(), "messages": messages});
            return super::json_response(warp::http::StatusCode::OK, &body);
        }
    }
}
