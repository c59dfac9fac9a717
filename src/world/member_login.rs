//! Headless member login (docs/fidelity.md F-24 to F-27): redirect sessions, the login page's decision, the codes it
//! issues, and logout. Sessions and codes are short-lived and swept an hour after they expire.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::identity::Identity;
use super::{Caller, World, secs, with_query};
use crate::error::{FieldViolation, WixError};
use crate::ids::Ids;
use crate::redirect;
use crate::scenario::MemberLogin;

/// Where the member-login redirect puts `code` and `state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    Fragment,
    Query,
    /// The authorize page posts `{code, state}` to its opener or parent window (direct login).
    WebMessage,
}

/// A member-login redirect session waiting for the browser (docs/fidelity.md F-24).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RedirectSession {
    pub client_id: String,
    pub site_id: String,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub code_challenge: String,
    pub response_mode: ResponseMode,
    pub expires_at: DateTime<Utc>,
    /// The member a redeemed `sessionToken` logged in (direct login): the page issues the code
    /// without asking anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_id: Option<String>,
    /// A `web_message` session without a redirect URI posts to these origins (its OAuth app's
    /// registered redirect URIs' origins).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub post_origins: Vec<String>,
}

/// A member-login authorization code: single use, bound to its PKCE challenge and redirect URI.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MemberCode {
    pub client_id: String,
    pub site_id: String,
    pub member_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub expires_at: DateTime<Utc>,
    pub used: bool,
}

impl super::IssuedCode for MemberCode {
    fn issued_to(&self) -> &str {
        &self.client_id
    }
    fn used(&self) -> bool {
        self.used
    }
    fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }
    fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }
}

/// `auth.authRequest` of a redirect session, as sent (camelCase on the wire).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthRequest {
    pub redirect_uri: Option<String>,
    pub client_id: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub response_mode: Option<String>,
    pub response_type: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub session_token: Option<String>,
    pub idp: Option<String>,
}

/// What the login page was given.
#[derive(Debug, Clone)]
pub enum Login {
    /// Auto-login: the member named by id or e-mail, else the site's first member.
    Auto { member: Option<String> },
    /// The form was submitted: a listed member (by id) or the typed e-mail, and the password.
    Form {
        member: Option<String>,
        email: String,
        password: String,
    },
    /// "Sign up": a member who is not in the scenario joins the site and logs in at once.
    Signup { email: String, password: String },
    /// The person pressed Cancel.
    Cancel,
}

/// What the login page does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginStep {
    /// Redirect the browser here.
    Redirect(String),
    /// Show the login form (again, with an error when one is set).
    Form(LoginView),
    /// Post `data` to the opener or parent window, for these origins only (`responseMode:
    /// web_message`).
    WebMessage {
        origins: Vec<String>,
        data: Vec<(String, String)>,
    },
}

/// What the login form shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginView {
    pub session_id: String,
    pub client_name: String,
    /// The site's members, in scenario order, to pick from.
    pub members: Vec<LoginChoice>,
    /// The listed member picked (by id); `None` selects "another e-mail".
    pub selected: Option<String>,
    /// The typed e-mail, when no listed member is picked.
    pub email: String,
    pub error: Option<String>,
}

/// One member listed on the login form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginChoice {
    pub id: String,
    pub email: String,
    pub nickname: String,
    pub has_password: bool,
}

impl World {
    // ---- Member login (redirect sessions) ---------------------------------------------------------

