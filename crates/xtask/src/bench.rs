//! `cargo xtask bench [--smoke]`: builds what is measured, runs the `bench` harness and the
//! render benchmarks, and writes `docs/performance.json` and `docs/performance.md` from them.
//!
//! * full: the extension binaries with the `release` profile, statically linked as the images are
//!   (see [`build`]), criterion's render
//!   benchmarks, and the binary sizes; the figures replace `docs/performance.json` and the page
//!   is regenerated from it.
//! * `--smoke` (CI): scaled-down counts with `perf` builds; fails when a figure is worse than
//!   its goal or than the committed full run (whichever is looser), with a noise margin.
//! * `--check`: `docs/performance.md` is what the committed JSON generates (drift).
//!
//! The full run also runs the `bench` crate's two bench executables: `render` (criterion) and
//! `allocations` (dhat: allocations per render call, the watch/cache path's heap).

use crate::perf_doc;
use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

const BINARIES: [&str; 4] = [
    "gardener-extension-mwe",
    "gardener-extension-os-coreos",
    "gardener-extension-runtime-gvisor",
    "gardener-extension-shoot-flux",
];

/// The kinds the harness measures.
const KINDS: [&str; 3] = ["Extension", "OperatingSystemConfig", "ContainerRuntime"];

/// The harness's sections, each run in a process of its own.
const SECTIONS: [&str; 4] = ["api", "throughput", "startup", "idle"];

/// The linker flag the Dockerfile builds the images with: relative relocations packed (`DT_RELR`,
/// glibc ≥ 2.36, musl ≥ 1.2.4). A static PIE applies them at start; packed, its table is 5 KiB
/// instead of 370, a table the start reads whole (resident until exit).
const RELOCATIONS: &str = "-C link-arg=-Wl,-z,pack-relative-relocs";

/// Adds one kind's figures: objects merge, lists append, scalars are taken.
fn merge(into: &mut Value, from: Value) {
    let (Some(into), Value::Object(from)) = (into.as_object_mut(), from) else {
        return;
    };
    for (key, value) in from {
        match (into.get_mut(&key), value) {
            (Some(Value::Object(a)), Value::Object(b)) => a.extend(b),
            (Some(Value::Array(a)), Value::Array(b)) => a.extend(b),
            (_, value) => {
                into.insert(key, value);
            }
        }
    }
}

/// Criterion's settings for the render benchmarks: microsecond-scale cases need no more than
/// this for intervals of a few percent, and nine cases at the defaults (3 s + 5 s) took 75 s.
const CRITERION_ARGS: [&str; 5] = ["--bench", "--warm-up-time", "1", "--measurement-time", "3"];

/// Time figures may be this much worse than their bound in a smoke run (2 shared cores; 200
/// objects, where fixed latencies weigh more: smoke ratios measured 1.4–2.0 against 1.4–1.7 in
/// the full run).
const TIME_MARGIN: f64 = 2.0;
/// Start-up times are tens of milliseconds, where a busy machine's scheduling shows most.
const STARTUP_MARGIN: f64 = 2.0;
/// Memory figures may be this much worse: smoke runs measure `perf` builds (no LTO, not
/// stripped, linked dynamically), whose idle RSS without shared libraries' pages (what the smoke
/// compares, as the full run's binaries are static) is about 1.4× the release binaries'; beyond
/// that margin a real regression shows.
const MEMORY_MARGIN: f64 = 1.6;

/// Runs the benchmarks, printing how long each step took.
pub fn run(root: &Path, smoke: bool) -> Result<()> {
    let started = Instant::now();
    let step = |what: &str, since: Instant| {
        println!(
            "xtask bench: {what} took {:.0} s ({:.0} s in all)",
            since.elapsed().as_secs_f64(),
            started.elapsed().as_secs_f64()
        );
    };
    let t = Instant::now();
    let built = build(root, smoke)?;
    step("building", t);
    let t = Instant::now();
    let results = harness(root, &built.bin_dir, smoke)?;
    step("the harness", t);
    if smoke {
        let baseline: Value = serde_json::from_str(
            &std::fs::read_to_string(root.join("docs/performance.json"))
                .context("reading docs/performance.json (the committed full run)")?,
        )?;
        return check_smoke(&results, &baseline);
    }
    let mut results = results;
    let t = Instant::now();
    results["render"] = render(root, &built.render)?;
    step("criterion", t);
    let t = Instant::now();
    results["allocations"] = allocations(root, &built.allocations)?;
    step("dhat", t);
    results["sizes"] = sizes(&built.bin_dir)?;
    results["binaries"] = built.binaries;
    results["toolchain"] = json!(toolchain(root)?);
    std::fs::write(
        root.join("docs/performance.json"),
        serde_json::to_string_pretty(&results)? + "\n",
    )?;
    std::fs::write(root.join("docs/performance.md"), perf_doc::render(&results))?;
    println!("wrote docs/performance.json and docs/performance.md");
    Ok(())
}

