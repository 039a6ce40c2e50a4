//! `gardener-extension-mwe`: run with `--help` for Gardener's flags.

fn main() -> std::process::ExitCode {
    extension_framework::run_main(mwe::manager())
}
