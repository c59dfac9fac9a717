use std::collections::BTreeMap;

use serde_json::{Value, json};
use warp::http::StatusCode;

use crate::helpers::*;

const SDK_PATH: &str = "/_api/redirects-api/v1/redirect-session";

fn auth_request(mode: &str) -> Value {
    json!({"auth": {"authRequest": {
        "redirectUri": CLIENT_REDIRECT, "clientId": CLIENT_ID, "codeChallenge": PKCE_CHALLENGE,
        "codeChallengeMethod": "S256", "responseMode": mode, "responseType": "code",
        "scope": "offline_access", "state": "st-1"
    }, "prompt": "login"}})
}

/// Posts a redirect session as the SDK does (visitor token, Host of the mock).
async fn create_session(app: &TestApp, token: &str, body: &Value) -> Resp {
    app.send(
        warp::test::request()
            .method("POST")
            .path(SDK_PATH)
            .header("host", "127.0.0.1:34567")
            .header("content-type", "application/json")
            .header("authorization", token)
            .body(body.to_string()),
    )
    .await
}

async fn visitor(app: &TestApp) -> String {
    app.mint(&json!({"identity": "visitor", "client_id": CLIENT_ID}))
        .await
        .0
}

/// The path and query of a session's fullUrl, to drive in-process.
fn local(full_url: &str) -> String {
    let u = url::Url::parse(full_url).unwrap();
    format!("{}?{}", u.path(), u.query().unwrap_or(""))
}

/// Login session → authorize page → the callback's parameters (fragment or query).
async fn login(app: &TestApp, mode: &str) -> BTreeMap<String, String> {
    let token = visitor(app).await;
    let res = create_session(app, &token, &auth_request(mode)).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let full = res.json()["redirectSession"]["fullUrl"]
        .as_str()
        .unwrap()
        .to_string();
    let page = app.get(&local(&full)).await;
    assert_eq!(page.status, StatusCode::FOUND, "{}", page.text());
    let location = page.location();
    let params = if mode == "query" {
        location.query().unwrap_or("")
    } else {
        location.fragment().unwrap_or("")
    };
    url::form_urlencoded::parse(params.as_bytes())
        .into_owned()
        .collect()
}

fn exchange(code: &str, verifier: &str) -> Value {
    json!({"clientId": CLIENT_ID, "grantType": "authorization_code", "redirectUri": CLIENT_REDIRECT, "code": code, "codeVerifier": verifier})
}

#[tokio::test]
async fn a_redirect_session_points_at_the_mocks_own_authorize_page() {
    // Arrange
    let app = spawn_app();
    let token = visitor(&app).await;
    // Act
    let res = create_session(&app, &token, &auth_request("query")).await;
    // Assert
    insta::assert_json_snapshot!("member_login__redirect_session", snap(&res), {
        ".body.redirectSession.id" => "[id]",
        ".body.redirectSession.fullUrl" => redact_prefixed("http://127.0.0.1:34567/oauth2/authorize?redirectSessionId="),
        ".body.redirectSession.shortUrl" => redact_prefixed("http://127.0.0.1:34567/oauth2/authorize?redirectSessionId="),
        ".body.redirectSession.urlDetails.searchParams.redirectSessionId" => "[id]",
        ".body.redirectSession.sessionToken" => redact_prefixed("SESSION."),
    });
    let documented = app
        .post_json_with_token(
            "/redirect-session/v1/redirect-session",
            &token,
            &auth_request("query"),
        )
        .await;
    assert_eq!(documented.status, StatusCode::OK);
    assert!(
        documented.json()["redirectSession"]["fullUrl"]
            .as_str()
            .unwrap()
            .starts_with("http://localhost/oauth2/authorize?"),
        "no Host header falls back to localhost"
    );
}

