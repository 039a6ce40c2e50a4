//! The process around the controllers: flags, client, HTTP endpoints, leader election, heartbeat
//! and graceful shutdown. An extension's `main` builds a [`Manager`] and runs it.

use crate::actuator::Actuator;
use crate::cache::SeedCache;
use crate::client::{self, ClientError};
use crate::controller::{self, ControllerSettings, RECONCILE_TIMEOUT};
use crate::heartbeat;
use crate::kind::ExtensionKind;
use crate::leader::{LeaderElector, Timings};
use crate::metrics::Metrics;
use crate::options::{BindAddress, Options};
use crate::reconciler::{Reconciler, ReconcilerConfig};
use crate::server::{self, Readiness};
use crate::shared_watch::Leader;
pub use crate::shared_watch::SharedWatches;
use async_trait::async_trait;
use gardener_api::extensions::{ContainerRuntime, Extension, OperatingSystemConfig};
use kube::Client;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// What `--version` prints after the binary's name: the release and the commit it was built from
/// (`build.rs`).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("EXTENSION_COMMIT"),
    ")"
);

/// Name of the heartbeat controller (for `--controllers`/`--disable-controllers`).
pub const HEARTBEAT_CONTROLLER: &str = "heartbeat";
/// How long in-flight reconciles may take to finish after a shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Why the extension could not run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Invalid flags or settings.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The `--config` file does not load or validate.
    #[error("invalid extension config {file}: {source}")]
    ConfigFile {
        /// The file given (empty for the defaults).
        file: String,
        /// What is wrong, with field paths.
        source: crate::config::ConfigError,
    },
    /// The client could not be built.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The API server rejected the client's credentials at start-up (401/403 on `/version`).
    #[error(
        "the API server {server} rejects this client's credentials ({code} {reason}): check the kubeconfig's token or certificate"
    )]
    Unauthorized {
        /// The server's URL.
        server: String,
        /// 401 or 403.
        code: u16,
        /// The server's reason (`Unauthorized`, `Forbidden`).
        reason: String,
    },
    /// The API server could not be reached at start-up.
    #[error("cannot reach the API server {server}: {source}")]
    Unreachable {
        /// The server's URL.
        server: String,
        /// kube's error.
        source: kube::Error,
    },
    /// An HTTP endpoint could not be bound.
    #[error("binding {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
    /// Another replica took the leader-election lease.
    #[error("leader election lost")]
    LeadershipLost,
    /// A background task failed.
    #[error("internal: {0}")]
    Internal(String),
}

/// Everything a controller needs to run.
#[derive(Clone)]
pub struct RunEnv {
    /// Seed client.
    pub client: Client,
    /// Namespaces and Clusters, shared by all controllers of the process.
    pub cache: SeedCache,
    /// Process metrics.
    pub metrics: Metrics,
    /// Readiness tracking.
    pub readiness: Readiness,
    /// Parsed flags.
    pub options: Options,
    /// Parallel reconciles for this controller.
    pub concurrency: usize,
    /// The kinds' watches the controllers share (one per kind, as controller-runtime's informers).
    pub watches: SharedWatches,
}

/// A controller the manager can run.
#[async_trait]
pub trait Runnable: Send + Sync + 'static {
    /// Name for `--controllers` and the metric label.
    fn name(&self) -> &str;
    /// Prefix of its `--<prefix>-max-concurrent-reconciles` flag (default: the name).
    fn flag_prefix(&self) -> &str {
        self.name()
    }
    /// The extension kind and types it reconciles, if it is an extension controller.
    fn serves(&self) -> Option<(&'static str, Vec<String>)> {
        None
    }
    /// Takes its part of the watches it shares with other controllers. Called for every enabled
    /// controller before any of them runs, so that all parts exist before the first event.
    fn register(&mut self, _watches: &SharedWatches) {}
    /// Runs until `stop` turns true.
    async fn run(self: Box<Self>, env: RunEnv, stop: watch::Receiver<bool>);
}

/// One generic extension controller: the kind, its actuator and the per-controller settings.
pub struct Registration<K: ExtensionKind> {
    name: String,
    flag_prefix: Option<String>,
    actuator: Arc<dyn Actuator<K>>,
    types: Vec<String>,
    finalizer_suffix: String,
    resync: Duration,
    timeout: Duration,
    /// The kind's shared watch, when this controller leads it.
    watch: Option<Leader<K>>,
}

