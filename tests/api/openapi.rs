//! Issue 17: the admin API's OpenAPI 3.1 description (`GET /__admin/openapi.json`) cannot drift from
//! the code. Every admin endpoint of the endpoint table is described; every operation, called with
//! its own example, answers its documented status with a body its schema accepts; and the npm
//! client (`clients/node/index.js`) calls only described operations with described body fields.

use std::collections::BTreeSet;

use serde_json::Value;
use wix_oauth_mock::endpoints::TABLE;

use crate::helpers::*;

/// The schema `reference` points at (`#/components/...`), or `schema` itself.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let pointer = r.strip_prefix('#').expect("local $ref");
            doc.pointer(pointer)
                .unwrap_or_else(|| panic!("unresolved $ref {r}"))
        }
        None => schema,
    }
}

/// The JSON-Schema subset the description uses: `type`, `const`, `enum`, `required`, `properties`,
/// `additionalProperties: false`, `items`, `oneOf`. Returns what does not match, by JSON path.
fn check(doc: &Value, schema: &Value, value: &Value, at: &str, problems: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    if let Some(options) = schema.get("oneOf").and_then(Value::as_array) {
        let fits = options.iter().any(|o| {
            let mut p = Vec::new();
            check(doc, o, value, at, &mut p);
            p.is_empty()
        });
        if !fits {
            problems.push(format!("{at}: fits none of oneOf"));
        }
        return;
    }
    if let Some(ty) = schema.get("type") {
        let types: Vec<&str> = match ty {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let actual = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        let ok = types
            .iter()
            .any(|t| *t == actual || (*t == "number" && actual == "integer"));
        if !ok {
            problems.push(format!("{at}: is {actual}, schema says {types:?}"));
            return;
        }
    }
    if let Some(c) = schema.get("const")
        && c != value
    {
        problems.push(format!("{at}: is {value}, schema says const {c}"));
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        problems.push(format!("{at}: {value} is not one of {options:?}"));
    }
    if let Value::Object(fields) = value {
        for name in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !fields.contains_key(name) {
                problems.push(format!("{at}: missing required `{name}`"));
            }
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        for (name, v) in fields {
            match properties.and_then(|p| p.get(name)) {
                Some(s) => check(doc, s, v, &format!("{at}.{name}"), problems),
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    problems.push(format!("{at}: `{name}` is not in the schema"));
                }
                None => {}
            }
        }
    }
    if let (Value::Array(items), Some(item)) = (value, schema.get("items")) {
        for (i, v) in items.iter().enumerate() {
            check(doc, item, v, &format!("{at}[{i}]"), problems);
        }
    }
}

async fn description() -> Value {
    let app = spawn_app();
    let res = app.get("/__admin/openapi.json").await;
    assert_eq!(res.status, 200, "{}", res.text());
    res.json()
}

#[tokio::test]
async fn every_admin_endpoint_is_described_once_with_its_path_parameters() {
    // Arrange
    let doc = description().await;

    // Act
    let mut ids = BTreeSet::new();
    let mut missing = Vec::new();
    for endpoint in TABLE.iter().filter(|e| e.is_admin()) {
        let path = endpoint.paths[0];
        let method = endpoint.method.as_str().to_ascii_lowercase();
        let Some(op) = doc["paths"][path].get(&method) else {
            missing.push(format!("{method} {path}"));
            continue;
        };
        assert!(
            ids.insert(op["operationId"].as_str().unwrap().to_string()),
            "operationId {} twice",
            op["operationId"]
        );
        for segment in path.split('/').filter(|s| s.starts_with('{')) {
            let name = segment.trim_matches(|c| c == '{' || c == '}');
            let declared = op["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["in"] == "path" && p["name"] == name);
            assert!(
                declared,
                "{method} {path}: path parameter {name} not declared"
            );
        }
    }

    // Assert
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(missing.is_empty(), "not described: {missing:?}");
    assert!(
        doc["paths"]
            .as_object()
            .unwrap()
            .keys()
            .all(|p| p.starts_with("/__admin/")),
        "only the admin API is described"
    );
}

/// A value for path parameter `name` that exists in the built-in scenario.
fn path_value(name: &str) -> &'static str {
    match name {
        "appId" => APP_ID,
        "instanceId" => INSTANCE_ID,
        "name" => "openapi-suite",
        "id" => "1",
        other => panic!("no sample value for path parameter {other}"),
    }
}

