//! The binary starts with what its chart renders (the checked snapshots, default and non-default
//! values, including `extraArgs`).

use std::process::Command;

#[test]
fn the_binary_takes_what_its_chart_renders() {
    let bin = env!("CARGO_BIN_EXE_gardener-extension-shoot-flux");
    let snapshots = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../charts/gardener-extension-shoot-flux/snapshots"
    );
    for variant in ["default", "custom"] {
        let text = std::fs::read_to_string(format!("{snapshots}/{variant}.yaml")).unwrap();
        let args = extension_framework::dev::chart_args(&text).unwrap();
        let out = Command::new(bin)
            .args(&args)
            .args(["--kubeconfig", "/nonexistent/kubeconfig"])
            .env_remove("KUBECONFIG")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{variant} {args:?}: {stderr}");
        assert!(
            stderr.contains("/nonexistent/kubeconfig"),
            "{variant}: {stderr}"
        );
    }
}