impl<K: ExtensionKind> Registration<K> {
    /// A controller named after the kind (`extension`, `containerruntime`, `operatingsystemconfig`)
    /// calling `actuator` for objects of `type_`.
    pub fn new(type_: &str, actuator: impl Actuator<K>) -> Self {
        Self {
            name: K::CONTROLLER_NAME.into(),
            flag_prefix: None,
            actuator: Arc::new(actuator),
            types: vec![type_.into()],
            finalizer_suffix: type_.into(),
            resync: Duration::ZERO,
            timeout: RECONCILE_TIMEOUT,
            watch: None,
        }
    }

    /// Overrides the controller name (metric label and flag prefix).
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.into();
        self
    }

    /// Prefix of the per-controller concurrency flag, when it differs from the name (upstream
    /// extensions use e.g. `--lifecycle-max-concurrent-reconciles`).
    pub fn flag_prefix(mut self, prefix: &str) -> Self {
        self.flag_prefix = Some(prefix.into());
        self
    }

    /// Serves several types (OperatingSystemConfig).
    pub fn types<I: IntoIterator<Item = S>, S: Into<String>>(mut self, types: I) -> Self {
        self.types = types.into_iter().map(Into::into).collect();
        self
    }

    /// Finalizer suffix for Extensions (`extensions.gardener.cloud/<suffix>`); defaults to the type.
    pub fn finalizer_suffix(mut self, suffix: &str) -> Self {
        self.finalizer_suffix = suffix.into();
        self
    }

    /// Extension only: reconcile again this long after every success.
    pub fn resync(mut self, every: Duration) -> Self {
        self.resync = every;
        self
    }

    /// Deadline of one reconcile (default 3 minutes).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

#[async_trait]
impl<K: ExtensionKind> Runnable for Registration<K> {
    fn name(&self) -> &str {
        &self.name
    }

    fn flag_prefix(&self) -> &str {
        self.flag_prefix.as_deref().unwrap_or(&self.name)
    }

    fn serves(&self) -> Option<(&'static str, Vec<String>)> {
        Some((K::KIND, self.types.clone()))
    }

    fn register(&mut self, watches: &SharedWatches) {
        self.watch = watches.lead::<K>();
    }

    async fn run(self: Box<Self>, env: RunEnv, stop: watch::Receiver<bool>) {
        let metrics = env.metrics.controller(&self.name, env.concurrency);
        let config = ReconcilerConfig {
            name: self.name.clone(),
            finalizer: K::finalizer(&self.finalizer_suffix),
            resync: self.resync,
        };
        let reconciler = Reconciler::new(
            env.client.clone(),
            env.cache.clone(),
            self.actuator,
            config,
            Some(metrics.clone()),
        );
        let settings = ControllerSettings {
            name: self.name,
            types: self.types,
            classes: env.options.classes(),
            ignore_operation_annotation: env.options.ignore_operation_annotation,
            max_concurrent_reconciles: env.concurrency,
            timeout: self.timeout,
        };
        let (synced, synced_rx) = watch::channel(false);
        env.readiness.track(synced_rx);
        let watch = self.watch.unwrap_or_else(Leader::alone);
        controller::run(watch, reconciler, settings, metrics, synced, stop).await;
    }
}

/// Builds and runs an extension: its controllers plus heartbeat, endpoints and leader election.
///
/// ```no_run
/// # use extension_framework::{Actuator, Context, Error, Manager};
/// # use gardener_api::extensions::Extension;
/// # struct Hello;
/// # #[async_trait::async_trait]
/// # impl Actuator<Extension> for Hello {
/// #     async fn reconcile(&self, _: &Context, _: &Extension) -> Result<(), Error> { Ok(()) }
/// #     async fn delete(&self, _: &Context, _: &Extension) -> Result<(), Error> { Ok(()) }
/// #     async fn migrate(&self, _: &Context, _: &Extension) -> Result<(), Error> { Ok(()) }
/// # }
/// # async fn run() -> Result<(), extension_framework::RunError> {
/// Manager::new("gardener-extension-hello").extension("hello", Hello).run_from_args().await
/// # }
/// ```
pub struct Manager {
    name: String,
    controllers: Vec<Box<dyn Runnable>>,
    config: Option<crate::config::ConfigLoader>,
    lease: Option<String>,
    concurrency: BTreeMap<String, u16>,
    leader_timings: Timings,
    compatible_prefixes: Vec<String>,
    managed_resources_origin: Option<String>,
}

