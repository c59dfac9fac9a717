//! The OAuth Apps API: every response shape, the query language, masks, one-time secrets, validation
//! and who may call it.

use serde_json::{Value, json};
use warp::http::StatusCode;

use crate::helpers::*;

const BASE: &str = "/oauth-app/v1/oauth-apps";
/// A second site, with its own OAuth app, to show a caller sees only its own site's apps.
const SITE_B: &str = "7d0c7e6e-1d4f-4a53-8b4e-2c9d7a1f0b21";
/// The scenario's pre-declared OAuth app on the demo site, with a known secret.
const FIXTURE_APP: &str = "0a4ceeaf-bc1a-46aa-9a26-b8f700fc63f5";
const FIXTURE_SECRET: &str = "fixture-oauth-secret";
const SITE_B_APP: &str = "9b1f3c2a-6d7e-4f80-9a1b-2c3d4e5f6a7b";
const READER_APP: &str = "11111111-2222-4333-8444-555555555555";
const NOBODY_APP: &str = "22222222-3333-4444-8555-666666666666";
const ACCOUNT: &str = "ae7886a5-e7a7-409c-83f1-11fe1c059b03";

/// Apps with each scope on the demo site, a manager on site B, fixtures and API keys.
const SCENARIO: &str = r#"
name: oauth-apps
apps:
  - id: 5e2c9a6f-8a61-4b4f-9a43-0f3d2b1c7a10
    name: Manager
    secret: mock-app-secret-0001
    app_url: http://localhost:3000/app
    scopes: [SCOPE.OAUTH_APP.MANAGE]
  - id: 11111111-2222-4333-8444-555555555555
    name: Reader
    secret: reader-secret
    app_url: http://localhost:3000/app
    scopes: [SCOPE.OAUTH_APP.READ]
  - id: 22222222-3333-4444-8555-666666666666
    name: Nobody
    secret: nobody-secret
    app_url: http://localhost:3000/app
    scopes: [SCOPE.DC-APPS.MANAGE-YOUR-APP]
sites:
  - id: 6354435d-e875-4113-8645-ccc901f07efd
    name: Demo
    installs:
      - app: 5e2c9a6f-8a61-4b4f-9a43-0f3d2b1c7a10
        instance_id: 54f783ac-8c25-4a73-9ebf-a1125f71c5e3
        refresh_token: RT-manager
      - app: 11111111-2222-4333-8444-555555555555
        instance_id: 64f783ac-8c25-4a73-9ebf-a1125f71c5e3
        refresh_token: RT-reader
      - app: 22222222-3333-4444-8555-666666666666
        instance_id: 74f783ac-8c25-4a73-9ebf-a1125f71c5e3
        refresh_token: RT-nobody
  - id: 7d0c7e6e-1d4f-4a53-8b4e-2c9d7a1f0b21
    name: Other
    installs:
      - app: 5e2c9a6f-8a61-4b4f-9a43-0f3d2b1c7a10
        instance_id: 84f783ac-8c25-4a73-9ebf-a1125f71c5e3
        refresh_token: RT-manager-b
oauth_apps:
  - id: 0a4ceeaf-bc1a-46aa-9a26-b8f700fc63f5
    name: Fixture Client
    secret: fixture-oauth-secret
    application_type: WEB_APP
    technology: REACT
  - id: 9b1f3c2a-6d7e-4f80-9a1b-2c3d4e5f6a7b
    name: Site B Client
    site: 7d0c7e6e-1d4f-4a53-8b4e-2c9d7a1f0b21
api_keys:
  - key: IST.manage-key
    account_id: ae7886a5-e7a7-409c-83f1-11fe1c059b03
    scopes: [SCOPE.OAUTH_APP.MANAGE]
  - key: IST.site-bound-read-key
    account_id: ae7886a5-e7a7-409c-83f1-11fe1c059b03
    site_id: 6354435d-e875-4113-8645-ccc901f07efd
    scopes: [SCOPE.OAUTH_APP.READ]
  - key: IST.no-scope-key
    account_id: ae7886a5-e7a7-409c-83f1-11fe1c059b03
    scopes: []
"#;

// ---- Helpers ---------------------------------------------------------------------------------------

