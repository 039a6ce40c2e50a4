//! Hostile objects: very large, deeply nested, binary Secret data. Each ends in `Succeeded` or in
//! `Error` with a clear `lastError`, and the processes keep serving the objects beside them.

use crate::common::{
    Fixture, Started, Watched, extension, http_get, osc, start_extension, wait_for, wait_succeeded,
};
use base64::Engine;
use gardener_api::extensions::{
    DefaultStatus, Extension, LastOperationState, OperatingSystemConfig,
};
use kube::api::{Api, PostParams};
use reliability::NS;
use serde_json::{Value, json};
use std::time::Duration;

/// `{"a": {"a": ... "leaf" ...}}`, `depth` objects deep.
fn nested(depth: usize) -> Value {
    (0..depth).fold(json!("leaf"), |inner, _| json!({ "a": inner }))
}

/// shoot-flux's Extension (one per shoot namespace, named after the extension).
fn flux_extension(provider_config: Value) -> Extension {
    serde_json::from_value(json!({
        "apiVersion": "extensions.gardener.cloud/v1alpha1", "kind": "Extension",
        "metadata": {"name": "shoot-flux", "namespace": NS, "annotations": {"gardener.cloud/operation": "reconcile"}},
        "spec": {"type": "shoot-flux", "providerConfig": provider_config}
    }))
    .expect("a valid Extension")
}

/// Waits until the object ends in `Succeeded` or `Error`, and returns its status.
async fn finished<K: Watched>(api: &Api<K>, name: &str) -> DefaultStatus {
    let object = wait_for(api, name, Duration::from_secs(60), |o: &K| {
        o.default_status()
            .and_then(|s| s.last_operation.as_ref())
            .is_some_and(|op| {
                matches!(
                    op.state,
                    LastOperationState::Succeeded | LastOperationState::Error
                )
            })
    })
    .await;
    object.default_status().cloned().expect("a status")
}

/// An `Error` must say what is wrong in a few lines, not echo the object.
fn assert_clear(name: &str, status: &DefaultStatus) {
    let op = status.last_operation.as_ref().expect("a last operation");
    if op.state == LastOperationState::Error {
        let error = status.last_error.as_ref().expect("an error has lastError");
        assert!(
            !error.description.is_empty() && error.description.len() < 2048,
            "{name}: {:?}",
            error.description
        );
    }
    println!(
        "hostile: {name}: {:?}: {}",
        op.state,
        status
            .last_error
            .as_ref()
            .map(|e| e.description.as_str())
            .unwrap_or("")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_objects_fail_clearly_and_the_rest_keeps_reconciling() {
    let fixture = Fixture::new().await;
    let (_stop, stop) = tokio::sync::watch::channel(false);
    extension_framework::dev::resource_manager(fixture.client.clone(), stop);
    let binary_data =
        base64::engine::general_purpose::STANDARD.encode([0xff, 0xfe, 0x00, 0xc3, 0x28, 0x80]);
    fixture
        .server
        .apply_yaml(
            &json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "binary", "namespace": NS},
                    "data": {"blob": binary_data}})
            .to_string(),
            "binary secret",
        )
        .unwrap();
    let started: Vec<Started> = [
        "gardener-extension-mwe",
        "gardener-extension-os-coreos",
        "gardener-extension-shoot-flux",
    ]
    .iter()
    .map(|name| start_extension(&fixture, name, &[]))
    .collect();
    let pp = PostParams::default();
    let extensions: Api<Extension> = Api::namespaced(fixture.client.clone(), NS);
    let oscs: Api<OperatingSystemConfig> = Api::namespaced(fixture.client.clone(), NS);

    // Deep: 100 levels (the JSON decoders of kube-rs and of the test API server stop at 128).
    let deep = flux_extension(nested(100));
    extensions.create(&pp, &deep).await.unwrap();
    let status = finished(&extensions, "shoot-flux").await;
    assert_eq!(
        status.last_operation.as_ref().map(|o| o.state.clone()),
        Some(LastOperationState::Error)
    );
    assert_clear("providerConfig nested 100 deep", &status);
    let codes = status.last_error.and_then(|e| e.codes).unwrap_or_default();
    assert!(
        codes.contains(&gardener_api::extensions::ErrorCode::ConfigurationProblem),
        "{codes:?}"
    );

    // Large: a 1 MiB OSC (within etcd's 1.5 MiB) renders or fails, nothing in between.
    let mut large = osc("large");
    large.spec.files = serde_json::from_value(json!([
        {"path": "/etc/large", "content": {"inline": {"data": "x".repeat(1 << 20)}}}
    ]))
    .unwrap();
    oscs.create(&pp, &large).await.unwrap();
    assert_clear("1 MiB OSC", &finished(&oscs, "large").await);

    // Binary Secret data (not UTF-8) in a file of the user data (the cloud-config format is
    // covered by os-coreos's property tests).
    let mut object = osc("binary");
    object.spec.files = serde_json::from_value(json!([
        {"path": "/etc/blob", "content": {"secretRef": {"name": "binary", "dataKey": "blob"}}}
    ]))
    .unwrap();
    oscs.create(&pp, &object).await.unwrap();
    assert_clear("binary Secret data", &finished(&oscs, "binary").await);

    // Beside all that, ordinary objects still reconcile and every process still serves.
    extensions.create(&pp, &extension("plain")).await.unwrap();
    oscs.create(&pp, &osc("plain")).await.unwrap();
    wait_succeeded(&extensions, "plain", Duration::from_secs(30)).await;
    wait_succeeded(&oscs, "plain", Duration::from_secs(30)).await;
    for s in &started {
        assert_eq!(
            http_get(s.health, "/healthz").await.map(|(code, _)| code),
            Some(200),
            "{}",
            s.process.output().join("\n")
        );
    }
}