impl Manager {
    /// A manager for the extension `name` (used for the lease names and the heartbeat holder).
    pub fn new(name: &str) -> Self {
        Self {
            name: name.into(),
            controllers: Vec::new(),
            config: None,
            lease: None,
            concurrency: BTreeMap::new(),
            leader_timings: Timings::default(),
            compatible_prefixes: Vec::new(),
            managed_resources_origin: None,
        }
    }

    /// Caches the ManagedResources the extension creates for shoots with `origin`, as Go's
    /// cached client does: [`Context::managed_resources`](crate::Context::managed_resources) and
    /// the health checks then read them without a request. The watch (by the `origin` label)
    /// starts at the first such read.
    pub fn cache_managed_resources(mut self, origin: &str) -> Self {
        self.managed_resources_origin = Some(origin.into());
        self
    }

    /// Accepts (and ignores) `--<prefix>-max-concurrent-reconciles` for a controller the extension
    /// does not have, because charts pass it (upstream mwe's chart sets
    /// `--healthcheck-max-concurrent-reconciles` without a health-check controller).
    pub fn accept_flag_prefix(mut self, prefix: &str) -> Self {
        self.compatible_prefixes.push(prefix.into());
        self
    }

    /// The extension's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Adds any controller.
    pub fn with(mut self, controller: impl Runnable) -> Self {
        self.controllers.push(Box::new(controller));
        self
    }

    /// Loads `--config` into `file` at start-up; without this, `--config` is rejected.
    pub fn config_file<T>(mut self, file: crate::config::ConfigFile<T>) -> Self
    where
        T: crate::config::VersionedConfig + Default + Send + Sync + 'static,
    {
        self.config = Some(file.loader());
        self
    }

    /// Adds an Extension controller for `type_`.
    pub fn extension(self, type_: &str, actuator: impl Actuator<Extension>) -> Self {
        self.with(Registration::<Extension>::new(type_, actuator))
    }

    /// Adds a ContainerRuntime controller for `type_`.
    pub fn container_runtime(self, type_: &str, actuator: impl Actuator<ContainerRuntime>) -> Self {
        self.with(Registration::<ContainerRuntime>::new(type_, actuator))
    }

    /// Adds an OperatingSystemConfig controller for `types`.
    pub fn operating_system_config(
        self,
        types: &[&str],
        actuator: impl Actuator<OperatingSystemConfig>,
    ) -> Self {
        let first = types.first().copied().unwrap_or_default();
        self.with(
            Registration::<OperatingSystemConfig>::new(first, actuator)
                .types(types.iter().copied()),
        )
    }

    /// The default name of the leader-election Lease (`--leader-election-id` overrides it), for
    /// extensions whose charts grant RBAC on upstream's name (e.g. `runtime-gvisor-leader-election`).
    /// Without it, the Lease is `<extension name>-leader-election`.
    pub fn leader_election_id(mut self, lease: &str) -> Self {
        self.lease = Some(lease.into());
        self
    }

    /// Leader-election timings (tests shorten them).
    pub fn leader_timings(mut self, timings: Timings) -> Self {
        self.leader_timings = timings;
        self
    }

    /// Sets one controller's concurrency (what `--<name>-max-concurrent-reconciles` does).
    pub fn max_concurrent_reconciles(mut self, controller: &str, n: u16) -> Self {
        self.concurrency.insert(controller.into(), n);
        self
    }

    /// The kinds and types the extension controllers reconcile (e.g. `("Extension", ["mwe"])`).
    pub fn served(&self) -> Vec<(&'static str, Vec<String>)> {
        self.controllers.iter().filter_map(|c| c.serves()).collect()
    }

