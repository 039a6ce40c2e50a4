//! A local Gardener seed with zero setup.
//!
//! [`run`] starts the workspace's test API server, loads the generated CRDs and `example/seed`
//! (what gardenlet would have written for shoot `foo/bar`), writes a kubeconfig, and runs every
//! extension of the workspace in-process against it over real HTTP with its production wiring
//! (kubeconfig loading, leader election, heartbeat, metrics). It prints each object's progress and
//! a summary table, then keeps serving for exploration, or stops once everything converged.

use extension_framework::client;
use extension_framework::options::{BindAddress, LogFormat, LogLevel, Options};
use extension_framework::{Manager, RunningExtension};
use futures::StreamExt;
use gardener_api::extensions::{
    ContainerRuntime, Extension, ExtensionObject, LastOperationState, OperatingSystemConfig,
};
use gardener_api::resources::ManagedResource;
use kube::api::{Api, ListParams};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use test_apiserver::{RunningServer, TestApiServer};

/// Every extension of the workspace that is built so far.
pub fn extensions() -> Vec<Manager> {
    vec![
        mwe::manager(),
        runtime_gvisor::manager(&runtime_gvisor::Flags::default()),
        os_coreos::manager(),
        // Flux's manifests from the crate's offline stand-in: the local seed has no internet.
        shoot_flux::manager(&shoot_flux::Flags {
            flux_manifests_dir: Some(shoot_flux::BUNDLED_MANIFESTS.into()),
            ..shoot_flux::Flags::default()
        }),
    ]
}

/// The extensions of the workspace except those named in `skip`.
pub fn selected_extensions(skip: &[String]) -> Vec<Manager> {
    extensions()
        .into_iter()
        .filter(|m| !skip.iter().any(|s| s == m.name()))
        .collect()
}

/// Settings of a run.
#[derive(Clone, Debug, clap::Args)]
pub struct Config {
    /// The example environment to load (`seed-crds/`, `garden-crds/` and `seed/` below it).
    #[arg(long, default_value = "example")]
    pub example: PathBuf,
    /// Where to write the kubeconfig of the local seed.
    #[arg(long, default_value = "dev/kubeconfig")]
    pub kubeconfig_out: PathBuf,
    /// Address of the API server.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Exit 0 once every object an extension handles has succeeded (non-zero on timeout).
    #[arg(long)]
    pub exit_when_converged: bool,
    /// How long `--exit-when-converged` waits.
    #[arg(long, default_value = "120", value_name = "SECONDS")]
    pub timeout_seconds: u64,
    /// Log level of the extensions (their logs go to stderr).
    #[arg(long, value_enum, default_value_t = LogLevel::Error)]
    pub log_level: LogLevel,
    /// Log format of the extensions.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Do not run this extension in-process (e.g. to run its binary against the seed instead).
    #[arg(long, value_name = "NAME")]
    pub skip_extension: Vec<String>,
}

/// Stands in for gardener-resource-manager in an existing cluster (a kind cluster running the
/// extensions' images): marks every ManagedResource applied and healthy, as [`run`] does for the
/// in-process seed, until SIGINT/SIGTERM.
///
/// # Errors
/// When the kubeconfig cannot be loaded.
pub async fn resource_manager_for(kubeconfig: &std::path::Path) -> Result<(), SeedError> {
    let metrics = extension_framework::metrics::Metrics::new();
    let config = client::config(Some(kubeconfig), None)
        .await
        .map_err(|e| SeedError::Setup(e.to_string()))?;
    let client = client::build(config, &metrics).map_err(|e| SeedError::Setup(e.to_string()))?;
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let task = extension_framework::dev::resource_manager(client, stop_rx);
    extension_framework::runtime::shutdown_signal().await;
    let _ = stop.send(true);
    let _ = task.await;
    Ok(())
}

/// Errors of a run.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The API server or the example could not be set up.
    #[error("setting up the local seed: {0}")]
    Setup(String),
    /// An extension failed to start or stopped.
    #[error("extension {name}: {source}")]
    Extension {
        /// The extension.
        name: String,
        /// Why.
        source: extension_framework::RunError,
    },
    /// Not every handled object succeeded in time.
    #[error("not converged after {0:?}")]
    NotConverged(Duration),
}

