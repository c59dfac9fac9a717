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
}

/// Checks users, members and API keys: GUID ids, unique across the scenario, e-mails unique per site.
pub(super) fn check(scenario: &Scenario, json_text: Option<&str>, problems: &mut Vec<Problem>) {
    let mut ids = HashSet::new();
    for site in &scenario.sites {
        let mut emails = HashSet::new();
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
