//! Headless members with credentials (issue 14): `register`, `login`, e-mail verification, password
//! recovery, `sign-on` with an API key, and the session tokens they hand out.
//!
//! The SDK's `OAuthStrategy` (`@wix/sdk` 1.21.16) is the specification: the states it maps
//! (`SUCCESS` + `sessionToken`, `REQUIRE_OWNER_APPROVAL`, `REQUIRE_EMAIL_VERIFICATION` + `stateToken`)
//! and the `applicationError.code`s it branches on (its `constants.js`, re-stated below). A session
//! token is single use and short-lived; the redirect session (direct login) and the
//! `authorized_client` grant redeem it. What Wix would e-mail (verification codes, recovery links)
//! goes to the [`Mail`] outbox instead, for `GET /__admin/outbox`.
//!
//! Passwords are kept as salted PBKDF2 digests only ([`PasswordHash`]). Pure domain: no warp, no
//! locks, `now` passed in; every random value comes from [`Ids`].

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

pub use super::credentials::{
    Mail, MailKind, PasswordHash, PendingVerification, Recovery, SessionGrant,
};
use super::identity::{Identity, Member, Minted};
use super::{Caller, World, secs};
use crate::error::{FieldViolation, WixError};
use crate::ids::{Ids, rfc3339_millis};
use crate::scenario::{MemberPolicy, MemberStatus, Signup};

// ---- The codes the SDK branches on (`build/auth/oauth2/constants.js`) ----------------------------

/// `MISSING_CAPTCHA`: the site needs a captcha token and none was sent.
pub const MISSING_CAPTCHA: &str = "-19971";
/// `INVALID_CAPTCHA`: the captcha token is not valid.
pub const INVALID_CAPTCHA: &str = "-19970";
/// `EMAIL_EXISTS`: `register` with the e-mail of a member of the site.
pub const EMAIL_EXISTS: &str = "-19995";
/// `INVALID_PASSWORD`: `login` with a wrong password.
pub const INVALID_PASSWORD: &str = "-19976";
/// `RESET_PASSWORD`: too many wrong passwords; the member must reset it.
pub const RESET_PASSWORD: &str = "-19973";

// ---- Lifetimes (INFERRED, docs/fidelity.md I-60) --------------------------------------------------

/// A session token lives 5 minutes: the SDK redeems it at once (direct login, `authorized_client`).
pub const SESSION_TOKEN_SECS: u64 = 300;
/// A `stateToken` (and its e-mailed code) lives 15 minutes.
pub const STATE_TOKEN_SECS: u64 = 900;
/// A recovery (or activation) link lives an hour.
pub const RECOVERY_SECS: u64 = 3600;
/// The longest password `register` and `recover` take (INFERRED, docs/fidelity.md I-62).
pub const MAX_PASSWORD_CHARS: usize = 100;
/// The shortest (INFERRED, I-62).
pub const MIN_PASSWORD_CHARS: usize = 4;
/// The outbox keeps this many messages, dropping the oldest.
pub const OUTBOX_LIMIT: usize = 1000;

