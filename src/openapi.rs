//! The OpenAPI 3.1 description of the admin API, served at `GET /__admin/openapi.json`.
//!
//! Built from the endpoint table ([`crate::endpoints::TABLE`]: paths, methods, summaries, path
//! parameters) plus, per admin endpoint, what the table does not know: query parameters, the request
//! body's schema with an example, and the answer's status and schema. `operation` matches every
//! [`Id`] without a wildcard, so a new admin endpoint does not compile until it is described here;
//! `tests/api/openapi.rs` calls every described operation with its example and checks the answer
//! against the schema, and checks the npm client (`clients/node`) only calls what is described.
//!
//! Schemas are written out rather than derived (no `schemars`): the admin DTOs are a dozen small
//! structs spread over `routes/admin`, and the test above keeps the two in step. The scenario and
//! fault schemas come from [`crate::schema`], which `scenarios/schema.json` is checked against.

use serde_json::{Map, Value, json};

use crate::endpoints::{Id, TABLE};

/// One admin operation's description beyond the endpoint table.
struct Op {
    /// Query parameters: name, JSON type, description.
    query: &'static [(&'static str, &'static str, &'static str)],
    /// The request body: schema and an example that the test posts.
    body: Option<(Value, Value)>,
    /// The success status.
    status: u16,
    /// The success answer's media type and schema.
    answer: (&'static str, Value),
    /// Other non-error answers: status, description, JSON schema.
    more: Vec<(u16, &'static str, Value)>,
}

fn op(status: u16, answer: Value) -> Op {
    Op {
        query: &[],
        body: None,
        status,
        answer: ("application/json", answer),
        more: Vec::new(),
    }
}

fn with_body(mut o: Op, schema: Value, example: Value) -> Op {
    o.body = Some((schema, example));
    o
}

fn with_query(mut o: Op, query: &'static [(&'static str, &'static str, &'static str)]) -> Op {
    o.query = query;
    o
}

/// An object schema with these required names and properties.
fn object(required: &[&str], properties: Value) -> Value {
    json!({"type": "object", "required": required, "properties": properties})
}

