//! One test starts the real binary on port 0 and walks the flow over a real socket.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::Command;

/// A minimal HTTP/1.1 exchange (the crate has no HTTP client dependency); returns the raw response.
async fn http(addr: &str, request: String) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test]
async fn the_binary_serves_the_default_scenario_on_a_free_port() {
    // Arrange
    let mut child = Command::new(env!("CARGO_BIN_EXE_wix-oauth-mock"))
        .args(["--port", "0"])
        .env_remove("WIX_MOCK_PORT")
        .env_remove("WIX_MOCK_SCENARIO")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    // Act
    assert!(
        line.starts_with("wix-oauth-mock listening on http://127.0.0.1:"),
        "{line}"
    );
    assert!(line.contains("scenario \"default\" (built-in)"), "{line}");
    let dashboard = lines.next_line().await.unwrap().unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    assert!(!addr.ends_with(":0"));
    assert_eq!(dashboard, format!("dashboard: http://{addr}/__admin/ui"));
    let health = http(
        &addr,
        format!("GET /__admin/health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )
    .await;
    let install = http(
        &addr,
        format!("GET /installer/install?appId=5e2c9a6f-8a61-4b4f-9a43-0f3d2b1c7a10&redirectUrl=http%3A%2F%2Flocalhost%3A3000%2Fwix%2Foauth%2Fcallback&state=s HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )
    .await;
    // Assert
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(install.starts_with("HTTP/1.1 302"), "{install}");
    let code = install
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let body = format!(
        "grant_type=authorization_code&client_id=5e2c9a6f-8a61-4b4f-9a43-0f3d2b1c7a10&client_secret=mock-app-secret-0001&code={code}"
    );
    let access = http(
        &addr,
        format!("POST /oauth/access HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}", body.len()),
    )
    .await;
    assert!(access.starts_with("HTTP/1.1 200"), "{access}");
    assert!(
        access.contains("\"access_token\":\"OauthNG.JWS."),
        "{access}"
    );
    child.kill().await.unwrap();
}
