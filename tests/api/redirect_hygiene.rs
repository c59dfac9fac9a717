//! Issue 18, redirect hygiene: every attack URL of the issue, through every place the mock sends a
//! browser (installer, App Market, member login, logout page, logout session) and the webhook URL.
//! None may come back in a `Location`, and each gets the specific 400 of its endpoint.

use serde_json::{Value, json};
use warp::http::StatusCode;

use crate::helpers::*;

const SDK_PATH: &str = "/_api/redirects-api/v1/redirect-session";

/// The attack URLs of issue 18 and their near relatives: script and non-web schemes, userinfo,
/// backslashes, control characters, missing slashes, and hosts the apps never registered.
const ATTACKS: &[&str] = &[
    "javascript://localhost/%0aalert(1)",
    "JavaScript://localhost/%0aalert(1)",
    "ftp://localhost/",
    "data:text/html,<script>alert(1)</script>",
    "http://localhost\\@evil.example/",
    "http://localhost:3000\\@evil.example/",
    "http://user@localhost/",
    "http://localhost:3000@evil.example/",
    "http://local\thost/",
    "http://localhost/\r\nSet-Cookie:%20a=b",
    " http://localhost/",
    "http:localhost/",
    "http:/localhost/",
    "//evil.example/",
    "https://evil.example/",
    "http://localhost.evil.example/",
];

fn q(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap()
}

fn assert_no_redirect(res: &Resp, url: &str) {
    assert_eq!(
        res.status,
        StatusCode::BAD_REQUEST,
        "{url:?}: {}",
        res.text()
    );
    assert!(
        res.header("location").is_none(),
        "{url:?} was redirected to"
    );
}

async fn visitor(app: &TestApp) -> String {
    app.mint(&json!({"identity": "visitor", "client_id": CLIENT_ID}))
        .await
        .0
}

async fn session(app: &TestApp, token: &str, body: &Value) -> Resp {
    app.post_json_with_token(SDK_PATH, token, body).await
}

#[tokio::test]
async fn regression_18_the_logout_page_never_redirects_to_an_attack_url() {
    // Arrange
    let app = spawn_app();
    for url in ATTACKS {
        // Act
        let res = app
            .get(&format!(
                "/oauth2/logout?{}",
                q(&[("clientId", CLIENT_ID), ("postFlowUrl", url)])
            ))
            .await;
        // Assert
        assert_no_redirect(&res, url);
    }
}

#[tokio::test]
async fn regression_18_a_logout_session_refuses_every_attack_url() {
    // Arrange
    let app = spawn_app();
    for url in ATTACKS {
        let token = visitor(&app).await;
        let body = json!({"logout": {"clientId": CLIENT_ID}, "callbacks": {"postFlowUrl": url}});
        // Act
        let res = session(&app, &token, &body).await;
        // Assert
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{url:?}");
        let violation = &res.json()["details"]["validationError"]["fieldViolations"][0];
        assert_eq!(violation["field"], "callbacks.postFlowUrl", "{url:?}");
        assert_eq!(violation["violatedRule"], "NOT_ALLOWED", "{url:?}");
    }
}

#[tokio::test]
async fn a_logout_to_an_allowed_domain_still_redirects_there_exactly() {
    // Arrange
    let app = spawn_app();
    // Act
    let res = app
        .get(&format!(
            "/oauth2/logout?{}",
            q(&[
                ("clientId", CLIENT_ID),
                ("postFlowUrl", "http://LOCALHOST:4000/bye?x=1")
            ])
        ))
        .await;
    // Assert: the domain list says `localhost`, any port; host names compare without case. The
    // page sends the parsed URL on, with Wix's `wixMemberLoggedIn` added.
    assert_eq!(res.status, StatusCode::FOUND, "{}", res.text());
    assert_eq!(
        res.header("location"),
        Some("http://localhost:4000/bye?x=1&wixMemberLoggedIn=false")
    );
}

#[tokio::test]
async fn a_domain_registered_with_a_port_allows_only_that_port() {
    // Arrange
    let app = spawn_app();
    app.app.with_world(|w, _, _| {
        w.oauth_app_mut(CLIENT_ID).unwrap().allowed_redirect_domains =
            vec!["app.example:8443".into()];
    });
    let logout = |url: &str| {
        format!(
            "/oauth2/logout?{}",
            q(&[("clientId", CLIENT_ID), ("postFlowUrl", url)])
        )
    };
    // Act
    let same = app.get(&logout("https://app.example:8443/out")).await;
    let other = app.get(&logout("https://app.example/out")).await;
    // Assert
    assert_eq!(same.status, StatusCode::FOUND, "{}", same.text());
    assert_no_redirect(&other, "https://app.example/out");
}

