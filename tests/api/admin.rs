use serde_json::json;
use warp::http::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn health_answers_ok() {
    let app = spawn_app();
    let res = app.get("/__admin/health").await;
    insta::assert_json_snapshot!("admin__health", snap(&res));
}

#[tokio::test]
async fn the_clock_can_be_read_advanced_set_frozen_and_resumed() {
    let app = spawn_app();
    insta::assert_json_snapshot!(
        "admin__clock_initial",
        app.get("/__admin/clock").await.json()
    );
    let res = app
        .post_json("/__admin/clock", &json!({"advance_secs": 3600}))
        .await;
    assert_eq!(res.json()["now"], "2026-01-01T01:00:00.000Z");
    let res = app
        .post_json("/__admin/clock", &json!({"set": "2030-06-01T12:00:00Z"}))
        .await;
    assert_eq!(res.json()["now"], "2030-06-01T12:00:00.000Z");
    assert_eq!(res.json()["unix"], 1_906_545_600);
    let res = app
        .post_json("/__admin/clock", &json!({"resume": true}))
        .await;
    assert_eq!(res.json()["frozen"], false);
    let res = app
        .post_json("/__admin/clock", &json!({"freeze": true}))
        .await;
    assert_eq!(res.json()["frozen"], true);
}

#[tokio::test]
async fn a_bad_clock_command_is_a_400_and_moves_nothing() {
    let app = spawn_app();
    for body in [
        json!({}),
        json!({"advance_secs": 1, "freeze": true}),
        json!({"advance": 5}),
        json!({"set": "yesterday"}),
    ] {
        let res = app.post_json("/__admin/clock", &body).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{body}");
    }
    assert_eq!(
        app.get("/__admin/clock").await.json()["now"],
        "2026-01-01T00:00:00.000Z"
    );
}

#[tokio::test]
async fn reset_restores_the_initial_state_clock_included() {
    // Arrange
    let app = spawn_app();
    let before = app.state().await;
    let (access, _, _) = app.installed_tokens().await;
    app.post_json_with_token(
        "/apps/v1/bi-event",
        &access,
        &json!({"eventName": "APP_FINISHED_CONFIGURATION"}),
    )
    .await;
    app.advance_clock(1000).await;
    assert_ne!(app.state().await, before);
    // Act
    let res = app
        .send(warp::test::request().method("POST").path("/__admin/reset"))
        .await;
    // Assert
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(app.state().await, before);
    assert_eq!(app.get("/__admin/requests").await.json()["count"], 0);
    // The seed restarts too, so the same flow yields the same values.
    let again = app.install().await;
    app.send(warp::test::request().method("POST").path("/__admin/reset"))
        .await;
    assert_eq!(app.install().await.code, again.code);
}

#[tokio::test]
async fn the_loaded_scenario_is_served_with_its_secrets() {
    let app = spawn_app();
    let res = app.get("/__admin/scenario").await;
    let body = res.json();
    assert_eq!(body["scenario"]["name"], "default");
    assert_eq!(body["scenario"]["apps"][0]["secret"], APP_SECRET);
    assert_eq!(body["scenario"]["ttl"]["code_secs"], 600);
}

#[tokio::test]
async fn the_state_lists_apps_instances_codes_and_tokens() {
    let app = spawn_app();
    let installed = app.install().await;
    let state = app.state().await;
    insta::assert_json_snapshot!("admin__state_after_install", state, {
        ".codes[].code" => "[code]",
        ".sites[].owner_id" => "[owner_id]",
        ".instances[].instance_id" => "[instance_id]",
        ".instances[].site_id" => "[site_id]",
        ".sites[].id" => "[site_id]",
        ".codes[].instance_id" => "[instance_id]",
    });
    assert_eq!(
        state["codes"][0]["instance_id"],
        installed.instance_id.as_str()
    );
    assert!(
        state["apps"][0].get("secret").is_none(),
        "the state does not list secrets"
    );
}

