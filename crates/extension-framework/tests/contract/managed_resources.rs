//! Checklist items 54–58: ManagedResource helpers.

use crate::harness::*;
use extension_framework::managed_resources as mr;
use gardener_api::extensions::ErrorCode;
use gardener_api::resources::ManagedResource;
use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;
use kube::api::{Patch, PatchParams};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

fn data(value: &str) -> BTreeMap<String, Vec<u8>> {
    [("data.yaml".to_string(), value.as_bytes().to_vec())].into()
}

/// ManagedResource reads through a process cache that watches `origin`'s (until the sender drops).
fn caching(seed: &Seed, origin: &str) -> (tokio::sync::watch::Sender<bool>, mr::ManagedResources) {
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let cache = extension_framework::cache::SeedCache::start(seed.client.clone(), stop.clone())
        .with_managed_resources(seed.client.clone(), origin, stop);
    (
        stop_tx,
        mr::ManagedResources::new(seed.client.clone(), Some(cache)),
    )
}

#[tokio::test]
async fn item_54_55_create_for_shoot_and_update_with_new_secret() {
    let seed = Seed::new().await;
    let manifest =
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: kube-system\n";
    mr::create_for_shoot(&seed.client, NS, "foo", "my-origin", false, data(manifest))
        .await
        .unwrap();
    let secret_name = mr::secret_name("foo", &data(manifest));
    let secret: Secret = seed.api::<Secret>().get(&secret_name).await.unwrap();
    assert_eq!(secret.immutable, Some(true));
    assert_eq!(secret.type_.as_deref(), Some("Opaque"));
    assert_eq!(
        secret.labels()["resources.gardener.cloud/garbage-collectable-reference"],
        "true"
    );
    let object: ManagedResource = seed.api::<ManagedResource>().get("foo").await.unwrap();
    assert_eq!(object.spec.class, None);
    assert_eq!(object.labels()["origin"], "my-origin");
    assert_eq!(
        object.spec.inject_labels,
        Some(label_map(&[("shoot.gardener.cloud/no-cleanup", "true")]))
    );
    assert_eq!(object.spec.keep_objects, Some(false));
    assert_eq!(
        object.spec.secret_refs.as_ref().unwrap()[0].name,
        secret_name
    );
    assert_eq!(
        object.annotations()[&mr::reference_annotation(&secret_name)],
        secret_name
    );
    assert!(
        mr::reference_annotation(&secret_name)
            .starts_with("reference.resources.gardener.cloud/secret-")
    );

    // Item 55: the same data again changes nothing; new data means a new secret and the old one
    // stays labelled garbage-collectable.
    seed.server.clear_requests();
    mr::create_for_shoot(&seed.client, NS, "foo", "my-origin", false, data(manifest))
        .await
        .unwrap();
    let requests: Vec<(String, String, u16)> = seed
        .server
        .requests()
        .into_iter()
        .map(|r| (format!("{} {}", r.verb, r.resource), r.content_type, r.code))
        .collect();
    assert_eq!(
        requests,
        [
            (
                "create secrets".to_string(),
                "application/json".to_string(),
                409
            ),
            (
                "patch managedresources".to_string(),
                "application/json-patch+json".to_string(),
                200
            )
        ],
        "unchanged data: the Secret exists, one JSON patch tests the reference; no read"
    );
    let again: ManagedResource = seed.api::<ManagedResource>().get("foo").await.unwrap();
    // A Secret deleted by hand comes back with the next call.
    seed.api::<Secret>()
        .delete(&secret_name, &Default::default())
        .await
        .unwrap();
    mr::create_for_shoot(&seed.client, NS, "foo", "my-origin", false, data(manifest))
        .await
        .unwrap();
    assert!(
        seed.api::<Secret>()
            .get_opt(&secret_name)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        again.resource_version(),
        object.resource_version(),
        "the patch was a no-op"
    );
    mr::create_for_shoot(&seed.client, NS, "foo", "my-origin", false, data("changed"))
        .await
        .unwrap();
    let updated: ManagedResource = seed.api::<ManagedResource>().get("foo").await.unwrap();
    let new_name = mr::secret_name("foo", &data("changed"));
    assert_ne!(new_name, secret_name);
    assert_eq!(updated.spec.secret_refs.as_ref().unwrap()[0].name, new_name);
    let references: Vec<&String> = updated
        .annotations()
        .keys()
        .filter(|k| k.starts_with("reference.resources.gardener.cloud/"))
        .collect();
    assert_eq!(
        references,
        [&mr::reference_annotation(&new_name)],
        "old reference annotations are dropped"
    );
    // The spec is ours as a whole; labels and annotations of others stay.
    seed.api::<ManagedResource>()
        .patch(
            "foo",
            &PatchParams::default(),
            &Patch::Merge(json!({
                "metadata": {"labels": {"team": "a"}, "annotations": {"note": "b"}},
                "spec": {"injectLabels": {"extra": "x"}, "forceOverwriteLabels": true},
            })),
        )
        .await
        .unwrap();
    mr::create_for_shoot(&seed.client, NS, "foo", "my-origin", false, data("changed"))
        .await
        .unwrap();
    let reset: ManagedResource = seed.api::<ManagedResource>().get("foo").await.unwrap();
    assert_eq!(reset.spec, updated.spec);
    assert_eq!(
        (
            reset.labels()["team"].as_str(),
            reset.annotations()["note"].as_str()
        ),
        ("a", "b")
    );
    assert_eq!(
        seed.api::<Secret>()
            .get(&secret_name)
            .await
            .unwrap()
            .labels()["resources.gardener.cloud/garbage-collectable-reference"],
        "true"
    );
}