/// Equal strings, compared in constant time (for equal lengths).
fn ct_eq_str(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// What a member flow answers: Wix's `StateMachineResponse`.
#[derive(Debug, Clone, PartialEq)]
pub enum AuthState {
    Success { session_token: String },
    RequireOwnerApproval,
    RequireEmailVerification { state_token: String },
}

/// A state answer with the member it is about (for `identity`).
#[derive(Debug, Clone)]
pub struct AuthOutcome {
    pub state: AuthState,
    pub member: Member,
}

impl AuthOutcome {
    /// The JSON body, as `registerV2`, `loginV2`, `verifyDuringAuthentication` and `recover` answer.
    pub fn body(&self) -> Value {
        let mut out = json!({"identity": identity_json(&self.member)});
        match &self.state {
            AuthState::Success { session_token } => {
                out["state"] = json!("SUCCESS");
                out["sessionToken"] = json!(session_token);
            }
            AuthState::RequireOwnerApproval => out["state"] = json!("REQUIRE_OWNER_APPROVAL"),
            AuthState::RequireEmailVerification { state_token } => {
                out["state"] = json!("REQUIRE_EMAIL_VERIFICATION");
                out["stateToken"] = json!(state_token);
            }
        }
        out
    }
}

/// The `Identity` object of the authentication API (the SDK's typings: `id`, `identityProfile`,
/// `email {address, isVerified}`, `status {name, reasons}`).
pub fn identity_json(m: &Member) -> Value {
    let (name, reasons): (&str, Vec<&str>) = match m.status {
        MemberStatus::Blocked => ("BLOCKED", vec![]),
        MemberStatus::Pending => ("PENDING", vec!["PENDING_ADMIN_APPROVAL_REQUIRED"]),
        MemberStatus::Approved if !m.email_verified => {
            ("PENDING", vec!["PENDING_EMAIL_VERIFICATION_REQUIRED"])
        }
        MemberStatus::Approved => ("ACTIVE", vec![]),
    };
    let created = m.created_at.map(rfc3339_millis);
    let mut identity = json!({
        "id": m.id,
        "revision": m.revision.to_string(),
        "createdDate": created,
        "updatedDate": created,
        "connections": [],
        "identityProfile": {
            "firstName": m.first_name,
            "lastName": m.last_name,
            "nickname": m.nickname,
            "emails": [m.email],
            "phones": [],
            "labels": [],
            "privacyStatus": "PRIVATE",
        },
        "metadata": {},
        "email": {"address": m.email, "isVerified": m.email_verified},
        "status": {"name": name, "reasons": reasons},
        "factors": if m.password.is_some() { json!([{"factorType": "PASSWORD"}]) } else { json!([]) },
    });
    // Absent rather than null, as proto3 JSON leaves unset fields out.
    strip_nulls(&mut identity);
    identity
}

fn strip_nulls(v: &mut Value) {
    if let Value::Object(map) = v {
        map.retain(|_, v| !v.is_null());
        map.values_mut().for_each(strip_nulls);
    }
}

/// What `register` was sent.
#[derive(Debug, Clone, Default)]
pub struct Registration {
    pub email: String,
    pub password: String,
    pub nickname: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub captcha: Option<String>,
}

/// An `applicationError` of the members API (400 unless said otherwise).
fn app_error(code: &'static str, message: impl Into<String>) -> WixError {
    // Statuses are INFERRED (docs/fidelity.md I-61): the SDK reads only the code.
    let status = match code {
        EMAIL_EXISTS => 409,
        _ => 400,
    };
    WixError::Application {
        status,
        code,
        message: message.into(),
    }
}

/// A malformed e-mail: a field violation whose `data.type` is `EMAIL`, which the SDK turns into
/// `invalidEmail`.
fn email_violation(field: &str, message: &str) -> WixError {
    WixError::Validation(vec![FieldViolation::with_data(
        field,
        "INVALID_FORMAT",
        message,
        json!({"type": "EMAIL"}),
    )])
}

/// Checks an e-mail the way Wix's forms do (one `@`, something before it, a dot after it, no
/// spaces, at most 254 characters; INFERRED, docs/fidelity.md I-63).
pub fn check_email(field: &str, email: &str) -> Result<String, WixError> {
    let email = email.trim();
    let ok = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if ok {
        Ok(email.to_string())
    } else {
        Err(email_violation(field, "not a valid e-mail address"))
    }
}

fn check_password(field: &str, password: &str) -> Result<(), WixError> {
    let n = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&n) {
        // `data` is always there: the SDK's register reads `v.data.type` of every violation.
        return Err(WixError::Validation(vec![FieldViolation::with_data(
            field,
            if n < MIN_PASSWORD_CHARS {
                "MIN_LENGTH"
            } else {
                "MAX_LENGTH"
            },
            format!(
                "the password must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters long"
            ),
            json!({"type": "PASSWORD"}),
        )]));
    }
    Ok(())
}

impl World {
    /// The policy of `site_id` (the default for a site the scenario does not declare).
    fn policy(&self, site_id: &str) -> MemberPolicy {
        self.identities
            .policies
            .get(site_id)
            .cloned()
            .unwrap_or_default()
    }

