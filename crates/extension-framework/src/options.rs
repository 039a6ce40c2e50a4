//! Gardener's command-line flags for extensions, with the same names and defaults as the Go library
//! (gardener-contract §5.2). Extensions flatten [`Options`] into their own clap struct.

use clap::{Args, ValueEnum};
use gardener_api::extensions::ExtensionClass;
use std::net::SocketAddr;
use std::path::PathBuf;

/// `--log-level`: Gardener only knows these three.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum LogLevel {
    /// Everything.
    Debug,
    /// Normal operation.
    #[default]
    Info,
    /// Errors only.
    Error,
}

/// `--log-format`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Gardener's JSON lines (`level`, `ts`, `logger`, `msg`, fields).
    #[default]
    Json,
    /// Human-readable.
    Text,
}

/// The flags every extension binary accepts.
#[derive(Args, Clone, Debug)]
pub struct Options {
    /// Path to a kubeconfig; else $KUBECONFIG, the in-cluster config, then ~/.kube/config.
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// API server URL, overriding the kubeconfig's.
    #[arg(long)]
    pub master: Option<String>,
    /// Only the holder of the leader-election lease reconciles.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub leader_election: bool,
    /// Name of the leader-election Lease (default `<extension>-leader-election`).
    #[arg(long)]
    pub leader_election_id: Option<String>,
    /// Namespace of the leader-election Lease.
    #[arg(long, env = "LEADER_ELECTION_NAMESPACE")]
    pub leader_election_namespace: Option<String>,
    /// Address of the metrics endpoint (`/metrics`); `0` disables it.
    #[arg(long, default_value = ":8080", value_parser = parse_bind_address)]
    pub metrics_bind_address: BindAddress,
    /// Address of the health endpoints (`/healthz`, `/readyz`); `0` disables them.
    #[arg(long, default_value = ":8081", value_parser = parse_bind_address)]
    pub health_bind_address: BindAddress,
    /// Log level.
    #[arg(long, value_enum, default_value_t = LogLevel::Info)]
    pub log_level: LogLevel,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Json)]
    pub log_format: LogFormat,
    /// Parallel reconciles per controller (`--<controller>-max-concurrent-reconciles` overrides);
    /// 0 means controller-runtime's default, 1.
    #[arg(long, default_value_t = 5)]
    pub max_concurrent_reconciles: u16,
    /// Reconcile on generation changes instead of operation annotations.
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub ignore_operation_annotation: bool,
    /// Version of the Gardener that deployed this extension.
    #[arg(long, default_value = "")]
    pub gardener_version: String,
    /// Whether this extension runs in a self-hosted shoot (gardenlet renders it; no effect here).
    /// `--autonomous-shoot-cluster` is the name older gardenlets render.
    #[arg(long, alias = "autonomous-shoot-cluster", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub self_hosted_shoot_cluster: bool,
    /// Lock type of leader election; only `leases` exists today (older charts pass the
    /// `configmapsleases`/`endpointsleases` migration locks, which mean a Lease as well).
    #[arg(long, default_value = "leases", value_parser = parse_resource_lock)]
    pub leader_election_resource_lock: String,
    /// Extension classes to serve (`shoot`, `seed`, `garden`); empty means shoot.
    #[arg(long, value_delimiter = ',', value_parser = parse_class)]
    pub extension_classes: Vec<ExtensionClass>,
    /// Controllers to run (default: all registered; an empty value, as charts render an empty
    /// list, means all).
    #[arg(long, value_delimiter = ',')]
    pub controllers: Vec<String>,
    /// Controllers not to run (an empty value means none).
    #[arg(long, value_delimiter = ',')]
    pub disable_controllers: Vec<String>,
    /// Namespace of the heartbeat Lease (default: the leader-election namespace).
    #[arg(long)]
    pub heartbeat_namespace: Option<String>,
    /// The extension's configuration file (only for extensions that take one).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Renew interval of the heartbeat Lease in seconds (> 0).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..))]
    pub heartbeat_renew_interval_seconds: u32,
    /// Threads that run the controllers; 0 means one per CPU. With 1 (the default) they run on
    /// the main thread. Reconciling is mostly waiting for the API server: in the benchmarks one
    /// thread kept up with two and held 1–3 MiB less memory (docs/architecture.md).
    #[arg(long, default_value_t = 1)]
    pub worker_threads: u16,
}

/// A `host:port` to bind, or disabled (`0`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BindAddress {
    /// Do not serve.
    Disabled,
    /// Serve here.
    At(SocketAddr),
}

/// Parses Go-style bind addresses: `:8080`, `127.0.0.1:8080`, `0`.
pub fn parse_bind_address(s: &str) -> Result<BindAddress, String> {
    if s == "0" {
        return Ok(BindAddress::Disabled);
    }
    let full = if s.starts_with(':') {
        format!("0.0.0.0{s}")
    } else {
        s.to_string()
    };
    full.parse::<SocketAddr>()
        .map(BindAddress::At)
        .map_err(|e| format!("invalid bind address {s:?}: {e}"))
}

