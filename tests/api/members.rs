//! Headless members with their own login form (issue 14): register, login, verification, recovery
//! through the outbox, sign-on with an API key, direct login by `web_message`, logout.

use serde_json::{Value, json};
use warp::http::StatusCode;

use crate::helpers::*;

const AUTH: &str = "/_api/iam/authentication";
const BLOCKED_EMAIL: &str = "blocked@demo-site.example.com";

/// The default scenario with `policy` (YAML lines under `member_policy:`) on its site and a
/// blocked member.
fn with_policy(policy: &str) -> String {
    let block = if policy.is_empty() {
        String::new()
    } else {
        format!("    member_policy:\n{policy}")
    };
    default_yaml().replacen(
        "    members:\n",
        &format!(
            "{block}    members:\n      - id: 9a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d\n        email: {BLOCKED_EMAIL}\n        password: blocked-password\n        status: BLOCKED\n"
        ),
        1,
    )
}

async fn visitor(app: &TestApp) -> String {
    app.mint(&json!({"identity": "visitor", "client_id": CLIENT_ID}))
        .await
        .0
}

async fn call(app: &TestApp, path: &str, token: &str, body: &Value) -> Resp {
    app.post_json_with_token(path, token, body).await
}

async fn register(app: &TestApp, token: &str, email: &str, password: &str) -> Resp {
    call(
        app,
        &format!("{AUTH}/v2/register"),
        token,
        &json!({"loginId": {"email": email}, "password": password,
                "profile": {"nickname": "Newbie", "firstName": "New", "lastName": "Member"}}),
    )
    .await
}

async fn login(app: &TestApp, token: &str, email: &str, password: &str) -> Resp {
    call(
        app,
        &format!("{AUTH}/v2/login"),
        token,
        &json!({"loginId": {"email": email}, "password": password}),
    )
    .await
}

async fn outbox(app: &TestApp, email: &str) -> Vec<Value> {
    let res = app.get(&format!("/__admin/outbox?email={email}")).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    res.json()["messages"].as_array().unwrap().clone()
}

fn app_code(res: &Resp) -> String {
    res.json()["details"]["applicationError"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn register_on_an_open_site_answers_success_with_a_session_token() {
    // Arrange
    let app = spawn_app();
    let token = visitor(&app).await;

    // Act
    let res = register(&app, &token, "new@demo-site.example.com", "new-password-1").await;

    // Assert
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    insta::assert_json_snapshot!("members__register_open", snap(&res), {
        ".body.sessionToken" => redact_prefixed("JWS."),
        ".body.identity.id" => "[member_id]",
    });
    let state = app.state().await;
    let members = state["identities"]["members"].as_array().unwrap();
    let m = members
        .iter()
        .find(|m| m["email"] == "new@demo-site.example.com")
        .expect("the new member is in the state");
    assert_eq!(m["registered"], true);
    assert_eq!(m["has_password"], true);
    assert!(!state.to_string().contains("new-password-1"));
}

#[tokio::test]
async fn register_with_an_e_mail_already_taken_answers_the_code_the_sdk_maps_to_email_already_exists()
 {
    let app = spawn_app();
    let token = visitor(&app).await;
    let res = register(
        &app,
        &token,
        MEMBER_EMAIL.to_uppercase().as_str(),
        "whatever-1",
    )
    .await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text());
    assert_eq!(app_code(&res), "-19995");
}

#[tokio::test]
async fn register_with_a_malformed_e_mail_gets_an_email_field_violation_and_creates_no_member() {
    let app = spawn_app();
    let token = visitor(&app).await;
    let before = app.state().await["identities"]["members"].clone();
    for bad in ["not-an-email", "a@b", "@demo.example.com", "a b@c.de"] {
        let res = register(&app, &token, bad, "password-1").await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{bad}: {}", res.text());
        let v = &res.json()["details"]["validationError"]["fieldViolations"][0];
        assert_eq!(v["data"]["type"], "EMAIL", "{bad}");
        assert_eq!(v["field"], "loginId.email");
    }
    for (password, rule) in [("", "REQUIRED_FIELD"), ("abc", "MIN_LENGTH")] {
        let res = register(&app, &token, "ok@demo.example.com", password).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST);
        let v = &res.json()["details"]["validationError"]["fieldViolations"][0];
        assert_eq!(v["violatedRule"], rule);
        assert!(v["data"].is_object(), "the SDK reads data.type: {v}");
    }
    let huge = "p".repeat(5_000);
    let res = register(&app, &token, "ok@demo.example.com", &huge).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert_eq!(app.state().await["identities"]["members"], before);
}

