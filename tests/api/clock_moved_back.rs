//! Issue 18: a token used after the clock moved back before its `iat` did not exist yet, so it is
//! refused everywhere and token-info calls it inactive.

use serde_json::json;
use warp::http::StatusCode;

use crate::helpers::*;

async fn set_clock(app: &TestApp, at: &str) {
    let res = app.post_json("/__admin/clock", &json!({ "set": at })).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
}

#[tokio::test]
async fn regression_18_an_access_token_is_refused_once_the_clock_moves_back_before_its_iat() {
    // Arrange: a token issued at START, which works.
    let app = spawn_app();
    let token = app.app_token().await;
    assert_eq!(
        app.bi_event(&token, "APP_DASHBOARD_LOADED").await.status,
        StatusCode::OK
    );
    // Act: the clock goes back one minute, to before the token was issued.
    set_clock(&app, "2025-12-31T23:59:00Z").await;
    let res = app.bi_event(&token, "APP_DASHBOARD_LOADED").await;
    let info = app.token_info(&token).await;
    // Assert
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.text());
    assert_eq!(
        res.json()["details"]["applicationError"]["code"],
        "INVALID_TOKEN"
    );
    assert_eq!(info.status, StatusCode::OK, "{}", info.text());
    assert_eq!(info.json()["active"], false);
    // Back at (or after) its iat, it works again: nothing was revoked.
    set_clock(&app, START).await;
    assert_eq!(
        app.bi_event(&token, "APP_DASHBOARD_LOADED").await.status,
        StatusCode::OK
    );
    assert_eq!(app.token_info(&token).await.json()["active"], true);
}

#[tokio::test]
async fn regression_18_a_headless_refresh_token_is_refused_before_its_iat() {
    // Arrange
    let app = spawn_app();
    let (_, refresh) = app
        .mint(&json!({"identity": "visitor", "client_id": CLIENT_ID}))
        .await;
    let refresh = refresh.expect("a visitor refresh token");
    // Act
    set_clock(&app, "2025-12-31T23:00:00Z").await;
    let res = app
        .oauth2_token(
            &json!({"clientId": CLIENT_ID, "grantType": "refresh_token", "refreshToken": refresh}),
        )
        .await;
    let info = app.token_info(&refresh).await;
    // Assert
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text());
    assert_eq!(res.json()["error"], "invalid_grant");
    assert_eq!(info.json()["active"], false);
}
