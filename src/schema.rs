//! The JSON Schema (draft 2020-12) of scenario files, for editors (`wix-oauth-mock schema`).
//!
//! Built by hand with `serde_json` rather than derived with `schemars`: the scenario types hold
//! `serde_saphyr::Spanned` values that schemars knows nothing of, and deriving would mean schema
//! attributes on every type in a file other branches edit too. A test compares the schema's keys
//! with the types' serialised keys, so the two cannot drift apart silently.

use serde_json::{Map, Value, json};

fn obj(required: &[&str], props: Vec<(&str, Value)>) -> Value {
    let mut map = Map::new();
    for (k, v) in props {
        map.insert(k.to_string(), v);
    }
    json!({"type": "object", "additionalProperties": false, "required": required, "properties": map})
}

fn s(description: &str) -> Value {
    json!({"type": "string", "description": description})
}

fn n(description: &str) -> Value {
    json!({"type": "integer", "minimum": 0, "description": description})
}

fn b(description: &str) -> Value {
    json!({"type": "boolean", "description": description})
}

fn list(items: Value, description: &str) -> Value {
    json!({"type": "array", "items": items, "description": description})
}

fn one_of(values: &[&str], description: &str) -> Value {
    json!({"enum": values, "description": description})
}

const GUID: &str = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

fn guid(description: &str) -> Value {
    json!({"type": "string", "pattern": GUID, "description": description})
}

fn time(description: &str) -> Value {
    json!({"type": "string", "format": "date-time", "description": description})
}

fn field_match(description: &str) -> Value {
    let mut v = obj(
        &["name"],
        vec![
            ("name", s("Field or header name")),
            ("equals", s("Required value; any value when absent")),
        ],
    );
    v["description"] = json!(description);
    v
}

fn matcher() -> Value {
    obj(
        &[],
        vec![
            (
                "endpoint",
                one_of(
                    crate::scenario::faults::Endpoint::names(),
                    "A friendly endpoint name",
                ),
            ),
            ("path", s("Exact path, or a prefix ending in *")),
            ("method", s("HTTP method, any case")),
            ("grant_type", s("grant_type / grantType of a token request")),
            ("app_id", s("appId, client_id, or the access token's app")),
            (
                "instance_id",
                s("Instance: a field, the token's, or the code's / refresh token's"),
            ),
            ("client_id", s("client_id / clientId field")),
            ("stub", s("The stub that matched, by name")),
            (
                "field",
                field_match("Any query or body field (snake_case compared)"),
            ),
            ("header", field_match("Any request header")),
            (
                "status",
                json!({"type": "integer", "minimum": 100, "maximum": 599, "description": "Answer status (expectations only)"}),
            ),
        ],
    )
}

/// A WireMock-style value matcher: one operator.
fn value_matcher() -> Value {
    json!({
        "type": "object", "additionalProperties": false, "minProperties": 1, "maxProperties": 1,
        "description": "One of equalTo, contains, matches (a whole-value regex), doesNotMatch, absent",
        "properties": {
            "equalTo": {"type": "string"},
            "contains": {"type": "string"},
            "matches": {"type": "string", "description": "Regular expression the whole value matches"},
            "doesNotMatch": {"type": "string"},
            "absent": {"type": "boolean", "description": "true: must be absent; false: must be present"}
        }
    })
}