    /// Creates a member-login redirect session. Every field is checked here, so the login page only
    /// ever redirects to a registered URI. Returns the session id.
    pub fn create_login_session(
        &mut self,
        req: &AuthRequest,
        now: DateTime<Utc>,
        ids: &Ids,
    ) -> Result<String, WixError> {
        self.maybe_gc_identities(now);
        let field = |f: &str| format!("auth.authRequest.{f}");
        let mut violations = Vec::new();
        let mut required = |name: &str, value: &Option<String>| match value.as_deref() {
            Some(v) if !v.is_empty() => Some(v.to_string()),
            _ => {
                violations.push(FieldViolation::new(
                    &field(name),
                    "REQUIRED_FIELD",
                    format!("{name} is required"),
                ));
                None
            }
        };
        let client_id = required("clientId", &req.client_id);
        // Direct login (`web_message`) sends no redirectUri: the SDK's getMemberTokensForDirectLogin
        // builds its session from PKCE values alone (docs/fidelity.md F-63).
        let web_message = req.response_mode.as_deref() == Some("web_message");
        let redirect_uri = if web_message && req.redirect_uri.as_deref().is_none_or(str::is_empty) {
            Some(String::new())
        } else {
            required("redirectUri", &req.redirect_uri)
        };
        let challenge = required("codeChallenge", &req.code_challenge);
        if req
            .code_challenge_method
            .as_deref()
            .is_some_and(|m| m != "S256")
        {
            violations.push(FieldViolation::new(
                &field("codeChallengeMethod"),
                "INVALID_ENUM_VALUE",
                "only S256 is supported",
            ));
        }
        if req.response_type.as_deref().is_some_and(|t| t != "code") {
            violations.push(FieldViolation::new(
                &field("responseType"),
                "INVALID_ENUM_VALUE",
                "responseType must be code",
            ));
        }
        let response_mode = match req.response_mode.as_deref() {
            None | Some("") | Some("fragment") => ResponseMode::Fragment,
            Some("query") => ResponseMode::Query,
            Some("web_message") => ResponseMode::WebMessage,
            Some(other) => {
                violations.push(FieldViolation::new(
                    &field("responseMode"),
                    "INVALID_ENUM_VALUE",
                    format!("responseMode `{other}` is not one of fragment, query, web_message"),
                ));
                ResponseMode::Fragment
            }
        };
        if challenge
            .as_deref()
            .is_some_and(|c| c.len() != 43 || URL_SAFE_NO_PAD.decode(c).is_err())
        {
            violations.push(FieldViolation::new(
                &field("codeChallenge"),
                "INVALID_FORMAT",
                "codeChallenge must be base64url(SHA-256(verifier)) without padding",
            ));
        }
        let (Some(client_id), Some(redirect_uri), Some(code_challenge), true) =
            (client_id, redirect_uri, challenge, violations.is_empty())
        else {
            return Err(WixError::Validation(violations));
        };
        let oauth_app = self
            .oauth_apps
            .get(&client_id)
            .ok_or_else(|| WixError::NotFound {
                code: "OAUTH_APP_NOT_FOUND",
                message: format!("OAuth app {client_id} not found"),
            })?;
        // Wix redirects only to exact `allowedRedirectUris` (docs/fidelity.md F-26), and the mock only
        // to one that passes the redirect check (no `javascript:`, userinfo or backslash, issue 18).
        if !redirect_uri.is_empty() && !oauth_app.allowed_redirect_uris.contains(&redirect_uri) {
            return Err(WixError::Validation(vec![FieldViolation::new(
                &field("redirectUri"),
                "NOT_ALLOWED",
                "redirectUri is not one of the OAuth app's allowedRedirectUris",
            )]));
        }
        if let Some(Err(e)) =
            (!redirect_uri.is_empty()).then(|| redirect::check_registered(&redirect_uri))
        {
            return Err(WixError::Validation(vec![FieldViolation::new(
                &field("redirectUri"),
                "NOT_ALLOWED",
                format!("redirectUri cannot be redirected to: {e}"),
            )]));
        }
        let site_id = oauth_app.site_id.clone();
        // Where a web_message answer may be posted: the redirect URI's origin, or without one every
        // origin of the OAuth app's registered redirect URIs (a browser delivers a message only to
        // the window whose origin matches, so no other window ever receives the code).
        let post_origins: Vec<String> = if redirect_uri.is_empty() {
            let mut origins: Vec<String> = oauth_app
                .allowed_redirect_uris
                .iter()
                .filter(|u| redirect::check_registered(u).is_ok())
                .filter_map(|u| url::Url::parse(u).ok())
                .filter(|u| matches!(u.scheme(), "http" | "https"))
                .map(|u| u.origin().ascii_serialization())
                .filter(|o| {
                    redirect::origin_allowed(
                        o,
                        &oauth_app.allowed_redirect_uris,
                        &oauth_app.allowed_redirect_domains,
                    )
                })
                .collect();
            origins.sort();
            origins.dedup();
            origins
        } else {
            Vec::new()
        };
        // Direct login: the sessionToken of `login` (or `register`, `verify`...) names the member.
        // Redeemed last, once nothing else can fail, so a refused session leaves it usable.
        let member_id = match req.session_token.as_deref().filter(|t| !t.is_empty()) {
            Some(token) => Some(
                self.redeem_session_token(token, &site_id, &client_id, now)
                    .map_err(|e| {
                        WixError::Validation(vec![FieldViolation::new(
                            &field("sessionToken"),
                            "INVALID",
                            e.to_string(),
                        )])
                    })?,
            ),
            None => None,
        };
        let id = ids.guid();
        self.identities.redirect_sessions.insert(
            id.clone(),
            RedirectSession {
                client_id,
                site_id,
                redirect_uri,
                state: req.state.clone(),
                code_challenge,
                response_mode,
                expires_at: now + secs(self.ttl.consent_secs),
                member_id,
                post_origins,
            },
        );
        Ok(id)
    }

