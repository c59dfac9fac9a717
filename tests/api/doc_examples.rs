//! Every runnable shell example of README.md, scenarios/README.md and docs/*.md runs as printed
//! (issue 17). The convention
//! is in docs/README.md § "Runnable examples": a ```` ```sh ```` block runs, ```` ```sh norun REASON ````
//! does not, `#> ` lines after a command are the output it must print (`…` matches anything), and a
//! ```` ```text output ```` block right after a runnable block is what that block's end must print.
//!
//! Each document gets a fresh `wix-oauth-mock serve --port 0` on 127.0.0.1 and one `bash` running
//! its runnable blocks in order with `set -euo pipefail`, as a reader pasting them would, in a scratch
//! directory that links `docs/`, `scenarios/`, `fixtures/` and `clients/`. `WIX_MOCK_URL` and
//! `WIX_MOCK_PORT` name that mock, and the binary's directory leads `PATH` (readers get it there with
//! `cargo install --path .`). Documents run in parallel; each has 60 s.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The separator the checker prints between the parts of a document's output.
const MARK: &str = "\u{1e}doc-example-mark";

/// A fenced block: the line of its opening fence, its info string and its lines.
struct Block {
    line: usize,
    info: String,
    body: Vec<String>,
    /// Only blank lines between the previous block's closing fence and this block's opening one.
    follows_previous: bool,
}

fn blocks(markdown: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    let mut last_close: Option<usize> = None;
    let mut blank_since_close = true;
    for (i, line) in markdown.lines().enumerate() {
        let fence = line.trim_start().starts_with("```");
        match open.as_mut() {
            Some(_) if fence && line.trim() == "```" => {
                out.push(open.take().unwrap());
                last_close = Some(i);
                blank_since_close = true;
            }
            Some(block) => block.body.push(line.to_string()),
            None if fence => {
                open = Some(Block {
                    line: i + 1,
                    info: line.trim().trim_start_matches('`').trim().to_string(),
                    body: Vec::new(),
                    follows_previous: last_close.is_some() && blank_since_close,
                })
            }
            None => blank_since_close &= line.trim().is_empty(),
        }
    }
    out
}