/// One stub (docs/stubs.md).
fn stub() -> Value {
    let answer = obj(
        &[],
        vec![
            (
                "status",
                json!({"type": "integer", "minimum": 100, "maximum": 599, "description": "200 when absent"}),
            ),
            (
                "headers",
                json!({"type": "object", "additionalProperties": {"type": "string"}, "description": "Header values (templated)"}),
            ),
            (
                "body",
                json!({"description": "JSON body; every string is a template ({{request.path.x}}, {{caller.memberId}}, {{member.profile.nickname}}, {{now}}, {{randomId}})"}),
            ),
            ("body_text", s("A text body, sent as it is")),
            ("delay_ms", n("Real milliseconds to wait (at most 30000)")),
        ],
    );
    let body_pattern = json!({
        "type": "object", "additionalProperties": false,
        "description": "One of equalTo, contains, matches, equalToJson (+ ignoreExtraElements), matchesJsonPath",
        "properties": {
            "equalTo": {"type": "string"},
            "contains": {"type": "string"},
            "matches": {"type": "string"},
            "equalToJson": {"description": "The body is this JSON"},
            "ignoreExtraElements": {"type": "boolean", "description": "With equalToJson: a subset is enough"},
            "matchesJsonPath": {"oneOf": [
                {"type": "string", "description": "A JSONPath that must select something"},
                {"type": "object", "required": ["expression"], "properties": {
                    "expression": {"type": "string"},
                    "equalTo": {"type": "string"}, "contains": {"type": "string"},
                    "matches": {"type": "string"}, "doesNotMatch": {"type": "string"},
                    "absent": {"type": "boolean"}
                }, "additionalProperties": false}
            ]}
        }
    });
    let identities = ["app", "user", "visitor", "member", "oauth_app", "api_key"];
    obj(
        &["request"],
        vec![
            ("name", s("Unique name: letters, digits, . _ -")),
            ("source", s("Where the example comes from")),
            ("priority", n("1 is tried first; 5 when absent")),
            (
                "request",
                obj(
                    &["method", "path"],
                    vec![
                        (
                            "method",
                            one_of(crate::scenario::stubs::METHODS, "HTTP method"),
                        ),
                        ("path", s("Path template: {name} is one segment")),
                        (
                            "query",
                            json!({"type": "object", "additionalProperties": value_matcher(), "description": "Query parameters"}),
                        ),
                        (
                            "headers",
                            json!({"type": "object", "additionalProperties": value_matcher(), "description": "Headers (any case)"}),
                        ),
                        ("body", list(body_pattern, "Body patterns, all must hold")),
                    ],
                ),
            ),
            (
                "auth",
                obj(
                    &[],
                    vec![
                        ("anonymous", b("No token needed")),
                        (
                            "identities",
                            list(
                                one_of(&identities, "Identity kind"),
                                "Kinds allowed; every kind when empty",
                            ),
                        ),
                        ("scopes", list(s("Scope"), "One of these is needed")),
                    ],
                ),
            ),
            ("response", answer.clone()),
            ("responses", list(answer, "A sequence; the last repeats")),
            ("scenario_name", s("WireMock scenario name")),
            (
                "required_state",
                s("Matches only in this state (Started at first)"),
            ),
            ("new_state", s("State after answering")),
        ],
    )
}

fn effect() -> Value {
    let single = |name: &str, v: Value| {
        let mut props = Map::new();
        props.insert(name.to_string(), v);
        json!({"type": "object", "additionalProperties": false, "required": [name], "properties": props})
    };
    json!({"oneOf": [
        single("delay", obj(&[], vec![
            ("ms", n("Fixed latency")),
            ("min_ms", n("Seeded-random latency, lower bound")),
            ("max_ms", n("Seeded-random latency, upper bound")),
        ])),
        single("error", obj(&[], vec![
            ("preset", one_of(&["token_expired", "permission_denied", "not_found", "rate_limited", "internal", "unavailable", "invalid_grant"], "One of Wix's real error answers")),
            ("status", json!({"type": "integer", "minimum": 100, "maximum": 599})),
            ("body", json!({"description": "JSON body"})),
            ("headers", json!({"type": "object", "additionalProperties": {"type": "string"}})),
            ("retry_after_secs", n("Retry-After header")),
        ])),
        single("drop", one_of(&["connection", "truncated"], "Close without an answer, or cut the body short")),
        single("expire", obj(&["target"], vec![
            ("target", one_of(&["code", "access_token", "refresh_token"], "What expires")),
            ("ttl_secs", n("Life left; 0 = already expired")),
        ])),
        single("state", one_of(&["tamper", "drop", "replay"], "What happens to state on the redirect")),
        single("revoke", one_of(&["refresh_token", "instance", "oauth_app"], "What is revoked now")),
    ]})
}