#[tokio::test]
async fn the_authorize_page_logs_in_a_member_and_redirects_with_code_and_state_in_the_fragment() {
    // Arrange
    let app = spawn_app();
    let token = visitor(&app).await;
    let res = create_session(&app, &token, &auth_request("fragment")).await;
    let full = res.json()["redirectSession"]["fullUrl"]
        .as_str()
        .unwrap()
        .to_string();
    // Act
    let page = app.get(&local(&full)).await;
    // Assert
    assert_eq!(page.status, StatusCode::FOUND);
    let location = page.location();
    assert_eq!(
        location.as_str().split('#').next().unwrap(),
        CLIENT_REDIRECT
    );
    let fragment: BTreeMap<String, String> =
        url::form_urlencoded::parse(location.fragment().unwrap().as_bytes())
            .into_owned()
            .collect();
    assert!(fragment["code"].starts_with("OAUTH2.MCODE."));
    assert_eq!(fragment["state"], "st-1");
    let reused = app.get(&local(&full)).await;
    assert_eq!(
        reused.status,
        StatusCode::BAD_REQUEST,
        "a session is used once"
    );
}

#[tokio::test]
async fn the_code_and_pkce_verifier_give_member_tokens() {
    // Arrange
    let app = spawn_app();
    let callback = login(&app, "query").await;
    // Act
    let res = app
        .oauth2_token(&exchange(&callback["code"], PKCE_VERIFIER))
        .await;
    // Assert
    insta::assert_json_snapshot!("member_login__member_tokens", snap(&res), {
        ".body.access_token" => redact_prefixed("OauthNG.JWS."),
        ".body.refresh_token" => redact_prefixed("OAUTH2.MREFRESH."),
    });
    let token = res.json()["access_token"].as_str().unwrap().to_string();
    insta::assert_json_snapshot!("member_login__member_claims", decode_claims(&token), {
        ".header.kid" => "[kid]",
        ".claims.data.instance.siteOwnerId" => "[site_owner_id]",
    });
}

#[tokio::test]
async fn a_wrong_verifier_issues_nothing_and_the_code_still_works_once() {
    // Arrange
    let app = spawn_app();
    let callback = login(&app, "query").await;
    let code = &callback["code"];
    let other_verifier = "x".repeat(43);
    // Act
    let wrong = app.oauth2_token(&exchange(code, &other_verifier)).await;
    let right = app.oauth2_token(&exchange(code, PKCE_VERIFIER)).await;
    let reused = app.oauth2_token(&exchange(code, PKCE_VERIFIER)).await;
    // Assert
    insta::assert_json_snapshot!("member_login__wrong_verifier", snap(&wrong));
    assert_eq!(right.status, StatusCode::OK, "{}", right.text());
    insta::assert_json_snapshot!("member_login__reused_code", snap(&reused));
}

#[tokio::test]
async fn a_code_expires_after_ten_minutes_and_must_match_its_redirect_uri() {
    // Arrange
    let app = spawn_app();
    let callback = login(&app, "query").await;
    let mut other_uri = exchange(&callback["code"], PKCE_VERIFIER);
    other_uri["redirectUri"] = json!("http://localhost:3000/other");
    let malformed = exchange(&callback["code"], "short");
    // Act
    let wrong_uri = app.oauth2_token(&other_uri).await;
    let bad_verifier = app.oauth2_token(&malformed).await;
    app.advance_clock(600).await;
    let expired = app
        .oauth2_token(&exchange(&callback["code"], PKCE_VERIFIER))
        .await;
    // Assert
    assert_eq!(wrong_uri.status, StatusCode::BAD_REQUEST);
    insta::assert_json_snapshot!("member_login__malformed_verifier", snap(&bad_verifier));
    insta::assert_json_snapshot!("member_login__expired_code", snap(&expired));
}

