//! Live reload: `PUT /__admin/scenario`, reload on file change, and the `schema` command.

use std::time::Duration;

use serde_json::json;
use tracing_subscriber::util::SubscriberInitExt;
use warp::http::StatusCode;
use wix_oauth_mock::{App, Overrides, Scenario};

use crate::helpers::*;

async fn put_scenario(app: &TestApp, text: &str) -> Resp {
    app.send(
        warp::test::request()
            .method("PUT")
            .path("/__admin/scenario")
            .body(text),
    )
    .await
}

#[tokio::test]
async fn a_valid_scenario_replaces_the_old_one_and_resets_the_state() {
    // Arrange
    let app = spawn_app();
    app.install().await;
    let text = default_yaml().replace("name: default", "name: replaced");
    // Act
    let res = put_scenario(&app, &text).await;
    // Assert
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["scenario"], "replaced");
    let loaded = app.get("/__admin/scenario").await.json();
    assert_eq!(loaded["scenario"]["name"], "replaced");
    assert_eq!(loaded["origin"], "request body");
    assert_eq!(app.get("/__admin/requests").await.json()["count"], 0);
}

#[tokio::test]
async fn a_bad_scenario_is_refused_with_line_and_column_and_the_old_one_stays() {
    // Arrange
    let app = spawn_app();
    let text = default_yaml().replace("name: default", "name: broken\nnmae: typo");
    // Act
    let res = put_scenario(&app, &text).await;
    let bad_fault = put_scenario(
        &app,
        &format!(
            "{}\nfaults:\n  - when: {{probability: 2}}\n    effects: [{{delay: {{ms: 1}}}}]\n",
            default_yaml()
        ),
    )
    .await;
    // Assert
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    // The message lists every known key, which other areas extend: pin only where and what.
    let message = res.json()["message"].as_str().unwrap().to_string();
    assert!(message.starts_with("<request body>:9:1: "), "{message}");
    assert!(message.contains("unknown field `nmae`"), "{message}");
    assert_eq!(bad_fault.status, StatusCode::BAD_REQUEST);
    let lines = default_yaml().lines().count();
    assert_eq!(
        bad_fault.json()["message"],
        format!(
            "<request body>:{}:5: fault `faults[0]`: when.probability must be between 0 and 1, not 2",
            lines + 3
        ),
    );
    assert_eq!(
        app.get("/__admin/scenario").await.json()["scenario"]["name"],
        "default"
    );
}

/// A fresh directory (`wix-mock-TAG-PID`) holding the default scenario as `watched.yaml`, and an app
/// loaded from that file.
fn app_from_a_file(tag: &str) -> (std::path::PathBuf, std::path::PathBuf, App) {
    let dir = std::env::temp_dir().join(format!("wix-mock-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("watched.yaml");
    std::fs::write(&path, default_yaml()).unwrap();
    let app = App::new(
        Scenario::from_file(&path).unwrap(),
        "file",
        Overrides::default(),
    );
    (dir, path, app)
}

/// Whether `app`'s scenario is named `want` within 10 s.
async fn name_becomes(app: &App, want: &str) -> bool {
    for _ in 0..400 {
        if app.scenario().name == want {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    false
}

#[tokio::test]
async fn the_scenario_file_is_reloaded_when_it_changes_and_kept_when_the_change_is_bad() {
    // Arrange
    let (dir, path, app) = app_from_a_file("watch");
    let watcher = tokio::spawn(wix_oauth_mock::watch::watch(
        wix_oauth_mock::namespaces::Namespaces::new(app.clone()),
        path.clone(),
        Duration::from_millis(10),
        wix_oauth_mock::watch::SETTLE,
    ));
    // Act
    std::fs::write(
        &path,
        default_yaml().replace("name: default", "name: edited"),
    )
    .unwrap();
    let reloaded = name_becomes(&app, "edited").await;
    std::fs::write(&path, "name: [broken").unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Assert
    assert!(reloaded);
    assert_eq!(app.scenario().name, "edited");
    watcher.abort();
    let _ = std::fs::remove_dir_all(&dir);
}

/// A `tracing` writer that keeps what is logged, for one test's thread.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_save_caught_half_written_is_read_once_whole_and_only_then() {
    // Arrange
    let logs = Captured::default();
    let writer = logs.clone();
    // A current-thread test runtime: the watcher's task runs on this thread and logs here. A second
    // live dispatcher makes tracing-core ask every dispatcher whether a call site is wanted: with
    // just one registered it asks only the registering thread's default, so another test's thread
    // that logs "reloaded" first would switch that call site off for this thread too.
    let _second = tracing::Dispatch::new(tracing_subscriber::registry());
    let _logging = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .set_default();
    let (dir, path, app) = app_from_a_file("settle");
    // Polled every 5 ms; a change must hold still for 2 s, far longer than the half-written file
    // below lasts even on a loaded machine.
    let watcher = tokio::spawn(wix_oauth_mock::watch::watch(
        wix_oauth_mock::namespaces::Namespaces::new(app.clone()),
        path.clone(),
        Duration::from_millis(5),
        Duration::from_secs(2),
    ));
    // Act: a save in two steps, as `std::fs::write` and editors do it, with polls in between.
    let mut file = std::fs::File::create(&path).unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    std::io::Write::write_all(
        &mut file,
        default_yaml()
            .replace("name: default", "name: edited")
            .as_bytes(),
    )
    .unwrap();
    drop(file);
    let reloaded = name_becomes(&app, "edited").await;
    // Assert
    watcher.abort();
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(reloaded, "{text}");
    // An empty file is a valid scenario ("unnamed"): read half-written, it would have replaced the
    // running one first.
    assert_eq!(text.matches("reloaded scenario").count(), 1, "{text}");
    assert!(text.contains("reloaded scenario \"edited\""), "{text}");
    assert!(!text.contains("ERROR"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_schema_command_prints_a_json_schema_of_the_scenario_format() {
    // Arrange
    let cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_wix-oauth-mock"))
        .arg("schema")
        .output();
    // Act
    let out = cmd.await.unwrap();
    // Assert
    assert!(out.status.success());
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        schema["$schema"],
        json!("https://json-schema.org/draft/2020-12/schema")
    );
    let mut keys: Vec<&String> = schema["properties"].as_object().unwrap().keys().collect();
    keys.sort();
    insta::assert_json_snapshot!("reload__schema_keys", keys);
}

#[tokio::test]
async fn binary_garbage_is_refused_by_every_new_admin_endpoint() {
    // Arrange
    let app = spawn_app();
    let garbage: &[u8] = &[0xff, 0xfe, 0x00, 0x7b];
    // Act
    let mut statuses = Vec::new();
    for (method, path) in [
        ("PUT", "/__admin/scenario"),
        ("POST", "/__admin/faults"),
        ("POST", "/__admin/requests/wait"),
    ] {
        let res = app
            .send(
                warp::test::request()
                    .method(method)
                    .path(path)
                    .body(garbage),
            )
            .await;
        statuses.push(res.status);
    }
    // Assert
    assert_eq!(statuses, [StatusCode::BAD_REQUEST; 3]);
    assert_eq!(
        app.get("/__admin/scenario").await.json()["scenario"]["name"],
        "default"
    );
}