    /// Names of all controllers, including the heartbeat.
    pub fn controller_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .controllers
            .iter()
            .map(|c| c.name().to_string())
            .collect();
        names.push(HEARTBEAT_CONTROLLER.into());
        names
    }

    fn flag(controller: &str) -> String {
        format!("{controller}-max-concurrent-reconciles")
    }

    /// Adds the per-controller `--<name>-max-concurrent-reconciles` flags to a command.
    pub fn augment_command(&self, mut command: clap::Command) -> clap::Command {
        let mut seen = std::collections::BTreeSet::new();
        for (name, prefix) in self
            .controllers
            .iter()
            .map(|c| (c.name().to_string(), c.flag_prefix().to_string()))
        {
            // Controllers may share a flag (all health checks use `--healthcheck-…`).
            if !seen.insert(prefix.clone()) {
                continue;
            }
            let flag = Self::flag(&prefix);
            command = command.arg(
                clap::Arg::new(flag.clone())
                    .long(flag)
                    .value_parser(clap::value_parser!(u16))
                    .help(format!("Parallel reconciles of the {name} controller (overrides --max-concurrent-reconciles)")),
            );
        }
        for prefix in &self.compatible_prefixes {
            if !seen.insert(prefix.clone()) {
                continue;
            }
            let flag = Self::flag(prefix);
            command = command.arg(
                clap::Arg::new(flag.clone())
                    .long(flag)
                    .value_parser(clap::value_parser!(u16))
                    .help(
                        "Accepted for chart compatibility; this extension has no such controller",
                    ),
            );
        }
        command
    }

    /// Parses the process arguments into `C` (which flattens [`Options`]) and the per-controller flags.
    pub fn parse<C: clap::Parser>(mut self) -> (Self, C) {
        let command = self
            .augment_command(C::command())
            .name(self.name.clone())
            .version(VERSION);
        let matches = command.get_matches();
        let cli = match C::from_arg_matches(&matches) {
            Ok(cli) => cli,
            Err(e) => e.exit(),
        };
        for (name, prefix) in self
            .controllers
            .iter()
            .map(|c| (c.name().to_string(), c.flag_prefix().to_string()))
        {
            if let Some(n) = matches.get_one::<u16>(&Self::flag(&prefix)) {
                // controller-runtime turns 0 into its default of 1.
                self.concurrency.insert(name, (*n).max(1));
            }
        }
        (self, cli)
    }

    /// Parses the flags, initialises logging and runs until SIGTERM/SIGINT.
    pub async fn run_from_args(self) -> Result<(), RunError> {
        let (manager, cli) = self.parse::<Cli<NoFlags>>();
        manager.run_parsed(cli.options).await
    }

    async fn run_parsed(self, options: Options) -> Result<(), RunError> {
        let _ = crate::logging::init(&self.name, options.log_level, options.log_format);
        self.run(options).await
    }

    /// Builds the client from the flags and runs until SIGTERM/SIGINT.
    pub async fn run(self, options: Options) -> Result<(), RunError> {
        let metrics = Metrics::new();
        let mut config =
            client::config(options.kubeconfig.as_deref(), options.master.as_deref()).await?;
        // Audit logs (and the RBAC test) tell the extension's requests apart by this.
        if let Ok(agent) = http::HeaderValue::from_str(&format!(
            "gardener-extension-{}/{}",
            self.name.trim_start_matches("gardener-extension-"),
            env!("CARGO_PKG_VERSION")
        )) {
            config.headers.push((http::header::USER_AGENT, agent));
        }
        let server = config.cluster_url.to_string();
        let client = client::build(config, &metrics)?;
        // Flags and the config file are checked before the server: a bad config is reported as
        // such even when the server is also unreachable.
        let enabled = self.validate(&options)?;
        check_access(&client, server).await?;
        let running = self.start_with(options, enabled, client, metrics).await?;
        tokio::select! {
            _ = shutdown_signal() => {
                tracing::info!("Shutdown signal received, stopping");
                running.stop();
            }
            _ = running.stopped() => {}
        }
        running.wait().await
    }

    fn validate(&self, options: &Options) -> Result<BTreeSet<String>, RunError> {
        match (&self.config, options.config.as_deref()) {
            (Some(load), file) => load(file).map_err(|source| RunError::ConfigFile {
                file: file.map(|f| f.display().to_string()).unwrap_or_default(),
                source,
            })?,
            (None, Some(file)) => {
                return Err(RunError::Config(format!(
                    "--config {}: this extension takes no configuration file",
                    file.display()
                )));
            }
            (None, None) => {}
        }
        let known: BTreeSet<String> = self.controller_names().into_iter().collect();
        let (wanted, disabled) = (
            options.controller_list(),
            options.disabled_controller_list(),
        );
        for name in wanted.iter().chain(&disabled) {
            if !known.contains(name) {
                return Err(RunError::Config(format!(
                    "cannot enable unknown controller {name:?} (known: {known:?})"
                )));
            }
        }
        let enabled: BTreeSet<String> = known
            .iter()
            .filter(|n| wanted.is_empty() || wanted.contains(n))
            .filter(|n| !disabled.contains(n))
            .cloned()
            .collect();
        if options.leader_election
            && options
                .leader_election_namespace
                .as_deref()
                .unwrap_or_default()
                .is_empty()
        {
            return Err(RunError::Config("--leader-election needs --leader-election-namespace (or LEADER_ELECTION_NAMESPACE)".into()));
        }
        if enabled.contains(HEARTBEAT_CONTROLLER) && self.heartbeat_namespace(options).is_none() {
            return Err(RunError::Config(
                "the heartbeat needs --heartbeat-namespace (or a leader-election namespace)".into(),
            ));
        }
        Ok(enabled)
    }

    fn heartbeat_namespace(&self, options: &Options) -> Option<String> {
        options
            .heartbeat_namespace
            .clone()
            .or_else(|| options.leader_election_namespace.clone())
            .filter(|n| !n.is_empty())
    }

    /// Starts with an existing client (tests, the local seed) and returns at once.
    pub async fn start(
        self,
        options: Options,
        client: Client,
    ) -> Result<RunningExtension, RunError> {
        let enabled = self.validate(&options)?;
        self.start_with(options, enabled, client, Metrics::new())
            .await
    }

    /// Starts the `enabled` controllers (as [`Manager::validate`] returned them).
    async fn start_with(
        self,
        options: Options,
        enabled: BTreeSet<String>,
        client: Client,
        metrics: Metrics,
    ) -> Result<RunningExtension, RunError> {
        let (stop, stop_rx) = watch::channel(false);
        let readiness = Readiness::default();
        readiness.track_connectivity(metrics.connectivity().clone());
        let bind = |addr: BindAddress| match addr {
            BindAddress::Disabled => None,
            BindAddress::At(addr) => Some(addr),
        };
        let mut metrics_addr = bind(options.metrics_bind_address);
        if let Some(addr) = metrics_addr {
            let router = server::metrics_router(metrics.clone());
            metrics_addr = Some(
                server::serve(addr, router, stop_rx.clone())
                    .await
                    .map_err(|source| RunError::Bind { addr, source })?,
            );
        }
        let mut health_addr = bind(options.health_bind_address);
        if let Some(addr) = health_addr {
            let router = server::health_router(readiness.clone());
            health_addr = Some(
                server::serve(addr, router, stop_rx.clone())
                    .await
                    .map_err(|source| RunError::Bind { addr, source })?,
            );
        }
        let identity = format!(
            "{}_{:08x}",
            std::env::var("HOSTNAME").unwrap_or_else(|_| self.name.clone()),
            rand::random::<u32>()
        );
        let elector = options.leader_election.then(|| {
            let namespace = options
                .leader_election_namespace
                .clone()
                .unwrap_or_default();
            let lease = options
                .leader_election_id
                .clone()
                .or_else(|| self.lease.clone())
                .unwrap_or_else(|| format!("{}-leader-election", self.name));
            (
                LeaderElector::new(
                    client.clone(),
                    &namespace,
                    &lease,
                    &identity,
                    self.leader_timings,
                ),
                lease,
            )
        });
        let heartbeat = enabled.contains(HEARTBEAT_CONTROLLER).then(|| {
            (
                self.heartbeat_namespace(&options).unwrap_or_default(),
                Duration::from_secs(u64::from(options.heartbeat_renew_interval_seconds)),
            )
        });
        let mut controllers: Vec<Box<dyn Runnable>> = self
            .controllers
            .into_iter()
            .filter(|c| enabled.contains(c.name()))
            .collect();
        let watches = SharedWatches::default();
        for controller in &mut controllers {
            controller.register(&watches);
        }
        let mut cache = SeedCache::start(client.clone(), stop_rx.clone());
        if let Some(origin) = &self.managed_resources_origin {
            cache = cache.with_managed_resources(client.clone(), origin, stop_rx.clone());
        }
        readiness.track_cache(cache.clone());
        let env = RunEnv {
            client: client.clone(),
            cache,
            metrics: metrics.clone(),
            readiness: readiness.clone(),
            options: options.clone(),
            concurrency: 0,
            watches,
        };
        let concurrency = self.concurrency;
        let name = self.name;
        let (leading_tx, leading) = watch::channel(false);
        let task = tokio::spawn(async move {
            let mut stop_rx = stop_rx;
            if let Some((elector, lease)) = &elector {
                if !elector.acquire(&mut stop_rx).await {
                    return Ok(());
                }
                tracing::info!(lease = %lease, identity = %elector.identity(), "Acquired the leader-election lease");
                env.metrics.set_leader(lease, true);
            }
            let _ = leading_tx.send(true);
            let (controllers_stop, controllers_stop_rx) = watch::channel(false);
            let mut tasks = JoinSet::new();
            for controller in controllers {
                let mut env = env.clone();
                env.concurrency = usize::from(
                    concurrency
                        .get(controller.name())
                        .copied()
                        .unwrap_or(env.options.concurrency()),
                );
                tasks.spawn(controller.run(env, controllers_stop_rx.clone()));
            }
            if let Some((namespace, interval)) = heartbeat {
                tasks.spawn(heartbeat::run(
                    env.client.clone(),
                    namespace,
                    name.clone(),
                    interval,
                    controllers_stop_rx.clone(),
                ));
            }
            let lost = match &elector {
                Some((elector, _)) => !elector.hold(&mut stop_rx).await,
                None => {
                    let _ = stop_rx.wait_for(|s| *s).await;
                    false
                }
            };
            let _ = controllers_stop.send(true);
            if lost {
                // The lease may pass to a standby soon: no reconcile may run past this point
                // (controller-runtime exits the process here).
                tasks.abort_all();
            }
            let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
                while tasks.join_next().await.is_some() {}
            })
            .await;
            if drained.is_err() {
                tracing::error!("In-flight reconciles did not finish within {SHUTDOWN_GRACE:?}");
                tasks.abort_all();
            }
            let _ = leading_tx.send(false);
            if let Some((elector, lease)) = &elector {
                env.metrics.set_leader(lease, false);
                if lost {
                    tracing::error!(lease = %lease, "Leader election lost");
                    return Err(RunError::LeadershipLost);
                }
                elector.release().await;
            }
            Ok(())
        });
        Ok(RunningExtension {
            metrics_addr,
            health_addr,
            metrics,
            stop,
            leading,
            task,
        })
    }
}

