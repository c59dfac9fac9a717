//! docs/fidelity.md is the one list of what the mock imitates and why. These tests keep it and the
//! code in step: every row's tests and fixtures exist, every row a comment names exists, every
//! INFERRED comment names a row, and no source file cites evidence that lives outside the repository.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every file under `dir`, recursively, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The row ids a text names: `F-` or `I-` followed by two or more digits, not inside a longer word.
fn row_refs(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    for i in 0..bytes.len().saturating_sub(3) {
        let before_ok = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'-');
        if before_ok && (bytes[i] == b'F' || bytes[i] == b'I') && bytes[i + 1] == b'-' {
            let digits: String = text[i + 2..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            let after = text[i + 2 + digits.len()..].chars().next();
            if digits.len() >= 2 && !after.is_some_and(|c| c.is_ascii_alphanumeric()) {
                out.push(format!("{}-{digits}", &text[i..i + 1]));
            }
        }
    }
    out
}

/// `(id, whole table line)` of every row of docs/fidelity.md.
fn rows() -> Vec<(String, String)> {
    read(&root().join("docs/fidelity.md"))
        .lines()
        .filter_map(|line| {
            let first = line.strip_prefix("| ")?.split(" |").next()?.trim();
            let id = row_refs(first).into_iter().next()?;
            (id == first).then(|| (id, line.to_string()))
        })
        .collect()
}

fn row_ids() -> BTreeSet<String> {
    rows().into_iter().map(|(id, _)| id).collect()
}

/// The comment block (consecutive `//` lines) around line `i`, or the line itself.
fn comment_block(lines: &[&str], i: usize) -> String {
    let is_comment = |l: &str| l.trim_start().starts_with("//");
    if !is_comment(lines[i]) {
        return lines[i].to_string();
    }
    let mut start = i;
    while start > 0 && is_comment(lines[start - 1]) {
        start -= 1;
    }
    let mut end = i;
    while end + 1 < lines.len() && is_comment(lines[end + 1]) {
        end += 1;
    }
    lines[start..=end].join("\n")
}

#[test]
fn fidelity_rows_are_unique_and_say_fact_or_inferred() {
    // Arrange
    let rows = rows();
    // Act
    let mut seen = BTreeSet::new();
    let duplicates: Vec<&String> = rows
        .iter()
        .map(|(id, _)| id)
        .filter(|id| !seen.insert(*id))
        .collect();
    let unlabelled: Vec<&String> = rows
        .iter()
        .filter(|(id, line)| {
            let word = if id.starts_with('F') {
                "FACT"
            } else {
                "INFERRED"
            };
            !line.contains(word)
        })
        .map(|(id, _)| id)
        .collect();
    // Assert
    assert!(rows.len() > 50, "only {} rows parsed", rows.len());
    assert!(duplicates.is_empty(), "duplicate rows: {duplicates:?}");
    assert!(
        unlabelled.is_empty(),
        "F- rows must say FACT, I- rows INFERRED: {unlabelled:?}"
    );
}

#[test]
fn every_test_and_fixture_a_row_names_exists() {
    // Arrange
    let root = root();
    let mut missing = Vec::new();
    // Act
    for (id, line) in rows() {
        for cell in line.split('`').skip(1).step_by(2) {
            if let Some(rest) = cell.strip_prefix("api::") {
                let mut parts = rest.split("::");
                let (file, test) = (parts.next().unwrap(), parts.next().unwrap_or("*"));
                let path = root.join("tests/api").join(format!("{file}.rs"));
                let ok =
                    path.exists() && (test == "*" || read(&path).contains(&format!("fn {test}(")));
                if !ok {
                    missing.push(format!("{id}: {cell}"));
                }
            } else if let Some(file) = cell.strip_prefix("sdk-js:") {
                if !root.join("tests/sdk-js/test").join(file).exists() {
                    missing.push(format!("{id}: {cell}"));
                }
            } else if cell.starts_with("fixtures/") {
                // `fixtures/dir/prefix*` names at least one file; anything else one exact file.
                let (dir, prefix) = cell.trim_end_matches('*').rsplit_once('/').unwrap();
                let ok = if cell.ends_with('*') {
                    std::fs::read_dir(root.join(dir)).is_ok_and(|mut d| {
                        d.any(|e| e.unwrap().file_name().to_string_lossy().starts_with(prefix))
                    })
                } else {
                    root.join(cell).exists()
                };
                if !ok {
                    missing.push(format!("{id}: {cell}"));
                }
            }
        }
    }
    // Assert
    assert!(
        missing.is_empty(),
        "docs/fidelity.md names tests or fixtures that do not exist:\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_row_a_source_comment_names_exists() {
    // Arrange
    let ids = row_ids();
    let root = root();
    let mut unknown = Vec::new();
    // Act
    for path in files(&root.join("src"))
        .into_iter()
        .chain(files(&root.join("tests/api")))
    {
        if path.ends_with("fidelity.rs") || path.extension().is_some_and(|e| e == "snap") {
            continue;
        }
        for (n, line) in read(&path).lines().enumerate() {
            if !line.contains("fidelity.md") && !line.trim_start().starts_with("//") {
                continue;
            }
            for id in row_refs(line) {
                if !ids.contains(&id) {
                    unknown.push(format!("{}:{}: {id}", path.display(), n + 1));
                }
            }
        }
    }
    // Assert
    assert!(
        unknown.is_empty(),
        "comments name rows docs/fidelity.md does not have:\n{}",
        unknown.join("\n")
    );
}

// Strict checks: every INFERRED comment names its row, and no source file cites evidence outside
// the repository.

#[test]
fn every_inferred_comment_names_a_fidelity_row() {
    // Arrange
    let ids = row_ids();
    let mut bare = Vec::new();
    // Act
    for path in files(&root().join("src")) {
        let text = read(&path);
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if !line.contains("INFERRED") {
                continue;
            }
            let named = row_refs(&comment_block(&lines, i))
                .iter()
                .any(|id| id.starts_with("I-") && ids.contains(id));
            if !named {
                bare.push(format!("{}:{}: {}", path.display(), i + 1, line.trim()));
            }
        }
    }
    // Assert
    assert!(
        bare.is_empty(),
        "INFERRED without an I- row of docs/fidelity.md:\n{}",
        bare.join("\n")
    );
}

#[test]
fn no_source_file_cites_evidence_outside_the_repository() {
    // Arrange
    let outside = ["wix-api.md", "sdk-wire-capture.md", "../shared/"];
    let mut cites = Vec::new();
    // Act
    for path in files(&root().join("src")) {
        for (n, line) in read(&path).lines().enumerate() {
            if outside.iter().any(|o| line.contains(o)) {
                cites.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
            }
        }
    }
    // Assert
    assert!(
        cites.is_empty(),
        "cite docs/fidelity.md or fixtures/ instead:\n{}",
        cites.join("\n")
    );
}

#[test]
fn the_row_reference_parser_finds_ids_and_only_ids() {
    assert_eq!(
        row_refs("(docs/fidelity.md F-24 to F-27; INFERRED, I-08)"),
        ["F-24", "F-27", "I-08"]
    );
    assert!(row_refs("RFC-6749 UTF-8 X-12 F-1 F-123x SHA-256").is_empty());
}
