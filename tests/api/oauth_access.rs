use serde_json::json;
use warp::http::StatusCode;

use crate::helpers::*;

fn token_redactions() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.add_redaction(".body.access_token", redact_prefixed("OauthNG.JWS."));
    settings.add_redaction(".body.refresh_token", redact_prefixed("OAUTH2.REFRESH."));
    settings
}

#[tokio::test]
async fn the_whole_legacy_flow_works_end_to_end() {
    // Arrange
    let app = spawn_app();
    let installed = app.install().await;
    // Act
    let res = app.exchange_code(&installed.code).await;
    // Assert
    token_redactions()
        .bind(|| insta::assert_json_snapshot!("oauth_access__code_exchange", snap(&res)));
    let body = res.json();
    let access = body["access_token"].as_str().unwrap();
    insta::assert_json_snapshot!("oauth_access__legacy_token_claims", decode_claims(access), {
        ".claims.data.instance.instanceId" => "[instance_id]",
        ".claims.data.instance.siteOwnerId" => "[site_owner_id]",
        ".claims.data.instance.metaSiteId" => "[site_id]",
        ".header.kid" => "[kid]",
    });
    let claims = decode_claims(access);
    assert_eq!(
        claims["claims"]["exp"].as_i64().unwrap() - claims["claims"]["iat"].as_i64().unwrap(),
        300
    );
    assert_eq!(
        claims["claims"]["data"]["instance"]["instanceId"],
        installed.instance_id.as_str()
    );

    let res = app
        .post_json_with_token(
            "/apps/v1/bi-event",
            access,
            &json!({"eventName": "APP_FINISHED_CONFIGURATION"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let res = app
        .get(&format!("/installer/close-window?access_token={access}"))
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let state = app.state().await;
    let instance = state["instances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["instance_id"] == installed.instance_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(instance["setup_complete"], true);
    assert!(instance["window_closed_at"].is_string());
}

#[tokio::test]
async fn the_trailing_slash_form_and_form_encoding_and_camel_case_all_work() {
    let app = spawn_app();
    let installed = app.install().await;
    let form = format!(
        "grant_type=authorization_code&client_id={APP_ID}&client_secret={APP_SECRET}&code={}",
        installed.code
    );
    let res = app.post_form("/oauth/access/", &form).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());

    let installed = app.install().await;
    let camel = json!({"grantType": "authorization_code", "clientId": APP_ID, "clientSecret": APP_SECRET, "code": installed.code});
    // No Content-Type at all, as an old Wix client sent it.
    let res = app
        .send(
            warp::test::request()
                .method("POST")
                .path("/oauth/access")
                .body(camel.to_string()),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
}

#[tokio::test]
async fn http_basic_client_authentication_is_accepted() {
    use base64::Engine as _;
    let app = spawn_app();
    let installed = app.install().await;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{APP_ID}:{APP_SECRET}"));
    let res = app
        .send(
            warp::test::request()
                .method("POST")
                .path("/oauth/access")
                .header("authorization", format!("Basic {basic}"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!(
                    "grant_type=authorization_code&code={}&redirect_uri={}",
                    installed.code, REDIRECT_URL
                )),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
}

#[tokio::test]
async fn a_code_can_be_exchanged_only_once() {
    // Arrange
    let app = spawn_app();
    let installed = app.install().await;
    assert_eq!(
        app.exchange_code(&installed.code).await.status,
        StatusCode::OK
    );
    // Act
    let res = app.exchange_code(&installed.code).await;
    // Assert
    insta::assert_json_snapshot!("oauth_access__code_reused", snap(&res));
}

#[tokio::test]
async fn a_code_expires_after_ten_minutes() {
    // Arrange
    let app = spawn_app();
    let installed = app.install().await;
    // Act
    app.advance_clock(601).await;
    let res = app.exchange_code(&installed.code).await;
    // Assert
    insta::assert_json_snapshot!("oauth_access__code_expired", snap(&res));
}

#[tokio::test]
async fn a_code_is_still_good_just_before_ten_minutes() {
    let app = spawn_app();
    let installed = app.install().await;
    app.advance_clock(599).await;
    assert_eq!(
        app.exchange_code(&installed.code).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_unknown_code_is_an_invalid_grant() {
    let app = spawn_app();
    let res = app.exchange_code("OAUTH2.CODE.made-up").await;
    insta::assert_json_snapshot!("oauth_access__code_unknown", snap(&res));
}

#[tokio::test]
async fn a_redirect_uri_other_than_the_codes_is_refused() {
    let app = spawn_app();
    let installed = app.install().await;
    let res = app
        .post_json(
            "/oauth/access",
            &json!({"grant_type": "authorization_code", "client_id": APP_ID, "client_secret": APP_SECRET,
                    "code": installed.code, "redirect_uri": "http://localhost:3000/other"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert_eq!(res.json()["error"], "invalid_grant");
}

#[tokio::test]
async fn a_wrong_secret_is_an_invalid_client() {
    // Arrange
    let app = spawn_app();
    let installed = app.install().await;
    // Act
    let res = app
        .post_json(
            "/oauth/access",
            &json!({"grant_type": "authorization_code", "client_id": APP_ID, "client_secret": "wrong", "code": installed.code}),
        )
        .await;
    // Assert
    insta::assert_json_snapshot!("oauth_access__wrong_secret", snap(&res));
    // The failed attempt did not burn the code.
    assert_eq!(
        app.exchange_code(&installed.code).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_unknown_app_is_an_invalid_client() {
    let app = spawn_app();
    let res = app
        .post_json(
            "/oauth/access",
            &json!({"grant_type": "refresh_token", "client_id": "00000000-0000-4000-8000-000000000000", "client_secret": "x", "refresh_token": REFRESH_TOKEN}),
        )
        .await;
    insta::assert_json_snapshot!("oauth_access__unknown_app", snap(&res));
}

#[tokio::test]
async fn the_access_token_expires_after_five_minutes_and_a_refresh_gives_a_new_one() {
    // Arrange
    let app = spawn_app();
    let (access, refresh, _) = app.installed_tokens().await;
    // Act: just before and just after expiry.
    app.advance_clock(299).await;
    let ok = app
        .post_json_with_token(
            "/apps/v1/bi-event",
            &access,
            &json!({"eventName": "APP_DASHBOARD_LOADED"}),
        )
        .await;
    app.advance_clock(2).await;
    let expired = app
        .post_json_with_token(
            "/apps/v1/bi-event",
            &access,
            &json!({"eventName": "APP_DASHBOARD_LOADED"}),
        )
        .await;
    let refreshed = app.refresh(&refresh).await;
    // Assert
    assert_eq!(ok.status, StatusCode::OK);
    insta::assert_json_snapshot!("bi_event__token_expired", snap(&expired));
    token_redactions()
        .bind(|| insta::assert_json_snapshot!("oauth_access__refresh", snap(&refreshed)));
    let body = refreshed.json();
    assert_eq!(
        body["refresh_token"],
        refresh.as_str(),
        "a refresh returns the same refresh token"
    );
    let fresh = body["access_token"].as_str().unwrap();
    assert_ne!(fresh, access);
    let res = app
        .post_json_with_token(
            "/apps/v1/bi-event",
            fresh,
            &json!({"eventName": "APP_DASHBOARD_LOADED"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
}

#[tokio::test]
async fn the_scenarios_refresh_token_works_from_the_start_and_keeps_working() {
    let app = spawn_app();
    for _ in 0..3 {
        let res = app.refresh(REFRESH_TOKEN).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
        assert_eq!(res.json()["refresh_token"], REFRESH_TOKEN);
        app.advance_clock(86_400).await;
    }
}

#[tokio::test]
async fn an_unknown_refresh_token_is_an_invalid_grant() {
    let app = spawn_app();
    let res = app.refresh("OAUTH2.REFRESH.nope").await;
    insta::assert_json_snapshot!("oauth_access__refresh_unknown", snap(&res));
}
