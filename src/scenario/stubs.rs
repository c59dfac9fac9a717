//! Stubs a scenario declares for the rest of wixapis.com (issue 15): a request matcher in WireMock's
//! vocabulary, who may call it (identities and permission scopes), and the answer, templated.
//!
//! Only the types live here; the `stubs` module at the crate root checks and compiles them into the matcher and
//! answers requests with them. docs/stubs.md documents the format.
//!
//! Structure keys are snake_case like the rest of a scenario; the matcher operators keep WireMock's
//! own spelling (`equalTo`, `equalToJson`, `matchesJsonPath`, `ignoreExtraElements`, ...) because
//! that is the vocabulary people bring from WireMock.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One stub: a request matcher, who may call it, and the answer (or a sequence of answers).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StubSpec {
    /// Unique name (letters, digits, `.`, `_`, `-`); derived from the method and path when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Where the example comes from (a docs URL), for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// 1 is tried first; 5 when absent (WireMock's default). Ties: the stub declared first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u32>,
    pub request: RequestSpec,
    /// Who may call it; absent means any valid token of any kind, no scope needed.
    #[serde(default)]
    pub auth: AuthSpec,
    /// The answer. Exactly one of `response` and `responses` is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<ResponseSpec>,
    /// A sequence: the first call gets the first answer, and so on; the last one repeats.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub responses: Vec<ResponseSpec>,
    /// WireMock's stateful scenarios: the name of the state machine this stub belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario_name: Option<String>,
    /// The stub matches only while its scenario is in this state (every scenario starts in `Started`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_state: Option<String>,
    /// The state its scenario moves to once this stub has answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_state: Option<String>,
}

/// What a request must look like.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    /// `GET`, `POST`, `PUT`, `PATCH`, `DELETE`, or `ANY`.
    pub method: String,
    /// A path template: `{name}` is one segment, read back as `{{request.path.name}}`. A trailing
    /// `/` is ignored, as for the built-in endpoints.
    pub path: String,
    /// Query parameters, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query: BTreeMap<String, ValueMatcher>,
    /// Headers, by name (any case).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, ValueMatcher>,
    /// Body patterns; every one must hold (WireMock's `bodyPatterns`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub body: Vec<BodyPattern>,
}

/// A matcher for one text value (a query parameter, a header, a JSONPath result). Exactly one
/// operator is given.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ValueMatcher {
    #[serde(rename = "equalTo", default, skip_serializing_if = "Option::is_none")]
    pub equal_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contains: Option<String>,
    /// A regular expression the whole value must match (anchored, as in WireMock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matches: Option<String>,
    #[serde(
        rename = "doesNotMatch",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub does_not_match: Option<String>,
    /// `true`: must be absent; `false`: must be present, any value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absent: Option<bool>,
}

/// One body pattern. Exactly one operator is given.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BodyPattern {
    /// The body text, exactly.
    #[serde(rename = "equalTo", default, skip_serializing_if = "Option::is_none")]
    pub equal_to: Option<String>,
    /// The body text contains this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contains: Option<String>,
    /// The body text matches this regular expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matches: Option<String>,
    /// The body is this JSON (object key order never matters).
    #[serde(
        rename = "equalToJson",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub equal_to_json: Option<Value>,
    /// With `equalToJson`: the body may have more fields and array elements than given (the
    /// pattern is a subset of the body).
    #[serde(
        rename = "ignoreExtraElements",
        default,
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub ignore_extra_elements: bool,
    /// A JSONPath (`$.query.paging.limit`, `$.items[0].id`): present, or matching a value matcher.
    #[serde(
        rename = "matchesJsonPath",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub matches_json_path: Option<JsonPath>,
}

/// `matchesJsonPath`: an expression that must select something, or one with a value matcher.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum JsonPath {
    Exists(String),
    Value(JsonPathValue),
}

/// `{expression, equalTo | contains | matches | doesNotMatch | absent}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct JsonPathValue {
    pub expression: String,
    #[serde(rename = "equalTo", default, skip_serializing_if = "Option::is_none")]
    pub equal_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contains: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matches: Option<String>,
    #[serde(
        rename = "doesNotMatch",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub does_not_match: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absent: Option<bool>,
}

impl JsonPathValue {
    /// The value matcher part.
    pub fn matcher(&self) -> ValueMatcher {
        ValueMatcher {
            equal_to: self.equal_to.clone(),
            contains: self.contains.clone(),
            matches: self.matches.clone(),
            does_not_match: self.does_not_match.clone(),
            absent: self.absent,
        }
    }
}

/// The kinds of caller a stub can allow.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum IdentityKind {
    /// An app on one of its instances (client credentials, legacy tokens).
    App,
    /// A Wix user of the site acting in an app.
    User,
    /// An anonymous visitor of a Headless client.
    Visitor,
    /// A logged-in site member of a Headless client.
    Member,
    /// A Headless OAuth app acting as itself (its admin token).
    OauthApp,
    /// A scenario API key, with `wix-site-id` (or the key's own site).
    ApiKey,
}

impl IdentityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityKind::App => "app",
            IdentityKind::User => "user",
            IdentityKind::Visitor => "visitor",
            IdentityKind::Member => "member",
            IdentityKind::OauthApp => "oauth_app",
            IdentityKind::ApiKey => "api_key",
        }
    }
}