fn string() -> Value {
    json!({"type": "string"})
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn status_is(value: &str) -> Value {
    json!({"type": "string", "const": value})
}

fn list_of(key: &str, item: Value) -> Value {
    object(
        &["count", key],
        json!({"count": {"type": "integer"}, key: {"type": "array", "items": item}}),
    )
}

const JOURNAL_FILTER: &[(&str, &str, &str)] = &[
    ("path", "string", "Only requests to this path"),
    ("method", "string", "Only this method"),
    (
        "status",
        "string",
        "Only this status, or a class such as `4xx`",
    ),
    (
        "since",
        "string",
        "Only requests at or after this RFC 3339 virtual time",
    ),
    (
        "fault",
        "string",
        "Only requests a fault of this name answered",
    ),
    (
        "request_id",
        "string",
        "The request with this `x-wix-request-id`",
    ),
];

/// What the endpoint table does not say about admin endpoint `id`; `None` for Wix's own endpoints.
fn operation(id: Id) -> Option<Op> {
    use Id::*;
    let ok = || object(&["status"], json!({"status": string()}));
    Some(match id {
        AppMarketInstall
        | InstallerInstall
        | InstallerConsent
        | CloseWindow
        | OauthAccess
        | Oauth2Token
        | TokenInfo
        | AuthorizePage
        | AuthorizeForm
        | Logout
        | RedirectSession
        | BiEvent
        | AppInstance
        | OauthAppsCreate
        | OauthAppsQuery
        | OauthAppsGet
        | OauthAppsUpdate
        | OauthAppsDelete
        | OauthAppsGenerateSecret
        | OauthAppsSecret
        | MemberRegister
        | MemberLogin
        | MemberSignOn
        | MemberLogout
        | MemberChangePassword
        | VerificationVerify
        | VerificationResend
        | RecoverySendEmail
        | RecoveryActivationEmail
        | RecoveryRecover
        | ResetPasswordPage
        | ResetPasswordForm => {
            return None;
        }
        AdminHealth => op(
            200,
            object(
                &["status", "journal"],
                json!({
                    "status": status_is("ok"),
                    "journal": object(
                        &["bytes", "budget_bytes", "all_namespaces_bytes", "all_namespaces_budget_bytes"],
                        json!({
                            "bytes": {"type": "integer", "description": "Journal bytes this namespace holds (estimated)"},
                            "budget_bytes": {"type": "integer", "description": "What one namespace may hold (--journal-mib)"},
                            "all_namespaces_bytes": {"type": "integer"},
                            "all_namespaces_budget_bytes": {"type": "integer", "description": "--journal-total-mib"}
                        }),
                    )
                }),
            ),
        ),
        AdminReady => op(
            200,
            object(
                &["status", "scenario"],
                json!({"status": status_is("ready"), "scenario": string()}),
            ),
        ),
        AdminVersion => op(
            200,
            object(
                &["name", "version"],
                json!({"name": string(), "version": string()}),
            ),
        ),
        AdminOpenApi => op(
            200,
            object(
                &["openapi", "info", "paths"],
                json!({"openapi": string(), "info": {"type": "object"}, "paths": {"type": "object"}}),
            ),
        ),
        AdminClockGet => op(200, reference("Clock")),
        AdminClockSet => with_body(
            op(200, reference("Clock")),
            json!({
                "description": "Exactly one action.",
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "advance_secs": {"type": "integer", "description": "Move by this many seconds (negative moves back)"},
                    "set": {"type": "string", "format": "date-time", "description": "Jump to this time"},
                    "freeze": {"type": "boolean", "description": "true stops the clock, false lets it run"},
                    "resume": {"type": "boolean", "description": "true lets the clock run"}
                }
            }),
            json!({"advance_secs": 3600}),
        ),
        AdminReset => op(
            200,
            object(
                &["status", "clock"],
                json!({"status": status_is("reset"), "clock": reference("Clock")}),
            ),
        ),
        AdminScenarioGet => op(
            200,
            object(
                &["scenario", "origin"],
                json!({"scenario": reference("Scenario"), "origin": string()}),
            ),
        ),
        AdminScenarioPut => with_body(
            op(
                200,
                object(
                    &["status", "scenario", "clock"],
                    json!({"status": status_is("reloaded"), "scenario": string(), "clock": reference("Clock")}),
                ),
            ),
            reference("Scenario"),
            json!({"name": "from-openapi", "seed": 7}),
        ),
        AdminState => op(
            200,
            object(
                &["apps", "sites", "instances"],
                json!({
                    "apps": {"type": "array"},
                    "sites": {"type": "array"},
                    "instances": {"type": "array"}
                }),
            ),
        ),
        AdminRequestsList => with_query(
            op(200, list_of("requests", reference("JournalEntry"))),
            JOURNAL_FILTER,
        ),
        AdminOutbox => with_query(
            op(
                200,
                list_of(
                    "messages",
                    object(
                        &["id", "kind", "to", "member_id", "site_id", "created_at"],
                        json!({
                            "id": string(),
                            "kind": {"enum": ["VERIFICATION_CODE", "PASSWORD_RECOVERY", "ACTIVATION"]},
                            "to": string(),
                            "member_id": string(),
                            "site_id": string(),
                            "code": {"type": "string", "description": "The verification code (VERIFICATION_CODE)"},
                            "link": {"type": "string", "description": "The reset-password page (PASSWORD_RECOVERY, ACTIVATION)"},
                            "created_at": string()
                        }),
                    ),
                ),
            ),
            &[
                ("email", "string", "Only messages to this address"),
                (
                    "wait",
                    "integer",
                    "Milliseconds (at most 30000) to hold the answer until a message matches",
                ),
            ],
        ),
        AdminRequestsClear => op(200, ok()),
        AdminRequestsWait => with_body(
            Op {
                more: vec![(
                    408,
                    "Fewer matching requests than `count` at the timeout (`matched: false`)",
                    reference("WaitResult"),
                )],
                ..op(200, reference("WaitResult"))
            },
            json!({
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "path": string(), "method": string(), "status": string(),
                    "since": string(), "fault": string(),
                    "count": {"type": "integer", "minimum": 1, "default": 1},
                    "timeout_ms": {"type": "integer", "minimum": 0, "default": 5000,
                                   "description": "Real milliseconds; 408 with what there is at the timeout"}
                }
            }),
            json!({"path": "/oauth2/token", "timeout_ms": 1}),
        ),
        AdminConformance => with_query(
            op(
                200,
                object(
                    &["passed", "errors", "warnings", "violations", "expectations"],
                    json!({
                        "passed": {"type": "boolean"},
                        "errors": {"type": "integer"},
                        "warnings": {"type": "integer"},
                        "unlisted": {"type": "integer"},
                        "violations": {"type": "array"},
                        "expectations": {"type": "array"}
                    }),
                ),
            ),
            &[(
                "format",
                "string",
                "`text` for a plain-text report (what a failing test prints)",
            )],
        ),
        AdminFaultsArm => with_body(
            op(
                201,
                object(
                    &["armed"],
                    json!({"armed": {"type": "array", "items": string()}}),
                ),
            ),
            json!({"oneOf": [reference("Fault"), {"type": "array", "items": reference("Fault")}]}),
            json!({"name": "token-500", "match": {"endpoint": "token"}, "when": {"nth": 1}, "effects": [{"error": {"preset": "internal"}}]}),
        ),
        AdminFaultsList => op(
            200,
            object(&["faults"], json!({"faults": {"type": "array"}})),
        ),
        AdminFaultsClear => with_query(
            op(
                200,
                object(&["removed"], json!({"removed": {"type": "integer"}})),
            ),
            &[(
                "name",
                "string",
                "Disarm only the fault of this name (every fault when absent)",
            )],
        ),
        AdminFaultPresets => op(
            200,
            object(&["presets"], json!({"presets": {"type": "array"}})),
        ),
        AdminNamespacesList => op(
            200,
            object(
                &["namespaces", "limit"],
                json!({"namespaces": {"type": "array"}, "limit": {"type": "integer"}}),
            ),
        ),
        AdminNamespacesClear => op(
            200,
            object(
                &["status", "count"],
                json!({"status": status_is("deleted"), "count": {"type": "integer"}}),
            ),
        ),
        AdminNamespaceReset => op(
            200,
            object(
                &["status", "namespace", "clock"],
                json!({"status": status_is("reset"), "namespace": string(), "clock": reference("Clock")}),
            ),
        ),
        AdminNamespaceDelete => op(
            200,
            object(
                &["status", "namespace"],
                json!({"status": status_is("deleted"), "namespace": string()}),
            ),
        ),
        AdminTokens => with_body(
            op(
                200,
                object(
                    &["access_token", "token_type", "expires_in"],
                    json!({
                        "access_token": string(),
                        "refresh_token": string(),
                        "token_type": string(),
                        "expires_in": {"type": "integer"}
                    }),
                ),
            ),
            json!({
                "type": "object",
                "required": ["identity"],
                "additionalProperties": false,
                "properties": {
                    "identity": {"type": "string", "enum": ["app", "user", "visitor", "member", "api_key"]},
                    "instance_id": string(), "user_id": string(), "client_id": string(),
                    "member_id": string(), "visitor_id": string(),
                    "ttl_secs": {"type": "integer", "minimum": 1}
                }
            }),
            json!({"identity": "app", "instance_id": "54f783ac-8c25-4a73-9ebf-a1125f71c5e3"}),
        ),
        AdminUi => Op {
            answer: ("text/html", string()),
            ..op(200, Value::Null)
        },
        AdminUiScript => Op {
            answer: ("text/javascript", string()),
            ..op(200, Value::Null)
        },
        AdminUiStyle => Op {
            answer: ("text/css", string()),
            ..op(200, Value::Null)
        },
        AdminAppPublicKey => Op {
            answer: ("text/plain", string()),
            ..op(200, Value::Null)
        },
        AdminAppWebhookUrl => with_body(
            op(
                200,
                object(
                    &["appId", "webhookUrl"],
                    json!({"appId": string(), "webhookUrl": {"type": ["string", "null"]}}),
                ),
            ),
            object(&["url"], json!({"url": {"type": ["string", "null"]}})),
            json!({"url": null}),
        ),
        AdminWebhooksList => op(200, list_of("webhooks", json!({"type": "object"}))),
        AdminWebhooksClear => op(200, ok()),
        AdminWebhooksEmit => with_body(
            op(
                202,
                object(&["status"], json!({"status": status_is("queued")})),
            ),
            json!({
                "type": "object",
                "required": ["instance_id", "event_type"],
                "additionalProperties": false,
                "properties": {
                    "instance_id": string(),
                    "event_type": string(),
                    "data": {"type": "object", "description": "The event's data, sent as it is"},
                    "identity": {"type": "object", "description": "Who caused it (the site owner by default)"}
                }
            }),
            json!({"instance_id": "54f783ac-8c25-4a73-9ebf-a1125f71c5e3", "event_type": "PaidPlanPurchased"}),
        ),
        AdminWebhookFaultsArm => with_body(
            op(
                200,
                object(
                    &["status", "fault"],
                    json!({"status": status_is("armed"), "fault": {"type": "object"}}),
                ),
            ),
            json!({
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "event_type": string(),
                    "delay_ms": {"type": "integer", "minimum": 0},
                    "duplicates": {"type": "integer", "minimum": 0},
                    "hold": {"type": "boolean"},
                    "times": {"type": "integer", "minimum": 1}
                }
            }),
            json!({"event_type": "AppInstalled", "hold": true, "times": 1}),
        ),
        AdminWebhookFaultsClear => op(200, ok()),
        AdminWebhooksRelease => with_body(
            op(
                200,
                object(
                    &["released"],
                    json!({"released": {"type": "array", "items": {"type": "integer"},
                                        "description": "The released deliveries' ids, in the order sent"}}),
                ),
            ),
            json!({
                "type": "object",
                "additionalProperties": false,
                "properties": {"order": {"type": "string", "enum": ["in_order", "reversed"]}}
            }),
            json!({"order": "reversed"}),
        ),
        AdminWebhookRedeliver => op(202, json!({"type": "object"})),
        AdminInstanceUninstall => op(200, json!({"type": "object"})),
        AdminSignedInstance => with_query(
            op(
                200,
                object(
                    &["instance", "payload"],
                    json!({"instance": string(), "payload": {"type": "object"}}),
                ),
            ),
            &[
                ("uid", "string", "Sign it for this Wix user"),
                ("visitor", "boolean", "Sign it for an anonymous visitor"),
            ],
        ),
        AdminTlsCa => Op {
            answer: ("application/x-pem-file", string()),
            ..op(200, Value::Null)
        },
        AdminStubsList => op(
            200,
            object(
                &["count", "stubs", "states"],
                json!({
                    "count": {"type": "integer"},
                    "stubs": {"type": "array", "items": {"type": "object", "description": "A stub (see Stub) with `matched`"}},
                    "states": {"type": "object", "additionalProperties": string(), "description": "Scenario name → state"}
                }),
            ),
        ),
        AdminStubsAdd => with_body(
            op(
                201,
                object(
                    &["added"],
                    json!({"added": {"type": "array", "items": string()}}),
                ),
            ),
            json!({"oneOf": [
                reference("Stub"),
                {"type": "array", "items": reference("Stub")},
                object(&["stubs"], json!({"stubs": {"type": "array", "items": reference("Stub")}}))
            ], "description": "YAML or JSON (docs/stubs.md)"}),
            json!({"name": "ping", "request": {"method": "GET", "path": "/ping/v1"}, "auth": {"anonymous": true}, "response": {"body": {"pong": true}}}),
        ),
        AdminStubsClear => op(
            200,
            object(&["removed"], json!({"removed": {"type": "integer"}})),
        ),
        AdminStubsReset => op(
            200,
            object(
                &["stubs"],
                json!({"stubs": {"type": "integer", "description": "How many stubs the scenario has"}}),
            ),
        ),
        AdminStubGet => op(
            200,
            json!({"type": "object", "description": "A stub (see Stub) with `matched`"}),
        ),
        AdminStubDelete => op(200, object(&["removed"], json!({"removed": string()}))),
    })
}

