//! A seed on the test API server, a scriptable actuator and helpers to wait for outcomes.

use async_trait::async_trait;
use extension_framework::options::{BindAddress, Options};
use extension_framework::osc::OscOutput;
use extension_framework::{Actuator, Context, Error, Manager, Registration, RunningExtension};
use gardener_api::constants::OPERATION_ANNOTATION;
use gardener_api::extensions::{
    ContainerRuntime, ContainerRuntimeSpec, DefaultSpec, Extension, ExtensionSpec,
    OperatingSystemConfig, OperatingSystemConfigPurpose, OperatingSystemConfigSpec,
};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::wait::await_condition;
use kube::{Client, ResourceExt};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use test_apiserver::{RunningServer, TestApiServer};
use tokio::sync::watch;

/// The shoot namespace every test uses.
pub const NS: &str = "shoot--foo--bar";
/// The extension type of the test controllers.
pub const TYPE: &str = "t";

/// Bounds a wait so a broken contract fails instead of hanging.
pub async fn within<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .expect("timed out")
}

/// Polls a cheap condition (metrics, call logs) until it holds.
pub async fn until(mut condition: impl FnMut() -> bool) {
    within(async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
}

/// What the fake seed contains: CRDs, a shoot namespace and its Cluster.
pub struct Seed {
    pub server: RunningServer,
    pub client: Client,
    /// A Namespace and Cluster cache of the seed, for code under test that reads one directly.
    pub cache: extension_framework::cache::SeedCache,
    _cache_stop: watch::Sender<bool>,
}

pub fn shoot(state: &str, annotations: Value) -> Value {
    json!({
        "apiVersion": "core.gardener.cloud/v1beta1", "kind": "Shoot",
        "metadata": {"name": "bar", "namespace": "garden-foo", "annotations": annotations},
        "spec": {"kubernetes": {"version": "1.33.2"}},
        "status": {"technicalID": NS, "lastOperation": {"description": "", "lastUpdateTime": "2026-11-23T10:00:00Z", "progress": 100, "state": state, "type": "Reconcile"}}
    })
}

impl Seed {
    pub async fn new() -> Self {
        let server = TestApiServer::builder().start().await.expect("server");
        for generated in gardener_api::crds::all() {
            server
                .apply_yaml(&serde_json::to_string(&generated.crd).unwrap(), "crd")
                .expect("CRD applies");
        }
        server
            .apply_yaml(
                &format!(
                    "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {NS}\n  labels:\n    gardener.cloud/role: shoot\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: garden\n"
                ),
                "namespaces",
            )
            .unwrap();
        let client = server.client().await.expect("client");
        let (cache_stop, stop) = watch::channel(false);
        let cache = extension_framework::cache::SeedCache::start(client.clone(), stop);
        let seed = Self {
            server,
            client,
            cache,
            _cache_stop: cache_stop,
        };
        seed.set_cluster(shoot("Succeeded", json!({}))).await;
        seed
    }

    /// Creates or replaces the Cluster of the shoot namespace.
    pub async fn set_cluster(&self, shoot: Value) {
        let cluster = json!({
            "apiVersion": "extensions.gardener.cloud/v1alpha1", "kind": "Cluster",
            "metadata": {"name": NS},
            "spec": {"cloudProfile": {"apiVersion": "core.gardener.cloud/v1beta1", "kind": "CloudProfile", "metadata": {"name": "local"}},
                     "seed": {"apiVersion": "core.gardener.cloud/v1beta1", "kind": "Seed", "metadata": {"name": "local"}},
                     "shoot": shoot}
        });
        self.server
            .apply_yaml(&cluster.to_string(), "cluster")
            .unwrap();
    }

    pub fn extensions(&self, namespace: &str) -> Api<Extension> {
        Api::namespaced(self.client.clone(), namespace)
    }

    pub fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
    {
        Api::namespaced(self.client.clone(), NS)
    }

    /// Options for an in-process extension: no leader election, endpoints on free ports.
    pub fn options(&self) -> Options {
        let mut o = Options::defaults();
        o.leader_election = false;
        o.metrics_bind_address = BindAddress::At("127.0.0.1:0".parse().unwrap());
        o.health_bind_address = BindAddress::At("127.0.0.1:0".parse().unwrap());
        o.heartbeat_namespace = Some("garden".into());
        o
    }

    pub async fn start(&self, manager: Manager) -> RunningExtension {
        self.start_with(manager, self.options()).await
    }

    pub async fn start_with(&self, manager: Manager, options: Options) -> RunningExtension {
        manager
            .start(options, self.client.clone())
            .await
            .expect("extension starts")
    }

    /// Waits until the named object satisfies `condition`.
    pub async fn wait<K>(&self, namespace: &str, name: &str, condition: impl Fn(&K) -> bool) -> K
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug
            + Send
            + 'static,
    {
        let api: Api<K> = Api::namespaced(self.client.clone(), namespace);
        within(await_condition(api, name, move |o: Option<&K>| {
            o.is_some_and(&condition)
        }))
        .await
        .expect("watch works")
        .expect("object exists")
    }
}

pub fn extension(name: &str, annotations: &[(&str, &str)]) -> Extension {
    let mut ext = Extension::new(
        name,
        ExtensionSpec {
            default_spec: DefaultSpec::of_type(TYPE),
        },
    );
    if !annotations.is_empty() {
        ext.metadata.annotations = Some(
            annotations
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
    }
    ext
}

pub fn container_runtime(name: &str) -> ContainerRuntime {
    let spec = ContainerRuntimeSpec {
        binary_path: "/var/bin/containerruntimes".into(),
        worker_pool: gardener_api::extensions::ContainerRuntimeWorkerPool {
            name: "worker".into(),
            selector: Default::default(),
        },
        default_spec: DefaultSpec::of_type(TYPE),
    };
    ContainerRuntime::new(name, spec)
}

pub fn osc(name: &str, type_: &str) -> OperatingSystemConfig {
    OperatingSystemConfig::new(
        name,
        OperatingSystemConfigSpec {
            purpose: OperatingSystemConfigPurpose::Provision,
            default_spec: DefaultSpec::of_type(type_),
            ..Default::default()
        },
    )
}

pub async fn annotate<K>(api: &Api<K>, name: &str, value: Option<&str>)
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let patch = json!({"metadata": {"annotations": {OPERATION_ANNOTATION: value, "gardener.cloud/timestamp": "2026-11-23T10:00:00.123456789Z"}}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
}

/// Changes the Extension's spec (a new generation) and nothing else.
pub async fn change_spec(api: &Api<Extension>, name: &str) {
    let patch = json!({"spec": {"providerConfig": {"x": 1}}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
}

pub async fn create<K>(api: &Api<K>, object: &K) -> K
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    api.create(&PostParams::default(), object)
        .await
        .expect("create")
}

/// How the probe answers a call.
#[derive(Clone)]
pub enum Step {
    Fail(String),
    FailWith(Arc<dyn Fn() -> Error + Send + Sync>),
    Panic,
    Sleep(Duration),
}

/// One actuator call as the probe saw it.
#[derive(Clone, Debug)]
pub struct Call {
    pub method: &'static str,
    pub name: String,
    /// The operation annotation on the server when the call started.
    pub annotation_on_server: Option<String>,
    pub had_cluster: bool,
    pub state: Option<Value>,
}

#[derive(Default)]
struct Inner {
    calls: Mutex<Vec<Call>>,
    script: Mutex<HashMap<&'static str, VecDeque<Step>>>,
    osc_output: Mutex<Option<OscOutput>>,
    changed: Mutex<Option<watch::Sender<usize>>>,
}

/// A scriptable actuator for every kind that records its calls.
#[derive(Clone, Default)]
pub struct Probe(Arc<Inner>);

impl Probe {
    pub fn new() -> Self {
        let probe = Self::default();
        *probe.0.changed.lock().unwrap() = Some(watch::channel(0).0);
        probe
    }

    /// The next call of `method` behaves like `step` (queued in order).
    pub fn then(&self, method: &'static str, step: Step) {
        self.0
            .script
            .lock()
            .unwrap()
            .entry(method)
            .or_default()
            .push_back(step);
    }

    pub fn set_osc_output(&self, output: OscOutput) {
        *self.0.osc_output.lock().unwrap() = Some(output);
    }

    pub fn calls(&self) -> Vec<Call> {
        self.0.calls.lock().unwrap().clone()
    }

    pub fn methods(&self) -> Vec<&'static str> {
        self.calls().into_iter().map(|c| c.method).collect()
    }

    /// Waits until at least `n` calls happened.
    pub async fn wait_calls(&self, n: usize) -> Vec<Call> {
        let mut rx = self.0.changed.lock().unwrap().as_ref().unwrap().subscribe();
        within(rx.wait_for(|c| *c >= n)).await.unwrap();
        self.calls()
    }

    async fn record<K>(&self, method: &'static str, ctx: &Context, object: &K) -> Result<(), Error>
    where
        K: extension_framework::ExtensionKind,
    {
        let api: Api<K> =
            Api::namespaced(ctx.client.clone(), &object.namespace().unwrap_or_default());
        let on_server = api
            .get_opt(&object.name_any())
            .await?
            .and_then(|o| o.annotations().get(OPERATION_ANNOTATION).cloned());
        let call = Call {
            method,
            name: object.name_any(),
            annotation_on_server: on_server,
            had_cluster: ctx.cluster.is_some(),
            state: object.default_status().and_then(|s| s.state.clone()),
        };
        let step = self
            .0
            .script
            .lock()
            .unwrap()
            .get_mut(method)
            .and_then(VecDeque::pop_front);
        let count = {
            let mut calls = self.0.calls.lock().unwrap();
            calls.push(call);
            calls.len()
        };
        let result = match step {
            None => Ok(()),
            Some(Step::Fail(msg)) => Err(Error::msg(msg)),
            Some(Step::FailWith(factory)) => Err(factory()),
            Some(Step::Panic) => panic!("actuator exploded"),
            Some(Step::Sleep(d)) => {
                tokio::time::sleep(d).await;
                Ok(())
            }
        };
        if let Some(tx) = self.0.changed.lock().unwrap().as_ref() {
            tx.send_replace(count);
        }
        result
    }
}

macro_rules! probe_actuator {
    ($kind:ty, $output:expr) => {
        #[async_trait]
        impl Actuator<$kind> for Probe {
            async fn reconcile(
                &self,
                ctx: &Context,
                o: &$kind,
            ) -> Result<<$kind as extension_framework::ExtensionKind>::Output, Error> {
                self.record("reconcile", ctx, o).await?;
                Ok($output(self))
            }
            async fn delete(&self, ctx: &Context, o: &$kind) -> Result<(), Error> {
                self.record("delete", ctx, o).await
            }
            async fn force_delete(&self, ctx: &Context, o: &$kind) -> Result<(), Error> {
                self.record("force_delete", ctx, o).await
            }
            async fn restore(
                &self,
                ctx: &Context,
                o: &$kind,
            ) -> Result<<$kind as extension_framework::ExtensionKind>::Output, Error> {
                self.record("restore", ctx, o).await?;
                Ok($output(self))
            }
            async fn migrate(&self, ctx: &Context, o: &$kind) -> Result<(), Error> {
                self.record("migrate", ctx, o).await
            }
        }
    };
}

fn unit(_: &Probe) {}
fn osc_output(p: &Probe) -> OscOutput {
    p.0.osc_output.lock().unwrap().clone().unwrap_or_default()
}

probe_actuator!(Extension, unit);
probe_actuator!(ContainerRuntime, unit);
probe_actuator!(OperatingSystemConfig, osc_output);

/// A manager with one Extension controller of type `t` (resync `resync`) driven by `probe`.
pub fn extension_manager(probe: &Probe, resync: Duration) -> Manager {
    Manager::new("test-extension")
        .with(Registration::<Extension>::new(TYPE, probe.clone()).resync(resync))
}

pub fn label_map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Reads a counter from the extension's metrics text.
pub fn metric(running: &RunningExtension, name: &str, labels: &str) -> f64 {
    let text = running.metrics.render();
    let prefix = format!("{name}{{{labels}}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or(0.0)
}

/// Every version of one object seen by a watch started before the test acts, so transient states
/// (an Error that a retry overwrites within milliseconds) cannot be missed.
pub struct History<K> {
    seen: Arc<Mutex<Vec<K>>>,
    task: tokio::task::JoinHandle<()>,
}

impl<K: Clone> History<K> {
    /// Waits until some version satisfied `condition` and returns it.
    pub async fn wait(&self, condition: impl Fn(&K) -> bool) -> K {
        let mut found = None;
        until(|| {
            found = self
                .seen
                .lock()
                .unwrap()
                .iter()
                .find(|o| condition(o))
                .cloned();
            found.is_some()
        })
        .await;
        found.unwrap()
    }
}

impl<K> Drop for History<K> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Seed {
    /// Starts recording every version of `namespace/name`.
    pub async fn history<K>(&self, namespace: &str, name: &str) -> History<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug
            + Send
            + Sync
            + 'static,
    {
        use futures::StreamExt;
        let api: Api<K> = Api::namespaced(self.client.clone(), namespace);
        let config =
            kube::runtime::watcher::Config::default().fields(&format!("metadata.name={name}"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let sink = seen.clone();
        let task = tokio::spawn(async move {
            let mut ready = Some(ready_tx);
            let mut stream = kube::runtime::watcher(api, config).boxed();
            while let Some(event) = stream.next().await {
                match event {
                    Ok(
                        kube::runtime::watcher::Event::Apply(o)
                        | kube::runtime::watcher::Event::InitApply(o),
                    ) => sink.lock().unwrap().push(o),
                    Ok(kube::runtime::watcher::Event::InitDone) => {
                        if let Some(tx) = ready.take() {
                            let _ = tx.send(());
                        }
                    }
                    _ => {}
                }
            }
        });
        within(ready_rx).await.unwrap();
        History { seen, task }
    }
}

/// `lastOperation` type and state of an Extension.
pub fn last_op(
    e: &Extension,
) -> Option<(
    gardener_api::extensions::LastOperationType,
    gardener_api::extensions::LastOperationState,
)> {
    e.status
        .as_ref()?
        .default_status
        .last_operation
        .as_ref()
        .map(|l| (l.type_.clone(), l.state.clone()))
}

/// The Extension reconciler of type `t` without the controller around it (for tests that must
/// bypass admission).
pub fn direct_reconciler(
    seed: &Seed,
    probe: &Probe,
) -> extension_framework::testing::Reconciler<Extension> {
    extension_framework::testing::Reconciler::new(
        seed.client.clone(),
        seed.cache.clone(),
        Arc::new(probe.clone()),
        extension_framework::testing::ReconcilerConfig {
            name: "extension".into(),
            finalizer: "extensions.gardener.cloud/t".into(),
            resync: Duration::ZERO,
        },
        None,
    )
}

/// A plain HTTP/1.1 GET; returns status code and body.
pub async fn http_get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let code = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (code, body)
}
