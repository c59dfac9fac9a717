//! Stamps the binary with the commit it was built from, for `--version`.
//!
//! `WIX_MOCK_GIT_COMMIT` from the environment wins (a container build has no `.git`: pass it as a
//! build argument); else `git rev-parse --short HEAD`; else `unknown`. Never fails the build.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8(out.stdout).ok()?.trim().to_string())
}

fn main() {
    println!("cargo:rerun-if-env-changed=WIX_MOCK_GIT_COMMIT");
    let commit = match std::env::var("WIX_MOCK_GIT_COMMIT") {
        Ok(c) if !c.trim().is_empty() => c.trim().to_string(),
        _ => match git(&["rev-parse", "--short", "HEAD"]) {
            Some(head) => {
                // Rebuild the stamp when HEAD moves: HEAD itself (a checkout), the ref it names (a
                // commit) and packed-refs. Paths come from git, so worktrees (where .git is a
                // file) work too; only existing ones, as a missing path would rerun every build.
                for path in [
                    git(&["rev-parse", "--git-path", "HEAD"]),
                    git(&["symbolic-ref", "-q", "HEAD"])
                        .and_then(|r| git(&["rev-parse", "--git-path", &r])),
                    git(&["rev-parse", "--git-path", "packed-refs"]),
                ]
                .into_iter()
                .flatten()
                .filter(|p| std::path::Path::new(p).exists())
                {
                    println!("cargo:rerun-if-changed={path}");
                }
                head
            }
            None => "unknown".to_string(),
        },
    };
    println!("cargo:rustc-env=WIX_MOCK_GIT_COMMIT={commit}");
}
