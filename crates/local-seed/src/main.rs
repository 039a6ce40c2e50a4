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
    /// Instead of a local seed, only stand in for gardener-resource-manager in the cluster of this
    /// kubeconfig (ManagedResources reported applied and healthy), until interrupted.
    #[arg(long, value_name = "KUBECONFIG")]
    resource_manager_for: Option<std::path::PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let _ = extension_framework::logging::init(
        "local-seed",
        cli.config.log_level,
        cli.config.log_format,
    );
    let result = match &cli.resource_manager_for {
        Some(kubeconfig) => local_seed::resource_manager_for(kubeconfig).await,
        None => local_seed::run(cli.config, &mut std::io::stdout()).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