    /// A logout redirect session: checks the client and where to go after, and logs the member
    /// behind `caller` out (every token of that member stops working at once).
    pub fn logout(
        &mut self,
        caller: Option<&Caller>,
        client_id: &str,
        post_flow_url: Option<&str>,
    ) -> Result<(), WixError> {
        let oauth_app = self
            .oauth_apps
            .get(client_id)
            .ok_or_else(|| WixError::NotFound {
                code: "OAUTH_APP_NOT_FOUND",
                message: format!("OAuth app {client_id} not found"),
            })?;
        if let Some(url) = post_flow_url {
            check_post_flow_url(url, oauth_app)?;
        }
        // "Invalidates the visitor or member token" (docs/fidelity.md F-27): every token of the member, or
        // of the visitor, whoever asked.
        match caller {
            Some(Caller {
                identity: Identity::Member { member_id },
                app_id,
                ..
            }) if app_id == client_id => {
                *self
                    .identities
                    .member_generations
                    .entry(member_id.clone())
                    .or_default() += 1;
            }
            Some(Caller {
                identity: Identity::Visitor { visitor_id },
                app_id,
                ..
            }) if app_id == client_id => {
                self.identities
                    .logged_out_visitors
                    .insert(visitor_id.clone());
            }
            _ => {}
        }
        Ok(())
    }