#[tokio::test]
async fn item_56_57_create_for_seed_and_delete() {
    let seed = Seed::new().await;
    mr::create_for_seed(&seed.client, NS, "seedmr", true, data("a"))
        .await
        .unwrap();
    let object: ManagedResource = seed.api::<ManagedResource>().get("seedmr").await.unwrap();
    assert_eq!(object.spec.class.as_deref(), Some("seed"));
    assert!(!object.labels().contains_key("origin"));
    assert!(object.spec.inject_labels.is_none());
    // A namespace starting with `shoot-` gets no seed-system-component role label.
    assert!(!object.labels().contains_key("gardener.cloud/role"));
    mr::create_for_seed(&seed.client, "garden", "garden-mr", false, data("a"))
        .await
        .unwrap();
    let garden: kube::Api<ManagedResource> = kube::Api::namespaced(seed.client.clone(), "garden");
    assert_eq!(
        garden.get("garden-mr").await.unwrap().labels()["gardener.cloud/role"],
        "seed-system-component"
    );

    // The resource manager's finalizer holds `garden-mr`: its delete reports it still there.
    garden
        .patch(
            "garden-mr",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": ["resources.gardener.cloud/gardener-resource-manager"]}})),
        )
        .await
        .unwrap();
    assert!(
        !mr::delete(&seed.client, "garden", "garden-mr")
            .await
            .unwrap()
    );
    assert!(
        mr::delete(&seed.client, NS, "seedmr").await.unwrap(),
        "no finalizers: gone at once, nothing to wait for"
    );
    assert!(
        seed.api::<ManagedResource>()
            .get_opt("seedmr")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        seed.api::<Secret>()
            .get_opt(&mr::secret_name("seedmr", &data("a")))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        mr::delete(&seed.client, NS, "seedmr").await.unwrap(),
        "missing: gone"
    );
    mr::set_keep_objects(&seed.client, NS, "missing", true)
        .await
        .unwrap();
}

