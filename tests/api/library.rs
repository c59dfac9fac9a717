//! The scenario library in `scenarios/`: each shipped scenario does what its comment says.

use warp::http::StatusCode;

use crate::helpers::*;

fn kinds(report: &serde_json::Value) -> Vec<String> {
    report["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["kind"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn expired_code_expires_the_first_code_and_then_works() {
    // Arrange
    let app = spawn_library("expired-code");
    // Act
    let first = app.install().await;
    let refused = app.exchange_code(&first.code).await;
    let second = app.install().await;
    let accepted = app.exchange_code(&second.code).await;
    // Assert
    assert_eq!(
        refused.json()["error_description"],
        "authorization code expired"
    );
    assert_eq!(accepted.status, StatusCode::OK);
    assert_eq!(app.conformance().await["expectations"][0]["passed"], true);
}

#[tokio::test]
async fn state_mismatch_tampers_with_the_first_redirect_only() {
    // Arrange
    let app = spawn_library("state-mismatch");
    // Act
    let first = app.install().await;
    let second = app.install().await;
    app.exchange_code(&first.code).await;
    // Assert
    assert_ne!(first.state.as_deref(), Some("state-1"));
    assert_eq!(second.state.as_deref(), Some("state-1"));
    assert!(kinds(&app.conformance().await).contains(&"state_not_checked".to_string()));
}

#[tokio::test]
async fn state_missing_drops_the_state_of_the_first_redirect_only() {
    // Arrange
    let app = spawn_library("state-missing");
    // Act
    let first = app.install().await;
    let second = app.install().await;
    app.exchange_code(&first.code).await;
    // Assert
    assert_eq!(first.state, None);
    assert_eq!(second.state.as_deref(), Some("state-1"));
    assert!(kinds(&app.conformance().await).contains(&"state_not_checked".to_string()));
}

#[tokio::test]
async fn code_reuse_loses_the_first_answer_and_refuses_the_same_code_again() {
    // Arrange
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/code-reuse.yaml"
    ))
    .unwrap();
    let (addr, app) = spawn_server(&text).await;
    let code = app
        .with_world(|w, now, ids| {
            w.start_install(
                wix_oauth_mock::world::InstallRequest {
                    app_id: Some(APP_ID.into()),
                    redirect_url: Some(REDIRECT_URL.into()),
                    state: Some("s".into()),
                    ..Default::default()
                },
                now,
                ids,
            )
        })
        .unwrap();
    let wix_oauth_mock::world::InstallStep::Redirect(location) = code else {
        panic!("consent is automatic")
    };
    let code = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let body = format!(
        "grant_type=authorization_code&client_id={APP_ID}&client_secret={APP_SECRET}&code={code}"
    );
    let request = format!(
        "POST /oauth/access HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    // Act
    let lost = String::from_utf8_lossy(&raw_exchange(&addr, &request).await).to_string();
    let again = String::from_utf8_lossy(&raw_exchange(&addr, &request).await).to_string();
    // Assert
    assert!(lost.starts_with("HTTP/1.1 200"), "{lost}");
    assert!(!lost.ends_with('}'), "the body was cut short: {lost}");
    assert!(again.starts_with("HTTP/1.1 400"), "{again}");
    assert!(again.contains("already used"), "{again}");
}

