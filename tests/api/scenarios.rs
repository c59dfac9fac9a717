use std::process::Command;

use wix_oauth_mock::Scenario;

#[test]
fn every_shipped_scenario_loads() {
    insta::glob!("../../scenarios", "*.yaml", |path| {
        let scenario = Scenario::from_file(path).unwrap_or_else(|e| panic!("{e}"));
        assert!(!scenario.name.is_empty());
    });
}

/// docker-smoke step 9 mounts it into the compose recipe; a change of the format must not break it unseen.
#[test]
fn the_compose_recipes_scenario_loads_and_sends_webhooks_to_the_app_service() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/clients/recipes/scenarios/my-app.yaml"
    );
    let scenario =
        Scenario::from_file(std::path::Path::new(path)).unwrap_or_else(|e| panic!("{e}"));
    let url = scenario.apps[0]
        .webhook_url
        .as_ref()
        .map(|u| u.value.as_str());
    assert_eq!(url, Some("http://127.0.0.1:3000/webhooks"));
}

#[test]
fn the_shipped_default_is_the_built_in_scenario() {
    let shipped = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/default.yaml"
    ))
    .unwrap();
    assert_eq!(shipped, wix_oauth_mock::scenario::DEFAULT_YAML);
}

#[test]
fn check_reports_each_problem_with_file_line_and_column() {
    // Arrange
    let dir = std::env::temp_dir().join(format!("wix-mock-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let broken = dir.join("broken.yaml");
    std::fs::write(
        &broken,
        "name: broken\napps:\n  - id: 5e2c9a6f-8a61-4b4f-9a43-0f3d2b1c7a10\n    name: A\n    secret: s\n    app_url: http://localhost/app\nsites:\n  - id: 6354435d-e875-4113-8645-ccc901f07efd\n    name: S\n    installs:\n      - app: 11111111-2222-4333-8444-555555555555\n        instance_id: 54f783ac-8c25-4a73-9ebf-a1125f71c5e3\n",
    )
    .unwrap();
    let typo = dir.join("typo.yaml");
    std::fs::write(
        &typo,
        "name: typo\nclock:\n  frozen: true\n  strat: 2026-01-01T00:00:00Z\n",
    )
    .unwrap();
    // Act
    let out = Command::new(env!("CARGO_BIN_EXE_wix-oauth-mock"))
        .arg("check")
        .arg(&broken)
        .arg(&typo)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scenarios/default.yaml"
        ))
        .output()
        .unwrap();
    // Assert
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stderr.contains(&format!("{}:11:14: site `6354435d-e875-4113-8645-ccc901f07efd` installs app `11111111-2222-4333-8444-555555555555`", broken.display())), "{stderr}");
    assert!(
        stderr.contains(&format!("{}:4:3: ", typo.display())),
        "{stderr}"
    );
    assert!(stderr.contains("strat"), "{stderr}");
    assert!(stdout.contains("default.yaml: ok"), "{stdout}");
}

#[test]
fn check_passes_on_good_files() {
    let out = Command::new(env!("CARGO_BIN_EXE_wix-oauth-mock"))
        .arg("check")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scenarios/default.yaml"
        ))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