/// A migrate's `SetKeepObjects` and `Delete` without a read: the patch's answer names the
/// Secrets to delete.
#[tokio::test]
async fn delete_keeping_objects_reads_the_secrets_from_the_patch() {
    let seed = Seed::new().await;
    mr::create_for_shoot(&seed.client, NS, "kept", "o", false, data("a"))
        .await
        .unwrap();
    seed.server.clear_requests();
    assert!(
        mr::delete_keeping_objects(&seed.client, NS, "kept")
            .await
            .unwrap()
    );
    let requests: Vec<(String, String, String, u16)> = seed
        .server
        .requests()
        .into_iter()
        .map(|r| (r.verb, r.resource, r.name, r.code))
        .collect();
    let secret = mr::secret_name("kept", &data("a"));
    let request = |verb: &str, resource: &str, name: &str, code| {
        (
            verb.to_string(),
            resource.to_string(),
            name.to_string(),
            code,
        )
    };
    assert_eq!(
        requests,
        [
            request("patch", "managedresources", "kept", 200),
            request("delete", "secrets", &secret, 200),
            request("delete", "managedresources", "kept", 200),
        ]
    );
    assert!(
        mr::delete_keeping_objects(&seed.client, NS, "kept")
            .await
            .unwrap(),
        "missing: gone"
    );
}

/// The extension's own ManagedResources (by origin) come from a watch started by the first read,
/// as Go's cached client reads them; others, and misses, from the API server.
#[tokio::test]
async fn own_managed_resources_are_read_from_the_cache() {
    let seed = Seed::new().await;
    mr::create_for_shoot(&seed.client, NS, "own", "o", false, data("a"))
        .await
        .unwrap();
    mr::create_for_seed(&seed.client, NS, "seedmr", false, data("b"))
        .await
        .unwrap();
    let (_stop, mrs) = caching(&seed, "o");
    seed.cache.wait_until_synced().await;
    seed.server.clear_requests();
    let requests = || -> Vec<(String, String, String)> {
        seed.server
            .requests()
            .into_iter()
            .filter(|r| r.resource == "managedresources")
            .map(|r| (r.verb, r.name, r.query))
            .collect()
    };
    let own = mrs.get(NS, "own").await.unwrap().unwrap();
    assert_eq!(own.spec.secret_refs.unwrap().len(), 1);
    let first = requests();
    assert!(
        first
            .iter()
            .all(|(verb, _, query)| (verb == "list" || verb == "watch")
                && query.contains("labelSelector=origin%3Do")),
        "the first read starts a watch of the origin's ManagedResources: {first:?}"
    );
    mrs.get(NS, "own").await.unwrap().unwrap();
    assert_eq!(requests(), first, "a cached read sends nothing");
    // Another origin's, or a missing one: the cache does not hold it, the API server answers.
    assert!(mrs.get(NS, "seedmr").await.unwrap().is_some());
    assert!(mrs.get(NS, "missing").await.unwrap().is_none());
    let gets: Vec<String> = requests()
        .into_iter()
        .filter(|(verb, _, _)| verb == "get")
        .map(|(_, name, _)| name)
        .collect();
    assert_eq!(gets, ["seedmr", "missing"]);
    // Delete takes the Secrets to delete from the cached copy.
    assert!(mrs.delete(NS, "own").await.unwrap());
    assert!(
        requests()
            .iter()
            .all(|(verb, name, _)| verb != "get" || name != "own")
    );
    assert!(
        seed.api::<Secret>()
            .get_opt(&mr::secret_name("own", &data("a")))
            .await
            .unwrap()
            .is_none()
    );
}

/// A watch that cannot list (a chart without `list` on ManagedResources) delays only the read
/// that started it; every later read goes straight to the API server.
#[tokio::test]
async fn a_cache_that_cannot_list_only_delays_the_first_read() {
    let seed = Seed::new().await;
    mr::create_for_shoot(&seed.client, NS, "own", "o", false, data("a"))
        .await
        .unwrap();
    seed.server.inject_fault(test_apiserver::FaultRule::new(
        "list",
        "managedresources",
        usize::MAX,
        403,
    ));
    let (_stop, mrs) = caching(&seed, "o");
    // The first read waits for the watch (5 s), then reads the API server.
    assert!(mrs.get(NS, "own").await.unwrap().is_some());
    let later = tokio::time::timeout(Duration::from_secs(3), mrs.get(NS, "own"))
        .await
        .expect("a later read does not wait for the watch again");
    assert!(later.unwrap().is_some());
}

