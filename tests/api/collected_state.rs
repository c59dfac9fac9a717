//! Issue 18, state that only grew: expired redirect sessions, codes and dead grants are collected on
//! the virtual clock, so neither the memory nor the state file keeps them.

use serde_json::json;
use warp::http::StatusCode;

use crate::helpers::*;

const SDK_PATH: &str = "/_api/redirects-api/v1/redirect-session";

async fn open_login_session(app: &TestApp) -> StatusCode {
    let token = app
        .mint(&json!({"identity": "visitor", "client_id": CLIENT_ID}))
        .await
        .0;
    let body = json!({"auth": {"authRequest": {
        "redirectUri": CLIENT_REDIRECT, "clientId": CLIENT_ID, "codeChallenge": PKCE_CHALLENGE,
        "codeChallengeMethod": "S256", "responseMode": "query", "responseType": "code",
    }}});
    app.post_json_with_token(SDK_PATH, &token, &body)
        .await
        .status
}

#[tokio::test]
async fn regression_18_abandoned_login_sessions_and_codes_leave_the_state_file() {
    // Arrange: 200 login sessions nobody finishes, and 20 installer codes nobody exchanges.
    let app = spawn_app();
    for _ in 0..200 {
        assert_eq!(open_login_session(&app).await, StatusCode::OK);
    }
    for _ in 0..20 {
        app.install().await;
    }
    let before = app.app.capture_state();
    assert_eq!(before.world.redirect_sessions.len(), 200);
    assert_eq!(before.world.codes.len(), 20);
    // Act: a day later (virtual), one more of each.
    app.advance_clock(86_400).await;
    assert_eq!(open_login_session(&app).await, StatusCode::OK);
    app.install().await;
    // Assert
    let after = app.app.capture_state();
    assert_eq!(after.world.redirect_sessions.len(), 1);
    assert_eq!(after.world.codes.len(), 1);
}

#[tokio::test]
async fn regression_18_an_uninstalled_instances_refresh_token_stays_dead_after_a_reinstall() {
    // Arrange: the demo instance's refresh token works, then the app is uninstalled.
    let app = spawn_app();
    assert_eq!(app.refresh(REFRESH_TOKEN).await.status, StatusCode::OK);
    let res = app
        .post_json(
            &format!("/__admin/instances/{INSTANCE_ID}/uninstall"),
            &json!({}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    // Act: the site owner installs the app again; the instance id comes back.
    let res = app
        .get(&format!(
            "/app-market/install?appId={APP_ID}&siteId={SITE_ID}"
        ))
        .await;
    let token = res.location_query()["token"].clone();
    let res = app.get(&app.install_path(None, Some(&token))).await;
    assert_eq!(res.location_query()["instanceId"], INSTANCE_ID);
    // Assert: the refresh token issued before the uninstall does not come back to life.
    let refreshed = app.refresh(REFRESH_TOKEN).await;
    assert_eq!(
        refreshed.status,
        StatusCode::BAD_REQUEST,
        "{}",
        refreshed.text()
    );
    assert_eq!(refreshed.json()["error"], "invalid_grant");
    assert!(
        !app.app
            .capture_state()
            .world
            .refresh_tokens
            .contains_key(REFRESH_TOKEN)
    );
}

#[tokio::test]
async fn regression_18_a_server_nobody_calls_still_saves_a_state_file_without_expired_entries() {
    // Arrange: 50 abandoned login sessions and 5 unexchanged codes.
    let app = spawn_app();
    for _ in 0..50 {
        assert_eq!(open_login_session(&app).await, StatusCode::OK);
    }
    for _ in 0..5 {
        app.install().await;
    }
    // Act: ten virtual days pass with no other request (moving the clock sweeps nothing).
    app.advance_clock(10 * 86_400).await;
    let saved = app.app.capture_state();
    // Assert: the file leaves out what the next sweep would collect.
    assert!(saved.world.redirect_sessions.is_empty());
    assert!(saved.world.codes.is_empty());
    assert!(saved.world.install_tokens.is_empty());
}