/// A started extension.
pub struct RunningExtension {
    /// Bound metrics address.
    pub metrics_addr: Option<SocketAddr>,
    /// Bound health address.
    pub health_addr: Option<SocketAddr>,
    /// The metrics.
    pub metrics: Metrics,
    stop: watch::Sender<bool>,
    leading: watch::Receiver<bool>,
    task: tokio::task::JoinHandle<Result<(), RunError>>,
}

impl RunningExtension {
    /// Asks for a graceful stop.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }

    /// Whether this instance currently runs the controllers (holds the lease).
    pub fn is_leading(&self) -> bool {
        *self.leading.borrow()
    }

    /// Waits until this instance leads.
    pub async fn wait_until_leading(&self) {
        let mut leading = self.leading.clone();
        let _ = leading.wait_for(|l| *l).await;
    }

    /// Resolves when the extension stopped by itself (e.g. lost leadership).
    pub async fn stopped(&self) {
        let mut leading = self.leading.clone();
        let _ = leading.wait_for(|l| *l).await;
        let _ = leading.wait_for(|l| !*l).await;
    }

    /// Waits for the end and returns how it ended.
    pub async fn wait(self) -> Result<(), RunError> {
        self.task
            .await
            .map_err(|e| RunError::Internal(e.to_string()))?
    }

