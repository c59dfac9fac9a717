//! The plain `docker build .` sends only what `.dockerignore` lets through; a file that `src/` pulls
//! in with `include_str!` but the list leaves out breaks the image build on a fresh clone, and only a
//! Docker build would notice (issue 17: `fixtures/stubs/` was missing). This checks it without Docker.

use std::path::{Component, Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `.dockerignore` as this repository writes it: `*`, then `!path` or `!dir/` for what goes in.
fn allowed() -> Vec<String> {
    let text = std::fs::read_to_string(root().join(".dockerignore")).expect(".dockerignore");
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert_eq!(
        lines.first(),
        Some(&"*"),
        "the list starts by leaving everything out"
    );
    lines[1..]
        .iter()
        .map(|l| {
            l.strip_prefix('!')
                .unwrap_or_else(|| panic!("only `!path` lines follow `*`, not `{l}`"))
                .to_string()
        })
        .collect()
}

fn sends(allowed: &[String], path: &str) -> bool {
    allowed
        .iter()
        .any(|a| path == a || (a.ends_with('/') && path.starts_with(a.as_str())))
}

/// Every file under `dir` ending in `.rs`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a readable folder").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `path` relative to the repository, with `..` resolved.
fn normalised(path: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    for c in path
        .strip_prefix(root())
        .expect("inside the repository")
        .components()
    {
        match c {
            Component::ParentDir => {
                parts.pop();
            }
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            _ => {}
        }
    }
    parts.join("/")
}

#[test]
fn every_file_the_crate_includes_is_in_the_docker_build_context() {
    let allowed = allowed();
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let mut included = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("a source file");
        for macro_name in ["include_str!(\"", "include_bytes!(\""] {
            for (at, _) in text.match_indices(macro_name) {
                let rest = &text[at + macro_name.len()..];
                let Some(end) = rest.find('"') else { continue };
                let target = file.parent().expect("a folder").join(&rest[..end]);
                included.push(normalised(&target));
            }
        }
    }
    assert!(
        included.iter().any(|p| p.starts_with("fixtures/stubs/")),
        "the scan finds the starter stubs, so it reads the includes at all: {included:?}"
    );
    let missing: Vec<&String> = included.iter().filter(|p| !sends(&allowed, p)).collect();
    assert!(
        missing.is_empty(),
        "src/ includes files .dockerignore leaves out of `docker build .`: {missing:?}"
    );
    let unsent = [
        "fixtures/wix-docs/oauth2-token-info.json",
        "docs/running.md",
    ];
    for path in unsent {
        assert!(!sends(&allowed, path), "`{path}` is not needed to build");
    }
}

#[test]
fn the_code_layout_build_rs_reads_is_in_the_docker_build_context() {
    // build.rs lays out a release binary's code from this list (idle RSS 9.4 -> 5.5 MiB); left out of
    // the context, the image would build without it and say nothing.
    let build = std::fs::read_to_string(root().join("build.rs")).expect("build.rs");
    let path = "benches/symbol-order.txt";
    assert!(build.contains(path), "build.rs reads `{path}`");
    assert!(sends(&allowed(), path), "`{path}` reaches `docker build .`");
    let list = std::fs::read_to_string(root().join(path)).expect("the symbol order file");
    let symbols: Vec<&str> = list.lines().filter(|l| !l.starts_with('#')).collect();
    assert!(
        symbols.len() >= 100,
        "{} symbols: regenerate with benches/symbol_order.py",
        symbols.len()
    );
    let odd: Vec<&&str> = symbols
        .iter()
        .filter(|s| !(s.starts_with("_ZN") || s.starts_with("_R") || s.starts_with("__rust")))
        .collect();
    assert!(odd.is_empty(), "not Rust symbols: {odd:?}");
}

#[test]
fn the_code_layout_was_listed_for_the_dependencies_in_cargo_lock() {
    // A function's symbol name hashes its crate's build, which Cargo derives from every
    // dependency's: after any change to Cargo.lock none of the mock's own names in the list exist
    // any more, and the release binary's idle RSS silently went from 5.4 back to 8.4 MiB (issue 13's
    // target is 8). The list's header records the Cargo.lock it was written for.
    use sha2::Digest;
    let lock = std::fs::read(root().join("Cargo.lock")).expect("Cargo.lock");
    let digest: String = sha2::Sha256::digest(&lock)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let list = std::fs::read_to_string(root().join("benches/symbol-order.txt")).expect("the list");
    let recorded = list
        .lines()
        .find_map(|l| l.strip_prefix("# Cargo.lock sha256 "))
        .unwrap_or("(none)");
    assert_eq!(
        recorded, digest,
        "benches/symbol-order.txt was written for another Cargo.lock: regenerate it as \
         benches/symbol_order.py says (two release builds and valgrind, about 15 minutes)"
    );
}