/// What a run measures: the extension binaries (where, and how they were built) and, for a full
/// run, the bench executables.
#[derive(Default)]
struct Built {
    bin_dir: PathBuf,
    /// `{profile, linking}`, recorded in the results (the page says how the binaries were built).
    binaries: Value,
    render: PathBuf,
    allocations: PathBuf,
}

/// Builds what the run measures, each part in a cargo invocation of its own:
/// * the timing harness (`perf`, without the extensions: its test API server is optimized, and a
///   change to an extension or to the framework does not rebuild it), and the API-call counter
///   (the same binary with the extensions in-process, `dev`: it counts, it does not time);
/// * the extension binaries ([`build_binaries`]);
/// * for a full run, the two bench executables ([`build_bench_executables`]).
fn build(root: &Path, smoke: bool) -> Result<Built> {
    cargo(
        root,
        &[
            "build",
            "--locked",
            "--profile",
            "perf",
            "--no-default-features",
            "-p",
            "bench",
            "--bin",
            "bench",
        ],
        &[],
    )?;
    cargo(
        root,
        &["build", "--locked", "-p", "bench", "--bin", "bench"],
        &[],
    )?;
    let (bin_dir, binaries) = build_binaries(root, smoke)?;
    let mut built = Built {
        bin_dir,
        binaries,
        ..Built::default()
    };
    if !smoke {
        (built.render, built.allocations) = build_bench_executables(root)?;
    }
    Ok(built)
}

/// The extension binaries on their own, as the Dockerfile builds them: built beside the harness
/// or the benches, cargo would unify their dependencies' features (the test API server's HTTP/2
/// server, for one) and measure binaries that do not ship. A full run links them statically
/// (`crt-static`), as the images' musl executables are, so that their memory holds no shared
/// libraries' pages (2 MiB of glibc's); this machine has no musl target. The smoke run measures
/// `perf` builds, linked as usual. Returns their directory and how they were built.
fn build_binaries(root: &Path, smoke: bool) -> Result<(PathBuf, Value)> {
    let (profile, host) = if smoke {
        ("perf", None)
    } else {
        ("release", Some(host_triple(root)?))
    };
    let mut args = vec!["build", "--locked", "--profile", profile];
    for bin in BINARIES {
        args.extend(["-p", bin, "--bin", bin]);
    }
    let Some(host) = &host else {
        cargo(root, &args, &[])?;
        let built = json!({ "profile": profile, "linking": "dynamic" });
        return Ok((root.join("target").join(profile), built));
    };
    // With `--target`, the flags reach only what is built for the target, not build scripts or
    // proc macros (which cannot link statically).
    args.extend(["--target", host]);
    let rustflags = format!("-C target-feature=+crt-static {RELOCATIONS}");
    cargo(root, &args, &[("RUSTFLAGS", &rustflags)])?;
    let built = json!({ "profile": profile, "linking": "static", "rustflags": rustflags });
    Ok((root.join("target").join(host).join(profile), built))
}

/// The `render` (criterion) and `allocations` (dhat) bench executables, `release`.
fn build_bench_executables(root: &Path) -> Result<(PathBuf, PathBuf)> {
    let args = [
        "build",
        "--locked",
        "--profile",
        "release",
        "-p",
        "bench",
        "--bench",
        "render",
        "--bench",
        "allocations",
        "--message-format=json-render-diagnostics",
    ];
    let output = Command::new(env!("CARGO"))
        .args(args)
        .current_dir(root)
        .stderr(Stdio::inherit())
        .output()?;
    if !output.status.success() {
        bail!("cargo {} failed", args.join(" "));
    }
    let (mut render, mut allocations) = (None, None);
    for line in output.stdout.split(|b| *b == b'\n') {
        let Ok(message) = serde_json::from_slice::<Value>(line) else {
            continue;
        };
        let executable = message["executable"].as_str().map(PathBuf::from);
        match message["target"]["name"].as_str() {
            Some("render") if executable.is_some() => render = executable,
            Some("allocations") if executable.is_some() => allocations = executable,
            _ => {}
        }
    }
    render
        .zip(allocations)
        .context("cargo built no render or allocations bench executable")
}

