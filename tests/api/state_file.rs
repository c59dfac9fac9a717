//! `--state-file` (issue 7): the world survives a save and a restart; files are written atomically;
//! an unusable file is refused and left as it was.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::json;
use warp::http::StatusCode;
use wix_oauth_mock::state_file::{self, StateError};
use wix_oauth_mock::{App, Scenario};

use crate::helpers::*;

/// A fresh directory of this test's own under the system temp dir.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wix-mock-state-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Saves `app` to `path`, then starts a new mock from that file, as a restart does.
fn restart(app: &TestApp, path: &std::path::Path) -> TestApp {
    state_file::save(path, &app.app.capture_state()).unwrap();
    let scenario = Scenario::builtin();
    let state = state_file::load(path, &scenario).unwrap().expect("saved");
    TestApp::from_app(App::from_state(scenario, "<test>", test_overrides(), state))
}

#[tokio::test]
async fn installs_tokens_and_oauth_apps_survive_a_restart() {
    // Arrange: an install with its tokens, and an OAuth app created through the API.
    let dir = temp_dir("round-trip");
    let path = dir.join("state.json");
    let before = spawn_app();
    let (access, refresh, instance_id) = before.installed_tokens().await;
    let created = before
        .post_json_with_token(
            "/oauth-app/v1/oauth-apps",
            &before.app_token().await,
            &json!({"oAuthApp": {"name": "kept"}}),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text());
    let client_id = created.json()["oAuthApp"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let secret = created.json()["oAuthApp"]["secret"]
        .as_str()
        .unwrap()
        .to_string();
    before.advance_clock(120).await;
    // Act
    let after = restart(&before, &path);
    // Assert: the old access token still verifies (same seed, same signing key), the refresh token
    // and the OAuth app's secret still work, and the clock stands where it stood.
    assert_eq!(
        after
            .bi_event(&access, "APP_FINISHED_CONFIGURATION")
            .await
            .status,
        StatusCode::OK
    );
    let refreshed = after.refresh(&refresh).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.text());
    let admin = after
        .oauth2_token(&json!({"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}))
        .await;
    assert_eq!(admin.status, StatusCode::OK, "{}", admin.text());
    let wrong = after
        .oauth2_token(&json!({"grant_type": "client_credentials", "client_id": client_id, "client_secret": "nope"}))
        .await;
    assert_ne!(wrong.status, StatusCode::OK);
    let state = after.state().await;
    assert_eq!(state["clock"]["now"], "2026-01-01T00:02:00.000Z");
    assert!(state.to_string().contains(&instance_id));
    // A new install draws from a fresh stream: no id of the first run comes back.
    let again = after.install().await;
    assert_ne!(again.instance_id, instance_id);
    assert_ne!(again.code, before.install().await.code);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn saving_the_same_state_twice_gives_the_same_bytes() {
    // Arrange
    let app = spawn_app();
    app.installed_tokens().await;
    // Act
    let (a, b) = (app.app.capture_state(), app.app.capture_state());
    // Assert: the autosave's "changed?" is a byte comparison, so the file must be canonical.
    assert_eq!(a.to_bytes(), b.to_bytes());
    let text = String::from_utf8(a.to_bytes()).unwrap();
    assert!(text.contains("\"format\": \"wix-oauth-mock/state\""));
    assert!(text.contains("\"version\": 2"));
    // The scenario's OAuth app secret is stored as a digest, never as itself.
    assert!(!text.contains(CLIENT_SECRET));
    assert!(text.contains("secret_sha256"));
}

#[test]
fn a_missing_file_means_a_first_start() {
    let dir = temp_dir("missing");
    let got = state_file::load(&dir.join("none.json"), &Scenario::builtin()).unwrap();
    assert!(got.is_none());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn unusable_files_are_refused_with_the_reason_and_left_untouched() {
    // Arrange
    let dir = temp_dir("unusable");
    let good = spawn_app().app.capture_state().to_bytes();
    let good_text = String::from_utf8(good.clone()).unwrap();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "truncated",
            good_text[..good_text.len() / 2].to_string(),
            "not valid JSON",
        ),
        ("empty", String::new(), "not valid JSON"),
        (
            "other json",
            "{\"hello\": 1}".to_string(),
            "not a wix-oauth-mock state file",
        ),
        (
            "future version",
            good_text.replace("\"version\": 2", "\"version\": 3"),
            "format version 3",
        ),
        (
            "other scenario",
            good_text.replace("\"scenario\": \"default\"", "\"scenario\": \"shop\""),
            "saved under scenario \"shop\"",
        ),
        (
            "unknown app",
            good_text.replace(APP_ID, "99999999-8a61-4b4f-9a43-0f3d2b1c7a10"),
            "no longer declares",
        ),
        (
            "bad digest",
            good_text.replacen("\"secret_sha256\": \"", "\"secret_sha256\": \"zz", 1),
            "not 64 hex digits",
        ),
    ];
    for (name, content, expected) in cases {
        let path = dir.join(format!("{}.json", name.replace(' ', "-")));
        std::fs::write(&path, &content).unwrap();
        // Act
        let err = state_file::load(&path, &Scenario::builtin()).unwrap_err();
        // Assert
        assert!(matches!(err, StateError::Unusable { .. }), "{name}: {err}");
        let message = err.to_string();
        assert!(message.contains(expected), "{name}: {message}");
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("left untouched"), "{message}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), content, "{name}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_binary_refuses_a_corrupt_state_file_and_keeps_it() {
    // Arrange
    let dir = temp_dir("binary-corrupt");
    let path = dir.join("state.json");
    std::fs::write(&path, b"{\"format\": \"wix-oauth-mock/state\", \"vers").unwrap();
    // Act
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_wix-oauth-mock"))
        .args(["--port", "0", "--state-file"])
        .arg(&path)
        .env_remove("WIX_MOCK_PORT")
        .env_remove("WIX_MOCK_SCENARIO")
        .output()
        .await
        .unwrap();
    // Assert
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is unusable"), "{stderr}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"{\"format\": \"wix-oauth-mock/state\", \"vers"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Starts the binary on port 0 with `path` as state file; the child and its HTTP address.
async fn start_binary(path: &std::path::Path) -> (tokio::process::Child, String) {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_wix-oauth-mock"))
        .args(["--port", "0", "--no-watch", "--state-file"])
        .arg(path)
        .env_remove("WIX_MOCK_PORT")
        .env_remove("WIX_MOCK_SCENARIO")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    (child, addr)
}

#[tokio::test]
async fn the_binary_saves_on_sigterm_and_restores_on_start() {
    // Arrange: an App Market click leaves an install token in the world.
    let dir = temp_dir("binary-sigterm");
    let path = dir.join("state.json");
    let (mut child, addr) = start_binary(&path).await;
    let click = raw_exchange(
        &addr,
        &format!("GET /app-market/install?appId={APP_ID} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )
    .await;
    let click = String::from_utf8_lossy(&click).to_string();
    let token = click
        .split("token=")
        .nth(1)
        .unwrap()
        .split(['\r', '&'])
        .next()
        .unwrap()
        .to_string();
    // Act: SIGTERM, then a second start from the same file.
    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
    let saved = std::fs::read_to_string(&path).unwrap();
    let (_child, addr) = start_binary(&path).await;
    let install = raw_exchange(
        &addr,
        &format!("GET /installer/install?appId={APP_ID}&redirectUrl=http%3A%2F%2Flocalhost%3A3000%2Fwix%2Foauth%2Fcallback&token={token} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )
    .await;
    // Assert: the install token issued before the restart is still good.
    assert!(saved.contains(&token), "{saved}");
    let install = String::from_utf8_lossy(&install);
    assert!(install.starts_with("HTTP/1.1 302"), "{install}");
    assert!(install.contains("code="), "{install}");
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "no temporary files: {leftovers:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn registered_members_their_passwords_and_the_outbox_survive_a_restart_as_digests() {
    // Arrange: a member registers, a scenario member gets a wrong password and a recovery e-mail.
    let dir = temp_dir("members");
    let path = dir.join("state.json");
    let before = spawn_app();
    let visitor = before
        .mint(&json!({"identity": "visitor", "client_id": CLIENT_ID}))
        .await
        .0;
    let registered = before
        .post_json_with_token(
            "/_api/iam/authentication/v2/register",
            &visitor,
            &json!({"loginId": {"email": "kept@demo-site.example.com"}, "password": "kept-password"}),
        )
        .await;
    assert_eq!(registered.status, StatusCode::OK, "{}", registered.text());
    let login = |app: &TestApp, email: &'static str, password: &'static str| {
        let app = app.clone();
        let visitor = visitor.clone();
        async move {
            app.post_json_with_token(
                "/_api/iam/authentication/v2/login",
                &visitor,
                &json!({"loginId": {"email": email}, "password": password}),
            )
            .await
        }
    };
    login(&before, MEMBER_EMAIL, "wrong-password").await;
    before
        .post_json_with_token(
            "/_api/iam/recovery/v1/send-email",
            &visitor,
            &json!({"email": MEMBER_EMAIL}),
        )
        .await;
    // Act
    let after = restart(&before, &path);
    let text = std::fs::read_to_string(&path).unwrap();
    // Assert: the password is kept as a digest only, and still logs in.
    assert!(!text.contains("kept-password"));
    assert!(!text.contains(MEMBER_PASSWORD));
    assert!(text.contains("pbkdf2-sha256$"));
    let ok = login(&after, "kept@demo-site.example.com", "kept-password").await;
    assert_eq!(ok.json()["state"], "SUCCESS", "{}", ok.text());
    let state = after.state().await;
    let scenario_member = state["identities"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == MEMBER_EMAIL)
        .unwrap()
        .clone();
    assert_eq!(scenario_member["wrong_passwords"], 1);
    let outbox = after
        .get(&format!("/__admin/outbox?email={MEMBER_EMAIL}"))
        .await
        .json();
    assert_eq!(outbox["count"], 1);
    let _ = std::fs::remove_dir_all(&dir);
}