#[tokio::test]
async fn bad_redirect_sessions_are_refused_before_anything_is_created() {
    // Arrange
    let app = spawn_app();
    let token = visitor(&app).await;
    let mut unregistered = auth_request("query");
    unregistered["auth"]["authRequest"]["redirectUri"] =
        json!("http://localhost:3000/callback/evil");
    let mut plain = auth_request("query");
    plain["auth"]["authRequest"]["codeChallengeMethod"] = json!("plain");
    plain["auth"]["authRequest"]["responseMode"] = json!("form_post");
    plain["auth"]["authRequest"]["clientId"] = json!("");
    let mut unknown_client = auth_request("query");
    unknown_client["auth"]["authRequest"]["clientId"] =
        json!("11111111-2222-4333-8444-555555555555");
    let cases = [
        ("unregistered_redirect_uri", unregistered),
        ("missing_and_unsupported_fields", plain),
        ("unknown_client", unknown_client),
        ("no_flow", json!({"callbacks": {}})),
        (
            "wrong_types",
            json!({"auth": {"authRequest": {"clientId": 7}}}),
        ),
    ];
    for (name, body) in cases {
        // Act
        let res = create_session(&app, &token, &body).await;
        // Assert
        insta::assert_json_snapshot!(format!("member_login__bad_{name}"), snap(&res));
    }
    let anonymous = app.post_json(SDK_PATH, &auth_request("query")).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let state = app.state().await;
    assert_eq!(state["identities"]["open_login_sessions"], 0);
}

#[tokio::test]
async fn the_login_form_checks_the_password_and_cancel_returns_an_error_to_the_client() {
    // Arrange
    let app = spawn_app_with(&form_login_scenario());
    let token = visitor(&app).await;
    let full = create_session(&app, &token, &auth_request("query"))
        .await
        .json()["redirectSession"]["fullUrl"]
        .as_str()
        .unwrap()
        .to_string();
    let id = url::Url::parse(&full)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "redirectSessionId")
        .unwrap()
        .1
        .into_owned();
    // Act
    let form = app.get(&local(&full)).await;
    let wrong = app
        .post_form(
            "/oauth2/authorize",
            &format!("redirectSessionId={id}&email={MEMBER_EMAIL}&password=nope&action=login"),
        )
        .await;
    let right = app
        .post_form(
            "/oauth2/authorize",
            &format!(
                "redirectSessionId={id}&email={MEMBER_EMAIL}&password={MEMBER_PASSWORD}&action=login"
            ),
        )
        .await;
    // Assert
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.text().contains("name=\"password\""), "{}", form.text());
    assert_eq!(wrong.status, StatusCode::OK);
    assert!(wrong.text().contains("wrong e-mail or password"));
    assert_eq!(right.status, StatusCode::FOUND, "{}", right.text());
    assert!(right.location_query()["code"].starts_with("OAUTH2.MCODE."));

    let full = create_session(&app, &token, &auth_request("query"))
        .await
        .json()["redirectSession"]["fullUrl"]
        .as_str()
        .unwrap()
        .to_string();
    let id = full.split("redirectSessionId=").nth(1).unwrap();
    let cancel = app
        .post_form(
            "/oauth2/authorize",
            &format!("redirectSessionId={id}&action=cancel"),
        )
        .await;
    insta::assert_json_snapshot!("member_login__cancel", snap(&cancel));
}

/// A login session's id, created with a visitor token.
async fn session_id(app: &TestApp) -> String {
    let token = visitor(app).await;
    let full = create_session(app, &token, &auth_request("query"))
        .await
        .json()["redirectSession"]["fullUrl"]
        .as_str()
        .unwrap()
        .to_string();
    full.split("redirectSessionId=").nth(1).unwrap().to_string()
}

const SECOND_MEMBER_ID: &str = "7d2e4c90-5d6f-4e70-a182-9c0d1e2f3041";

