use serde_json::json;
use warp::http::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn the_app_market_sends_the_browser_to_the_app_url_with_a_token() {
    // Arrange
    let app = spawn_app();
    // Act
    let res = app
        .get(&format!("/app-market/install?appId={APP_ID}"))
        .await;
    // Assert
    insta::assert_json_snapshot!("app_market__redirect", snap(&res), {
        ".headers.location.query.token" => "[token]",
    });
}

#[tokio::test]
async fn the_installer_redirects_with_code_state_and_instance_id() {
    // Arrange
    let app = spawn_app();
    let token = app.app_market_token().await;
    // Act
    let res = app
        .get(&app.install_path(Some("xyz-123"), Some(&token)))
        .await;
    // Assert
    insta::assert_json_snapshot!("installer__redirect", snap(&res), {
        ".headers.location.query.code" => redact_prefixed("OAUTH2.CODE."),
        ".headers.location.query.instanceId" => "[instance_id]",
    });
    let q = res.location_query();
    assert_eq!(q["state"], "xyz-123");
    let state = app.state().await;
    let instance = &state["instances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["instance_id"] == q["instanceId"].as_str())
        .unwrap();
    assert_eq!(instance["setup_complete"], false);
}

#[tokio::test]
async fn state_is_echoed_exactly_and_omitted_when_none_was_sent() {
    let app = spawn_app();
    let odd = "a b&c=d/é?#";
    let res = app.get(&app.install_path(Some(odd), None)).await;
    assert_eq!(res.location_query()["state"], odd);

    let res = app.get(&app.install_path(None, None)).await;
    assert_eq!(res.status, StatusCode::FOUND);
    assert!(!res.location_query().contains_key("state"));
}

#[tokio::test]
async fn an_install_without_app_market_token_lands_on_a_new_site() {
    let app = spawn_app();
    let first = app
        .get(&app.install_path(None, None))
        .await
        .location_query();
    let second = app
        .get(&app.install_path(None, None))
        .await
        .location_query();
    assert_ne!(first["instanceId"], second["instanceId"]);
    assert_ne!(first["instanceId"], INSTANCE_ID);
}

#[tokio::test]
async fn installing_on_a_site_that_has_the_app_reuses_its_instance() {
    let app = spawn_app();
    let res = app
        .get(&format!(
            "/app-market/install?appId={APP_ID}&siteId={SITE_ID}"
        ))
        .await;
    let token = res.location_query()["token"].clone();
    let res = app.get(&app.install_path(None, Some(&token))).await;
    assert_eq!(res.location_query()["instanceId"], INSTANCE_ID);
}

#[tokio::test]
async fn an_unregistered_redirect_url_gets_the_html_error_page_and_no_redirect() {
    // Arrange
    let app = spawn_app();
    let path = format!(
        "/installer/install?appId={APP_ID}&redirectUrl={}&state=s",
        "http%3A%2F%2Fevil.example%2Fcallback"
    );
    // Act
    let res = app.get(&path).await;
    // Assert
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(res.header("location").is_none());
    insta::assert_json_snapshot!("installer__unregistered_redirect", snap(&res));
    assert!(app.state().await["codes"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_redirect_url_that_only_starts_like_a_registered_one_is_refused() {
    let app = spawn_app();
    for bad in [
        "http://localhost:3000/wix/oauth/callback/extra",
        "http://localhost:3000/wix/oauth/callback?x=1",
        "HTTP://localhost:3000/wix/oauth/callback",
        "http://localhost:3000/wix/oauth/callbac",
    ] {
        let q = serde_urlencoded::to_string([("appId", APP_ID), ("redirectUrl", bad)]).unwrap();
        let res = app.get(&format!("/installer/install?{q}")).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(res.header("location").is_none(), "{bad}");
    }
}

#[tokio::test]
async fn a_forged_install_token_is_refused() {
    let app = spawn_app();
    let res = app
        .get(&app.install_path(Some("s"), Some("forged-token")))
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(
        res.text().contains("install token is unknown"),
        "{}",
        res.text()
    );
    assert!(res.header("location").is_none());
}

#[tokio::test]
async fn an_install_token_works_once() {
    let app = spawn_app();
    let token = app.app_market_token().await;
    assert_eq!(
        app.get(&app.install_path(None, Some(&token))).await.status,
        StatusCode::FOUND
    );
    let again = app.get(&app.install_path(None, Some(&token))).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn an_install_token_for_another_app_is_refused() {
    let other = "0b5b7c8d-1111-4222-8333-444455556666";
    let yaml = format!(
        "apps:\n  - id: {APP_ID}\n    name: A\n    secret: s\n    app_url: http://localhost/a\n    redirect_urls: [{REDIRECT_URL}]\n  - id: {other}\n    name: B\n    secret: s\n    app_url: http://localhost/b\n    redirect_urls: [{REDIRECT_URL}]\n"
    );
    let app = spawn_app_with(&yaml);
    let res = app.get(&format!("/app-market/install?appId={other}")).await;
    let token = res.location_query()["token"].clone();
    let res = app.get(&app.install_path(None, Some(&token))).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(res.text().contains("another app"), "{}", res.text());
}

#[tokio::test]
async fn an_install_token_expires() {
    let app = spawn_app();
    let token = app.app_market_token().await;
    app.advance_clock(601).await;
    let res = app.get(&app.install_path(None, Some(&token))).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
}

fn consent_scenario() -> String {
    format!(
        "consent: page\napps:\n  - id: {APP_ID}\n    name: Consent <App>\n    secret: s3cret\n    app_url: http://localhost/app\n    redirect_urls: [{REDIRECT_URL}]\n    scopes: [SCOPE.DC-STORES.MANAGE-PRODUCTS, SCOPE.DC-CONTACTS.READ-CONTACTS]\n"
    )
}

fn consent_id(html: &str) -> String {
    let marker = "name=\"consent_id\" value=\"";
    let start = html.find(marker).expect("a consent_id field") + marker.len();
    html[start..].split('"').next().unwrap().to_string()
}

#[tokio::test]
async fn the_consent_page_lists_the_permissions_and_approve_installs() {
    // Arrange
    let app = spawn_app_with(&consent_scenario());
    // Act
    let page = app.get(&app.install_path(Some("st"), None)).await;
    // Assert: the page, escaped, with both buttons.
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("Consent &lt;App&gt;"));
    // Each permission has a readable label next to its scope id.
    assert!(html.contains(
        "<span class=\"perm-label\">Manage products</span><span class=\"scope\">SCOPE.DC-STORES.MANAGE-PRODUCTS</span>"
    ));
    assert!(html.contains("<span class=\"perm-label\">Read contacts</span>"));
    assert!(html.contains("value=\"approve\"") && html.contains("value=\"deny\""));
    assert!(
        app.state().await["instances"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let res = app
        .post_form(
            "/installer/consent",
            &format!("consent_id={}&decision=approve", consent_id(&html)),
        )
        .await;
    assert_eq!(res.status, StatusCode::FOUND);
    let q = res.location_query();
    assert!(q["code"].starts_with("OAUTH2.CODE."));
    assert_eq!(q["state"], "st");
    assert_eq!(app.state().await["instances"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn deny_on_the_consent_page_redirects_with_access_denied_and_installs_nothing() {
    let app = spawn_app_with(&consent_scenario());
    let html = app.get(&app.install_path(Some("st"), None)).await.text();
    let res = app
        .post_form(
            "/installer/consent",
            &format!("consent_id={}&decision=deny", consent_id(&html)),
        )
        .await;
    insta::assert_json_snapshot!("installer__consent_denied", snap(&res));
    assert!(
        app.state().await["instances"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_consent_page_can_be_answered_once() {
    let app = spawn_app_with(&consent_scenario());
    let html = app.get(&app.install_path(None, None)).await.text();
    let body = format!("consent_id={}&decision=approve", consent_id(&html));
    assert_eq!(
        app.post_form("/installer/consent", &body).await.status,
        StatusCode::FOUND
    );
    let again = app.post_form("/installer/consent", &body).await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert!(again.header("location").is_none());
}

#[tokio::test]
async fn close_window_records_that_the_flow_finished() {
    // Arrange
    let app = spawn_app();
    let (access, _, instance_id) = app.installed_tokens().await;
    // Act
    let res = app
        .get(&format!("/installer/close-window?access_token={access}"))
        .await;
    // Assert
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.text().contains("You can close this window"));
    let state = app.state().await;
    let instance = state["instances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["instance_id"] == instance_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        instance["window_closed_at"],
        json!("2026-01-01T00:00:00.000Z")
    );
}

#[tokio::test]
async fn close_window_with_a_bad_token_shows_the_page_and_records_nothing() {
    let app = spawn_app();
    let res = app.get("/installer/close-window?access_token=nope").await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.text().contains("recorded nothing"));
}
