//! The command line as people and scripts meet it: environment booleans, exit codes, logs, the
//! start-up lines, `--version`, `--help` and how `health` finds the port (issue 17).

use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_wix-oauth-mock");

/// The binary with none of the `WIX_MOCK_*` variables a developer's shell may have set.
fn mock() -> Command {
    let mut cmd = Command::new(BIN);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("WIX_MOCK_") || name == "NO_COLOR" {
            cmd.env_remove(name);
        }
    }
    cmd.kill_on_drop(true);
    cmd
}

/// A fresh directory of this test's own under the system temp dir.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wix-mock-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Starts `cmd` as a server; the child and its stdout lines up to the empty pipe or `wanted` lines.
async fn start(mut cmd: Command, wanted: usize) -> (Child, Vec<String>) {
    let mut child = cmd.stdout(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut out = Vec::new();
    while out.len() < wanted {
        match tokio::time::timeout(Duration::from_secs(20), lines.next_line()).await {
            Ok(Ok(Some(line))) => out.push(line),
            _ => break,
        }
    }
    (child, out)
}

/// The port in a `listening on http://ADDR` line.
fn port_of(line: &str) -> u16 {
    line.split("http://")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test]
async fn boolean_variables_accept_one_yes_and_on_in_any_case() {
    // Arrange
    let dir = temp_dir("booleans");
    let mut cmd = mock();
    cmd.args(["--port", "0", "--tls-port", "0"])
        .env("WIX_MOCK_TLS", "Yes")
        .env("WIX_MOCK_NO_WATCH", "1")
        .env("WIX_MOCK_TLS_CA_OUT", dir.join("ca.pem"));
    // Act
    let (mut child, lines) = start(cmd, 3).await;
    // `check` of a missing file exits 1; a refused variable would exit 2 first.
    let on = mock()
        .args(["check", "/nonexistent.yaml"])
        .env("WIX_MOCK_NO_WATCH", "ON")
        .output()
        .await
        .unwrap();
    let off = mock()
        .args(["check", "/nonexistent.yaml"])
        .env("WIX_MOCK_TLS", "off")
        .output()
        .await
        .unwrap();
    let typo = mock().env("WIX_MOCK_TLS", "maybe").output().await.unwrap();
    // Assert
    assert!(
        lines[2].starts_with("wix-oauth-mock listening on https://"),
        "{lines:?}"
    );
    assert!(dir.join("ca.pem").exists());
    assert_eq!(on.status.code(), Some(1), "{}", stderr(&on));
    assert_eq!(off.status.code(), Some(1), "{}", stderr(&off));
    assert_eq!(typo.status.code(), Some(2));
    assert!(
        stderr(&typo).contains("invalid value 'maybe'"),
        "{}",
        stderr(&typo)
    );
    child.kill().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_usage_error_and_an_unreachable_mock_exit_with_different_codes() {
    // Arrange: port 9 (discard) is closed on any machine that runs these tests.
    let run =
        |args: &'static [&'static str]| async move { mock().args(args).output().await.unwrap() };
    // Act
    let usage = run(&["--no-such-flag"]).await;
    let bad_port = run(&["health", "--port", "http"]).await;
    let health = run(&["health", "--port", "9"]).await;
    let conformance = run(&["conformance", "--url", "http://127.0.0.1:9"]).await;
    // Assert
    assert_eq!(usage.status.code(), Some(2));
    assert_eq!(bad_port.status.code(), Some(2));
    assert_eq!(health.status.code(), Some(3), "{}", stderr(&health));
    assert!(
        stderr(&health).contains("127.0.0.1:9"),
        "{}",
        stderr(&health)
    );
    assert_eq!(
        conformance.status.code(),
        Some(3),
        "{}",
        stderr(&conformance)
    );
}

#[tokio::test]
async fn logs_carry_no_colour_codes_when_stderr_is_not_a_terminal() {
    // Arrange: an unusable scenario file makes the server log an error and stop.
    let dir = temp_dir("colour");
    let scenario = dir.join("broken.yaml");
    std::fs::write(&scenario, "name: [").unwrap();
    // Act
    let plain = mock()
        .args(["--port", "0", "--scenario"])
        .arg(&scenario)
        .output()
        .await
        .unwrap();
    // Assert
    assert_eq!(plain.status.code(), Some(1));
    let text = stderr(&plain);
    assert!(text.contains("ERROR"), "{text}");
    assert!(text.contains("broken.yaml:1:7"), "{text}");
    assert!(!text.contains('\u{1b}'), "{text:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_scenario_reload_is_logged_through_tracing_as_json() {
    // Arrange
    let dir = temp_dir("reload-json");
    let scenario = dir.join("s.yaml");
    std::fs::write(&scenario, wix_oauth_mock::scenario::DEFAULT_YAML).unwrap();
    let mut cmd = mock();
    cmd.args(["--port", "0", "--log-format", "json", "--scenario"])
        .arg(&scenario)
        .stderr(Stdio::piped());
    let (mut child, _) = start(cmd, 2).await;
    let mut logs = BufReader::new(child.stderr.take().unwrap()).lines();
    // Act
    let edited =
        wix_oauth_mock::scenario::DEFAULT_YAML.replacen("name: default", "name: edited", 1);
    assert_ne!(edited, wix_oauth_mock::scenario::DEFAULT_YAML);
    std::fs::write(&scenario, edited).unwrap();
    let line = tokio::time::timeout(Duration::from_secs(10), logs.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    // Assert
    let event: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(
        event["fields"]["message"],
        format!("reloaded scenario \"edited\" from {}", scenario.display())
    );
    child.kill().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_dashboard_line_on_an_unspecified_bind_names_a_url_one_can_open() {
    // Arrange
    let mut cmd = mock();
    cmd.args(["--bind", "0.0.0.0", "--port", "0"]);
    // Act
    let (mut child, lines) = start(cmd, 2).await;
    // Assert
    let port = port_of(&lines[0]);
    assert!(
        lines[0].starts_with(&format!(
            "wix-oauth-mock listening on http://0.0.0.0:{port} "
        )),
        "{lines:?}"
    );
    assert_eq!(
        lines[1],
        format!("dashboard: http://127.0.0.1:{port}/__admin/ui")
    );
    child.kill().await.unwrap();
}

#[tokio::test]
async fn the_version_names_the_commit() {
    // Act
    let out = mock().arg("--version").output().await.unwrap();
    // Assert
    let text = String::from_utf8_lossy(&out.stdout);
    let expected = format!("wix-oauth-mock {} (commit ", env!("CARGO_PKG_VERSION"));
    assert!(text.starts_with(&expected), "{text}");
    assert!(text.trim_end().ends_with(')'), "{text}");
}

#[tokio::test]
async fn the_help_links_only_files_that_exist() {
    // Act
    let mut text = String::new();
    for args in [&["--help"][..], &["serve", "--help"], &["health", "--help"]] {
        let out = mock().args(args).output().await.unwrap();
        assert!(out.status.success());
        text.push_str(&String::from_utf8_lossy(&out.stdout));
    }
    // Assert: every `something/name.md` mentioned is in the repository.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut linked = 0;
    for word in text.split(|c: char| c.is_whitespace() || matches!(c, ';' | ',' | '(' | ')')) {
        let word = word.trim_end_matches('.');
        if word.ends_with(".md") {
            linked += 1;
            assert!(
                root.join(word).is_file(),
                "--help links {word}, which does not exist"
            );
        }
    }
    assert!(linked >= 2, "{text}");
}

#[tokio::test]
async fn health_finds_the_port_serve_wrote_even_when_given_another_by_the_environment() {
    // Arrange: the container case: `serve --port N` while the image says WIX_MOCK_PORT=8787.
    let dir = temp_dir("port-file");
    let port_file = dir.join("port");
    let mut cmd = mock();
    cmd.args(["--port", "0", "--port-file"]).arg(&port_file);
    let (mut child, lines) = start(cmd, 1).await;
    let port = port_of(&lines[0]);
    let health = |args: &'static [&'static str]| {
        let port_file = port_file.clone();
        async move {
            mock()
                .arg("health")
                .args(args)
                .env("WIX_MOCK_PORT_FILE", port_file)
                .env("WIX_MOCK_PORT", "9")
                .output()
                .await
                .unwrap()
        }
    };
    // Act
    let from_file = health(&[]).await;
    let flag_wins = health(&["--port", "9"]).await;
    let by_env = mock()
        .arg("health")
        .env("WIX_MOCK_PORT", port.to_string())
        .output()
        .await
        .unwrap();
    // Assert
    assert_eq!(
        std::fs::read_to_string(&port_file).unwrap(),
        format!("{port}\n")
    );
    assert!(from_file.status.success(), "{}", stderr(&from_file));
    assert_eq!(flag_wins.status.code(), Some(3));
    assert!(by_env.status.success(), "{}", stderr(&by_env));
    child.kill().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_committed_schema_is_what_the_schema_command_prints() {
    // Arrange
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let committed = std::fs::read_to_string(root.join("scenarios/schema.json")).unwrap();
    // Act
    let out = mock().arg("schema").output().await.unwrap();
    // Assert
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout) == committed,
        "scenarios/schema.json is stale: run `cargo run -- schema > scenarios/schema.json`"
    );
    let schema: serde_json::Value = serde_json::from_str(&committed).unwrap();
    let id = schema["$id"].as_str().unwrap();
    assert!(!id.contains("github.com/wix-oauth-mock/"), "{id}");
}

#[test]
fn every_shipped_scenario_names_the_schema_for_editors() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let text = std::fs::read_to_string(&path).unwrap();
            assert_eq!(
                text.lines().next(),
                Some("# yaml-language-server: $schema=./schema.json"),
                "{}",
                path.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 10);
}

/// Regression for issue 18: `conformance` could not ask a mock run with `--admin-token`.
#[tokio::test]
async fn conformance_passes_the_admin_token_to_a_guarded_mock() {
    // Arrange
    let mut serve = mock();
    serve.args(["--port", "0", "--no-watch", "--admin-token", "sesame"]);
    let (mut child, lines) = start(serve, 1).await;
    let url = format!("http://127.0.0.1:{}", port_of(&lines[0]));

    // Act
    let refused = mock()
        .args(["conformance", "--url", &url])
        .output()
        .await
        .unwrap();
    let with_flag = mock()
        .args(["conformance", "--url", &url, "--admin-token", "sesame"])
        .output()
        .await
        .unwrap();
    let with_env = mock()
        .args(["conformance", "--url", &url])
        .env("WIX_MOCK_ADMIN_TOKEN", "sesame")
        .output()
        .await
        .unwrap();
    child.kill().await.unwrap();

    // Assert: a fresh mock's report passes once the token is sent.
    assert_eq!(refused.status.code(), Some(3), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("401"), "{}", stderr(&refused));
    assert_eq!(with_flag.status.code(), Some(0), "{}", stderr(&with_flag));
    assert_eq!(with_env.status.code(), Some(0), "{}", stderr(&with_env));
}
