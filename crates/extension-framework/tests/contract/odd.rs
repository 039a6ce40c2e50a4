//! One odd object never stops a controller: objects Go reads without complaint (and one that does
//! not decode at all) sit beside a normal object, which still reaches `Succeeded`.

use crate::harness::*;
use gardener_api::extensions::{
    ErrorCode, Extension, LastOperationState as State, LastOperationType as Op,
};
use serde_json::{Value, json};
use std::time::Duration;

/// An Extension of type `t` written as raw JSON (status through the status subresource).
fn raw(name: &str, spec: Value, status: Value) -> String {
    json!({
        "apiVersion": "extensions.gardener.cloud/v1alpha1", "kind": "Extension",
        "metadata": {"name": name, "namespace": NS, "annotations": {"gardener.cloud/operation": "reconcile"}},
        "spec": spec, "status": status,
    })
    .to_string()
}

fn succeeded(e: &Extension) -> bool {
    matches!(
        last_op(e),
        Some((Op::Create | Op::Reconcile, State::Succeeded))
    )
}

#[tokio::test]
async fn odd_objects_beside_a_normal_one() {
    let seed = Seed::new().await;
    // A Cluster whose shoot lastOperation lacks description and lastUpdateTime, and whose
    // condition has no reason and a null time (the CRD keeps the shoot blob as it is).
    seed.set_cluster(json!({
        "apiVersion": "core.gardener.cloud/v1beta1", "kind": "Shoot",
        "metadata": {"name": "bar", "namespace": "garden-foo"},
        "status": {"lastOperation": {"progress": 100, "state": "Succeeded", "type": "Reconcile"},
                   "conditions": [{"type": "APIServerAvailable", "status": "True", "lastTransitionTime": null, "message": "m"}]}
    }))
    .await;
    let time = "2026-11-23T10:00:00Z";
    let reconciled: Vec<(&str, String)> = vec![
        (
            "unknown-code",
            raw(
                "unknown-code",
                json!({"type": TYPE}),
                json!({"lastError": {"description": "x", "codes": ["ERR_FROM_THE_FUTURE"]}}),
            ),
        ),
        (
            "live-migrate",
            raw(
                "live-migrate",
                json!({"type": TYPE}),
                json!({"lastOperation": {"description": "d", "lastUpdateTime": time, "progress": 5, "state": "Processing", "type": "LiveMigrate"}}),
            ),
        ),
    ];
    let ignored = [
        raw("moon", json!({"type": TYPE, "class": "moon"}), json!({})),
        raw("empty-class", json!({"type": TYPE, "class": ""}), json!({})),
        raw(
            "other-type",
            json!({"type": "other", "class": "moon"}),
            json!({}),
        ),
        // Valid for the schema, but no i32: this one does not decode at all.
        raw(
            "undecodable",
            json!({"type": TYPE}),
            json!({"lastOperation": {"description": "d", "lastUpdateTime": time, "progress": 99_999_999_999_i64, "state": "Succeeded", "type": "Create"}}),
        ),
    ];
    for (i, doc) in reconciled
        .iter()
        .map(|(_, d)| d)
        .chain(&ignored)
        .enumerate()
    {
        seed.server.apply_yaml(doc, &format!("odd-{i}")).unwrap();
    }
    let probe = Probe::new();
    let running = seed.start(extension_manager(&probe, Duration::ZERO)).await;
    create(&seed.extensions(NS), &extension("normal", &[])).await;
    seed.wait(NS, "normal", succeeded).await;
    for (name, _) in &reconciled {
        let done = seed.wait(NS, name, succeeded).await;
        let status = done.status.unwrap().default_status;
        assert!(
            status.last_error.is_none(),
            "{name}: the old error and its codes are gone"
        );
    }
    // The controller is ready: the odd objects did not fail its list.
    assert_eq!(
        http_get(running.health_addr.unwrap(), "/readyz").await.0,
        200
    );
    let handled: Vec<String> = probe.calls().into_iter().map(|c| c.name).collect();
    for name in ["moon", "empty-class", "other-type", "undecodable"] {
        assert!(
            !handled.contains(&name.to_string()),
            "{name} is not ours or not readable"
        );
    }
    // The unknown code round-tripped untouched until our Succeeded cleared lastError.
    assert_eq!(
        ErrorCode::from("ERR_FROM_THE_FUTURE").as_str(),
        "ERR_FROM_THE_FUTURE"
    );
    running.shutdown().await.unwrap();
}
