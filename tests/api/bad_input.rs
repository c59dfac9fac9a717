//! Every class of bad input gets the status and Wix-shaped body a client expects, and the state is unchanged.

use serde_json::json;
use warp::http::StatusCode;

use crate::helpers::*;

async fn assert_unchanged(app: &TestApp, before: &serde_json::Value) {
    let mut now = app.state().await;
    let mut before = before.clone();
    // Only the grants matter here; the recent-token list and clock are compared as well.
    now.as_object_mut().unwrap().remove("pending_installs");
    before.as_object_mut().unwrap().remove("pending_installs");
    assert_eq!(&now, &before);
}

#[tokio::test]
async fn malformed_bodies_on_oauth_access_are_invalid_request() {
    let app = spawn_app();
    let before = app.state().await;
    let cases: &[(&str, &[u8])] = &[
        ("malformed_json", b"{\"grant_type\": "),
        ("json_array", b"[1, 2]"),
        ("invalid_utf8", &[0x67, 0x72, 0xff, 0xfe]),
        (
            "repeated_parameter",
            b"grant_type=refresh_token&grant_type=authorization_code",
        ),
        ("wrong_type", b"{\"grant_type\": 7}"),
        ("missing_grant_type", b"{\"client_id\": \"x\"}"),
        ("empty_body", b""),
    ];
    for (name, body) in cases {
        let res = app
            .send(
                warp::test::request()
                    .method("POST")
                    .path("/oauth/access")
                    .body(*body),
            )
            .await;
        assert_eq!(
            res.status,
            StatusCode::BAD_REQUEST,
            "{name}: {}",
            res.text()
        );
        assert_eq!(res.json()["error"], "invalid_request", "{name}");
        insta::assert_json_snapshot!(format!("bad_input__oauth_access_{name}"), snap(&res));
    }
    assert_unchanged(&app, &before).await;
}

#[tokio::test]
async fn missing_fields_are_named() {
    let app = spawn_app();
    let cases = [
        (
            "client_id",
            json!({"grant_type": "refresh_token", "client_secret": "x", "refresh_token": "y"}),
        ),
        (
            "client_secret",
            json!({"grant_type": "refresh_token", "client_id": APP_ID, "refresh_token": "y"}),
        ),
        (
            "code",
            json!({"grant_type": "authorization_code", "client_id": APP_ID, "client_secret": APP_SECRET}),
        ),
        (
            "refresh_token",
            json!({"grant_type": "refresh_token", "client_id": APP_ID, "client_secret": APP_SECRET}),
        ),
    ];
    for (field, body) in cases {
        let res = app.post_json("/oauth/access", &body).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST);
        assert!(
            res.json()["error_description"]
                .as_str()
                .unwrap()
                .contains(field),
            "{field}: {}",
            res.text()
        );
    }
}

#[tokio::test]
async fn an_unknown_grant_type_is_unsupported() {
    let app = spawn_app();
    let res = app
        .post_json(
            "/oauth/access",
            &json!({"grant_type": "password", "client_id": APP_ID, "client_secret": APP_SECRET}),
        )
        .await;
    insta::assert_json_snapshot!("bad_input__unsupported_grant_type", snap(&res));
}

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let app = spawn_app();
    let before = app.state().await;
    let huge = vec![b'a'; 64 * 1024 + 1];
    let res = app
        .send(
            warp::test::request()
                .method("POST")
                .path("/oauth/access")
                .body(huge.clone()),
        )
        .await;
    insta::assert_json_snapshot!("bad_input__payload_too_large", snap(&res));
    let res = app
        .send(
            warp::test::request()
                .method("POST")
                .path("/apps/v1/bi-event")
                .body(huge),
        )
        .await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_unchanged(&app, &before).await;
}

#[tokio::test]
async fn a_body_at_the_limit_is_read() {
    let app = spawn_app();
    let mut body = b"grant_type=password&pad=".to_vec();
    body.resize(64 * 1024, b'a');
    let res = app
        .send(
            warp::test::request()
                .method("POST")
                .path("/oauth/access")
                .body(body),
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert_eq!(res.json()["error"], "unsupported_grant_type");
}

#[tokio::test]
async fn unknown_routes_are_404() {
    let app = spawn_app();
    let res = app.get("/oauth/nothing-here").await;
    insta::assert_json_snapshot!("bad_input__unknown_route", snap(&res));
}

#[tokio::test]
async fn wrong_methods_are_405() {
    let app = spawn_app();
    for (method, path) in [
        ("GET", "/oauth/access"),
        ("PUT", "/apps/v1/bi-event"),
        ("POST", "/installer/install"),
        ("DELETE", "/__admin/clock"),
    ] {
        let res = app
            .send(warp::test::request().method(method).path(path))
            .await;
        assert_eq!(
            res.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}: {}",
            res.text()
        );
    }
    let res = app
        .send(warp::test::request().method("GET").path("/oauth/access"))
        .await;
    insta::assert_json_snapshot!("bad_input__method_not_allowed", snap(&res));
}

#[tokio::test]
async fn bad_installer_queries_get_the_html_error_page() {
    let app = spawn_app();
    let before = app.state().await;
    for (name, path) in [
        ("no_params", "/installer/install".to_string()),
        (
            "unknown_app",
            format!(
                "/installer/install?appId=00000000-0000-4000-8000-000000000000&redirectUrl={REDIRECT_URL}"
            ),
        ),
        (
            "missing_redirect",
            format!("/installer/install?appId={APP_ID}"),
        ),
        (
            "repeated_param",
            format!("/installer/install?appId={APP_ID}&appId={APP_ID}&redirectUrl={REDIRECT_URL}"),
        ),
        (
            "bad_percent_encoding",
            format!("/installer/install?appId={APP_ID}&redirectUrl=%ZZ"),
        ),
    ] {
        let res = app.get(&path).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{name}");
        assert!(
            res.header("content-type").unwrap().starts_with("text/html"),
            "{name}"
        );
        assert!(res.text().contains("ERROR: BAD REQUEST 400"), "{name}");
        assert!(res.header("location").is_none(), "{name}");
    }
    assert_unchanged(&app, &before).await;
}

#[tokio::test]
async fn bi_event_bodies_that_are_not_json_objects_are_400() {
    let app = spawn_app();
    let (access, _, _) = app.installed_tokens().await;
    for body in ["{not json", "[]", "eventName=CUSTOM"] {
        let res = app
            .send(
                warp::test::request()
                    .method("POST")
                    .path("/apps/v1/bi-event")
                    .header("authorization", &access)
                    .body(body),
            )
            .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{body}");
        assert!(res.json()["details"]["applicationError"]["code"].is_string());
    }
}
