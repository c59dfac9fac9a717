//! Fault effects, one test each: expire, state, revoke, error, delay, drop; and how they compose.

use serde_json::json;
use warp::http::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn a_dropped_connection_sends_nothing_at_all() {
    // Arrange
    let yaml = format!(
        "{}\nfaults:\n  - match: {{path: /__test/nowhere}}\n    effects: [{{drop: connection}}]\n",
        default_yaml()
    );
    let (addr, _app) = spawn_server(&yaml).await;
    // Act
    let raw = raw_exchange(
        &addr,
        "GET /__test/nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    // Assert
    assert_eq!(String::from_utf8_lossy(&raw), "");
}

#[tokio::test]
async fn a_truncated_body_announces_its_full_length_and_stops_half_way() {
    // Arrange
    let yaml = format!(
        "{}\nfaults:\n  - match: {{path: /__test/nowhere}}\n    effects: [{{drop: truncated}}]\n",
        default_yaml()
    );
    let (addr, _app) = spawn_server(&yaml).await;
    // Act
    let raw = raw_exchange(
        &addr,
        "GET /__test/nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    // Assert
    let text = String::from_utf8_lossy(&raw).to_string();
    assert!(text.starts_with("HTTP/1.1 404"), "{text}");
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(body.len(), length / 2, "{text}");
}

#[tokio::test]
async fn an_expired_code_fault_makes_the_exchange_fail_as_expired() {
    // Arrange
    let app = spawn_app();
    app.arm("match: {endpoint: install}\neffects: [{expire: {target: code}}]")
        .await;
    let installed = app.install().await;
    // Act
    let res = app.exchange_code(&installed.code).await;
    // Assert
    insta::assert_json_snapshot!("faults__expired_code", snap(&res));
}

#[tokio::test]
async fn a_code_with_a_ttl_works_until_the_ttl_passes() {
    // Arrange
    let app = spawn_app();
    app.arm("match: {endpoint: install}\neffects: [{expire: {target: code, ttl_secs: 60}}]")
        .await;
    let early = app.install().await;
    let late = app.install().await;
    // Act
    app.advance_clock(59).await;
    let in_time = app.exchange_code(&early.code).await;
    app.advance_clock(1).await;
    let too_late = app.exchange_code(&late.code).await;
    // Assert
    assert_eq!(in_time.status, StatusCode::OK, "{}", in_time.text());
    assert_eq!(too_late.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        too_late.json()["error_description"],
        "authorization code expired"
    );
}

#[tokio::test]
async fn an_access_token_expired_by_a_fault_stays_expired_and_a_new_one_works() {
    // Arrange
    let app = spawn_app();
    let (token, refresh_token, _) = app.installed_tokens().await;
    app.arm("match: {endpoint: bi_event}\nwhen: {first: 1}\neffects: [{expire: {target: access_token}}]")
        .await;
    // Act
    let first = app.bi_event(&token, "APP_DASHBOARD_LOADED").await;
    let again = app.bi_event(&token, "APP_DASHBOARD_LOADED").await;
    // On a frozen clock a token minted in the same second is byte-identical: move on one second.
    app.advance_clock(1).await;
    let fresh = app.refresh(&refresh_token).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let with_fresh = app.bi_event(&fresh, "APP_DASHBOARD_LOADED").await;
    // Assert
    insta::assert_json_snapshot!("faults__expired_access_token", snap(&first));
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
    assert_eq!(with_fresh.status, StatusCode::OK, "{}", with_fresh.text());
}

#[tokio::test]
async fn an_issued_access_token_can_be_given_a_shorter_life() {
    // Arrange
    let app = spawn_app();
    app.arm("match: {endpoint: oauth_access}\neffects: [{expire: {target: access_token, ttl_secs: 10}}]")
        .await;
    let (token, _, _) = app.installed_tokens().await;
    // Act
    let before = app.bi_event(&token, "APP_DASHBOARD_LOADED").await;
    app.advance_clock(10).await;
    let after = app.bi_event(&token, "APP_DASHBOARD_LOADED").await;
    // Assert
    assert_eq!(before.status, StatusCode::OK);
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        after.json()["details"]["applicationError"]["code"],
        "TOKEN_EXPIRED"
    );
}

#[tokio::test]
async fn an_expired_refresh_token_is_refused_from_then_on() {
    // Arrange
    let app = spawn_app();
    app.arm("match: {grant_type: refresh_token}\nwhen: {first: 1}\neffects: [{expire: {target: refresh_token}}]")
        .await;
    // Act
    let first = app.refresh(REFRESH_TOKEN).await;
    let second = app.refresh(REFRESH_TOKEN).await;
    // Assert
    assert_eq!(first.status, StatusCode::BAD_REQUEST);
    assert_eq!(first.json()["error_description"], "refresh token expired");
    assert_eq!(second.json()["error_description"], "refresh token expired");
}

#[tokio::test]
async fn a_tampered_state_differs_from_the_one_sent() {
    // Arrange
    let app = spawn_app();
    app.arm("match: {endpoint: install}\neffects: [{state: tamper}]")
        .await;
    // Act
    let installed = app.install().await;
    // Assert
    let state = installed.state.unwrap();
    assert_ne!(state, "state-1");
    assert!(state.starts_with("tampered-"), "{state}");
}

#[tokio::test]
async fn a_dropped_state_leaves_only_code_and_instance() {
    // Arrange
    let app = spawn_app();
    app.arm("match: {endpoint: install}\neffects: [{state: drop}]")
        .await;
    // Act
    let res = app.get(&app.install_path(Some("state-1"), None)).await;
    // Assert
    insta::assert_json_snapshot!("faults__state_dropped", snap(&res), {
        ".headers.location.query.code" => "[code]",
        ".headers.location.query.instanceId" => "[instanceId]",
    });
}

#[tokio::test]
async fn a_replayed_state_is_the_state_of_the_previous_flow() {
    // Arrange
    let app = spawn_app();
    let first = app.get(&app.install_path(Some("flow-one"), None)).await;
    app.arm("match: {endpoint: install}\neffects: [{state: replay}]")
        .await;
    // Act
    let second = app.get(&app.install_path(Some("flow-two"), None)).await;
    // Assert
    assert_eq!(first.location_query()["state"], "flow-one");
    assert_eq!(second.location_query()["state"], "flow-one");
}

#[tokio::test]
async fn a_revoked_refresh_token_stops_working() {
    // Arrange
    let app = spawn_app();
    app.arm(
        "match: {grant_type: refresh_token}\nwhen: {first: 1}\neffects: [{revoke: refresh_token}]",
    )
    .await;
    // Act
    let first = app.refresh(REFRESH_TOKEN).await;
    let second = app.refresh(REFRESH_TOKEN).await;
    // Assert
    assert_eq!(first.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        second.json()["error_description"],
        "refresh token is unknown or was revoked"
    );
    assert_eq!(app.state().await["refresh_tokens"], json!([]));
}

#[tokio::test]
async fn revoking_the_instance_uninstalls_the_app_at_that_moment() {
    // Arrange
    let app = spawn_app();
    let (token, refresh_token, instance) = app.installed_tokens().await;
    app.arm(&format!(
        "match: {{endpoint: bi_event, instance_id: {instance}}}\neffects: [{{revoke: instance}}]"
    ))
    .await;
    // Act
    let call = app.bi_event(&token, "APP_DASHBOARD_LOADED").await;
    let refresh = app.refresh(&refresh_token).await;
    // Assert
    assert_eq!(call.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        call.json()["details"]["applicationError"]["code"],
        "TOKEN_REVOKED"
    );
    assert_eq!(
        refresh.json()["error_description"],
        "refresh token is unknown or was revoked"
    );
    let state = app.state().await;
    assert!(
        state["instances"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["instance_id"] != instance.as_str())
    );
}

#[tokio::test]
async fn revoking_an_oauth_app_deletes_it() {
    // Arrange
    let app = spawn_app();
    let client_id = "0a4ceeaf-bc1a-46aa-9a26-b8f700fc63f5";
    app.arm(&format!(
        "match: {{client_id: {client_id}}}\neffects: [{{revoke: oauth_app}}]"
    ))
    .await;
    // Act
    app.post_json(
        "/oauth2/token",
        &json!({"clientId": client_id, "grantType": "anonymous"}),
    )
    .await;
    // Assert
    assert_eq!(app.state().await["oauth_apps"], json!([]));
}

#[tokio::test]
async fn every_error_preset_answers_with_wix_s_body_and_headers() {
    for preset in [
        "token_expired",
        "permission_denied",
        "not_found",
        "rate_limited",
        "internal",
        "unavailable",
        "invalid_grant",
    ] {
        // Arrange
        let app = spawn_app();
        app.arm(&format!("effects: [{{error: {{preset: {preset}}}}}]"))
            .await;
        // Act
        let res = app.refresh(REFRESH_TOKEN).await;
        // Assert
        let mut shot = snap(&res);
        shot["headers"]["retry-after"] = json!(res.header("retry-after"));
        insta::assert_json_snapshot!(format!("faults__preset_{preset}"), shot);
    }
}

#[tokio::test]
async fn a_custom_error_has_the_given_status_body_and_headers() {
    // Arrange
    let app = spawn_app();
    app.arm(r#"{"effects": [{"error": {"preset": "rate_limited", "status": 418, "body": {"teapot": true}, "headers": {"X-Why": "because"}, "retry_after_secs": 7}}]}"#)
        .await;
    // Act
    let res = app.refresh(REFRESH_TOKEN).await;
    // Assert
    assert_eq!(res.status.as_u16(), 418);
    assert_eq!(res.json(), json!({"teapot": true}));
    assert_eq!(res.header("x-why"), Some("because"));
    assert_eq!(res.header("retry-after"), Some("7"));
}

#[tokio::test(start_paused = true)]
async fn a_fixed_delay_holds_the_answer_back() {
    // Arrange
    let app = spawn_app();
    app.arm("effects: [{delay: {ms: 1500}}]").await;
    let start = tokio::time::Instant::now();
    // Act
    let res = app.refresh(REFRESH_TOKEN).await;
    // Assert
    assert_eq!(res.status, StatusCode::OK);
    assert!(start.elapsed() >= std::time::Duration::from_millis(1500));
    assert!(start.elapsed() < std::time::Duration::from_millis(1600));
}

#[tokio::test(start_paused = true)]
async fn random_delays_stay_in_bounds_and_repeat_with_the_seed() {
    // Arrange
    async fn delays() -> Vec<u128> {
        let app = spawn_app();
        app.arm("effects: [{delay: {min_ms: 100, max_ms: 900}}]")
            .await;
        let mut out = Vec::new();
        for _ in 0..5 {
            let start = tokio::time::Instant::now();
            app.get("/nowhere").await;
            out.push(start.elapsed().as_millis());
        }
        out
    }
    // Act
    let (a, b) = (delays().await, delays().await);
    // Assert
    assert_eq!(a, b);
    assert!(a.iter().all(|d| (100..=905).contains(d)), "{a:?}");
    assert!(a.windows(2).any(|w| w[0] != w[1]), "{a:?}");
}

#[tokio::test(start_paused = true)]
async fn effects_compose_a_delay_then_an_error_and_the_journal_names_the_fault() {
    // Arrange
    let app = spawn_app();
    app.arm("name: slow-then-503\nmatch: {endpoint: oauth_access, method: post}\neffects: [{delay: {ms: 200}}, {error: {preset: unavailable}}]")
        .await;
    let start = tokio::time::Instant::now();
    // Act
    let res = app.refresh(REFRESH_TOKEN).await;
    // Assert
    assert!(start.elapsed() >= std::time::Duration::from_millis(200));
    assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        app.journal_summary().await,
        vec![(
            "/oauth/access".to_string(),
            503,
            vec!["slow-then-503".to_string()]
        )]
    );
}

#[tokio::test]
async fn fail_twice_then_succeed() {
    // Arrange
    let app = spawn_app();
    app.arm(
        "match: {endpoint: oauth_access}\nwhen: {first: 2}\neffects: [{error: {preset: internal}}]",
    )
    .await;
    // Act
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(app.refresh(REFRESH_TOKEN).await.status.as_u16());
    }
    // Assert
    assert_eq!(statuses, [500, 500, 200]);
}

