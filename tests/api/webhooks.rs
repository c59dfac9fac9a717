//! Webhooks (AppInstalled, AppRemoved, declared and custom events), uninstall, and the signed instance.
//!
//! Deliveries go over a real socket to an in-process receiver on 127.0.0.1:0 that records what it gets
//! and answers scripted statuses. Each test verifies the JWT with the public key from the admin API,
//! independently of the mock's own code (jsonwebtoken RS256, hmac for the signed instance).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use warp::Filter;
use warp::http::StatusCode;

use crate::helpers::*;

/// How long a test waits for a delivery before failing (real time).
const PATIENCE: Duration = Duration::from_secs(15);

/// One request the receiver got.
#[derive(Debug)]
struct Received {
    content_type: Option<String>,
    body: String,
}

/// A webhook endpoint on a real port: records each request and answers the next scripted status (200
/// once the script runs out).
struct Receiver {
    url: String,
    rx: mpsc::UnboundedReceiver<Received>,
}

impl Receiver {
    async fn start(statuses: &[u16]) -> Receiver {
        let script = Arc::new(Mutex::new(
            statuses.iter().copied().collect::<VecDeque<_>>(),
        ));
        let (tx, rx) = mpsc::unbounded_channel();
        let route = warp::path!("webhooks")
            .and(warp::post())
            .and(warp::header::optional::<String>("content-type"))
            .and(warp::body::bytes())
            .map(move |content_type: Option<String>, body: Bytes| {
                let _ = tx.send(Received {
                    content_type,
                    body: String::from_utf8_lossy(&body).into_owned(),
                });
                let status = script.lock().unwrap().pop_front().unwrap_or(200);
                warp::reply::with_status("", StatusCode::from_u16(status).unwrap())
            });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/webhooks", listener.local_addr().unwrap());
        tokio::spawn(warp::serve(route).incoming(listener).run());
        Receiver { url, rx }
    }

    async fn next(&mut self) -> Received {
        tokio::time::timeout(PATIENCE, self.rx.recv())
            .await
            .expect("a webhook within the patience window")
            .expect("the receiver is running")
    }
}

/// A URL on which nothing listens.
async fn closed_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/webhooks", listener.local_addr().unwrap());
    drop(listener);
    url
}

/// The built-in scenario with millisecond backoffs, plus `extra` YAML at the top level.
fn scenario(extra: &str) -> String {
    format!("{}\n{extra}", wix_oauth_mock::scenario::DEFAULT_YAML)
}

const FAST: &str = "webhooks:\n  backoff_ms: 5\n  timeout_ms: 2000\n  max_attempts: 3\n";

