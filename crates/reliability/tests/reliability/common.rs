//! What the scenarios share: the seed, the object builders, waiting on watches, retries.

use extension_framework::config::ConfigFile;
use extension_framework::options::{BindAddress, Options};
use extension_framework::{Manager, Registration, RunningExtension};
use futures::StreamExt;
use gardener_api::constants::OPERATION_ANNOTATION;
use gardener_api::extensions::{
    DefaultSpec, Extension, ExtensionObject, ExtensionSpec, LastOperationState,
    OperatingSystemConfig, OperatingSystemConfigPurpose, OperatingSystemConfigSpec,
};
use kube::api::{Api, PostParams};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use kube::{Client, ResourceExt};
use reliability::{Guard, Guarded, NS, ROUND_ANNOTATION};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use test_apiserver::{RunningServer, TestApiServer};

/// Scenarios that load the machine or measure time take turns: on CI's two cores, the load
/// scenario beside the leader-election one would measure the scheduler, not the extension.
pub async fn exclusive() -> tokio::sync::MutexGuard<'static, ()> {
    static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    TURN.lock().await
}

/// The multi-call executable linked as extension `name`.
pub fn binary(name: &str) -> PathBuf {
    reliability::binary(std::path::Path::new(env!("CARGO_BIN_EXE_extensions")), name)
}

/// A port nothing listens on now (bound and released), for an endpoint flag.
pub fn free_port() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address")
}

/// A binary started by [`start_extension`], with the addresses of its endpoints.
pub struct Started {
    pub process: reliability::Process,
    pub metrics: std::net::SocketAddr,
    pub health: std::net::SocketAddr,
}

/// Extension `name`'s flags as its chart passes them, without leader election: heartbeat in
/// `garden`, endpoints on `metrics` and `health`; shoot-flux reads the bundled Flux manifests (no
/// downloads here) and has no garden.
pub fn extension_args(
    name: &str,
    metrics: std::net::SocketAddr,
    health: std::net::SocketAddr,
) -> Vec<String> {
    let mut args = vec![
        "--leader-election=false".to_string(),
        "--heartbeat-namespace=garden".into(),
        format!("--metrics-bind-address={metrics}"),
        format!("--health-bind-address={health}"),
    ];
    if name.ends_with("shoot-flux") {
        args.push(format!(
            "--flux-manifests-dir={}",
            shoot_flux::BUNDLED_MANIFESTS
        ));
        args.push("--disable-garden-workflow".into());
    }
    args
}