/// The shared schemas the operations refer to.
fn components() -> Value {
    let scenario = {
        let mut s = crate::schema::scenario_schema();
        if let Some(map) = s.as_object_mut() {
            map.remove("$schema");
            map.remove("$id");
        }
        s
    };
    let fault = scenario["properties"]["faults"]["items"].clone();
    let stub = scenario["properties"]["stubs"]["items"].clone();
    json!({
        "schemas": {
            "Clock": object(&["now", "unix", "frozen"], json!({
                "now": {"type": "string", "format": "date-time", "description": "The virtual time"},
                "unix": {"type": "integer", "description": "The virtual time in Unix seconds"},
                "frozen": {"type": "boolean"}
            })),
            "JournalEntry": object(&["method", "path", "status"], json!({
                "method": string(), "path": string(), "status": {"type": "integer"}
            })),
            "WaitResult": object(&["matched", "count", "requests"], json!({
                "matched": {"type": "boolean"},
                "count": {"type": "integer"},
                "requests": {"type": "array", "items": reference("JournalEntry")}
            })),
            "Error": object(&["message", "details"], json!({
                "message": string(),
                "details": {"type": "object", "description": "`applicationError {code, description, data}` or `validationError {fieldViolations}`"}
            })),
            "Scenario": scenario,
            "Fault": fault,
            "Stub": stub,
        },
        "securitySchemes": {
            "adminToken": {
                "type": "http",
                "scheme": "bearer",
                "description": "Only when the server runs with `--admin-token`; `X-Wix-Mock-Admin-Token` works too. Health, ready and version never need it."
            }
        }
    })
}