    /// Stops and waits.
    pub async fn shutdown(self) -> Result<(), RunError> {
        self.stop();
        self.wait().await
    }
}

/// Asks the server for its version once, so that wrong credentials or a wrong address stop the
/// start with one clear message instead of a process that retries every watch forever.
async fn check_access(client: &Client, server: String) -> Result<(), RunError> {
    match client.apiserver_version().await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 401 || status.code == 403 => {
            Err(RunError::Unauthorized {
                server,
                code: status.code,
                reason: status.reason.clone(),
            })
        }
        // Any other answer shows the server is there; the controllers report what follows.
        Err(kube::Error::Api(_)) => Ok(()),
        Err(source) => Err(RunError::Unreachable { server, source }),
    }
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// Gardener's flags plus an extension's own (`E`).
#[derive(clap::Parser)]
#[command(about = "A Gardener extension controller")]
struct Cli<E: clap::Args> {
    #[command(flatten)]
    extension: E,
    #[command(flatten)]
    options: Options,
}

/// No flags beyond Gardener's.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct NoFlags {}

/// Reads the extension's own flags before the manager exists (its actuators need them). Help,
/// unknown flags (the per-controller ones) and errors are left to the full parse that follows.
fn pre_parse<E: clap::Args>() -> Option<E> {
    use clap::CommandFactory;
    let matches = Cli::<E>::command()
        .disable_help_flag(true)
        .disable_version_flag(true)
        .ignore_errors(true)
        .try_get_matches()
        .ok()?;
    E::from_arg_matches(&matches).ok()
}

