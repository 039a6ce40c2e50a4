//! The seed the benchmarks run against: the test API server with Gardener's CRDs, shoot
//! namespaces with their Clusters, and objects of each kind with the reconcile annotation.

use anyhow::Result;
use serde_json::{Value, json};
use test_apiserver::{RunningServer, TestApiServer};

/// A kind the benchmarks reconcile, with the extension that handles it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Kind {
    /// `Extension` of type `mwe` (gardener-extension-mwe).
    Extension,
    /// `OperatingSystemConfig` of type `coreos`, purpose `provision` (gardener-extension-os-coreos).
    OperatingSystemConfig,
    /// `ContainerRuntime` of type `gvisor` (gardener-extension-runtime-gvisor).
    ContainerRuntime,
}

impl Kind {
    /// Every kind, in report order.
    pub const ALL: [Kind; 3] = [
        Kind::Extension,
        Kind::OperatingSystemConfig,
        Kind::ContainerRuntime,
    ];

    /// The extension binary that reconciles it.
    pub fn binary(self) -> &'static str {
        match self {
            Kind::Extension => "gardener-extension-mwe",
            Kind::OperatingSystemConfig => "gardener-extension-os-coreos",
            Kind::ContainerRuntime => "gardener-extension-runtime-gvisor",
        }
    }

    /// The resource plural.
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Extension => "extensions",
            Kind::OperatingSystemConfig => "operatingsystemconfigs",
            Kind::ContainerRuntime => "containerruntimes",
        }
    }

    /// The kind's API resource, for dynamic clients.
    pub fn api_resource(self) -> kube::discovery::ApiResource {
        let kind = match self {
            Kind::Extension => "Extension",
            Kind::OperatingSystemConfig => "OperatingSystemConfig",
            Kind::ContainerRuntime => "ContainerRuntime",
        };
        kube::discovery::ApiResource {
            group: "extensions.gardener.cloud".into(),
            version: "v1alpha1".into(),
            api_version: "extensions.gardener.cloud/v1alpha1".into(),
            kind: kind.into(),
            plural: self.plural().into(),
        }
    }

    /// Object `name` in `namespace`, annotated for reconciliation as gardenlet creates it.
    pub fn object(self, namespace: &str, name: &str) -> Value {
        let metadata = json!({"name": name, "namespace": namespace,
            "annotations": {"gardener.cloud/operation": "reconcile"}});
        let (kind, spec) = match self {
            Kind::Extension => ("Extension", json!({"type": "mwe"})),
            Kind::OperatingSystemConfig => (
                "OperatingSystemConfig",
                json!({"type": "coreos", "purpose": "provision",
                    "units": [{"name": "some-unit.service", "content": "[Unit]\nDescription=Some Unit\n[Install]\nWantedBy=multi-user.target"}],
                    "files": [{"path": "/some/file", "content": {"inline": {"encoding": "", "data": "bar"}}}]}),
            ),
            Kind::ContainerRuntime => (
                "ContainerRuntime",
                json!({"type": "gvisor", "binaryPath": "/var/bin/containerruntimes",
                    "workerPool": {"name": name, "selector": {"matchLabels": {"worker.gardener.cloud/pool": name}}}}),
            ),
        };
        json!({"apiVersion": "extensions.gardener.cloud/v1alpha1", "kind": kind, "metadata": metadata, "spec": spec})
    }
}

/// A Cluster for `namespace` whose CloudProfile carries about `bytes` of machine images (real
/// CloudProfiles make Clusters large).
pub fn cluster(namespace: &str, bytes: usize) -> Value {
    let image = json!({"name": "gardenlinux", "versions": [{"version": "1877.0.0", "cri": [{"name": "containerd"}], "architectures": ["amd64", "arm64"]}]});
    let per_image = image.to_string().len().max(1);
    let images: Vec<Value> = (0..bytes / per_image)
        .map(|i| {
            let mut image = image.clone();
            image["name"] = json!(format!("image-{i}"));
            image
        })
        .collect();
    json!({"apiVersion": "extensions.gardener.cloud/v1alpha1", "kind": "Cluster", "metadata": {"name": namespace},
        "spec": {"cloudProfile": {"metadata": {"name": "local"}, "spec": {"type": "local", "machineImages": images}},
                 "seed": {"metadata": {"name": "local"}},
                 "shoot": {"metadata": {"name": namespace.trim_start_matches("shoot--"), "namespace": "garden-bench"},
                           "spec": {"kubernetes": {"version": "1.33.0"}},
                           "status": {"technicalID": namespace, "lastOperation": {"description": "", "lastUpdateTime": "2026-11-23T10:00:00Z", "progress": 100, "state": "Succeeded", "type": "Reconcile"}}}}})
}

/// The shoot namespace of index `i`.
pub fn namespace(i: usize) -> String {
    format!("shoot--bench--s{i:03}")
}

/// A test API server with the CRDs, a `garden` namespace, and `namespaces` shoot namespaces with
/// Clusters of `cluster_bytes` each. It serves HTTPS, as every seed's API server does: the
/// extensions' memory and time then include their TLS sessions, and their kubeconfig names the
/// server's CA (so no system trust store is loaded).
pub async fn seed(namespaces: usize, cluster_bytes: usize) -> Result<RunningServer> {
    let server = TestApiServer::builder().tls(true).start().await?;
    for crd in gardener_api::crds::all() {
        server.apply_yaml(&serde_json::to_string(&crd.crd)?, "crd")?;
    }
    server.apply_yaml(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: garden\n",
        "bench",
    )?;
    for i in 0..namespaces {
        let ns = namespace(i);
        server.apply_yaml(
            &format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n  labels:\n    gardener.cloud/role: shoot\n"),
            "bench",
        )?;
        server.apply_yaml(&cluster(&ns, cluster_bytes).to_string(), "bench")?;
    }
    Ok(server)
}

/// Creates `count` objects of `kind`, spread over the first `namespaces` shoot namespaces.
pub fn create_objects(
    server: &RunningServer,
    kind: Kind,
    count: usize,
    namespaces: usize,
) -> Result<()> {
    for i in 0..count {
        let object = kind.object(&namespace(i % namespaces), &format!("obj-{i:05}"));
        server.apply_yaml(&object.to_string(), "bench")?;
    }
    Ok(())
}
