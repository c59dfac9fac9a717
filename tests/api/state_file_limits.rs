//! Issue 18: state files at the edges. A clock position the clock cannot take and a file without end
//! are refused with the usual "unusable" message, never a panic or an unbounded read.

use std::path::PathBuf;

use serde_json::{Value, json};
use wix_oauth_mock::state_file::{self, MAX_BYTES, StateError};
use wix_oauth_mock::{App, Scenario};

use crate::helpers::*;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "wix-mock-state-limits-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A good state file with its `clock` replaced.
fn with_clock(clock: Value) -> String {
    let mut file: Value =
        serde_json::from_slice(&spawn_app().app.capture_state().to_bytes()).unwrap();
    file["clock"] = clock;
    serde_json::to_string_pretty(&file).unwrap()
}

#[test]
fn regression_18_a_clock_offset_of_i64_min_is_unusable_not_a_panic() {
    // Arrange
    let dir = temp_dir("clock");
    let cases = [
        (
            "min",
            json!({"mode": "live", "offset_ms": i64::MIN}),
            "clock.offset_ms",
        ),
        (
            "max",
            json!({"mode": "live", "offset_ms": i64::MAX}),
            "clock.offset_ms",
        ),
        (
            "far future",
            json!({"mode": "frozen", "at": "9950-01-01T00:00:00Z"}),
            "clock.at",
        ),
        (
            "before 1970",
            json!({"mode": "frozen", "at": "1969-12-31T23:59:59Z"}),
            "clock.at",
        ),
    ];
    for (name, clock, expected) in cases {
        let path = dir.join(format!("{}.json", name.replace(' ', "-")));
        let content = with_clock(clock);
        std::fs::write(&path, &content).unwrap();
        // Act
        let err = state_file::load(&path, &Scenario::builtin()).unwrap_err();
        // Assert
        assert!(matches!(err, StateError::Unusable { .. }), "{name}: {err}");
        assert!(err.to_string().contains(expected), "{name}: {err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), content);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_live_clock_offset_within_range_still_restores() {
    // Arrange: ten years behind the system clock.
    let dir = temp_dir("clock-ok");
    let path = dir.join("state.json");
    let offset = -10_i64 * 365 * 86_400 * 1000;
    std::fs::write(
        &path,
        with_clock(json!({"mode": "live", "offset_ms": offset})),
    )
    .unwrap();
    // Act
    let state = state_file::load(&path, &Scenario::builtin())
        .unwrap()
        .unwrap();
    let app = TestApp::from_app(App::from_state(
        Scenario::builtin(),
        "<test>",
        test_overrides(),
        state,
    ));
    // Assert
    assert_eq!(app.get("/__admin/health").await.status, 200);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn regression_18_an_endless_state_file_is_refused_after_64_mib() {
    // Arrange
    let path = std::path::Path::new("/dev/zero");
    if !path.exists() {
        return;
    }
    // Act
    let started = std::time::Instant::now();
    let err = state_file::load(path, &Scenario::builtin()).unwrap_err();
    // Assert
    assert!(matches!(err, StateError::Unusable { .. }), "{err}");
    assert!(err.to_string().contains("larger than 64 MiB"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}

#[test]
fn a_state_file_over_the_limit_is_unusable_and_left_untouched() {
    // Arrange: a sparse file one byte over the limit (no 64 MiB written to disk).
    let dir = temp_dir("big");
    let path = dir.join("state.json");
    let f = std::fs::File::create(&path).unwrap();
    f.set_len(MAX_BYTES + 1).unwrap();
    drop(f);
    // Act
    let err = state_file::load(&path, &Scenario::builtin()).unwrap_err();
    // Assert
    assert!(err.to_string().contains("larger than 64 MiB"), "{err}");
    assert_eq!(std::fs::metadata(&path).unwrap().len(), MAX_BYTES + 1);
    let _ = std::fs::remove_dir_all(&dir);
}
