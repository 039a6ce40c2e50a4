//! Checklist items 16–19: the delete path, force deletion and finalizer handling.

use crate::harness::*;
use gardener_api::extensions::{Extension, LastOperationState as State, LastOperationType as Op};
use kube::ResourceExt;
use kube::api::DeleteParams;
use serde_json::json;
use std::time::Duration;

async fn reconciled(seed: &Seed, name: &str, finalizers: &[&str]) -> Extension {
    let mut ext = extension(name, &[]);
    ext.metadata.finalizers = Some(finalizers.iter().map(|f| f.to_string()).collect());
    create(&seed.extensions(NS), &ext).await;
    seed.wait(NS, name, |e: &Extension| {
        last_op(e) == Some((Op::Create, State::Succeeded))
    })
    .await
}

#[tokio::test]
async fn item_16_delete_removes_only_its_own_finalizer() {
    let seed = Seed::new().await;
    let probe = Probe::new();
    let running = seed.start(extension_manager(&probe, Duration::ZERO)).await;
    reconciled(&seed, "del", &["other.io/keep"]).await;
    seed.server.clear_requests();
    seed.extensions(NS)
        .delete("del", &DeleteParams::default())
        .await
        .unwrap();
    let deleted = seed
        .wait(NS, "del", |e: &Extension| {
            e.finalizers() == ["other.io/keep"]
        })
        .await;
    let op = deleted
        .status
        .unwrap()
        .default_status
        .last_operation
        .unwrap();
    assert_eq!(
        (op.type_, op.state, op.progress),
        (Op::Delete, State::Succeeded, 100)
    );
    assert_eq!(op.description, "Successfully deleted the Extension");
    assert_eq!(probe.methods(), ["reconcile", "delete"]);
    // Processing, Succeeded, then the finalizer removal.
    let writes: Vec<String> = seed
        .server
        .requests()
        .into_iter()
        .filter(|r| r.is_write() && r.resource == "extensions" && r.verb != "delete")
        .map(|r| r.full_resource())
        .collect();
    assert_eq!(
        writes,
        ["extensions/status", "extensions/status", "extensions"]
    );
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn item_17_deleting_object_without_finalizer_is_left_alone() {
    let seed = Seed::new().await;
    let probe = Probe::new();
    let api = seed.extensions(NS);
    let mut ext = extension("foreign", &[]);
    ext.metadata.finalizers = Some(vec!["other.io/keep".into()]);
    create(&api, &ext).await;
    api.delete("foreign", &DeleteParams::default())
        .await
        .unwrap();
    seed.server.clear_requests();
    let running = seed.start(extension_manager(&probe, Duration::ZERO)).await;
    // The deleting object is admitted as a Create event at startup and reconciled as a no-op.
    until(|| {
        metric(
            &running,
            "controller_runtime_reconcile_total",
            "controller=\"extension\",result=\"success\"",
        ) >= 1.0
    })
    .await;
    assert!(probe.calls().is_empty());
    assert!(
        seed.server
            .requests()
            .iter()
            .all(|r| !(r.is_write() && r.resource == "extensions"))
    );
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn item_18_force_deletion_annotation_routes_to_force_delete() {
    for (value, expected) in [("true", "force_delete"), ("false", "delete")] {
        let seed = Seed::new().await;
        seed.set_cluster(shoot(
            "Succeeded",
            json!({"confirmation.gardener.cloud/force-deletion": value}),
        ))
        .await;
        let probe = Probe::new();
        let running = seed.start(extension_manager(&probe, Duration::ZERO)).await;
        reconciled(&seed, "force", &[]).await;
        seed.extensions(NS)
            .delete("force", &DeleteParams::default())
            .await
            .unwrap();
        probe.wait_calls(2).await;
        assert_eq!(
            probe.methods(),
            ["reconcile", expected],
            "force-deletion={value}"
        );
        running.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn item_19_failed_delete_keeps_the_finalizer_and_retries() {
    let seed = Seed::new().await;
    let probe = Probe::new();
    probe.then("delete", Step::Fail("still in use".into()));
    let running = seed.start(extension_manager(&probe, Duration::ZERO)).await;
    reconciled(&seed, "stuck", &[]).await;
    let history = seed.history::<Extension>(NS, "stuck").await;
    seed.extensions(NS)
        .delete("stuck", &DeleteParams::default())
        .await
        .unwrap();
    let failed = history
        .wait(|e: &Extension| last_op(e) == Some((Op::Delete, State::Error)))
        .await;
    assert_eq!(failed.finalizers(), ["extensions.gardener.cloud/t"]);
    let status = failed.status.unwrap().default_status;
    assert_eq!(
        status.last_error.unwrap().description,
        "Error deleting the Extension: still in use"
    );
    // The backoff retry succeeds and the object goes away.
    let api = seed.extensions(NS);
    within(kube::runtime::wait::await_condition(
        api,
        "stuck",
        kube::runtime::conditions::is_deleted(&failed.metadata.uid.clone().unwrap()),
    ))
    .await
    .unwrap();
    assert_eq!(probe.methods(), ["reconcile", "delete", "delete"]);
    running.shutdown().await.unwrap();
}
