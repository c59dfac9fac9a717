//! Stubs for the rest of wixapis.com (issue 15): the starter pack behind real token and scope checks,
//! templates, sequences and states, near misses, faults on stubs and the admin API.

use serde_json::{Value, json};
use warp::http::StatusCode;

use crate::helpers::*;

const QUERY_PRODUCTS: &str = "/stores/v1/products/query";
const CURRENT_MEMBER: &str = "/members/v1/members/my";
const QUERY_CONTACTS: &str = "/contacts/v4/contacts/query";

fn code(res: &Resp) -> String {
    res.json()["details"]["applicationError"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn last_entry(app: &TestApp) -> Value {
    let list = app.get("/__admin/requests").await.json();
    list["requests"].as_array().unwrap().last().unwrap().clone()
}

async fn member_token(app: &TestApp) -> String {
    app.mint(&json!({"identity": "member", "client_id": CLIENT_ID, "member_id": MEMBER_ID}))
        .await
        .0
}

/// The built-in scenario with one more stub section (and the starter pack still loaded).
fn with_stubs(stubs: &str) -> TestApp {
    spawn_app_with(&format!("{}\nstubs:\n{stubs}", default_yaml()))
}

#[tokio::test]
async fn the_starter_pack_answers_query_products_for_an_app_token_and_the_journal_names_the_stub() {
    // Arrange
    let app = spawn_app();
    let token = app.app_token().await;
    // Act
    let res = app
        .post_json_with_token(
            QUERY_PRODUCTS,
            &token,
            &json!({"query": {"paging": {"limit": 10}}}),
        )
        .await;
    // Assert
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.header("content-type"), Some("application/json"));
    let body = res.json();
    assert_eq!(body["products"][0]["name"], "Shirt");
    assert_eq!(body["totalResults"], 1);
    assert!(res.header("x-wix-request-id").is_some());
    assert_eq!(last_entry(&app).await["stub"], "stores-query-products");
}

#[tokio::test]
async fn get_current_member_answers_with_the_member_the_token_belongs_to() {
    // Arrange
    let app = spawn_app();
    let token = member_token(&app).await;
    // Act
    let res = app.get_with_token(CURRENT_MEMBER, &token).await;
    // Assert
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let member = &res.json()["member"];
    assert_eq!(member["id"], MEMBER_ID);
    assert_eq!(member["loginEmail"], MEMBER_EMAIL);
    assert_eq!(member["profile"]["nickname"], "Demo Member");
    assert_eq!(member["profile"]["slug"], "demo-member");
    assert_eq!(member["updatedDate"], "2026-01-01T00:00:00.000Z");
}

#[tokio::test]
async fn a_stub_answers_401_with_wix_codes_for_missing_malformed_expired_revoked_and_foreign_tokens()
 {
    // Arrange
    let app = spawn_app();
    let token = app.app_token().await;
    let foreign = app.in_namespace("other").app_token().await;
    let body = json!({"query": {}});
    // Act + Assert: each token that speaks for no one gets its own code.
    let missing = app.post_json(QUERY_PRODUCTS, &body).await;
    assert_eq!(
        (missing.status, code(&missing)),
        (StatusCode::UNAUTHORIZED, "MISSING_TOKEN".into())
    );
    let malformed = app
        .post_json_with_token(QUERY_PRODUCTS, "OauthNG.JWS.garbage", &body)
        .await;
    assert_eq!(
        (malformed.status, code(&malformed)),
        (StatusCode::UNAUTHORIZED, "INVALID_TOKEN".into())
    );
    let other_ns = app
        .post_json_with_token(QUERY_PRODUCTS, &foreign, &body)
        .await;
    assert_eq!(
        (other_ns.status, code(&other_ns)),
        (StatusCode::UNAUTHORIZED, "INVALID_TOKEN".into())
    );
    app.advance_clock(4 * 3600 + 1).await;
    let expired = app
        .post_json_with_token(QUERY_PRODUCTS, &token, &body)
        .await;
    assert_eq!(
        (expired.status, code(&expired)),
        (StatusCode::UNAUTHORIZED, "TOKEN_EXPIRED".into())
    );
    let fresh = app.app_token().await;
    let res = app
        .post_json(
            &format!("/__admin/instances/{INSTANCE_ID}/uninstall"),
            &json!({}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let revoked = app
        .post_json_with_token(QUERY_PRODUCTS, &fresh, &body)
        .await;
    assert_eq!(
        (revoked.status, code(&revoked)),
        (StatusCode::UNAUTHORIZED, "TOKEN_REVOKED".into())
    );
    insta::assert_json_snapshot!("stubs__expired_token", snap(&expired));
}

#[tokio::test]
async fn a_stub_answers_403_permission_denied_for_a_missing_scope_or_a_wrong_identity_kind() {
    // Arrange: the editor's role allows only MANAGE-PRODUCTS; contacts want READ-CONTACTS.
    let app = spawn_app();
    let (editor, _) = app
        .mint(&json!({"identity": "user", "instance_id": INSTANCE_ID, "user_id": EDITOR_USER_ID}))
        .await;
    let (owner, _) = app
        .mint(&json!({"identity": "user", "instance_id": INSTANCE_ID, "user_id": OWNER_USER_ID}))
        .await;
    let member = member_token(&app).await;
    let app_token = app.app_token().await;
    // Act
    let no_scope = app
        .post_json_with_token(QUERY_CONTACTS, &editor, &json!({}))
        .await;
    let owner_ok = app
        .post_json_with_token(QUERY_CONTACTS, &owner, &json!({}))
        .await;
    let wrong_kind = app
        .post_json_with_token(QUERY_CONTACTS, &member, &json!({}))
        .await;
    let app_as_member = app.get_with_token(CURRENT_MEMBER, &app_token).await;
    // Assert
    assert_eq!(no_scope.status, StatusCode::FORBIDDEN);
    assert_eq!(code(&no_scope), "PERMISSION_DENIED");
    assert_eq!(owner_ok.status, StatusCode::OK, "{}", owner_ok.text());
    assert_eq!(
        owner_ok.json()["contacts"][0]["info"]["name"]["first"],
        "Ada"
    );
    assert_eq!(wrong_kind.status, StatusCode::FORBIDDEN);
    assert_eq!(app_as_member.status, StatusCode::FORBIDDEN);
    insta::assert_json_snapshot!("stubs__missing_scope", snap(&no_scope));
    insta::assert_json_snapshot!("stubs__wrong_identity", snap(&app_as_member));
}

#[tokio::test]
async fn an_api_key_calls_a_stub_on_its_own_site_and_needs_the_scope() {
    // Arrange: the demo key grants only SCOPE.OAUTH_APP.MANAGE.
    let app = with_stubs(
        "  - name: key-only\n    request: {method: GET, path: /sites/v1/site}\n    auth: {identities: [api_key], scopes: [SCOPE.OAUTH_APP.MANAGE]}\n    response: {body: {siteId: '{{caller.siteId}}', kind: '{{caller.kind}}'}}\n",
    );
    let app_token = app.app_token().await;
    // Act
    let by_key = app.get_with_token("/sites/v1/site", API_KEY).await;
    let products_by_key = app
        .post_json_with_token(QUERY_PRODUCTS, API_KEY, &json!({}))
        .await;
    let by_app = app.get_with_token("/sites/v1/site", &app_token).await;
    // Assert
    assert_eq!(by_key.status, StatusCode::OK, "{}", by_key.text());
    assert_eq!(by_key.json(), json!({"siteId": SITE_ID, "kind": "api_key"}));
    assert_eq!(products_by_key.status, StatusCode::FORBIDDEN);
    assert_eq!(by_app.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn templates_fill_path_parameters_query_body_fields_and_the_caller() {
    // Arrange
    let app = with_stubs(
        r#"  - name: get-product
    request:
      method: GET
      path: /stores/v1/products/{productId}
      query: {currency: {matches: "[A-Z]{3}"}}
    response:
      headers: {x-product: "{{request.path.productId}}"}
      body:
        product: {id: "{{request.path.productId}}", currency: "{{request.query.currency}}", instance: "{{caller.instanceId}}", seen: "{{now}}", copy: "{{randomId}}"}
  - name: echo
    request:
      method: POST
      path: /echo
      body: [{matchesJsonPath: "$.limit"}]
    response: {status: 201, body: {limit: "{{request.body.limit}}", first: "{{request.body.names[0]}}"}}
"#,
    );
    let token = app.app_token().await;
    // Act
    let got = app
        .get_with_token("/stores/v1/products/p-1?currency=EUR", &token)
        .await;
    let echoed = app
        .post_json_with_token("/echo", &token, &json!({"limit": 7, "names": ["a", "b"]}))
        .await;
    // Assert
    assert_eq!(got.status, StatusCode::OK, "{}", got.text());
    assert_eq!(got.header("x-product"), Some("p-1"));
    let p = &got.json()["product"];
    assert_eq!(
        (&p["id"], &p["currency"], &p["instance"], &p["seen"]),
        (
            &json!("p-1"),
            &json!("EUR"),
            &json!(INSTANCE_ID),
            &json!("2026-01-01T00:00:00.000Z")
        )
    );
    assert_eq!(p["copy"].as_str().unwrap().len(), 36);
    assert_eq!(echoed.status, StatusCode::CREATED);
    assert_eq!(echoed.json(), json!({"limit": 7, "first": "a"}));
}

#[tokio::test]
async fn sequences_and_scenario_states_move_on_each_answer_and_reset_puts_them_back() {
    // Arrange: an order that is pending twice, then paid once a payment moved the state.
    let app = with_stubs(
        r#"  - name: order-pending
    request: {method: GET, path: /orders/1}
    scenario_name: order
    required_state: Started
    responses: [{body: {status: NEW}}, {body: {status: PENDING}}]
  - name: pay
    request: {method: POST, path: /orders/1/pay}
    scenario_name: order
    new_state: paid
    response: {status: 204}
  - name: order-paid
    request: {method: GET, path: /orders/1}
    scenario_name: order
    required_state: paid
    response: {body: {status: PAID}}
"#,
    );
    let token = app.app_token().await;
    let status = |r: Resp| r.json()["status"].as_str().unwrap_or_default().to_string();
    // Act + Assert
    assert_eq!(status(app.get_with_token("/orders/1", &token).await), "NEW");
    assert_eq!(
        status(app.get_with_token("/orders/1", &token).await),
        "PENDING"
    );
    assert_eq!(
        status(app.get_with_token("/orders/1", &token).await),
        "PENDING"
    );
    let paid = app
        .post_json_with_token("/orders/1/pay", &token, &json!({}))
        .await;
    assert_eq!(paid.status, StatusCode::NO_CONTENT);
    assert_eq!(
        status(app.get_with_token("/orders/1", &token).await),
        "PAID"
    );
    let listed = app.get("/__admin/stubs").await.json();
    assert_eq!(listed["states"]["order"], "paid");
    let res = app.post_json("/__admin/stubs/reset", &json!({})).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(status(app.get_with_token("/orders/1", &token).await), "NEW");
}

#[tokio::test]
async fn an_unmatched_request_answers_404_with_the_nearest_misses_in_the_body_and_the_journal() {
    // Arrange
    let app = spawn_app();
    let token = app.app_token().await;
    // Act
    let wrong_method = app.get_with_token(QUERY_PRODUCTS, &token).await;
    let typo = app
        .post_json_with_token("/stores/v1/products/qurey", &token, &json!({}))
        .await;
    let elsewhere = app.get_with_token("/nowhere/at/all", &token).await;
    // Assert
    assert_eq!(wrong_method.status, StatusCode::NOT_FOUND);
    let near = &wrong_method.json()["nearMisses"];
    assert_eq!(near[0]["stub"], "stores-query-products");
    assert_eq!(
        near[0]["why"],
        json!(["method is GET, the stub wants POST"])
    );
    assert_eq!(
        typo.json()["nearMisses"][0]["stub"],
        "stores-query-products"
    );
    assert_eq!(elsewhere.status, StatusCode::NOT_FOUND);
    assert!(elsewhere.json().get("nearMisses").is_none());
    let list = app.get("/__admin/requests").await.json();
    let typo_entry = &list["requests"][2];
    assert_eq!(typo_entry["path"], "/stores/v1/products/qurey");
    assert_eq!(
        typo_entry["near_misses"][0]["why"],
        json!(["path /stores/v1/products/qurey does not fit /stores/v1/products/query"])
    );
    insta::assert_json_snapshot!("stubs__near_miss", snap(&wrong_method));
}

#[tokio::test]
async fn body_matchers_decide_between_stubs_for_the_same_path() {
    // Arrange: a filtered query gets its own answer; the starter pack's stub takes the rest.
    let app = with_stubs(
        r#"  - name: hidden-products
    priority: 1
    request:
      method: POST
      path: /stores/v1/products/query
      body:
        - equalToJson: {query: {filter: '{"visible": false}'}}
          ignoreExtraElements: true
    response: {body: {products: [], totalResults: 0}}
"#,
    );
    let token = app.app_token().await;
    // Act
    let filtered = app
        .post_json_with_token(
            QUERY_PRODUCTS,
            &token,
            &json!({"query": {"filter": "{\"visible\": false}", "paging": {"limit": 5}}}),
        )
        .await;
    let plain = app
        .post_json_with_token(QUERY_PRODUCTS, &token, &json!({"query": {}}))
        .await;
    // Assert
    assert_eq!(filtered.json()["totalResults"], 0);
    assert_eq!(plain.json()["totalResults"], 1);
}

#[tokio::test]
async fn a_fault_can_name_a_stub() {
    // Arrange
    let app = spawn_app();
    app.arm("match: {stub: members-get-current-member}\nwhen: {first: 1}\neffects: [{error: {preset: unavailable}}]")
        .await;
    let member = member_token(&app).await;
    let token = app.app_token().await;
    // Act
    let first = app.get_with_token(CURRENT_MEMBER, &member).await;
    let products = app
        .post_json_with_token(QUERY_PRODUCTS, &token, &json!({}))
        .await;
    let second = app.get_with_token(CURRENT_MEMBER, &member).await;
    // Assert
    assert_eq!(first.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(products.status, StatusCode::OK);
    assert_eq!(second.status, StatusCode::OK);
}

#[tokio::test]
async fn the_admin_api_adds_lists_gets_removes_and_refuses_bad_stubs_per_namespace() {
    // Arrange
    let app = spawn_app();
    let other = app.in_namespace("team-b");
    let token = app.app_token().await;
    let stub = "name: ping\nrequest: {method: GET, path: /ping/v1}\nauth: {anonymous: true}\nresponse: {body: {pong: true}}\n";
    // Act
    let added = app
        .send(
            warp::test::request()
                .method("POST")
                .path("/__admin/stubs")
                .body(stub),
        )
        .await;
    let bad = app
        .send(
            warp::test::request()
                .method("POST")
                .path("/__admin/stubs")
                .body("- {request: {method: GET, path: nope}, response: {}}"),
        )
        .await;
    let pinged = app.get("/ping/v1").await;
    let in_other = other.get("/ping/v1").await;
    let _ = app
        .post_json_with_token(QUERY_PRODUCTS, &token, &json!({}))
        .await;
    let one = app.get("/__admin/stubs/ping").await;
    let list = app.get("/__admin/stubs").await.json();
    let removed = app
        .send(
            warp::test::request()
                .method("DELETE")
                .path("/__admin/stubs/ping"),
        )
        .await;
    let gone = app.get("/__admin/stubs/ping").await;
    // Assert
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text());
    assert_eq!(added.json(), json!({"added": ["ping"]}));
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.text().contains("must start with `/`"), "{}", bad.text());
    assert_eq!(pinged.json(), json!({"pong": true}));
    assert_eq!(in_other.status, StatusCode::NOT_FOUND);
    assert_eq!(one.json()["matched"], 1);
    let names: Vec<&str> = list["stubs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names[names.len() - 1], "ping");
    let products = list["stubs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "stores-query-products")
        .unwrap();
    assert_eq!(products["matched"], 1);
    assert_eq!(removed.status, StatusCode::OK);
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_scenario_file_loads_its_stubs_dir_relative_to_itself() {
    // Arrange
    let dir = std::env::temp_dir().join(format!("wix-mock-stubs-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("stubs")).unwrap();
    std::fs::write(
        dir.join("stubs/hello.yaml"),
        "name: hello\nrequest: {method: GET, path: /hello}\nauth: {anonymous: true}\nresponse: {body_text: hi}\n",
    )
    .unwrap();
    std::fs::write(dir.join("s.yaml"), "name: s\nstubs_dir: stubs\n").unwrap();
    // Act
    let scenario = wix_oauth_mock::Scenario::from_file(&dir.join("s.yaml")).unwrap();
    let missing = std::fs::write(dir.join("t.yaml"), "stubs_dir: nope\n")
        .map(|_| wix_oauth_mock::Scenario::from_file(&dir.join("t.yaml")));
    let app = spawn_with_overrides(scenario, test_overrides());
    let res = app.get("/hello").await;
    // Assert
    assert_eq!(res.text(), "hi");
    assert_eq!(
        res.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert!(
        missing
            .unwrap()
            .unwrap_err()
            .to_string()
            .contains("cannot read stubs_dir")
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_bad_stub_in_a_scenario_is_reported_with_its_name() {
    // Act
    let err = wix_oauth_mock::Scenario::parse(
        "stubs:\n  - name: broken\n    request: {method: GET, path: '/a/{id}'}\n    response: {body: '{{request.path.other}}'}\n",
        "s.yaml",
    )
    .unwrap_err();
    // Assert
    assert!(
        err.to_string()
            .contains("stub `broken`: response: template `{{request.path.other}}`: the path template has no `{other}`"),
        "{err}"
    );
}

#[tokio::test]
async fn a_stub_delay_is_real_time_and_a_longer_one_than_allowed_is_refused() {
    // Arrange
    let app = with_stubs(
        "  - name: slow\n    request: {method: GET, path: /slow}\n    auth: {anonymous: true}\n    response: {delay_ms: 60, body: {}}\n",
    );
    let too_slow = wix_oauth_mock::Scenario::parse(
        "stubs:\n  - {request: {method: GET, path: /x}, response: {delay_ms: 30001}}\n",
        "s.yaml",
    );
    // Act
    let start = std::time::Instant::now();
    let res = app.get("/slow").await;
    // Assert
    assert_eq!(res.status, StatusCode::OK);
    assert!(start.elapsed() >= std::time::Duration::from_millis(60));
    assert!(
        too_slow
            .unwrap_err()
            .to_string()
            .contains("delay_ms is at most 30000")
    );
}