/// One example object and what became of it.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// `Extension`, `ContainerRuntime` or `OperatingSystemConfig`.
    pub kind: &'static str,
    /// `namespace/name`.
    pub name: String,
    /// `spec.type`.
    pub type_: String,
    /// Whether an extension of this run serves the kind and type.
    pub handled: bool,
    /// `lastOperation.type` and `.state`, if any.
    pub state: Option<String>,
    /// `lastOperation.description` (or `lastError`).
    pub description: String,
    /// Result Secrets, ManagedResources.
    pub produced: Vec<String>,
    /// Succeeded, current generation, no operation annotation (gardenlet's readiness check).
    pub ready: bool,
}

fn row<K: ExtensionObject>(
    kind: &'static str,
    object: &K,
    handled: bool,
    produced: Vec<String>,
) -> Row {
    let status = object.default_status();
    let last = status.and_then(|s| s.last_operation.as_ref());
    let ready = last.is_some_and(|l| l.state == LastOperationState::Succeeded)
        && status.and_then(|s| s.last_error.as_ref()).is_none()
        && status.and_then(|s| s.observed_generation) == object.meta().generation
        && !object
            .annotations()
            .contains_key(gardener_api::constants::OPERATION_ANNOTATION);
    let description = status
        .and_then(|s| s.last_error.as_ref().map(|e| e.description.clone()))
        .or_else(|| last.map(|l| l.description.clone()))
        .unwrap_or_default();
    Row {
        kind,
        name: format!(
            "{}/{}",
            object.namespace().unwrap_or_default(),
            object.name_any()
        ),
        type_: object.default_spec().type_.clone(),
        handled,
        state: last.map(|l| format!("{} {}", l.type_, l.state)),
        description,
        produced,
        ready,
    }
}

