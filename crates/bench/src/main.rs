//! `bench`: runs the whole-system benchmarks of the `bench` library and writes their figures as
//! JSON (`cargo xtask bench` runs it and turns the JSON into `docs/performance.md`).

use bench::{fixtures, process, throughput};

use anyhow::{Context, Result};
use clap::Parser;
use serde_json::json;
use std::path::PathBuf;

#[derive(Parser)]
#[command(about = "Whole-system benchmarks of the extensions, as JSON")]
struct Cli {
    /// Scaled-down counts and repetitions (CI).
    #[arg(long)]
    smoke: bool,
    /// Directory of the extension binaries to measure (a release-like build).
    #[arg(long)]
    bin_dir: PathBuf,
    /// Only these sections (default: all).
    #[arg(long, value_delimiter = ',', default_values = ["api", "throughput", "startup", "idle"])]
    sections: Vec<String>,
    /// Only these kinds (`Extension`, `OperatingSystemConfig`, `ContainerRuntime`; default: all).
    #[arg(long, value_delimiter = ',')]
    kinds: Vec<String>,
    /// Where to write the JSON.
    #[arg(long, default_value = "target/bench/results.json")]
    out: PathBuf,
}

/// API calls per step of each kind, with the extensions in-process.
#[cfg(feature = "extensions")]
async fn api_calls(kinds: &[fixtures::Kind]) -> Result<serde_json::Map<String, serde_json::Value>> {
    let mut api = serde_json::Map::new();
    for &kind in kinds {
        eprintln!("api calls: {kind:?}");
        api.insert(
            format!("{kind:?}"),
            serde_json::to_value(bench::api_calls::measure(kind).await?)?,
        );
    }
    Ok(api)
}

#[cfg(not(feature = "extensions"))]
async fn api_calls(_: &[fixtures::Kind]) -> Result<serde_json::Map<String, serde_json::Value>> {
    anyhow::bail!(
        "the `api` section needs the `extensions` feature (this harness was built without it)"
    )
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let on = |section: &str| cli.sections.iter().any(|s| s == section);
    let kinds: Vec<fixtures::Kind> = fixtures::Kind::ALL
        .into_iter()
        .filter(|k| cli.kinds.is_empty() || cli.kinds.iter().any(|n| n == &format!("{k:?}")))
        .collect();
    let api = if on("api") {
        api_calls(&kinds).await?
    } else {
        serde_json::Map::new()
    };
    let sizes: &[usize] = if cli.smoke { &[200] } else { &[1000, 5000] };
    let mut runs = Vec::new();
    for &kind in kinds.iter().filter(|_| on("throughput")) {
        for &count in sizes {
            eprintln!("throughput: {kind:?} × {count}");
            runs.push(throughput::run(&cli.bin_dir, kind, count).await?);
        }
    }
    let repeats = if cli.smoke { 7 } else { 10 };
    let mut startup = Vec::new();
    for &kind in kinds.iter().filter(|_| on("startup")) {
        for objects in [0, if cli.smoke { 200 } else { 1000 }] {
            eprintln!("start-up: {kind:?} with {objects} objects");
            startup.push(process::startup(&cli.bin_dir, kind, objects, repeats).await?);
        }
    }
    let window = if cli.smoke { 10 } else { 60 };
    let mut idle = Vec::new();
    for &kind in kinds.iter().filter(|_| on("idle")) {
        eprintln!("idle: {kind:?} for {window} s");
        idle.push(process::idle(&cli.bin_dir, kind, window).await?);
    }
    let report = json!({
        "smoke": cli.smoke,
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "api_calls": api,
        "throughput": runs,
        "startup": startup,
        "idle": idle,
    });
    if let Some(dir) = cli.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&cli.out, serde_json::to_string_pretty(&report)?)
        .with_context(|| format!("writing {}", cli.out.display()))?;
    eprintln!("wrote {}", cli.out.display());
    Ok(())
}
