//! The binary: its own flag, the arguments upstream's chart renders, and a start-up error line.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_gardener-extension-runtime-gvisor");

/// The arguments our chart renders (its checked snapshots, default and non-default values) parse.
#[test]
fn the_binary_takes_what_its_chart_renders() {
    let snapshots = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../charts/gardener-extension-runtime-gvisor/snapshots"
    );
    for variant in ["default", "custom"] {
        let text = std::fs::read_to_string(format!("{snapshots}/{variant}.yaml")).unwrap();
        extension_framework::dev::check_chart_args(BIN, &text, |a| a)
            .unwrap_or_else(|e| panic!("{variant}: {e}"));
    }
}

#[test]
fn the_binary_takes_the_chart_arguments_and_its_own_flag() {
    let help = Command::new(BIN).arg("--help").output().unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    for flag in [
        "--gvisor-installation-test-repository",
        "--containerruntime-max-concurrent-reconciles",
        "--healthcheck-max-concurrent-reconciles",
    ] {
        assert!(help.contains(flag), "{flag} in --help");
    }
    // The chart's arguments (defaults and empty lists) parse: the process gets as far as the client.
    let out = Command::new(BIN)
        .args([
            "--leader-election-resource-lock=leases",
            "--max-concurrent-reconciles=5",
            "--healthcheck-max-concurrent-reconciles=5",
            "--ignore-operation-annotation=false",
            "--gardener-version=",
            "--heartbeat-namespace=extension-runtime-gvisor",
            "--heartbeat-renew-interval-seconds=30",
            "--disable-controllers=",
            "--gvisor-installation-test-repository=",
            "--kubeconfig",
            "/nonexistent/kubeconfig",
        ])
        .env_remove("KUBECONFIG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let line: serde_json::Value = serde_json::from_str(stderr.lines().last().unwrap()).unwrap();
    assert_eq!(line["level"], "error");
    assert!(
        line["error"]
            .as_str()
            .unwrap()
            .contains("/nonexistent/kubeconfig")
    );
    // A flag of the wrong type is clap's usage error.
    let bad = Command::new(BIN)
        .arg("--max-concurrent-reconciles=many")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
