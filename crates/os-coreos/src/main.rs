//! `gardener-extension-os-coreos`: the controller (`--help` for Gardener's flags and `--config`),
//! or `render` to print the user data of an OSC from files.

mod offline;

fn main() -> std::process::ExitCode {
    if std::env::args().nth(1).as_deref() == Some("render") {
        return offline::main();
    }
    extension_framework::run_main(os_coreos::manager())
}