#[tokio::test]
async fn register_on_an_owner_approval_site_answers_require_owner_approval_and_login_says_so_too() {
    let app = spawn_app_with(&with_policy("      signup: owner_approval\n"));
    let token = visitor(&app).await;
    let res = register(&app, &token, "wait@demo-site.example.com", "pending-pass").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["state"], "REQUIRE_OWNER_APPROVAL");
    assert!(res.json().get("sessionToken").is_none());
    assert_eq!(res.json()["identity"]["status"]["name"], "PENDING");
    let again = login(&app, &token, "wait@demo-site.example.com", "pending-pass").await;
    assert_eq!(again.json()["state"], "REQUIRE_OWNER_APPROVAL");
}

#[tokio::test]
async fn register_with_verification_e_mails_a_code_and_verify_with_it_logs_the_member_in() {
    // Arrange
    let app = spawn_app_with(&with_policy("      verify_email_on_signup: true\n"));
    let token = visitor(&app).await;
    let email = "verify@demo-site.example.com";

    // Act
    let res = register(&app, &token, email, "verify-pass").await;
    let state_token = res.json()["stateToken"].as_str().unwrap().to_string();
    let mail = outbox(&app, email).await;
    let code = mail[0]["code"].as_str().unwrap().to_string();
    let wrong = if code == "000000" { "000001" } else { "000000" };
    let bad = call(
        &app,
        "/_api/iam/verification/v1/auth/verify",
        &token,
        &json!({"code": wrong, "stateToken": state_token}),
    )
    .await;
    let good = call(
        &app,
        "/_api/iam/verification/v1/auth/verify",
        &token,
        &json!({"code": code, "stateToken": state_token}),
    )
    .await;
    let replay = call(
        &app,
        "/_api/iam/verification/v1/auth/verify",
        &token,
        &json!({"code": code, "stateToken": state_token}),
    )
    .await;

    // Assert
    assert_eq!(res.json()["state"], "REQUIRE_EMAIL_VERIFICATION");
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0]["kind"], "VERIFICATION_CODE");
    assert_eq!(code.len(), 6);
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(app_code(&bad), "INVALID_VERIFICATION_CODE");
    assert_eq!(good.status, StatusCode::OK, "{}", good.text());
    assert_eq!(good.json()["state"], "SUCCESS");
    assert!(
        good.json()["sessionToken"]
            .as_str()
            .unwrap()
            .starts_with("JWS.")
    );
    assert_eq!(good.json()["identity"]["email"]["isVerified"], true);
    assert_eq!(app_code(&replay), "INVALID_STATE_TOKEN");
    // Logged in once verified: no new code.
    let after = login(&app, &token, email, "verify-pass").await;
    assert_eq!(after.json()["state"], "SUCCESS");
}

#[tokio::test]
async fn a_code_for_another_member_or_an_expired_state_token_is_refused() {
    let app = spawn_app_with(&with_policy("      verify_email_on_signup: true\n"));
    let token = visitor(&app).await;
    let a = register(&app, &token, "a@demo-site.example.com", "pass-aaaa").await;
    let b = register(&app, &token, "b@demo-site.example.com", "pass-bbbb").await;
    let code_b = outbox(&app, "b@demo-site.example.com").await[0]["code"]
        .as_str()
        .unwrap()
        .to_string();
    let code_a = outbox(&app, "a@demo-site.example.com").await[0]["code"]
        .as_str()
        .unwrap()
        .to_string();
    let verify = |state: Value, code: String| {
        let app = &app;
        let token = &token;
        async move {
            call(
                app,
                "/_api/iam/verification/v1/auth/verify",
                token,
                &json!({"code": code, "stateToken": state}),
            )
            .await
        }
    };
    if code_a != code_b {
        let res = verify(a.json()["stateToken"].clone(), code_b).await;
        assert_eq!(app_code(&res), "INVALID_VERIFICATION_CODE");
    }
    let unknown = verify(json!("STATE.unknown"), code_a.clone()).await;
    assert_eq!(app_code(&unknown), "INVALID_STATE_TOKEN");
    app.advance_clock(901).await;
    let late = verify(a.json()["stateToken"].clone(), code_a).await;
    assert_eq!(app_code(&late), "INVALID_STATE_TOKEN");
    drop(b);
}