#[tokio::test]
async fn item_58_wait_until_deleted_reports_configuration_problems() {
    let seed = Seed::new().await;
    mr::create_for_shoot(&seed.client, NS, "stuck", "o", false, data("a"))
        .await
        .unwrap();
    mr::set_keep_objects(&seed.client, NS, "stuck", true)
        .await
        .unwrap();
    assert_eq!(
        seed.api::<ManagedResource>()
            .get("stuck")
            .await
            .unwrap()
            .spec
            .keep_objects,
        Some(true)
    );
    let status = json!({"status": {"observedGeneration": 1, "conditions": [{
        "type": "ResourcesApplied", "status": "False", "reason": "DeletionFailed",
        "message": "error during apply of object \"apps/v1/Deployment/kube-system/x\": Deployment.apps \"x\" is invalid: spec.replicas: bad",
        "lastTransitionTime": "2026-11-23T10:00:00Z", "lastUpdateTime": "2026-11-23T10:00:00Z"}]}});
    seed.api::<ManagedResource>()
        .patch_status("stuck", &PatchParams::default(), &Patch::Merge(&status))
        .await
        .unwrap();
    let err = mr::wait_until_deleted(&seed.client, NS, "stuck", Duration::from_millis(100))
        .await
        .unwrap_err();
    assert_eq!(err.codes(), vec![ErrorCode::ConfigurationProblem]);
    assert!(err.to_string().contains("is invalid"), "{err}");
    // A missing ManagedResource counts as deleted; healthy ones satisfy wait_until_healthy.
    mr::wait_until_deleted(
        &seed.client,
        NS,
        "never-existed",
        Duration::from_millis(100),
    )
    .await
    .unwrap();
    let unhealthy = mr::wait_until_healthy(&seed.client, NS, "stuck", Duration::from_millis(100))
        .await
        .unwrap_err();
    assert!(unhealthy.to_string().contains("last error:"), "{unhealthy}");
    let missing = mr::wait_until_healthy(
        &seed.client,
        NS,
        "never-existed",
        Duration::from_millis(100),
    )
    .await
    .unwrap_err();
    assert!(
        missing.to_string().ends_with("never-existed not found"),
        "{missing}"
    );
    // keepObjects bumped the generation to 2.
    let healthy = json!({"status": {"observedGeneration": 2, "conditions": [
        {"type": "ResourcesApplied", "status": "True", "reason": "ApplySucceeded", "message": "", "lastTransitionTime": "2026-11-23T10:00:00Z", "lastUpdateTime": "2026-11-23T10:00:00Z"},
        {"type": "ResourcesHealthy", "status": "True", "reason": "ResourcesHealthy", "message": "", "lastTransitionTime": "2026-11-23T10:00:00Z", "lastUpdateTime": "2026-11-23T10:00:00Z"}]}});
    seed.api::<ManagedResource>()
        .patch_status("stuck", &PatchParams::default(), &Patch::Merge(&healthy))
        .await
        .unwrap();
    mr::wait_until_healthy(&seed.client, NS, "stuck", Duration::from_millis(100))
        .await
        .unwrap();
}

/// Two objects of a namespace that share one ManagedResource (gvisor's base objects) create it at
/// the same moment: the one that loses the create updates it instead of failing.
#[tokio::test]
async fn concurrent_creates_of_a_shared_managed_resource_both_succeed() {
    let seed = Seed::new().await;
    let create = || mr::create_for_shoot(&seed.client, NS, "shared", "o", false, data("base"));
    let attempts = futures::future::join_all((0..4).map(|_| create())).await;
    assert!(attempts.iter().all(Result::is_ok), "{attempts:?}");
    let shared: ManagedResource = seed.api::<ManagedResource>().get("shared").await.unwrap();
    assert_eq!(
        shared.spec.secret_refs.unwrap()[0].name,
        mr::secret_name("shared", &data("base"))
    );
}