/// The whole `main` of an extension with flags of its own: `E`'s flags are parsed first and
/// handed to `build`, which returns the manager; then everything is parsed and run as
/// [`run_main`] does.
///
/// ```no_run
/// # use extension_framework::{Manager, run_main_with};
/// #[derive(clap::Args, Clone, Debug)]
/// struct GVisorFlags {
///     /// Repository of test installation images.
///     #[arg(long, default_value = "")]
///     gvisor_installation_test_repository: String,
/// }
/// fn main() -> std::process::ExitCode {
///     run_main_with(|flags: &GVisorFlags| {
///         let _repository = flags.gvisor_installation_test_repository.clone();
///         Manager::new("gardener-extension-runtime-gvisor")
///     })
/// }
/// ```
pub fn run_main_with<E: clap::Args>(build: impl FnOnce(&E) -> Manager) -> std::process::ExitCode {
    let Some(flags) = pre_parse::<E>() else {
        // The flags do not parse: let clap report it (exit code 2) with the full command.
        use clap::Parser;
        let _ = Cli::<E>::parse();
        return std::process::ExitCode::from(2);
    };
    let manager = build(&flags);
    let (manager, cli) = manager.parse::<Cli<E>>();
    block_on(cli.options.worker_threads, manager.run_parsed(cli.options))
}

/// Runs the extension on `worker_threads` threads (0: one per CPU) and turns the result into an
/// exit code. One thread is tokio's current-thread runtime: the controllers run on the main thread,
/// which a multi-thread runtime would leave waiting beside its worker (a second stack and a second
/// allocator arena, about 0.3 MiB of a 8 MiB idle process).
fn block_on(
    worker_threads: u16,
    run: impl std::future::Future<Output = Result<(), RunError>>,
) -> std::process::ExitCode {
    let mut builder = match worker_threads {
        1 => tokio::runtime::Builder::new_current_thread(),
        threads => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            if threads > 1 {
                builder.worker_threads(threads.into());
            }
            builder
        }
    };
    match builder.enable_all().build() {
        Ok(runtime) => exit_code(runtime.block_on(run)),
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn exit_code(result: Result<(), RunError>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %crate::watch::error_chain(&e), "Extension stopped with an error");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The whole `main` of an extension binary: parse flags, run until SIGTERM/SIGINT, and turn the
/// result into an exit code (errors are logged, not printed with a backtrace).
pub fn run_main(manager: Manager) -> std::process::ExitCode {
    let (manager, cli) = manager.parse::<Cli<NoFlags>>();
    block_on(cli.options.worker_threads, manager.run_parsed(cli.options))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The runtime an extension runs on has the threads `--worker-threads` asks for: one is the
    /// main thread alone, more are workers beside it.
    #[test]
    fn the_runtime_has_the_worker_threads_asked_for() {
        use tokio::runtime::{Handle, RuntimeFlavor};
        for threads in [1, 3] {
            let code = block_on(threads, async move {
                let runtime = Handle::current();
                let (flavor, workers) = (runtime.runtime_flavor(), runtime.metrics().num_workers());
                if threads == 1 {
                    assert_eq!(flavor, RuntimeFlavor::CurrentThread);
                } else {
                    assert_eq!(flavor, RuntimeFlavor::MultiThread);
                    assert_eq!(workers, usize::from(threads));
                }
                Ok(())
            });
            assert_eq!(code, std::process::ExitCode::SUCCESS);
        }
    }
}