    /// The caller of a member call: a Headless visitor or member token (the SDK sends its visitor
    /// token before login).
    fn headless_caller(&self, token: Option<&str>, now: DateTime<Utc>) -> Result<Caller, WixError> {
        let caller = self.authorize(token, now)?;
        match caller.identity {
            Identity::Visitor { .. } | Identity::Member { .. } => Ok(caller),
            _ => Err(WixError::PermissionDenied(
                "this API needs the visitor or member token of a Headless OAuth app".into(),
            )),
        }
    }

    fn member_by_email(&self, site_id: &str, email: &str) -> Option<&Member> {
        self.identities
            .members
            .values()
            .find(|m| m.site_id == site_id && m.email.eq_ignore_ascii_case(email))
    }

    fn check_captcha(policy: &MemberPolicy, captcha: Option<&str>) -> Result<(), WixError> {
        let Some(expected) = policy.captcha_token.as_deref() else {
            return Ok(());
        };
        match captcha.filter(|c| !c.is_empty()) {
            None => Err(app_error(
                MISSING_CAPTCHA,
                "this site needs a captcha token to register or log in",
            )),
            Some(c) if ct_eq_str(c, expected) => Ok(()),
            Some(_) => Err(app_error(INVALID_CAPTCHA, "the captcha token is not valid")),
        }
    }

    fn new_session(
        &mut self,
        member_id: &str,
        site_id: &str,
        client_id: Option<&str>,
        now: DateTime<Utc>,
        ids: &Ids,
    ) -> String {
        self.sweep_member_tokens(now);
        let token = ids.token("JWS.", 48);
        self.identities.session_tokens.insert(
            token.clone(),
            SessionGrant {
                member_id: member_id.to_string(),
                site_id: site_id.to_string(),
                client_id: client_id.map(str::to_string),
                expires_at: now + secs(SESSION_TOKEN_SECS),
            },
        );
        token
    }

    /// A verification code e-mailed (to the outbox) and the state token that waits for it.
    fn start_verification(
        &mut self,
        member: &Member,
        client_id: &str,
        now: DateTime<Utc>,
        ids: &Ids,
    ) -> String {
        self.sweep_member_tokens(now);
        let state_token = ids.token("STATE.", 40);
        let code = format!("{:06}", ids.below(1_000_000));
        self.identities.verifications.insert(
            state_token.clone(),
            PendingVerification {
                member_id: member.id.clone(),
                site_id: member.site_id.clone(),
                client_id: client_id.to_string(),
                code: code.clone(),
                expires_at: now + secs(STATE_TOKEN_SECS),
            },
        );
        self.send_mail(
            MailKind::VerificationCode,
            member,
            Some(code),
            None,
            now,
            ids,
        );
        state_token
    }

    fn send_mail(
        &mut self,
        kind: MailKind,
        member: &Member,
        code: Option<String>,
        link: Option<String>,
        now: DateTime<Utc>,
        ids: &Ids,
    ) {
        let mail = Mail {
            id: ids.guid(),
            kind,
            to: member.email.clone(),
            member_id: member.id.clone(),
            site_id: member.site_id.clone(),
            code,
            link,
            created_at: rfc3339_millis(now),
        };
        let outbox = &mut self.identities.mail;
        if outbox.len() >= OUTBOX_LIMIT {
            outbox.remove(0);
        }
        outbox.push(mail);
    }

    /// After the password (or a code) checked out: the next state for `member`.
    fn next_state(
        &mut self,
        member_id: &str,
        client_id: &str,
        verify_now: bool,
        now: DateTime<Utc>,
        ids: &Ids,
    ) -> AuthOutcome {
        let member = self.identities.members[member_id].clone();
        let state = if verify_now {
            AuthState::RequireEmailVerification {
                state_token: self.start_verification(&member, client_id, now, ids),
            }
        } else if member.status == MemberStatus::Pending {
            AuthState::RequireOwnerApproval
        } else {
            AuthState::Success {
                session_token: self.new_session(
                    member_id,
                    &member.site_id,
                    Some(client_id),
                    now,
                    ids,
                ),
            }
        };
        AuthOutcome { state, member }
    }

