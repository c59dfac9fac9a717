use serde_json::{Value, json};
use warp::http::StatusCode;

use crate::helpers::*;

fn redactions() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.add_redaction(".body.access_token", redact_prefixed("OauthNG.JWS."));
    settings.add_redaction(".body.refresh_token", redact_prefixed("OAUTH2."));
    settings
}

fn claim_redactions() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.add_redaction(".header.kid", "[kid]");
    settings.add_redaction(".claims.data.instance.siteOwnerId", "[site_owner_id]");
    settings.add_redaction(".claims.data.instance.aid", "[visitor_id]");
    settings
}

fn client_credentials() -> Value {
    json!({"grant_type": "client_credentials", "client_id": APP_ID, "client_secret": APP_SECRET, "instance_id": INSTANCE_ID})
}

#[tokio::test]
async fn client_credentials_for_an_instance_give_a_four_hour_bearer_token() {
    // Arrange
    let app = spawn_app();
    // Act
    let res = app.oauth2_token(&client_credentials()).await;
    // Assert
    redactions().bind(|| insta::assert_json_snapshot!("oauth2__client_credentials", snap(&res)));
    let token = res.json()["access_token"].as_str().unwrap().to_string();
    claim_redactions().bind(|| {
        insta::assert_json_snapshot!("oauth2__client_credentials_claims", decode_claims(&token))
    });
}

#[tokio::test]
async fn an_app_token_expires_after_14400_seconds_on_the_virtual_clock() {
    // Arrange
    let app = spawn_app();
    let token = app.app_token().await;
    let event = json!({"eventName": "APP_DASHBOARD_LOADED"});
    app.advance_clock(14_399).await;
    let still_valid = app
        .post_json_with_token("/apps/v1/bi-event", &token, &event)
        .await;
    // Act
    app.advance_clock(2).await;
    let expired = app
        .post_json_with_token("/apps/v1/bi-event", &token, &event)
        .await;
    // Assert
    assert_eq!(still_valid.status, StatusCode::OK);
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        expired.json()["details"]["applicationError"]["code"],
        "TOKEN_EXPIRED"
    );
}

#[tokio::test]
async fn client_credentials_work_as_a_form_with_http_basic() {
    // Arrange
    let app = spawn_app();
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{APP_ID}:{APP_SECRET}"));
    // Act
    let res = app
        .send(
            warp::test::request()
                .method("POST")
                .path("/oauth2/token")
                .header("content-type", "application/x-www-form-urlencoded")
                .header("authorization", format!("Basic {basic}"))
                .body(format!(
                    "grant_type=client_credentials&instance_id={INSTANCE_ID}"
                )),
        )
        .await;
    // Assert
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["expires_in"], 14400);
}

