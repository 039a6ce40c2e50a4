//! Every extension binary in one executable, chosen by the name it runs under: a link named
//! `gardener-extension-mwe` is the mwe binary, and so on. Each arm is exactly that binary's
//! `main`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let program = std::env::args_os()
        .next()
        .map(std::path::PathBuf::from)
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    match program.as_str() {
        "gardener-extension-mwe" => extension_framework::run_main(mwe::manager()),
        "gardener-extension-os-coreos" => extension_framework::run_main(os_coreos::manager()),
        "gardener-extension-runtime-gvisor" => {
            extension_framework::run_main_with(runtime_gvisor::manager)
        }
        "gardener-extension-shoot-flux" => extension_framework::run_main_with(shoot_flux::manager),
        other => {
            eprintln!(
                "started as {other:?}: link this executable as gardener-extension-<mwe|os-coreos|runtime-gvisor|shoot-flux>"
            );
            ExitCode::from(2)
        }
    }
}
