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

/// Starts the real binary with `args` (none of a developer's `WIX_MOCK_*` port or scenario) and
/// waits for its `listening on` line; the child, that line, the remaining stdout lines and the
/// address.
async fn start_binary(
    args: &[&std::ffi::OsStr],
) -> (
    tokio::process::Child,
    String,
    tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    String,
) {
    start_binary_with_env(args, &[]).await
}

/// [`start_binary`] with extra environment variables.
async fn start_binary_with_env(
    args: &[&std::ffi::OsStr],
    env: &[(&str, &str)],
) -> (
    tokio::process::Child,
    String,
    tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    String,
) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wix-oauth-mock"))
        .args(args)
        .envs(env.iter().copied())
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
    assert!(
        line.starts_with("wix-oauth-mock listening on http://127.0.0.1:"),
        "{line}"
    );
    let addr = line
        .split("http://")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    (child, line, lines, addr)
}

#[tokio::test]
async fn the_binary_serves_the_default_scenario_on_a_free_port() {
    // Arrange
    let (mut child, line, mut lines, addr) = start_binary(&["--port".as_ref(), "0".as_ref()]).await;
    // Act
    assert!(line.contains("scenario \"default\" (built-in)"), "{line}");
    let dashboard = lines.next_line().await.unwrap().unwrap();
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

#[tokio::test]
async fn a_tokio_worker_count_tokio_would_panic_on_starts_the_default_instead() {
    // The server reads TOKIO_WORKER_THREADS itself (it sizes the malloc arenas by it): `0` or a
    // word would make tokio panic at start; they mean the default worker count instead.
    for value in ["0", "two"] {
        let (mut child, _, _, addr) = start_binary_with_env(
            &["--port".as_ref(), "0".as_ref()],
            &[("TOKIO_WORKER_THREADS", value)],
        )
        .await;
        let health = http(
            &addr,
            format!("GET /__admin/health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
        )
        .await;
        assert!(health.starts_with("HTTP/1.1 200"), "{value}: {health}");
        child.kill().await.unwrap();
    }
}

/// Regression for issue 18 (shutdown waits for clients): SIGTERM with a pending long poll and a
/// half-sent request still exits at once, the long poll is told why, and the state file is saved.
#[tokio::test]
async fn sigterm_ends_long_polls_and_half_sent_requests_saves_the_state_and_exits_within_a_second()
{
    // Arrange
    let dir = std::env::temp_dir().join(format!("wix-mock-sigterm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let state = dir.join("state.json");
    let _ = std::fs::remove_file(&state);
    let (mut child, _line, _lines, addr) = start_binary(&[
        "--port".as_ref(),
        "0".as_ref(),
        "--state-file".as_ref(),
        state.as_os_str(),
    ])
    .await;
    let body = r#"{"path":"/never","timeout_ms":60000}"#;
    let poll_addr = addr.clone();
    let request = format!(
        "POST /__admin/requests/wait HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let poll = tokio::spawn(async move { http(&poll_addr, request).await });
    let mut half_sent = TcpStream::connect(&addr).await.unwrap();
    half_sent
        .write_all(b"GET /__admin/health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Act
    let pid = child.id().unwrap().to_string();
    let sent = std::time::Instant::now();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(5), child.wait())
        .await
        .expect("the process exits")
        .unwrap();
    let took = sent.elapsed();
    let answer = poll.await.unwrap();

    // Assert
    assert!(status.success(), "{status:?}");
    assert!(took < Duration::from_millis(1500), "exit took {took:?}");
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("SHUTTING_DOWN"), "{answer}");
    assert!(state.exists(), "the state file was saved");
    drop(half_sent);
}

#[tokio::test]
async fn with_tls_the_admin_api_serves_the_ca_the_binary_wrote_to_its_file() {
    // Arrange
    let dir = tempfile_dir("tls-ca");
    let ca_out = dir.join("ca.pem");
    let (mut child, _, _, addr) = start_binary(&[
        "--port".as_ref(),
        "0".as_ref(),
        "--tls".as_ref(),
        "--tls-port".as_ref(),
        "0".as_ref(),
        "--tls-ca-out".as_ref(),
        ca_out.as_os_str(),
    ])
    .await;
    let (mut plain, _, _, plain_addr) = start_binary(&["--port".as_ref(), "0".as_ref()]).await;

    // Act
    let get = |addr: String| async move {
        http(
            &addr,
            format!(
                "GET /__admin/tls/ca.pem HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
            ),
        )
        .await
    };
    let served = get(addr).await;
    let without_tls = get(plain_addr).await;

    // Assert
    let written = std::fs::read_to_string(&ca_out).unwrap();
    assert!(served.starts_with("HTTP/1.1 200"), "{served}");
    assert!(
        served.contains("content-type: application/x-pem-file"),
        "{served}"
    );
    assert!(written.starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(served.ends_with(&written), "{served}");
    assert!(without_tls.starts_with("HTTP/1.1 404"), "{without_tls}");
    assert!(
        without_tls.contains("TLS_CA_NOT_AVAILABLE"),
        "{without_tls}"
    );
    child.kill().await.unwrap();
    plain.kill().await.unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

/// A fresh directory under the system's temporary directory.
fn tempfile_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("wix-mock-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn client_garbage_and_drop_faults_are_not_logged_as_errors_of_the_mock() {
    // Arrange: the binary at its default log level, stderr captured.
    let mut child = Command::new(env!("CARGO_BIN_EXE_wix-oauth-mock"))
        .args(["--port", "0"])
        .env_remove("WIX_MOCK_PORT")
        .env_remove("WIX_MOCK_SCENARIO")
        .env_remove("WIX_MOCK_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.next_line().await.unwrap().unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let fault = r#"{"name":"cut","match":{"endpoint":"token"},"effects":[{"drop":"truncated"}]}"#;
    let armed = http(
        &addr,
        format!("POST /__admin/faults HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{fault}", fault.len()),
    )
    .await;
    assert!(armed.starts_with("HTTP/1.1 201"), "{armed}");

    // Act: garbage instead of HTTP, a request cut by the fault, a client that hangs up mid-body.
    let _ = http(&addr, "\u{1}\u{2} NOT HTTP AT ALL\r\n\r\n".into()).await;
    let _ = http(
        &addr,
        format!("POST /oauth2/token HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"),
    )
    .await;
    {
        let mut s = TcpStream::connect(&addr).await.unwrap();
        s.write_all(b"POST /oauth2/token HTTP/1.1\r\ncontent-length: 100\r\n\r\n{")
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    child.start_kill().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .await
        .unwrap();

    // Assert
    assert!(!stderr.contains("ERROR"), "{stderr}");
}
