//! The building blocks extensions use, against the API server: the ManagedResource registry,
//! referenced Secrets and the workload health checks.

use crate::harness::*;
use extension_framework::healthcheck::{CheckContext, HealthCheck, WorkloadCheck};
use extension_framework::managed_resources::create_for_shoot;
use extension_framework::registry::{COMPRESSED_DATA_KEY, Registry};
use gardener_api::core::Shoot;
use gardener_api::extensions::{ConditionStatus, ErrorCode};
use gardener_api::resources::ManagedResource;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, ServiceAccount};
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

fn objects() -> (ServiceAccount, ConfigMap) {
    let mut sa = ServiceAccount::default();
    sa.metadata.name = Some("gvisor".into());
    sa.metadata.namespace = Some("kube-system".into());
    let mut cm = ConfigMap::default();
    cm.metadata.name = Some("installer".into());
    cm.metadata.namespace = Some("kube-system".into());
    cm.data = Some([("run.sh".to_string(), "#!/bin/sh\n".to_string())].into());
    (sa, cm)
}

#[tokio::test]
async fn registry_output_names_the_secret_by_content_only() {
    let seed = Seed::new().await;
    let (sa, cm) = objects();
    let mut one = Registry::new();
    one.add(&sa).unwrap().add(&cm).unwrap();
    create_for_shoot(
        &seed.client,
        NS,
        "extension-x",
        "x",
        false,
        one.serialized(),
    )
    .await
    .unwrap();
    let mrs: Api<ManagedResource> = Api::namespaced(seed.client.clone(), NS);
    let before = mrs.get("extension-x").await.unwrap();
    let first = before.spec.secret_refs.clone().unwrap();
    // The same objects added the other way round: same Secret, no write of the ManagedResource.
    let mut two = Registry::new();
    two.add(&cm).unwrap().add(&sa).unwrap();
    seed.server.clear_requests();
    create_for_shoot(
        &seed.client,
        NS,
        "extension-x",
        "x",
        false,
        two.serialized(),
    )
    .await
    .unwrap();
    let after = mrs.get("extension-x").await.unwrap();
    assert_eq!(after.spec.secret_refs.as_ref(), Some(&first));
    assert_eq!(
        after.resource_version(),
        before.resource_version(),
        "unchanged objects, unchanged ManagedResource"
    );
    assert!(
        seed.server
            .requests()
            .iter()
            .all(|r| r.resource != "secrets" || r.code == 409),
        "the same Secret: its create finds it"
    );
    let secret: Secret = Api::namespaced(seed.client.clone(), NS)
        .get(&first[0].name)
        .await
        .unwrap();
    let data = secret.data.unwrap();
    assert_eq!(data.keys().collect::<Vec<_>>(), [COMPRESSED_DATA_KEY]);
    assert_eq!(secret.immutable, Some(true));
}

#[tokio::test]
async fn referenced_secrets_are_read_from_their_seed_copy() {
    let seed = Seed::new().await;
    seed.server
        .apply_yaml(&format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: ref-git-creds\n  namespace: {NS}\nstringData:\n  identity: key\n"), "ref")
        .unwrap();
    let shoot: Shoot = serde_json::from_value(json!({"spec": {"resources": [
        {"name": "flux-git", "resourceRef": {"apiVersion": "v1", "kind": "Secret", "name": "git-creds"}},
        {"name": "dashboards", "resourceRef": {"apiVersion": "v1", "kind": "ConfigMap", "name": "d"}},
        {"name": "gone", "resourceRef": {"apiVersion": "v1", "kind": "Secret", "name": "gone"}}]}}))
    .unwrap();
    let read = |name: &'static str| {
        extension_framework::referenced::secret(&seed.client, NS, &shoot, name)
    };
    let secret = read("flux-git").await.unwrap();
    assert_eq!(secret.data.unwrap()["identity"].0, b"key");
    let unknown = read("nope").await.unwrap_err();
    assert_eq!(unknown.codes(), [ErrorCode::ConfigurationProblem]);
    assert!(unknown.to_string().contains("\"nope\""), "{unknown}");
    assert_eq!(
        read("dashboards").await.unwrap_err().codes(),
        [ErrorCode::ConfigurationProblem]
    );
    let missing = read("gone").await.unwrap_err();
    assert!(
        missing.codes().is_empty(),
        "retried: gardenlet may not have copied it yet"
    );
    assert!(missing.to_string().contains("ref-gone"), "{missing}");
}

#[tokio::test]
async fn workload_checks_read_what_the_resource_manager_reports() {
    let seed = Seed::new().await;
    let ctx = CheckContext {
        client: seed.client.clone(),
        namespace: NS.into(),
        cluster: None,
        object: serde_json::Value::Null,
        managed_resources: extension_framework::managed_resources::ManagedResources::new(
            seed.client.clone(),
            None,
        ),
    };
    let check = WorkloadCheck::daemon_set("extension-x", "kube-system", "gvisor-installer");
    let missing = check.check(&ctx).await.unwrap();
    assert_eq!(missing.status, ConditionStatus::False);
    assert!(missing.detail.contains("not found"), "{}", missing.detail);
    create_for_shoot(
        &seed.client,
        NS,
        "extension-x",
        "x",
        false,
        [("a".into(), b"x".to_vec())].into(),
    )
    .await
    .unwrap();
    let mrs: Api<ManagedResource> = Api::namespaced(seed.client.clone(), NS);
    let report = |healthy: &str, progressing: &str, message: &str| {
        json!({"status": {"observedGeneration": 1,
            "resources": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "gvisor-installer", "namespace": "kube-system"}],
            "conditions": [
                {"type": "ResourcesApplied", "status": "True", "lastTransitionTime": "2026-11-23T10:00:00Z", "lastUpdateTime": "2026-11-23T10:00:00Z", "reason": "ApplySucceeded", "message": "ok"},
                {"type": "ResourcesHealthy", "status": healthy, "lastTransitionTime": "2026-11-23T10:00:00Z", "lastUpdateTime": "2026-11-23T10:00:00Z", "reason": "r", "message": message},
                {"type": "ResourcesProgressing", "status": progressing, "lastTransitionTime": "2026-11-23T10:00:00Z", "lastUpdateTime": "2026-11-23T10:00:00Z", "reason": "r", "message": message}]}})
    };
    let set = |status| async {
        mrs.patch_status(
            "extension-x",
            &PatchParams::default(),
            &Patch::Merge(status),
        )
        .await
        .unwrap();
    };
    set(report("True", "False", "All resources are healthy.")).await;
    assert_eq!(
        check.check(&ctx).await.unwrap().status,
        ConditionStatus::True
    );
    let unhealthy =
        "DaemonSet \"kube-system/gvisor-installer\" is unhealthy: too many unavailable pods";
    set(report("False", "False", unhealthy)).await;
    let result = check.check(&ctx).await.unwrap();
    assert_eq!(
        (result.status, result.detail.as_str()),
        (ConditionStatus::False, unhealthy)
    );
    set(report(
        "True",
        "True",
        "DaemonSet \"kube-system/gvisor-installer\" is not yet rolled out",
    ))
    .await;
    assert_eq!(
        check.check(&ctx).await.unwrap().status,
        ConditionStatus::Progressing
    );
    let other = WorkloadCheck::deployment("extension-x", "kube-system", "other");
    assert!(
        other
            .check(&ctx)
            .await
            .unwrap()
            .detail
            .contains("not (yet) applied")
    );
}
