//! Checklist items 28–39: failed shoots, Cluster lookup, class/type filters and event admission.

use crate::harness::*;
use extension_framework::testing::{EventFilter, Mode};
use gardener_api::extensions::{
    ContainerRuntime, Extension, ExtensionClass, LastOperationState as State,
    LastOperationType as Op,
};
use kube::api::{Patch, PatchParams};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn item_28_failed_shoot_is_skipped_by_reconciler_and_predicate() {
    let seed = Seed::new().await;
    seed.set_cluster(shoot("Failed", json!({}))).await;
    let probe = Probe::new();
    let running = seed.start(extension_manager(&probe, Duration::ZERO)).await;
    let api = seed.extensions(NS);
    create(
        &api,
        &extension("skipped", &[("gardener.cloud/operation", "reconcile")]),
    )
    .await;
    // Item 38: the predicate rejects events of failed shoots, so nothing is reconciled at all.
    // A sentinel outside the shoot namespace proves the controller is processing events.
    seed.server
        .apply_yaml(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: elsewhere\n",
            "ns",
        )
        .unwrap();
    create(&seed.extensions("elsewhere"), &extension("sentinel", &[])).await;
    seed.wait("elsewhere", "sentinel", |e: &Extension| {
        last_op(e) == Some((Op::Create, State::Succeeded))
    })
    .await;
    assert_eq!(
        probe
            .calls()
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        ["sentinel"]
    );
    let untouched = api.get("skipped").await.unwrap();
    assert!(untouched.status.is_none() && untouched.metadata.finalizers.is_none());

    // The reconciler itself also skips (e.g. when the shoot failed after the event was admitted).
    let reconciler = direct_reconciler(&seed, &probe);
    let outcome = reconciler
        .reconcile(std::sync::Arc::new(untouched))
        .await
        .unwrap();
    assert_eq!(outcome, extension_framework::testing::Outcome::Done);
    assert_eq!(probe.calls().len(), 1);
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn item_29_31_extension_cluster_lookup_depends_on_the_namespace() {
    let seed = Seed::new().await;
    seed.server.apply_yaml("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: garden-ext\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: shoot--no--cluster\n  labels:\n    gardener.cloud/role: shoot\n", "ns").unwrap();
    let probe = Probe::new();
    let running = seed.start(extension_manager(&probe, Duration::ZERO)).await;
    // Item 29: not a shoot namespace, no Cluster: reconciled without a cluster.
    create(&seed.extensions("garden-ext"), &extension("plain", &[])).await;
    seed.wait("garden-ext", "plain", |e: &Extension| {
        last_op(e) == Some((Op::Create, State::Succeeded))
    })
    .await;
    assert!(!probe.calls()[0].had_cluster);
    running.shutdown().await.unwrap();
    // Item 31: a shoot namespace without a Cluster is an error; the actuator is not called. (The
    // predicate already rejects such events, item 38, so the reconciler is driven directly.)
    let orphan = create(
        &seed.extensions("shoot--no--cluster"),
        &extension("orphan", &[]),
    )
    .await;
    let reconciler = direct_reconciler(&seed, &probe);
    let err = reconciler
        .reconcile(std::sync::Arc::new(orphan))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("could not get cluster"), "{err}");
    assert_eq!(probe.calls().len(), 1);
}

