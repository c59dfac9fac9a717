//! Record and replay (issue 15): a recording mock sends what it does not serve to a second mock on
//! loopback with a token it obtained there, writes redacted stub files, and a third mock replays them.

use std::sync::Arc;

use serde_json::json;
use warp::http::StatusCode;
use wix_oauth_mock::namespaces::Namespaces;
use wix_oauth_mock::record::{Credentials, Recorder};
use wix_oauth_mock::{App, Overrides, Scenario};

use crate::helpers::*;

const CONTACT_ID: &str = "8fd1e4a3-2c5b-4d6e-9f70-1a2b3c4d5e6f";
/// Irregular spacing and `1.50` on purpose: a replay that re-serialised JSON would change them.
const CONTACT_BODY: &str = r#"{"contact":{"id":"8fd1e4a3-2c5b-4d6e-9f70-1a2b3c4d5e6f",  "primaryInfo":{"email":"ada@example.org"},"sessionToken":"s3cr3t-value"}, "score": 1.50}"#;

/// The upstream: the built-in scenario plus a contact stub, on a real socket, with its own seed (so
/// its signing key differs from the recorder's and a forwarded mock token would not verify there).
async fn upstream() -> (String, App) {
    let text = format!(
        "{}\nstubs:\n  - name: contact\n    request: {{method: GET, path: '/contacts/v4/contacts/{{contactId}}'}}\n    auth: {{identities: [app], scopes: [SCOPE.DC-CONTACTS.READ-CONTACTS]}}\n    response:\n      headers: {{content-type: application/json}}\n      body_text: '{CONTACT_BODY}'\n",
        default_yaml()
    );
    let scenario = Scenario::parse(&text, "<upstream>").unwrap_or_else(|e| panic!("{e}"));
    let app = App::new(
        scenario,
        "<upstream>",
        Overrides {
            seed: Some(7),
            ..test_overrides()
        },
    );
    let listener = wix_oauth_mock::server::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(wix_oauth_mock::server::run(
        listener,
        Namespaces::new(app.clone()),
        std::future::pending(),
    ));
    (format!("http://{addr}"), app)
}

#[tokio::test]
async fn record_then_replay_reproduces_the_upstream_answers_byte_for_byte_after_redaction() {
    // Arrange
    let dir = std::env::temp_dir().join(format!("wix-mock-record-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (url, up) = upstream().await;
    let recorder = Arc::new(
        Recorder::new(
            &url,
            dir.join("rec"),
            Credentials::App {
                app_id: APP_ID.into(),
                secret: APP_SECRET.into(),
                instance_id: INSTANCE_ID.into(),
            },
        )
        .unwrap(),
    );
    let rec = TestApp::from_app(App::new(
        Scenario::builtin(),
        "<recorder>",
        Overrides {
            recorder: Some(recorder.clone()),
            ..test_overrides()
        },
    ));
    let own_token = rec.app_token().await;
    let contact_path = format!("/contacts/v4/contacts/{CONTACT_ID}");
    let query = json!({"query": {"paging": {"limit": 10}}});

    // Act: record
    let contact = rec.get_with_token(&contact_path, &own_token).await;
    let products = rec
        .post_json_with_token("/stores/v1/products/query", &own_token, &query)
        .await;
    let missing = rec.get_with_token("/nowhere/v1/thing", &own_token).await;

    // Assert: the client got the upstream's answers as they were, the upstream saw its own token.
    assert_eq!(contact.status, StatusCode::OK, "{}", contact.text());
    assert_eq!(contact.text(), CONTACT_BODY);
    assert_eq!(products.status, StatusCode::OK, "{}", products.text());
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let upstream_journal = up.journal().entries();
    let statuses: Vec<(String, u16)> = upstream_journal
        .iter()
        .map(|e| (e.path.to_string(), e.status))
        .collect();
    assert_eq!(
        statuses,
        [
            ("/oauth2/token".to_string(), 200),
            (contact_path.clone(), 200),
            ("/stores/v1/products/query".to_string(), 200),
            ("/nowhere/v1/thing".to_string(), 404),
        ]
    );
    let mut files: Vec<String> = std::fs::read_dir(dir.join("rec"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "rec-0001-get-contacts-v4-contacts-id1.json",
            "rec-0002-post-stores-v1-products-query.json",
            "rec-0003-get-nowhere-v1-thing.json"
        ]
    );
    let written: String = files
        .iter()
        .map(|f| std::fs::read_to_string(dir.join("rec").join(f)).unwrap())
        .collect();
    for secret in ["ada@example.org", "s3cr3t-value", "OauthNG", APP_SECRET] {
        assert!(!written.contains(secret), "{secret} was written");
    }

    // Act: replay from a scenario whose stubs_dir is the recording.
    std::fs::write(
        dir.join("replay.yaml"),
        default_yaml().replace("stubs_dir: ../fixtures/stubs", "stubs_dir: rec"),
    )
    .unwrap();
    let replay = spawn_with_overrides(
        Scenario::from_file(&dir.join("replay.yaml")).unwrap(),
        test_overrides(),
    );
    let token = replay.app_token().await;
    let contact_again = replay.get_with_token(&contact_path, &token).await;
    let other_contact = replay
        .get_with_token(
            "/contacts/v4/contacts/11111111-2222-4333-8444-555555555555",
            &token,
        )
        .await;
    let products_again = replay
        .post_json_with_token("/stores/v1/products/query", &token, &query)
        .await;
    let no_token = replay.get(&contact_path).await;

    // Assert: the same status, type and bytes, redacted.
    assert_eq!(contact_again.status, StatusCode::OK);
    assert_eq!(
        contact_again.text(),
        recorder.redact(CONTACT_BODY),
        "replayed bytes differ"
    );
    assert_eq!(
        contact_again.text(),
        CONTACT_BODY
            .replace("ada@example.org", "redacted@example.com")
            .replace("s3cr3t-value", "[redacted]")
    );
    assert_eq!(
        contact_again.header("content-type"),
        Some("application/json")
    );
    assert_eq!(other_contact.status, StatusCode::OK);
    assert_eq!(products_again.status, StatusCode::OK);
    assert_eq!(products_again.body, products.body);
    assert_eq!(no_token.status, StatusCode::UNAUTHORIZED);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn an_unreachable_upstream_is_a_502_and_nothing_is_written() {
    // Arrange: port 9 on loopback (discard) has no listener.
    let dir = std::env::temp_dir().join(format!("wix-mock-record-502-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let recorder = Recorder::new(
        "http://127.0.0.1:9",
        dir.clone(),
        Credentials::ApiKey {
            key: "k".into(),
            site_id: SITE_ID.into(),
        },
    )
    .unwrap();
    let rec = TestApp::from_app(App::new(
        Scenario::builtin(),
        "<recorder>",
        Overrides {
            recorder: Some(Arc::new(recorder)),
            ..test_overrides()
        },
    ));
    // Act
    let res = rec.get("/stores/v1/products/x").await;
    // Assert
    assert_eq!(res.status, StatusCode::BAD_GATEWAY);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    std::fs::remove_dir_all(dir).unwrap();
}
