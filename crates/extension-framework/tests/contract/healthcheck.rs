//! Checklist items 49–53: the healthcheck controller and the condition builder.

use crate::harness::*;
use extension_framework::Manager;
use extension_framework::healthcheck::{
    HealthCheckRegistration, ManagedResourceCheck, Verdict, build_condition,
};
use gardener_api::extensions::{Condition, ConditionStatus, Extension};
use gardener_api::resources::ManagedResource;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Patch, PatchParams};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

fn condition(e: &Extension) -> Option<Condition> {
    e.status
        .as_ref()?
        .default_status
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "SystemComponentsHealthy")
        .cloned()
}

/// Health reconciles that ran without error.
fn health_checks(running: &extension_framework::RunningExtension) -> f64 {
    metric(
        running,
        "controller_runtime_reconcile_total",
        "controller=\"healthcheck-extension\",result=\"success\"",
    )
}

fn health_manager(sync: Duration) -> Manager {
    Manager::new("test").with(
        HealthCheckRegistration::<Extension>::new(TYPE, sync).condition(
            "SystemComponentsHealthy",
            vec![Arc::new(ManagedResourceCheck::new("extension-t"))],
        ),
    )
}

#[tokio::test]
async fn item_49_50_managed_resource_check_sets_the_condition() {
    let seed = Seed::new().await;
    create(&seed.extensions(NS), &extension("hc", &[])).await;
    let running = seed.start(health_manager(Duration::from_millis(200))).await;
    // Item 49: MR missing => False / HealthCheckUnsuccessful / "not found", requeued every sync period.
    let missing = seed
        .wait(NS, "hc", |e: &Extension| condition(e).is_some())
        .await;
    let c = condition(&missing).unwrap();
    assert_eq!(
        (c.status, c.reason.as_str()),
        (ConditionStatus::False, "HealthCheckUnsuccessful")
    );
    assert!(c.message.contains("not found"), "{}", c.message);
    // Item 50: a healthy MR turns it True after the next sync.
    extension_framework::managed_resources::create_for_shoot(
        &seed.client,
        NS,
        "extension-t",
        "o",
        false,
        [("a".to_string(), b"x".to_vec())].into(),
    )
    .await
    .unwrap();
    let status = json!({"status": {"observedGeneration": 1, "conditions": [
        {"type": "ResourcesApplied", "status": "True", "reason": "ApplySucceeded", "message": "", "lastTransitionTime": "2026-11-23T10:00:00Z", "lastUpdateTime": "2026-11-23T10:00:00Z"},
        {"type": "ResourcesHealthy", "status": "True", "reason": "ResourcesHealthy", "message": "", "lastTransitionTime": "2026-11-23T10:00:00Z", "lastUpdateTime": "2026-11-23T10:00:00Z"}]}});
    seed.api::<ManagedResource>()
        .patch_status(
            "extension-t",
            &PatchParams::default(),
            &Patch::Merge(&status),
        )
        .await
        .unwrap();
    let healthy = seed
        .wait(NS, "hc", |e: &Extension| {
            condition(e).is_some_and(|c| c.status == ConditionStatus::True)
        })
        .await;
    let c = condition(&healthy).unwrap();
    assert_eq!(
        (c.reason.as_str(), c.message.as_str()),
        ("HealthCheckSuccessful", "All health checks successful")
    );
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn item_51_hibernated_shoot_is_healthy_without_checks() {
    let seed = Seed::new().await;
    let mut hibernated = shoot("Succeeded", json!({}));
    hibernated["spec"]["hibernation"] = json!({"enabled": true});
    seed.set_cluster(hibernated).await;
    create(&seed.extensions(NS), &extension("sleepy", &[])).await;
    let running = seed.start(health_manager(Duration::from_millis(100))).await;
    let done = seed
        .wait(NS, "sleepy", |e: &Extension| condition(e).is_some())
        .await;
    let c = condition(&done).unwrap();
    assert_eq!(
        (c.status, c.message.as_str()),
        (ConditionStatus::True, "Shoot is hibernated")
    );
    // No requeue: the ManagedResource is never read.
    assert!(
        seed.server
            .requests()
            .iter()
            .all(|r| r.resource != "managedresources")
    );
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn item_52_migrating_or_deleting_objects_are_not_touched() {
    let seed = Seed::new().await;
    let api = seed.extensions(NS);
    create(
        &api,
        &extension("migrating", &[("gardener.cloud/operation", "migrate")]),
    )
    .await;
    let mut deleting = extension("deleting", &[]);
    deleting.metadata.finalizers = Some(vec!["x/y".into()]);
    create(&api, &deleting).await;
    api.delete("deleting", &Default::default()).await.unwrap();
    create(&api, &extension("normal", &[])).await;
    // A sync period longer than the test: each object is checked once, at the start.
    let running = seed.start(health_manager(Duration::from_secs(3600))).await;
    seed.wait(NS, "normal", |e: &Extension| condition(e).is_some())
        .await;
    // The health check has looked at all three objects and left two alone.
    until(|| health_checks(&running) >= 3.0).await;
    assert!(
        seed.server
            .requests()
            .iter()
            .all(|r| !(r.verb == "get" && r.resource == "extensions")),
        "the checks read the watch's copies, as Go's cached reads"
    );
    assert!(condition(&api.get("migrating").await.unwrap()).is_none());
    assert!(condition(&api.get("deleting").await.unwrap()).is_none());
    running.shutdown().await.unwrap();
}

#[test]
fn item_53_condition_builder_keeps_times_for_identical_results() {
    let t0 = Time(k8s_openapi::jiff::Timestamp::from_second(1_700_000_000).unwrap());
    let t1 = Time(k8s_openapi::jiff::Timestamp::from_second(1_700_000_100).unwrap());
    let ok = || Verdict {
        status: ConditionStatus::True,
        reason: "HealthCheckSuccessful".into(),
        message: "All health checks successful".into(),
        codes: vec![],
    };
    let first = build_condition("X", None, ok(), t0.clone());
    assert_eq!(
        (
            first.last_transition_time.clone(),
            first.last_update_time.clone()
        ),
        (t0.clone(), t0.clone())
    );
    let same = build_condition("X", Some(&first), ok(), t1.clone());
    assert_eq!(
        (
            same.last_transition_time.clone(),
            same.last_update_time.clone()
        ),
        (t0.clone(), t0.clone())
    );
    let mut changed_message = ok();
    changed_message.message = "other".into();
    let updated = build_condition("X", Some(&first), changed_message, t1.clone());
    assert_eq!(
        (
            updated.last_transition_time.clone(),
            updated.last_update_time.clone()
        ),
        (t0.clone(), t1.clone())
    );
    let failed = build_condition(
        "X",
        Some(&first),
        Verdict {
            status: ConditionStatus::False,
            reason: String::new(),
            message: String::new(),
            codes: vec![],
        },
        t1.clone(),
    );
    assert_eq!(failed.last_transition_time, t1);
    assert_eq!(
        (failed.reason.as_str(), failed.message.as_str()),
        ("Unspecified", "No message given.")
    );
}

/// As controller-runtime's shared informers: the lifecycle controller and the health checks of a
/// kind read one watch. The health checks still see every new object and every spec change.
#[tokio::test]
async fn the_health_checks_follow_the_lifecycle_controllers_watch() {
    let seed = Seed::new().await;
    let api = seed.extensions(NS);
    create(&api, &extension("hc", &[])).await;
    // Already reconciled: the lifecycle controller leaves it alone, so that no status write of
    // its own races the health check's.
    let done = json!({"status": {"observedGeneration": 1, "lastOperation": {
        "type": "Create", "state": "Succeeded", "progress": 100, "description": "",
        "lastUpdateTime": "2026-11-23T10:00:00Z"}}});
    api.patch_status("hc", &PatchParams::default(), &Patch::Merge(&done))
        .await
        .unwrap();
    let probe = Probe::new();
    // A sync period longer than the test: a second check can only come from the watch.
    let checks = HealthCheckRegistration::<Extension>::new(TYPE, Duration::from_secs(3600))
        .condition(
            "SystemComponentsHealthy",
            vec![Arc::new(ManagedResourceCheck::new("extension-t"))],
        );
    let running = seed
        .start(extension_manager(&probe, Duration::ZERO).with(checks))
        .await;
    seed.wait(NS, "hc", |e: &Extension| condition(e).is_some())
        .await;
    let before = health_checks(&running);
    // A spec change (new generation) without the operation annotation: the lifecycle controller
    // leaves it alone, the health checks look again.
    change_spec(&api, "hc").await;
    until(|| health_checks(&running) > before).await;
    let unnamed_lists = seed
        .server
        .requests()
        .iter()
        .filter(|r| r.verb == "list" && r.resource == "extensions" && r.name.is_empty())
        .count();
    assert_eq!(
        unnamed_lists, 1,
        "one list of the kind for both controllers"
    );
    running.shutdown().await.unwrap();
}
