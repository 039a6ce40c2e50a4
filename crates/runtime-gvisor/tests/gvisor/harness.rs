//! A seed with the Gardener CRDs, a shoot namespace and its Cluster, and the extension running.

use extension_framework::RunningExtension;
use extension_framework::image_vector::ImageVector;
use extension_framework::options::Options;
use gardener_api::extensions::{ContainerRuntime, LastOperationState};
use gardener_api::resources::ManagedResource;
use k8s_openapi::api::core::v1::Secret;
use kube::Client;
use kube::api::{Api, PostParams};
use kube::runtime::wait::await_condition;
use runtime_gvisor::Flags;
use serde_json::json;
use std::future::Future;
use std::time::Duration;
use test_apiserver::{RunningServer, TestApiServer};

pub const NS: &str = "shoot--foo--bar";

pub async fn within<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .expect("timed out")
}

pub struct Seed {
    pub server: RunningServer,
    pub client: Client,
}

/// The in-process extension's user agent, as the binary sends it.
const AGENT: &str = "gardener-extension-runtime-gvisor/";

impl Drop for Seed {
    /// Every test proves least privilege: the chart grants each request the extension made.
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.assert_rbac();
        }
    }
}

impl Seed {
    pub async fn new() -> Self {
        let server = TestApiServer::builder().start().await.unwrap();
        for crd in gardener_api::crds::all() {
            server
                .apply_yaml(&serde_json::to_string(&crd.crd).unwrap(), "crd")
                .unwrap();
        }
        let cluster = json!({"apiVersion": "extensions.gardener.cloud/v1alpha1", "kind": "Cluster", "metadata": {"name": NS},
            "spec": {"cloudProfile": {"metadata": {"name": "local"}}, "seed": {"metadata": {"name": "local"}},
                     "shoot": {"metadata": {"name": "bar", "namespace": "garden-foo"}, "spec": {"kubernetes": {"version": "1.33.0"}},
                               "status": {"lastOperation": {"description": "", "lastUpdateTime": "2026-11-23T10:00:00Z", "progress": 100, "state": "Succeeded", "type": "Reconcile"}}}}});
        server
            .apply_yaml(&format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {NS}\n  labels:\n    gardener.cloud/role: shoot\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: garden\n---\n{cluster}\n"), "seed")
            .unwrap();
        let client = server.client().await.unwrap();
        Self { server, client }
    }

    /// Starts the extension with the embedded image vector and the given test repository.
    pub async fn start(&self, test_repository: &str) -> RunningExtension {
        let options = Options::embedded("garden");
        let flags = Flags {
            gvisor_installation_test_repository: test_repository.into(),
        };
        let client = self
            .server
            .client_as(&format!("{AGENT}test"))
            .await
            .unwrap();
        runtime_gvisor::manager_with(ImageVector::parse(runtime_gvisor::IMAGES).unwrap(), &flags)
            .start(options, client)
            .await
            .unwrap()
    }

    /// The chart's ClusterRole grants every request the extension made so far (call before
    /// clearing the request log).
    pub fn assert_rbac(&self) {
        let ours = self.server.rbac_requests(AGENT);
        extension_framework::dev::assert_rbac("gardener-extension-runtime-gvisor", &ours);
    }

    pub fn runtimes(&self) -> Api<ContainerRuntime> {
        Api::namespaced(self.client.clone(), NS)
    }

    pub fn managed_resources(&self) -> Api<ManagedResource> {
        Api::namespaced(self.client.clone(), NS)
    }

    pub fn secrets(&self) -> Api<Secret> {
        Api::namespaced(self.client.clone(), NS)
    }

    /// Creates a gvisor ContainerRuntime for `pool` (selector `worker.gardener.cloud/pool: <selector>`).
    pub async fn create(
        &self,
        name: &str,
        pool: &str,
        selector: &str,
        provider_config: serde_json::Value,
    ) {
        let cr: ContainerRuntime = serde_json::from_value(json!({
            "apiVersion": "extensions.gardener.cloud/v1alpha1", "kind": "ContainerRuntime",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"type": "gvisor", "binaryPath": "/var/bin/containerruntimes",
                     "workerPool": {"name": pool, "selector": {"matchLabels": {"worker.gardener.cloud/pool": selector}}},
                     "providerConfig": provider_config}
        }))
        .unwrap();
        self.runtimes()
            .create(&PostParams::default(), &cr)
            .await
            .unwrap();
    }

    pub async fn wait(
        &self,
        name: &str,
        condition: impl Fn(&ContainerRuntime) -> bool,
    ) -> ContainerRuntime {
        within(await_condition(
            self.runtimes(),
            name,
            move |o: Option<&ContainerRuntime>| o.is_some_and(&condition),
        ))
        .await
        .unwrap()
        .unwrap()
    }

    pub async fn wait_state(&self, name: &str, state: LastOperationState) -> ContainerRuntime {
        self.wait(name, move |cr| {
            cr.status
                .as_ref()
                .and_then(|s| s.default_status.last_operation.as_ref())
                .is_some_and(|op| op.state == state)
        })
        .await
    }

    pub async fn wait_gone(&self, name: &str) {
        within(await_condition(
            self.runtimes(),
            name,
            |o: Option<&ContainerRuntime>| o.is_none(),
        ))
        .await
        .unwrap();
    }

    /// The YAML documents in the one Secret of a ManagedResource.
    pub async fn payload(&self, mr: &str) -> Vec<serde_json::Value> {
        let mr = self.managed_resources().get(mr).await.unwrap();
        let refs = mr.spec.secret_refs.unwrap();
        assert_eq!(refs.len(), 1);
        let secret = self.secrets().get(&refs[0].name).await.unwrap();
        let data = secret
            .data
            .unwrap()
            .into_iter()
            .map(|(k, v)| (k, v.0))
            .collect();
        extension_framework::registry::decode(&data).unwrap()
    }
}