#[tokio::test]
async fn token_expiry_expires_the_token_on_the_second_api_call() {
    // Arrange
    let app = spawn_library("token-expiry");
    let (token, refresh_token, _) = app.installed_tokens().await;
    // Act
    let first = app.bi_event(&token, "APP_FINISHED_CONFIGURATION").await;
    let second = app.bi_event(&token, "APP_DASHBOARD_LOADED").await;
    let reused = app.bi_event(&token, "APP_DASHBOARD_LOADED").await;
    app.advance_clock(1).await;
    let fresh = app.refresh(&refresh_token).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let with_fresh = app.bi_event(&fresh, "APP_DASHBOARD_LOADED").await;
    // Assert
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(
        second.json()["details"]["applicationError"]["code"],
        "TOKEN_EXPIRED"
    );
    assert_eq!(reused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(with_fresh.status, StatusCode::OK);
    assert_eq!(kinds(&app.conformance().await), ["expired_token_reused"]);
}

#[tokio::test]
async fn refresh_revoked_revokes_the_refresh_token_on_first_use() {
    // Arrange
    let app = spawn_library("refresh-revoked");
    // Act
    let first = app.refresh(REFRESH_TOKEN).await;
    let second = app.refresh(REFRESH_TOKEN).await;
    let (_, new_refresh_token, _) = app.installed_tokens().await;
    // The fault fired once (`first: 1`); the new token from a new install works.
    let with_new = app.refresh(&new_refresh_token).await;
    // Assert
    assert_eq!(
        first.json()["error_description"],
        "refresh token is unknown or was revoked"
    );
    assert_eq!(second.status, StatusCode::BAD_REQUEST);
    assert_eq!(with_new.status, StatusCode::OK);
}

#[tokio::test]
async fn app_uninstalled_removes_the_instance_on_the_second_api_call() {
    // Arrange
    let app = spawn_library("app-uninstalled");
    let (token, refresh_token, _) = app.installed_tokens().await;
    // Act
    let first = app.bi_event(&token, "APP_FINISHED_CONFIGURATION").await;
    let second = app.bi_event(&token, "APP_DASHBOARD_LOADED").await;
    let refresh = app.refresh(&refresh_token).await;
    // Assert
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(
        second.json()["details"]["applicationError"]["code"],
        "TOKEN_REVOKED"
    );
    assert_eq!(refresh.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn rate_limited_throttles_the_first_api_call_with_retry_after() {
    // Arrange
    let app = spawn_library("rate-limited");
    let (token, _, _) = app.installed_tokens().await;
    // Act
    let limited = app.bi_event(&token, "APP_FINISHED_CONFIGURATION").await;
    app.advance_clock(2).await;
    let retried = app.bi_event(&token, "APP_FINISHED_CONFIGURATION").await;
    // Assert
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.header("retry-after"), Some("2"));
    assert_eq!(retried.status, StatusCode::OK);
    assert_eq!(kinds(&app.conformance().await), Vec::<String>::new());
}

#[tokio::test]
async fn flaky_5xx_fails_twice_then_succeeds() {
    // Arrange
    let app = spawn_library("flaky-5xx");
    // Act
    let mut answers = Vec::new();
    for _ in 0..3 {
        let res = app.refresh(REFRESH_TOKEN).await;
        answers.push((
            res.status.as_u16(),
            res.header("retry-after").map(str::to_string),
        ));
    }
    // Assert
    assert_eq!(
        answers,
        [(500, None), (503, Some("1".to_string())), (200, None)]
    );
}

#[tokio::test(start_paused = true)]
async fn slow_wix_delays_every_answer_and_the_token_endpoint_most() {
    // Arrange
    let app = spawn_library("slow-wix");
    // Act
    let start = tokio::time::Instant::now();
    let res = app.get("/installer/close-window").await;
    let page = start.elapsed();
    let start = tokio::time::Instant::now();
    app.refresh(REFRESH_TOKEN).await;
    let token = start.elapsed();
    // Assert
    assert_eq!(res.status, StatusCode::OK);
    assert!((100..=805).contains(&page.as_millis()), "{page:?}");
    assert!((1600..=2305).contains(&token.as_millis()), "{token:?}");
}

#[tokio::test(start_paused = true)]
async fn chaos_fires_seeded_random_faults_that_replay_with_the_seed() {
    // Arrange
    // Over a real socket: a dropped connection cannot be replied to in-process.
    async fn run() -> Vec<(u16, Vec<String>)> {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/chaos.yaml"))
                .unwrap();
        let (addr, app) = spawn_server(&text).await;
        for _ in 0..40 {
            raw_exchange(
                &addr,
                "GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            )
            .await;
        }
        app.journal()
            .entries()
            .into_iter()
            .map(|e| (e.status, e.faults))
            .collect()
    }
    // Act
    let (a, b) = (run().await, run().await);
    // Assert
    assert_eq!(a, b);
    let fired: Vec<&String> = a.iter().flat_map(|(_, f)| f).collect();
    assert!(fired.iter().any(|f| *f == "chaos-500"), "{a:?}");
    assert!(fired.iter().any(|f| *f == "chaos-delay"), "{a:?}");
    assert!(
        fired
            .iter()
            .any(|f| *f == "chaos-drop" || *f == "chaos-truncate"),
        "{a:?}"
    );
    assert!(
        a.iter().any(|(s, _)| *s == 404),
        "most requests still get through: {a:?}"
    );
}
