//! Checklist items 41–45: OperatingSystemConfig output.

use crate::harness::*;
use extension_framework::osc::{LegacyOutput, OscOutput};
use gardener_api::extensions::{
    InPlaceUpdatesStatus, LastOperationState as State, OperatingSystemConfig, OsUpdate, Unit,
    UnitCommand,
};
use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;
use kube::api::{Patch, PatchParams};
use serde_json::json;

fn succeeded(o: &OperatingSystemConfig) -> bool {
    o.status
        .as_ref()
        .and_then(|s| s.default_status.last_operation.as_ref())
        .is_some_and(|l| l.state == State::Succeeded)
}

fn manager(probe: &Probe, types: &[&str]) -> extension_framework::Manager {
    extension_framework::Manager::new("test").operating_system_config(types, probe.clone())
}

#[tokio::test]
async fn item_41_user_data_goes_into_the_result_secret() {
    let seed = Seed::new().await;
    let probe = Probe::new();
    probe.set_osc_output(OscOutput {
        user_data: Some(b"#!/bin/bash\necho hi\n".to_vec()),
        legacy: Some(LegacyOutput {
            command: Some("/usr/bin/env bash /var/lib/run.sh".into()),
            units: vec!["kubelet.service".into()],
            files: vec!["/etc/a".into()],
        }),
        ..OscOutput::default()
    });
    let running = seed.start(manager(&probe, &["coreos"])).await;
    let created = create(
        &seed.api::<OperatingSystemConfig>(),
        &osc("pool-init", "coreos"),
    )
    .await;
    seed.server.clear_requests();
    let done = seed.wait(NS, "pool-init", succeeded).await;
    let secret: Secret = seed
        .api::<Secret>()
        .get("osc-result-pool-init")
        .await
        .unwrap();
    assert_eq!(
        secret.data.unwrap()["cloud_config"].0,
        b"#!/bin/bash\necho hi\n"
    );
    let owner = &secret.metadata.owner_references.unwrap()[0];
    assert_eq!(
        (
            owner.kind.as_str(),
            owner.name.as_str(),
            owner.controller,
            owner.block_owner_deletion
        ),
        ("OperatingSystemConfig", "pool-init", Some(true), Some(true))
    );
    assert_eq!(owner.uid, created.metadata.uid.unwrap());
    let status = done.status.unwrap();
    let reference = status.cloud_config.unwrap().secret_ref;
    assert_eq!(
        (reference.name.as_deref(), reference.namespace.as_deref()),
        (Some("osc-result-pool-init"), Some(NS))
    );
    assert_eq!(
        status.command.as_deref(),
        Some("/usr/bin/env bash /var/lib/run.sh"),
        "legacy status fields for old gardenlets"
    );
    assert_eq!(status.units, Some(vec!["kubelet.service".to_string()]));
    // conventions §B.4: at most 5 writes for a first OSC reconcile including the result Secret.
    let writes = seed
        .server
        .requests()
        .into_iter()
        .filter(|r| r.is_write())
        .count();
    assert!(writes <= 5, "{writes} writes");
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn item_42_existing_secret_ref_is_reused() {
    let seed = Seed::new().await;
    let probe = Probe::new();
    probe.set_osc_output(OscOutput {
        user_data: Some(b"new".to_vec()),
        ..OscOutput::default()
    });
    let api = seed.api::<OperatingSystemConfig>();
    let uid = create(&api, &osc("reuse", "coreos")).await.uid().unwrap();
    api.patch_status(
        "reuse",
        &PatchParams::default(),
        &Patch::Merge(
            json!({"status": {"cloudConfig": {"secretRef": {"name": "custom", "namespace": NS}}}}),
        ),
    )
    .await
    .unwrap();
    seed.server
        .apply_yaml(&format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: custom\n  namespace: {NS}\n  ownerReferences:\n  - {{apiVersion: extensions.gardener.cloud/v1alpha1, kind: OperatingSystemConfig, name: reuse, uid: deleted-osc, controller: true}}\n  - {{apiVersion: v1, kind: ConfigMap, name: other, uid: other-owner}}\ndata:\n  keep: a2VlcA==\n  cloud_config: b2xk\n"), "secret")
        .unwrap();
    let running = seed.start(manager(&probe, &["coreos"])).await;
    seed.wait(NS, "reuse", succeeded).await;
    let secret = seed.api::<Secret>().get("custom").await.unwrap();
    let owners: Vec<(&str, Option<bool>)> = secret
        .metadata
        .owner_references
        .iter()
        .flatten()
        .map(|r| (r.uid.as_str(), r.controller))
        .collect();
    assert_eq!(
        owners,
        [("other-owner", None), (uid.as_str(), Some(true))],
        "this OSC replaces the earlier controller; other owners stay"
    );
    let data = secret.data.unwrap();
    assert_eq!(data["cloud_config"].0, b"new");
    assert_eq!(data["keep"].0, b"keep", "other keys are preserved");
    assert!(
        seed.api::<Secret>()
            .get_opt("osc-result-reuse")
            .await
            .unwrap()
            .is_none()
    );
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn item_43_44_reconcile_purpose_writes_units_and_in_place_updates_only() {
    let seed = Seed::new().await;
    let probe = Probe::new();
    let unit = Unit {
        name: "update-engine.service".into(),
        command: Some(UnitCommand::Stop),
        enable: Some(false),
        ..Unit::default()
    };
    probe.set_osc_output(OscOutput {
        user_data: None,
        extension_units: Some(vec![unit.clone()]),
        in_place_updates: Some(InPlaceUpdatesStatus {
            os_update: Some(OsUpdate {
                command: "/update".into(),
                args: None,
            }),
        }),
        ..OscOutput::default()
    });
    let running = seed.start(manager(&probe, &["coreos"])).await;
    let mut o = osc("pool-original", "coreos");
    o.spec.purpose = gardener_api::extensions::OperatingSystemConfigPurpose::Reconcile;
    create(&seed.api::<OperatingSystemConfig>(), &o).await;
    let done = seed.wait(NS, "pool-original", succeeded).await;
    let status = done.status.unwrap();
    assert_eq!(status.extension_units, Some(vec![unit]));
    assert!(
        status.cloud_config.is_none(),
        "item 43: no secret, cloudConfig untouched"
    );
    assert_eq!(
        status.in_place_updates.unwrap().os_update.unwrap().command,
        "/update",
        "item 44"
    );
    assert!(
        seed.api::<Secret>()
            .get_opt("osc-result-pool-original")
            .await
            .unwrap()
            .is_none()
    );
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn item_45_one_controller_serves_several_types() {
    let seed = Seed::new().await;
    let probe = Probe::new();
    let running = seed.start(manager(&probe, &["a", "b"])).await;
    let api = seed.api::<OperatingSystemConfig>();
    for (name, type_) in [("of-a", "a"), ("of-c", "c"), ("of-b", "b")] {
        create(&api, &osc(name, type_)).await;
    }
    seed.wait(NS, "of-a", succeeded).await;
    seed.wait(NS, "of-b", succeeded).await;
    running.shutdown().await.unwrap();
    let mut names: Vec<String> = probe.calls().into_iter().map(|c| c.name).collect();
    names.sort();
    assert_eq!(names, ["of-a", "of-b"]);
    assert!(api.get("of-c").await.unwrap().status.is_none());
}
