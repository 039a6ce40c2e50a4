//! The fuzz binary. With the `libfuzzer` feature (`cargo xtask fuzz`), libFuzzer drives the target
//! named by `$FUZZ_TARGET`; without it, `fuzz <target> FILE...` replays inputs, e.g. a crash
//! libFuzzer saved.
#![cfg_attr(feature = "libfuzzer", no_main)]

#[cfg(feature = "libfuzzer")]
mod libfuzzer {
    // libFuzzer calls the target through the C symbol `LLVMFuzzerTestOneInput`, which the macro
    // exports with `#[unsafe(no_mangle)]`; that export is this crate's only unsafe attribute.
    #![allow(unsafe_code)]

    fn target() -> fuzz::Target {
        let name = std::env::var("FUZZ_TARGET").unwrap_or_default();
        fuzz::Target::from_name(&name)
            .unwrap_or_else(|| panic!("FUZZ_TARGET={name:?} names no target"))
    }

    libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz::run(target(), data));
}

#[cfg(not(feature = "libfuzzer"))]
fn main() -> std::process::ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(target) = args.next().as_deref().and_then(fuzz::Target::from_name) else {
        let names: Vec<_> = fuzz::Target::ALL.iter().map(|t| t.name()).collect();
        eprintln!("usage: fuzz <{}> FILE...", names.join("|"));
        return std::process::ExitCode::from(2);
    };
    for file in args {
        match std::fs::read(&file) {
            Ok(data) => fuzz::run(target, &data),
            Err(e) => {
                eprintln!("{file}: {e}");
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    std::process::ExitCode::SUCCESS
}