#[tokio::test]
async fn item_30_container_runtime_requires_a_cluster() {
    let seed = Seed::new().await;
    seed.server
        .apply_yaml(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: no-cluster\n",
            "ns",
        )
        .unwrap();
    let probe = Probe::new();
    let manager = extension_framework::Manager::new("test").container_runtime(TYPE, probe.clone());
    let running = seed.start(manager).await;
    let api: kube::Api<ContainerRuntime> = kube::Api::namespaced(seed.client.clone(), "no-cluster");
    create(&api, &container_runtime("cr")).await;
    until(|| {
        metric(
            &running,
            "controller_runtime_reconcile_errors_total",
            "controller=\"containerruntime\"",
        ) >= 2.0
    })
    .await;
    assert!(
        probe.calls().is_empty(),
        "retried with backoff, actuator never called"
    );
    // With the Cluster present it works, and the actuator receives it.
    let ok: kube::Api<ContainerRuntime> = seed.api();
    create(&ok, &container_runtime("cr")).await;
    probe.wait_calls(1).await;
    assert!(probe.calls()[0].had_cluster);
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn item_32_33_class_and_type_filters() {
    let with_class = |name: &str, class: Option<ExtensionClass>, type_: &str| {
        let mut e = extension(name, &[]);
        e.spec.default_spec.class = class;
        e.spec.default_spec.type_ = type_.into();
        e
    };
    let shoot_only = EventFilter::new(Mode::OperationAnnotation, vec![], vec![TYPE.into()]);
    let seed_only = EventFilter::new(
        Mode::OperationAnnotation,
        vec![ExtensionClass::Seed],
        vec![TYPE.into()],
    );
    let both = EventFilter::new(
        Mode::OperationAnnotation,
        vec![ExtensionClass::Seed, ExtensionClass::Shoot],
        vec![TYPE.into()],
    );
    assert!(shoot_only.matches_class_and_type(&with_class("a", None, TYPE)));
    assert!(!seed_only.matches_class_and_type(&with_class("a", None, TYPE)));
    assert!(both.matches_class_and_type(&with_class("a", Some(ExtensionClass::Seed), TYPE)));
    assert!(
        !shoot_only.matches_class_and_type(&with_class("a", None, "other")),
        "item 33"
    );

    // Through the wiring: a seed-class controller ignores the unset-class object, a default one
    // reconciles it, and an object of another type is never reconciled.
    let seed = Seed::new().await;
    let probe = Probe::new();
    let mut options = seed.options();
    options.extension_classes = vec![ExtensionClass::Seed];
    let seed_controller = seed
        .start_with(extension_manager(&probe, Duration::ZERO), options)
        .await;
    let api = seed.extensions(NS);
    create(&api, &with_class("unset", None, TYPE)).await;
    create(
        &api,
        &with_class("seedclass", Some(ExtensionClass::Seed), TYPE),
    )
    .await;
    create(
        &api,
        &with_class("othertype", Some(ExtensionClass::Seed), "other"),
    )
    .await;
    seed.wait(NS, "seedclass", |e: &Extension| {
        last_op(e) == Some((Op::Create, State::Succeeded))
    })
    .await;
    seed_controller.shutdown().await.unwrap();
    assert_eq!(
        probe
            .calls()
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        ["seedclass"]
    );
}

#[tokio::test]
async fn item_34_35_36_update_admission() {
    let filter = EventFilter::new(Mode::OperationAnnotation, vec![], vec![]);
    let mut ext = extension("p", &[]);
    ext.metadata.resource_version = Some("1".into());
    assert!(
        filter.observe(&ext),
        "create without lastOperation is admitted"
    );
    // Item 34: a status-only update is rejected.
    let mut succeeded = ext.clone();
    succeeded.status = Some(serde_json::from_value(json!({"lastOperation": {"description": "", "lastUpdateTime": "2026-11-23T10:00:00Z", "progress": 100, "state": "Succeeded", "type": "Create"}})).unwrap());
    assert!(!filter.observe(&succeeded));
    // Item 35: reconcile/restore/migrate annotations are admitted; wait-for-state and unknown values are not.
    for (value, admitted) in [
        ("reconcile", true),
        ("restore", true),
        ("migrate", true),
        ("wait-for-state", false),
        ("ignore", false),
    ] {
        let mut annotated = succeeded.clone();
        annotated.metadata.annotations = Some(label_map(&[("gardener.cloud/operation", value)]));
        assert_eq!(filter.observe(&annotated), admitted, "{value}");
    }
    // Item 36: on a deleting object, an update with unchanged status is admitted, a status change is not.
    let mut deleting = succeeded.clone();
    deleting.metadata.deletion_timestamp = Some(
        k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(k8s_openapi::jiff::Timestamp::now()),
    );
    deleting.metadata.annotations = Some(label_map(&[(
        "confirmation.gardener.cloud/deletion",
        "true",
    )]));
    assert!(filter.observe(&deleting));
    let mut status_changed = deleting.clone();
    status_changed
        .status
        .as_mut()
        .unwrap()
        .default_status
        .observed_generation = Some(7);
    assert!(!filter.observe(&status_changed));
}

#[tokio::test]
async fn item_37_restart_reconciles_only_unfinished_objects() {
    let seed = Seed::new().await;
    let api = seed.extensions(NS);
    for (name, state) in [
        ("done", Some("Succeeded")),
        ("failed", Some("Error")),
        ("new", None),
    ] {
        let mut e = extension(name, &[]);
        e.metadata.finalizers = Some(vec!["extensions.gardener.cloud/t".into()]);
        create(&api, &e).await;
        if let Some(state) = state {
            let status = json!({"status": {"lastOperation": {"description": "", "lastUpdateTime": "2026-11-23T10:00:00Z", "progress": 100, "state": state, "type": "Reconcile"}}});
            api.patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
                .await
                .unwrap();
        }
    }
    let probe = Probe::new();
    let running = seed.start(extension_manager(&probe, Duration::ZERO)).await;
    seed.wait(NS, "failed", |e: &Extension| {
        last_op(e) == Some((Op::Reconcile, State::Succeeded))
    })
    .await;
    seed.wait(NS, "new", |e: &Extension| {
        last_op(e) == Some((Op::Create, State::Succeeded))
    })
    .await;
    let mut names: Vec<String> = probe.calls().into_iter().map(|c| c.name).collect();
    names.sort();
    assert_eq!(names, ["failed", "new"]);
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn item_38_failed_shoot_predicate_reads() {
    let seed = Seed::new().await;
    seed.server.apply_yaml("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shoot--gone--cluster\n  labels:\n    gardener.cloud/role: shoot\n", "ns").unwrap();
    use extension_framework::cluster::shoot_not_failed;
    assert!(shoot_not_failed(&seed.cache, NS).await);
    assert!(
        !shoot_not_failed(&seed.cache, "shoot--gone--cluster").await,
        "unreadable Cluster rejects"
    );
    assert!(
        shoot_not_failed(&seed.cache, "no-such-namespace").await,
        "outside shoot namespaces (by name, as Go's IsShootNamespace) everything passes"
    );
    seed.set_cluster(shoot("Failed", json!({}))).await;
    within(async {
        while shoot_not_failed(&seed.cache, NS).await {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn item_39_ignore_operation_annotation_uses_generation_changes() {
    let seed = Seed::new().await;
    let probe = Probe::new();
    let mut options = seed.options();
    options.ignore_operation_annotation = true;
    let running = seed
        .start_with(extension_manager(&probe, Duration::ZERO), options)
        .await;
    let api = seed.extensions(NS);
    create(&api, &extension("gen", &[])).await;
    seed.wait(NS, "gen", |e: &Extension| {
        last_op(e) == Some((Op::Create, State::Succeeded))
    })
    .await;
    // An annotation-only change does not trigger ...
    annotate(&api, "gen", Some("reconcile")).await;
    // ... a spec change (generation bump) does.
    change_spec(&api, "gen").await;
    seed.wait(NS, "gen", |e: &Extension| {
        e.status
            .as_ref()
            .and_then(|s| s.default_status.observed_generation)
            == Some(2)
    })
    .await;
    assert_eq!(probe.calls().len(), 2);
    // A Cluster change enqueues nothing: in Go its events are generic events, which the
    // failed-shoot predicate rejects.
    seed.set_cluster(shoot("Succeeded", json!({"changed": "yes"})))
        .await;
    create(&api, &extension("after", &[])).await;
    seed.wait(NS, "after", |e: &Extension| {
        last_op(e) == Some((Op::Create, State::Succeeded))
    })
    .await;
    let names: Vec<String> = probe.calls().into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["gen", "gen", "after"]);
    running.shutdown().await.unwrap();
}
