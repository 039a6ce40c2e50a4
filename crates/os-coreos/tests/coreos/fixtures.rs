//! Small builders for OSCs and configs, and the real Ignition validator.

use gardener_api::extensions::OperatingSystemConfig;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::Command;

#[path = "../../benches/common/config.rs"]
mod shared_config;
pub use shared_config::config;

/// An OSC of `type_` and `purpose` with the given units and files (JSON as gardenlet writes them).
pub fn osc(type_: &str, purpose: &str, units: Value, files: Value) -> OperatingSystemConfig {
    serde_json::from_value(json!({
        "apiVersion": "extensions.gardener.cloud/v1alpha1", "kind": "OperatingSystemConfig",
        "metadata": {"name": "pool-01-original", "namespace": "default"},
        "spec": {"type": type_, "purpose": purpose, "units": units, "files": files}
    }))
    .unwrap()
}

/// The upstream test input: `some-unit.service` and `/some/file: bar`.
pub fn upstream_provision() -> OperatingSystemConfig {
    osc(
        "coreos",
        "provision",
        json!([{"name": "some-unit.service", "content": "[Unit]\nDescription=Some Unit\n[Install]\nWantedBy=multi-user.target"}]),
        json!([{"path": "/some/file", "content": {"inline": {"encoding": "", "data": "bar"}}}]),
    )
}

/// Checks Ignition JSON with the `ignition-config` crate (a 3.3.0 config, no warnings about
/// unknown fields) and with Debian's `ignition-validate` (2.14, spec 3.3.0). Absent locally, the
/// latter is skipped with a message; CI installs it (`.ci/run`) and must not skip.
pub fn ignition_validate(user_data: &[u8]) {
    let (parsed, warnings) =
        ignition_config::Config::parse_slice(user_data).expect("ignition-config parses it");
    assert!(
        matches!(parsed, ignition_config::Config::V3_3(_)),
        "a 3.3.0 config"
    );
    assert!(warnings.is_empty(), "{warnings:?}");
    let binary = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("ignition-validate"))
            .find(|p| p.is_file())
    });
    let Some(binary): Option<PathBuf> = binary else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install ignition (apt-get install ignition)"
        );
        eprintln!("ignition-validate not installed: skipping the real validator");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.ign");
    std::fs::write(&file, user_data).unwrap();
    let out = Command::new(binary).arg(&file).output().unwrap();
    assert!(
        out.status.success(),
        "ignition-validate rejects the config: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
