//! `cargo xtask fuzz`: libFuzzer on the stable toolchain.
//!
//! The `fuzz` crate's binary is built with its `libfuzzer` feature, and the workspace's crates
//! with SanitizerCoverage through `RUSTC_WORKSPACE_WRAPPER=hack/fuzz-rustc` (stable `-C` options
//! only). Each target then runs for a bounded time on a scratch corpus seeded from the committed
//! one (`crates/fuzz/corpus/<target>`, which is only read). A crash fails the command; its input
//! is kept in `target/fuzz/artifacts/<target>/` and replays with
//! `cargo run -p fuzz -- <target> <file>`.

use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::Command;

/// The fuzz targets: one corpus directory each under `crates/fuzz/corpus` (the fuzz crate's test
/// keeps exactly one per target), sorted.
fn targets(root: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(root.join("crates/fuzz/corpus"))? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// Builds the instrumented binary and runs `targets` (all when empty) for `seconds` each.
pub fn run(root: &Path, seconds: u64, targets: &[String]) -> Result<()> {
    let known = self::targets(root)?;
    let selected: Vec<&str> = if targets.is_empty() {
        known.iter().map(String::as_str).collect()
    } else {
        for t in targets {
            if !known.contains(t) {
                bail!("unknown fuzz target {t:?} (known: {known:?})");
            }
        }
        targets.iter().map(String::as_str).collect()
    };
    let status = Command::new(env!("CARGO"))
        .current_dir(root)
        .env("RUSTC_WORKSPACE_WRAPPER", root.join("hack/fuzz-rustc"))
        .args([
            "build",
            "-p",
            "fuzz",
            "--features",
            "libfuzzer",
            "--bin",
            "fuzz",
        ])
        .status()
        .context("building the fuzz binary")?;
    if !status.success() {
        bail!("building the fuzz binary failed");
    }
    let binary = root.join("target/debug/fuzz");
    for target in selected {
        let scratch = root.join("target/fuzz/corpus").join(target);
        let artifacts = root.join("target/fuzz/artifacts").join(target);
        std::fs::create_dir_all(&scratch)?;
        std::fs::create_dir_all(&artifacts)?;
        println!("fuzz {target}: {seconds} s");
        let output = Command::new(&binary)
            .env("FUZZ_TARGET", target)
            .arg(&scratch)
            .arg(root.join("crates/fuzz/corpus").join(target))
            .arg(format!("-max_total_time={seconds}"))
            .arg(format!("-artifact_prefix={}/", artifacts.display()))
            .args([
                "-max_len=65536",
                "-timeout=10",
                "-rss_limit_mb=2048",
                "-print_final_stats=1",
            ])
            .output()
            .with_context(|| format!("running {}", binary.display()))?;
        let log = String::from_utf8_lossy(&output.stderr);
        for line in log.lines().filter(|l| {
            l.starts_with("Done ")
                || l.starts_with("stat::number_of_executed_units")
                || l.contains("cov: ") && l.contains("DONE")
        }) {
            println!("  {line}");
        }
        if !output.status.success() {
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            bail!(
                "fuzz target {target} failed (input saved under {}):\n{}",
                artifacts.display(),
                tail.join("\n")
            );
        }
    }
    Ok(())
}