#[tokio::test]
async fn the_login_form_lists_the_sites_members_and_logs_a_picked_one_in() {
    // Arrange
    let app = spawn_app_with(&form_login_scenario());
    let id = session_id(&app).await;
    // Act
    let form = app
        .get(&format!("/oauth2/authorize?redirectSessionId={id}"))
        .await;
    let wrong = app
        .post_form(
            "/oauth2/authorize",
            &format!("redirectSessionId={id}&member={MEMBER_ID}&password=nope&action=login"),
        )
        .await;
    let picked = app
        .post_form(
            "/oauth2/authorize",
            &format!(
                "redirectSessionId={id}&member={SECOND_MEMBER_ID}&email=&password=&action=login"
            ),
        )
        .await;
    // Assert: both members listed, the first one picked, and a picked member needs only their password.
    let html = form.text();
    assert!(
        html.contains(&format!("value=\"{MEMBER_ID}\" checked")),
        "{html}"
    );
    assert!(html.contains(&format!("value=\"{SECOND_MEMBER_ID}\">")));
    assert!(html.contains("Demo Member") && html.contains("Second Member"));
    assert!(html.contains("<label class=\"field\"><span>Password</span>"));
    assert!(wrong.text().contains("wrong password"));
    assert!(
        wrong
            .text()
            .contains(&format!("value=\"{MEMBER_ID}\" checked"))
    );
    assert_eq!(picked.status, StatusCode::FOUND, "{}", picked.text());
    let code = picked.location_query()["code"].clone();
    let tokens = app
        .oauth2_token(&exchange(&code, PKCE_VERIFIER))
        .await
        .json();
    let info = app
        .token_info(tokens["access_token"].as_str().unwrap())
        .await
        .json();
    assert_eq!(info["subjectId"], SECOND_MEMBER_ID);
}

#[tokio::test]
async fn sign_up_on_the_login_form_adds_a_member_who_is_logged_in_at_once() {
    // Arrange
    let app = spawn_app_with(&form_login_scenario());
    let first = session_id(&app).await;
    let second = session_id(&app).await;
    // Act
    let signup = app
        .post_form(
            "/oauth2/authorize",
            &format!("redirectSessionId={first}&member=&email=new%40example.com&password=pw&action=signup"),
        )
        .await;
    let again = app
        .post_form(
            "/oauth2/authorize",
            &format!("redirectSessionId={second}&email=NEW%40example.com&action=signup"),
        )
        .await;
    let bad = app
        .post_form(
            "/oauth2/authorize",
            &format!("redirectSessionId={second}&email=%3Cb%3E&action=signup"),
        )
        .await;
    // Assert
    assert_eq!(signup.status, StatusCode::FOUND, "{}", signup.text());
    assert!(signup.location_query()["code"].starts_with("OAUTH2.MCODE."));
    let members = app.state().await["identities"]["members"].clone();
    assert!(
        members
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["email"] == "new@example.com" && m["nickname"] == "new"),
        "{members}"
    );
    assert!(again.text().contains("already exists"));
    assert!(bad.text().contains("value=\"&lt;b&gt;\""), "{}", bad.text());
}

/// The built-in scenario with `member_login: form`.
fn form_login_scenario() -> String {
    format!(
        "member_login: form\n{}",
        wix_oauth_mock::scenario::DEFAULT_YAML.replace("member_login: auto", "")
    )
}

#[tokio::test]
async fn auto_login_can_name_the_member_and_refuses_a_stranger() {
    // Arrange
    let app = spawn_app();
    let token = visitor(&app).await;
    let mut sessions = Vec::new();
    for _ in 0..2 {
        let res = create_session(&app, &token, &auth_request("query")).await;
        sessions.push(local(
            res.json()["redirectSession"]["fullUrl"].as_str().unwrap(),
        ));
    }
    // Act
    let named = app
        .get(&format!(
            "{}&member=second@demo-site.example.com",
            sessions[0]
        ))
        .await;
    let stranger = app
        .get(&format!("{}&member=nobody@example.com", sessions[1]))
        .await;
    // Assert
    let code = named.location_query()["code"].clone();
    let tokens = app
        .oauth2_token(&exchange(&code, PKCE_VERIFIER))
        .await
        .json();
    let info = app
        .token_info(tokens["access_token"].as_str().unwrap())
        .await
        .json();
    assert_eq!(info["subjectId"], "7d2e4c90-5d6f-4e70-a182-9c0d1e2f3041");
    insta::assert_json_snapshot!("member_login__stranger", snap(&stranger));
}

