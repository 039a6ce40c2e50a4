//! The fake seed the scenarios run against.

use serde_json::json;
use test_apiserver::RunningServer;

/// The shoot namespace of the seed.
pub const NS: &str = "shoot--foo--bar";

/// A test API server with the Gardener CRDs, the namespaces `garden` and [`NS`] (a shoot
/// namespace) and the shoot's Cluster, from `builder` (TLS, a token, a fixed address).
///
/// # Panics
/// When the server does not start: a scenario cannot run without it.
pub async fn seed(builder: test_apiserver::Builder) -> RunningServer {
    let server = builder.start().await.expect("the test API server starts");
    for crd in gardener_api::crds::all() {
        server
            .apply_yaml(
                &serde_json::to_string(&crd.crd).expect("a CRD serializes"),
                "crd",
            )
            .expect("the CRDs apply");
    }
    let namespaces = json!([
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS, "labels": {"gardener.cloud/role": "shoot"}}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "garden"}},
    ]);
    for ns in namespaces.as_array().into_iter().flatten() {
        server
            .apply_yaml(&ns.to_string(), "namespaces")
            .expect("namespaces apply");
    }
    server
        .apply_yaml(&shoot_cluster(NS).to_string(), "cluster")
        .expect("the Cluster applies");
    server
}

/// The Cluster of shoot namespace `namespace`: a running shoot `foo/bar` on Kubernetes 1.33.
pub fn shoot_cluster(namespace: &str) -> serde_json::Value {
    json!({
        "apiVersion": "extensions.gardener.cloud/v1alpha1", "kind": "Cluster",
        "metadata": {"name": namespace},
        "spec": {
            "cloudProfile": {"apiVersion": "core.gardener.cloud/v1beta1", "kind": "CloudProfile", "metadata": {"name": "local"}},
            "seed": {"apiVersion": "core.gardener.cloud/v1beta1", "kind": "Seed", "metadata": {"name": "local"}},
            "shoot": {
                "apiVersion": "core.gardener.cloud/v1beta1", "kind": "Shoot",
                "metadata": {"name": "bar", "namespace": "garden-foo"},
                "spec": {"kubernetes": {"version": "1.33.2"}},
                "status": {"technicalID": namespace, "lastOperation": {"description": "", "lastUpdateTime": "2026-11-23T10:00:00Z", "progress": 100, "state": "Succeeded", "type": "Reconcile"}}
            }
        }
    })
}