/// Who may call a stub.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AuthSpec {
    /// `true`: no token needed at all (a public API). Then the other fields are not allowed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub anonymous: bool,
    /// The identity kinds allowed; empty is every kind.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identities: Vec<IdentityKind>,
    /// The call needs one of these permission scopes (as Wix's docs list "one of"). Checked for
    /// tokens that carry scopes (app, user, OAuth-app admin, API key); visitor and member tokens are
    /// allowed by their kind alone (INFERRED, docs/fidelity.md I-40).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
}

/// One answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ResponseSpec {
    #[serde(default = "ok")]
    pub status: u16,
    /// Header values are templated too.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// A JSON body; every string in it is a template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// A text body sent as it is (no templating): what `record` writes, so a replay is byte for byte.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_text: Option<String>,
    /// Real milliseconds to wait before answering (at most [`MAX_DELAY_MS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
}

fn ok() -> u16 {
    200
}

/// The longest per-stub delay: a stub is for tests, and a test should not hang on one.
pub const MAX_DELAY_MS: u64 = 30_000;

/// The methods a stub may name.
pub const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "ANY"];

/// The roots a template may read (see docs/stubs.md).
pub const CALLER_FIELDS: &[&str] = &[
    "kind",
    "instanceId",
    "appId",
    "siteId",
    "userId",
    "memberId",
    "visitorId",
    "scopes",
];

impl StubSpec {
    /// The answers in order: `response` alone, or the `responses` sequence.
    pub fn answers(&self) -> Vec<&ResponseSpec> {
        match &self.response {
            Some(r) => vec![r],
            None => self.responses.iter().collect(),
        }
    }

    /// The name given, or one made of the method and path (`post-stores-v1-products-query`).
    pub fn derived_name(&self) -> String {
        if let Some(n) = &self.name {
            return n.clone();
        }
        let mut out = self.request.method.to_ascii_lowercase();
        for seg in self.request.path.split('/').filter(|s| !s.is_empty()) {
            out.push('-');
            out.extend(
                seg.chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.'),
            );
        }
        out
    }
}

/// Whether a name can be used in `/__admin/stubs/{name}`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
}

/// Reads every `*.yaml`, `*.yml` and `*.json` file of `dir` (sorted by name, not recursive): each
/// holds one stub or a list of stubs.
pub fn read_dir(dir: &Path) -> Result<Vec<StubSpec>, String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read stubs_dir {}: {e}", dir.display()))?;
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && matches!(
                    p.extension().and_then(|e| e.to_str()),
                    Some("yaml" | "yml" | "json")
                )
        })
        .collect();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        out.extend(parse_file(&text).map_err(|e| format!("{}: {e}", file.display()))?);
    }
    Ok(out)
}

/// One stub file's text: a stub, a list of stubs, or `{stubs: [...]}`; YAML or JSON.
pub fn parse_file(text: &str) -> Result<Vec<StubSpec>, String> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Wrapped {
        stubs: Vec<StubSpec>,
    }
    let trimmed = text.trim_start();
    let first_line = trimmed
        .lines()
        .find(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
        .unwrap_or("");
    let err = |e: serde_saphyr::Error| {
        e.to_string()
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("invalid stub")
            .to_string()
    };
    if first_line.starts_with('[') || first_line.starts_with('-') {
        serde_saphyr::from_str::<Vec<StubSpec>>(text).map_err(err)
    } else if first_line
        .trim_start_matches('{')
        .trim_start()
        .starts_with("stubs")
        || first_line
            .trim_start_matches('{')
            .trim_start()
            .starts_with("\"stubs\"")
    {
        serde_saphyr::from_str::<Wrapped>(text)
            .map(|w| w.stubs)
            .map_err(err)
    } else {
        serde_saphyr::from_str::<StubSpec>(text)
            .map(|s| vec![s])
            .map_err(err)
    }
}

/// The starter pack (`fixtures/stubs/`), embedded: what the built-in scenario's `stubs_dir` loads.
/// A unit test checks this list against the directory, so a new file cannot be forgotten.
pub const STARTER_PACK: &[(&str, &str)] = &[
    (
        "contacts.yaml",
        include_str!("../../fixtures/stubs/contacts.yaml"),
    ),
    (
        "members.yaml",
        include_str!("../../fixtures/stubs/members.yaml"),
    ),
    (
        "stores.yaml",
        include_str!("../../fixtures/stubs/stores.yaml"),
    ),
];

/// Whether a `stubs_dir` names the starter pack (`../fixtures/stubs`, as scenarios/default.yaml
/// does): text with no file to be relative to, or a copy elsewhere, gets the embedded pack.
pub fn names_starter(stubs_dir: &str) -> bool {
    stubs_dir.trim_end_matches('/').ends_with("fixtures/stubs")
}

/// The starter pack's stubs, in file order.
pub fn starter_pack() -> Result<Vec<StubSpec>, String> {
    let mut out = Vec::new();
    for (file, text) in STARTER_PACK {
        out.extend(parse_file(text).map_err(|e| format!("fixtures/stubs/{file}: {e}"))?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_starter_pack_lists_every_file_of_fixtures_stubs() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/stubs");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".yaml"))
            .collect();
        on_disk.sort();
        let listed: Vec<&str> = STARTER_PACK.iter().map(|(n, _)| *n).collect();
        assert_eq!(on_disk, listed);
        assert_eq!(
            read_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/stubs")).unwrap(),
            starter_pack().unwrap()
        );
    }
}