#[tokio::test]
async fn login_counts_wrong_passwords_and_requires_a_reset_after_the_sites_maximum() {
    // Arrange
    let app = spawn_app_with(&with_policy("      max_wrong_passwords: 3\n"));
    let token = visitor(&app).await;

    // Act
    let mut codes = Vec::new();
    for _ in 0..3 {
        codes.push(app_code(
            &login(&app, &token, MEMBER_EMAIL, "wrong-password").await,
        ));
    }
    let right_after = login(&app, &token, MEMBER_EMAIL, MEMBER_PASSWORD).await;

    // Assert
    assert_eq!(codes, ["-19976", "-19976", "-19973"]);
    assert_eq!(app_code(&right_after), "-19973", "{}", right_after.text());
}

#[tokio::test]
async fn a_right_password_clears_the_wrong_password_count() {
    let app = spawn_app_with(&with_policy("      max_wrong_passwords: 2\n"));
    let token = visitor(&app).await;
    assert_eq!(
        app_code(&login(&app, &token, MEMBER_EMAIL, "nope-nope").await),
        "-19976"
    );
    let ok = login(&app, &token, MEMBER_EMAIL, MEMBER_PASSWORD).await;
    assert_eq!(ok.json()["state"], "SUCCESS", "{}", ok.text());
    assert_eq!(
        app_code(&login(&app, &token, MEMBER_EMAIL, "nope-nope").await),
        "-19976"
    );
}

#[tokio::test]
async fn login_of_an_unknown_or_blocked_member_or_a_malformed_e_mail_is_refused() {
    let app = spawn_app_with(&with_policy(""));
    let token = visitor(&app).await;
    let unknown = login(&app, &token, "nobody@demo-site.example.com", "x-x-x-x").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(app_code(&unknown), "IDENTITY_NOT_FOUND");
    let blocked = login(&app, &token, BLOCKED_EMAIL, "blocked-password").await;
    assert_eq!(blocked.status, StatusCode::FORBIDDEN);
    assert_eq!(app_code(&blocked), "MEMBER_BLOCKED");
    let malformed = login(&app, &token, "not-an-email", "x-x-x-x").await;
    assert_eq!(app_code(&malformed), "INVALID_EMAIL");
    assert!(malformed.json()["details"]["applicationError"].is_object());
    let no_token = app
        .post_json(
            &format!("{AUTH}/v2/login"),
            &json!({"loginId": {"email": MEMBER_EMAIL}, "password": MEMBER_PASSWORD}),
        )
        .await;
    assert_eq!(no_token.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_site_with_captcha_wants_the_token_it_declares() {
    let app = spawn_app_with(&with_policy("      captcha_token: human-ok\n"));
    let token = visitor(&app).await;
    let url = format!("{AUTH}/v2/login");
    let body = |captcha: Option<&str>| {
        let mut b = json!({"loginId": {"email": MEMBER_EMAIL}, "password": MEMBER_PASSWORD});
        if let Some(c) = captcha {
            b["captchaTokens"] = json!([{"Recaptcha": c}]);
        }
        b
    };
    assert_eq!(
        app_code(&call(&app, &url, &token, &body(None)).await),
        "-19971"
    );
    assert_eq!(
        app_code(&call(&app, &url, &token, &body(Some("bot"))).await),
        "-19970"
    );
    let ok = call(&app, &url, &token, &body(Some("human-ok"))).await;
    assert_eq!(ok.json()["state"], "SUCCESS", "{}", ok.text());
}

#[tokio::test]
async fn a_site_that_verifies_on_login_asks_an_unverified_member_for_a_code() {
    let yaml = with_policy("      verify_email_on_login: true\n").replacen(
        "        password: member-password-0001\n",
        "        password: member-password-0001\n        email_verified: false\n",
        1,
    );
    let app = spawn_app_with(&yaml);
    let token = visitor(&app).await;
    let res = login(&app, &token, MEMBER_EMAIL, MEMBER_PASSWORD).await;
    assert_eq!(
        res.json()["state"],
        "REQUIRE_EMAIL_VERIFICATION",
        "{}",
        res.text()
    );
    assert_eq!(outbox(&app, MEMBER_EMAIL).await.len(), 1);
}

/// A redirect session for direct login, as `getMemberTokensForDirectLogin` creates it.
async fn direct_login_session(app: &TestApp, token: &str, session_token: &str) -> Resp {
    app.send(
        warp::test::request()
            .method("POST")
            .path("/_api/redirects-api/v1/redirect-session")
            .header("host", "127.0.0.1:34567")
            .header("authorization", token)
            .json(&json!({"auth": {"authRequest": {
                "redirectUri": CLIENT_REDIRECT, "clientId": CLIENT_ID,
                "codeChallenge": PKCE_CHALLENGE, "codeChallengeMethod": "S256",
                "responseMode": "web_message", "responseType": "code",
                "scope": "offline_access", "state": "direct-1", "sessionToken": session_token,
            }, "prompt": "none"}})),
    )
    .await
}

#[tokio::test]
async fn direct_login_posts_the_code_to_the_registered_origin_and_the_code_gives_member_tokens() {
    // Arrange
    let app = spawn_app();
    let token = visitor(&app).await;
    let session = login(&app, &token, MEMBER_EMAIL, MEMBER_PASSWORD)
        .await
        .json()["sessionToken"]
        .as_str()
        .unwrap()
        .to_string();

    // Act
    let created = direct_login_session(&app, &token, &session).await;
    let full = created.json()["redirectSession"]["fullUrl"]
        .as_str()
        .unwrap()
        .to_string();
    let u = url::Url::parse(&full).unwrap();
    let page = app
        .get(&format!("{}?{}", u.path(), u.query().unwrap()))
        .await;
    let html = page.text();
    let marker = "\"code\":\"";
    let start = html.find(marker).expect("the code in the page") + marker.len();
    let code = html[start..].split('"').next().unwrap().to_string();
    let tokens = app
        .oauth2_token(
            &json!({"clientId": CLIENT_ID, "grantType": "authorization_code",
            "redirectUri": CLIENT_REDIRECT, "code": code, "codeVerifier": PKCE_VERIFIER}),
        )
        .await;
    let replay = direct_login_session(&app, &token, &session).await;

    // Assert
    assert_eq!(created.status, StatusCode::OK, "{}", created.text());
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        html.contains("var origins=[\"http://localhost:3000\"]"),
        "{html}"
    );
    assert!(html.contains("\"state\":\"direct-1\""));
    assert_eq!(
        page.header("content-security-policy").unwrap(),
        "default-src 'none'; script-src 'unsafe-inline'; base-uri 'none'; frame-ancestors http://localhost:3000"
    );
    assert!(page.header("x-frame-options").is_none());
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text());
    let info = app
        .token_info(tokens.json()["access_token"].as_str().unwrap())
        .await;
    assert_eq!(info.json()["subjectType"], "MEMBER");
    assert_eq!(info.json()["subjectId"], MEMBER_ID);
    // The session token was single use.
    assert_eq!(replay.status, StatusCode::BAD_REQUEST, "{}", replay.text());
}