#[tokio::test]
async fn nth_after_and_times_pick_the_requests_they_name() {
    // Arrange
    let app = spawn_app();
    app.arm("name: nth\nmatch: {path: /a}\nwhen: {nth: 2}\neffects: [{error: {status: 501}}]")
        .await;
    app.arm("name: after\nmatch: {path: /b}\nwhen: {after: 1, times: 2}\neffects: [{error: {status: 502}}]")
        .await;
    // Act
    let mut a = Vec::new();
    let mut b = Vec::new();
    for _ in 0..4 {
        a.push(app.get("/a").await.status.as_u16());
        b.push(app.get("/b").await.status.as_u16());
    }
    // Assert
    assert_eq!(a, [404, 501, 404, 404]);
    assert_eq!(b, [404, 502, 502, 404]);
}

#[tokio::test]
async fn a_clock_window_limits_a_fault_to_virtual_times() {
    // Arrange
    let app = spawn_app();
    app.arm("when: {from: \"2026-01-01T00:01:00Z\", until: \"2026-01-01T00:02:00Z\"}\neffects: [{error: {status: 503}}]")
        .await;
    // Act
    let before = app.get("/x").await.status.as_u16();
    app.advance_clock(60).await;
    let during = app.get("/x").await.status.as_u16();
    app.advance_clock(60).await;
    let after = app.get("/x").await.status.as_u16();
    // Assert
    assert_eq!([before, during, after], [404, 503, 404]);
}