#[tokio::test]
async fn client_credentials_errors_have_wix_statuses_and_both_dialects() {
    // Arrange
    let app = spawn_app();
    let other_site_install = app.install().await;
    let cases = [
        (
            "unknown_instance",
            json!({"grant_type": "client_credentials", "client_id": APP_ID, "client_secret": APP_SECRET, "instance_id": "00000000-0000-0000-0000-000000000000"}),
        ),
        (
            "wrong_secret",
            json!({"grant_type": "client_credentials", "client_id": APP_ID, "client_secret": "nope", "instance_id": INSTANCE_ID}),
        ),
        (
            "unknown_client",
            json!({"grant_type": "client_credentials", "client_id": "11111111-2222-4333-8444-555555555555", "client_secret": "x", "instance_id": INSTANCE_ID}),
        ),
        (
            "missing_instance",
            json!({"grant_type": "client_credentials", "client_id": APP_ID, "client_secret": APP_SECRET}),
        ),
        (
            "oauth_app_with_an_instance",
            json!({"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "instance_id": other_site_install.instance_id}),
        ),
    ];
    for (name, body) in cases {
        // Act
        let res = app.oauth2_token(&body).await;
        // Assert
        insta::assert_json_snapshot!(format!("oauth2__cc_error_{name}"), snap(&res));
    }
}

#[tokio::test]
async fn an_uninstalled_instance_gets_no_token_and_its_tokens_stop_working() {
    // Arrange
    let app = spawn_app();
    let token = app.app_token().await;
    app.app.uninstall(INSTANCE_ID).unwrap();
    // Act
    let res = app.oauth2_token(&client_credentials()).await;
    let info = app.token_info(&token).await;
    // Assert
    assert_eq!(res.status, StatusCode::NOT_FOUND, "{}", res.text());
    assert_eq!(info.json(), json!({"active": false}));
}

#[tokio::test]
async fn client_credentials_of_an_oauth_app_without_an_instance_give_a_headless_admin_token() {
    // Arrange
    let app = spawn_app();
    // Act
    let res = app
        .oauth2_token(&json!({"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}))
        .await;
    // Assert
    redactions().bind(|| insta::assert_json_snapshot!("oauth2__headless_admin", snap(&res)));
    let token = res.json()["access_token"].as_str().unwrap().to_string();
    let caller = app
        .app
        .with_world(|w, now, _| w.authorize(Some(&token), now))
        .unwrap();
    caller
        .require_scope(&["SCOPE.OAUTH_APP.MANAGE"])
        .expect("an admin token manages OAuth apps");
    caller
        .require_scope(&["SCOPE.OAUTH_APP.READ"])
        .expect("an admin token reads OAuth apps");
    assert_eq!(caller.site_id, SITE_ID);
    let wrong = app
        .oauth2_token(&json!({"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": "nope"}))
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_anonymous_grant_gives_visitor_tokens_without_a_secret() {
    // Arrange
    let app = spawn_app();
    // Act
    let res = app
        .oauth2_token(&json!({"clientId": CLIENT_ID, "grantType": "anonymous"}))
        .await;
    // Assert
    redactions().bind(|| insta::assert_json_snapshot!("oauth2__anonymous", snap(&res)));
    let token = res.json()["access_token"].as_str().unwrap().to_string();
    claim_redactions()
        .bind(|| insta::assert_json_snapshot!("oauth2__visitor_claims", decode_claims(&token)));
}

#[tokio::test]
async fn refreshing_a_visitor_gives_a_new_access_token_and_keeps_the_refresh_token() {
    // Arrange
    let app = spawn_app();
    let visitor = app
        .oauth2_token(&json!({"clientId": CLIENT_ID, "grantType": "anonymous"}))
        .await
        .json();
    let refresh = visitor["refresh_token"].as_str().unwrap();
    app.advance_clock(14_401).await;
    // Act
    let res = app
        .oauth2_token(
            &json!({"clientId": CLIENT_ID, "grantType": "refresh_token", "refreshToken": refresh}),
        )
        .await;
    let again = app
        .oauth2_token(
            &json!({"clientId": CLIENT_ID, "grantType": "refresh_token", "refreshToken": refresh}),
        )
        .await;
    // Assert
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let body = res.json();
    assert_eq!(body["refresh_token"], refresh);
    assert_ne!(body["access_token"], visitor["access_token"]);
    assert_eq!(
        again.status,
        StatusCode::OK,
        "the refresh token stays reusable"
    );
    let old = app
        .token_info(visitor["access_token"].as_str().unwrap())
        .await;
    assert_eq!(old.json()["active"], false);
    let new = app
        .token_info(body["access_token"].as_str().unwrap())
        .await
        .json();
    assert_eq!(
        new["subjectId"],
        app.token_info(refresh).await.json()["subjectId"]
    );
}

#[tokio::test]
async fn a_refresh_token_of_a_deleted_oauth_app_is_refused() {
    // Arrange
    let app = spawn_app();
    let visitor = app
        .oauth2_token(&json!({"clientId": CLIENT_ID, "grantType": "anonymous"}))
        .await
        .json();
    app.app.with_world(|w, _, _| w.revoke_oauth_app(CLIENT_ID));
    // Act
    let res = app
        .oauth2_token(
            &json!({"grantType": "refresh_token", "refreshToken": visitor["refresh_token"]}),
        )
        .await;
    // Assert
    insta::assert_json_snapshot!("oauth2__refresh_deleted_oauth_app", snap(&res));
    let info = app
        .token_info(visitor["access_token"].as_str().unwrap())
        .await;
    assert_eq!(info.json(), json!({"active": false}));
}

#[tokio::test]
async fn issue_16_a_bogus_refresh_token_for_a_headless_client_is_invalid_grant() {
    // Arrange: the client id names a Headless OAuth app, so no secret is needed and the token's
    // shape does not matter (before issue 16 this asked for `client_secret`).
    let app = spawn_app();
    // Act
    let bogus = app
        .oauth2_token(&json!({"clientId": CLIENT_ID, "grantType": "refresh_token", "refreshToken": "bogus-token"}))
        .await;
    let legacy = app
        .oauth2_token(&json!({"clientId": CLIENT_ID, "grantType": "refresh_token", "refreshToken": REFRESH_TOKEN}))
        .await;
    // Assert
    for res in [&bogus, &legacy] {
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text());
        assert_eq!(res.json()["error"], "invalid_grant", "{}", res.text());
    }
}

#[tokio::test]
async fn issue_16_a_refresh_for_an_unknown_client_id_is_invalid_client() {
    // Arrange
    let app = spawn_app();
    let visitor = app
        .oauth2_token(&json!({"clientId": CLIENT_ID, "grantType": "anonymous"}))
        .await
        .json();
    // Act
    let res = app
        .oauth2_token(&json!({"clientId": "no-such-client", "grantType": "refresh_token", "refreshToken": visitor["refresh_token"]}))
        .await;
    // Assert
    assert_eq!(res.json()["error"], "invalid_client", "{}", res.text());
}

#[tokio::test]
async fn issue_16_a_wix_app_refresh_without_its_secret_is_invalid_request() {
    // Arrange
    let app = spawn_app();
    // Act: a Wix app's id means a legacy refresh token, which needs the app's secret.
    let res = app
        .oauth2_token(
            &json!({"grant_type": "refresh_token", "client_id": APP_ID, "refresh_token": "bogus"}),
        )
        .await;
    // Assert
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text());
    assert_eq!(res.json()["error"], "invalid_request", "{}", res.text());
}

#[tokio::test]
async fn a_legacy_refresh_token_also_works_on_oauth2_token_with_the_app_credentials() {
    // Arrange
    let app = spawn_app();
    // Act
    let res = app
        .oauth2_token(&json!({"grant_type": "refresh_token", "client_id": APP_ID, "client_secret": APP_SECRET, "refresh_token": REFRESH_TOKEN}))
        .await;
    // Assert
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let body = res.json();
    assert_eq!(body["refresh_token"], REFRESH_TOKEN);
    assert_eq!(body["expires_in"], 14400);
}

#[tokio::test]
async fn strip_bound_session_identifies_the_app_from_the_token() {
    // Arrange
    let app = spawn_app();
    let bound = app.app_token().await;
    // Act
    let res = app
        .oauth2_token(&json!({"grant_type": "strip_bound_session", "client_secret": APP_SECRET, "access_token": bound}))
        .await;
    // Assert
    redactions().bind(|| insta::assert_json_snapshot!("oauth2__strip_bound_session", snap(&res)));
    // On a frozen clock the same instance gets a byte-identical token: tokens are pure functions
    // of their claims and the time, which is what keeps the mock deterministic.
    let token = res.json()["access_token"].as_str().unwrap().to_string();
    let info = app.token_info(&token).await.json();
    assert_eq!(info["instanceId"], INSTANCE_ID);
}

#[tokio::test]
async fn strip_bound_session_refuses_a_wrong_secret_an_expired_token_and_a_visitor_token() {
    // Arrange
    let app = spawn_app();
    let bound = app.app_token().await;
    let (visitor, _) = app
        .mint(&json!({"identity": "visitor", "client_id": CLIENT_ID}))
        .await;
    // Act
    let wrong_secret = app
        .oauth2_token(&json!({"grant_type": "strip_bound_session", "client_secret": "nope", "access_token": bound}))
        .await;
    let of_visitor = app
        .oauth2_token(&json!({"grant_type": "strip_bound_session", "client_secret": APP_SECRET, "access_token": visitor}))
        .await;
    app.advance_clock(14_401).await;
    let expired = app
        .oauth2_token(&json!({"grant_type": "strip_bound_session", "client_secret": APP_SECRET, "access_token": bound}))
        .await;
    // Assert
    assert_eq!(wrong_secret.status, StatusCode::UNAUTHORIZED);
    assert_eq!(of_visitor.status, StatusCode::BAD_REQUEST);
    insta::assert_json_snapshot!("oauth2__strip_bound_session_expired", snap(&expired));
}

#[tokio::test]
async fn authorized_client_gives_member_tokens_for_a_visitor_token_and_a_site_api_key() {
    // Arrange
    let app = spawn_app();
    let (visitor, _) = app
        .mint(&json!({"identity": "visitor", "client_id": CLIENT_ID}))
        .await;
    let body = json!({"grant_type": "authorized_client", "scope": "offline_access", "member_id": MEMBER_ID});
    let with_auth = |auth: String| {
        warp::test::request()
            .method("POST")
            .path("/oauth2/token")
            .header("content-type", "application/json")
            .header("authorization", auth)
            .body(body.to_string())
    };
    // Act
    let res = app.send(with_auth(format!("{visitor},{API_KEY}"))).await;
    let bad_key = app.send(with_auth(format!("{visitor},not-a-key"))).await;
    let no_key = app.send(with_auth(visitor.clone())).await;
    // Assert
    redactions().bind(|| insta::assert_json_snapshot!("oauth2__authorized_client", snap(&res)));
    let member = app
        .token_info(res.json()["access_token"].as_str().unwrap())
        .await
        .json();
    assert_eq!(member["subjectType"], "MEMBER");
    assert_eq!(member["subjectId"], MEMBER_ID);
    assert_eq!(bad_key.status, StatusCode::UNAUTHORIZED);
    assert_eq!(no_key.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bad_token_requests_get_rfc_6749_errors_and_never_a_500() {
    // Arrange
    let app = spawn_app();
    let cases = [
        ("missing_grant_type", json!({"client_id": CLIENT_ID})),
        (
            "unknown_grant_type",
            json!({"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "clientId": CLIENT_ID}),
        ),
        (
            "grant_type_of_wrong_type",
            json!({"grant_type": ["anonymous"], "clientId": CLIENT_ID}),
        ),
        (
            "anonymous_without_client",
            json!({"grantType": "anonymous"}),
        ),
        (
            "anonymous_unknown_client",
            json!({"grantType": "anonymous", "clientId": "11111111-2222-4333-8444-555555555555"}),
        ),
        (
            "anonymous_with_an_app_id",
            json!({"grantType": "anonymous", "clientId": APP_ID}),
        ),
        (
            "refresh_garbage",
            json!({"grantType": "refresh_token", "clientId": CLIENT_ID, "refreshToken": "OAUTH2.VREFRESH.garbage"}),
        ),
        (
            "grant_type_wrong_case",
            json!({"grant_type": "ANONYMOUS", "clientId": CLIENT_ID}),
        ),
    ];
    for (name, body) in cases {
        // Act
        let res = app.oauth2_token(&body).await;
        // Assert
        insta::assert_json_snapshot!(format!("oauth2__bad_{name}"), snap(&res));
    }
    let garbage = app.post_form("/oauth2/token", "%%%").await;
    assert_eq!(garbage.status, StatusCode::BAD_REQUEST);
    let wrong_method = app.get("/oauth2/token").await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
}

/// Two apps, each installed on its own site.
const TWO_APPS: &str = "
apps:
  - id: 5e2c9a6f-8a61-4b4f-9a43-0f3d2b1c7a10
    name: A
    secret: secret-a
    app_url: http://localhost:3000/a
  - id: 6f3d0b70-9b72-4c5f-8b54-1a4e3c2d8b21
    name: B
    secret: secret-b
    app_url: http://localhost:3000/b
sites:
  - id: 6354435d-e875-4113-8645-ccc901f07efd
    name: S
    installs:
      - app: 5e2c9a6f-8a61-4b4f-9a43-0f3d2b1c7a10
        instance_id: 54f783ac-8c25-4a73-9ebf-a1125f71c5e3
      - app: 6f3d0b70-9b72-4c5f-8b54-1a4e3c2d8b21
        instance_id: 7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d
";

#[tokio::test]
async fn client_credentials_for_an_instance_of_another_app_are_refused() {
    // Arrange
    let app = spawn_app_with(TWO_APPS);
    // Act
    let res = app
        .oauth2_token(&json!({"grant_type": "client_credentials", "client_id": APP_ID, "client_secret": "secret-a", "instance_id": "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"}))
        .await;
    // Assert
    insta::assert_json_snapshot!("oauth2__cc_error_instance_of_another_app", snap(&res));
}

#[tokio::test]
async fn a_wix_site_serves_the_same_oauth2_service_under_api_oauth2() {
    // Arrange: docs/fidelity.md F-46: on sites the OAuth2 gateway is `/_api/oauth2`.
    let app = spawn_app();
    // Act
    let token = app
        .post_json("/_api/oauth2/token", &client_credentials())
        .await;
    let access_token = token.json()["access_token"].as_str().unwrap().to_string();
    let info = app
        .post_json("/_api/oauth2/token-info", &json!({"token": access_token}))
        .await;
    let not_oauth2 = app
        .post_json("/_api/redirect-session/v1/redirect-session", &json!({}))
        .await;
    // Assert
    assert_eq!(token.status, StatusCode::OK, "{}", token.text());
    assert_eq!(token.json()["expires_in"], 14400);
    assert_eq!(info.json()["active"], true);
    assert_eq!(info.json()["instanceId"], INSTANCE_ID);
    assert_eq!(not_oauth2.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_token_fault_also_fires_on_the_site_path() {
    // Arrange
    let app = spawn_app();
    app.arm(
        "match: {endpoint: token}\nwhen: {first: 1}\neffects: [{error: {preset: unavailable}}]",
    )
    .await;
    // Act
    let first = app
        .post_json("/_api/oauth2/token", &client_credentials())
        .await;
    let second = app
        .post_json("/_api/oauth2/token", &client_credentials())
        .await;
    // Assert
    assert_eq!(first.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(second.status, StatusCode::OK);
}
