//! Standalone test API server: `test-apiserver --listen 127.0.0.1:6443 --kubeconfig-out dev/kubeconfig --load example/`.

use anyhow::{Context, Result};
use clap::Parser;
use std::net::SocketAddr;
use std::path::PathBuf;
use test_apiserver::TestApiServer;

#[derive(Parser)]
#[command(
    version,
    about = "An in-process Kubernetes API server for tests and local runs"
)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Write a kubeconfig for this server to FILE.
    #[arg(long, value_name = "FILE")]
    kubeconfig_out: Option<PathBuf>,
    /// Apply the YAML manifests below DIR (in path order) at start; may repeat.
    #[arg(long, value_name = "DIR")]
    load: Vec<PathBuf>,
    /// Serve HTTPS with a generated CA (written into the kubeconfig).
    #[arg(long)]
    tls: bool,
    /// Require this bearer token.
    #[arg(long)]
    token: Option<String>,
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let mut builder = TestApiServer::builder().listen(args.listen).tls(args.tls);
    if let Some(token) = args.token {
        builder = builder.token(token);
    }
    let server = builder.start().await.context("starting the server")?;
    for dir in &args.load {
        let count = server
            .load_dir(dir)
            .with_context(|| format!("loading {}", dir.display()))?;
        eprintln!("applied {count} objects from {}", dir.display());
    }
    if let Some(path) = &args.kubeconfig_out {
        server.write_kubeconfig(path)?;
        eprintln!("kubeconfig written to {}", path.display());
    }
    println!("serving on {}", server.url());
    tokio::signal::ctrl_c().await?;
    server.shutdown();
    Ok(())
}
