//! The dashboard's files and the admin API it relies on (the browser tests in tests/browser/ drive it).

use serde_json::{Value, json};
use warp::http::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn the_dashboard_shell_script_and_style_are_served_with_a_strict_policy() {
    // Arrange
    let app = spawn_app();
    // Act
    let shell = app.get("/__admin/ui").await;
    let script = app.get("/__admin/ui/app.js").await;
    let style = app.get("/__admin/ui/style.css").await;
    // Assert
    assert_eq!(shell.status, StatusCode::OK);
    assert_eq!(
        shell.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(
        shell
            .text()
            .contains("<script src=\"ui/app.js\" defer></script>")
    );
    assert!(shell.text().contains("<main id=\"main\""));
    assert_eq!(
        script.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert!(script.text().contains("'/__admin/state'"));
    assert_eq!(
        style.header("content-type"),
        Some("text/css; charset=utf-8")
    );
    for res in [&shell, &script, &style] {
        let csp = res.header("content-security-policy").unwrap();
        assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"));
    }
    // The dashboard's own calls are admin calls: nothing is journaled.
    assert_eq!(app.get("/__admin/requests").await.json()["count"], 0);
}

#[tokio::test]
async fn with_an_admin_token_the_dashboard_files_load_but_its_data_needs_the_token() {
    // Arrange
    let app = spawn_with_admin_token();
    // Act / Assert
    for path in ["/__admin/ui", "/__admin/ui/app.js", "/__admin/ui/style.css"] {
        assert_eq!(app.get(path).await.status, StatusCode::OK, "{path}");
    }
    for path in [
        "/__admin/faults/presets",
        "/__admin/state",
        "/__admin/ui/other",
    ] {
        assert_eq!(
            app.get(path).await.status,
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
    }
    assert_eq!(
        app.get_with_token("/__admin/faults/presets", &format!("Bearer {ADMIN_TOKEN}"))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn every_fault_preset_can_be_armed_as_listed() {
    // Arrange
    let app = spawn_app();
    let presets = app.get("/__admin/faults/presets").await.json()["presets"]
        .as_array()
        .unwrap()
        .clone();
    // Act: post each preset's faults exactly as the dashboard does.
    let mut armed = 0;
    for p in &presets {
        let res = app.post_json("/__admin/faults", &p["faults"]).await;
        assert_eq!(
            res.status,
            StatusCode::CREATED,
            "{}: {}",
            p["id"],
            res.text()
        );
        armed += p["faults"].as_array().unwrap().len();
    }
    // Assert
    let ids: Vec<&str> = presets.iter().map(|p| p["id"].as_str().unwrap()).collect();
    for id in [
        "flaky-5xx",
        "flaky-5xx/then-503",
        "token-expiry",
        "error/rate_limited",
    ] {
        assert!(ids.contains(&id), "{id} in {ids:?}");
    }
    let listed = app.get("/__admin/faults").await.json()["faults"].clone();
    assert_eq!(listed.as_array().unwrap().len(), armed);
}

#[tokio::test]
async fn an_error_preset_fires_once_on_the_next_request_and_the_journal_names_it() {
    // Arrange
    let app = spawn_app();
    let presets = app.get("/__admin/faults/presets").await.json();
    let preset: &Value = presets["presets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "error/internal")
        .unwrap();
    app.post_json("/__admin/faults", &preset["faults"]).await;
    // Act
    let first = app.get("/apps/v1/instance").await;
    let second = app.get("/apps/v1/instance").await;
    // Assert
    assert_eq!(first.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(second.status, StatusCode::UNAUTHORIZED);
    let journal = app.get("/__admin/requests").await.json();
    assert_eq!(journal["requests"][0]["faults"], json!(["once-internal"]));
}

#[tokio::test]
async fn the_dashboard_links_stay_in_the_namespace_it_was_opened_in() {
    // Arrange
    let app = spawn_app();

    // Act
    let page = app.get("/__ns/suite-a/__admin/ui").await;
    let slash = app.get("/__ns/suite-a/__admin/ui/").await;
    let script = app.get("/__ns/suite-a/__admin/ui/app.js").await;

    // Assert: relative links, which a browser resolves under /__ns/suite-a/__admin/.
    let html = page.text();
    for href in [
        r#"href="state""#,
        r#"href="requests""#,
        r#"href="conformance?format=text""#,
        r#"src="ui/app.js""#,
    ] {
        assert!(html.contains(href), "{href} missing");
    }
    assert!(
        !html.contains(r#"href="/__admin"#),
        "an absolute link leaves the namespace"
    );
    assert_eq!(slash.status, 308);
    assert_eq!(slash.headers["location"], "../ui");
    assert_eq!(script.status, 200);
}