/// The documents people read, relative to the repository root.
fn documents(root: &Path) -> Vec<PathBuf> {
    let mut files = vec![root.join("README.md"), root.join("scenarios/README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

/// What a document asks the checker to do.
struct Plan {
    /// The bash script: every runnable block, with marks where output is checked.
    script: String,
    /// For each mark, in order: (line in the document, the output expected just before it).
    checks: Vec<(usize, String)>,
    blocks: usize,
}

fn plan(doc: &str, markdown: &str) -> Result<Plan, String> {
    let mut script = String::from("set -euo pipefail\n__doc_line=0\n");
    script.push_str("trap 's=$?; [ $s = 0 ] || echo \"doc-examples: the block at line $__doc_line failed (status $s)\" >&2' EXIT\n");
    let mut checks = Vec::new();
    let mut count = 0;
    let all = blocks(markdown);
    let mut previous_runnable = false;
    for block in &all {
        let mut words = block.info.split_whitespace();
        let lang = words.next().unwrap_or("");
        let rest: Vec<&str> = words.collect();
        if matches!(lang, "bash" | "shell" | "console" | "zsh") {
            return Err(format!(
                "{doc}:{}: write shell examples as ```sh (runnable) or ```sh norun REASON",
                block.line
            ));
        }
        if lang == "text" && rest.first() == Some(&"output") {
            if !(previous_runnable && block.follows_previous) {
                return Err(format!(
                    "{doc}:{}: a ```text output block must follow a runnable ```sh block",
                    block.line
                ));
            }
            checks.push((block.line, block.body.join("\n")));
            script.push_str(&format!("printf '\\n{MARK}\\n'\n"));
            previous_runnable = false;
            continue;
        }
        previous_runnable = false;
        if lang != "sh" {
            continue;
        }
        match rest.first() {
            Some(&"norun") if rest.len() > 1 => continue,
            Some(&"norun") => {
                return Err(format!(
                    "{doc}:{}: ```sh norun needs a reason (docker, browser, server, ...)",
                    block.line
                ));
            }
            Some(other) => {
                return Err(format!(
                    "{doc}:{}: unknown block option {other:?}",
                    block.line
                ));
            }
            None => {}
        }
        count += 1;
        previous_runnable = true;
        script.push_str(&format!("__doc_line={}\n", block.line));
        let mut expected: Vec<String> = Vec::new();
        let mut expected_line = 0;
        for (i, line) in block.body.iter().enumerate() {
            if let Some(out) = line.strip_prefix("#>") {
                if expected.is_empty() {
                    expected_line = block.line + 1 + i;
                }
                expected.push(out.to_string());
                continue;
            }
            if !expected.is_empty() {
                checks.push((expected_line, expected.join("\n")));
                script.push_str(&format!("printf '\\n{MARK}\\n'\n"));
                expected.clear();
            }
            script.push_str(line);
            script.push('\n');
        }
        if !expected.is_empty() {
            checks.push((expected_line, expected.join("\n")));
            script.push_str(&format!("printf '\\n{MARK}\\n'\n"));
        }
    }
    Ok(Plan {
        script,
        checks,
        blocks: count,
    })
}

/// Whitespace does not count (long JSON lines are wrapped in the documents).
fn squeeze(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Whether `text` ends with `pattern`, where `…` in the pattern matches any text.
fn ends_with_pattern(text: &str, pattern: &str) -> bool {
    let pieces: Vec<&str> = pattern.split('…').collect();
    let last = pieces[pieces.len() - 1];
    if !text.ends_with(last) {
        return false;
    }
    let limit = text.len() - last.len();
    if pieces.len() == 1 {
        return true;
    }
    // The first piece may start anywhere (earlier output of the same part is not shown), so every
    // start of the first piece is tried; the middle pieces then match leftmost, which is optimal.
    let first = pieces[0];
    let mut from = 0;
    while let Some(at) = text[from..limit].find(first) {
        let mut pos = from + at + first.len();
        let mut ok = true;
        for piece in &pieces[1..pieces.len() - 1] {
            match text[pos..limit].find(piece) {
                Some(found) => pos += found + piece.len(),
                None => {
                    ok = false;
                    break;
                }
            }
        }
        if ok {
            return true;
        }
        from += at + first.len().max(1);
        if from > limit {
            break;
        }
    }
    false
}

/// Starts a fresh mock on a free loopback port; returns it and its port.
// The lint cannot see that the child is returned to `run`, which kills and waits for it.
#[allow(clippy::zombie_processes)]
fn start_mock(scratch: &Path) -> (std::process::Child, u16) {
    let port_file = scratch.join(".mock-port");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wix-oauth-mock"));
    cmd.args(["serve", "--bind", "127.0.0.1", "--port", "0", "--no-watch"])
        .arg("--port-file")
        .arg(&port_file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (key, _) in std::env::vars() {
        if key.starts_with("WIX_MOCK_") {
            cmd.env_remove(key);
        }
    }
    let mut child = cmd.spawn().expect("the mock starts");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(port) = std::fs::read_to_string(&port_file)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            return (child, port);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the mock wrote no port file within 10 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Runs one document's plan; returns the failures.
fn run(root: &Path, doc: &Path, plan: &Plan) -> Vec<String> {
    let name = doc.strip_prefix(root).unwrap().display().to_string();
    let scratch = std::env::temp_dir().join(format!(
        "doc-examples-{}-{}",
        std::process::id(),
        name.replace('/', "_")
    ));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).unwrap();
    for dir in ["docs", "scenarios", "fixtures", "clients"] {
        std::os::unix::fs::symlink(root.join(dir), scratch.join(dir)).unwrap();
    }
    let (mut mock, port) = start_mock(&scratch);
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_wix-oauth-mock"))
        .parent()
        .unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(&plan.script)
        .current_dir(&scratch)
        .env("PATH", path)
        .env("WIX_MOCK_URL", format!("http://127.0.0.1:{port}"))
        .env("WIX_MOCK_PORT", port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, _) in std::env::vars() {
        if key.starts_with("WIX_MOCK_") && key != "WIX_MOCK_URL" && key != "WIX_MOCK_PORT" {
            cmd.env_remove(key);
        }
    }
    // Its own process group, so background jobs an example forgets are stopped with it.
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.spawn().expect("bash runs");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .stderr(Stdio::null())
        .status();
    let _ = mock.kill();
    let _ = mock.wait();
    let stdout = out_reader.join().unwrap();
    let stderr = err_reader.join().unwrap();
    let _ = std::fs::remove_dir_all(&scratch);

    let mut failures = Vec::new();
    match status {
        None => failures.push(format!("{name}: the examples took more than 60 s")),
        Some(s) if !s.success() => failures.push(format!(
            "{name}: {s}\n--- stderr:\n{stderr}\n--- stdout (tail):\n{}",
            tail(&stdout)
        )),
        Some(_) => {}
    }
    let parts: Vec<&str> = stdout.split(MARK).collect();
    for (i, (line, expected)) in plan.checks.iter().enumerate() {
        let Some(part) = parts.get(i) else {
            if failures.is_empty() {
                failures.push(format!("{name}:{line}: the output never got here"));
            }
            break;
        };
        if !ends_with_pattern(&squeeze(part), &squeeze(expected)) {
            failures.push(format!(
                "{name}:{line}: the output differs\n--- expected (… matches anything):\n{}\n--- printed:\n{}",
                expected.trim(),
                tail(part.trim())
            ));
        }
    }
    failures
}

fn tail(s: &str) -> &str {
    let mut start = s.len().saturating_sub(3000);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn every_runnable_example_of_the_readme_and_docs_runs_as_printed() {
    // Arrange
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .canonicalize()
        .unwrap();
    let missing: Vec<&str> = ["bash", "curl", "jq", "python3"]
        .into_iter()
        .filter(|t| !have(t))
        .collect();
    if !missing.is_empty() {
        // CI must run them; a contributor's machine without jq gets a loud skip.
        assert!(
            std::env::var_os("CI").is_none(),
            "the doc examples need {missing:?}"
        );
        eprintln!("doc_examples: SKIPPED, {missing:?} not installed");
        return;
    }
    let mut plans = Vec::new();
    for doc in documents(&root) {
        let text = std::fs::read_to_string(&doc).unwrap();
        let name = doc.strip_prefix(&root).unwrap().display().to_string();
        let plan = plan(&name, &text).unwrap_or_else(|e| panic!("{e}"));
        if plan.blocks > 0 {
            plans.push((doc, plan));
        }
    }

    // Act
    let started = Instant::now();
    let failures: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = plans
            .iter()
            .map(|(doc, plan)| s.spawn(|| run(&root, doc, plan)))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });

    // Assert
    let blocks: usize = plans.iter().map(|(_, p)| p.blocks).sum();
    let checks: usize = plans.iter().map(|(_, p)| p.checks.len()).sum();
    eprintln!(
        "doc_examples: {blocks} blocks of {} documents, {checks} outputs compared, in {:.1} s",
        plans.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
    assert!(blocks > 20, "only {blocks} runnable blocks found");
}

#[test]
fn an_output_pattern_matches_the_end_of_what_was_printed() {
    assert!(ends_with_pattern("noise{\"a\":1}", "{\"a\":1}"));
    assert!(ends_with_pattern(
        "{\"id\":\"x-1\",\"b\":2}",
        "{\"id\":\"…\",\"b\":2}"
    ));
    assert!(!ends_with_pattern("{\"a\":1}trailing", "{\"a\":1}"));
    assert!(!ends_with_pattern("{\"a\":2}", "{\"a\":1}"));
    assert!(ends_with_pattern("abcabd", "ab…d"));
}

#[test]
fn a_shell_block_runs_unless_marked_norun_with_a_reason() {
    // Arrange
    let doc = "```sh\necho hi\n#> hi\n```\n\n```sh norun docker\ndocker run x\n```\n\n```yaml\na: 1\n```\n";

    // Act
    let plan = plan("doc.md", doc).unwrap();

    // Assert
    assert_eq!(plan.blocks, 1);
    assert_eq!(plan.checks, vec![(3, " hi".to_string())]);
    assert!(plan.script.contains("echo hi") && !plan.script.contains("docker run"));
}

#[test]
fn other_shell_dialects_and_norun_without_a_reason_are_refused() {
    assert!(plan("doc.md", "```bash\nls\n```\n").is_err());
    assert!(plan("doc.md", "```console\n$ ls\n```\n").is_err());
    assert!(plan("doc.md", "```sh norun\nls\n```\n").is_err());
    assert!(plan("doc.md", "```text output\nx\n```\n").is_err());
}