#[tokio::test]
async fn a_probability_fires_by_the_seed_and_repeats_with_it() {
    // Arrange
    async fn run() -> Vec<u16> {
        let app = spawn_app();
        app.arm("when: {probability: 0.5}\neffects: [{error: {status: 503}}]")
            .await;
        let mut out = Vec::new();
        for _ in 0..20 {
            out.push(app.get("/x").await.status.as_u16());
        }
        out
    }
    // Act
    let (a, b) = (run().await, run().await);
    // Assert
    assert_eq!(a, b);
    let fired = a.iter().filter(|s| **s == 503).count();
    assert!((4..=16).contains(&fired), "{a:?}");
}

#[tokio::test]
async fn faults_match_on_grant_type_field_header_and_app() {
    // Arrange
    let app = spawn_app();
    app.arm("match: {grant_type: refresh_token}\neffects: [{error: {status: 591}}]")
        .await;
    app.arm("match: {field: {name: eventName, equals: CUSTOM}}\neffects: [{error: {status: 592}}]")
        .await;
    app.arm("match: {header: {name: X-Test}}\neffects: [{error: {status: 593}}]")
        .await;
    app.arm(&format!(
        "match: {{app_id: {APP_ID}, endpoint: close_window}}\neffects: [{{error: {{status: 594}}}}]"
    ))
    .await;
    let (token, _, _) = app.installed_tokens().await;
    // Act
    let refresh = app.refresh(REFRESH_TOKEN).await;
    let custom = app
        .post_json_with_token(
            "/apps/v1/bi-event",
            &token,
            &json!({"eventName": "CUSTOM", "customEventName": "xx"}),
        )
        .await;
    let other = app.bi_event(&token, "APP_DASHBOARD_LOADED").await;
    let header = app
        .send(warp::test::request().path("/x").header("x-test", "1"))
        .await;
    let close = app
        .send(
            warp::test::request()
                .path("/installer/close-window")
                .header("authorization", &token),
        )
        .await;
    // Assert
    assert_eq!(
        [
            refresh.status,
            custom.status,
            other.status,
            header.status,
            close.status
        ]
        .map(|s| s.as_u16()),
        [591, 592, 200, 593, 594]
    );
}

