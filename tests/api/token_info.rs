use serde_json::json;
use warp::http::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn token_info_describes_an_app_token_with_sdk_types() {
    // Arrange
    let app = spawn_app();
    let token = app.app_token().await;
    // Act
    let res = app.token_info(&token).await;
    // Assert: INFERRED types pinned here: `active` a boolean, `exp`/`iat` numbers (the SDK's types).
    insta::assert_json_snapshot!("token_info__app", snap(&res));
    let body = res.json();
    assert!(body["active"].is_boolean());
    assert!(body["exp"].is_i64());
    assert_eq!(
        body["exp"].as_i64().unwrap() - body["iat"].as_i64().unwrap(),
        14400
    );
}

#[tokio::test]
async fn token_info_reports_expired_unknown_and_garbled_tokens_as_inactive() {
    // Arrange
    let app = spawn_app();
    let token = app.app_token().await;
    app.advance_clock(14_401).await;
    for t in [
        token.as_str(),
        "OauthNG.JWS.garbage",
        "not-a-token",
        "OAUTH2.REFRESH.unknown",
    ] {
        // Act
        let res = app.token_info(t).await;
        // Assert
        assert_eq!(res.status, StatusCode::OK);
        assert_eq!(res.json(), json!({"active": false}), "{t}");
    }
}

#[tokio::test]
async fn token_info_accepts_a_legacy_refresh_token_and_answers_for_its_instance() {
    // Arrange
    let app = spawn_app();
    // Act
    let res = app.token_info(REFRESH_TOKEN).await;
    // Assert
    insta::assert_json_snapshot!("token_info__legacy_refresh_token", snap(&res));
}

#[tokio::test]
async fn token_info_names_visitors_members_and_users_as_subjects() {
    // Arrange
    let app = spawn_app();
    let (visitor, visitor_refresh) = app
        .mint(&json!({"identity": "visitor", "client_id": CLIENT_ID, "visitor_id": "0b9a8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d"}))
        .await;
    let (member, _) = app
        .mint(&json!({"identity": "member", "client_id": CLIENT_ID, "member_id": MEMBER_ID}))
        .await;
    let (user, _) = app
        .mint(&json!({"identity": "user", "instance_id": INSTANCE_ID, "user_id": EDITOR_USER_ID}))
        .await;
    // Act
    let infos = json!({
        "visitor": app.token_info(&visitor).await.json(),
        "visitor_refresh": app.token_info(&visitor_refresh.unwrap()).await.json(),
        "member": app.token_info(&member).await.json(),
        "user": app.token_info(&user).await.json(),
    });
    // Assert
    insta::assert_json_snapshot!("token_info__subjects", infos);
}

#[tokio::test]
async fn token_info_without_a_token_is_a_bad_request() {
    // Arrange
    let app = spawn_app();
    // Act
    let res = app.post_json("/oauth2/token-info", &json!({})).await;
    let alias = app
        .post_json("/oauth2/token_info", &json!({"token": "x"}))
        .await;
    // Assert
    insta::assert_json_snapshot!("token_info__missing_token", snap(&res));
    assert_eq!(alias.status, StatusCode::OK);
}

#[tokio::test]
async fn token_info_reads_the_encoded_instance_parameter_until_it_expires() {
    // Arrange: docs/fidelity.md F-29: token-info is the recommended way to decode an iframe's `instance`.
    let app = spawn_app();
    let path = format!("/__admin/instances/{INSTANCE_ID}/signed-instance");
    let owner = app.get(&path).await.json();
    let visitor = app.get(&format!("{path}?visitor=true")).await.json();
    let owner_instance = owner["instance"].as_str().unwrap();

    // Act
    let as_owner = app.token_info(owner_instance).await.json();
    let as_visitor = app
        .token_info(visitor["instance"].as_str().unwrap())
        .await
        .json();
    let forged = {
        use base64::Engine as _;
        use hmac::{Hmac, Mac};
        let (_, data) = owner_instance.split_once('.').unwrap();
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"not-the-app-secret").unwrap();
        mac.update(data.as_bytes());
        let signature =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{signature}.{data}")
    };
    let forged = app.token_info(&forged).await.json();
    app.advance_clock(4 * 3600).await;
    let expired = app.token_info(owner_instance).await.json();

    // Assert
    assert_eq!(as_owner["active"], true);
    assert_eq!(as_owner["subjectType"], "USER");
    assert_eq!(as_owner["subjectId"], owner["payload"]["uid"]);
    assert_eq!(as_owner["instanceId"], INSTANCE_ID);
    assert_eq!(as_owner["clientId"], APP_ID);
    assert_eq!(
        as_owner["exp"].as_i64().unwrap() - as_owner["iat"].as_i64().unwrap(),
        4 * 3600
    );
    assert_eq!(as_visitor["subjectType"], "VISITOR");
    assert_eq!(as_visitor["subjectId"], visitor["payload"]["aid"]);
    assert_eq!(forged, json!({"active": false}));
    assert_eq!(expired, json!({"active": false}));
}

#[tokio::test]
async fn token_info_reports_the_encoded_instance_of_an_uninstalled_app_as_inactive() {
    // Arrange
    let app = spawn_app();
    let signed = app
        .get(&format!("/__admin/instances/{INSTANCE_ID}/signed-instance"))
        .await
        .json();
    let instance = signed["instance"].as_str().unwrap();
    assert_eq!(app.token_info(instance).await.json()["active"], true);

    // Act
    let uninstall = app
        .post_json(
            &format!("/__admin/instances/{INSTANCE_ID}/uninstall"),
            &json!({}),
        )
        .await;

    // Assert
    assert_eq!(uninstall.status, StatusCode::OK, "{}", uninstall.text());
    assert_eq!(
        app.token_info(instance).await.json(),
        json!({"active": false})
    );
}
