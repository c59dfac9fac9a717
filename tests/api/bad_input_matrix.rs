//! The bad-input matrix (issue 8): every endpoint that reads input × every class of bad input. Each
//! answer must be a 4xx, in Wix's envelope for the JSON APIs (an HTML error page for the browser
//! pages), and the state must be as it was. Failures are collected so one run shows all of them.

use serde_json::Value;

use crate::helpers::*;

/// The scenario's Headless OAuth app (the target of PATCH).
const OAUTH_APP: &str = CLIENT_ID;

/// How an endpoint answers errors.
#[derive(Clone, Copy, PartialEq)]
enum Answers {
    /// `{"message", "details": {...}}`, Wix's REST envelope (the OAuth endpoints add RFC 6749 fields).
    Envelope,
    /// An HTML error page, for the pages a browser is sent to.
    Page,
}

/// The credentials an endpoint needs before it reads its body: the matrix sends valid ones, so a
/// bad body reaches body decoding instead of stopping at 401 (issue 18).
#[derive(Clone, Copy, PartialEq, Debug)]
enum Auth {
    None,
    /// An app access token carrying the app's scopes (SCOPE.OAUTH_APP.MANAGE among them).
    App,
    /// A Headless visitor token, as the SDK sends to create a redirect session.
    Visitor,
    /// `<visitor token>,<API key>`, as the SDK sends to `sign-on`.
    VisitorAndKey,
    /// A member token of the Headless client (change-password).
    Member,
}

/// `(method, path, credentials, how it answers errors)`. `POST …/generate-secret` is not here: it
/// reads nothing from its body (the path names the app), so there is no body decoding to reach;
/// `a_generate_secret_body_is_never_read` pins that instead.
const ENDPOINTS: &[(&str, &str, Auth, Answers)] = &[
    ("POST", "/oauth/access", Auth::None, Answers::Envelope),
    ("POST", "/oauth2/token", Auth::None, Answers::Envelope),
    ("POST", "/oauth2/token-info", Auth::None, Answers::Envelope),
    ("POST", "/apps/v1/bi-event", Auth::App, Answers::Envelope),
    (
        "POST",
        "/redirect-session/v1/redirect-session",
        Auth::Visitor,
        Answers::Envelope,
    ),
    (
        "POST",
        "/oauth-app/v1/oauth-apps",
        Auth::App,
        Answers::Envelope,
    ),
    (
        "POST",
        "/oauth-app/v1/oauth-apps/query",
        Auth::App,
        Answers::Envelope,
    ),
    (
        "PATCH",
        "/oauth-app/v1/oauth-apps/{app}",
        Auth::App,
        Answers::Envelope,
    ),
    // Headless members (issue 14).
    (
        "POST",
        "/_api/iam/authentication/v2/register",
        Auth::Visitor,
        Answers::Envelope,
    ),
    (
        "POST",
        "/_api/iam/authentication/v2/login",
        Auth::Visitor,
        Answers::Envelope,
    ),
    (
        "POST",
        "/_api/iam/authentication/v2/sign-on",
        Auth::VisitorAndKey,
        Answers::Envelope,
    ),
    (
        "POST",
        "/_api/iam/authentication/v2/change-password",
        Auth::Member,
        Answers::Envelope,
    ),
    (
        "POST",
        "/_api/iam/verification/v1/auth/verify",
        Auth::Visitor,
        Answers::Envelope,
    ),
    (
        "POST",
        "/_api/iam/verification/v1/auth/resend",
        Auth::Visitor,
        Answers::Envelope,
    ),
    (
        "POST",
        "/_api/iam/recovery/v1/send-email",
        Auth::Visitor,
        Answers::Envelope,
    ),
    (
        "POST",
        "/_api/iam/recovery/v1/activation-email",
        Auth::Visitor,
        Answers::Envelope,
    ),
    (
        "POST",
        "/_api/iam/recovery/v1/recover",
        Auth::None,
        Answers::Envelope,
    ),
    (
        "POST",
        "/iam/recovery/reset-password",
        Auth::None,
        Answers::Page,
    ),
    ("POST", "/installer/consent", Auth::None, Answers::Page),
    ("POST", "/oauth2/authorize", Auth::None, Answers::Page),
];

