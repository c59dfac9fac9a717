//! The people of a scenario: Wix users on a site (with a role and its permission scopes), site members
//! who can log in through the Headless redirect flow, and the site's API keys.
//!
//! Only types and their checks live here; `world::identity` turns them into state.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use super::{Problem, Scenario, at, check_guid};

/// How the member-login page (`/oauth2/authorize`) logs a member in.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MemberLogin {
    /// The page logs in a member at once and redirects (what CI wants): the one named by the
    /// `member` query parameter (id or e-mail), else the site's first member.
    #[default]
    Auto,
    /// The page shows a small HTML form (e-mail and password) and logs in whoever submits it.
    Form,
}

impl MemberLogin {
    /// Whether this is the default, `auto` (kept out of serialised scenarios).
    pub fn is_auto(&self) -> bool {
        *self == MemberLogin::Auto
    }
}

/// A Wix user (a collaborator of the site) with a role.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    /// The user id (`uid` in tokens), a GUID.
    pub id: Spanned<String>,
    /// The user's e-mail address.
    #[serde(default)]
    pub email: String,
    /// The role's name, e.g. `OWNER`, `ADMIN`, `BACK_OFFICE_MANAGER` (free text, shown by the admin API).
    #[serde(default = "default_role")]
    pub role: String,
    /// The permission scopes the role grants. A token on behalf of the user carries the
    /// intersection of these and the app's scopes. Absent means every scope (the owner's case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
}

fn default_role() -> String {
    "OWNER".to_string()
}

/// A site member, who can log in to Headless clients of the site.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberSpec {
    /// The member id (`siteMemberId` in tokens), a GUID.
    pub id: Spanned<String>,
    /// The login e-mail address.
    pub email: String,
    /// The password the login form checks; any password is accepted when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Display name.
    #[serde(default)]
    pub nickname: String,
    /// Profile first name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Profile last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// `APPROVED` (logs in), `PENDING` (waits for the owner's approval) or `BLOCKED` (never logs in).
    #[serde(default, skip_serializing_if = "MemberStatus::is_approved")]
    pub status: MemberStatus,
    /// Whether the login e-mail is verified (a site that verifies e-mails on login asks for a code
    /// while it is not).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub email_verified: bool,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

/// A member's status on the site, as the Members API names it.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MemberStatus {
    /// Logs in.
    #[default]
    Approved,
    /// Registered on a site that needs the owner's approval, not approved yet.
    Pending,
    /// Can never log in.
    Blocked,
}

impl MemberStatus {
    /// Whether this is the default, `APPROVED` (kept out of serialised scenarios).
    pub fn is_approved(&self) -> bool {
        *self == MemberStatus::Approved
    }
}

/// Who may join a site through `register`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Signup {
    /// Anyone joins at once.
    #[default]
    Open,
    /// New members are `PENDING` until the owner approves them.
    OwnerApproval,
}

/// A site's sign-up and login policy for members who log in with a password (`register`, `login`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct MemberPolicy {
    /// `open` or `owner_approval`.
    #[serde(default)]
    pub signup: Signup,
    /// A new member must type the code e-mailed to them (see `GET /__admin/outbox`) before logging in.
    #[serde(default)]
    pub verify_email_on_signup: bool,
    /// A member whose e-mail is not verified must type an e-mailed code at login.
    #[serde(default)]
    pub verify_email_on_login: bool,
    /// When set, `register` and `login` need a captcha token, and only this one is valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub captcha_token: Option<String>,
    /// Wrong passwords in a row after which the member must reset the password.
    #[serde(default = "default_max_wrong_passwords")]
    pub max_wrong_passwords: u32,
}

fn default_max_wrong_passwords() -> u32 {
    5
}

impl Default for MemberPolicy {
    fn default() -> Self {
        MemberPolicy {
            signup: Signup::Open,
            verify_email_on_signup: false,
            verify_email_on_login: false,
            captcha_token: None,
            max_wrong_passwords: default_max_wrong_passwords(),
        }
    }
}

impl MemberPolicy {
    /// Whether this is the default policy (kept out of serialised scenarios).
    pub fn is_default(&self) -> bool {
        *self == MemberPolicy::default()
    }
}

/// Checks users, members and API keys: GUID ids, unique across the scenario, e-mails unique per site.
pub(super) fn check(scenario: &Scenario, json_text: Option<&str>, problems: &mut Vec<Problem>) {
    let mut ids = HashSet::new();
    for site in &scenario.sites {
        let mut emails = HashSet::new();
        if site.member_policy.max_wrong_passwords == 0 {
            problems.push(at(
                &site.id,
                "member_policy.max_wrong_passwords must be at least 1".into(),
                json_text,
            ));
        }
        for user in &site.users {
            check_guid(&user.id, "user id", problems, json_text);
            if !ids.insert(user.id.value.as_str()) {
                problems.push(at(
                    &user.id,
                    format!("duplicate user or member id `{}`", user.id.value),
                    json_text,
                ));
            }
        }
        for member in &site.members {
            check_guid(&member.id, "member id", problems, json_text);
            if !ids.insert(member.id.value.as_str()) {
                problems.push(at(
                    &member.id,
                    format!("duplicate user or member id `{}`", member.id.value),
                    json_text,
                ));
            }
            if member.password.as_deref().is_some_and(str::is_empty) {
                problems.push(at(
                    &member.id,
                    format!(
                        "member `{}` has an empty password: leave `password` out to accept any",
                        member.id.value
                    ),
                    json_text,
                ));
            }
            if member.email.is_empty() || !emails.insert(member.email.to_ascii_lowercase()) {
                problems.push(at(
                    &member.id,
                    format!(
                        "member `{}` needs an e-mail address not used by another member of the site",
                        member.id.value
                    ),
                    json_text,
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::scenario::Scenario;

    const SITE: &str = "sites:\n  - id: 6354435d-e875-4113-8645-ccc901f07efd\n    name: S\n";

    #[test]
    fn users_and_members_load_with_their_defaults() {
        let yaml = format!(
            "{SITE}    users:\n      - id: 11111111-2222-4333-8444-555555555555\n        scopes: [A]\n    members:\n      - id: 21111111-2222-4333-8444-555555555555\n        email: m@example.com\n"
        );
        let s = Scenario::parse(&yaml, "s.yaml").unwrap();
        assert_eq!(s.sites[0].users[0].role, "OWNER");
        assert_eq!(s.sites[0].members[0].password, None);
    }

    #[test]
    fn a_member_id_reused_as_a_user_id_is_reported_at_the_second_one() {
        let yaml = format!(
            "{SITE}    users:\n      - id: 11111111-2222-4333-8444-555555555555\n    members:\n      - id: 11111111-2222-4333-8444-555555555555\n        email: m@example.com\n"
        );
        let err = Scenario::parse(&yaml, "s.yaml").unwrap_err();
        assert_eq!(err.problems.len(), 1, "{err}");
        assert_eq!(err.problems[0].line, 7, "{err}");
        assert!(err.problems[0].message.contains("duplicate"), "{err}");
    }
}