/// Reads every example object and what it produced.
pub async fn snapshot(
    client: &Client,
    served: &[(&'static str, Vec<String>)],
) -> Result<Vec<Row>, kube::Error> {
    let handles = |kind: &str, type_: &str| {
        served
            .iter()
            .any(|(k, types)| *k == kind && types.iter().any(|t| t == type_))
    };
    // The objects first, then what they produced: an object read as succeeded has written all of
    // its ManagedResources by the time they are listed.
    let extensions = Api::<Extension>::all(client.clone())
        .list(&ListParams::default())
        .await?;
    let runtimes = Api::<ContainerRuntime>::all(client.clone())
        .list(&ListParams::default())
        .await?;
    let mrs: Vec<ManagedResource> = Api::<ManagedResource>::all(client.clone())
        .list(&ListParams::default())
        .await?
        .items;
    let produced_mrs = |ns: Option<String>, type_: &str| -> Vec<String> {
        mrs.iter()
            .filter(|m| m.namespace() == ns && m.name_any().contains(type_))
            .map(|m| format!("ManagedResource {}", m.name_any()))
            .collect()
    };
    let mut rows = Vec::new();
    for e in extensions {
        let produced = produced_mrs(e.namespace(), &e.spec.default_spec.type_);
        rows.push(row(
            "Extension",
            &e,
            handles("Extension", &e.spec.default_spec.type_),
            produced,
        ));
    }
    for c in runtimes {
        let produced = produced_mrs(c.namespace(), &c.spec.default_spec.type_);
        rows.push(row(
            "ContainerRuntime",
            &c,
            handles("ContainerRuntime", &c.spec.default_spec.type_),
            produced,
        ));
    }
    for o in Api::<OperatingSystemConfig>::all(client.clone())
        .list(&ListParams::default())
        .await?
    {
        let status = o.status.as_ref();
        let mut produced: Vec<String> = status
            .and_then(|s| s.cloud_config.as_ref())
            .and_then(|c| c.secret_ref.name.clone())
            .map(|n| vec![format!("Secret {n}")])
            .unwrap_or_default();
        if let Some(units) = status.and_then(|s| s.extension_units.as_ref()) {
            produced.push(format!("{} extension unit(s)", units.len()));
        }
        rows.push(row(
            "OperatingSystemConfig",
            &o,
            handles("OperatingSystemConfig", &o.spec.default_spec.type_),
            produced,
        ));
    }
    Ok(rows)
}

/// Whether every handled object is ready.
pub fn converged(rows: &[Row]) -> bool {
    rows.iter().filter(|r| r.handled).all(|r| r.ready)
}

/// The summary table.
pub fn table(rows: &[Row]) -> String {
    let header = [
        "KIND",
        "NAME",
        "TYPE",
        "LAST OPERATION",
        "DESCRIPTION",
        "PRODUCED",
    ];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            let (state, description) = if r.handled {
                (
                    r.state.clone().unwrap_or_else(|| "-".into()),
                    r.description.clone(),
                )
            } else {
                (
                    "not handled".into(),
                    "no extension in this run serves this type".into(),
                )
            };
            let produced = if r.produced.is_empty() {
                "-".into()
            } else {
                r.produced.join(", ")
            };
            [
                r.kind.to_string(),
                r.name.clone(),
                r.type_.clone(),
                state,
                description,
                produced,
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..6)
        .map(|i| {
            cells
                .iter()
                .map(|c| c[i].len())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |c: &[String]| {
        c.iter()
            .zip(&widths)
            .map(|(v, w)| format!("{v:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = line(&header.map(String::from));
    for c in &cells {
        out.push('\n');
        out.push_str(&line(c));
    }
    out
}

/// A started local seed.
pub struct LocalSeed {
    /// The API server.
    pub server: RunningServer,
    /// A client built from the written kubeconfig.
    pub client: Client,
    /// The running extensions.
    pub extensions: Vec<(String, RunningExtension)>,
    /// What they serve.
    pub served: Vec<(&'static str, Vec<String>)>,
    /// Stops the resource-manager stand-in when dropped.
    _resource_manager: tokio::sync::watch::Sender<bool>,
}

/// Starts the API server with the example loaded and the extensions running.
pub async fn start(
    config: &Config,
    extensions: Vec<Manager>,
    out: &mut impl Write,
) -> Result<LocalSeed, SeedError> {
    let setup = |e: &dyn std::fmt::Display| SeedError::Setup(e.to_string());
    let server = TestApiServer::builder()
        .listen(config.listen)
        .start()
        .await
        .map_err(|e| setup(&e))?;
    for dir in ["seed-crds", "garden-crds", "seed"] {
        let path = config.example.join(dir);
        let count = server.load_dir(&path).map_err(|e| setup(&e))?;
        let _ = writeln!(out, "loaded {count} objects from {}", path.display());
    }
    server
        .write_kubeconfig(&config.kubeconfig_out)
        .map_err(|e| setup(&e))?;
    let _ = writeln!(
        out,
        "API server {} (kubeconfig: {})",
        server.url(),
        config.kubeconfig_out.display()
    );
    // The production path: the kubeconfig file, the metrics-instrumented client.
    let mut served = Vec::new();
    let mut running = Vec::new();
    let mut client = None;
    for manager in extensions {
        let metrics = extension_framework::metrics::Metrics::new();
        let kube_config = client::config(Some(&config.kubeconfig_out), None)
            .await
            .map_err(|e| setup(&e))?;
        let extension_client = client::build(kube_config, &metrics).map_err(|e| setup(&e))?;
        client.get_or_insert_with(|| extension_client.clone());
        let name = manager.name().to_string();
        served.extend(manager.served());
        let mut options = Options::defaults();
        options.leader_election_namespace = Some("garden".into());
        options.metrics_bind_address =
            BindAddress::At("127.0.0.1:0".parse().expect("valid address"));
        options.health_bind_address =
            BindAddress::At("127.0.0.1:0".parse().expect("valid address"));
        let started = manager
            .start(options, extension_client)
            .await
            .map_err(|source| SeedError::Extension {
                name: name.clone(),
                source,
            })?;
        let _ = writeln!(
            out,
            "extension {name}: serves {:?}, metrics http://{}/metrics, health http://{}/healthz",
            served
                .last()
                .map(|(k, t)| format!("{k} {}", t.join(",")))
                .unwrap_or_default(),
            started
                .metrics_addr
                .map(|a| a.to_string())
                .unwrap_or_default(),
            started
                .health_addr
                .map(|a| a.to_string())
                .unwrap_or_default(),
        );
        running.push((name, started));
    }
    let client = match client {
        Some(c) => c,
        None => server.client().await.map_err(|e| setup(&e))?,
    };
    // No shoot here: a stand-in reports ManagedResources as gardener-resource-manager would.
    let (resource_manager, stop) = tokio::sync::watch::channel(false);
    extension_framework::dev::resource_manager(client.clone(), stop);
    let _ = writeln!(
        out,
        "resource-manager stand-in: ManagedResources are reported applied and healthy (nothing is applied)"
    );
    Ok(LocalSeed {
        server,
        client,
        extensions: running,
        served,
        _resource_manager: resource_manager,
    })
}

/// Prints progress until every handled object is ready; returns the final rows.
pub async fn watch_until_converged(
    seed: &LocalSeed,
    out: &mut impl Write,
    timeout: Duration,
) -> Result<Vec<Row>, (SeedError, Vec<Row>)> {
    let mut last_seen: BTreeMap<String, String> = BTreeMap::new();
    let events = futures::stream::select_all([
        watcher(
            Api::<Extension>::all(seed.client.clone()),
            Default::default(),
        )
        .map(|_| ())
        .boxed(),
        watcher(
            Api::<ContainerRuntime>::all(seed.client.clone()),
            Default::default(),
        )
        .map(|_| ())
        .boxed(),
        watcher(
            Api::<OperatingSystemConfig>::all(seed.client.clone()),
            Default::default(),
        )
        .map(|_| ())
        .boxed(),
    ]);
    tokio::pin!(events);
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    loop {
        let rows = snapshot(&seed.client, &seed.served)
            .await
            .unwrap_or_default();
        for r in rows.iter().filter(|r| r.handled) {
            let now = format!(
                "{} {}",
                r.state.clone().unwrap_or_else(|| "pending".into()),
                r.description
            );
            if last_seen.get(&r.name) != Some(&now) {
                let _ = writeln!(out, "  {} {} ({}): {}", r.kind, r.name, r.type_, now);
                last_seen.insert(r.name.clone(), now);
            }
        }
        if !rows.is_empty() && converged(&rows) {
            return Ok(rows);
        }
        tokio::select! {
            _ = events.next() => {}
            _ = &mut deadline => return Err((SeedError::NotConverged(timeout), rows)),
        }
    }
}

/// The whole command: start, show progress and the summary, then serve or exit.
pub async fn run(config: Config, out: &mut impl Write) -> Result<(), SeedError> {
    let seed = start(&config, selected_extensions(&config.skip_extension), out).await?;
    let _ = writeln!(out, "progress:");
    let result =
        watch_until_converged(&seed, out, Duration::from_secs(config.timeout_seconds)).await;
    let rows = match &result {
        Ok(rows) | Err((_, rows)) => rows.clone(),
    };
    let _ = writeln!(out, "\n{}\n", table(&rows));
    match result {
        Ok(_) => {
            let _ = writeln!(
                out,
                "converged: every object handled by an extension in this run succeeded"
            );
        }
        Err((e, rows)) => {
            for r in rows.iter().filter(|r| r.handled && !r.ready) {
                let _ = writeln!(out, "not ready: {} {}: {}", r.kind, r.name, r.description);
            }
            shutdown(seed).await;
            return Err(e);
        }
    }
    if config.exit_when_converged {
        shutdown(seed).await;
        return Ok(());
    }
    let _ = writeln!(
        out,
        "serving until Ctrl-C. Try: KUBECONFIG={} kubectl get --raw /apis/extensions.gardener.cloud/v1alpha1/extensions",
        config.kubeconfig_out.display()
    );
    let _ = out.flush();
    extension_framework::runtime::shutdown_signal().await;
    shutdown(seed).await;
    Ok(())
}

async fn shutdown(seed: LocalSeed) {
    for (name, running) in seed.extensions {
        if let Err(e) = running.shutdown().await {
            tracing::error!(extension = %name, error = %e, "Extension did not stop cleanly");
        }
    }
    seed.server.shutdown();
}
