//! `local-seed`: the test API server with `example/` loaded and every extension running against it.

use clap::Parser;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    version,
    about = "A local Gardener seed: example objects, every extension, one command"
)]
struct Cli {
    #[command(flatten)]
    config: local_seed::Config,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let _ = extension_framework::logging::init(
        "local-seed",
        cli.config.log_level,
        cli.config.log_format,
    );
    let mut stdout = std::io::stdout();
    match local_seed::run(cli.config, &mut stdout).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