    /// `POST /_api/iam/authentication/v2/register`.
    pub fn register_member(
        &mut self,
        token: Option<&str>,
        reg: Registration,
        now: DateTime<Utc>,
        ids: &Ids,
    ) -> Result<AuthOutcome, WixError> {
        let caller = self.headless_caller(token, now)?;
        let email = check_email("loginId.email", &reg.email)?;
        check_password("password", &reg.password)?;
        let policy = self.policy(&caller.site_id);
        World::check_captcha(&policy, reg.captcha.as_deref())?;
        if self.member_by_email(&caller.site_id, &email).is_some() {
            return Err(app_error(
                EMAIL_EXISTS,
                "a member with this e-mail already exists on the site",
            ));
        }
        // Everything is checked: from here on nothing fails, so nothing is half-written.
        let id = ids.guid();
        let nickname = reg
            .nickname
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| email.split('@').next().unwrap_or_default().to_string());
        let member = Member {
            id: id.clone(),
            site_id: caller.site_id.clone(),
            email,
            password: Some(PasswordHash::new(&reg.password, &ids.bytes(16))),
            nickname,
            first_name: reg.first_name,
            last_name: reg.last_name,
            status: match policy.signup {
                Signup::Open => MemberStatus::Approved,
                Signup::OwnerApproval => MemberStatus::Pending,
            },
            email_verified: !policy.verify_email_on_signup,
            wrong_passwords: 0,
            order: self.identities.members.len(),
            created_at: Some(now),
            revision: 1,
            registered: true,
        };
        self.identities.members.insert(id.clone(), member);
        Ok(self.next_state(&id, &caller.app_id, policy.verify_email_on_signup, now, ids))
    }

    /// `POST /_api/iam/authentication/v2/login`.
    pub fn login_with_password(
        &mut self,
        token: Option<&str>,
        email: &str,
        password: &str,
        captcha: Option<&str>,
        now: DateTime<Utc>,
        ids: &Ids,
    ) -> Result<AuthOutcome, WixError> {
        let caller = self.headless_caller(token, now)?;
        // An applicationError, not a field violation: the SDK's login reads
        // `details.applicationError.code` without `?.` and would throw on a validationError.
        let email = check_email("loginId.email", email)
            .map_err(|_| app_error("INVALID_EMAIL", "not a valid e-mail address"))?;
        let policy = self.policy(&caller.site_id);
        World::check_captcha(&policy, captcha)?;
        let member = self
            .member_by_email(&caller.site_id, &email)
            .cloned()
            .ok_or_else(|| WixError::Application {
                status: 404,
                code: "IDENTITY_NOT_FOUND",
                message: "no member with this e-mail on the site".into(),
            })?;
        if member.status == MemberStatus::Blocked {
            return Err(WixError::Application {
                status: 403,
                code: "MEMBER_BLOCKED",
                message: "this member is blocked and cannot log in".into(),
            });
        }
        if member.wrong_passwords >= policy.max_wrong_passwords {
            return Err(app_error(
                RESET_PASSWORD,
                "too many wrong passwords: reset the password to log in",
            ));
        }
        // A member without a password (a scenario member declared without one) takes any.
        let ok = member.password.as_ref().is_none_or(|h| h.verify(password));
        let stored = self
            .identities
            .members
            .get_mut(&member.id)
            .expect("found above");
        if !ok {
            stored.wrong_passwords += 1;
            return Err(if stored.wrong_passwords >= policy.max_wrong_passwords {
                app_error(
                    RESET_PASSWORD,
                    "too many wrong passwords: reset the password to log in",
                )
            } else {
                app_error(INVALID_PASSWORD, "wrong password")
            });
        }
        stored.wrong_passwords = 0;
        let verify = policy.verify_email_on_login && !member.email_verified
            || policy.verify_email_on_signup && !member.email_verified && member.registered;
        Ok(self.next_state(&member.id, &caller.app_id, verify, now, ids))
    }

    /// `POST /_api/iam/verification/v1/auth/verify`: the e-mailed code for a `stateToken`.
    pub fn verify_code(
        &mut self,
        token: Option<&str>,
        code: &str,
        state_token: &str,
        now: DateTime<Utc>,
        ids: &Ids,
    ) -> Result<AuthOutcome, WixError> {
        let caller = self.headless_caller(token, now)?;
        let pending = self
            .identities
            .verifications
            .get(state_token)
            .filter(|p| p.expires_at > now && p.site_id == caller.site_id)
            .cloned()
            .ok_or_else(|| {
                app_error(
                    "INVALID_STATE_TOKEN",
                    "the stateToken is unknown, expired or already used",
                )
            })?;
        if !ct_eq_str(code.trim(), &pending.code) {
            return Err(app_error(
                "INVALID_VERIFICATION_CODE",
                "the code is not the one e-mailed for this stateToken",
            ));
        }
        self.identities.verifications.remove(state_token);
        let Some(m) = self.identities.members.get_mut(&pending.member_id) else {
            return Err(app_error(
                "INVALID_STATE_TOKEN",
                "the member of this stateToken no longer exists",
            ));
        };
        m.email_verified = true;
        m.revision += 1;
        Ok(self.next_state(&pending.member_id, &pending.client_id, false, now, ids))
    }

    /// `POST /_api/iam/verification/v1/auth/resend`: a new code for the same `stateToken`.
    pub fn resend_code(
        &mut self,
        token: Option<&str>,
        state_token: &str,
        now: DateTime<Utc>,
        ids: &Ids,
    ) -> Result<(), WixError> {
        let caller = self.headless_caller(token, now)?;
        let pending = self
            .identities
            .verifications
            .get(state_token)
            .filter(|p| p.expires_at > now && p.site_id == caller.site_id)
            .cloned()
            .ok_or_else(|| {
                app_error(
                    "INVALID_STATE_TOKEN",
                    "the stateToken is unknown, expired or already used",
                )
            })?;
        let member = self.identities.members[&pending.member_id].clone();
        let code = format!("{:06}", ids.below(1_000_000));
        if let Some(p) = self.identities.verifications.get_mut(state_token) {
            p.code = code.clone();
            p.expires_at = now + secs(STATE_TOKEN_SECS);
        }
        self.send_mail(
            MailKind::VerificationCode,
            &member,
            Some(code),
            None,
            now,
            ids,
        );
        Ok(())
    }

    /// `POST /_api/iam/recovery/v1/send-email`: a recovery link to the outbox. An unknown e-mail
    /// is answered the same way, so the call does not tell who is a member (INFERRED, docs/fidelity.md I-64).
    pub fn send_recovery_email(
        &mut self,
        token: Option<&str>,
        email: &str,
        redirect_url: Option<&str>,
        link_base: &str,
        now: DateTime<Utc>,
        ids: &Ids,
    ) -> Result<(), WixError> {
        let caller = self.headless_caller(token, now)?;
        let email = check_email("email", email)?;
        if let Some(url) = redirect_url {
            self.check_redirect(&caller.app_id, url, "redirect.url")?;
        }
        let Some(member) = self.member_by_email(&caller.site_id, &email).cloned() else {
            return Ok(());
        };
        self.recovery_mail(
            MailKind::PasswordRecovery,
            &member,
            Some(&caller.app_id),
            redirect_url,
            link_base,
            now,
            ids,
        );
        Ok(())
    }

    /// `POST /_api/iam/recovery/v1/activation-email`: an activation link (set a password) for a
    /// member, by id.
    pub fn send_activation_email(
        &mut self,
        token: Option<&str>,
        member_id: &str,
        redirect_url: Option<&str>,
        link_base: &str,
        now: DateTime<Utc>,
        ids: &Ids,
    ) -> Result<(), WixError> {
        let caller = self.authorize(token, now)?;
        let member = self
            .identities
            .members
            .get(member_id)
            .filter(|m| m.site_id == caller.site_id)
            .cloned()
            .ok_or_else(|| WixError::NotFound {
                code: "IDENTITY_NOT_FOUND",
                message: format!("no member `{member_id}` on this site"),
            })?;
        if let Some(url) = redirect_url {
            self.check_redirect(&caller.app_id, url, "emailOptions.redirect.url")?;
        }
        let client = matches!(
            caller.identity,
            Identity::Visitor { .. } | Identity::Member { .. }
        )
        .then_some(caller.app_id.as_str());
        self.recovery_mail(
            MailKind::Activation,
            &member,
            client,
            redirect_url,
            link_base,
            now,
            ids,
        );
        Ok(())
    }

    fn check_redirect(&self, client_id: &str, url: &str, field: &str) -> Result<(), WixError> {
        let refuse =
            |m: String| WixError::Validation(vec![FieldViolation::new(field, "NOT_ALLOWED", m)]);
        let parsed = crate::redirect::check(url)
            .map_err(|e| refuse(format!("cannot be redirected to: {e}")))?;
        let Some(app) = self.oauth_apps.get(client_id) else {
            return Err(refuse(
                "only a Headless OAuth app's visitor may give one".into(),
            ));
        };
        if app.allowed_redirect_uris.iter().any(|u| u == url)
            || crate::redirect::host_allowed(&parsed, &app.allowed_redirect_domains)
        {
            Ok(())
        } else {
            Err(refuse(
                "the URL is not among the OAuth app's allowed redirect URIs or domains".into(),
            ))
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn recovery_mail(
        &mut self,
        kind: MailKind,
        member: &Member,
        client_id: Option<&str>,
        redirect_url: Option<&str>,
        link_base: &str,
        now: DateTime<Utc>,
        ids: &Ids,
    ) {
        self.sweep_member_tokens(now);
        let token = ids.token("RECOVERY.", 40);
        self.identities.recoveries.insert(
            token.clone(),
            Recovery {
                member_id: member.id.clone(),
                site_id: member.site_id.clone(),
                client_id: client_id.map(str::to_string),
                redirect_url: redirect_url.map(str::to_string),
                expires_at: now + secs(RECOVERY_SECS),
                used: false,
            },
        );
        let link = super::with_query(
            &format!("{link_base}/iam/recovery/reset-password"),
            &[("recoveryToken", &token)],
        );
        self.send_mail(kind, member, None, link, now, ids);
    }

    /// Whether `token` is a live recovery link (the reset page shows its form only then).
    pub fn recovery_link(&self, token: &str, now: DateTime<Utc>) -> Result<Recovery, WixError> {
        self.identities
            .recoveries
            .get(token)
            .filter(|r| !r.used && r.expires_at > now)
            .cloned()
            .ok_or_else(|| {
                app_error(
                    "INVALID_RECOVERY_TOKEN",
                    "this recovery link is unknown, expired or was already used",
                )
            })
    }

    /// `POST /_api/iam/recovery/v1/recover` (and the reset page): a new password for the link's
    /// member. Clears the wrong-password count; logs the member in (`SUCCESS`).
    pub fn recover_password(
        &mut self,
        recovery_token: &str,
        password: &str,
        now: DateTime<Utc>,
        ids: &Ids,
    ) -> Result<(AuthOutcome, Option<String>), WixError> {
        let rec = self.recovery_link(recovery_token, now)?;
        check_password("password", password)?;
        let Some(m) = self.identities.members.get_mut(&rec.member_id) else {
            return Err(app_error(
                "INVALID_RECOVERY_TOKEN",
                "the member of this link no longer exists",
            ));
        };
        m.password = Some(PasswordHash::new(password, &ids.bytes(16)));
        m.wrong_passwords = 0;
        // Following the e-mailed link proves the address.
        m.email_verified = true;
        m.revision += 1;
        let member = m.clone();
        if let Some(r) = self.identities.recoveries.get_mut(recovery_token) {
            r.used = true;
        }
        let state = if member.status == MemberStatus::Pending {
            AuthState::RequireOwnerApproval
        } else {
            AuthState::Success {
                session_token: self.new_session(
                    &member.id,
                    &member.site_id,
                    rec.client_id.as_deref(),
                    now,
                    ids,
                ),
            }
        };
        Ok((AuthOutcome { state, member }, rec.redirect_url))
    }

    /// `POST /_api/iam/authentication/v2/sign-on`: with `Authorization: <visitor token>,<API key>`,
    /// a session token for the member with this e-mail, created when new (external login).
    #[allow(clippy::too_many_arguments)]
    pub fn sign_on(
        &mut self,
        visitor_token: &str,
        api_key: &str,
        email: &str,
        profile: Registration,
        verify_email: bool,
        now: DateTime<Utc>,
        ids: &Ids,
    ) -> Result<(String, Member), WixError> {
        let caller = self.headless_caller(Some(visitor_token), now)?;
        let key = crate::scenario::api_keys::find(&self.identities.api_keys, api_key);
        match key.map(|k| k.site_id.as_ref().map(|s| s.value.as_str())) {
            Some(None) => {}
            Some(Some(site)) if site == caller.site_id => {}
            _ => {
                return Err(WixError::Unauthenticated {
                    code: "INVALID_API_KEY",
                    message: "the API key is unknown or belongs to another site".into(),
                });
            }
        }
        let email = check_email("loginId.email", email)?;
        let id = match self.member_by_email(&caller.site_id, &email) {
            Some(m) if m.status == MemberStatus::Blocked => {
                return Err(WixError::PermissionDenied(
                    "this member is blocked and cannot log in".into(),
                ));
            }
            Some(m) => m.id.clone(),
            None => {
                let id = ids.guid();
                let member = Member {
                    id: id.clone(),
                    site_id: caller.site_id.clone(),
                    nickname: profile
                        .nickname
                        .filter(|n| !n.trim().is_empty())
                        .unwrap_or_else(|| email.split('@').next().unwrap_or_default().to_string()),
                    email,
                    password: None,
                    first_name: profile.first_name,
                    last_name: profile.last_name,
                    status: MemberStatus::Approved,
                    // The external provider vouches for the address unless asked to verify it.
                    email_verified: !verify_email,
                    wrong_passwords: 0,
                    order: self.identities.members.len(),
                    created_at: Some(now),
                    revision: 1,
                    registered: true,
                };
                self.identities.members.insert(id.clone(), member);
                id
            }
        };
        let session = self.new_session(&id, &caller.site_id, None, now, ids);
        Ok((session, self.identities.members[&id].clone()))
    }

    /// Redeems a session token (single use): the member it logs in, if it is live, on `site_id`,
    /// and (when it was issued to one) for `client_id`.
    pub fn redeem_session_token(
        &mut self,
        token: &str,
        site_id: &str,
        client_id: &str,
        now: DateTime<Utc>,
    ) -> Result<String, WixError> {
        let member_id = self.check_session_token(token, site_id, client_id, now)?;
        self.identities.session_tokens.remove(token);
        Ok(member_id)
    }

    /// The member a live session token logs in, without spending it.
    fn check_session_token(
        &self,
        token: &str,
        site_id: &str,
        client_id: &str,
        now: DateTime<Utc>,
    ) -> Result<String, WixError> {
        let grant = self
            .identities
            .session_tokens
            .get(token)
            .filter(|g| g.expires_at > now && g.site_id == site_id)
            .filter(|g| g.client_id.as_deref().is_none_or(|c| c == client_id))
            .cloned()
            .ok_or_else(|| {
                WixError::InvalidGrant(
                    "the sessionToken is unknown, expired, already used or of another client"
                        .into(),
                )
            })?;
        if self
            .identities
            .members
            .get(&grant.member_id)
            .is_none_or(|m| m.status != MemberStatus::Approved)
        {
            return Err(WixError::InvalidGrant(
                "the sessionToken's member can no longer log in".into(),
            ));
        }
        Ok(grant.member_id)
    }

    /// `authorized_client` with a `session_token` (after `sign-on`): the member's tokens.
    pub fn authorized_client_with_session(
        &mut self,
        visitor_token: &str,
        api_key: &str,
        member_id: &str,
        session_token: &str,
        now: DateTime<Utc>,
        ids: &Ids,
    ) -> Result<Minted, WixError> {
        let caller = self
            .authorize(Some(visitor_token), now)
            .map_err(|e| WixError::InvalidClient(format!("visitor token: {e}")))?;
        let owner =
            self.check_session_token(session_token, &caller.site_id, &caller.app_id, now)?;
        if owner != member_id {
            return Err(WixError::InvalidGrant(
                "the session_token belongs to another member".into(),
            ));
        }
        // Checks the key and the member as the plain grant does, and mints; the token is spent
        // only once everything succeeded.
        let minted = self.authorized_client(visitor_token, api_key, member_id, now, ids)?;
        self.identities.session_tokens.remove(session_token);
        Ok(minted)
    }

    /// `POST /_api/iam/authentication/v2/change-password` with a member token.
    pub fn change_password(
        &mut self,
        token: Option<&str>,
        new_password: &str,
        now: DateTime<Utc>,
        ids: &Ids,
    ) -> Result<(), WixError> {
        let caller = self.authorize(token, now)?;
        let Identity::Member { member_id } = &caller.identity else {
            return Err(WixError::PermissionDenied(
                "change-password needs a member token".into(),
            ));
        };
        check_password("newPassword", new_password)?;
        let m = self
            .identities
            .members
            .get_mut(member_id)
            .ok_or_else(|| WixError::NotFound {
                code: "IDENTITY_NOT_FOUND",
                message: "the member no longer exists".into(),
            })?;
        m.password = Some(PasswordHash::new(new_password, &ids.bytes(16)));
        m.wrong_passwords = 0;
        m.revision += 1;
        Ok(())
    }

    /// `GET /_api/iam/authentication/v1/logout`: ends the session of the token's member (every
    /// token of the member stops working), after checking the redirect the caller asks for.
    pub fn logout_member(
        &mut self,
        token: Option<&str>,
        client_id: Option<&str>,
        post_logout_redirect: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), WixError> {
        let caller = self.headless_caller(token, now)?;
        if client_id.is_some_and(|c| c != caller.app_id) {
            return Err(WixError::Validation(vec![FieldViolation::new(
                "clientId",
                "NOT_ALLOWED",
                "clientId is not the OAuth app of the token",
            )]));
        }
        if let Some(url) = post_logout_redirect {
            self.check_redirect(&caller.app_id, url, "postLogoutRedirectUri")?;
        }
        let app_id = caller.app_id.clone();
        self.logout(Some(&caller), &app_id, None)
    }

    /// `GET /__admin/outbox`: e-mails the mock did not send, newest first, optionally to one address.
    pub fn outbox(&self, email: Option<&str>) -> Vec<Mail> {
        self.identities
            .mail
            .iter()
            .rev()
            .filter(|m| email.is_none_or(|e| m.to.eq_ignore_ascii_case(e)))
            .cloned()
            .collect()
    }

    /// Drops expired session, state and recovery tokens (kept an hour past expiry, then swept).
    pub(super) fn sweep_member_tokens(&mut self, now: DateTime<Utc>) {
        let horizon = now - chrono::Duration::hours(1);
        let ids = &mut self.identities;
        ids.session_tokens.retain(|_, g| g.expires_at > horizon);
        ids.verifications.retain(|_, p| p.expires_at > horizon);
        ids.recoveries.retain(|_, r| r.expires_at > horizon);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_hash_verifies_only_its_password_and_survives_encoding() {
        let h = PasswordHash::new("correct horse", &[7u8; 16]);
        assert!(h.verify("correct horse"));
        assert!(!h.verify("correct horsf"));
        let back = PasswordHash::decode(&h.encode()).unwrap();
        assert_eq!(back, h);
        assert!(!h.encode().contains("horse"));
        assert_eq!(format!("{h:?}"), "PasswordHash([redacted])");
        assert!(PasswordHash::decode("pbkdf2-sha256$1$00$00").is_none());
    }

    #[test]
    fn a_scenario_members_deferred_hash_is_the_same_hash_once_used() {
        let deferred = PasswordHash::deferred("correct horse".into(), &[7u8; 16]);
        assert_eq!(format!("{deferred:?}"), "PasswordHash([redacted])");
        assert!(!deferred.verify("correct horsf"));
        assert!(deferred.verify("correct horse"));
        // Saved (the state file) before any check: the digest, never the text.
        let saved = PasswordHash::deferred("correct horse".into(), &[7u8; 16]).encode();
        assert_eq!(
            saved,
            PasswordHash::new("correct horse", &[7u8; 16]).encode()
        );
        assert!(!saved.contains("horse"));
        assert_eq!(PasswordHash::decode(&saved).unwrap(), deferred);
    }

    #[test]
    fn emails_are_checked_like_wixs_forms() {
        for good in ["a@b.co", " m@demo-site.example.com "] {
            assert!(check_email("e", good).is_ok(), "{good}");
        }
        for bad in [
            "", "a", "@b.co", "a@b", "a@.co", "a@b.", "a b@c.de", "a@b@c.de",
        ] {
            assert!(check_email("e", bad).is_err(), "{bad}");
        }
        assert!(check_email("e", &format!("{}@b.co", "a".repeat(260))).is_err());
    }
}