#[tokio::test]
async fn the_state_lists_each_live_access_token_with_its_app_and_instance() {
    let app = spawn_app();
    let app_token = app.app_token().await;
    let visitor = app
        .oauth2_token(&json!({"grant_type": "anonymous", "client_id": CLIENT_ID}))
        .await
        .json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let listed = app.state().await["access_tokens"].clone();
    let row = |token: &str| {
        let row = listed
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["access_token"] == token)
            .unwrap_or_else(|| panic!("{token} not in {listed:#}"));
        (
            row["kind"].clone(),
            row["app_id"].clone(),
            row["instance_id"].clone(),
        )
    };
    assert_eq!(
        row(&app_token),
        (
            json!("client_credentials"),
            json!(APP_ID),
            json!(INSTANCE_ID)
        )
    );
    // A Headless token belongs to the OAuth app, and to no app instance.
    assert_eq!(
        row(&visitor),
        (json!("visitor"), json!(CLIENT_ID), json!(""))
    );
}

#[tokio::test]
async fn every_grant_lists_its_access_token_with_the_kind_of_grant_that_minted_it() {
    // Arrange: the grants record their tokens outside the world's lock, each in its own App
    // operation; one left out would vanish from this list.
    let app = spawn_app();
    let (legacy_code, legacy_refresh, _) = app.installed_tokens().await;
    let refreshed = app.refresh(&legacy_refresh).await.json()["access_token"].clone();
    let app_token = app.app_token().await;
    let visitor = app
        .oauth2_token(&json!({"grant_type": "anonymous", "client_id": CLIENT_ID}))
        .await
        .json();
    let visitor_refreshed = app
        .oauth2_token(
            &json!({"grant_type": "refresh_token", "client_id": CLIENT_ID,
            "refresh_token": visitor["refresh_token"]}),
        )
        .await
        .json()["access_token"]
        .clone();
    let admin = app
        .oauth2_token(
            &json!({"grant_type": "client_credentials", "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET}),
        )
        .await
        .json()["access_token"]
        .clone();
    let (user, _) = app
        .mint(&json!({"identity": "user", "instance_id": INSTANCE_ID, "user_id": EDITOR_USER_ID}))
        .await;
    let (member, _) = app
        .mint(&json!({"identity": "member", "client_id": CLIENT_ID, "member_id": MEMBER_ID}))
        .await;
    // Act
    let listed = app.state().await["access_tokens"].clone();
    // Assert
    let kind = |token: &serde_json::Value| {
        listed
            .as_array()
            .unwrap()
            .iter()
            .find(|t| &t["access_token"] == token)
            .map(|t| t["kind"].clone())
            .unwrap_or_else(|| panic!("{token} not in {listed:#}"))
    };
    for (token, expected) in [
        (json!(legacy_code), "legacy"),
        (refreshed, "legacy"),
        (json!(app_token), "client_credentials"),
        (visitor["access_token"].clone(), "visitor"),
        (visitor_refreshed, "visitor"),
        (admin, "headless_admin"),
        (json!(user), "user"),
        (json!(member), "member"),
    ] {
        assert_eq!(kind(&token), expected);
    }
    assert_eq!(listed.as_array().unwrap().len(), 8);
}

#[tokio::test]
async fn the_journal_records_requests_with_secrets_redacted() {
    // Arrange
    let app = spawn_app();
    let installed = app.install().await;
    app.exchange_code(&installed.code).await;
    app.get("/installer/close-window?access_token=secret-token-value")
        .await;
    // Act
    let res = app.get("/__admin/requests").await;
    // Assert
    let text = res.text();
    assert!(!text.contains(APP_SECRET));
    assert!(!text.contains(&installed.code));
    assert!(!text.contains("secret-token-value"));
    insta::assert_json_snapshot!("admin__journal", res.json());
}

#[tokio::test]
async fn the_journal_can_be_cleared() {
    let app = spawn_app();
    app.get("/nowhere").await;
    assert_eq!(app.get("/__admin/requests").await.json()["count"], 1);
    let res = app
        .send(
            warp::test::request()
                .method("DELETE")
                .path("/__admin/requests"),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(app.get("/__admin/requests").await.json()["count"], 0);
}

#[tokio::test]
async fn the_clock_refuses_to_leave_the_range_where_expiries_can_be_computed() {
    // Arrange
    let app = spawn_app();
    // Act
    let far = app
        .post_json("/__admin/clock", &json!({"advance_secs": i64::MAX}))
        .await;
    let back = app
        .post_json("/__admin/clock", &json!({"advance_secs": i64::MIN}))
        .await;
    let set = app
        .post_json("/__admin/clock", &json!({"set": "9999-12-31T23:59:59Z"}))
        .await;
    // Assert
    for res in [&far, &back, &set] {
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text());
    }
    assert_eq!(
        app.get("/__admin/clock").await.json()["now"],
        "2026-01-01T00:00:00.000Z"
    );
    // At the edge of the range, tokens with the longest lifetimes are still issued.
    let edge = app
        .post_json("/__admin/clock", &json!({"set": "9800-01-01T00:00:00Z"}))
        .await;
    assert_eq!(edge.status, StatusCode::OK, "{}", edge.text());
    let res = app.refresh(REFRESH_TOKEN).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
}

#[tokio::test]
async fn every_api_answer_carries_a_request_id_that_finds_its_journal_entry() {
    // Arrange
    let app = spawn_app();
    let other = spawn_app();

    // Act
    let ok = app.get("/apps/v1/instance").await;
    let unknown = app.get("/no/such/path").await;
    let admin = app.get("/__admin/clock").await;
    let replayed = other.get("/apps/v1/instance").await;

    // Assert: a GUID on API answers, errors included (the SDK quotes it in every error it throws),
    // the same for the same seed, different per request, and none on the admin API.
    let id = ok
        .header("x-wix-request-id")
        .expect("a request id")
        .to_string();
    assert_eq!(id.len(), 36);
    assert_eq!(id.matches('-').count(), 4);
    assert!(unknown.header("x-wix-request-id").is_some_and(|u| u != id));
    assert_eq!(replayed.header("x-wix-request-id"), Some(id.as_str()));
    assert_eq!(admin.header("x-wix-request-id"), None);
    let found = app
        .get(&format!("/__admin/requests?request_id={id}"))
        .await
        .json();
    assert_eq!(found["count"], 1);
    assert_eq!(found["requests"][0]["path"], "/apps/v1/instance");
    assert_eq!(found["requests"][0]["request_id"], id.as_str());
}

#[tokio::test]
async fn admin_bodies_take_snake_case_fields_and_their_camel_case_spelling_alike() {
    // Arrange
    let app = spawn_app();

    // Act
    let snake = app
        .post_json("/__admin/clock", &json!({"advance_secs": 60}))
        .await;
    let camel = app
        .post_json("/__admin/clock", &json!({"advanceSecs": 60}))
        .await;
    let emit_snake = app
        .post_json(
            "/__admin/webhooks/emit",
            &json!({"instance_id": INSTANCE_ID, "event_type": "Custom", "data": {"keepMe": 1}}),
        )
        .await;
    let wait_camel = app
        .post_json("/__admin/requests/wait", &json!({"timeoutMs": 1}))
        .await;
    let both = app
        .post_json(
            "/__admin/clock",
            &json!({"advance_secs": 60, "advanceSecs": 60}),
        )
        .await;

    // Assert
    assert_eq!(snake.status, StatusCode::OK, "{}", snake.text());
    assert_eq!(camel.status, StatusCode::OK, "{}", camel.text());
    assert_eq!(
        camel.json()["unix"].as_i64().unwrap() - snake.json()["unix"].as_i64().unwrap(),
        60
    );
    assert_eq!(
        emit_snake.status,
        StatusCode::ACCEPTED,
        "{}",
        emit_snake.text()
    );
    assert_eq!(
        wait_camel.status,
        StatusCode::REQUEST_TIMEOUT,
        "{}",
        wait_camel.text()
    );
    assert_eq!(both.status, StatusCode::BAD_REQUEST);
    assert!(
        both.text().contains("`advance_secs` is given twice"),
        "{}",
        both.text()
    );
}