/// Starts extension `name` with [`extension_args`] on free ports, then `extra` flags.
pub fn start_extension(fixture: &Fixture, name: &str, extra: &[&str]) -> Started {
    let (metrics, health) = (free_port(), free_port());
    let mut args = extension_args(name, metrics, health);
    args.extend(extra.iter().map(|a| a.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Started {
        process: reliability::Process::start(&binary(name), &fixture.server, &args),
        metrics,
        health,
    }
}

/// Retries a request until it succeeds: the scenarios' own writes go through the same faults.
pub async fn retry<T, F, Fut>(mut request: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, kube::Error>>,
{
    let mut backoff = Duration::from_millis(20);
    let mut last = String::new();
    for _ in 0..100 {
        match tokio::time::timeout(Duration::from_secs(10), request()).await {
            Ok(Ok(value)) => return value,
            Ok(Err(e)) => last = e.to_string(),
            Err(_) => last = "no answer within 10 s".into(),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_millis(500));
    }
    panic!("a request kept failing: {last}");
}

/// A seed and a client of it.
pub struct Fixture {
    pub server: Arc<RunningServer>,
    pub client: Client,
}

impl Fixture {
    pub async fn new() -> Self {
        Self::with(TestApiServer::builder()).await
    }

    pub async fn with(builder: test_apiserver::Builder) -> Self {
        let server = Arc::new(reliability::seed(builder).await);
        let client = server.client().await.expect("a client");
        Self { server, client }
    }

    /// mwe's and os-coreos's actuators behind one guard, in one process, as their binaries wire
    /// them (concurrency 5, no leader election).
    pub async fn start_guarded(&self, guard: &Guard) -> RunningExtension {
        let config = ConfigFile::<os_coreos::config::ExtensionConfig>::new();
        let manager = Manager::new("reliability")
            .config_file(config.clone())
            .with(
                Registration::<Extension>::new(
                    mwe::TYPE,
                    Guarded::new(mwe::MweActuator, guard.clone()),
                )
                .resync(mwe::RESYNC),
            )
            .operating_system_config(
                os_coreos::TYPES,
                Guarded::new(
                    os_coreos::actuator::CoreOsActuator::new(config),
                    guard.clone(),
                ),
            );
        let mut options = Options::defaults();
        options.leader_election = false;
        options.metrics_bind_address = BindAddress::At("127.0.0.1:0".parse().unwrap());
        options.health_bind_address = BindAddress::At("127.0.0.1:0".parse().unwrap());
        options.heartbeat_namespace = Some("garden".into());
        manager
            .start(options, self.client.clone())
            .await
            .expect("the extension starts")
    }
}

/// An `mwe` Extension asking for reconcile round 1.
pub fn extension(name: &str) -> Extension {
    let mut ext = Extension::new(
        name,
        ExtensionSpec {
            default_spec: DefaultSpec::of_type(mwe::TYPE),
        },
    );
    ext.metadata.annotations = Some(requested("1"));
    ext
}

/// A `coreos` provision OSC with one unit and one file, asking for reconcile round 1.
pub fn osc(name: &str) -> OperatingSystemConfig {
    let mut osc: OperatingSystemConfig = serde_json::from_value(serde_json::json!({
        "apiVersion": "extensions.gardener.cloud/v1alpha1", "kind": "OperatingSystemConfig",
        "metadata": {"name": name},
        "spec": {"type": "coreos", "purpose": "provision",
                 "units": [{"name": "hello.service", "content": "[Service]\nExecStart=/bin/true\n"}],
                 "files": [{"path": "/etc/hello", "content": {"inline": {"data": "hi"}}}]}
    }))
    .expect("a valid OSC");
    debug_assert!(matches!(
        osc.spec,
        OperatingSystemConfigSpec {
            purpose: OperatingSystemConfigPurpose::Provision,
            ..
        }
    ));
    osc.metadata.annotations = Some(requested("1"));
    osc
}

fn requested(round: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (OPERATION_ANNOTATION.to_string(), "reconcile".to_string()),
        (ROUND_ANNOTATION.to_string(), round.to_string()),
    ])
}

/// The load scenario's objects.
pub struct Kinds {
    pub extensions: Api<Extension>,
    pub oscs: Api<OperatingSystemConfig>,
    pub extension_names: Vec<String>,
    pub osc_names: Vec<String>,
}

impl Kinds {
    /// `n` Extensions and `n` OSCs in the shoot namespace.
    pub async fn create(fixture: &Fixture, n: usize) -> Self {
        let kinds = Self {
            extensions: Api::namespaced(fixture.client.clone(), NS),
            oscs: Api::namespaced(fixture.client.clone(), NS),
            extension_names: (0..n).map(|i| format!("ext-{i}")).collect(),
            osc_names: (0..n).map(|i| format!("osc-{i}")).collect(),
        };
        let pp = PostParams::default();
        for name in &kinds.extension_names {
            let object = extension(name);
            retry(|| kinds.extensions.create(&pp, &object)).await;
        }
        for name in &kinds.osc_names {
            let object = osc(name);
            retry(|| kinds.oscs.create(&pp, &object)).await;
        }
        kinds
    }

    /// Waits (on watches) until every object reports round `round` done: the guard saw a
    /// successful call for it, the status says `Succeeded` and the annotation is gone.
    pub async fn converged(&self, guard: &Guard, round: &str, within: Duration) {
        let done = |guard: &Guard| {
            let records = guard.records();
            move |o: &dyn ObjectView| {
                let key = format!("{NS}/{}", o.name());
                o.round() == Some(round)
                    && !o.annotated()
                    && o.succeeded()
                    && records
                        .get(&key)
                        .is_some_and(|r| r.rounds.get(round).copied().unwrap_or(0) > 0)
            }
        };
        let result = tokio::time::timeout(within, async {
            let (ext_store, mut ext_events) = store_of(self.extensions.clone());
            let (osc_store, mut osc_events) = store_of(self.oscs.clone());
            loop {
                let check = done(guard);
                let pending = ext_store
                    .state()
                    .iter()
                    .filter(|o| !check(o.as_ref()))
                    .count()
                    + osc_store
                        .state()
                        .iter()
                        .filter(|o| !check(o.as_ref()))
                        .count();
                let complete = ext_store.state().len() == self.extension_names.len()
                    && osc_store.state().len() == self.osc_names.len();
                if complete && pending == 0 {
                    return;
                }
                tokio::select! {
                    _ = ext_events.next() => {}
                    _ = osc_events.next() => {}
                }
            }
        })
        .await;
        if result.is_err() {
            let check = done(guard);
            let lp = kube::api::ListParams::default();
            let mut pending: Vec<String> = Vec::new();
            for e in retry(|| self.extensions.list(&lp)).await.items {
                if !check(&e) {
                    pending.push(format!("{:?} {:?}", e.metadata, e.status));
                }
            }
            for o in retry(|| self.oscs.list(&lp)).await.items {
                if !check(&o) {
                    pending.push(format!(
                        "{:?} {:?}",
                        o.metadata,
                        o.status.map(|s| s.default_status)
                    ));
                }
            }
            panic!(
                "round {round} did not converge within {within:?}; pending:\n{}",
                pending.join("\n")
            );
        }
    }
}

type Events = futures::stream::BoxStream<'static, ()>;

/// A store of every object of `api`, kept by a watcher that survives dropped watches and 410s;
/// the stream yields once per event.
fn store_of<K>(api: Api<K>) -> (reflector::Store<K>, Events)
where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let (reader, writer) = reflector::store();
    let events = watcher(api, watcher::Config::default())
        .default_backoff()
        .reflect(writer)
        .map(|_| ())
        .boxed();
    (reader, events)
}

