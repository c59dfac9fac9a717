//! Stamps the binary with the commit it was built from, for `--version`, and lays out a release
//! binary's code in the order of `benches/symbol-order.txt`.
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
    symbol_order();
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

/// Release builds: the functions that start the server and answer its requests, laid out side by side
/// (`benches/symbol_order.py` writes the list). An idle mock's RSS is mostly its code pages, and the
/// kernel maps 64 KiB around each first touch: scattered over a 10 MB `.text`, those functions kept
/// most of it resident (9.4 MiB idle RSS; 5.5 MiB laid out together, benches/RESULTS.md).
///
/// Only `rust-lld` (the default linker of x86_64 Linux since Rust 1.90) knows
/// `--symbol-ordering-file`, so a one-line program is linked with it first, with the build's own
/// flags: any other linker, target or toolchain builds as before, only without the layout.
/// `WIX_MOCK_SYMBOL_ORDER=0` turns it off.
fn symbol_order() {
    println!("cargo:rerun-if-env-changed=WIX_MOCK_SYMBOL_ORDER");
    println!("cargo:rerun-if-changed=benches/symbol-order.txt");
    let env = |k: &str| std::env::var(k).unwrap_or_default();
    if env("PROFILE") != "release" || env("WIX_MOCK_SYMBOL_ORDER") == "0" {
        return;
    }
    let file = std::path::Path::new(&env("CARGO_MANIFEST_DIR")).join("benches/symbol-order.txt");
    if !file.exists() {
        return;
    }
    let args = [
        format!("link-arg=-Wl,--symbol-ordering-file={}", file.display()),
        "link-arg=-Wl,--no-warn-symbol-ordering".to_string(),
    ];
    let out = std::path::PathBuf::from(env("OUT_DIR"));
    let probe = out.join("symbol_order_probe.rs");
    if std::fs::write(&probe, "fn main() {}\n").is_err() {
        return;
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let mut cmd = Command::new(rustc);
    cmd.arg("--target")
        .arg(env("TARGET"))
        .arg("-o")
        .arg(out.join("symbol_order_probe"))
        .arg(&probe);
    // The build's own RUSTFLAGS (a linker, a static C runtime, …): the probe links as the binary will.
    for flag in env("CARGO_ENCODED_RUSTFLAGS")
        .split('\x1f')
        .filter(|f| !f.is_empty())
    {
        cmd.arg(flag);
    }
    for arg in &args {
        cmd.arg("-C").arg(arg);
    }
    let linked = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if linked {
        for arg in &args {
            println!(
                "cargo:rustc-link-arg-bins={}",
                arg.trim_start_matches("link-arg=")
            );
        }
    }
}