#[tokio::test]
async fn regression_18_the_installer_never_redirects_to_an_attack_url() {
    // Arrange
    let app = spawn_app();
    for url in ATTACKS {
        // Act
        let res = app
            .get(&format!(
                "/installer/install?{}",
                q(&[("appId", APP_ID), ("redirectUrl", url), ("state", "s")])
            ))
            .await;
        // Assert
        assert_no_redirect(&res, url);
    }
}

#[tokio::test]
async fn a_registered_redirect_url_that_fails_the_check_is_never_used() {
    // Arrange: a redirect URL registered with userinfo (the scenario check allows any http(s) URL).
    let app = spawn_app();
    let bad = "http://localhost:3000@evil.example/cb";
    app.app.with_world(|w, _, _| {
        w.app_mut(APP_ID).unwrap().redirect_urls.push(bad.into());
    });
    // Act
    let res = app
        .get(&format!(
            "/installer/install?{}",
            q(&[("appId", APP_ID), ("redirectUrl", bad)])
        ))
        .await;
    // Assert
    assert_no_redirect(&res, bad);
    assert!(
        res.text().contains("user name or password"),
        "{}",
        res.text()
    );
}

#[tokio::test]
async fn the_app_market_never_redirects_to_an_app_url_that_fails_the_check() {
    // Arrange
    let app = spawn_app();
    app.app.with_world(|w, _, _| {
        w.app_mut(APP_ID).unwrap().app_url = "http://localhost\\@evil.example/".into();
    });
    // Act
    let res = app
        .get(&format!("/app-market/install?appId={APP_ID}"))
        .await;
    // Assert
    assert_no_redirect(&res, "App URL");
}

#[tokio::test]
async fn regression_18_a_login_session_refuses_every_attack_redirect_uri() {
    // Arrange: every attack URL is even registered, as the OAuth Apps API lets any absolute URI be.
    let app = spawn_app();
    app.app.with_world(|w, _, _| {
        let o = w.oauth_app_mut(CLIENT_ID).unwrap();
        o.allowed_redirect_uris
            .extend(ATTACKS.iter().map(|s| s.to_string()));
    });
    // The ones that are clean http(s) URLs of unregistered hosts are acceptable once registered.
    let clean = ["https://evil.example/", "http://localhost.evil.example/"];
    for url in ATTACKS.iter().filter(|u| !clean.contains(u)) {
        let token = visitor(&app).await;
        let body = json!({"auth": {"authRequest": {
            "redirectUri": url, "clientId": CLIENT_ID, "codeChallenge": PKCE_CHALLENGE,
            "codeChallengeMethod": "S256", "responseMode": "query", "responseType": "code",
        }}});
        // Act
        let res = session(&app, &token, &body).await;
        // Assert
        assert_eq!(
            res.status,
            StatusCode::BAD_REQUEST,
            "{url:?}: {}",
            res.text()
        );
        let violation = &res.json()["details"]["validationError"]["fieldViolations"][0];
        assert_eq!(
            violation["field"], "auth.authRequest.redirectUri",
            "{url:?}"
        );
    }
}

#[tokio::test]
async fn a_native_app_redirect_uri_with_a_reverse_domain_scheme_still_works() {
    // Arrange (RFC 8252 §7.1)
    let app = spawn_app();
    let native = "com.example.app:/oauth-callback";
    app.app.with_world(|w, _, _| {
        w.oauth_app_mut(CLIENT_ID)
            .unwrap()
            .allowed_redirect_uris
            .push(native.into());
    });
    let token = visitor(&app).await;
    let body = json!({"auth": {"authRequest": {
        "redirectUri": native, "clientId": CLIENT_ID, "codeChallenge": PKCE_CHALLENGE,
        "codeChallengeMethod": "S256", "responseMode": "query", "responseType": "code",
    }}});
    // Act
    let res = session(&app, &token, &body).await;
    // Assert
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
}

#[tokio::test]
async fn a_webhook_url_must_pass_the_same_check() {
    // Arrange
    let app = spawn_app();
    for url in [
        "http://localhost\\@evil.example/hook",
        "http://u:p@localhost/hook",
        "ftp://localhost/",
    ] {
        // Act
        let res = app
            .app
            .with_world(|w, _, _| w.set_webhook_url(APP_ID, Some(url.into())));
        // Assert
        assert!(res.is_err(), "{url:?}");
    }
    let ok = app
        .app
        .with_world(|w, _, _| w.set_webhook_url(APP_ID, Some("http://127.0.0.1:9/hook".into())));
    assert!(ok.is_ok());
}