fn fault() -> Value {
    obj(
        &["effects"],
        vec![
            ("name", s("Shown in the journal and the admin API")),
            ("match", matcher()),
            (
                "when",
                obj(
                    &[],
                    vec![
                        ("first", n("Only the first N matching requests")),
                        ("nth", n("Only the Nth matching request")),
                        ("after", n("Every matching request after the first N")),
                        (
                            "probability",
                            json!({"type": "number", "minimum": 0, "maximum": 1, "description": "Seeded chance per matching request"}),
                        ),
                        ("from", time("Not before this virtual time")),
                        ("until", time("Only before this virtual time")),
                        ("times", n("Fire at most this many times")),
                    ],
                ),
            ),
            ("effects", list(effect(), "Applied in a fixed order")),
        ],
    )
}

fn expectation() -> Value {
    obj(
        &[],
        vec![
            ("name", s("How the check is shown")),
            ("requests", matcher()),
            ("bi_event", s("Accepted bi-events with this eventName")),
            ("count", n("Exactly this many")),
            ("min", n("At least this many")),
            ("max", n("At most this many")),
        ],
    )
}

/// The whole schema.
pub fn scenario_schema() -> Value {
    let app = obj(
        &["id", "name", "secret", "app_url"],
        vec![
            ("id", guid("App id (client_id)")),
            ("name", s("Display name")),
            ("secret", s("App secret (client_secret)")),
            ("app_url", s("App URL, gets ?token=")),
            (
                "redirect_urls",
                list(s("URL"), "Registered redirect URLs, exact match"),
            ),
            ("scopes", list(s("Scope"), "Permission scopes")),
            (
                "consent",
                one_of(&["auto", "page"], "Overrides the scenario's consent"),
            ),
            ("version", s("appVersion")),
            (
                "webhook_url",
                s("Where AppInstalled / AppRemoved webhooks are POSTed"),
            ),
            (
                "webhook_private_key",
                s("RSA private key (PEM) signing the webhooks; from the seed when absent"),
            ),
            ("webhook_key_id", s("kid of the webhook JWTs")),
        ],
    );
    let event = obj(
        &["event_type", "app"],
        vec![
            ("event_type", s("eventType, e.g. AppInstalled")),
            ("app", guid("An app declared under apps")),
            (
                "after",
                one_of(&["start", "AppInstalled", "AppRemoved"], "When to emit it"),
            ),
            ("instance_id", guid("The instance it concerns")),
            ("data", json!({"description": "The event's data object"})),
            (
                "identity",
                json!({"description": "The event's identity object"}),
            ),
        ],
    );
    let webhooks = obj(
        &[],
        vec![
            ("timeout_ms", n("Per attempt")),
            ("max_attempts", n("Attempts before giving up")),
            ("backoff_ms", n("First retry delay; doubles")),
            (
                "on_start",
                b("Send AppInstalled for the declared installs at start"),
            ),
            ("events", list(event, "Further events to emit")),
            (
                "faults",
                list(
                    obj(
                        &[],
                        vec![
                            ("event_type", s("Only deliveries of this eventType")),
                            ("delay_ms", n("Real-time wait before the first attempt")),
                            ("duplicates", n("Extra copies sent right after")),
                            ("hold", b("Park until POST /__admin/webhooks/release")),
                            (
                                "times",
                                n("How many deliveries it applies to (0 counts as 1)"),
                            ),
                        ],
                    ),
                    "Delivery faults armed at start and after every reset",
                ),
            ),
        ],
    );
    let install = obj(
        &["app", "instance_id"],
        vec![
            ("app", guid("An app declared under apps")),
            ("instance_id", guid("Instance id")),
            (
                "setup_complete",
                b("Already sent APP_FINISHED_CONFIGURATION"),
            ),
            (
                "refresh_token",
                s("A refresh token that works from the start"),
            ),
        ],
    );
    let site = obj(
        &["id", "name"],
        vec![
            ("id", guid("Site id")),
            ("name", s("siteDisplayName")),
            ("url", s("Published URL")),
            ("owner_email", s("Owner e-mail")),
            ("locale", s("Locale")),
            ("currency", s("Payment currency")),
            ("installs", list(install, "Apps installed at start")),
            (
                "users",
                list(
                    obj(
                        &["id"],
                        vec![
                            ("id", guid("Wix user id")),
                            ("email", s("E-mail")),
                            ("role", s("Role, e.g. OWNER or BACK_OFFICE_MANAGER")),
                            (
                                "scopes",
                                list(s("Scope"), "The role's scopes; every scope when absent"),
                            ),
                        ],
                    ),
                    "Wix users of the site (tokens on their behalf intersect scopes)",
                ),
            ),
            (
                "members",
                list(
                    obj(
                        &["id", "email"],
                        vec![
                            ("id", guid("Member id")),
                            ("email", s("Login e-mail")),
                            (
                                "password",
                                s("Password (stored hashed); any password logs in when absent"),
                            ),
                            ("nickname", s("Nickname")),
                            ("first_name", s("Profile first name")),
                            ("last_name", s("Profile last name")),
                            (
                                "status",
                                one_of(
                                    &["APPROVED", "PENDING", "BLOCKED"],
                                    "APPROVED logs in; PENDING waits for the owner; BLOCKED never logs in",
                                ),
                            ),
                            (
                                "email_verified",
                                b("Whether the e-mail is verified (true when absent)"),
                            ),
                        ],
                    ),
                    "Site members who log in to Headless clients",
                ),
            ),
            (
                "member_policy",
                obj(
                    &[],
                    vec![
                        (
                            "signup",
                            one_of(&["open", "owner_approval"], "Who may join through register"),
                        ),
                        (
                            "verify_email_on_signup",
                            b("A new member types an e-mailed code before logging in"),
                        ),
                        (
                            "verify_email_on_login",
                            b(
                                "A member whose e-mail is not verified types an e-mailed code at login",
                            ),
                        ),
                        (
                            "captcha_token",
                            s(
                                "When set, register and login need a captcha token, and only this one is valid",
                            ),
                        ),
                        (
                            "max_wrong_passwords",
                            json!({"type": "integer", "minimum": 1, "description": "Wrong passwords in a row before a reset is required (5 when absent)"}),
                        ),
                    ],
                ),
            ),
        ],
    );
    let api_key = obj(
        &["key", "account_id"],
        vec![
            ("key", s("The key, sent raw in Authorization")),
            ("account_id", guid("The owning account (wix-account-id)")),
            ("site_id", guid("The one site the key acts on")),
            ("scopes", list(s("Scope"), "What the key may do")),
        ],
    );
    let oauth_app = obj(
        &["id", "name"],
        vec![
            ("id", guid("clientId")),
            ("name", s("2 to 256 characters")),
            ("description", s("Description")),
            ("secret", s("A secret known to tests")),
            ("site", guid("Its site; the first when absent")),
            ("login_url", s("loginUrl")),
            ("logout_url", s("logoutUrl")),
            (
                "allowed_redirect_uris",
                list(s("URI"), "Exact redirect URIs"),
            ),
            (
                "allowed_redirect_domains",
                list(s("Domain"), "Redirect domains"),
            ),
            ("application_type", s("applicationType")),
            ("technology", s("technology")),
            ("created_date", time("createdDate")),
        ],
    );
    let mut schema = obj(
        &[],
        vec![
            ("name", s("Short name")),
            ("description", s("What the scenario is for")),
            ("seed", n("Seed of the random generator")),
            (
                "clock",
                obj(
                    &[],
                    vec![
                        ("start", time("Where the virtual clock starts")),
                        ("frozen", b("Whether it stands still")),
                    ],
                ),
            ),
            (
                "ttl",
                obj(
                    &[],
                    vec![
                        ("code_secs", n("Authorization code")),
                        ("legacy_access_token_secs", n("/oauth/access token")),
                        ("access_token_secs", n("/oauth2/token token")),
                        ("install_token_secs", n("App Market token")),
                        ("consent_secs", n("Open consent page")),
                    ],
                ),
            ),
            (
                "consent",
                one_of(&["auto", "page"], "How the installer asks"),
            ),
            ("apps", list(app, "Wix apps")),
            ("sites", list(site, "Wix sites")),
            ("oauth_apps", list(oauth_app, "Headless OAuth apps")),
            ("api_keys", list(api_key, "API keys")),
            ("webhooks", webhooks),
            (
                "member_login",
                one_of(
                    &["auto", "form"],
                    "How the member-login page logs members in",
                ),
            ),
            ("faults", list(fault(), "Faults armed at start")),
            (
                "expect",
                list(expectation(), "Checks of the conformance report"),
            ),
            ("stubs", list(stub(), "Stubs for the rest of wixapis.com")),
            (
                "stubs_dir",
                s("A folder of stub files, relative to the scenario file"),
            ),
        ],
    );
    schema["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
    // A URN, not a URL: the project has no public address to serve the file from yet. Editors find
    // the schema through the modeline of each shipped scenario (scenarios/schema.json), not `$id`.
    schema["$id"] = json!("urn:wix-oauth-mock:scenario");
    schema["title"] = json!("wix-oauth-mock scenario");
    schema
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;

    /// Every key the scenario types serialise must be in the schema, at every level we can reach.
    fn covered(value: &Value, schema: &Value, at: &str) {
        match value {
            Value::Object(map) => {
                let props = schema
                    .get("properties")
                    .unwrap_or_else(|| panic!("no properties in the schema at {at}"));
                for (k, v) in map {
                    let sub = props
                        .get(k)
                        .unwrap_or_else(|| panic!("`{at}.{k}` is missing from the schema"));
                    covered(v, sub, &format!("{at}.{k}"));
                }
            }
            Value::Array(items) => {
                for item in items {
                    covered(item, &schema["items"], &format!("{at}[]"));
                }
            }
            _ => {}
        }
    }

    #[test]
    fn the_schema_covers_every_key_of_the_shipped_scenarios() {
        let schema = scenario_schema();
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "yaml") {
                let scenario = Scenario::from_file(&path).unwrap();
                let mut value = serde_json::to_value(&scenario).unwrap();
                // Effects are `oneOf`; they are checked by their own names below.
                if let Some(faults) = value.get_mut("faults").and_then(Value::as_array_mut) {
                    for f in faults {
                        f.as_object_mut().unwrap().remove("effects");
                    }
                }
                // Stub bodies, query and header maps hold any keys: their schema is open.
                if let Some(stubs) = value.get_mut("stubs").and_then(Value::as_array_mut) {
                    for s in stubs {
                        let o = s.as_object_mut().unwrap();
                        if let Some(r) = o.get_mut("response") {
                            r.as_object_mut().unwrap().remove("body");
                        }
                        if let Some(rs) = o.get_mut("responses").and_then(Value::as_array_mut) {
                            rs.iter_mut().for_each(|r| {
                                r.as_object_mut().unwrap().remove("body");
                            });
                        }
                    }
                }
                covered(&value, &schema, &path.display().to_string());
            }
        }
        let names: Vec<&str> =
            schema["properties"]["faults"]["items"]["properties"]["effects"]["items"]["oneOf"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v["required"][0].as_str().unwrap())
                .collect();
        assert_eq!(
            names,
            ["delay", "error", "drop", "expire", "state", "revoke"]
        );
    }
}