/// An access token of `app_id` for the instance holding `refresh_token` (legacy refresh grant).
async fn token(app: &TestApp, app_id: &str, secret: &str, refresh_token: &str) -> String {
    let res = app
        .post_json(
            "/oauth/access",
            &json!({"grant_type": "refresh_token", "client_id": app_id, "client_secret": secret, "refresh_token": refresh_token}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    res.json()["access_token"].as_str().unwrap().to_string()
}

/// The scenario above, and a token holding SCOPE.OAUTH_APP.MANAGE on the demo site.
async fn manager() -> (TestApp, String) {
    let app = spawn_app_with(SCENARIO);
    let t = token(&app, APP_ID, APP_SECRET, "RT-manager").await;
    (app, t)
}

async fn call(app: &TestApp, method: &str, path: &str, token: &str, body: Option<&Value>) -> Resp {
    let mut req = warp::test::request()
        .method(method)
        .path(path)
        .header("authorization", token);
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    app.send(req).await
}

async fn create(app: &TestApp, token: &str, fields: Value) -> Value {
    let res = call(app, "POST", BASE, token, Some(&json!({"oAuthApp": fields}))).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    res.json()["oAuthApp"].clone()
}

async fn query(app: &TestApp, token: &str, q: Value) -> Resp {
    call(
        app,
        "POST",
        &format!("{BASE}/query"),
        token,
        Some(&json!({"query": q})),
    )
    .await
}

/// The ids of a query's answer, asserting it is 200.
async fn query_ids(app: &TestApp, token: &str, q: Value) -> Vec<String> {
    let res = query(app, token, q.clone()).await;
    assert_eq!(res.status, StatusCode::OK, "{q}: {}", res.text());
    ids_of(&res.json())
}

fn ids_of(body: &Value) -> Vec<String> {
    body["oAuthApps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect()
}

/// A redaction that replaces the (seeded, random) `id` inside a message, keeping the rest of it.
fn without(id: &str) -> insta::internals::Redaction {
    let id = id.to_string();
    insta::dynamic_redaction(move |value, _| {
        let text = value.as_str().unwrap_or_default();
        assert!(text.contains(&id), "{text} does not name {id}");
        text.replace(&id, "[guid]")
    })
}

fn field_violations(res: &Resp) -> Vec<(String, String)> {
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text());
    res.json()["details"]["validationError"]["fieldViolations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["field"].as_str().unwrap().to_string(),
                v["violatedRule"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

// ---- Create, get, delete ---------------------------------------------------------------------------

#[tokio::test]
async fn create_returns_the_app_with_every_default_and_its_secret_this_once() {
    // Arrange
    let (app, t) = manager().await;
    // Act
    let res = call(
        &app,
        "POST",
        BASE,
        &t,
        Some(&json!({"oAuthApp": {"name": "Test app", "description": "Some test app", "applicationType": "WEB_APP"}})),
    )
    .await;
    // Assert: fields in Wix's order on the wire (the snapshot below sorts them), secret last.
    let raw = res.text();
    assert!(raw.starts_with(r#"{"oAuthApp":{"id":""#), "{raw}");
    assert!(
        raw.contains(r#""wixPagesDomainsMappings":[],"secret":"oas_"#),
        "{raw}"
    );
    insta::assert_json_snapshot!("oauth_apps__create", snap(&res), {
        ".body.oAuthApp.id" => "[guid]",
        ".body.oAuthApp.secret" => redact_prefixed("oas_"),
    });
}

#[tokio::test]
async fn get_returns_the_app_without_its_secret_and_accepts_the_sdks_query_parameter() {
    // Arrange
    let (app, t) = manager().await;
    let created = create(&app, &t, json!({"name": "capture-app", "allowedRedirectUris": ["https://example.com/callback"], "allowedRedirectDomains": ["example.com"], "loginUrl": "https://example.com/login", "technology": "REACT"})).await;
    let id = created["id"].as_str().unwrap();
    // Act
    let res = call(
        &app,
        "GET",
        &format!("{BASE}/{id}?oAuthAppId={id}"),
        &t,
        None,
    )
    .await;
    // Assert
    assert!(res.json()["oAuthApp"].get("secret").is_none());
    insta::assert_json_snapshot!("oauth_apps__get", snap(&res), {".body.oAuthApp.id" => "[guid]"});
}

#[tokio::test]
async fn get_of_an_unknown_app_is_a_404_and_a_malformed_id_a_400() {
    // Arrange
    let (app, t) = manager().await;
    // Act
    let missing = call(&app, "GET", &format!("{BASE}/{NOBODY_APP}"), &t, None).await;
    let malformed = call(&app, "GET", &format!("{BASE}/not-a-guid"), &t, None).await;
    // Assert
    insta::assert_json_snapshot!("oauth_apps__get_not_found", snap(&missing));
    insta::assert_json_snapshot!("oauth_apps__get_malformed_id", snap(&malformed));
}

#[tokio::test]
async fn delete_answers_an_empty_object_and_the_app_is_gone_everywhere() {
    // Arrange
    let (app, t) = manager().await;
    let id = create(&app, &t, json!({"name": "doomed"})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Act
    let res = call(
        &app,
        "DELETE",
        &format!("{BASE}/{id}?oAuthAppId={id}"),
        &t,
        None,
    )
    .await;
    // Assert
    insta::assert_json_snapshot!("oauth_apps__delete", snap(&res));
    let again = call(&app, "GET", &format!("{BASE}/{id}"), &t, None).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(
        again.json()["details"]["applicationError"]["code"],
        "OAUTH_APP_NOT_FOUND"
    );
    assert!(!query_ids(&app, &t, json!({})).await.contains(&id));
    assert_eq!(
        call(&app, "DELETE", &format!("{BASE}/{id}"), &t, None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_deleted_app_can_no_longer_authenticate_as_a_client() {
    // Arrange: the fixture app's known secret works as a client credential.
    let (app, t) = manager().await;
    assert!(app.app.with_world(|w, _, _| {
        w.oauth_client(FIXTURE_APP)
            .is_ok_and(|c| c.secret_matches(FIXTURE_SECRET))
    }));
    // Act
    let res = call(&app, "DELETE", &format!("{BASE}/{FIXTURE_APP}"), &t, None).await;
    // Assert: the client lookup that /oauth2/token uses refuses the client id.
    assert_eq!(res.status, StatusCode::OK);
    assert!(
        app.app
            .with_world(|w, _, _| w.oauth_client(FIXTURE_APP).is_err())
    );
}

// ---- Secrets ---------------------------------------------------------------------------------------

#[tokio::test]
async fn generate_secret_works_once_then_is_refused_in_wix_envelope() {
    // Arrange
    let (app, t) = manager().await;
    let created = create(&app, &t, json!({"name": "one secret"})).await;
    let id = created["id"].as_str().unwrap();
    let first_secret = created["secret"].as_str().unwrap().to_string();
    let path = format!("{BASE}/{id}/generate-secret");
    // Act
    let first = call(&app, "POST", &path, &t, Some(&json!({"oAuthAppId": id}))).await;
    let second = call(&app, "POST", &path, &t, Some(&json!({"oAuthAppId": id}))).await;
    // Assert
    insta::assert_json_snapshot!("oauth_apps__generate_secret", snap(&first), {
        ".body.oAuthAppSecret" => redact_prefixed("oas_"),
    });
    insta::assert_json_snapshot!("oauth_apps__generate_secret_again", snap(&second), {
        ".body.message" => without(id), ".**.description" => without(id),
    });
    let got = call(&app, "GET", &format!("{BASE}/{id}"), &t, None)
        .await
        .json();
    assert_eq!(got["oAuthApp"]["allowSecretGeneration"], false);
    // The generated secret replaces the one returned on create (kept only as a digest).
    let generated = first.json()["oAuthAppSecret"].as_str().unwrap().to_string();
    app.app.with_world(|w, _, _| {
        let client = w.oauth_client(id).unwrap();
        assert!(client.secret_matches(&generated));
        assert!(!client.secret_matches(&first_secret));
    });
}

#[tokio::test]
async fn a_scenario_app_with_a_known_secret_cannot_generate_another() {
    // Arrange
    let (app, t) = manager().await;
    // Act
    let res = call(
        &app,
        "POST",
        &format!("{BASE}/{FIXTURE_APP}/generate-secret"),
        &t,
        None,
    )
    .await;
    // Assert
    assert_eq!(
        res.status,
        StatusCode::PRECONDITION_REQUIRED,
        "{}",
        res.text()
    );
    assert_eq!(
        res.json()["details"]["applicationError"]["code"],
        "SECRET_ALREADY_GENERATED"
    );
}

#[tokio::test]
async fn reading_a_secret_back_is_refused_because_secrets_are_shown_once() {
    // Arrange
    let (app, t) = manager().await;
    let id = create(&app, &t, json!({"name": "secretive"})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    call(
        &app,
        "POST",
        &format!("{BASE}/{id}/generate-secret"),
        &t,
        None,
    )
    .await;
    // Act
    let res = call(
        &app,
        "GET",
        &format!("{BASE}/{id}/secret?oAuthAppId={id}"),
        &t,
        None,
    )
    .await;
    let unknown = call(
        &app,
        "GET",
        &format!("{BASE}/{NOBODY_APP}/secret"),
        &t,
        None,
    )
    .await;
    // Assert
    insta::assert_json_snapshot!("oauth_apps__get_secret", snap(&res), {
        ".body.message" => without(&id), ".**.description" => without(&id),
    });
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn secrets_never_appear_in_the_journal_the_state_or_later_responses() {
    // Arrange
    let (app, t) = manager().await;
    let created = create(&app, &t, json!({"name": "leaky?"})).await;
    let id = created["id"].as_str().unwrap();
    let generated = call(
        &app,
        "POST",
        &format!("{BASE}/{id}/generate-secret"),
        &t,
        None,
    )
    .await
    .json()["oAuthAppSecret"]
        .as_str()
        .unwrap()
        .to_string();
    // Act
    let journal = app.get("/__admin/requests").await.text();
    let state = app.get("/__admin/state").await.text();
    let listed = query(&app, &t, json!({})).await.text();
    let got = call(&app, "GET", &format!("{BASE}/{id}"), &t, None)
        .await
        .text();
    // Assert
    for secret in [
        created["secret"].as_str().unwrap(),
        &generated,
        FIXTURE_SECRET,
    ] {
        for (what, text) in [
            ("journal", &journal),
            ("state", &state),
            ("query", &listed),
            ("get", &got),
        ] {
            assert!(!text.contains(secret), "secret leaked into the {what}");
        }
    }
}

// ---- Update ----------------------------------------------------------------------------------------

#[tokio::test]
async fn update_changes_only_the_masked_fields_in_every_mask_form() {
    // Arrange
    let (app, t) = manager().await;
    let id = create(
        &app,
        &t,
        json!({"name": "before", "description": "d0", "loginUrl": "https://a.example/login"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("{BASE}/{id}");
    let change = json!({"id": id, "name": "after", "description": "d1", "loginUrl": "https://b.example/login"});
    // Act: the SDK's comma string.
    let res = call(
        &app,
        "PATCH",
        &path,
        &t,
        Some(&json!({"oAuthApp": change, "mask": "name,description"})),
    )
    .await;
    // Assert
    insta::assert_json_snapshot!("oauth_apps__update", snap(&res), {".body.oAuthApp.id" => "[guid]"});
    // {paths: [...]} and {path: ...} work the same way.
    let res = call(&app, "PATCH", &path, &t, Some(&json!({"oAuthApp": {"loginUrl": "https://c.example/login", "name": "ignored"}, "mask": {"paths": ["loginUrl"]}}))).await;
    assert_eq!(
        res.json()["oAuthApp"]["loginUrl"],
        "https://c.example/login"
    );
    assert_eq!(res.json()["oAuthApp"]["name"], "after");
    let res = call(&app, "PATCH", &path, &t, Some(&json!({"oAuthApp": {"allowedRedirectDomains": ["example.com"]}, "mask": {"path": "allowedRedirectDomains"}}))).await;
    assert_eq!(
        res.json()["oAuthApp"]["allowedRedirectDomains"],
        json!(["example.com"])
    );
}

#[tokio::test]
async fn update_without_a_mask_changes_nothing() {
    // Arrange
    let (app, t) = manager().await;
    let before = call(&app, "GET", &format!("{BASE}/{FIXTURE_APP}"), &t, None)
        .await
        .json();
    // Act
    let res = call(
        &app,
        "PATCH",
        &format!("{BASE}/{FIXTURE_APP}"),
        &t,
        Some(&json!({"oAuthApp": {"name": "renamed"}})),
    )
    .await;
    // Assert
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.json(), before);
}

#[tokio::test]
async fn a_masked_field_left_out_of_the_body_is_cleared() {
    // Arrange
    let (app, t) = manager().await;
    let path = format!("{BASE}/{FIXTURE_APP}");
    // Act
    let res = call(
        &app,
        "PATCH",
        &path,
        &t,
        Some(&json!({"oAuthApp": {}, "mask": "description,technology"})),
    )
    .await;
    let nameless = call(
        &app,
        "PATCH",
        &path,
        &t,
        Some(&json!({"oAuthApp": {}, "mask": "name"})),
    )
    .await;
    // Assert
    assert_eq!(res.json()["oAuthApp"]["description"], "");
    assert_eq!(
        res.json()["oAuthApp"]["technology"],
        "OAUTH_TECHNOLOGY_UNSPECIFIED"
    );
    assert_eq!(
        field_violations(&nameless),
        [("oAuthApp.name".into(), "REQUIRED_FIELD".into())]
    );
}

#[tokio::test]
async fn read_only_or_unknown_fields_in_the_mask_are_a_validation_error() {
    // Arrange
    let (app, t) = manager().await;
    let path = format!("{BASE}/{FIXTURE_APP}");
    // Act
    let res = call(&app, "PATCH", &path, &t, Some(&json!({"oAuthApp": {"id": FIXTURE_APP, "name": "x2"}, "mask": "name,createdDate,secret,color"}))).await;
    // Assert
    insta::assert_json_snapshot!("oauth_apps__update_read_only_mask", snap(&res));
    let unchanged = call(&app, "GET", &path, &t, None).await.json();
    assert_eq!(unchanged["oAuthApp"]["name"], "Fixture Client");
}

#[tokio::test]
async fn update_validates_the_new_values_and_the_body_id() {
    // Arrange
    let (app, t) = manager().await;
    let path = format!("{BASE}/{FIXTURE_APP}");
    // Act
    let bad = call(
        &app,
        "PATCH",
        &path,
        &t,
        Some(&json!({"oAuthApp": {"name": "x", "technology": "COBOL"}, "mask": "name,technology"})),
    )
    .await;
    let other_id = call(
        &app,
        "PATCH",
        &path,
        &t,
        Some(&json!({"oAuthApp": {"id": SITE_B_APP, "name": "xy"}, "mask": "name"})),
    )
    .await;
    // Assert
    assert_eq!(
        field_violations(&bad),
        [
            ("oAuthApp.name".into(), "MIN_LENGTH".into()),
            ("oAuthApp.technology".into(), "INVALID_ENUM_VALUE".into())
        ]
    );
    assert_eq!(
        field_violations(&other_id),
        [("oAuthApp.id".into(), "OTHER".into())]
    );
}

// ---- Validation ------------------------------------------------------------------------------------

#[tokio::test]
async fn create_lists_every_violated_field() {
    // Arrange
    let (app, t) = manager().await;
    let uris: Vec<String> = (0..21)
        .map(|i| format!("https://example.com/cb/{i}"))
        .collect();
    let body = json!({"oAuthApp": {
        "name": "x",
        "loginUrl": "not a url",
        "logoutUrl": "ftp://example.com/out",
        "allowedRedirectUris": uris,
        "allowedRedirectDomains": ["example.com", "https://example.com/path"],
        "applicationType": "DESKTOP",
        "technology": "COBOL",
    }});
    // Act
    let res = call(&app, "POST", BASE, &t, Some(&body)).await;
    // Assert
    insta::assert_json_snapshot!("oauth_apps__create_invalid", snap(&res));
}

#[tokio::test]
async fn each_validation_rule_is_checked_on_its_own() {
    let (app, t) = manager().await;
    let long = "n".repeat(257);
    let cases = [
        (json!({}), "oAuthApp.name", "REQUIRED_FIELD"),
        (json!({"name": "a"}), "oAuthApp.name", "MIN_LENGTH"),
        (json!({"name": long}), "oAuthApp.name", "MAX_LENGTH"),
        (json!({"name": 42}), "oAuthApp.name", "INVALID_TYPE"),
        (
            json!({"name": "ok", "allowedRedirectUris": ["https://a.example/#frag"]}),
            "oAuthApp.allowedRedirectUris[0]",
            "FORMAT",
        ),
        (
            json!({"name": "ok", "allowedRedirectUris": ["relative/path"]}),
            "oAuthApp.allowedRedirectUris[0]",
            "FORMAT",
        ),
        (
            json!({"name": "ok", "allowedRedirectUris": ["javascript://localhost/%0aalert(1)"]}),
            "oAuthApp.allowedRedirectUris[0]",
            "FORMAT",
        ),
        (
            json!({"name": "ok", "allowedRedirectUris": ["https://user@a.example/cb"]}),
            "oAuthApp.allowedRedirectUris[0]",
            "FORMAT",
        ),
        (
            json!({"name": "ok", "allowedRedirectUris": "https://a.example/"}),
            "oAuthApp.allowedRedirectUris",
            "INVALID_TYPE",
        ),
        (
            json!({"name": "ok", "allowedRedirectDomains": (0..21).map(|i| format!("d{i}.example")).collect::<Vec<_>>()}),
            "oAuthApp.allowedRedirectDomains",
            "MAX_SIZE",
        ),
        (
            json!({"name": "ok", "allowedRedirectDomains": ["bad domain"]}),
            "oAuthApp.allowedRedirectDomains[0]",
            "FORMAT",
        ),
        (
            json!({"name": "ok", "loginUrl": "/login"}),
            "oAuthApp.loginUrl",
            "FORMAT",
        ),
        (
            json!({"name": "ok", "applicationType": "web_app"}),
            "oAuthApp.applicationType",
            "INVALID_ENUM_VALUE",
        ),
    ];
    for (fields, field, rule) in cases {
        // Act
        let res = call(&app, "POST", BASE, &t, Some(&json!({"oAuthApp": fields}))).await;
        // Assert
        assert_eq!(
            field_violations(&res),
            [(field.to_string(), rule.to_string())],
            "{fields}"
        );
    }
    // Boundaries that pass: 2 and 256 characters, 20 URIs, a reverse-domain scheme for mobile apps
    // (RFC 8252 §7.1; `myapp://` is refused, as the login redirect refuses it).
    let twenty: Vec<String> = (0..20)
        .map(|i| format!("com.example.app:/cb/{i}"))
        .collect();
    for fields in [
        json!({"name": "ab"}),
        json!({"name": "n".repeat(256), "allowedRedirectUris": twenty, "allowedRedirectDomains": ["localhost:3000"]}),
    ] {
        let res = call(&app, "POST", BASE, &t, Some(&json!({"oAuthApp": fields}))).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    }
}

#[tokio::test]
async fn unreadable_bodies_are_a_400_and_create_nothing() {
    let (app, t) = manager().await;
    for body in ["", "{", "[]", "\"x\"", "{\"oAuthApp\": []}"] {
        // Act
        let res = app
            .send(
                warp::test::request()
                    .method("POST")
                    .path(BASE)
                    .header("authorization", &t)
                    .body(body),
            )
            .await;
        // Assert
        assert_eq!(
            res.status,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            res.text()
        );
        assert!(res.json()["details"].is_object(), "{body}");
    }
    assert_eq!(query_ids(&app, &t, json!({})).await, [FIXTURE_APP]);
}

// ---- Query: filters --------------------------------------------------------------------------------

/// Five apps on the demo site, one virtual second apart: (name, applicationType, technology).
async fn five_apps(app: &TestApp, t: &str) -> Vec<Value> {
    let specs = [
        ("delta", "WEB_APP", "REACT"),
        ("alpha", "MOBILE", "IOS"),
        ("charlie", "WEB_APP", "VUE"),
        ("bravo", "OTHER", "OTHER_TECHNOLOGY"),
        ("echo", "MOBILE", "ANDROID"),
    ];
    let mut out = Vec::new();
    for (name, kind, tech) in specs {
        app.advance_clock(1).await;
        out.push(
            create(
                app,
                t,
                json!({"name": name, "applicationType": kind, "technology": tech}),
            )
            .await,
        );
    }
    out
}

fn names(body: &Value) -> Vec<String> {
    body["oAuthApps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_string())
        .collect()
}

async fn query_names(app: &TestApp, t: &str, q: Value) -> Vec<String> {
    let res = query(app, t, q.clone()).await;
    assert_eq!(res.status, StatusCode::OK, "{q}: {}", res.text());
    names(&res.json())
}

#[tokio::test]
async fn query_defaults_to_every_app_of_the_site_by_id_descending() {
    // Arrange
    let (app, t) = manager().await;
    five_apps(&app, &t).await;
    // Act
    let res = call(&app, "POST", &format!("{BASE}/query"), &t, Some(&json!({}))).await;
    // Assert
    let ids = ids_of(&res.json());
    let mut sorted = ids.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(ids, sorted);
    assert!(
        !ids.contains(&SITE_B_APP.to_string()),
        "another site's app is listed"
    );
    insta::assert_json_snapshot!("oauth_apps__query_default", snap(&res), {
        ".body.oAuthApps[].id" => "[guid]",
    });
}

#[tokio::test]
async fn every_filter_operator_selects_what_it_says() {
    // Arrange
    let (app, t) = manager().await;
    let apps = five_apps(&app, &t).await;
    let id = |i: usize| apps[i]["id"].as_str().unwrap().to_string();
    let date = |i: usize| apps[i]["createdDate"].as_str().unwrap().to_string();
    let sorted = |f: Value| json!({"filter": f, "sort": [{"fieldName": "name"}]});
    let cases = [
        (json!({"name": "alpha"}), vec!["alpha"]),
        (json!({"name": {"$eq": "alpha"}}), vec!["alpha"]),
        (json!({"id": id(2)}), vec!["charlie"]),
        (json!({"_id": {"$eq": id(2)}}), vec!["charlie"]),
        (
            json!({"_id": {"$in": [id(0), id(4), NOBODY_APP]}}),
            vec!["delta", "echo"],
        ),
        (
            json!({"applicationType": {"$ne": "WEB_APP"}, "name": {"$ne": "Fixture Client"}}),
            vec!["alpha", "bravo", "echo"],
        ),
        (
            json!({"technology": {"$in": ["IOS", "ANDROID"]}}),
            vec!["alpha", "echo"],
        ),
        (json!({"createdDate": date(1)}), vec!["alpha"]),
        (
            json!({"_createdDate": {"$in": [date(3), date(4)]}}),
            vec!["bravo", "echo"],
        ),
        (
            json!({"$and": [{"applicationType": "MOBILE"}, {"technology": "IOS"}]}),
            vec!["alpha"],
        ),
        (
            json!({"$or": [{"name": "bravo"}, {"technology": "VUE"}]}),
            vec!["bravo", "charlie"],
        ),
        (
            json!({"$not": {"applicationType": {"$in": ["WEB_APP", "MOBILE"]}}}),
            vec!["bravo"],
        ),
        (
            json!({"name": {"$exists": true}, "applicationType": "OTHER"}),
            vec!["bravo"],
        ),
        (json!({"name": {"$exists": false}}), vec![]),
        (json!({"name": null}), vec![]),
        (json!({"name": {"$in": []}}), vec![]),
    ];
    for (filter, expected) in cases {
        // Act
        let got = query_names(&app, &t, sorted(filter.clone())).await;
        // Assert
        assert_eq!(got, expected, "{filter}");
    }
}

#[tokio::test]
async fn unsupported_fields_operators_and_values_are_validation_errors_not_empty_results() {
    let (app, t) = manager().await;
    let cases = [
        (
            json!({"filter": {"description": "x"}}),
            "query.filter.description",
            "FIELD_NOT_ALLOWED",
        ),
        (
            json!({"filter": {"name": {"$startsWith": "a"}}}),
            "query.filter.name.$startsWith",
            "OTHER",
        ),
        (
            json!({"filter": {"$nor": []}}),
            "query.filter.$nor",
            "OTHER",
        ),
        (
            json!({"filter": {"name": {"$in": "alpha"}}}),
            "query.filter.name.$in",
            "INVALID_TYPE",
        ),
        (
            json!({"filter": {"name": 7}}),
            "query.filter.name",
            "INVALID_TYPE",
        ),
        (
            json!({"filter": {"createdDate": "yesterday"}}),
            "query.filter.createdDate",
            "FORMAT",
        ),
        (
            json!({"filter": {"$and": {"name": "a"}}}),
            "query.filter.$and",
            "INVALID_TYPE",
        ),
        (
            json!({"filter": "name = a"}),
            "query.filter",
            "INVALID_TYPE",
        ),
        (
            json!({"sort": [{"fieldName": "description"}]}),
            "query.sort[0].fieldName",
            "FIELD_NOT_ALLOWED",
        ),
        (
            json!({"sort": [{"fieldName": "name", "order": "UP"}]}),
            "query.sort[0].order",
            "INVALID_ENUM_VALUE",
        ),
        (
            json!({"sort": [{"fieldName": "name"}, {"fieldName": "id"}, {"fieldName": "technology"}, {"fieldName": "createdDate"}]}),
            "query.sort",
            "MAX_SIZE",
        ),
        (
            json!({"paging": {"limit": 101}}),
            "query.paging.limit",
            "MAX",
        ),
        (
            json!({"paging": {"limit": -1}}),
            "query.paging.limit",
            "MIN",
        ),
        (
            json!({"paging": {"offset": -5}}),
            "query.paging.offset",
            "MIN",
        ),
        (
            json!({"paging": {"limit": 5}, "cursorPaging": {"limit": 5}}),
            "query.cursorPaging",
            "ONE_OF_ALIGNMENT",
        ),
        (
            json!({"cursorPaging": {"cursor": "garbage!"}}),
            "query.cursorPaging.cursor",
            "FORMAT",
        ),
        (
            json!({"cursorPaging": {"limit": 500}}),
            "query.cursorPaging.limit",
            "MAX",
        ),
    ];
    for (q, field, rule) in cases {
        // Act
        let res = query(&app, &t, q.clone()).await;
        // Assert
        assert_eq!(
            field_violations(&res),
            [(field.to_string(), rule.to_string())],
            "{q}"
        );
    }
    let res = query(&app, &t, json!({"filter": {"name": {"$regex": "^a"}}})).await;
    insta::assert_json_snapshot!("oauth_apps__query_unsupported_operator", snap(&res));
}

// ---- Query: sort and offset paging -----------------------------------------------------------------

#[tokio::test]
async fn sort_orders_by_name_created_date_and_several_keys() {
    // Arrange
    let (app, t) = manager().await;
    five_apps(&app, &t).await;
    let mine = json!({"name": {"$ne": "Fixture Client"}});
    let sort = |s: Value| json!({"filter": mine, "sort": s});
    // Act + Assert
    assert_eq!(
        query_names(
            &app,
            &t,
            sort(json!([{"fieldName": "name", "order": "ASC"}]))
        )
        .await,
        ["alpha", "bravo", "charlie", "delta", "echo"]
    );
    assert_eq!(
        query_names(
            &app,
            &t,
            sort(json!([{"fieldName": "name", "order": "DESC"}]))
        )
        .await,
        ["echo", "delta", "charlie", "bravo", "alpha"]
    );
    assert_eq!(
        query_names(
            &app,
            &t,
            sort(json!([{"fieldName": "_createdDate", "order": "DESC"}]))
        )
        .await,
        ["echo", "bravo", "charlie", "alpha", "delta"]
    );
    assert_eq!(
        query_names(&app, &t, sort(json!([{"fieldName": "createdDate"}]))).await,
        ["delta", "alpha", "charlie", "bravo", "echo"]
    );
    assert_eq!(
        query_names(
            &app,
            &t,
            sort(json!([{"fieldName": "applicationType"}, {"fieldName": "name", "order": "DESC"}]))
        )
        .await,
        ["echo", "alpha", "bravo", "delta", "charlie"]
    );
}

#[tokio::test]
async fn offset_paging_reports_count_offset_total_and_walks_every_app_once() {
    // Arrange
    let (app, t) = manager().await;
    five_apps(&app, &t).await;
    let page = |offset: u64| json!({"sort": [{"fieldName": "name"}], "paging": {"limit": 2, "offset": offset}});
    // Act
    let first = query(&app, &t, page(0)).await;
    // Assert
    insta::assert_json_snapshot!(
        "oauth_apps__query_offset_page",
        first.json()["pagingMetadata"]
    );
    let mut seen = names(&first.json());
    for offset in [2, 4] {
        seen.extend(query_names(&app, &t, page(offset)).await);
    }
    assert_eq!(
        seen,
        [
            "Fixture Client",
            "alpha",
            "bravo",
            "charlie",
            "delta",
            "echo"
        ]
    );
    let beyond = query(&app, &t, page(10)).await.json();
    assert_eq!(beyond["oAuthApps"], json!([]));
    assert_eq!(
        beyond["pagingMetadata"],
        json!({"count": 0, "offset": 10, "total": 6, "tooManyToCount": false, "hasNext": false})
    );
}

#[tokio::test]
async fn the_default_page_is_50_and_the_largest_100() {
    // Arrange
    let (app, t) = manager().await;
    for i in 0..120 {
        create(&app, &t, json!({"name": format!("app {i:03}")})).await;
    }
    // Act
    let default = query(&app, &t, json!({})).await.json();
    let largest = query(&app, &t, json!({"paging": {"limit": 100}}))
        .await
        .json();
    let none = query(&app, &t, json!({"paging": {"limit": 0}}))
        .await
        .json();
    // Assert
    assert_eq!(
        default["pagingMetadata"],
        json!({"count": 50, "offset": 0, "total": 121, "tooManyToCount": false, "hasNext": true})
    );
    assert_eq!(largest["pagingMetadata"]["count"], 100);
    assert_eq!(
        none["pagingMetadata"],
        json!({"count": 0, "offset": 0, "total": 121, "tooManyToCount": false, "hasNext": true})
    );
}

// ---- Query: cursor paging --------------------------------------------------------------------------

async fn cursor_page(
    app: &TestApp,
    t: &str,
    q: Value,
) -> (Vec<String>, Option<String>, Option<String>) {
    let res = query(app, t, q.clone()).await;
    assert_eq!(res.status, StatusCode::OK, "{q}: {}", res.text());
    let body = res.json();
    let cursors = &body["pagingMetadata"]["cursors"];
    let s = |v: &Value| v.as_str().map(str::to_string);
    (names(&body), s(&cursors["next"]), s(&cursors["prev"]))
}

#[tokio::test]
async fn cursor_paging_goes_forward_and_back_with_opaque_cursors() {
    // Arrange
    let (app, t) = manager().await;
    five_apps(&app, &t).await;
    let first = json!({"cursorPaging": {"limit": 2}, "sort": [{"fieldName": "name"}], "filter": {"name": {"$ne": "Fixture Client"}}});
    // Act
    let res = query(&app, &t, first.clone()).await;
    // Assert
    insta::assert_json_snapshot!("oauth_apps__query_cursor_page", res.json()["pagingMetadata"], {
        ".cursors.next" => "[cursor]",
    });
    let (p1, next, prev) = cursor_page(&app, &t, first).await;
    assert_eq!(
        (p1.as_slice(), prev),
        (["alpha", "bravo"].map(String::from).as_slice(), None)
    );
    // Later pages send only the cursor (and a limit), as the SDK does.
    let (p2, next2, prev2) = cursor_page(
        &app,
        &t,
        json!({"cursorPaging": {"cursor": next.unwrap(), "limit": 2}}),
    )
    .await;
    assert_eq!(p2, ["charlie", "delta"]);
    let (p3, next3, _) = cursor_page(
        &app,
        &t,
        json!({"cursorPaging": {"cursor": next2.unwrap()}}),
    )
    .await;
    assert_eq!((p3, next3), (vec!["echo".to_string()], None));
    let (back, _, back_prev) = cursor_page(
        &app,
        &t,
        json!({"cursorPaging": {"cursor": prev2.unwrap(), "limit": 2}}),
    )
    .await;
    assert_eq!(
        (back, back_prev),
        (vec!["alpha".to_string(), "bravo".to_string()], None)
    );
}

#[tokio::test]
async fn a_cursor_round_trip_survives_a_changing_collection() {
    // Arrange: page 1 of the apps by name.
    let (app, t) = manager().await;
    let apps = five_apps(&app, &t).await;
    let (p1, next, _) = cursor_page(
        &app,
        &t,
        json!({"cursorPaging": {"limit": 2}, "sort": [{"fieldName": "name"}]}),
    )
    .await;
    assert_eq!(p1, ["Fixture Client", "alpha"]);
    // Act: between pages, delete one app of page 2, add one before the cursor and one after it.
    let charlie = apps[2]["id"].as_str().unwrap();
    call(&app, "DELETE", &format!("{BASE}/{charlie}"), &t, None).await;
    create(&app, &t, json!({"name": "Aardvark"})).await;
    create(&app, &t, json!({"name": "bz"})).await;
    let (p2, next2, prev2) = cursor_page(
        &app,
        &t,
        json!({"cursorPaging": {"cursor": next.unwrap(), "limit": 2}}),
    )
    .await;
    // Assert: no duplicate, no deleted app, the new app after the cursor appears in order.
    assert_eq!(p2, ["bravo", "bz"]);
    let (p3, next3, _) = cursor_page(
        &app,
        &t,
        json!({"cursorPaging": {"cursor": next2.unwrap(), "limit": 2}}),
    )
    .await;
    assert_eq!(
        (p3, next3),
        (vec!["delta".to_string(), "echo".to_string()], None)
    );
    // Going back now also shows the app added before the cursor.
    let (back, _, back_prev) = cursor_page(
        &app,
        &t,
        json!({"cursorPaging": {"cursor": prev2.unwrap(), "limit": 2}}),
    )
    .await;
    assert_eq!(back, ["Fixture Client", "alpha"]);
    assert!(back_prev.is_some(), "Aardvark is before the first page now");
}

#[tokio::test]
async fn a_cursor_cannot_be_combined_with_a_new_filter_or_sort() {
    // Arrange
    let (app, t) = manager().await;
    five_apps(&app, &t).await;
    let (_, next, _) = cursor_page(&app, &t, json!({"cursorPaging": {"limit": 2}})).await;
    // Act
    let res = query(
        &app,
        &t,
        json!({"cursorPaging": {"cursor": next.unwrap()}, "filter": {"name": "alpha"}}),
    )
    .await;
    // Assert
    assert_eq!(
        field_violations(&res),
        [("query.cursorPaging.cursor".into(), "OTHER".into())]
    );
}

// ---- Who may call ----------------------------------------------------------------------------------

#[tokio::test]
async fn a_missing_or_forged_token_is_401() {
    // Arrange
    let app = spawn_app_with(SCENARIO);
    // Act
    let missing = app.get(&format!("{BASE}/{FIXTURE_APP}")).await;
    let forged = call(
        &app,
        "POST",
        &format!("{BASE}/query"),
        "OauthNG.JWS.eyJhbGciOiJIUzI1NiJ9.e30.forged",
        Some(&json!({})),
    )
    .await;
    let unknown_key = call(
        &app,
        "GET",
        &format!("{BASE}/{FIXTURE_APP}"),
        "IST.not-a-key",
        None,
    )
    .await;
    // Assert
    insta::assert_json_snapshot!("oauth_apps__missing_token", snap(&missing));
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown_key.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_token_without_the_scope_is_403_and_read_scope_only_reads() {
    // Arrange
    let app = spawn_app_with(SCENARIO);
    let nobody = token(&app, NOBODY_APP, "nobody-secret", "RT-nobody").await;
    let reader = token(&app, READER_APP, "reader-secret", "RT-reader").await;
    let get = format!("{BASE}/{FIXTURE_APP}");
    // Act
    let denied = call(&app, "GET", &get, &nobody, None).await;
    // Assert
    insta::assert_json_snapshot!("oauth_apps__permission_denied", snap(&denied));
    assert_eq!(
        call(&app, "GET", &get, &reader, None).await.status,
        StatusCode::OK
    );
    assert_eq!(query(&app, &reader, json!({})).await.status, StatusCode::OK);
    for (method, path, body) in [
        (
            "POST",
            BASE.to_string(),
            Some(json!({"oAuthApp": {"name": "nope"}})),
        ),
        (
            "PATCH",
            get.clone(),
            Some(json!({"oAuthApp": {"name": "nope"}, "mask": "name"})),
        ),
        ("DELETE", get.clone(), None),
        ("POST", format!("{get}/generate-secret"), None),
        ("GET", format!("{get}/secret"), None),
    ] {
        let res = call(&app, method, &path, &reader, body.as_ref()).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{method} {path}");
    }
}

#[tokio::test]
async fn a_caller_sees_and_changes_only_the_apps_of_its_own_site() {
    // Arrange
    let app = spawn_app_with(SCENARIO);
    let site_a = token(&app, APP_ID, APP_SECRET, "RT-manager").await;
    let site_b = token(&app, APP_ID, APP_SECRET, "RT-manager-b").await;
    // Act
    let cross = call(&app, "GET", &format!("{BASE}/{SITE_B_APP}"), &site_a, None).await;
    let created_on_b = create(&app, &site_b, json!({"name": "b-side"})).await;
    // Assert
    assert_eq!(cross.status, StatusCode::NOT_FOUND);
    assert_eq!(
        call(
            &app,
            "DELETE",
            &format!("{BASE}/{SITE_B_APP}"),
            &site_a,
            None
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(query_ids(&app, &site_a, json!({})).await, [FIXTURE_APP]);
    let mut on_b = query_ids(&app, &site_b, json!({})).await;
    on_b.sort();
    let mut expected = vec![
        SITE_B_APP.to_string(),
        created_on_b["id"].as_str().unwrap().to_string(),
    ];
    expected.sort();
    assert_eq!(on_b, expected);
}

async fn with_key(
    app: &TestApp,
    method: &str,
    path: &str,
    key: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> Resp {
    let mut req = warp::test::request()
        .method(method)
        .path(path)
        .header("authorization", key);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    app.send(req).await
}

#[tokio::test]
async fn a_declared_api_key_with_site_and_account_headers_can_manage_apps() {
    // Arrange: the headers exactly as ApiKeyStrategy sends them (fixtures/sdk/25-api-key-get-oauth-app.json).
    let app = spawn_app_with(SCENARIO);
    let headers = [("wix-site-id", SITE_ID), ("wix-account-id", ACCOUNT)];
    // Act
    let created = with_key(
        &app,
        "POST",
        BASE,
        "IST.manage-key",
        &headers,
        Some(&json!({"oAuthApp": {"name": "by key"}})),
    )
    .await;
    let got = with_key(
        &app,
        "GET",
        &format!("{BASE}/{FIXTURE_APP}?oAuthAppId={FIXTURE_APP}"),
        "IST.manage-key",
        &headers,
        None,
    )
    .await;
    let on_b = with_key(
        &app,
        "GET",
        &format!("{BASE}/{SITE_B_APP}"),
        "IST.manage-key",
        &[("wix-site-id", SITE_B)],
        None,
    )
    .await;
    // Assert
    assert_eq!(created.status, StatusCode::OK, "{}", created.text());
    assert_eq!(got.status, StatusCode::OK, "{}", got.text());
    assert_eq!(
        on_b.status,
        StatusCode::OK,
        "an account key reaches any site it names"
    );
}

/// method, key, extra headers, body, expected status.
type KeyCase<'a> = (
    &'a str,
    &'a str,
    Vec<(&'a str, &'a str)>,
    Option<Value>,
    StatusCode,
);

#[tokio::test]
async fn an_api_key_is_refused_for_the_wrong_account_site_or_scope() {
    let app = spawn_app_with(SCENARIO);
    let get = format!("{BASE}/{FIXTURE_APP}");
    let other_account = "00000000-0000-4000-8000-000000000000";
    let cases: [KeyCase; 6] = [
        (
            "GET",
            "IST.manage-key",
            vec![("wix-site-id", SITE_ID), ("wix-account-id", other_account)],
            None,
            StatusCode::FORBIDDEN,
        ),
        (
            "GET",
            "IST.manage-key",
            vec![("wix-account-id", ACCOUNT)],
            None,
            StatusCode::BAD_REQUEST,
        ),
        (
            "GET",
            "IST.manage-key",
            vec![("wix-site-id", other_account)],
            None,
            StatusCode::FORBIDDEN,
        ),
        (
            "GET",
            "IST.site-bound-read-key",
            vec![("wix-site-id", SITE_B)],
            None,
            StatusCode::FORBIDDEN,
        ),
        (
            "PATCH",
            "IST.site-bound-read-key",
            vec![],
            Some(json!({"oAuthApp": {"name": "xy"}, "mask": "name"})),
            StatusCode::FORBIDDEN,
        ),
        (
            "GET",
            "IST.no-scope-key",
            vec![("wix-site-id", SITE_ID)],
            None,
            StatusCode::FORBIDDEN,
        ),
    ];
    for (method, key, headers, body, status) in cases {
        // Act
        let res = with_key(&app, method, &get, key, &headers, body.as_ref()).await;
        // Assert
        assert_eq!(
            res.status,
            status,
            "{method} with {key} {headers:?}: {}",
            res.text()
        );
    }
    // A site-bound key needs no wix-site-id header.
    let res = with_key(&app, "GET", &get, "IST.site-bound-read-key", &[], None).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
}

// ---- Scenario fixtures -----------------------------------------------------------------------------

#[tokio::test]
async fn scenario_oauth_apps_are_listed_in_the_admin_state_and_served_by_the_api() {
    // Arrange
    let (app, t) = manager().await;
    // Act
    let state = app.state().await;
    let got = call(&app, "GET", &format!("{BASE}/{FIXTURE_APP}"), &t, None).await;
    // Assert
    let listed: Vec<&str> = state["oauth_apps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [FIXTURE_APP, SITE_B_APP]);
    insta::assert_json_snapshot!("oauth_apps__scenario_fixture", got.json());
}

#[tokio::test]
async fn a_scenario_api_key_naming_an_undeclared_site_is_reported() {
    // Arrange
    let yaml = "api_keys:\n  - key: k\n    account_id: ae7886a5-e7a7-409c-83f1-11fe1c059b03\n    site_id: 6354435d-e875-4113-8645-ccc901f07efd\n";
    // Act
    let err = wix_oauth_mock::Scenario::parse(yaml, "s.yaml").unwrap_err();
    // Assert
    assert_eq!(
        (err.problems[0].line, err.problems[0].column),
        (4, 14),
        "{err}"
    );
    assert!(err.problems[0].message.contains("not declared"), "{err}");
}

#[tokio::test]
async fn a_hostile_query_body_is_a_400_never_a_crash() {
    // Arrange
    let (app, t) = manager().await;
    let mut deep = json!({"name": "x"});
    for _ in 0..40 {
        deep = json!({"$not": deep});
    }
    let path = format!("{BASE}/query");
    // Act
    let nested = query(&app, &t, json!({"filter": deep})).await;
    let garbled = app
        .send(
            warp::test::request()
                .method("POST")
                .path(&path)
                .header("authorization", &t)
                .body("{\"query\": {\"filter\": "),
        )
        .await;
    let not_object = call(&app, "POST", &path, &t, Some(&json!({"query": [1, 2]}))).await;
    // Assert
    assert_eq!(field_violations(&nested).len(), 1);
    assert_eq!(garbled.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        field_violations(&not_object),
        [("query".into(), "INVALID_TYPE".into())]
    );
}
