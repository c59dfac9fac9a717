use serde_json::json;
use warp::http::StatusCode;
use wix_oauth_mock::{Scenario, WixMock};

use crate::helpers::*;

fn protected() -> TestApp {
    spawn_with_admin_token()
}

#[tokio::test]
async fn ready_and_version_answer() {
    let app = spawn_app();
    assert_eq!(
        app.get("/__admin/ready").await.json(),
        json!({"status": "ready", "scenario": "default"})
    );
    let version = app.get("/__admin/version").await.json();
    assert_eq!(version["name"], "wix-oauth-mock");
    assert_eq!(version["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn with_an_admin_token_the_admin_api_refuses_requests_without_it() {
    // Arrange
    let app = protected();
    // Act
    let res = app.get("/__admin/state").await;
    // Assert
    insta::assert_json_snapshot!("ops__admin_token_required", snap(&res));
    let wrong = app.get_with_token("/__admin/state", "Bearer wrong").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn with_an_admin_token_the_right_token_opens_the_admin_api() {
    let app = protected();
    assert_eq!(
        app.get_with_token("/__admin/state", &format!("Bearer {ADMIN_TOKEN}"))
            .await
            .status,
        StatusCode::OK
    );
    let res = app
        .send(
            warp::test::request()
                .method("POST")
                .path("/__admin/reset")
                .header("x-wix-mock-admin-token", ADMIN_TOKEN),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
}

#[tokio::test]
async fn with_an_admin_token_probes_and_the_wix_api_stay_open() {
    let app = protected();
    for path in ["/__admin/health", "/__admin/ready", "/__admin/version"] {
        assert_eq!(app.get(path).await.status, StatusCode::OK, "{path}");
    }
    let (access, _, _) = app.installed_tokens().await;
    assert!(access.starts_with("OauthNG.JWS."));
}

#[tokio::test]
async fn library_mode_serves_on_a_random_port_and_exposes_typed_admin_actions() {
    // Arrange
    let wix = WixMock::start_frozen(Scenario::default(), START.parse().unwrap()).await;
    let addr = wix.address();
    // Act: a raw HTTP request to the real socket.
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(b"GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).await.unwrap();
    // Assert
    assert!(out.starts_with("HTTP/1.1 404"), "{out}");
    assert_eq!(wix.received_requests().len(), 1);
    wix.advance_clock(60);
    assert_eq!(wix.now().to_rfc3339(), "2026-01-01T00:01:00+00:00");
    wix.reset();
    assert!(wix.received_requests().is_empty());
    assert_eq!(wix.state()["scenario"], "default");
    // Dropping the mock stops the server.
    drop(wix);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