/// One harness process per kind and section: each measurement starts from a fresh process (an
/// earlier section's seed, left in the harness's heap, doubled later start-up times and once
/// stalled a kind's cold start for 30 s). The idle sections, a minute of near-zero CPU each, start
/// first and run beside the others, which run one after another as they load the cores. API
/// calls are counted by the `dev` build with the extensions in-process.
fn harness(root: &Path, bin_dir: &Path, smoke: bool) -> Result<Value> {
    let start = |kind: &str, section: &str| -> Result<(Child, PathBuf, String)> {
        let out = root.join(format!("target/bench/{kind}-{section}.json"));
        let build = if section == "api" { "debug" } else { "perf" };
        let mut harness = Command::new(root.join("target").join(build).join("bench"));
        harness
            .arg("--bin-dir")
            .arg(bin_dir)
            .args(["--kinds", kind, "--sections", section, "--out"])
            .arg(&out)
            .current_dir(root);
        if smoke {
            harness.arg("--smoke");
        }
        Ok((harness.spawn()?, out, format!("{kind} ({section})")))
    };
    let mut results = json!({});
    let mut finish = |(mut child, out, what): (Child, PathBuf, String)| -> Result<()> {
        if !child.wait()?.success() {
            bail!("the bench harness failed for {what}");
        }
        merge(
            &mut results,
            serde_json::from_str(&std::fs::read_to_string(&out)?)?,
        );
        Ok(())
    };
    let idle = KINDS
        .iter()
        .map(|kind| start(kind, "idle"))
        .collect::<Result<Vec<_>>>()?;
    for kind in KINDS {
        for section in SECTIONS.iter().filter(|s| **s != "idle") {
            finish(start(kind, section)?)?;
        }
    }
    for run in idle {
        finish(run)?;
    }
    Ok(results)
}

/// Fails unless `docs/performance.md` is what `docs/performance.json` generates.
pub fn check(root: &Path) -> Result<()> {
    let results: Value = serde_json::from_str(&std::fs::read_to_string(
        root.join("docs/performance.json"),
    )?)?;
    let on_disk = std::fs::read_to_string(root.join("docs/performance.md")).unwrap_or_default();
    if on_disk != perf_doc::render(&results) {
        bail!(
            "docs/performance.md is not what docs/performance.json generates: run `cargo xtask bench --regenerate`"
        );
    }
    Ok(())
}

/// Rewrites `docs/performance.md` from the committed JSON.
pub fn regenerate(root: &Path) -> Result<()> {
    let results: Value = serde_json::from_str(&std::fs::read_to_string(
        root.join("docs/performance.json"),
    )?)?;
    std::fs::write(root.join("docs/performance.md"), perf_doc::render(&results))?;
    Ok(())
}

/// Runs cargo with `args` and the environment variables `env`.
fn cargo(root: &Path, args: &[&str], env: &[(&str, &str)]) -> Result<()> {
    let status = Command::new(env!("CARGO"))
        .args(args)
        .envs(env.iter().copied())
        .current_dir(root)
        .status()?;
    if !status.success() {
        bail!("cargo {} failed", args.join(" "));
    }
    Ok(())
}

/// The triple rustc builds for by default (`host:` in `rustc -vV`).
fn host_triple(root: &Path) -> Result<String> {
    let out = Command::new("rustc")
        .arg("-vV")
        .current_dir(root)
        .output()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_string)
        .context("no host triple in `rustc -vV`")
}

fn toolchain(root: &Path) -> Result<String> {
    let out = Command::new("rustc")
        .arg("--version")
        .current_dir(root)
        .output()?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Criterion's estimates for every render benchmark: `{name: {mean_ns, median_ns}}`.
fn render(root: &Path, executable: &Path) -> Result<Value> {
    let status = Command::new(executable)
        .args(CRITERION_ARGS)
        .current_dir(root)
        .status()?;
    if !status.success() {
        bail!("the render benchmarks failed");
    }
    let mut out = serde_json::Map::new();
    let criterion = root.join("target/criterion");
    let mut estimates = Vec::new();
    find_estimates(&criterion, &mut estimates)?;
    estimates.sort();
    for path in estimates {
        let name = path
            .parent()
            .and_then(Path::parent)
            .and_then(|p| p.strip_prefix(&criterion).ok())
            .context("criterion layout")?
            .display()
            .to_string();
        let data: Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
        out.insert(
            name,
            json!({
                "mean_ns": data["mean"]["point_estimate"],
                "median_ns": data["median"]["point_estimate"],
            }),
        );
    }
    Ok(Value::Object(out))
}

/// dhat's counts: allocations per render call, and the watch/cache path's heap.
fn allocations(root: &Path, executable: &Path) -> Result<Value> {
    let out = root.join("target/bench/allocations.json");
    let status = Command::new(executable)
        .env("BENCH_ALLOCATIONS_OUT", &out)
        .current_dir(root)
        .status()?;
    if !status.success() {
        bail!("the allocations benchmark failed");
    }
    Ok(serde_json::from_str(&std::fs::read_to_string(&out)?)?)
}

fn find_estimates(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            find_estimates(&path, out)?;
        } else if path.ends_with("new/estimates.json") {
            out.push(path);
        }
    }
    Ok(())
}