#[tokio::test]
async fn a_session_token_expires_after_five_virtual_minutes() {
    let app = spawn_app();
    let token = visitor(&app).await;
    let session = login(&app, &token, MEMBER_EMAIL, MEMBER_PASSWORD)
        .await
        .json()["sessionToken"]
        .as_str()
        .unwrap()
        .to_string();
    app.advance_clock(300).await;
    let res = direct_login_session(&app, &token, &session).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        res.json()["details"]["validationError"]["fieldViolations"][0]["field"],
        "auth.authRequest.sessionToken"
    );
}

#[tokio::test]
async fn web_message_without_a_session_token_posts_login_required() {
    let app = spawn_app();
    let token = visitor(&app).await;
    let created = direct_login_session(&app, &token, "").await;
    let full = created.json()["redirectSession"]["fullUrl"]
        .as_str()
        .unwrap()
        .to_string();
    let u = url::Url::parse(&full).unwrap();
    let page = app
        .get(&format!("{}?{}", u.path(), u.query().unwrap()))
        .await;
    assert!(
        page.text().contains("\"error\":\"login_required\""),
        "{}",
        page.text()
    );
}

#[tokio::test]
async fn recovery_e_mails_a_link_whose_page_sets_a_new_password_once() {
    // Arrange
    let app = spawn_app();
    let token = visitor(&app).await;

    // Act
    let sent = app
        .send(
            warp::test::request()
                .method("POST")
                .path("/_api/iam/recovery/v1/send-email")
                .header("host", "127.0.0.1:34567")
                .header("authorization", &token)
                .json(&json!({"email": MEMBER_EMAIL,
                    "redirect": {"url": CLIENT_REDIRECT, "clientId": CLIENT_ID}})),
        )
        .await;
    let mail = outbox(&app, MEMBER_EMAIL).await;
    let link = url::Url::parse(mail[0]["link"].as_str().unwrap()).unwrap();
    let local = format!("{}?{}", link.path(), link.query().unwrap());
    let page = app.get(&local).await;
    let recovery_token: String = link
        .query_pairs()
        .find(|(k, _)| k == "recoveryToken")
        .unwrap()
        .1
        .into();
    let short = app
        .post_form(
            "/iam/recovery/reset-password",
            &format!("recoveryToken={recovery_token}&password=ab"),
        )
        .await;
    let done = app
        .post_form(
            "/iam/recovery/reset-password",
            &format!("recoveryToken={recovery_token}&password=brand-new-pass"),
        )
        .await;
    let replay = app.get(&local).await;
    let replay_api = app
        .post_json(
            "/_api/iam/recovery/v1/recover",
            &json!({"recoveryToken": recovery_token, "password": "other-pass-1"}),
        )
        .await;

    // Assert
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.text());
    assert_eq!(mail[0]["kind"], "PASSWORD_RECOVERY");
    assert_eq!(link.host_str(), Some("127.0.0.1"));
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("name=\"password\""));
    assert!(!page.text().contains("<script"));
    assert!(short.text().contains("id=\"error\""), "{}", short.text());
    assert_eq!(done.status, StatusCode::FOUND, "{}", done.text());
    assert_eq!(done.header("location"), Some(CLIENT_REDIRECT));
    assert_eq!(replay.status, StatusCode::BAD_REQUEST);
    assert_eq!(app_code(&replay_api), "INVALID_RECOVERY_TOKEN");
    assert_eq!(
        app_code(&login(&app, &token, MEMBER_EMAIL, MEMBER_PASSWORD).await),
        "-19976"
    );
    assert_eq!(
        login(&app, &token, MEMBER_EMAIL, "brand-new-pass")
            .await
            .json()["state"],
        "SUCCESS"
    );
}

