//! `render`: the controller's output for an OSC, computed from files.

use clap::Parser;
use extension_framework::config::{FieldPath, VersionedConfig, decode, load_file};
use gardener_api::extensions::OperatingSystemConfig;
use k8s_openapi::api::core::v1::Secret;
use os_coreos::config::ExtensionConfig;
use os_coreos::render::{SecretData, render_checked};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Prints exactly the `cloud_config` bytes the controller would store for a provision OSC, or the
/// extension units and files (YAML) for a reconcile OSC. No cluster needed.
#[derive(Parser)]
#[command(name = "gardener-extension-os-coreos render")]
struct Render {
    /// The OperatingSystemConfig (YAML or JSON).
    #[arg(long, value_name = "FILE")]
    osc: PathBuf,
    /// Secrets the OSC's files reference (repeatable).
    #[arg(long, value_name = "FILE")]
    secret: Vec<PathBuf>,
    /// The extension configuration (as `--config` of the controller).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The user-data format, overriding the configuration's `userDataFormat`.
    #[arg(long, value_parser = ["ignition", "cloud-config"])]
    format: Option<String>,
}

fn read<T: serde::de::DeserializeOwned>(file: &PathBuf) -> Result<T, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    serde_saphyr::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))
}

fn run(args: Render) -> Result<Vec<u8>, String> {
    let osc: OperatingSystemConfig = read(&args.osc)?;
    let mut secrets = SecretData::new();
    for file in &args.secret {
        let secret: Secret = read(file)?;
        let mut data: std::collections::BTreeMap<String, Vec<u8>> = secret
            .data
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.0))
            .collect();
        for (k, v) in secret.string_data.unwrap_or_default() {
            data.insert(k, v.into_bytes());
        }
        secrets.insert(secret.metadata.name.unwrap_or_default(), data);
    }
    let config = match &args.config {
        Some(file) => load_file::<ExtensionConfig>(file)
            .map_err(|e| format!("invalid extension config {}: {e}", file.display()))?,
        None => {
            let empty = serde_json::json!({"apiVersion": ExtensionConfig::API_VERSION, "kind": ExtensionConfig::KIND});
            decode::<ExtensionConfig>(&empty, &FieldPath::default()).map_err(|e| e.to_string())?
        }
    };
    let mut config = config;
    if let Some(format) = args.format {
        config.user_data_format = Some(format);
    }
    let rendered = render_checked(&osc, &config, &secrets).map_err(|e| e.to_string())?;
    if let Some((size, limit)) = rendered.oversized {
        eprintln!("warning: the user data is {size} bytes, above the limit of {limit} bytes");
    }
    let output = rendered.output;
    if let Some(user_data) = output.user_data {
        return Ok(user_data);
    }
    let report = serde_json::json!({
        "extensionUnits": output.extension_units,
        "extensionFiles": output.extension_files,
    });
    serde_saphyr::to_string(&report)
        .map(String::into_bytes)
        .map_err(|e| e.to_string())
}

pub fn main() -> ExitCode {
    let args = Render::parse_from(std::env::args().skip(1));
    match run(args) {
        Ok(bytes) => {
            let mut out = std::io::stdout().lock();
            if out.write_all(&bytes).and_then(|()| out.flush()).is_err() {
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}