#[tokio::test]
async fn every_operation_called_with_its_example_answers_as_described() {
    // Arrange
    let doc = description().await;
    let mut problems = Vec::new();
    let mut called = 0;

    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            // Act: each call on a fresh mock, so none depends on another.
            let app = spawn_app();
            let concrete: String = path
                .split('/')
                .map(|s| {
                    if s.starts_with('{') {
                        path_value(s.trim_matches(|c| c == '{' || c == '}'))
                    } else {
                        s
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            let mut req = warp::test::request()
                .method(&method.to_ascii_uppercase())
                .path(&concrete);
            if let Some(example) = op.pointer("/requestBody/content/application~1json/example") {
                req = req
                    .header("content-type", "application/json")
                    .body(example.to_string());
            }
            let res = app.send(req).await;
            called += 1;

            // Assert
            let responses = op["responses"].as_object().unwrap();
            let status = res.status.as_u16().to_string();
            let documented = match responses.get(&status) {
                Some(r) => r,
                None => {
                    // A documented failure (e.g. redelivering a delivery that does not exist)
                    // must still be a Wix-style error.
                    let mut p = Vec::new();
                    if res.status.is_success() {
                        p.push(format!("undocumented success status {status}"));
                    } else if let Ok(body) = serde_json::from_slice::<Value>(&res.body) {
                        check(
                            &doc,
                            &responses["default"]["content"]["application/json"]["schema"],
                            &body,
                            "$",
                            &mut p,
                        );
                    } else {
                        p.push(format!("error {status} is not JSON"));
                    }
                    problems.extend(p.into_iter().map(|x| format!("{method} {path}: {x}")));
                    continue;
                }
            };
            let (media, content) = documented["content"]
                .as_object()
                .unwrap()
                .iter()
                .next()
                .unwrap();
            let content_type = res
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if !content_type.starts_with(media.as_str()) {
                problems.push(format!(
                    "{method} {path}: content-type {content_type}, documented {media}"
                ));
                continue;
            }
            if media == "application/json" {
                let body: Value = serde_json::from_slice(&res.body).unwrap();
                let mut p = Vec::new();
                check(&doc, &content["schema"], &body, "$", &mut p);
                problems.extend(p.into_iter().map(|x| format!("{method} {path}: {x}")));
            }
        }
    }

    assert_eq!(called, TABLE.iter().filter(|e| e.is_admin()).count());
    assert!(problems.is_empty(), "{problems:#?}");
}

#[tokio::test]
async fn the_npm_client_calls_only_described_operations_with_described_fields() {
    // Arrange
    let doc = description().await;
    let source = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/clients/node/index.js"
    ))
    .unwrap();

    // Act: every `this.#call('METHOD', '/__admin/…', { body: { field: … } })` of the client.
    let mut calls = Vec::new();
    for part in source.split("this.#call('").skip(1) {
        let method = part.split('\'').next().unwrap().to_ascii_lowercase();
        let path = part.split('\'').nth(2).unwrap().to_string();
        let fields: Vec<String> = part
            .split_once("body: {")
            .filter(|(before, _)| !before.contains(')'))
            .map(|(_, after)| {
                after
                    .split('}')
                    .next()
                    .unwrap()
                    .split(',')
                    .filter_map(|f| f.split(':').next())
                    .map(|f| f.trim().to_string())
                    .filter(|f| !f.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        calls.push((method, path, fields));
    }

    // Assert
    assert!(calls.len() >= 10, "found only {calls:?}");
    for (method, path, fields) in calls {
        let op = doc["paths"][&path].get(&method).unwrap_or_else(|| {
            panic!("the npm client calls {method} {path}, which is not described")
        });
        let schema = op
            .pointer("/requestBody/content/application~1json/schema")
            .map(|s| resolve(&doc, s));
        for field in fields {
            let described = schema
                .and_then(|s| s.get("properties"))
                .and_then(|p| p.get(&field))
                .is_some();
            assert!(
                described,
                "the npm client sends `{field}` to {method} {path}: not described"
            );
        }
    }
}