fn sizes(dir: &Path) -> Result<Value> {
    let mut out = serde_json::Map::new();
    for bin in BINARIES {
        let bytes = std::fs::metadata(dir.join(bin))
            .with_context(|| format!("{bin} in {}", dir.display()))?
            .len();
        out.insert(bin.into(), json!(bytes));
    }
    Ok(Value::Object(out))
}

/// One checked figure of a smoke run.
struct Bound {
    what: String,
    value: f64,
    limit: f64,
}

/// Smoke figures against their goals or the committed full run, whichever is looser.
fn check_smoke(results: &Value, baseline: &Value) -> Result<()> {
    let mut bounds = Vec::new();
    for run in results["throughput"].as_array().into_iter().flatten() {
        let kind = run["kind"].as_str().unwrap_or_default();
        let committed = baseline["throughput"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|b| b["kind"] == run["kind"])
            .filter_map(|b| b["overhead_ratio"].as_f64())
            .fold(0.0, f64::max);
        bounds.push(Bound {
            what: format!("{kind}: overhead ratio"),
            value: run["overhead_ratio"].as_f64().unwrap_or(f64::MAX),
            limit: perf_doc::GOAL_OVERHEAD.max(committed) * TIME_MARGIN,
        });
    }
    for idle in results["idle"].as_array().into_iter().flatten() {
        let kind = idle["kind"].as_str().unwrap_or_default();
        let committed = baseline["idle"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|b| b["kind"] == idle["kind"])
            .and_then(|b| b["memory"]["rss_kib"].as_f64())
            .unwrap_or(0.0);
        bounds.push(Bound {
            what: format!("{kind}: idle RSS without shared libraries (KiB)"),
            value: idle["memory"]["rss_kib"].as_f64().unwrap_or(f64::MAX)
                - idle["memory"]["shared_libraries_kib"]
                    .as_f64()
                    .unwrap_or(0.0),
            limit: (perf_doc::GOAL_IDLE_MIB * 1024.0).max(committed) * MEMORY_MARGIN,
        });
    }
    for start in results["startup"].as_array().into_iter().flatten() {
        let kind = start["kind"].as_str().unwrap_or_default();
        let goal = if start["objects"] == 0 {
            perf_doc::GOAL_STARTUP_EMPTY_MS
        } else {
            perf_doc::GOAL_STARTUP_LOADED_MS
        };
        let committed = baseline["startup"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|b| {
                b["kind"] == start["kind"] && (b["objects"] == 0) == (start["objects"] == 0)
            })
            .filter_map(|b| b["p50_ms"].as_f64())
            .fold(0.0, f64::max);
        bounds.push(Bound {
            what: format!(
                "{kind}: start-up p50 with {} objects (ms)",
                start["objects"]
            ),
            value: start["p50_ms"].as_f64().unwrap_or(f64::MAX),
            limit: goal.max(committed) * STARTUP_MARGIN,
        });
    }
    let mut failed = false;
    for bound in &bounds {
        let ok = bound.value <= bound.limit;
        failed |= !ok;
        println!(
            "{} {}: {:.2} (limit {:.2})",
            if ok { "ok  " } else { "FAIL" },
            bound.what,
            bound.value,
            bound.limit
        );
    }
    if bounds.is_empty() {
        bail!("the smoke run produced no figures");
    }
    if failed {
        bail!("a smoke figure regressed beyond its goal and the committed run");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_images_are_linked_as_the_measured_binaries() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
        assert!(dockerfile.contains(&format!("RUSTFLAGS=\"{RELOCATIONS}\"")));
    }

    fn idle(rss_kib: f64, shared_libraries_kib: f64) -> Value {
        json!({ "idle": [{ "kind": "Extension", "memory": {
            "rss_kib": rss_kib, "shared_libraries_kib": shared_libraries_kib,
        }}]})
    }

    /// A smoke run's dynamically linked binaries are held to the committed static figures by
    /// their memory without shared libraries' pages.
    #[test]
    fn smoke_memory_leaves_out_shared_libraries() {
        // Limit: max(8 MiB goal, 8000 KiB committed) × 1.6 = 13107 KiB.
        let committed = idle(8000.0, 0.0);
        assert!(check_smoke(&idle(14000.0, 2100.0), &committed).is_ok());
        assert!(check_smoke(&idle(14000.0, 0.0), &committed).is_err());
    }
}