#[tokio::test]
async fn admin_paths_are_never_faulted() {
    // Arrange
    let app = spawn_app();
    app.arm("effects: [{error: {status: 500}}]").await;
    // Act
    let res = app.get("/__admin/health").await;
    // Assert
    assert_eq!(res.status, StatusCode::OK);
}

#[tokio::test]
async fn faults_are_listed_with_counters_and_can_be_cleared() {
    // Arrange
    let app = spawn_app();
    let names = app
        .arm("- {name: one, match: {path: /x}, when: {first: 1}, effects: [{error: {status: 500}}]}\n- {match: {path: /y}, effects: [{delay: {ms: 0}}]}")
        .await;
    app.get("/x").await;
    app.get("/x").await;
    // Act
    let listed = app.get("/__admin/faults").await.json();
    let removed = app
        .send(
            warp::test::request()
                .method("DELETE")
                .path("/__admin/faults?name=one"),
        )
        .await
        .json();
    let after = app.get("/__admin/faults").await.json();
    // Assert
    assert_eq!(names, ["one", "fault-2"]);
    assert_eq!(listed["faults"][0]["matched"], 2);
    assert_eq!(listed["faults"][0]["fired"], 1);
    assert_eq!(listed["faults"][0]["source"], "admin");
    assert_eq!(removed["removed"], 1);
    assert_eq!(after["faults"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_bad_fault_is_refused_with_what_is_wrong() {
    // Arrange
    let app = spawn_app();
    // Act
    let typo = app
        .send(
            warp::test::request()
                .method("POST")
                .path("/__admin/faults")
                .body("effects: [{eror: {status: 500}}]"),
        )
        .await;
    let nonsense = app
        .send(
            warp::test::request()
                .method("POST")
                .path("/__admin/faults")
                .body("when: {probability: 3}\neffects: []"),
        )
        .await;
    // Assert
    assert_eq!(typo.status, StatusCode::BAD_REQUEST);
    assert!(
        typo.json()["message"].as_str().unwrap().contains("eror"),
        "{}",
        typo.text()
    );
    insta::assert_json_snapshot!("faults__bad_fault", nonsense.json());
    assert_eq!(app.get("/__admin/faults").await.json()["faults"], json!([]));
}

#[tokio::test]
async fn reset_rearms_the_scenario_faults_and_forgets_the_others() {
    // Arrange
    let app = spawn_app_with(&format!(
        "{}\nfaults:\n  - {{name: from-scenario, match: {{path: /x}}, when: {{first: 1}}, effects: [{{error: {{status: 500}}}}]}}\n",
        default_yaml()
    ));
    app.arm("{name: from-admin, effects: [{delay: {ms: 0}}]}")
        .await;
    app.get("/x").await;
    // Act
    app.send(warp::test::request().method("POST").path("/__admin/reset"))
        .await;
    let listed = app.get("/__admin/faults").await.json();
    let again = app.get("/x").await;
    // Assert
    assert_eq!(listed["faults"].as_array().unwrap().len(), 1);
    assert_eq!(listed["faults"][0]["name"], "from-scenario");
    assert_eq!(again.status.as_u16(), 500);
}
