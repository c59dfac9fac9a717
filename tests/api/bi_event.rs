use serde_json::json;
use warp::http::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn a_bi_event_answers_an_empty_object() {
    let app = spawn_app();
    let (access, _, _) = app.installed_tokens().await;
    let res = app
        .post_json_with_token(
            "/apps/v1/bi-event",
            &access,
            &json!({"eventName": "CUSTOM", "customEventName": "capture_check", "eventData": {"sum": "10", "currency": "USD"}}),
        )
        .await;
    insta::assert_json_snapshot!("bi_event__ok", snap(&res));
}

#[tokio::test]
async fn the_token_is_accepted_raw_or_with_bearer() {
    let app = spawn_app();
    let (access, _, _) = app.installed_tokens().await;
    for header in [access.clone(), format!("Bearer {access}")] {
        let res = app
            .post_json_with_token(
                "/apps/v1/bi-event",
                &header,
                &json!({"eventName": "APP_DASHBOARD_LOADED"}),
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    }
}

#[tokio::test]
async fn app_finished_configuration_completes_the_setup_of_that_instance_only() {
    let app = spawn_app();
    let (access, _, instance_id) = app.installed_tokens().await;
    let res = app
        .post_json_with_token(
            "/apps/v1/bi-event",
            &access,
            &json!({"eventName": "APP_FINISHED_CONFIGURATION"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let state = app.state().await;
    for i in state["instances"].as_array().unwrap() {
        let expected = i["instance_id"] == instance_id.as_str();
        assert_eq!(i["setup_complete"], expected, "{i}");
    }
}

#[tokio::test]
async fn a_missing_token_is_401() {
    let app = spawn_app();
    let res = app
        .post_json(
            "/apps/v1/bi-event",
            &json!({"eventName": "APP_DASHBOARD_LOADED"}),
        )
        .await;
    insta::assert_json_snapshot!("bi_event__missing_token", snap(&res));
}

#[tokio::test]
async fn a_forged_token_is_401() {
    let app = spawn_app();
    let res = app
        .post_json_with_token(
            "/apps/v1/bi-event",
            "OauthNG.JWS.eyJhbGciOiJIUzI1NiJ9.e30.forged",
            &json!({"eventName": "APP_DASHBOARD_LOADED"}),
        )
        .await;
    insta::assert_json_snapshot!("bi_event__unknown_token", snap(&res));
}

#[tokio::test]
async fn a_token_with_a_tampered_signature_is_401() {
    let app = spawn_app();
    let (access, _, _) = app.installed_tokens().await;
    let last = access.chars().last().unwrap();
    let tampered = format!(
        "{}{}",
        &access[..access.len() - 1],
        if last == 'A' { 'B' } else { 'A' }
    );
    let res = app
        .post_json_with_token(
            "/apps/v1/bi-event",
            &tampered,
            &json!({"eventName": "APP_DASHBOARD_LOADED"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        res.json()["details"]["applicationError"]["code"],
        "INVALID_TOKEN"
    );
}

#[tokio::test]
async fn invalid_events_list_every_violated_field() {
    let app = spawn_app();
    let (access, _, _) = app.installed_tokens().await;
    let cases = [
        ("missing_name", json!({})),
        ("unknown_name", json!({"eventName": "APP_EXPLODED"})),
        (
            "custom_without_name",
            json!({"eventName": "CUSTOM", "customEventName": "x"}),
        ),
        (
            "charge_without_sum",
            json!({"eventName": "CHARGE", "eventData": {"currency": "USD"}}),
        ),
        (
            "wrong_types",
            json!({"eventName": 5, "eventData": {"sum": 10}}),
        ),
    ];
    for (name, body) in cases {
        let res = app
            .post_json_with_token("/apps/v1/bi-event", &access, &body)
            .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{name}");
        insta::assert_json_snapshot!(format!("bi_event__invalid_{name}"), snap(&res));
    }
    let state = app.state().await;
    assert!(
        state["instances"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["bi_events"] == json!({}))
    );
}
