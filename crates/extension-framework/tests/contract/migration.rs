//! Checklist items 20–27: migrate and restore.

use crate::harness::*;
use gardener_api::extensions::{
    Extension, LastOperationState as State, LastOperationType as Op, OperatingSystemConfig,
};
use kube::ResourceExt;
use kube::api::{DeleteParams, Patch, PatchParams};
use serde_json::json;
use std::time::Duration;

async fn set_status(seed: &Seed, name: &str, status: serde_json::Value) {
    seed.extensions(NS)
        .patch_status(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({ "status": status })),
        )
        .await
        .unwrap();
}

fn op_json(type_: &str, state: &str) -> serde_json::Value {
    json!({"lastOperation": {"description": "x", "lastUpdateTime": "2026-11-23T10:00:00Z", "progress": 100, "state": state, "type": type_}})
}

#[tokio::test]
async fn item_20_migrate_removes_all_finalizers_then_the_annotation() {
    let seed = Seed::new().await;
    let probe = Probe::new();
    let running = seed.start(extension_manager(&probe, Duration::ZERO)).await;
    let api = seed.extensions(NS);
    let mut ext = extension("mig", &[]);
    ext.metadata.finalizers = Some(vec!["other.io/keep".into()]);
    create(&api, &ext).await;
    seed.wait(NS, "mig", |e: &Extension| {
        last_op(e) == Some((Op::Create, State::Succeeded))
    })
    .await;
    seed.server.clear_requests();
    annotate(&api, "mig", Some("migrate")).await;
    let migrated = seed
        .wait(NS, "mig", |e: &Extension| {
            last_op(e) == Some((Op::Migrate, State::Succeeded))
                && !e.annotations().contains_key("gardener.cloud/operation")
        })
        .await;
    assert!(
        migrated.finalizers().is_empty(),
        "all finalizers, including foreign ones, are removed"
    );
    assert_eq!(
        migrated
            .annotations()
            .get("gardener.cloud/timestamp")
            .map(String::as_str),
        Some("2026-11-23T10:00:00.123456789Z")
    );
    assert_eq!(
        migrated
            .status
            .unwrap()
            .default_status
            .last_operation
            .unwrap()
            .description,
        "Successfully migrated Extension resource"
    );
    assert_eq!(probe.methods(), ["reconcile", "migrate"]);
    let writes: Vec<String> = seed
        .server
        .requests()
        .into_iter()
        .filter(|r| {
            r.is_write() && r.resource == "extensions" && r.field_manager != "test-apiserver"
        })
        .skip(1) // the test's own annotation
        .map(|r| format!("{} {}", r.full_resource(), r.code))
        .collect();
    assert_eq!(
        writes,
        [
            "extensions/status 200",
            "extensions/status 200",
            "extensions 200",
            "extensions 200"
        ]
    );
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn item_21_23_migrate_wins_over_deletion_and_migrated_objects_are_inert() {
    let seed = Seed::new().await;
    let probe = Probe::new();
    let running = seed.start(extension_manager(&probe, Duration::ZERO)).await;
    let api = seed.extensions(NS);
    let mut ext = extension("gone", &[]);
    ext.metadata.finalizers = Some(vec![
        "extensions.gardener.cloud/t".into(),
        "other.io/keep".into(),
    ]);
    create(&api, &ext).await;
    seed.wait(NS, "gone", |e: &Extension| {
        last_op(e) == Some((Op::Create, State::Succeeded))
    })
    .await;
    api.delete("gone", &DeleteParams::default()).await.unwrap();
    seed.wait(NS, "gone", |e: &Extension| {
        last_op(e) == Some((Op::Delete, State::Succeeded))
    })
    .await;
    // Item 21 on another object: migrate annotation plus deletionTimestamp runs migrate.
    let mut both = extension("both", &[]);
    both.metadata.finalizers = Some(vec!["other.io/keep".into()]);
    create(&api, &both).await;
    seed.wait(NS, "both", |e: &Extension| {
        last_op(e) == Some((Op::Create, State::Succeeded))
    })
    .await;
    api.delete("both", &DeleteParams::default()).await.unwrap();
    // The delete path ran for "both" (its own finalizer is gone, other.io/keep holds it).
    seed.wait(NS, "both", |e: &Extension| {
        last_op(e) == Some((Op::Delete, State::Succeeded))
    })
    .await;
    // Re-add our finalizer is impossible on a deleting object; use a fresh deleting object instead.
    let mut m = extension("m21", &[("gardener.cloud/operation", "migrate")]);
    m.metadata.finalizers = Some(vec!["other.io/keep".into()]);
    create(&api, &m).await;
    api.delete("m21", &DeleteParams::default()).await.unwrap();
    within(kube::runtime::wait::await_condition(
        api.clone(),
        "m21",
        kube::runtime::conditions::is_deleted(""),
    ))
    .await
    .ok();
    until(|| probe.calls().iter().any(|c| c.name == "m21")).await;
    let m21: Vec<&'static str> = probe
        .calls()
        .iter()
        .filter(|c| c.name == "m21")
        .map(|c| c.method)
        .collect();
    assert_eq!(m21, ["migrate"], "item 21: the migrate path, not delete");

    // Item 23: (Migrate, Succeeded) without migrate/restore annotation: nothing happens, even with a
    // reconcile annotation.
    let inert = create(&api, &extension("inert", &[])).await;
    seed.wait(NS, "inert", |e: &Extension| {
        last_op(e) == Some((Op::Create, State::Succeeded))
    })
    .await;
    set_status(&seed, "inert", op_json("Migrate", "Succeeded")).await;
    let before = probe.calls().len();
    let successes = |r: &extension_framework::RunningExtension| {
        metric(
            r,
            "controller_runtime_reconcile_total",
            "controller=\"extension\",result=\"success\"",
        )
    };
    let successes_before = successes(&running);
    annotate(&api, "inert", Some("reconcile")).await;
    // The wrapper removes the reconcile annotation; the reconciler then skips the object.
    seed.wait(NS, "inert", |e: &Extension| {
        !e.annotations().contains_key("gardener.cloud/operation")
    })
    .await;
    until(|| successes(&running) > successes_before).await;
    assert_eq!(probe.calls().len(), before);
    let after = api.get("inert").await.unwrap();
    assert_eq!(last_op(&after), Some((Op::Migrate, State::Succeeded)));
    let _ = inert;
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn item_22_failed_migration_continues_without_annotation() {
    let seed = Seed::new().await;
    let probe = Probe::new();
    probe.then("migrate", Step::Fail("try again".into()));
    let running = seed.start(extension_manager(&probe, Duration::ZERO)).await;
    let api = seed.extensions(NS);
    create(&api, &extension("again", &[])).await;
    seed.wait(NS, "again", |e: &Extension| {
        last_op(e) == Some((Op::Create, State::Succeeded))
    })
    .await;
    let history = seed.history::<Extension>(NS, "again").await;
    annotate(&api, "again", Some("migrate")).await;
    let failed = history
        .wait(|e: &Extension| last_op(e) == Some((Op::Migrate, State::Error)))
        .await;
    assert_eq!(
        failed
            .annotations()
            .get("gardener.cloud/operation")
            .map(String::as_str),
        Some("migrate")
    );
    // Remove the annotation: lastOperation (Migrate, Error) alone makes the retry a migrate.
    annotate(&api, "again", None).await;
    seed.wait(NS, "again", |e: &Extension| {
        last_op(e) == Some((Op::Migrate, State::Succeeded))
    })
    .await;
    assert_eq!(probe.methods(), ["reconcile", "migrate", "migrate"]);
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn item_24_osc_migrate_without_finalizer_is_a_no_op() {
    let seed = Seed::new().await;
    let probe = Probe::new();
    let api = seed.api::<OperatingSystemConfig>();
    let mut o = osc("no-finalizer", "coreos");
    o.metadata.annotations = Some(label_map(&[("gardener.cloud/operation", "migrate")]));
    create(&api, &o).await;
    let manager = extension_framework::Manager::new("test")
        .operating_system_config(&["coreos"], probe.clone());
    let running = seed.start(manager).await;
    until(|| {
        metric(
            &running,
            "controller_runtime_reconcile_total",
            "controller=\"operatingsystemconfig\",result=\"success\"",
        ) >= 1.0
    })
    .await;
    assert!(probe.calls().is_empty());
    assert!(api.get("no-finalizer").await.unwrap().status.is_none());
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn item_25_26_restore_reads_state_and_removes_the_annotation_after_success() {
    let seed = Seed::new().await;
    let probe = Probe::new();
    probe.then("restore", Step::Fail("not ready".into()));
    let api = seed.extensions(NS);
    // gardenlet's restore flow: create with wait-for-state, write status.state, then annotate restore.
    create(
        &api,
        &extension("res", &[("gardener.cloud/operation", "wait-for-state")]),
    )
    .await;
    let running = seed.start(extension_manager(&probe, Duration::ZERO)).await;
    set_status(&seed, "res", json!({"state": {"saved": "value"}})).await;
    let history = seed.history::<Extension>(NS, "res").await;
    annotate(&api, "res", Some("restore")).await;
    // Item 26: a failing restore keeps the annotation and records (Restore, Error).
    let failed = history
        .wait(|e: &Extension| last_op(e) == Some((Op::Restore, State::Error)))
        .await;
    assert_eq!(
        failed
            .annotations()
            .get("gardener.cloud/operation")
            .map(String::as_str),
        Some("restore")
    );
    assert_eq!(
        failed.finalizers(),
        ["extensions.gardener.cloud/t"],
        "finalizer added before restore"
    );
    // Item 25: the retry succeeds and removes the annotation, keeping the timestamp.
    let done = seed
        .wait(NS, "res", |e: &Extension| {
            last_op(e) == Some((Op::Restore, State::Succeeded))
                && !e.annotations().contains_key("gardener.cloud/operation")
        })
        .await;
    assert!(done.annotations().contains_key("gardener.cloud/timestamp"));
    let calls = probe.calls();
    assert_eq!(
        calls.iter().map(|c| c.method).collect::<Vec<_>>(),
        ["restore", "restore"],
        "item 2: wait-for-state did nothing; our own writes trigger nothing"
    );
    assert_eq!(
        calls[0].state,
        Some(json!({"saved": "value"})),
        "Restore can read status.state"
    );
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn item_02_27_wait_for_state_does_nothing_and_restore_with_deletion_deletes() {
    let seed = Seed::new().await;
    let probe = Probe::new();
    let api = seed.extensions(NS);
    let mut waiting = extension("waiting", &[("gardener.cloud/operation", "wait-for-state")]);
    waiting.metadata.finalizers = Some(vec!["extensions.gardener.cloud/t".into()]);
    create(&api, &waiting).await;
    let mut restoring = extension("restoring", &[("gardener.cloud/operation", "restore")]);
    restoring.metadata.finalizers = Some(vec!["extensions.gardener.cloud/t".into()]);
    create(&api, &restoring).await;
    api.delete("restoring", &DeleteParams::default())
        .await
        .unwrap();
    seed.server.clear_requests();
    let running = seed.start(extension_manager(&probe, Duration::ZERO)).await;
    probe.wait_calls(1).await;
    until(|| {
        metric(
            &running,
            "controller_runtime_reconcile_total",
            "controller=\"extension\",result=\"success\"",
        ) >= 2.0
    })
    .await;
    assert_eq!(
        probe.methods(),
        ["delete"],
        "item 27: restore + deletionTimestamp takes the delete path"
    );
    assert!(
        api.get("waiting").await.unwrap().status.is_none(),
        "item 2: no status change"
    );
    assert!(
        seed.server
            .requests()
            .iter()
            .all(|r| !(r.is_write() && r.name == "waiting")),
        "item 2: no write at all for wait-for-state"
    );
    running.shutdown().await.unwrap();
}

/// One gardenlet request is one actuator call: a restore found at start-up runs once, and nothing
/// afterwards overwrites its `Restore` record.
#[tokio::test]
async fn restore_after_restart_runs_exactly_once() {
    let seed = Seed::new().await;
    let probe = Probe::new();
    let api = seed.extensions(NS);
    let mut restoring = extension("res", &[("gardener.cloud/operation", "restore")]);
    restoring.metadata.finalizers = Some(vec!["extensions.gardener.cloud/t".into()]);
    create(&api, &restoring).await;
    set_status(&seed, "res", json!({"state": {"saved": "value"}})).await;
    let history = seed.history::<Extension>(NS, "res").await;
    let running = seed.start(extension_manager(&probe, Duration::ZERO)).await;
    history
        .wait(|e: &Extension| {
            last_op(e) == Some((Op::Restore, State::Succeeded))
                && !e.annotations().contains_key("gardener.cloud/operation")
        })
        .await;
    // A later object passes through the same queue; once it is done, any rerun of "res" would be.
    create(&api, &extension("later", &[])).await;
    seed.wait(NS, "later", |e: &Extension| {
        last_op(e) == Some((Op::Create, State::Succeeded))
    })
    .await;
    let calls: Vec<(String, &str)> = probe
        .calls()
        .into_iter()
        .map(|c| (c.name, c.method))
        .collect();
    assert_eq!(
        calls,
        [
            ("res".to_string(), "restore"),
            ("later".to_string(), "reconcile")
        ]
    );
    assert_eq!(
        last_op(&api.get("res").await.unwrap()),
        Some((Op::Restore, State::Succeeded))
    );
    running.shutdown().await.unwrap();
}
