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

/// `(kind, severity)` of each violation, sorted.
fn severities(report: &Value) -> Vec<(String, String)> {
    let mut k: Vec<(String, String)> = report["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["kind"].as_str().unwrap().to_string(),
                v["severity"].as_str().unwrap().to_string(),
            )
        })
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
    // wasteful_refresh: a tight loop of client-credentials tokens, each while the last was valid
    // (one `/oauth/access` refresh is the documented way and no longer counts: issue 16).
    app.refresh(&refresh_token).await;
    for _ in 0..11 {
        app.app_token().await;
    }
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
    // setup_not_finished: never sent APP_FINISHED_CONFIGURATION for its new instance, although
    // the app has a setup step (it finished the demo instance's).
    let demo = app.app_token().await;
    app.bi_event(&demo, "APP_FINISHED_CONFIGURATION").await;
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
    assert_eq!(
        severities(&report),
        [
            ("code_reused".into(), "error".into()),
            ("expired_token_reused".into(), "error".into()),
            ("ignored_retry_after".into(), "error".into()),
            ("install_without_state".into(), "warning".into()),
            ("pkce_missing_verifier".into(), "error".into()),
            ("pkce_plain".into(), "error".into()),
            ("secret_from_browser".into(), "error".into()),
            ("secret_in_url".into(), "error".into()),
            ("setup_not_finished".into(), "warning".into()),
            ("state_not_checked".into(), "error".into()),
            ("wasteful_refresh".into(), "warning".into()),
        ]
    );
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

// ---- One deliberately bad client per rule (docs/conformance.md), and the false alarms of issue 16 ----