/// `{name}` segments of a path template.
fn path_params(path: &str) -> impl Iterator<Item = &str> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
}

/// lowerCamel operation id from the endpoint's name, e.g. `AdminClockSet` → `clockSet`.
fn operation_id(id: Id) -> String {
    let name = format!("{id:?}");
    let name = name.strip_prefix("Admin").unwrap_or(&name);
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// The whole description, for `GET /__admin/openapi.json`.
pub fn admin_api() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for endpoint in TABLE.iter().filter(|e| e.is_admin()) {
        let Some(op) = operation(endpoint.id) else {
            continue;
        };
        let path = endpoint.paths[0];
        let mut parameters: Vec<Value> = path_params(path)
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": string()}))
            .collect();
        parameters.extend(op.query.iter().map(|(name, ty, description)| {
            json!({"name": name, "in": "query", "required": false,
                   "description": description, "schema": {"type": ty}})
        }));
        parameters.push(json!({"$ref": "#/components/parameters/Namespace"}));
        let mut operation = json!({
            "operationId": operation_id(endpoint.id),
            "summary": endpoint.summary,
            "parameters": parameters,
            "responses": {
                op.status.to_string(): {
                    "description": "Success",
                    "content": {op.answer.0: {"schema": op.answer.1}}
                },
                "default": {
                    "description": "A Wix-style error",
                    "content": {"application/json": {"schema": reference("Error")}}
                }
            }
        });
        for (status, description, schema) in op.more {
            operation["responses"][status.to_string()] = json!({
                "description": description,
                "content": {"application/json": {"schema": schema}}
            });
        }
        if let Some((schema, example)) = op.body {
            operation["requestBody"] = json!({
                "required": false,
                "content": {"application/json": {"schema": schema, "example": example}}
            });
        }
        let item = paths
            .entry(path.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        item[endpoint.method.as_str().to_ascii_lowercase()] = operation;
    }
    let mut components = components();
    components["parameters"] = json!({
        "Namespace": {
            "name": "X-Wix-Mock-Namespace", "in": "header", "required": false,
            "description": "Run against this namespace (or prefix the path with `/__ns/NAME`)",
            "schema": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"}
        }
    });
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "wix-oauth-mock admin API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Drives the mock from tests: clock, scenario, journal, faults, conformance, namespaces, tokens, webhooks. Field names are snake_case; their lowerCamel spelling is accepted too.",
            "license": {"name": "MIT OR Apache-2.0", "identifier": "MIT OR Apache-2.0"}
        },
        "servers": [{"url": "http://127.0.0.1:8787", "description": "`cargo run --release`"}],
        "security": [{}, {"adminToken": []}],
        "paths": paths,
        "components": components
    })
}