    /// The member-login page: logs a member in (or shows the form) and redirects to the session's
    /// redirect URI with `code` and `state`, or with `error` when the person cancels.
    pub fn login_member(
        &mut self,
        session_id: &str,
        login: Login,
        now: DateTime<Utc>,
        ids: &Ids,
    ) -> Result<LoginStep, WixError> {
        self.maybe_gc_identities(now);
        let page = |m: &str| WixError::InstallerPage(m.to_string());
        let session = self
            .identities
            .redirect_sessions
            .get(session_id)
            .ok_or_else(|| page("this login session is unknown or was already used"))?
            .clone();
        if now >= session.expires_at {
            return Err(page("this login session expired"));
        }
        let site_members = || {
            self.identities
                .members
                .values()
                .filter(|m| m.site_id == session.site_id)
        };
        let view = |selected: Option<String>, email: String, error: Option<String>| {
            let mut members: Vec<&super::identity::Member> = site_members().collect();
            members.sort_by_key(|m| m.order);
            LoginStep::Form(LoginView {
                session_id: session_id.to_string(),
                client_name: self
                    .oauth_apps
                    .get(&session.client_id)
                    .map(|a| a.name.clone())
                    .unwrap_or_default(),
                members: members
                    .into_iter()
                    .map(|m| LoginChoice {
                        id: m.id.clone(),
                        email: m.email.clone(),
                        nickname: m.nickname.clone(),
                        has_password: m.password.is_some(),
                    })
                    .collect(),
                selected,
                email,
                error,
            })
        };
        let password_ok = |m: &&super::identity::Member, password: &str| {
            m.status != crate::scenario::MemberStatus::Blocked
                && m.password.as_ref().is_none_or(|p| p.verify(password))
        };
        let member_id = match login {
            // Direct login: the session token already named the member.
            _ if session.member_id.is_some() => session.member_id.clone().unwrap_or_default(),
            // `prompt: none` without a session: nobody to log in, and no page may be shown.
            _ if session.response_mode == ResponseMode::WebMessage => {
                self.identities.redirect_sessions.remove(session_id);
                return Ok(respond(
                    &session,
                    &[
                        ("error", "login_required"),
                        ("error_description", "no sessionToken names a member"),
                    ],
                ));
            }
            Login::Cancel => {
                self.identities.redirect_sessions.remove(session_id);
                return Ok(respond(
                    &session,
                    &[
                        ("error", "access_denied"),
                        ("error_description", "the member cancelled the login"),
                    ],
                ));
            }
            Login::Auto { member } if self.identities.member_login == MemberLogin::Auto => {
                // A BLOCKED member never logs in (issue 14), not even by auto-login.
                let found = match member.as_deref() {
                    Some(who) => site_members()
                        .find(|m| m.id == who || m.email.eq_ignore_ascii_case(who))
                        .filter(|m| m.status != crate::scenario::MemberStatus::Blocked)
                        .map(|m| m.id.clone()),
                    None => site_members()
                        .filter(|m| m.status != crate::scenario::MemberStatus::Blocked)
                        .min_by_key(|m| m.order)
                        .map(|m| m.id.clone()),
                };
                match found {
                    Some(id) => id,
                    None => {
                        self.identities.redirect_sessions.remove(session_id);
                        return Ok(respond(
                            &session,
                            &[
                                ("error", "access_denied"),
                                ("error_description", "no such member on this site"),
                            ],
                        ));
                    }
                }
            }
            Login::Auto { member } => {
                // The form, with the named member (or the site's first) picked.
                let picked = match member.as_deref() {
                    Some(who) => site_members()
                        .find(|m| m.id == who || m.email.eq_ignore_ascii_case(who))
                        .map(|m| m.id.clone()),
                    None => site_members().min_by_key(|m| m.order).map(|m| m.id.clone()),
                };
                let email = match picked {
                    Some(_) => String::new(),
                    None => member.unwrap_or_default(),
                };
                return Ok(view(picked, email, None));
            }
            Login::Form {
                member: Some(id),
                password,
                ..
            } => {
                let found = site_members().find(|m| m.id == id).cloned();
                match found {
                    Some(m) if password_ok(&&m, &password) => m.id,
                    Some(m) => {
                        return Ok(view(
                            Some(m.id),
                            String::new(),
                            Some("wrong password".into()),
                        ));
                    }
                    None => {
                        return Ok(view(None, String::new(), Some("no such member".into())));
                    }
                }
            }
            Login::Form {
                member: None,
                email,
                password,
            } => {
                let found = site_members()
                    .find(|m| m.email.eq_ignore_ascii_case(&email))
                    .filter(|m| password_ok(m, &password))
                    .map(|m| m.id.clone());
                match found {
                    Some(id) => id,
                    None => {
                        return Ok(view(None, email, Some("wrong e-mail or password".into())));
                    }
                }
            }
            Login::Signup { email, password } => {
                let email = email.trim().to_string();
                let problem = if email.len() > 254 || !email.contains('@') || email.starts_with('@')
                {
                    Some("enter an e-mail address to sign up with")
                } else if site_members().any(|m| m.email.eq_ignore_ascii_case(&email)) {
                    Some("a member with this e-mail already exists: log in instead")
                } else {
                    None
                };
                if let Some(p) = problem {
                    return Ok(view(None, email, Some(p.into())));
                }
                let id = ids.guid();
                let nickname = email.split('@').next().unwrap_or_default().to_string();
                let order = self.identities.members.len();
                self.identities.members.insert(
                    id.clone(),
                    super::identity::Member {
                        id: id.clone(),
                        site_id: session.site_id.clone(),
                        email,
                        password: Some(password)
                            .filter(|p| !p.is_empty())
                            .map(|p| super::credentials::PasswordHash::new(&p, &ids.bytes(16))),
                        nickname,
                        first_name: None,
                        last_name: None,
                        status: crate::scenario::MemberStatus::Approved,
                        email_verified: true,
                        wrong_passwords: 0,
                        order,
                        created_at: Some(now),
                        revision: 1,
                        registered: true,
                    },
                );
                id
            }
        };
        let code = ids.token("OAUTH2.MCODE.", 32);
        self.identities.redirect_sessions.remove(session_id);
        self.identities.member_codes.insert(
            code.clone(),
            MemberCode {
                client_id: session.client_id.clone(),
                site_id: session.site_id.clone(),
                member_id,
                redirect_uri: session.redirect_uri.clone(),
                code_challenge: session.code_challenge.clone(),
                expires_at: now + secs(self.ttl.code_secs),
                used: false,
            },
        );
        Ok(respond(&session, &[("code", &code)]))
    }

