//! `gardener-extension-shoot-flux`: run with `--help` for Gardener's flags and the extension's own.

fn main() -> std::process::ExitCode {
    extension_framework::run_main_with(shoot_flux::manager)
}