/// What the convergence check reads of an object of either kind.
pub trait ObjectView {
    fn name(&self) -> String;
    fn round(&self) -> Option<&str>;
    fn annotated(&self) -> bool;
    fn succeeded(&self) -> bool;
}

impl<K: ExtensionObject + kube::Resource> ObjectView for K {
    fn name(&self) -> String {
        self.name_any()
    }

    fn round(&self) -> Option<&str> {
        self.annotations().get(ROUND_ANNOTATION).map(String::as_str)
    }

    fn annotated(&self) -> bool {
        self.annotations().contains_key(OPERATION_ANNOTATION)
    }

    fn succeeded(&self) -> bool {
        self.default_status()
            .and_then(|s| s.last_operation.as_ref())
            .is_some_and(|op| op.state == LastOperationState::Succeeded)
    }
}

/// An extension object the scenarios can watch.
pub trait Watched:
    ExtensionObject
    + kube::Resource
    + Clone
    + serde::de::DeserializeOwned
    + std::fmt::Debug
    + Send
    + 'static
{
}

impl<K> Watched for K where
    K: ExtensionObject
        + kube::Resource
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + 'static
{
}

/// Waits (on a watch) until the named object satisfies `done`, and returns it.
///
/// # Panics
/// After `within`, with the object's current state.
pub async fn wait_for<K: Watched>(
    api: &Api<K>,
    name: &str,
    within: Duration,
    done: impl Fn(&K) -> bool + Send + 'static,
) -> K {
    let watched = kube::runtime::wait::await_condition(api.clone(), name, move |o: Option<&K>| {
        o.is_some_and(&done)
    });
    match tokio::time::timeout(within, watched).await {
        Ok(result) => result
            .expect("watching the object")
            .expect("the object exists"),
        Err(_) => {
            let now = api.get(name).await.ok();
            panic!("{name} did not get there within {within:?}: {now:?}");
        }
    }
}

/// Waits (on a watch) until the named object reports `Succeeded` and no operation is requested.
pub async fn wait_succeeded<K: Watched>(api: &Api<K>, name: &str, within: Duration) {
    wait_for(api, name, within, |o| o.succeeded() && !o.annotated()).await;
}

/// One HTTP GET; `None` when nothing listens.
pub async fn http_get(addr: std::net::SocketAddr, path: &str) -> Option<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await.ok()?;
    let code = response.get(9..12)?.parse().ok()?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Some((code, body))
}