    // ---- Housekeeping -------------------------------------------------------------------------------

    /// Collects expired sessions and codes (and everything else [`World::sweep`] collects), at most
    /// once a virtual minute.
    pub(super) fn maybe_gc_identities(&mut self, now: DateTime<Utc>) {
        self.maybe_gc(now);
    }
}

/// Flows other than login need the URL's domain in allowedRedirectDomains (docs/fidelity.md F-27), or the
/// exact URL among the allowedRedirectUris. The URL must first pass the redirect check: the logout
/// page echoes it into `Location` as given, so `javascript:`, `ftp:`, userinfo, backslashes and
/// control characters are refused before the host is even looked at (issue 18).
fn check_post_flow_url(url: &str, oauth_app: &super::OAuthApp) -> Result<(), WixError> {
    let refuse = |message: String| {
        WixError::Validation(vec![FieldViolation::new(
            "callbacks.postFlowUrl",
            "NOT_ALLOWED",
            message,
        )])
    };
    let parsed = redirect::check(url)
        .map_err(|e| refuse(format!("postFlowUrl cannot be redirected to: {e}")))?;
    let allowed = oauth_app.allowed_redirect_uris.iter().any(|u| u == url)
        || redirect::host_allowed(&parsed, &oauth_app.allowed_redirect_domains);
    if allowed {
        Ok(())
    } else {
        Err(refuse(
            "postFlowUrl's domain is not one of the OAuth app's allowedRedirectDomains".into(),
        ))
    }
}

/// Where the page's answer goes: a redirect to the session's redirect URI, or (web_message) a
/// message posted to the redirect URI's origin, never `*` (`redirect::origin_allowed` made sure the
/// URI is a registered one).
fn respond(session: &RedirectSession, params: &[(&str, &str)]) -> LoginStep {
    if session.response_mode == ResponseMode::WebMessage {
        let origins = match url::Url::parse(&session.redirect_uri) {
            Ok(u) => vec![u.origin().ascii_serialization()],
            Err(_) => session.post_origins.clone(),
        };
        let mut data: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if let Some(state) = session.state.as_deref() {
            data.push(("state".into(), state.into()));
        }
        return LoginStep::WebMessage { origins, data };
    }
    LoginStep::Redirect(callback(session, params))
}

/// The session's redirect URI with `params` (and the session's `state`) in its fragment or query.
fn callback(session: &RedirectSession, params: &[(&str, &str)]) -> String {
    let mut all: Vec<(&str, &str)> = params.to_vec();
    if let Some(state) = session.state.as_deref() {
        all.push(("state", state));
    }
    match session.response_mode {
        ResponseMode::Query | ResponseMode::WebMessage => {
            with_query(&session.redirect_uri, &all).unwrap_or_else(|| session.redirect_uri.clone())
        }
        ResponseMode::Fragment => match url::Url::parse(&session.redirect_uri) {
            Ok(mut u) => {
                let fragment = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(all)
                    .finish();
                u.set_fragment(Some(&fragment));
                u.to_string()
            }
            Err(_) => session.redirect_uri.clone(),
        },
    }
}
