//! The conformance report: a deliberately bad client trips every listed violation, a correct one
//! gets a clean report; `expect:` checks pass or fail; the CLI gates on the result.

use serde_json::{Value, json};
use warp::http::StatusCode;

use crate::helpers::*;

fn kinds(report: &Value) -> Vec<String> {
    let mut k: Vec<String> = report["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["kind"].as_str().unwrap().to_string())
        .collect();
    k.sort();
    k
}

/// The whole legacy flow done right: state checked, one exchange, setup finished, tokens refreshed
/// only when they expired, Retry-After honoured.
async fn good_client(app: &TestApp) {
    let installed = app.install().await;
    assert_eq!(installed.state.as_deref(), Some("state-1"));
    let res = app.exchange_code(&installed.code).await;
    let tokens = res.json();
    let token = tokens["access_token"].as_str().unwrap().to_string();
    let refresh_token = tokens["refresh_token"].as_str().unwrap().to_string();
    let done = app.bi_event(&token, "APP_FINISHED_CONFIGURATION").await;
    assert_eq!(done.status, StatusCode::OK);
    app.advance_clock(300).await;
    // The token ran out: refused once, then refreshed, never reused.
    assert_eq!(
        app.bi_event(&token, "APP_DASHBOARD_LOADED").await.status,
        StatusCode::UNAUTHORIZED
    );
    let fresh = app.refresh(&refresh_token).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        app.bi_event(&fresh, "APP_DASHBOARD_LOADED").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_correct_client_gets_a_clean_report() {
    // Arrange
    let app = spawn_app();
    // Act
    good_client(&app).await;
    let report = app.conformance().await;
    // Assert
    assert_eq!(report["passed"], true, "{report:#}");
    assert_eq!(report["violations"], json!([]), "{report:#}");
}

#[tokio::test]
async fn a_correct_client_survives_the_state_and_rate_limit_faults_without_violations() {
    // Arrange
    let app = spawn_app();
    app.arm("match: {endpoint: install}\nwhen: {first: 1}\neffects: [{state: tamper}]")
        .await;
    app.arm("match: {path: /apps/*}\nwhen: {first: 1}\neffects: [{error: {preset: rate_limited, retry_after_secs: 5}}]")
        .await;
    // Act: the tampered callback is refused (never exchanged); the 429 is waited out.
    let tampered = app.install().await;
    assert_ne!(tampered.state.as_deref(), Some("state-1"));
    let installed = app.install().await;
    let token = app.exchange_code(&installed.code).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let limited = app.bi_event(&token, "APP_FINISHED_CONFIGURATION").await;
    app.advance_clock(5).await;
    let retried = app.bi_event(&token, "APP_FINISHED_CONFIGURATION").await;
    let report = app.conformance().await;
    // Assert
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retried.status, StatusCode::OK);
    assert_eq!(report["passed"], true, "{report:#}");
    assert_eq!(report["violations"], json!([]), "{report:#}");
}

#[tokio::test]
async fn a_bad_client_trips_every_violation_with_the_offending_requests() {
    // Arrange
    let app = spawn_app();
    app.arm("match: {endpoint: install}\nwhen: {first: 1}\neffects: [{state: tamper}]")
        .await;
    app.arm("match: {path: /apps/*}\nwhen: {first: 1}\neffects: [{error: {preset: rate_limited, retry_after_secs: 30}}]")
        .await;
    // Act
    // state_not_checked + install_without_state: exchanges the tampered code; no state sent.
    let res = app.get(&app.install_path(None, None)).await;
    let code = res.location_query()["code"].clone();
    let tokens = app.exchange_code(&code).await.json();
    let token = tokens["access_token"].as_str().unwrap().to_string();
    let refresh_token = tokens["refresh_token"].as_str().unwrap().to_string();
    // code_reused.
    app.exchange_code(&code).await;
    // ignored_retry_after: calls again at once after the 429.
    app.bi_event(&token, "APP_DASHBOARD_LOADED").await;
    app.bi_event(&token, "APP_DASHBOARD_LOADED").await;
    // wasteful_refresh: refreshes although the token is valid for minutes.
    app.refresh(&refresh_token).await;
    // secret_in_url and secret_from_browser.
    app.post_json(
        &format!("/oauth/access?client_secret={APP_SECRET}"),
        &json!({"grant_type": "refresh_token", "client_id": APP_ID, "refresh_token": REFRESH_TOKEN}),
    )
    .await;
    app.send(
        warp::test::request()
            .method("POST")
            .path("/oauth/access")
            .header("origin", "http://localhost:3000")
            .json(&json!({"grant_type": "refresh_token", "client_id": APP_ID, "client_secret": APP_SECRET, "refresh_token": REFRESH_TOKEN})),
    )
    .await;
    // expired_token_reused: keeps using a token after the 401.
    app.advance_clock(600).await;
    app.bi_event(&token, "APP_DASHBOARD_LOADED").await;
    app.bi_event(&token, "APP_DASHBOARD_LOADED").await;
    // pkce_plain and pkce_missing_verifier (generic: judged on the request, whatever the route says).
    app.post_json(
        "/_api/redirects-api/v1/redirect-session",
        &json!({"auth": {"authRequest": {"clientId": "c", "codeChallenge": "x", "codeChallengeMethod": "plain"}}}),
    )
    .await;
    app.post_json(
        "/oauth2/token",
        &json!({"clientId": "c", "grantType": "authorization_code", "code": "C", "redirectUri": "http://localhost:3000/callback"}),
    )
    .await;
    // setup_not_finished: never sent APP_FINISHED_CONFIGURATION.
    let report = app.conformance().await;
    // Assert
    assert_eq!(
        kinds(&report),
        [
            "code_reused",
            "expired_token_reused",
            "ignored_retry_after",
            "install_without_state",
            "pkce_missing_verifier",
            "pkce_plain",
            "secret_from_browser",
            "secret_in_url",
            "setup_not_finished",
            "state_not_checked",
            "wasteful_refresh",
        ]
    );
    assert_eq!(report["passed"], false);
    insta::assert_json_snapshot!("conformance__bad_client", report);
    let text = app.get("/__admin/conformance?format=text").await;
    insta::assert_snapshot!("conformance__bad_client_text", text.text());
}

#[tokio::test]
async fn expectations_are_checked_as_pass_or_fail() {
    // Arrange
    let app = spawn_app_with(&format!(
        "{}\nexpect:\n  - name: exactly one code exchange\n    requests: {{endpoint: oauth_access, grant_type: authorization_code}}\n    count: 1\n  - bi_event: APP_FINISHED_CONFIGURATION\n  - requests: {{path: /apps/v1/instance}}\n    max: 0\n",
        default_yaml()
    ));
    let (token, _, _) = app.installed_tokens().await;
    // Act
    let before = app.conformance().await;
    app.bi_event(&token, "APP_FINISHED_CONFIGURATION").await;
    let after = app.conformance().await;
    // Assert
    insta::assert_json_snapshot!("conformance__expectations_before", before["expectations"]);
    assert_eq!(before["passed"], false);
    assert_eq!(after["passed"], true, "{after:#}");
}

#[tokio::test]
async fn the_cli_prints_the_report_and_exits_non_zero_on_failures() {
    // Arrange
    let (addr, app) = spawn_server(default_yaml()).await;
    let url = format!("http://{addr}");
    let run = |url: String| async move {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_wix-oauth-mock"))
            .args(["conformance", "--url", &url])
            .output()
            .await
            .unwrap()
    };
    // Act
    let clean = run(url.clone()).await;
    // A bad client: reuses a code (driven straight at the in-process app's journal via HTTP).
    let install = raw_exchange(
        &addr,
        &format!("GET /installer/install?appId={APP_ID}&redirectUrl=http%3A%2F%2Flocalhost%3A3000%2Fwix%2Foauth%2Fcallback&state=s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    )
    .await;
    let install = String::from_utf8_lossy(&install).to_string();
    let code = install
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_string();
    let body = format!(
        "grant_type=authorization_code&client_id={APP_ID}&client_secret={APP_SECRET}&code={code}"
    );
    for _ in 0..2 {
        raw_exchange(
            &addr,
            &format!("POST /oauth/access HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}", body.len()),
        )
        .await;
    }
    let failed = run(url).await;
    let unreachable = run("http://127.0.0.1:9".to_string()).await;
    // Assert
    assert!(
        clean.status.success(),
        "{}",
        String::from_utf8_lossy(&clean.stdout)
    );
    assert!(String::from_utf8_lossy(&clean.stdout).starts_with("conformance: PASSED"));
    assert_eq!(failed.status.code(), Some(1));
    let out = String::from_utf8_lossy(&failed.stdout);
    assert!(out.starts_with("conformance: FAILED"), "{out}");
    assert!(out.contains("code_reused"), "{out}");
    assert_eq!(unreachable.status.code(), Some(3));
    drop(app);
}
