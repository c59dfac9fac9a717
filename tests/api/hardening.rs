//! Issue 18's doors, each pinned: the admin API against other sites' pages, two namespace headers,
//! framing of the pages a person sees, and secrets under unusual names in the journal.

use serde_json::json;
use warp::http::StatusCode;

use crate::helpers::*;

async fn move_clock(app: &TestApp, headers: &[(&str, &str)]) -> Resp {
    let mut req = warp::test::request()
        .method("POST")
        .path("/__admin/clock")
        .header("content-type", "text/plain")
        .body(r#"{"advance_secs": 60}"#);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    app.send(req).await
}

#[tokio::test]
async fn the_admin_api_refuses_a_page_of_another_site_but_not_local_tools() {
    // Arrange
    let app = spawn_app();

    // Act
    let evil = move_clock(
        &app,
        &[
            ("origin", "https://evil.example"),
            ("host", "127.0.0.1:8787"),
        ],
    )
    .await;
    let fetch_meta = move_clock(&app, &[("sec-fetch-site", "cross-site")]).await;
    let null = move_clock(&app, &[("origin", "null")]).await;
    let curl = move_clock(&app, &[]).await;
    let dev_app = move_clock(
        &app,
        &[
            ("origin", "http://localhost:3000"),
            ("host", "127.0.0.1:8787"),
        ],
    )
    .await;
    let dashboard = move_clock(
        &app,
        &[
            ("origin", "http://wix-mock:8787"),
            ("host", "wix-mock:8787"),
        ],
    )
    .await;
    let health = app
        .send(
            warp::test::request()
                .path("/__admin/health")
                .header("origin", "https://evil.example"),
        )
        .await;

    // Assert: only the two cross-site requests are refused, and they moved nothing.
    assert_eq!(evil.status, StatusCode::FORBIDDEN, "{}", evil.text());
    assert_eq!(
        evil.json()["details"]["applicationError"]["code"],
        "PERMISSION_DENIED"
    );
    assert_eq!(fetch_meta.status, StatusCode::FORBIDDEN);
    assert_eq!(null.status, StatusCode::FORBIDDEN);
    for ok in [&curl, &dev_app, &dashboard, &health] {
        assert_eq!(ok.status, StatusCode::OK, "{}", ok.text());
    }
    let clock = app.get("/__admin/clock").await.json();
    assert_eq!(clock["now"], "2026-01-01T00:03:00.000Z");
}

#[tokio::test]
async fn two_namespace_headers_are_refused_instead_of_the_first_winning() {
    // Arrange: a real socket, since the in-process request builder keeps one value per header.
    let (addr, _app) = spawn_server(wix_oauth_mock::scenario::DEFAULT_YAML).await;

    // Act
    let raw = raw_exchange(
        &addr,
        "GET /__admin/clock HTTP/1.1\r\nHost: x\r\nX-Wix-Mock-Namespace: a\r\n\
         X-Wix-Mock-Namespace: b\r\nConnection: close\r\n\r\n",
    )
    .await;

    // Assert
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    assert!(text.contains("REPEATED"), "{text}");
}

#[tokio::test]
async fn the_pages_a_person_sees_cannot_be_framed_by_another_site() {
    // Arrange
    let app = spawn_app();

    // Act
    let page = app.get("/installer/install?appId=nope&redirectUrl=x").await;

    // Assert
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    let csp = page.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
}

#[tokio::test]
async fn secrets_under_any_spelling_are_redacted_in_the_journal() {
    // Arrange
    let app = spawn_app();
    let body = json!({
        "grant_type": "client_credentials",
        "CLIENT_SECRET": "s1", "client-secret": "s2", "api_key": "s3", "client_id": "visible"
    });

    // Act
    app.post_json("/oauth2/token", &body).await;
    let journal = app.get("/__admin/requests").await.text();

    // Assert
    for secret in ["s1", "s2", "s3"] {
        assert!(
            !journal.contains(&format!("\"{secret}\"")),
            "{secret} in {journal}"
        );
    }
    assert!(journal.contains("visible"));
}

async fn scenario_for_host(app: &TestApp, host: &str) -> Resp {
    app.send(
        warp::test::request()
            .method("GET")
            .path("/__admin/scenario")
            .header("host", host),
    )
    .await
}

#[tokio::test]
async fn the_admin_api_refuses_a_host_name_a_rebinding_page_could_point_here() {
    // Arrange
    let app = spawn_app();

    // Act
    let rebound = scenario_for_host(&app, "attacker.example:8787").await;
    let trailing_dot = scenario_for_host(&app, "attacker.example.").await;
    let health = app
        .send(
            warp::test::request()
                .path("/__admin/health")
                .header("host", "attacker.example"),
        )
        .await;
    let wix_api = app
        .send(
            warp::test::request()
                .path("/apps/v1/instance")
                .header("host", "attacker.example"),
        )
        .await;

    // Assert: no secrets for the rebound name, probes and Wix's API unaffected.
    assert_eq!(rebound.status, StatusCode::FORBIDDEN);
    assert!(!rebound.text().contains("secret"), "{}", rebound.text());
    assert!(
        rebound.text().contains("--allowed-host attacker.example"),
        "{}",
        rebound.text()
    );
    assert_eq!(trailing_dot.status, StatusCode::FORBIDDEN);
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(
        wix_api.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        wix_api.text()
    );
}

#[tokio::test]
async fn the_admin_api_answers_loopback_names_addresses_service_names_and_wix_hosts() {
    // Arrange
    let app = spawn_app();

    for host in [
        "localhost:8787",
        "LOCALHOST",
        "app.localhost:8787",
        "127.0.0.1:8787",
        "[::1]:8787",
        "192.0.2.10:8787",
        "wix-mock:8787",
        "www.wixapis.com",
        "edge.wixapis.com:8443",
    ] {
        // Act
        let res = scenario_for_host(&app, host).await;

        // Assert
        assert_eq!(res.status, StatusCode::OK, "{host}: {}", res.text());
    }
}

#[tokio::test]
async fn an_allowed_host_opens_the_admin_api_to_that_name_only() {
    // Arrange
    let app = spawn_app();
    app.namespaces.allow_hosts(vec!["Mock.Dev.Example".into()]);

    // Act
    let allowed = scenario_for_host(&app, "mock.dev.example:8787").await;
    let other = scenario_for_host(&app, "other.dev.example:8787").await;

    // Assert
    assert_eq!(allowed.status, StatusCode::OK, "{}", allowed.text());
    assert_eq!(other.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_json_parameter_given_twice_is_refused_like_a_repeated_form_parameter() {
    // Arrange
    let app = spawn_app();
    let body = format!(
        r#"{{"grant_type":"client_credentials","grant_type":"refresh_token","client_id":"{APP_ID}","client_secret":"{APP_SECRET}","instance_id":"{INSTANCE_ID}"}}"#
    );

    // Act
    let json = app
        .send(
            warp::test::request()
                .method("POST")
                .path("/oauth2/token")
                .header("content-type", "application/json")
                .body(body),
        )
        .await;
    let form = app
        .post_form(
            "/oauth2/token",
            "grant_type=client_credentials&grant_type=refresh_token",
        )
        .await;

    // Assert
    for res in [&json, &form] {
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text());
        assert_eq!(res.json()["error"], "invalid_request");
        assert!(res.text().contains("`grant_type` is given more than once"));
    }
}

#[tokio::test]
async fn an_all_caps_parameter_is_journaled_as_sent_not_mangled() {
    // Arrange
    let app = spawn_app();

    // Act
    app.post_form(
        "/oauth2/token",
        "grant_type=client_credentials&CLIENT_ID=x&clientId=y",
    )
    .await;
    let journal = app.get("/__admin/requests").await.json();

    // Assert
    let body = &journal["requests"][0]["body"];
    assert_eq!(body["CLIENT_ID"], "x", "{body}");
    assert_eq!(body["client_id"], "y", "{body}");
    assert!(body.get("_c_l_i_e_n_t__i_d").is_none(), "{body}");
}
