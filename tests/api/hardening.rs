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
            ("origin", "http://mock.test:8787"),
            ("host", "mock.test:8787"),
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