/// A known class, or `""` (a chart's empty list renders `--extension-classes=`, which Go reads as
/// no class, i.e. shoot).
fn parse_class(s: &str) -> Result<ExtensionClass, String> {
    if s.is_empty() {
        return Ok(ExtensionClass::Other(String::new()));
    }
    ExtensionClass::parse_known(s).map_err(|e| e.to_string())
}

fn parse_resource_lock(s: &str) -> Result<String, String> {
    match s {
        "leases" | "configmapsleases" | "endpointsleases" => Ok(s.to_string()),
        other => Err(format!(
            "unsupported resource lock {other:?} (supported: leases)"
        )),
    }
}

impl Options {
    /// The enabled controller list without the empty entries an empty chart list renders.
    pub fn controller_list(&self) -> Vec<String> {
        non_empty(&self.controllers)
    }

    /// The disabled controller list without empty entries.
    pub fn disabled_controller_list(&self) -> Vec<String> {
        non_empty(&self.disable_controllers)
    }

    /// The classes to serve: `[shoot]` when none (or only `""`) is given, as Go's `HasClass`.
    pub fn classes(&self) -> Vec<ExtensionClass> {
        let given: Vec<ExtensionClass> = self
            .extension_classes
            .iter()
            .filter(|c| !c.as_str().is_empty())
            .cloned()
            .collect();
        if given.is_empty() {
            vec![ExtensionClass::Shoot]
        } else {
            given
        }
    }

    /// `--max-concurrent-reconciles` as controller-runtime applies it (0 means 1).
    pub fn concurrency(&self) -> u16 {
        self.max_concurrent_reconciles.max(1)
    }

    /// For running in-process next to other code (tests, the local seed): no leader election, no
    /// HTTP endpoints, the heartbeat in `heartbeat_namespace`; everything else as [`Options::defaults`].
    pub fn embedded(heartbeat_namespace: &str) -> Self {
        let mut options = Self::defaults();
        options.leader_election = false;
        options.metrics_bind_address = BindAddress::Disabled;
        options.health_bind_address = BindAddress::Disabled;
        options.heartbeat_namespace = Some(heartbeat_namespace.into());
        options
    }

    /// Defaults, as if no flag was given (for tests and embedding).
    pub fn defaults() -> Self {
        #[derive(clap::Parser)]
        struct Only {
            #[command(flatten)]
            options: Options,
        }
        <Only as clap::Parser>::parse_from(["extension"]).options
    }
}

fn non_empty(list: &[String]) -> Vec<String> {
    list.iter().filter(|s| !s.is_empty()).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        options: Options,
    }

    #[test]
    fn defaults_match_gardener() {
        let o = Cli::parse_from(["x"]).options;
        assert_eq!(
            o.metrics_bind_address,
            BindAddress::At("0.0.0.0:8080".parse().unwrap())
        );
        assert_eq!(
            o.health_bind_address,
            BindAddress::At("0.0.0.0:8081".parse().unwrap())
        );
        assert_eq!(o.log_level, LogLevel::Info);
        assert_eq!(o.log_format, LogFormat::Json);
        assert_eq!(o.max_concurrent_reconciles, 5);
        assert!(o.leader_election);
        assert!(!o.ignore_operation_annotation);
        assert_eq!(o.heartbeat_renew_interval_seconds, 30);
        assert_eq!(o.worker_threads, 1);
    }

    #[test]
    fn invalid_values_are_rejected() {
        // gardener-contract §11 items 48 and 61.
        assert!(Cli::try_parse_from(["x", "--log-level=trace"]).is_err());
        assert!(Cli::try_parse_from(["x", "--heartbeat-renew-interval-seconds=0"]).is_err());
        assert!(Cli::try_parse_from(["x", "--extension-classes=moon"]).is_err());
        assert!(Cli::try_parse_from(["x", "--metrics-bind-address=nope"]).is_err());
        let o = Cli::parse_from([
            "x",
            "--metrics-bind-address=0",
            "--leader-election=false",
            "--extension-classes=seed,shoot",
        ])
        .options;
        assert_eq!(o.metrics_bind_address, BindAddress::Disabled);
        assert!(!o.leader_election);
        assert_eq!(
            o.extension_classes,
            vec![ExtensionClass::Seed, ExtensionClass::Shoot]
        );
    }

    #[test]
    fn empty_chart_lists_mean_empty_lists() {
        let o = Cli::parse_from([
            "x",
            "--disable-controllers=",
            "--controllers=",
            "--extension-classes=",
            "--max-concurrent-reconciles=0",
            "--self-hosted-shoot-cluster",
            "--leader-election-resource-lock=leases",
        ])
        .options;
        assert!(o.controller_list().is_empty());
        assert!(o.disabled_controller_list().is_empty());
        assert_eq!(o.classes(), vec![ExtensionClass::Shoot]);
        assert_eq!(o.concurrency(), 1, "controller-runtime turns 0 into 1");
        assert!(o.self_hosted_shoot_cluster);
        assert!(
            Cli::parse_from(["x", "--autonomous-shoot-cluster=true"])
                .options
                .self_hosted_shoot_cluster
        );
        assert!(Cli::try_parse_from(["x", "--leader-election-resource-lock=configmaps"]).is_err());
    }
}
