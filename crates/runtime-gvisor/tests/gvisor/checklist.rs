//! extensions.md §4 checklist items 32–39, end to end.

use crate::harness::*;
use gardener_api::extensions::{ErrorCode, LastOperationState as State};
use kube::ResourceExt;
use kube::api::{DeleteParams, Patch, PatchParams};
use serde_json::{Value, json};

const POOL: &str = "worker-gvisor";
const INSTALLATION: &str = "extension-runtime-gvisor-installation-worker-gvisor";

fn find<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind}"))
}

#[tokio::test]
async fn items_32_33_34_managed_resources_and_their_payloads() {
    let seed = Seed::new().await;
    let running = seed.start("").await;
    seed.create("test-cr", POOL, "gvisor-pool", Value::Null)
        .await;
    seed.wait_state("test-cr", State::Succeeded).await;
    // Item 32.
    for name in ["extension-runtime-gvisor", INSTALLATION] {
        let mr = seed.managed_resources().get(name).await.unwrap();
        assert_eq!(mr.spec.class, None, "{name}");
        assert_eq!(mr.spec.keep_objects, Some(false));
        assert_eq!(mr.labels()["origin"], "extension-runtime-gvisor");
        assert_eq!(
            mr.spec.inject_labels.clone().unwrap()["shoot.gardener.cloud/no-cleanup"],
            "true"
        );
        let refs = mr.spec.secret_refs.unwrap();
        assert_eq!(refs.len(), 1);
        let prefix = format!("managedresource-{name}-");
        let hash = refs[0].name.strip_prefix(&prefix).unwrap();
        assert!(
            hash.len() == 8 && hash.chars().all(|c| c.is_ascii_hexdigit()),
            "{}",
            refs[0].name
        );
        let secret = seed.secrets().get(&refs[0].name).await.unwrap();
        assert_eq!(secret.immutable, Some(true));
        assert_eq!(
            secret.data.unwrap().keys().collect::<Vec<_>>(),
            ["config.yaml"]
        );
    }
    // Item 33.
    let base = seed.payload("extension-runtime-gvisor").await;
    let sa = find(&base, "ServiceAccount");
    assert_eq!(
        (
            sa["metadata"]["namespace"].as_str(),
            sa["metadata"]["name"].as_str()
        ),
        (Some("kube-system"), Some("gvisor"))
    );
    assert_eq!(sa["automountServiceAccountToken"], false);
    let rc = find(&base, "RuntimeClass");
    assert_eq!(rc["apiVersion"], "node.k8s.io/v1");
    assert_eq!(rc["handler"], "runsc");
    assert_eq!(
        rc["scheduling"]["nodeSelector"],
        json!({"containerruntime.worker.gardener.cloud/gvisor": "true"})
    );
    // Item 34.
    let installation = seed.payload(INSTALLATION).await;
    let cm = find(&installation, "ConfigMap");
    assert_eq!(cm["metadata"]["name"], "containerd-gvisor-worker-gvisor");
    let ds = find(&installation, "DaemonSet");
    assert_eq!(
        ds["metadata"],
        json!({"name": "containerd-gvisor-worker-gvisor", "namespace": "kube-system",
        "labels": {"app.kubernetes.io/name": "containerd-gvisor", "helm.sh/chart": "containerd-gvisor"}})
    );
    let pod = &ds["spec"]["template"]["spec"];
    assert_eq!(
        pod["nodeSelector"],
        json!({"worker.gardener.cloud/cri-name": "containerd", "worker.gardener.cloud/pool": "gvisor-pool"})
    );
    assert_eq!(
        (pod["hostPID"].as_bool(), pod["hostIPC"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(
        pod["tolerations"],
        json!([{"effect": "NoSchedule", "operator": "Exists"}, {"effect": "NoExecute", "operator": "Exists"}])
    );
    let container = &pod["containers"][0];
    assert_eq!(container["securityContext"]["privileged"], true);
    assert_eq!(
        container["command"],
        json!(["/scripts/install-gvisor-containerd.sh"])
    );
    assert!(
        container["volumeMounts"]
            .as_array()
            .unwrap()
            .contains(&json!({"name": "host-root", "mountPath": "/var/host"}))
    );
    assert!(
        pod["volumes"]
            .as_array()
            .unwrap()
            .contains(&json!({"name": "host-root", "hostPath": {"path": "/"}}))
    );
    assert_eq!(
        container["image"],
        format!(
            "europe-docker.pkg.dev/gardener-project/releases/gardener/extensions/runtime-gvisor-installation:{}",
            runtime_gvisor::version()
        )
    );
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn items_35_36_flags_and_bad_provider_config() {
    let seed = Seed::new().await;
    let running = seed.start("").await;
    let config = |flags: Value| json!({"apiVersion": "gvisor.runtime.extensions.config.gardener.cloud/v1alpha1", "kind": "GVisorConfiguration", "configFlags": flags});
    seed.create(
        "flags",
        POOL,
        "gvisor-pool",
        config(json!({"net-raw": "true", "foo": "bar", "nvproxy": "false"})),
    )
    .await;
    seed.wait_state("flags", State::Succeeded).await;
    let script = find(&seed.payload(INSTALLATION).await, "ConfigMap")["data"]["install-gvisor-containerd.sh"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        script.contains("<<'RUNSC_TOML'\n[runsc_config]\n  net-raw = \"true\"\nRUNSC_TOML\n"),
        "{script}"
    );
    // A flag change (annotated, as gardenlet does) moves the ManagedResource to a new Secret.
    let before = seed.managed_resources().get(INSTALLATION).await.unwrap();
    seed.runtimes()
        .patch(
            "flags",
            &PatchParams::default(),
            &Patch::Merge(json!({
                "metadata": {"annotations": {"gardener.cloud/operation": "reconcile"}},
                "spec": {"providerConfig": config(json!({"net-raw": "false"}))},
            })),
        )
        .await
        .unwrap();
    seed.wait("flags", |cr| {
        cr.status
            .as_ref()
            .and_then(|s| s.default_status.observed_generation)
            == Some(2)
            && cr
                .status
                .as_ref()
                .and_then(|s| s.default_status.last_operation.as_ref())
                .is_some_and(|op| op.state == State::Succeeded)
    })
    .await;
    let after = seed.managed_resources().get(INSTALLATION).await.unwrap();
    assert_ne!(after.spec.secret_refs, before.spec.secret_refs);
    let script = find(&seed.payload(INSTALLATION).await, "ConfigMap")["data"]["install-gvisor-containerd.sh"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(script.contains("  net-raw = \"false\"\n"), "{script}");
    // Item 36.
    let bad = json!({"apiVersion": "gvisor.runtime.extensions.config.gardener.cloud/v1alpha2", "kind": "GVisorConfiguration"});
    seed.create("bad", "other", "other", bad).await;
    let failed = seed.wait_state("bad", State::Error).await;
    let error = failed.status.unwrap().default_status.last_error.unwrap();
    assert_eq!(error.codes, Some(vec![ErrorCode::ConfigurationProblem]));
    assert!(
        error
            .description
            .contains("no kind \"GVisorConfiguration\" is registered for version"),
        "{}",
        error.description
    );
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn item_37_test_images_need_the_test_repository() {
    let image_of = |docs: Vec<Value>| {
        find(&docs, "DaemonSet")["spec"]["template"]["spec"]["containers"][0]["image"].clone()
    };
    let config = json!({"apiVersion": "gvisor.runtime.extensions.config.gardener.cloud/v1alpha1", "kind": "GVisorConfiguration", "testImageTag": "my-tag"});
    for (repository, want) in [
        (
            "my-repo.example.com/sub/path/runtime-gvisor-installation",
            "my-repo.example.com/sub/path/runtime-gvisor-installation:my-tag".to_string(),
        ),
        (
            "",
            format!(
                "europe-docker.pkg.dev/gardener-project/releases/gardener/extensions/runtime-gvisor-installation:{}",
                runtime_gvisor::version()
            ),
        ),
    ] {
        let seed = Seed::new().await;
        let running = seed.start(repository).await;
        seed.create("test-cr", POOL, "gvisor-pool", config.clone())
            .await;
        seed.wait_state("test-cr", State::Succeeded).await;
        assert_eq!(
            image_of(seed.payload(INSTALLATION).await),
            want,
            "repository {repository:?}"
        );
        running.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn item_38_delete_keeps_what_other_pools_need() {
    let seed = Seed::new().await;
    let running = seed.start("").await;
    seed.create("one", "pool-one", "pool-one", Value::Null)
        .await;
    seed.create("two", "pool-two", "pool-two", Value::Null)
        .await;
    seed.wait_state("one", State::Succeeded).await;
    seed.wait_state("two", State::Succeeded).await;
    let names = |mrs: Vec<gardener_api::resources::ManagedResource>| {
        let mut n: Vec<String> = mrs.iter().map(|m| m.name_any()).collect();
        n.sort();
        n
    };
    seed.runtimes()
        .delete("one", &DeleteParams::default())
        .await
        .unwrap();
    seed.wait_gone("one").await;
    let left = names(
        seed.managed_resources()
            .list(&Default::default())
            .await
            .unwrap()
            .items,
    );
    assert_eq!(
        left,
        [
            "extension-runtime-gvisor",
            "extension-runtime-gvisor-installation-pool-two"
        ]
    );
    seed.runtimes()
        .delete("two", &DeleteParams::default())
        .await
        .unwrap();
    seed.wait_gone("two").await;
    assert!(
        seed.managed_resources()
            .list(&Default::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let secrets = seed
        .secrets()
        .list(&Default::default())
        .await
        .unwrap()
        .items;
    assert!(
        secrets
            .iter()
            .all(|s| !s.name_any().starts_with("managedresource-")),
        "their secrets are gone too"
    );
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn item_39_migrate_keeps_the_objects_in_the_shoot() {
    let seed = Seed::new().await;
    let running = seed.start("").await;
    seed.create("test-cr", POOL, "gvisor-pool", Value::Null)
        .await;
    seed.wait_state("test-cr", State::Succeeded).await;
    seed.assert_rbac();
    seed.server.clear_requests();
    seed.runtimes()
        .patch(
            "test-cr",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"metadata": {"annotations": {"gardener.cloud/operation": "migrate"}}}),
            ),
        )
        .await
        .unwrap();
    seed.wait("test-cr", |cr| {
        cr.status
            .as_ref()
            .and_then(|s| s.default_status.last_operation.as_ref())
            .is_some_and(|op| {
                op.type_ == gardener_api::extensions::LastOperationType::Migrate
                    && op.state == State::Succeeded
            })
    })
    .await;
    let requests = seed.server.requests();
    for mr in [INSTALLATION, "extension-runtime-gvisor"] {
        let keep = requests
            .iter()
            .position(|r| r.resource == "managedresources" && r.name == mr && r.verb == "patch");
        let delete = requests
            .iter()
            .position(|r| r.resource == "managedresources" && r.name == mr && r.verb == "delete");
        assert!(
            matches!((keep, delete), (Some(k), Some(d)) if k < d),
            "{mr}: keepObjects before delete"
        );
    }
    assert!(
        seed.managed_resources()
            .list(&Default::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    running.shutdown().await.unwrap();
}

/// `SystemComponentsHealthy` follows the pool's installation ManagedResource and its DaemonSet.
#[tokio::test]
async fn the_installation_check_reads_the_resource_manager_report() {
    use extension_framework::healthcheck::{CheckContext, HealthCheck};
    use gardener_api::extensions::ConditionStatus;
    use runtime_gvisor::health::InstallationCheck;
    let seed = Seed::new().await;
    let ctx = CheckContext {
        client: seed.client.clone(),
        namespace: NS.into(),
        cluster: None,
        object: json!({"spec": {"workerPool": {"name": POOL}}}),
        managed_resources: extension_framework::managed_resources::ManagedResources::new(
            seed.client.clone(),
            None,
        ),
    };
    let missing = InstallationCheck.check(&ctx).await.unwrap();
    assert_eq!(missing.status, ConditionStatus::False);
    assert!(missing.detail.contains(INSTALLATION), "{}", missing.detail);
    let running = seed.start("").await;
    seed.create("test-cr", POOL, "gvisor-pool", Value::Null)
        .await;
    seed.wait_state("test-cr", State::Succeeded).await;
    let report = |healthy: &str, message: &str| {
        let time = "2026-11-23T10:00:00Z";
        json!({"status": {"observedGeneration": 1,
            "resources": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "containerd-gvisor-worker-gvisor", "namespace": "kube-system"}],
            "conditions": [
                {"type": "ResourcesApplied", "status": "True", "lastTransitionTime": time, "lastUpdateTime": time, "reason": "ApplySucceeded", "message": "ok"},
                {"type": "ResourcesHealthy", "status": healthy, "lastTransitionTime": time, "lastUpdateTime": time, "reason": "r", "message": message},
                {"type": "ResourcesProgressing", "status": "False", "lastTransitionTime": time, "lastUpdateTime": time, "reason": "r", "message": "done"}]}})
    };
    let mrs = seed.managed_resources();
    let set = |status: Value| {
        let mrs = mrs.clone();
        async move {
            mrs.patch_status(INSTALLATION, &PatchParams::default(), &Patch::Merge(status))
                .await
                .unwrap();
        }
    };
    set(report("True", "All resources are healthy.")).await;
    assert_eq!(
        InstallationCheck.check(&ctx).await.unwrap().status,
        ConditionStatus::True
    );
    let broken = "DaemonSet \"kube-system/containerd-gvisor-worker-gvisor\" is unhealthy: 2 unavailable pods";
    set(report("False", broken)).await;
    let result = InstallationCheck.check(&ctx).await.unwrap();
    assert_eq!(result.status, ConditionStatus::False);
    assert!(result.detail.contains("unavailable"), "{}", result.detail);
    running.shutdown().await.unwrap();
}