impl TestApp {
    async fn set_webhook_url(&self, url: &str) {
        let res = self
            .send(
                warp::test::request()
                    .method("PUT")
                    .path(&format!("/__admin/apps/{APP_ID}/webhook-url"))
                    .body(json!({"url": url}).to_string()),
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    }

    async fn public_key(&self) -> (String, String) {
        let res = self
            .send(
                warp::test::request()
                    .path(&format!("/__admin/apps/{APP_ID}/public-key"))
                    .header("accept", "application/json"),
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
        let body = res.json();
        (
            body["publicKey"].as_str().unwrap().to_string(),
            body["kid"].as_str().unwrap().to_string(),
        )
    }

    /// Polls `GET /__admin/webhooks` until no delivery is pending and at least `n` exist.
    async fn settled_webhooks(&self, n: usize) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let list = self.get("/__admin/webhooks").await.json()["webhooks"]
                .as_array()
                .unwrap()
                .clone();
            if list.len() >= n && list.iter().all(|d| d["status"] != "pending") {
                return list;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "webhooks did not settle: {list:#?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Verifies a webhook body as an app would (RS256 with the dashboard's public key, `iss` and `aud`)
/// and returns its claims with `data`, and the `data` and `identity` inside it, parsed.
fn verify_webhook(jwt: &str, public_pem: &str) -> (String, Value) {
    let key = DecodingKey::from_rsa_pem(public_pem.as_bytes()).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.set_issuer(&["wix.com"]);
    validation.set_audience(&[APP_ID]);
    let decoded =
        jsonwebtoken::decode::<Value>(jwt, &key, &validation).expect("a valid webhook JWT");
    let mut claims = decoded.claims;
    let data = claims["data"].as_str().expect("data is a JSON string");
    let mut envelope: Value = serde_json::from_str(data).unwrap();
    for nested in ["data", "identity"] {
        let s = envelope[nested].as_str().expect("nested JSON strings");
        envelope[nested] = serde_json::from_str(s).unwrap();
    }
    claims["data"] = envelope;
    (decoded.header.kid.unwrap_or_default(), claims)
}

#[tokio::test]
async fn an_install_delivers_a_signed_app_installed_webhook_to_the_apps_url() {
    // Arrange
    let app = spawn_app_with(&scenario(FAST));
    let mut receiver = Receiver::start(&[]).await;
    app.set_webhook_url(&receiver.url).await;
    let (public_pem, kid) = app.public_key().await;

    // Act
    let installed = app.install().await;
    let got = receiver.next().await;

    // Assert
    assert_eq!(got.content_type.as_deref(), Some("text/plain"));
    let (header_kid, claims) = verify_webhook(&got.body, &public_pem);
    assert_eq!(header_kid, kid);
    assert_eq!(claims["data"]["instanceId"], json!(installed.instance_id));
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(got.body.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header, json!({"alg": "RS256", "kid": kid}));
    // The envelope has the shape of fixtures/webhooks/app-installed.json (keys at every level).
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/webhooks/app-installed.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let keys = |v: &Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
    assert_eq!(keys(&claims["data"]), keys(&fixture["decoded"]["data"]));
    assert_eq!(
        keys(&claims["data"]["data"]),
        keys(&fixture["decoded"]["data.data"])
    );
    assert_eq!(
        keys(&claims["data"]["identity"]),
        keys(&fixture["decoded"]["data.identity"])
    );
    insta::assert_json_snapshot!("webhooks__app_installed_claims", claims, {
        ".data.instanceId" => "[instanceId]",
        ".data.identity.wixUserId" => "[wixUserId]",
    });
    let list = app.settled_webhooks(1).await;
    insta::assert_json_snapshot!("webhooks__delivered_log", list, {
        "[].url" => "[receiver]",
        "[].instance_id" => "[instanceId]",
        "[].event.instanceId" => "[instanceId]",
        "[].event.identity.wixUserId" => "[wixUserId]",
        "[].jwt" => redact_prefixed("eyJ"),
        "[].attempts[].duration_ms" => "[ms]",
    });
}

#[tokio::test]
async fn a_webhook_is_retried_until_the_app_answers_2xx() {
    // Arrange
    let app = spawn_app_with(&scenario(FAST));
    let mut receiver = Receiver::start(&[500, 503]).await;
    app.set_webhook_url(&receiver.url).await;

    // Act
    app.install().await;
    let bodies = [
        receiver.next().await.body,
        receiver.next().await.body,
        receiver.next().await.body,
    ];

    // Assert
    assert!(
        bodies.iter().all(|b| b == &bodies[0]),
        "retries resend the same JWT"
    );
    let list = app.settled_webhooks(1).await;
    assert_eq!(list[0]["status"], "delivered");
    let statuses: Vec<&Value> = list[0]["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["status"])
        .collect();
    assert_eq!(statuses, [&json!(500), &json!(503), &json!(200)]);
}

#[tokio::test]
async fn an_unreachable_app_fails_after_max_attempts_and_redelivery_sends_it_again() {
    // Arrange
    let app = spawn_app_with(&scenario(FAST));
    app.set_webhook_url(&closed_url().await).await;
    app.install().await;
    let failed = app.settled_webhooks(1).await;
    assert_eq!(failed[0]["status"], "failed");
    assert_eq!(failed[0]["attempts"].as_array().unwrap().len(), 3);
    assert!(
        failed[0]["attempts"][0]["error"]
            .as_str()
            .unwrap()
            .contains("onnect")
    );
    let mut receiver = Receiver::start(&[]).await;
    app.set_webhook_url(&receiver.url).await;

    // Act
    let res = app
        .post_json("/__admin/webhooks/1/redeliver", &json!({}))
        .await;
    let got = receiver.next().await;

    // Assert
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.text());
    assert_eq!(res.json()["redelivery_of"], 1);
    let (public_pem, _) = app.public_key().await;
    let (_, claims) = verify_webhook(&got.body, &public_pem);
    assert_eq!(claims["data"]["eventType"], "AppInstalled");
    let list = app.settled_webhooks(2).await;
    assert_eq!(list[1]["status"], "delivered");
    let missing = app
        .post_json("/__admin/webhooks/99/redeliver", &json!({}))
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let garbage = app
        .post_json("/__admin/webhooks/abc/redeliver", &json!({}))
        .await;
    assert_eq!(garbage.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_revoke_instance_fault_uninstalls_as_the_site_owner_would_app_removed_included() {
    // Arrange
    let app = spawn_app_with(&scenario(FAST));
    let mut receiver = Receiver::start(&[]).await;
    app.set_webhook_url(&receiver.url).await;
    let (access, _, instance_id) = app.installed_tokens().await;
    receiver.next().await; // AppInstalled
    app.arm(&format!(
        "match: {{endpoint: bi_event, instance_id: {instance_id}}}\neffects: [{{revoke: instance}}]"
    ))
    .await;

    // Act
    let bi = app.bi_event(&access, "APP_DASHBOARD_LOADED").await;
    let got = receiver.next().await;

    // Assert
    assert_eq!(
        bi.json()["details"]["applicationError"]["code"],
        "TOKEN_REVOKED"
    );
    let (public_pem, _) = app.public_key().await;
    let (_, claims) = verify_webhook(&got.body, &public_pem);
    assert_eq!(claims["data"]["eventType"], "AppRemoved");
    assert_eq!(claims["data"]["instanceId"], json!(instance_id));
    let state = app.state().await;
    assert_eq!(
        state["removed_instances"][0]["instance_id"],
        json!(instance_id)
    );
}

#[tokio::test]
async fn uninstalling_sends_app_removed_and_the_instances_tokens_stop_working() {
    // Arrange
    let app = spawn_app_with(&scenario(FAST));
    let mut receiver = Receiver::start(&[]).await;
    app.set_webhook_url(&receiver.url).await;
    let (access, refresh, instance_id) = app.installed_tokens().await;
    receiver.next().await; // AppInstalled

    // Act
    let res = app
        .post_json(
            &format!("/__admin/instances/{instance_id}/uninstall"),
            &json!({}),
        )
        .await;
    let got = receiver.next().await;

    // Assert
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["instance_id"], json!(instance_id));
    let (public_pem, _) = app.public_key().await;
    let (_, claims) = verify_webhook(&got.body, &public_pem);
    assert_eq!(claims["data"]["eventType"], "AppRemoved");
    assert_eq!(claims["data"]["data"], json!({"appId": APP_ID}));
    let bi = app
        .post_json_with_token(
            "/apps/v1/bi-event",
            &access,
            &json!({"eventName": "APP_DASHBOARD_LOADED"}),
        )
        .await;
    assert_eq!(bi.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        bi.json()["details"]["applicationError"]["code"],
        "TOKEN_REVOKED"
    );
    let refreshed = app.refresh(&refresh).await;
    assert_eq!(refreshed.status, StatusCode::BAD_REQUEST);
    assert_eq!(refreshed.json()["error"], "invalid_grant");
    let state = app.state().await;
    assert_eq!(
        state["removed_instances"][0]["instance_id"],
        json!(instance_id)
    );
    assert!(
        state["instances"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["instance_id"] != json!(instance_id))
    );
    let again = app
        .post_json(
            &format!("/__admin/instances/{instance_id}/uninstall"),
            &json!({}),
        )
        .await;
    insta::assert_json_snapshot!("webhooks__uninstall_unknown", snap(&again), {
        ".body.message" => "[message]",
        ".body.details.applicationError.description" => "[message]",
    });
}

#[tokio::test]
async fn a_reinstall_on_the_same_site_gets_the_same_instance_id_back() {
    // Arrange
    let app = spawn_app();
    app.post_json(
        &format!("/__admin/instances/{INSTANCE_ID}/uninstall"),
        &json!({}),
    )
    .await;

    // Act
    let res = app
        .get(&format!(
            "/app-market/install?appId={APP_ID}&siteId={SITE_ID}"
        ))
        .await;
    let token = res.location_query()["token"].clone();
    let res = app.get(&app.install_path(None, Some(&token))).await;

    // Assert
    assert_eq!(res.location_query()["instanceId"], INSTANCE_ID);
    assert!(
        app.state().await["removed_instances"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn an_app_without_a_webhook_url_gets_its_deliveries_recorded_as_such() {
    // Arrange
    let app = spawn_app();

    // Act
    app.install().await;

    // Assert
    let list = app.settled_webhooks(1).await;
    assert_eq!(list[0]["status"], "no_webhook_url");
    assert!(list[0]["attempts"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn scenario_urls_start_events_and_declared_follow_ups_are_delivered_in_order() {
    // Arrange
    let mut receiver = Receiver::start(&[]).await;
    let yaml = scenario(&format!(
        "webhooks:\n  backoff_ms: 5\n  on_start: true\n  events:\n    - event_type: PaidPlanPurchased\n      app: {APP_ID}\n      data: {{ vendorProductId: premium }}\n"
    ))
    .replace(
        "    app_url: http://localhost:3000/wix/app\n",
        &format!("    app_url: http://localhost:3000/wix/app\n    webhook_url: {}\n", receiver.url),
    );

    // Act
    let app = spawn_app_with(&yaml);
    let first = receiver.next().await;
    let second = receiver.next().await;

    // Assert
    let (public_pem, _) = app.public_key().await;
    let (_, first) = verify_webhook(&first.body, &public_pem);
    let (_, second) = verify_webhook(&second.body, &public_pem);
    assert_eq!(first["data"]["eventType"], "AppInstalled");
    assert_eq!(first["data"]["instanceId"], INSTANCE_ID);
    assert_eq!(second["data"]["eventType"], "PaidPlanPurchased");
    assert_eq!(
        second["data"]["data"],
        json!({"vendorProductId": "premium"})
    );
}

#[tokio::test]
async fn held_deliveries_released_reversed_arrive_in_reverse_order_and_duplicates_twice() {
    // Arrange
    let app = spawn_app_with(&scenario(FAST));
    let mut receiver = Receiver::start(&[]).await;
    app.set_webhook_url(&receiver.url).await;
    let (public_pem, _) = app.public_key().await;
    let hold = app
        .post_json(
            "/__admin/webhooks/faults",
            &json!({"hold": true, "times": 2}),
        )
        .await;
    assert_eq!(hold.status, StatusCode::OK, "{}", hold.text());
    for n in 1..=2 {
        let res = app
            .post_json(
                "/__admin/webhooks/emit",
                &json!({"instanceId": INSTANCE_ID, "eventType": "Custom", "data": {"n": n}}),
            )
            .await;
        assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.text());
    }

    // Act
    let released = app
        .post_json("/__admin/webhooks/release", &json!({"order": "reversed"}))
        .await;
    let first = verify_webhook(&receiver.next().await.body, &public_pem).1;
    let second = verify_webhook(&receiver.next().await.body, &public_pem).1;
    app.post_json("/__admin/webhooks/faults", &json!({"duplicates": 1}))
        .await;
    app.post_json(
        "/__admin/webhooks/emit",
        &json!({"instanceId": INSTANCE_ID, "eventType": "Twice"}),
    )
    .await;
    let copies = [receiver.next().await.body, receiver.next().await.body];

    // Assert
    assert_eq!(released.json()["released"], json!([2, 1]));
    assert_eq!(first["data"]["data"]["n"], 2);
    assert_eq!(second["data"]["data"]["n"], 1);
    assert_eq!(copies[0], copies[1]);
    let list = app.settled_webhooks(4).await;
    assert_eq!(list[3]["duplicate_of"], 3);
}

#[tokio::test]
async fn the_public_key_is_the_same_for_the_same_seed_and_unknown_apps_are_404() {
    // Arrange
    let (a, b) = (spawn_app(), spawn_app());

    // Act
    let pem_a = a.get(&format!("/__admin/apps/{APP_ID}/public-key")).await;
    let pem_b = b.get(&format!("/__admin/apps/{APP_ID}/public-key")).await;
    let unknown = a
        .get("/__admin/apps/00000000-0000-4000-8000-000000000000/public-key")
        .await;

    // Assert
    assert_eq!(
        pem_a.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert!(pem_a.text().starts_with("-----BEGIN PUBLIC KEY-----\n"));
    assert_eq!(pem_a.text(), pem_b.text());
    insta::assert_json_snapshot!("webhooks__public_key_unknown_app", snap(&unknown));
}

#[tokio::test]
async fn a_scenario_pem_key_signs_the_webhooks() {
    // Arrange: a key made here, independently of the mock.
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::pkcs8::{EncodePublicKey, LineEnding};
    let mut rng =
        <rand_chacha::ChaCha20Rng as rand_chacha::rand_core::SeedableRng>::from_seed([9; 32]);
    let key = rsa::RsaPrivateKey::new(&mut rng, 1024).unwrap();
    let private_pem = key.to_pkcs1_pem(LineEnding::LF).unwrap().to_string();
    let public_pem = key
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    let indented: String = private_pem
        .lines()
        .map(|l| format!("      {l}\n"))
        .collect();
    let yaml = scenario("").replace(
        "    app_url: http://localhost:3000/wix/app\n",
        &format!(
            "    app_url: http://localhost:3000/wix/app\n    webhook_key_id: myKid001\n    webhook_private_key: |\n{indented}"
        ),
    );
    let app = spawn_app_with(&yaml);

    // Act
    let (served, kid) = app.public_key().await;

    // Assert
    assert_eq!(served, public_pem);
    assert_eq!(kid, "myKid001");
}

#[tokio::test]
async fn the_signed_instance_verifies_with_an_independent_hmac_check() {
    use hmac::{Hmac, Mac};
    // Arrange
    let app = spawn_app();

    // Act
    let res = app
        .get(&format!("/__admin/instances/{INSTANCE_ID}/signed-instance"))
        .await;

    // Assert
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let instance = res.json()["instance"].as_str().unwrap().to_string();
    assert!(!instance.contains('='), "no padding");
    let (signature, data) = instance.split_once('.').unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(APP_SECRET.as_bytes()).unwrap();
    mac.update(data.as_bytes());
    assert_eq!(
        signature,
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    );
    let payload: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(data).unwrap()).unwrap();
    assert_eq!(payload, res.json()["payload"]);
    insta::assert_json_snapshot!("webhooks__signed_instance_owner", payload, {
        ".uid" => "[ownerId]", ".siteOwnerId" => "[ownerId]", ".siteMemberId" => "[ownerId]",
    });
}

#[tokio::test]
async fn a_visitor_signed_instance_has_an_aid_and_bad_viewers_are_400_or_404() {
    // Arrange
    let app = spawn_app();
    let path = format!("/__admin/instances/{INSTANCE_ID}/signed-instance");

    // Act
    let visitor = app.get(&format!("{path}?visitor=true")).await.json();
    let user = app.get(&format!("{path}?uid=someone-else")).await.json();
    let both = app.get(&format!("{path}?visitor=true&uid=x")).await;
    let unknown = app
        .get("/__admin/instances/00000000-0000-4000-8000-000000000000/signed-instance")
        .await;

    // Assert
    assert!(visitor["payload"].get("uid").is_none());
    assert!(visitor["payload"]["aid"].as_str().is_some());
    assert_eq!(visitor["payload"]["permissions"], "");
    assert_eq!(user["payload"]["uid"], "someone-else");
    assert_eq!(user["payload"]["permissions"], "");
    assert_eq!(both.status, StatusCode::BAD_REQUEST);
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_webhook_admin_input_is_a_400_and_changes_nothing() {
    // Arrange
    let app = spawn_app();
    let put = |body: &'static str| {
        warp::test::request()
            .method("PUT")
            .path(&format!("/__admin/apps/{APP_ID}/webhook-url"))
            .body(body)
    };

    // Act
    let not_url = app.send(put(r#"{"url": "not a url"}"#)).await;
    let not_json = app.send(put("{")).await;
    let unknown_field = app.send(put(r#"{"uri": "http://x"}"#)).await;
    let bad_emit = app
        .post_json(
            "/__admin/webhooks/emit",
            &json!({"instanceId": INSTANCE_ID}),
        )
        .await;
    let bad_fault = app
        .post_json("/__admin/webhooks/faults", &json!({"delay": 5}))
        .await;

    // Assert
    for res in [&not_url, &not_json, &unknown_field, &bad_emit, &bad_fault] {
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.text());
    }
    assert_eq!(app.state().await["apps"][0]["webhook_url"], Value::Null);
    assert_eq!(app.get("/__admin/webhooks").await.json()["count"], 0);
}

#[tokio::test]
async fn opening_an_installed_app_from_the_app_market_carries_the_signed_instance() {
    // Arrange
    let app = spawn_app();

    // Act
    let installed = app
        .get(&format!(
            "/app-market/install?appId={APP_ID}&siteId={SITE_ID}"
        ))
        .await;
    let fresh = app
        .get(&format!("/app-market/install?appId={APP_ID}"))
        .await;

    // Assert
    let instance = installed.location_query()["instance"].clone();
    let data = instance.split_once('.').unwrap().1;
    let payload: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(data).unwrap()).unwrap();
    assert_eq!(payload["instanceId"], INSTANCE_ID);
    assert_eq!(payload["permissions"], "OWNER");
    assert!(!fresh.location_query().contains_key("instance"));
}

#[tokio::test]
async fn a_scenarios_delivery_faults_are_armed_at_start_and_again_after_a_reset() {
    // Arrange: every Custom delivery is held, once, by the scenario itself.
    let faults = "  faults:\n    - {event_type: Custom, hold: true, times: 1}\n";
    let app = spawn_app_with(&scenario(&format!("{FAST}{faults}")));
    let receiver = Receiver::start(&[]).await;
    app.set_webhook_url(&receiver.url).await;
    let event = json!({"instanceId": INSTANCE_ID, "eventType": "Custom"});
    let emit = || app.post_json("/__admin/webhooks/emit", &event);

    // Act
    emit().await;
    emit().await;
    let before_reset = app.get("/__admin/webhooks").await.json();
    app.post_json("/__admin/reset", &json!({})).await;
    app.set_webhook_url(&receiver.url).await;
    emit().await;
    let after_reset = app.get("/__admin/webhooks").await.json();

    // Assert: the first delivery is held, the second is not (times: 1), and a reset arms it again.
    let statuses = |v: &serde_json::Value| -> Vec<String> {
        v["webhooks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["status"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(statuses(&before_reset)[0], "held");
    assert_ne!(statuses(&before_reset)[1], "held");
    assert_eq!(statuses(&after_reset), vec!["held".to_string()]);
}
