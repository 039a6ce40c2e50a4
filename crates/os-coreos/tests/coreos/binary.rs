//! The binary: `render` prints what the controller stores, bad input fails with the controller's
//! message, and `--config` is validated at start-up (checklist item 30).

use crate::fixtures::*;
use os_coreos::render::{SecretData, render};
use serde_json::json;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_gardener-extension-os-coreos");

#[test]
fn render_prints_the_controllers_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let osc_file = dir.path().join("osc.json");
    std::fs::write(
        &osc_file,
        serde_json::to_string(&upstream_provision()).unwrap(),
    )
    .unwrap();
    let out = Command::new(BIN)
        .arg("render")
        .arg("--osc")
        .arg(&osc_file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want = render(
        &upstream_provision(),
        &config(json!({})),
        &SecretData::new(),
    )
    .unwrap()
    .user_data
    .unwrap();
    assert_eq!(out.stdout, want);

    // A file from a Secret, given as a manifest.
    let secret_file = dir.path().join("secret.yaml");
    std::fs::write(&secret_file, "apiVersion: v1\nkind: Secret\nmetadata:\n  name: example-file\ndata:\n  file.txt: VGhpcyBpcyBhIHNhbXBsZSBmaWxlLgo=\n").unwrap();
    let with_secret = osc(
        "coreos",
        "provision",
        json!([]),
        json!([{"path": "/s", "content": {"secretRef": {"name": "example-file", "dataKey": "file.txt"}}}]),
    );
    std::fs::write(&osc_file, serde_json::to_string(&with_secret).unwrap()).unwrap();
    let out = Command::new(BIN)
        .arg("render")
        .arg("--osc")
        .arg(&osc_file)
        .arg("--secret")
        .arg(&secret_file)
        .output()
        .unwrap();
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("VGhpcyBpcyBhIHNhbXBsZSBmaWxlLgo=")
    );

    // Without the Secret: the controller's error message, non-zero exit.
    let out = Command::new(BIN)
        .arg("render")
        .arg("--osc")
        .arg(&osc_file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8(out.stderr).unwrap().trim_end(),
        "failed to get content for file /s: secret \"example-file\" not found"
    );

    // Reconcile: the extension units and files as YAML.
    std::fs::write(
        &osc_file,
        serde_json::to_string(&osc("coreos", "reconcile", json!([]), json!([]))).unwrap(),
    )
    .unwrap();
    let out = Command::new(BIN)
        .arg("render")
        .arg("--osc")
        .arg(&osc_file)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("extensionUnits:") && text.contains("systemd-timesyncd.service"),
        "{text}"
    );
}

#[test]
fn invalid_extension_configs_stop_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let config_file = dir.path().join("config.yaml");
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'http://127.0.0.1:1'}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\nusers: [{name: u, user: {}}]\n").unwrap();
    let cases = [
        ("ntp: {daemon: foo}", "Unsupported value"),
        (
            "ntp: {daemon: systemd-timesyncd, ntpd: {servers: [a]}}",
            "Forbidden",
        ),
        (
            "ntp: {daemon: ntpd, ntpd: {servers: []}}",
            "ntpd.servers: Required value",
        ),
    ];
    for (ntp, want) in cases {
        std::fs::write(&config_file, format!("apiVersion: config.coreos.os.extensions.gardener.cloud/v1alpha1\nkind: ExtensionConfig\n{ntp}\n")).unwrap();
        let out = Command::new(BIN)
            .arg("--config")
            .arg(&config_file)
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args([
                "--leader-election=false",
                "--heartbeat-namespace=default",
                "--metrics-bind-address=0",
                "--health-bind-address=0",
            ])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("invalid extension config") && stderr.contains(want),
            "{ntp}: {stderr}"
        );
    }
}

#[test]
fn render_takes_the_format() {
    let dir = tempfile::tempdir().unwrap();
    let osc_file = dir.path().join("osc.yaml");
    std::fs::write(
        &osc_file,
        serde_json::to_string(&upstream_provision()).unwrap(),
    )
    .unwrap();
    let out = Command::new(BIN)
        .arg("render")
        .arg("--osc")
        .arg(&osc_file)
        .args(["--format", "cloud-config"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .starts_with("#cloud-config\n\ncoreos:\n")
    );
    let bad = Command::new(BIN)
        .arg("render")
        .arg("--osc")
        .arg(&osc_file)
        .args(["--format", "xml"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

/// The binary starts with what its chart renders (the checked snapshots, default and non-default
/// values), reading the config Secret's `config.yaml` as the pod would see it mounted.
#[test]
fn the_binary_takes_what_its_chart_renders() {
    let snapshots = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../charts/gardener-extension-os-coreos/snapshots"
    );
    for variant in ["default", "custom"] {
        let text = std::fs::read_to_string(format!("{snapshots}/{variant}.yaml")).unwrap();
        let objects = extension_framework::dev::chart_objects(&text).unwrap();
        let config = objects
            .iter()
            .find(|o| o["kind"] == "Secret")
            .and_then(|s| s["stringData"]["config.yaml"].as_str())
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let config_file = dir.path().join("config.yaml");
        std::fs::write(&config_file, config).unwrap();
        let wanted = format!("--config={}", config_file.display());
        extension_framework::dev::check_chart_args(BIN, &text, |a| {
            if a == "--config=/config/config.yaml" {
                wanted.clone()
            } else {
                a
            }
        })
        .unwrap_or_else(|e| panic!("{variant}: {e}"));
        assert!(
            text.contains("- --config=/config/config.yaml"),
            "the chart passes --config"
        );
    }
}
