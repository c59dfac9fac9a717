//! Every relative link of the user-facing documents points at a file inside the repository
//! (issue 17: `--help` and the README linked files that did not exist, or `../` outside the repo),
//! and every `#fragment` of a link to a Markdown file names one of its headings (the README's long
//! reference moved under `docs/`, and the anchors other documents link must move with it).

use std::path::{Path, PathBuf};

/// The Markdown files people read, relative to the repository root.
fn documents(root: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = [
        "README.md",
        "scenarios/README.md",
        "clients/node/README.md",
        "tests/sdk-js/README.md",
        "fixtures/README.md",
    ]
    .iter()
    .map(|f| root.join(f))
    .collect();
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            files.push(path);
        }
    }
    files
}

/// GitHub's anchor of a heading: lower case, punctuation dropped except `-` and `_`, spaces to `-`.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of a Markdown file: its headings' slugs (repeats get `-1`, `-2`, as on GitHub) and
/// any explicit `<a id="…">`.
fn anchors(markdown: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut seen_count = std::collections::HashMap::new();
    let mut in_code = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        if let Some(text) = line.strip_prefix('#') {
            let text = text.trim_start_matches('#');
            if text.starts_with(' ') {
                let base = slug(text);
                let seen = seen_count.entry(base.clone()).or_insert(0);
                let anchor = match *seen {
                    0 => base,
                    n => format!("{base}-{n}"),
                };
                *seen += 1;
                found.push(anchor);
            }
        }
        let mut rest = line;
        while let Some(at) = rest.find("id=\"") {
            rest = &rest[at + 4..];
            if let Some(end) = rest.find('"') {
                found.push(rest[..end].to_string());
            }
        }
    }
    found
}

/// The targets of `[text](target)` outside code blocks.
fn link_targets(markdown: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut in_code = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            rest = &rest[at + 2..];
            if let Some(end) = rest.find(')') {
                targets.push(rest[..end].to_string());
                rest = &rest[end..];
            }
        }
    }
    targets
}

#[test]
fn every_relative_link_of_the_documents_names_a_file_in_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .canonicalize()
        .unwrap();
    let mut checked = 0;
    let mut anchored = 0;
    let mut broken = Vec::new();
    for doc in documents(&root) {
        let text = std::fs::read_to_string(&doc).unwrap();
        // Issue 17: the README links only into the repository (its reader may be offline, in a clone).
        let readme = doc == root.join("README.md");
        if readme && text.contains("<http") {
            broken.push("README.md has an autolink <http…>".to_string());
        }
        for target in link_targets(&text) {
            if readme && target.contains("://") {
                broken.push(format!("README.md links {target}, outside the repository"));
                continue;
            }
            if target.starts_with("http://")
                || target.starts_with("https://")
                || target.starts_with("mailto:")
            {
                continue;
            }
            let (file, fragment) = match target.split_once('#') {
                Some((file, fragment)) => (file, Some(fragment)),
                None => (target.as_str(), None),
            };
            let resolved = if file.is_empty() {
                doc.clone()
            } else {
                doc.parent().unwrap().join(file)
            };
            let Ok(resolved) = resolved.canonicalize() else {
                broken.push(format!(
                    "{} links {target}, which does not exist",
                    doc.display()
                ));
                continue;
            };
            if !resolved.starts_with(&root) {
                broken.push(format!(
                    "{} links {target}, outside the repository",
                    doc.display()
                ));
                continue;
            }
            checked += 1;
            let Some(fragment) = fragment else { continue };
            if resolved.extension().is_some_and(|e| e == "md") {
                anchored += 1;
                let known = anchors(&std::fs::read_to_string(&resolved).unwrap());
                if !known.iter().any(|a| a == fragment) {
                    broken.push(format!(
                        "{} links {target}, but {} has no heading with that anchor",
                        doc.display(),
                        resolved.display()
                    ));
                }
            }
        }
    }
    assert!(broken.is_empty(), "\n{}", broken.join("\n"));
    assert!(checked > 20, "only {checked} links found");
    assert!(
        anchored > 10,
        "only {anchored} links with a #fragment found"
    );
}