#[tokio::test]
async fn recovery_for_an_unknown_e_mail_answers_the_same_and_sends_nothing() {
    let app = spawn_app();
    let token = visitor(&app).await;
    let res = call(
        &app,
        "/_api/iam/recovery/v1/send-email",
        &token,
        &json!({"email": "nobody@demo-site.example.com"}),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.json(), json!({}));
    assert!(
        outbox(&app, "nobody@demo-site.example.com")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn sign_on_with_an_api_key_then_authorized_client_with_the_session_token_gives_member_tokens()
{
    // Arrange
    let app = spawn_app();
    let token = visitor(&app).await;
    let auth = format!("{token},{API_KEY}");

    // Act
    let signed = app
        .send(
            warp::test::request()
                .method("POST")
                .path(&format!("{AUTH}/v2/sign-on"))
                .header("authorization", &auth)
                .json(&json!({"loginId": {"email": "external@demo-site.example.com"}})),
        )
        .await;
    let member_id = signed.json()["identity"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let session = signed.json()["sessionToken"].as_str().unwrap().to_string();
    let grant = |session: String| {
        let app = &app;
        let auth = auth.clone();
        let member_id = member_id.clone();
        async move {
            app.send(
                warp::test::request()
                    .method("POST")
                    .path("/oauth2/token")
                    .header("authorization", auth)
                    .json(&json!({"grant_type": "authorized_client",
                        "member_id": member_id, "session_token": session})),
            )
            .await
        }
    };
    let first = grant(session.clone()).await;
    let again = grant(session).await;
    let bad_key = app
        .send(
            warp::test::request()
                .method("POST")
                .path(&format!("{AUTH}/v2/sign-on"))
                .header("authorization", format!("{token},not-a-key"))
                .json(&json!({"loginId": {"email": "external@demo-site.example.com"}})),
        )
        .await;

    // Assert
    assert_eq!(signed.status, StatusCode::OK, "{}", signed.text());
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    let info = app
        .token_info(first.json()["access_token"].as_str().unwrap())
        .await;
    assert_eq!(info.json()["subjectId"], member_id.as_str());
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "{}", again.text());
    assert_eq!(bad_key.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn logout_ends_every_token_of_the_member_and_change_password_needs_one() {
    let app = spawn_app();
    let (member, _) = app
        .mint(&json!({"identity": "member", "client_id": CLIENT_ID, "member_id": MEMBER_ID}))
        .await;
    let changed = call(
        &app,
        &format!("{AUTH}/v2/change-password"),
        &member,
        &json!({"newPassword": "changed-pass"}),
    )
    .await;
    let out = app
        .get_with_token(&format!("{AUTH}/v1/logout?clientId={CLIENT_ID}"), &member)
        .await;
    let info = app.token_info(&member).await;
    let visitor_token = visitor(&app).await;
    let by_visitor = call(
        &app,
        &format!("{AUTH}/v2/change-password"),
        &visitor_token,
        &json!({"newPassword": "changed-pass"}),
    )
    .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text());
    assert_eq!(out.status, StatusCode::OK, "{}", out.text());
    assert_eq!(info.json()["active"], false);
    assert_eq!(by_visitor.status, StatusCode::FORBIDDEN);
    assert_eq!(
        login(&app, &visitor_token, MEMBER_EMAIL, "changed-pass")
            .await
            .json()["state"],
        "SUCCESS"
    );
}

#[tokio::test]
async fn passwords_never_reach_the_journal_the_state_or_the_scenario_members() {
    let app = spawn_app();
    let token = visitor(&app).await;
    register(
        &app,
        &token,
        "secret@demo-site.example.com",
        "very-secret-pass",
    )
    .await;
    login(
        &app,
        &token,
        "secret@demo-site.example.com",
        "very-secret-pass",
    )
    .await;
    let journal = app.get("/__admin/requests").await.text();
    let state = app.state().await.to_string();
    assert!(!journal.contains("very-secret-pass"), "{journal}");
    assert!(!state.contains("very-secret-pass"));
    assert!(!state.contains(MEMBER_PASSWORD));
}

#[tokio::test]
async fn the_outbox_waits_for_a_message_and_lists_newest_first() {
    let app = spawn_app();
    let token = visitor(&app).await;
    let waiting = {
        let app = app.clone();
        tokio::spawn(async move {
            app.get(&format!("/__admin/outbox?email={MEMBER_EMAIL}&wait=5000"))
                .await
                .json()
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    for _ in 0..2 {
        call(
            &app,
            "/_api/iam/recovery/v1/send-email",
            &token,
            &json!({"email": MEMBER_EMAIL}),
        )
        .await;
        app.advance_clock(1).await;
    }
    let got = waiting.await.unwrap();
    assert!(got["count"].as_u64().unwrap() >= 1, "{got}");
    let all = outbox(&app, MEMBER_EMAIL).await;
    assert_eq!(all.len(), 2);
    assert!(all[0]["created_at"].as_str() > all[1]["created_at"].as_str());
    assert_ne!(all[0]["id"], all[1]["id"]);
    let bad = app.get("/__admin/outbox?wait=soon").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

fn kinds(report: &Value) -> Vec<String> {
    report["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["kind"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn the_conformance_report_flags_a_reused_session_token() {
    let app = spawn_app();
    let token = visitor(&app).await;
    let session = login(&app, &token, MEMBER_EMAIL, MEMBER_PASSWORD)
        .await
        .json()["sessionToken"]
        .as_str()
        .unwrap()
        .to_string();
    direct_login_session(&app, &token, &session).await;
    assert!(kinds(&app.conformance().await).is_empty());
    direct_login_session(&app, &token, &session).await;
    let report = app.conformance().await;
    assert_eq!(kinds(&report), ["session_token_reused"], "{report}");
    assert_eq!(report["passed"], false);
    assert!(
        !report.to_string().contains(&session),
        "the token itself is never shown"
    );
}

#[tokio::test]
async fn the_conformance_report_flags_login_again_instead_of_verifying() {
    let app = spawn_app_with(&with_policy("      verify_email_on_signup: true\n"));
    let token = visitor(&app).await;
    register(&app, &token, "loop@demo-site.example.com", "loop-pass-1").await;
    login(&app, &token, "loop@demo-site.example.com", "loop-pass-1").await;
    assert_eq!(kinds(&app.conformance().await), ["login_instead_of_verify"]);
}

#[tokio::test]
async fn verifying_the_code_is_what_the_report_expects() {
    let app = spawn_app_with(&with_policy("      verify_email_on_signup: true\n"));
    let token = visitor(&app).await;
    let email = "good@demo-site.example.com";
    let res = register(&app, &token, email, "good-pass-1").await;
    let code = outbox(&app, email).await[0]["code"]
        .as_str()
        .unwrap()
        .to_string();
    call(
        &app,
        "/_api/iam/verification/v1/auth/verify",
        &token,
        &json!({"code": code, "stateToken": res.json()["stateToken"]}),
    )
    .await;
    login(&app, &token, email, "good-pass-1").await;
    assert!(kinds(&app.conformance().await).is_empty());
}

#[tokio::test]
async fn the_conformance_report_warns_about_a_tight_wrong_password_loop() {
    let app = spawn_app_with(&with_policy("      max_wrong_passwords: 50\n"));
    let token = visitor(&app).await;
    for _ in 0..4 {
        login(&app, &token, MEMBER_EMAIL, "wrong-wrong").await;
    }
    assert!(
        kinds(&app.conformance().await).is_empty(),
        "four typos are a person"
    );
    login(&app, &token, MEMBER_EMAIL, "wrong-wrong").await;
    let report = app.conformance().await;
    assert_eq!(kinds(&report), ["wrong_password_loop"]);
    assert_eq!(report["passed"], true, "a warning: {report}");
}

#[tokio::test]
async fn the_conformance_report_flags_a_visitor_token_of_another_oauth_app() {
    // Arrange: a second OAuth app on the same site.
    let yaml = format!(
        "{}  - id: 3c0f6a2e-1b7d-4e8a-9f0c-2d4e6f8a0b1c\n    name: Other Client\n    allowed_redirect_uris: [http://localhost:4000/cb]\n",
        default_yaml()
    );
    let app = spawn_app_with(&yaml);
    let other = app
        .mint(&json!({"identity": "visitor", "client_id": "3c0f6a2e-1b7d-4e8a-9f0c-2d4e6f8a0b1c"}))
        .await
        .0;
    // Act
    direct_login_session(&app, &other, "").await;
    // Assert
    assert_eq!(kinds(&app.conformance().await), ["foreign_visitor_token"]);
}

#[tokio::test]
async fn a_fault_named_by_endpoint_reaches_login_and_nothing_is_counted() {
    // Arrange
    let app = spawn_app_with(&with_policy("      max_wrong_passwords: 2\n"));
    let token = visitor(&app).await;
    app.arm(
        "match: {endpoint: login}\nwhen: {first: 1}\neffects: [{error: {preset: unavailable}}]",
    )
    .await;
    // Act
    let faulted = login(&app, &token, MEMBER_EMAIL, "wrong-wrong").await;
    let next = login(&app, &token, MEMBER_EMAIL, "wrong-wrong").await;
    let register_ok = register(&app, &token, "f@demo-site.example.com", "fault-pass").await;
    // Assert: the faulted request never reached the world, so one wrong password is counted.
    assert_eq!(faulted.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(app_code(&next), "-19976");
    assert_eq!(register_ok.status, StatusCode::OK);
}

#[tokio::test]
async fn direct_login_as_the_sdk_sends_it_without_a_redirect_uri_posts_to_the_registered_origins() {
    // Arrange: getMemberTokensForDirectLogin sends PKCE values, no redirectUri.
    let app = spawn_app();
    let token = visitor(&app).await;
    let session = login(&app, &token, MEMBER_EMAIL, MEMBER_PASSWORD)
        .await
        .json()["sessionToken"]
        .as_str()
        .unwrap()
        .to_string();
    // Act
    let created = app
        .send(
            warp::test::request()
                .method("POST")
                .path("/_api/redirects-api/v1/redirect-session")
                .header("authorization", &token)
                .json(&json!({"auth": {"authRequest": {
                    "clientId": CLIENT_ID, "codeChallenge": PKCE_CHALLENGE,
                    "codeChallengeMethod": "S256", "responseMode": "web_message",
                    "responseType": "code", "scope": "offline_access", "state": "s-1",
                    "sessionToken": session,
                }, "prompt": "none"}})),
        )
        .await;
    let u = url::Url::parse(
        created.json()["redirectSession"]["fullUrl"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let page = app
        .get(&format!("{}?{}", u.path(), u.query().unwrap()))
        .await;
    let html = page.text();
    let start = html.find("\"code\":\"").unwrap() + 8;
    let code = html[start..].split('"').next().unwrap().to_string();
    let tokens = app
        .oauth2_token(
            &json!({"clientId": CLIENT_ID, "grantType": "authorization_code",
            "code": code, "codeVerifier": PKCE_VERIFIER}),
        )
        .await;
    // Assert: both registered origins, and nothing else; the code exchanges without redirectUri.
    assert!(
        html.contains("var origins=[\"http://127.0.0.1:9\",\"http://localhost:3000\"]"),
        "{html}"
    );
    assert!(
        page.header("content-security-policy")
            .unwrap()
            .ends_with("frame-ancestors http://127.0.0.1:9 http://localhost:3000")
    );
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text());
}

#[tokio::test]
async fn resend_mails_a_new_code_and_only_the_newest_one_verifies() {
    let app = spawn_app_with(&with_policy("      verify_email_on_signup: true\n"));
    let token = visitor(&app).await;
    let email = "resend@demo-site.example.com";
    let state = register(&app, &token, email, "resend-pass").await.json()["stateToken"].clone();
    let resent = call(
        &app,
        "/_api/iam/verification/v1/auth/resend",
        &token,
        &json!({"stateToken": state}),
    )
    .await;
    let mail = outbox(&app, email).await;
    let (newest, oldest) = (mail[0]["code"].clone(), mail[1]["code"].clone());
    let verify = |code: Value| {
        let (app, token, state) = (app.clone(), token.clone(), state.clone());
        async move {
            call(
                &app,
                "/_api/iam/verification/v1/auth/verify",
                &token,
                &json!({"code": code, "stateToken": state}),
            )
            .await
        }
    };
    assert_eq!(resent.status, StatusCode::OK, "{}", resent.text());
    assert_eq!(mail.len(), 2);
    if newest != oldest {
        assert_eq!(app_code(&verify(oldest).await), "INVALID_VERIFICATION_CODE");
    }
    assert_eq!(verify(newest).await.json()["state"], "SUCCESS");
}

#[tokio::test]
async fn an_activation_link_sets_the_password_of_a_member_without_one() {
    let app = spawn_app();
    let token = visitor(&app).await;
    let second = "7d2e4c90-5d6f-4e70-a182-9c0d1e2f3041";
    let res = call(
        &app,
        "/_api/iam/recovery/v1/activation-email",
        &token,
        &json!({"identityId": second}),
    )
    .await;
    let unknown = call(
        &app,
        "/_api/iam/recovery/v1/activation-email",
        &token,
        &json!({"identityId": "00000000-0000-4000-8000-000000000000"}),
    )
    .await;
    let mail = outbox(&app, "second@demo-site.example.com").await;
    let link = url::Url::parse(mail[0]["link"].as_str().unwrap()).unwrap();
    let recovery: String = link
        .query_pairs()
        .find(|(k, _)| k == "recoveryToken")
        .unwrap()
        .1
        .into();
    let set = app
        .post_json(
            "/_api/iam/recovery/v1/recover",
            &json!({"recoveryToken": recovery, "password": "activated-1"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(mail[0]["kind"], "ACTIVATION");
    assert_eq!(set.json()["state"], "SUCCESS", "{}", set.text());
    let wrong = login(&app, &token, "second@demo-site.example.com", "anything-1").await;
    assert_eq!(
        app_code(&wrong),
        "-19976",
        "a password now: not any password"
    );
}

#[tokio::test]
async fn auto_login_never_logs_a_blocked_member_in() {
    let app = spawn_app_with(&with_policy(""));
    let token = visitor(&app).await;
    let created = app
        .send(
            warp::test::request()
                .method("POST")
                .path("/_api/redirects-api/v1/redirect-session")
                .header("authorization", &token)
                .json(&json!({"auth": {"authRequest": {
                    "redirectUri": CLIENT_REDIRECT, "clientId": CLIENT_ID,
                    "codeChallenge": PKCE_CHALLENGE, "codeChallengeMethod": "S256",
                    "responseMode": "query", "responseType": "code", "state": "b"}}})),
        )
        .await;
    let u = url::Url::parse(
        created.json()["redirectSession"]["fullUrl"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let page = app
        .get(&format!(
            "{}?{}&member={BLOCKED_EMAIL}",
            u.path(),
            u.query().unwrap()
        ))
        .await;
    assert_eq!(page.location_query()["error"], "access_denied");
}

#[tokio::test]
async fn a_refused_authorized_client_leaves_the_session_token_usable() {
    let app = spawn_app();
    let token = visitor(&app).await;
    let signed = app
        .send(
            warp::test::request()
                .method("POST")
                .path(&format!("{AUTH}/v2/sign-on"))
                .header("authorization", format!("{token},{API_KEY}"))
                .json(&json!({"loginId": {"email": MEMBER_EMAIL}})),
        )
        .await
        .json();
    let grant = |key: &'static str, member: &str| {
        let app = app.clone();
        let auth = format!("{token},{key}");
        let body = json!({"grant_type": "authorized_client", "member_id": member,
            "session_token": signed["sessionToken"]});
        async move {
            app.send(
                warp::test::request()
                    .method("POST")
                    .path("/oauth2/token")
                    .header("authorization", auth)
                    .json(&body),
            )
            .await
        }
    };
    let bad_key = grant("not-a-key", MEMBER_ID).await;
    let other_member = grant(API_KEY, "7d2e4c90-5d6f-4e70-a182-9c0d1e2f3041").await;
    let ok = grant(API_KEY, MEMBER_ID).await;
    assert_eq!(
        bad_key.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        bad_key.text()
    );
    assert_eq!(other_member.status, StatusCode::BAD_REQUEST);
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text());
}