/// A bad request body with its content type; `header` adds one (huge) header.
struct Case {
    name: &'static str,
    content_type: &'static str,
    body: Vec<u8>,
    header: Option<(&'static str, String)>,
}

fn cases() -> Vec<Case> {
    // Long, but 19 of them stay under the 64 KiB body limit (the huge body case is the one over it).
    let long = "x".repeat(3_000);
    let case = |name, content_type, body: &[u8]| Case {
        name,
        content_type,
        body: body.to_vec(),
        header: None,
    };
    let every_field = |v: &str| {
        let fields = [
            "grant_type",
            "client_id",
            "client_secret",
            "code",
            "refresh_token",
            "token",
            "instance_id",
            "eventName",
            "oAuthApp",
            "query",
            "mask",
            "oAuthAppId",
            "consent_id",
            "decision",
            "redirectSessionId",
            "email",
            "password",
            "clientId",
            "auth",
        ];
        let map: serde_json::Map<String, Value> = fields
            .iter()
            .map(|f| (f.to_string(), Value::String(v.to_string())))
            .collect();
        Value::Object(map).to_string().into_bytes()
    };
    vec![
        case("malformed_json", "application/json", br#"{"grant_type": "#),
        case("json_array", "application/json", b"[1, 2, 3]"),
        case("json_scalar", "application/json", b"42"),
        case(
            "json_wrong_types",
            "application/json",
            br#"{"grant_type": 7, "client_id": [], "token": {}, "eventName": 1, "oAuthApp": "x",
                "query": 5, "mask": 3, "oAuthAppId": false, "consent_id": 1, "decision": {},
                "redirectSessionId": [], "auth": 9}"#,
        ),
        case("xml_content_type", "text/xml", b"<grant_type>client_credentials</grant_type>"),
        case("invalid_utf8_json", "application/json", &[b'{', b'"', 0xff, 0xfe, b'"', b'}']),
        case(
            "invalid_utf8_form",
            "application/x-www-form-urlencoded",
            &[b'a', b'=', 0xc3, 0x28],
        ),
        case(
            "duplicate_form_parameters",
            "application/x-www-form-urlencoded",
            b"grant_type=client_credentials&grant_type=refresh_token&token=a&token=b&consent_id=a&consent_id=b&decision=approve&decision=deny",
        ),
        Case {
            name: "overlong_values",
            content_type: "application/json",
            body: every_field(&long),
            header: None,
        },
        Case {
            name: "huge_body_10_mib",
            content_type: "application/json",
            body: vec![b'{'; 10 * 1024 * 1024],
            header: None,
        },
        Case {
            name: "huge_authorization_header",
            content_type: "application/json",
            body: b"{}".to_vec(),
            header: Some(("authorization", format!("Bearer {}", "A".repeat(64 * 1024)))),
        },
        Case {
            name: "huge_other_header",
            content_type: "application/json",
            body: b"[]".to_vec(),
            header: Some(("x-padding", "p".repeat(64 * 1024))),
        },
    ]
}

/// The status a bad input deserves: 413 for a body over the limit, 401 for a garbage token where
/// the endpoint needs one, and 400 for every other bad body. A 401, 403, 404 or 428 anywhere else
/// means the case stopped before body decoding, which is a failure of the matrix itself.
fn deserved(case: &Case, auth: Auth) -> u16 {
    match case.name {
        "huge_body_10_mib" => 413,
        "huge_authorization_header" if auth != Auth::None => 401,
        _ => 400,
    }
}

/// What is wrong with an answer, if anything: not the `want`ed status (any 4xx when `None`), or not
/// in the endpoint's error format.
fn judge(res: &Resp, answers: Answers, want: Option<u16>) -> Option<String> {
    let status = res.status.as_u16();
    match want {
        Some(want) if status != want => {
            return Some(format!(
                "status {status}, wanted {want}: {:.300}",
                res.text()
            ));
        }
        None if !(400..500).contains(&status) => {
            return Some(format!("status {status}: {}", res.text()));
        }
        _ => {}
    }
    // The body limit is checked before any route: a JSON envelope even where a page would answer.
    let answers = if status == 413 {
        Answers::Envelope
    } else {
        answers
    };
    match answers {
        Answers::Envelope => {
            let body: Value = serde_json::from_slice(&res.body).unwrap_or(Value::Null);
            let ok = body["message"].is_string()
                && (body["details"]["applicationError"]["code"].is_string()
                    || body["details"]["validationError"]["fieldViolations"].is_array());
            (!ok).then(|| format!("not Wix's envelope: {}", res.text()))
        }
        Answers::Page => {
            let html = res
                .header("content-type")
                .unwrap_or("")
                .starts_with("text/html");
            (!html).then(|| format!("not an HTML page: {:?}", res.header("content-type")))
        }
    }
}

#[tokio::test]
async fn every_endpoint_answers_every_bad_input_with_the_status_it_deserves_and_changes_nothing() {
    // Arrange: valid credentials for every endpoint that needs them.
    let app = spawn_app();
    let app_token = app.app_token().await;
    let visitor = app
        .mint(&serde_json::json!({"identity": "visitor", "client_id": CLIENT_ID}))
        .await
        .0;
    let member = app
        .mint(&serde_json::json!({"identity": "member", "client_id": CLIENT_ID, "member_id": MEMBER_ID}))
        .await
        .0;
    let state = |s: Value| {
        let mut s = s;
        // Pending installs and recent tokens include the tokens minted above: compared anyway,
        // since no bad request may add to them.
        s.as_object_mut().map(|o| o.remove("clock"));
        s
    };
    let before = state(app.state().await);
    let mut failures = Vec::new();
    // Act
    for (method, path, auth, answers) in ENDPOINTS {
        let path = path.replace("{app}", OAUTH_APP);
        for case in cases() {
            let mut req = warp::test::request()
                .method(method)
                .path(&path)
                .header("content-type", case.content_type)
                .body(case.body.clone());
            match auth {
                Auth::None => {}
                Auth::App => req = req.header("authorization", &app_token),
                Auth::Visitor => req = req.header("authorization", &visitor),
                Auth::VisitorAndKey => {
                    req = req.header("authorization", format!("{visitor},{API_KEY}"))
                }
                Auth::Member => req = req.header("authorization", &member),
            }
            if let Some((name, value)) = &case.header {
                req = req.header(*name, value.as_str());
            }
            let res = app.send(req).await;
            // Assert (collected)
            if let Some(problem) = judge(&res, *answers, Some(deserved(&case, *auth))) {
                failures.push(format!("{method} {path} {}: {problem}", case.name));
            }
        }
    }
    let after = state(app.state().await);
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(before, after, "a bad request changed the state");
}

#[tokio::test]
async fn the_matrix_credentials_are_accepted_so_bad_bodies_reach_decoding() {
    // Arrange: the same credentials with a good body must get past authentication (issue 18: the
    // old matrix sent none to redirect-session, so every case there was 401 MISSING_TOKEN).
    let app = spawn_app();
    let app_token = app.app_token().await;
    let visitor = app
        .mint(&serde_json::json!({"identity": "visitor", "client_id": CLIENT_ID}))
        .await
        .0;
    let good = [
        (
            "/apps/v1/bi-event",
            &app_token,
            serde_json::json!({"eventName": "APP_DASHBOARD_LOADED"}),
        ),
        (
            "/redirect-session/v1/redirect-session",
            &visitor,
            serde_json::json!({"logout": {"clientId": CLIENT_ID}}),
        ),
        (
            "/oauth-app/v1/oauth-apps/query",
            &app_token,
            serde_json::json!({"query": {}}),
        ),
    ];
    for (path, token, body) in good {
        // Act
        let res = app.post_json_with_token(path, token, &body).await;
        // Assert
        assert_eq!(res.status, 200, "{path}: {}", res.text());
    }
}

#[tokio::test]
async fn a_generate_secret_body_is_never_read() {
    // Arrange: an OAuth app whose secret can still be generated.
    let app = spawn_app();
    let token = app.app_token().await;
    app.app.with_world(|w, _, _| {
        w.oauth_app_mut(OAUTH_APP).unwrap().allow_secret_generation = true;
    });
    // Act: a body no endpoint could decode.
    let res = app
        .send(
            warp::test::request()
                .method("POST")
                .path(&format!(
                    "/oauth-app/v1/oauth-apps/{OAUTH_APP}/generate-secret"
                ))
                .header("content-type", "application/json")
                .header("authorization", &token)
                .body(&[b'{', 0xff, 0xfe][..]),
        )
        .await;
    // Assert: the path names the app; the body is ignored, as the route documents.
    assert_eq!(res.status, 200, "{}", res.text());
    assert!(res.json()["oAuthAppSecret"].is_string(), "{}", res.text());
}

#[tokio::test]
async fn bad_query_strings_get_a_4xx_on_every_get_endpoint() {
    // Arrange
    let app = spawn_app();
    let token = app.app_token().await;
    let before = app.state().await;
    // Overlong, yet under the 64 KiB an `http::Uri` can hold (hyper answers 414 beyond).
    let long = "q".repeat(15_000);
    let queries = [
        // (An undecodable `%ZZ` never reaches the routes: hyper refuses such a URI itself.)
        "appId=a&appId=b".to_string(),
        format!("appId={long}&redirectUrl={long}&siteId={long}"),
        "appId=%FF%FE&redirectUrl=%C3%28".to_string(),
        "redirectSessionId=a&redirectSessionId=b&clientId=x&clientId=y".to_string(),
    ];
    let paths = [
        ("/app-market/install", Answers::Page),
        ("/installer/install", Answers::Page),
        // (GET /installer/close-window shows its page whatever the query, by design: not here.)
        ("/oauth2/authorize", Answers::Page),
        ("/oauth2/logout", Answers::Page),
        ("/oauth-app/v1/oauth-apps/nope", Answers::Envelope),
    ];
    let mut failures = Vec::new();
    // Act
    for (path, answers) in paths {
        for q in &queries {
            let res = app
                .send(
                    warp::test::request()
                        .method("GET")
                        .path(&format!("{path}?{q}"))
                        .header("authorization", &token),
                )
                .await;
            if let Some(problem) = judge(&res, answers, None) {
                failures.push(format!("GET {path}?{:.60}: {problem:.300}", q));
            }
        }
    }
    // Assert
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(app.state().await, before);
}

#[test]
fn every_endpoint_that_reads_a_body_is_in_the_matrix() {
    // Arrange: the matrix's rows, routed through the one endpoint table.
    use wix_oauth_mock::endpoints::{self, Id, Method, Routed};
    let covered: Vec<Id> = ENDPOINTS
        .iter()
        .map(|(method, path, _, _)| {
            match endpoints::route(method, &path.replace("{app}", OAUTH_APP)) {
                Routed::Found(e, _) => e.id,
                _ => panic!("{method} {path} routes to no endpoint"),
            }
        })
        .collect();
    // Endpoints with a body that the matrix leaves out, each with why.
    let exempt = [(
        Id::OauthAppsGenerateSecret,
        "reads nothing from its body: a_generate_secret_body_is_never_read",
    )];

    // Act
    let missing: Vec<String> = endpoints::TABLE
        .iter()
        .filter(|e| !e.is_admin() && e.method != Method::Get && e.method != Method::Delete)
        .filter(|e| !covered.contains(&e.id) && !exempt.iter().any(|(id, _)| *id == e.id))
        .map(|e| format!("{} {}", e.method.as_str(), e.paths[0]))
        .collect();

    // Assert
    assert!(
        missing.is_empty(),
        "endpoints with a body missing from the matrix: {missing:?}"
    );
}
