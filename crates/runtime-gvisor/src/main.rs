//! `gardener-extension-runtime-gvisor`: run with `--help` for Gardener's flags and
//! `--gvisor-installation-test-repository`.

fn main() -> std::process::ExitCode {
    extension_framework::run_main_with(runtime_gvisor::manager)
}
