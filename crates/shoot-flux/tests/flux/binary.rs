//! The binary starts with what its chart renders (the checked snapshots, default and non-default
//! values, including `extraArgs`).

#[test]
fn the_binary_takes_what_its_chart_renders() {
    let bin = env!("CARGO_BIN_EXE_gardener-extension-shoot-flux");
    let snapshots = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../charts/gardener-extension-shoot-flux/snapshots"
    );
    for variant in ["default", "custom"] {
        let text = std::fs::read_to_string(format!("{snapshots}/{variant}.yaml")).unwrap();
        extension_framework::dev::check_chart_args(bin, &text, |a| a)
            .unwrap_or_else(|e| panic!("{variant}: {e}"));
    }
}
