use serde_json::json;
use warp::http::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn get_app_instance_returns_the_instance_and_site_from_the_scenario() {
    // Arrange
    let app = spawn_app();
    let token = app.app_token().await;
    // Act
    let res = app.get_with_token("/apps/v1/instance", &token).await;
    // Assert
    insta::assert_json_snapshot!("identities__app_instance", snap(&res));
}

#[tokio::test]
async fn a_users_token_carries_the_app_scopes_its_role_allows_and_is_denied_the_rest() {
    // Arrange
    let app = spawn_app();
    let (owner, _) = app
        .mint(&json!({"identity": "user", "instance_id": INSTANCE_ID, "user_id": OWNER_USER_ID}))
        .await;
    let (editor, _) = app
        .mint(&json!({"identity": "user", "instance_id": INSTANCE_ID, "user_id": EDITOR_USER_ID}))
        .await;
    // Act
    let as_owner = app.get_with_token("/apps/v1/instance", &owner).await;
    let as_editor = app.get_with_token("/apps/v1/instance", &editor).await;
    // Assert
    assert_eq!(as_owner.status, StatusCode::OK, "{}", as_owner.text());
    insta::assert_json_snapshot!("identities__permission_denied", snap(&as_editor));
    let info = app.token_info(&editor).await.json();
    assert_eq!(info["subjectType"], "USER");
    assert_eq!(info["scopes"], json!(["SCOPE.DC-STORES.MANAGE-PRODUCTS"]));
    let state = app.state().await;
    let editor_state = state["identities"]["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == EDITOR_USER_ID)
        .unwrap()
        .clone();
    assert_eq!(
        editor_state["scopes_by_app"][APP_ID],
        json!(["SCOPE.DC-STORES.MANAGE-PRODUCTS"])
    );
}

#[tokio::test]
async fn a_user_token_decodes_with_uid_and_the_intersected_permissions() {
    // Arrange
    let app = spawn_app();
    // Act
    let (editor, _) = app
        .mint(&json!({"identity": "user", "instance_id": INSTANCE_ID, "user_id": EDITOR_USER_ID}))
        .await;
    // Assert
    insta::assert_json_snapshot!("identities__user_claims", decode_claims(&editor), {
        ".header.kid" => "[kid]",
        ".claims.data.instance.siteOwnerId" => "[site_owner_id]",
    });
}

#[tokio::test]
async fn headless_tokens_cannot_read_the_app_instance() {
    // Arrange
    let app = spawn_app();
    let (admin, _) = app
        .mint(&json!({"identity": "headless_admin", "client_id": CLIENT_ID}))
        .await;
    let (visitor, _) = app
        .mint(&json!({"identity": "visitor", "client_id": CLIENT_ID}))
        .await;
    // Act
    let res = app.get_with_token("/apps/v1/instance", &admin).await;
    let as_visitor = app
        .get_with_token("/apps/v1/instance", &format!("Bearer {visitor}"))
        .await;
    // Assert
    insta::assert_json_snapshot!("identities__headless_instance_denied", snap(&res));
    assert_eq!(as_visitor.status, StatusCode::FORBIDDEN);
    let anonymous = app.get("/apps/v1/instance").await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn admin_tokens_honour_a_custom_ttl() {
    // Arrange
    let app = spawn_app();
    let res = app
        .post_json(
            "/__admin/tokens",
            &json!({"identity": "app", "instance_id": INSTANCE_ID, "ttl_secs": 60}),
        )
        .await;
    let token = res.json()["access_token"].as_str().unwrap().to_string();
    // Act
    app.advance_clock(59).await;
    let before = app.token_info(&token).await.json();
    app.advance_clock(1).await;
    let after = app.token_info(&token).await.json();
    // Assert
    insta::assert_json_snapshot!("identities__admin_token", snap(&res), {
        ".body.access_token" => redact_prefixed("OauthNG.JWS."),
    });
    assert_eq!(before["active"], true);
    assert_eq!(after["active"], false);
}

#[tokio::test]
async fn admin_token_requests_are_validated() {
    // Arrange
    let app = spawn_app();
    let cases = [
        ("unknown_identity", json!({"identity": "robot"})),
        (
            "missing_user",
            json!({"identity": "user", "instance_id": INSTANCE_ID}),
        ),
        (
            "user_of_another_site",
            json!({"identity": "user", "instance_id": INSTANCE_ID, "user_id": "11111111-2222-4333-8444-555555555555"}),
        ),
        (
            "unknown_instance",
            json!({"identity": "app", "instance_id": "00000000-0000-0000-0000-000000000000"}),
        ),
        (
            "unknown_client",
            json!({"identity": "visitor", "client_id": "11111111-2222-4333-8444-555555555555"}),
        ),
        (
            "unknown_member",
            json!({"identity": "member", "client_id": CLIENT_ID, "member_id": "11111111-2222-4333-8444-555555555555"}),
        ),
        (
            "zero_ttl",
            json!({"identity": "app", "instance_id": INSTANCE_ID, "ttl_secs": 0}),
        ),
        (
            "unknown_field",
            json!({"identity": "app", "instance": INSTANCE_ID}),
        ),
    ];
    for (name, body) in cases {
        // Act
        let res = app.post_json("/__admin/tokens", &body).await;
        // Assert
        insta::assert_json_snapshot!(format!("identities__admin_bad_{name}"), snap(&res));
    }
}

#[tokio::test]
async fn a_visitor_token_cannot_send_bi_events() {
    // Arrange
    let app = spawn_app();
    let (visitor, _) = app
        .mint(&json!({"identity": "visitor", "client_id": CLIENT_ID}))
        .await;
    // Act
    let res = app
        .post_json_with_token(
            "/apps/v1/bi-event",
            &visitor,
            &json!({"eventName": "APP_FINISHED_CONFIGURATION"}),
        )
        .await;
    // Assert
    insta::assert_json_snapshot!("identities__visitor_bi_event_denied", snap(&res));
}

#[tokio::test]
async fn a_declared_owner_user_is_the_sites_owner() {
    // Arrange
    let app = spawn_app();
    // Act
    let state = app.state().await;
    // Assert: webhooks, signed instances and tokens name the same owner the scenario declares.
    let site = state["sites"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == SITE_ID)
        .unwrap()
        .clone();
    assert_eq!(site["owner_id"], "1f0c2a7e-3b4d-4c5e-8f60-7a8b9c0d1e2f");
}