/// Installs with a checked state and exchanges the code once: `(access_token, refresh_token)`.
async fn clean_install(app: &TestApp) -> (String, String) {
    let installed = app.install().await;
    let tokens = app.exchange_code(&installed.code).await.json();
    (
        tokens["access_token"].as_str().unwrap().to_string(),
        tokens["refresh_token"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn rule_state_not_checked_fires_when_a_tampered_redirect_code_is_exchanged() {
    // Arrange
    let app = spawn_app();
    app.arm("match: {endpoint: install}\nwhen: {first: 1}\neffects: [{state: tamper}]")
        .await;
    // Act
    let installed = app.install().await;
    app.exchange_code(&installed.code).await;
    // Assert
    assert_eq!(kinds(&app.conformance().await), ["state_not_checked"]);
}

#[tokio::test]
async fn rule_install_without_state_fires_on_an_install_with_no_state() {
    // Arrange
    let app = spawn_app();
    // Act
    app.get(&app.install_path(None, None)).await;
    // Assert
    let report = app.conformance().await;
    assert_eq!(kinds(&report), ["install_without_state"]);
    assert_eq!(report["passed"], true, "a warning does not fail the report");
}

#[tokio::test]
async fn rule_code_reused_fires_on_a_second_exchange_of_one_code() {
    // Arrange
    let app = spawn_app();
    let installed = app.install().await;
    // Act
    app.exchange_code(&installed.code).await;
    let again = app.exchange_code(&installed.code).await;
    // Assert
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert_eq!(kinds(&app.conformance().await), ["code_reused"]);
}

#[tokio::test]
async fn rule_secret_in_url_fires_for_a_secret_in_the_query_string() {
    // Arrange
    let app = spawn_app();
    // Act
    app.post_json(
        &format!("/oauth/access?client_secret={APP_SECRET}"),
        &json!({"grant_type": "refresh_token", "client_id": APP_ID, "refresh_token": REFRESH_TOKEN}),
    )
    .await;
    // Assert
    assert_eq!(kinds(&app.conformance().await), ["secret_in_url"]);
}

#[tokio::test]
async fn rule_secret_from_browser_fires_for_a_secret_sent_with_an_origin() {
    // Arrange
    let app = spawn_app();
    // Act
    app.send(
        warp::test::request()
            .method("POST")
            .path("/oauth2/token")
            .header("origin", "http://localhost:3000")
            .json(&json!({"grant_type": "client_credentials", "client_id": APP_ID, "client_secret": APP_SECRET, "instance_id": INSTANCE_ID})),
    )
    .await;
    // Assert
    assert_eq!(kinds(&app.conformance().await), ["secret_from_browser"]);
}

#[tokio::test]
async fn rule_expired_token_reused_fires_when_a_refused_token_is_sent_again() {
    // Arrange
    let app = spawn_app();
    let (token, _) = clean_install(&app).await;
    app.advance_clock(301).await;
    // Act
    app.bi_event(&token, "APP_DASHBOARD_LOADED").await;
    app.bi_event(&token, "APP_DASHBOARD_LOADED").await;
    // Assert
    assert_eq!(kinds(&app.conformance().await), ["expired_token_reused"]);
}

#[tokio::test]
async fn rule_ignored_retry_after_fires_for_a_retry_inside_the_window() {
    // Arrange
    let app = spawn_app();
    app.arm("match: {path: /apps/*}\nwhen: {first: 1}\neffects: [{error: {preset: rate_limited, retry_after_secs: 30}}]")
        .await;
    let token = app.app_token().await;
    // Act
    app.bi_event(&token, "APP_DASHBOARD_LOADED").await;
    app.bi_event(&token, "APP_DASHBOARD_LOADED").await;
    // Assert
    assert_eq!(kinds(&app.conformance().await), ["ignored_retry_after"]);
}

#[tokio::test]
async fn rule_setup_not_finished_fires_only_for_an_app_that_has_a_setup_step() {
    // Arrange: the app finishes the demo instance's setup, so it has a setup step.
    let app = spawn_app();
    let demo = app.app_token().await;
    app.bi_event(&demo, "APP_FINISHED_CONFIGURATION").await;
    // Act: a new install that never finishes.
    clean_install(&app).await;
    // Assert
    let report = app.conformance().await;
    assert_eq!(kinds(&report), ["setup_not_finished"]);
    assert_eq!(report["violations"][0]["severity"], "warning");
}

#[tokio::test]
async fn rule_pkce_plain_fires_for_a_plain_challenge() {
    // Arrange
    let app = spawn_app();
    // Act
    app.post_json(
        "/_api/redirects-api/v1/redirect-session",
        &json!({"auth": {"authRequest": {"clientId": CLIENT_ID, "codeChallenge": "x", "codeChallengeMethod": "plain"}}}),
    )
    .await;
    // Assert
    assert_eq!(kinds(&app.conformance().await), ["pkce_plain"]);
}

#[tokio::test]
async fn rule_pkce_missing_verifier_fires_for_a_public_exchange_without_verifier() {
    // Arrange
    let app = spawn_app();
    // Act
    app.oauth2_token(&json!({"clientId": CLIENT_ID, "grantType": "authorization_code", "code": "C", "redirectUri": CLIENT_REDIRECT}))
        .await;
    // Assert
    assert_eq!(kinds(&app.conformance().await), ["pkce_missing_verifier"]);
}

#[tokio::test]
async fn rule_wasteful_refresh_fires_once_for_a_tight_loop_of_client_credentials() {
    // Arrange
    let app = spawn_app();
    // Act: one token, then ten more while it is valid.
    for _ in 0..11 {
        app.app_token().await;
    }
    // Assert
    let report = app.conformance().await;
    assert_eq!(kinds(&report), ["wasteful_refresh"]);
    assert_eq!(report["passed"], true, "a warning does not fail the report");
}

#[tokio::test]
async fn issue_16_refreshing_on_every_call_through_oauth_access_is_not_wasteful() {
    // Arrange: Wix's custom-auth docs say to request a new access token for every API call, and
    // AppStrategy({refreshToken}) does so.
    let app = spawn_app();
    let (_, refresh_token) = clean_install(&app).await;
    // Act
    for _ in 0..20 {
        let token = app.refresh(&refresh_token).await.json()["access_token"]
            .as_str()
            .unwrap()
            .to_string();
        app.get_with_token("/apps/v1/instance", &token).await;
    }
    // Assert
    assert_eq!(app.conformance().await["violations"], json!([]));
}

#[tokio::test]
async fn issue_16_failed_token_requests_are_never_wasteful() {
    // Arrange
    let app = spawn_app();
    app.app_token().await;
    // Act: a wrong secret, many times over.
    for _ in 0..20 {
        let res = app
            .oauth2_token(&json!({"grant_type": "client_credentials", "client_id": APP_ID, "client_secret": "wrong", "instance_id": INSTANCE_ID}))
            .await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.text());
    }
    // Assert
    assert_eq!(app.conformance().await["violations"], json!([]));
}

#[tokio::test]
async fn issue_16_a_few_early_tokens_are_not_a_tight_loop() {
    // Arrange: e.g. a fresh SDK client per request, or `elevated()` a few times.
    let app = spawn_app();
    // Act
    for _ in 0..5 {
        app.app_token().await;
    }
    // Assert
    assert_eq!(app.conformance().await["violations"], json!([]));
}

#[tokio::test]
async fn issue_16_fresh_installs_of_an_app_without_a_setup_step_are_not_reported() {
    // Arrange
    let app = spawn_app();
    // Act: three installs a test never needed to finish; the app never sends the event at all.
    for _ in 0..3 {
        clean_install(&app).await;
    }
    // Assert
    let report = app.conformance().await;
    assert_eq!(report["violations"], json!([]), "{report:#}");
    assert_eq!(report["passed"], true);
}

// ---- Calls to the rest of wixapis.com (issue 15): stubs refuse, the report says why ----

#[tokio::test]
async fn rule_wrong_identity_kind_fires_for_an_app_token_where_a_member_is_needed() {
    // Arrange
    let app = spawn_app();
    let token = app.app_token().await;
    // Act: Get Current Member accepts member tokens only.
    let res = app.get_with_token("/members/v1/members/my", &token).await;
    // Assert
    assert_eq!(res.status, 403);
    assert_eq!(kinds(&app.conformance().await), ["wrong_identity_kind"]);
}

#[tokio::test]
async fn rule_scope_never_requested_fires_when_the_app_lacks_every_scope_the_api_needs() {
    // Arrange: an app without any contacts scope, and a user whose role lacks one the app has.
    let app =
        spawn_app_with(&default_yaml().replace("      - SCOPE.DC-CONTACTS.READ-CONTACTS\n", ""));
    let token = app.app_token().await;
    let (editor, _) = app
        .mint(&json!({"identity": "user", "instance_id": INSTANCE_ID, "user_id": EDITOR_USER_ID}))
        .await;
    let fixed = spawn_app();
    let (fixed_editor, _) = fixed
        .mint(&json!({"identity": "user", "instance_id": INSTANCE_ID, "user_id": EDITOR_USER_ID}))
        .await;
    // Act
    let res = app
        .post_json_with_token("/contacts/v4/contacts/query", &token, &json!({}))
        .await;
    app.post_json_with_token("/contacts/v4/contacts/query", &editor, &json!({}))
        .await;
    let role = fixed
        .post_json_with_token("/contacts/v4/contacts/query", &fixed_editor, &json!({}))
        .await;
    // Assert: a role without the scope is the site's choice, not the client's mistake.
    assert_eq!((res.status.as_u16(), role.status.as_u16()), (403, 403));
    assert_eq!(
        kinds(&app.conformance().await),
        ["scope_never_requested", "scope_never_requested"]
    );
    assert!(kinds(&fixed.conformance().await).is_empty());
}

#[tokio::test]
async fn rule_expired_token_sent_warns_for_a_stub_call_past_expires_in_and_reuse_is_an_error() {
    // Arrange
    let app = spawn_app();
    let token = app.app_token().await;
    app.advance_clock(4 * 3600 + 1).await;
    // Act
    let body = json!({"query": {}});
    app.post_json_with_token("/stores/v1/products/query", &token, &body)
        .await;
    let once = app.conformance().await;
    app.post_json_with_token("/stores/v1/products/query", &token, &body)
        .await;
    // Assert
    assert_eq!(kinds(&once), ["expired_token_sent"]);
    assert_eq!(once["passed"], true);
    assert_eq!(
        kinds(&app.conformance().await),
        ["expired_token_reused", "expired_token_sent"]
    );
}