#[tokio::test]
async fn logout_revokes_every_token_of_the_member_and_a_new_login_works() {
    // Arrange
    let app = spawn_app();
    let callback = login(&app, "query").await;
    let tokens = app
        .oauth2_token(&exchange(&callback["code"], PKCE_VERIFIER))
        .await
        .json();
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();
    let (other_device, _) = app
        .mint(&json!({"identity": "member", "client_id": CLIENT_ID, "member_id": MEMBER_ID}))
        .await;
    let body = json!({"logout": {"clientId": CLIENT_ID}, "callbacks": {"postFlowUrl": "http://localhost:3000/"}});
    // Act
    let res = create_session(&app, &access, &body).await;
    // Assert
    insta::assert_json_snapshot!("member_login__logout_session", snap(&res), {
        ".body.redirectSession.id" => "[id]",
        ".body.redirectSession.sessionToken" => redact_prefixed("SESSION."),
    });
    assert_eq!(app.token_info(&access).await.json()["active"], false);
    assert_eq!(
        app.token_info(&other_device).await.json()["active"],
        false,
        "{:?} {:?}",
        decode_claims(&other_device),
        decode_claims(&access)
    );
    let renew = app
        .oauth2_token(
            &json!({"clientId": CLIENT_ID, "grantType": "refresh_token", "refreshToken": refresh}),
        )
        .await;
    assert_eq!(renew.status, StatusCode::BAD_REQUEST);
    let page = app
        .get(&local(
            res.json()["redirectSession"]["fullUrl"].as_str().unwrap(),
        ))
        .await;
    // Wix adds wixMemberLoggedIn to every callback URL (docs/fidelity.md F-48).
    assert_eq!(
        page.header("location"),
        Some("http://localhost:3000/?wixMemberLoggedIn=false")
    );

    let again = login(&app, "query").await;
    let fresh = app
        .oauth2_token(&exchange(&again["code"], PKCE_VERIFIER))
        .await
        .json();
    let info = app
        .token_info(fresh["access_token"].as_str().unwrap())
        .await
        .json();
    assert_eq!(info["active"], true);
}

#[tokio::test]
async fn logout_to_a_domain_the_oauth_app_does_not_allow_is_refused() {
    // Arrange
    let app = spawn_app();
    let token = visitor(&app).await;
    let body = json!({"logout": {"clientId": CLIENT_ID}, "callbacks": {"postFlowUrl": "https://evil.example/"}});
    // Act
    let res = create_session(&app, &token, &body).await;
    // Assert
    insta::assert_json_snapshot!("member_login__logout_bad_domain", snap(&res));
}

#[tokio::test]
async fn a_visitor_logout_revokes_that_visitors_tokens_only() {
    // Arrange
    let app = spawn_app();
    let (visitor, refresh) = app
        .mint(&json!({"identity": "visitor", "client_id": CLIENT_ID}))
        .await;
    let (other, _) = app
        .mint(&json!({"identity": "visitor", "client_id": CLIENT_ID}))
        .await;
    let body = json!({"logout": {"clientId": CLIENT_ID}});
    // Act
    let res = create_session(&app, &visitor, &body).await;
    // Assert
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(app.token_info(&visitor).await.json()["active"], false);
    assert_eq!(app.token_info(&other).await.json()["active"], true);
    let renew = app
        .oauth2_token(
            &json!({"clientId": CLIENT_ID, "grantType": "refresh_token", "refreshToken": refresh}),
        )
        .await;
    assert_eq!(renew.status, StatusCode::BAD_REQUEST);
    let page = app
        .get(&local(
            res.json()["redirectSession"]["fullUrl"].as_str().unwrap(),
        ))
        .await;
    assert_eq!(
        page.status,
        StatusCode::OK,
        "no postFlowUrl: the logged-out page"
    );
}
