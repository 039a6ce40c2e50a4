//! Security: every binary over TLS with a bearer token, a clear error for a wrong token, and a
//! sentinel secret that must never leave a Secret.

use crate::common::{
    Fixture, Started, binary, extension, extension_args, free_port, http_get, osc, start_extension,
    wait_for, wait_succeeded,
};
use base64::Engine;
use gardener_api::extensions::{
    ContainerRuntime, Extension, LastOperationState, OperatingSystemConfig,
};
use kube::api::{Api, DynamicObject, ListParams, PostParams};
use kube::discovery::ApiResource;
use reliability::{NS, Process, shoot_cluster};
use serde_json::{Value, json};
use std::time::Duration;
use test_apiserver::TestApiServer;

const EXTENSIONS: [&str; 4] = [
    "gardener-extension-mwe",
    "gardener-extension-os-coreos",
    "gardener-extension-runtime-gvisor",
    "gardener-extension-shoot-flux",
];

async fn until_ready(started: &Started) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some((200, _)) = http_get(started.health, "/readyz").await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not ready within 30 s; output:\n{}",
            started.process.output().join("\n")
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_binary_runs_over_tls_with_a_token_and_names_the_server_when_it_is_rejected() {
    let fixture = Fixture::with(TestApiServer::builder().tls(true).token("s3cret-token")).await;
    assert!(fixture.server.url().starts_with("https://"));
    for name in EXTENSIONS {
        let started = start_extension(&fixture, name, &[]);
        until_ready(&started).await;
    }
    let wrong = fixture
        .server
        .kubeconfig_yaml()
        .replace("s3cret-token", "wrong-token");
    assert_ne!(wrong, fixture.server.kubeconfig_yaml());
    for name in EXTENSIONS {
        let args = extension_args(name, free_port(), free_port());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut process = Process::start_with_kubeconfig(&binary(name), &wrong, &args);
        let status = process.wait(Duration::from_secs(15)).await;
        let output = process.output().join("\n");
        assert!(
            !status.success(),
            "{name} must not run with a rejected token"
        );
        assert!(
            output.contains(fixture.server.url()) && output.contains("credentials"),
            "{name}: the error names the server and the cause:\n{output}"
        );
        assert!(!output.contains("wrong-token"), "{name} logged the token");
    }
}

const SENTINEL: &str = "sentinel-7f3a9c51-must-not-leak";

fn secret(name: &str, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": NS}, "stringData": data})
}

/// Where a sentinel could leak: the process output, events, the status of every extension object
/// and `/metrics`. Raw or base64-encoded (a Secret printed as JSON) both count.
fn leaks(text: &str) -> bool {
    let encoded = base64::engine::general_purpose::STANDARD.encode(SENTINEL);
    text.contains(SENTINEL) || text.contains(&encoded)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sentinel_secret_never_reaches_logs_events_status_or_metrics() {
    let fixture = Fixture::new().await;
    let (_stop, stop) = tokio::sync::watch::channel(false);
    extension_framework::dev::resource_manager(fixture.client.clone(), stop);
    let mut cluster = shoot_cluster(NS);
    cluster["spec"]["shoot"]["spec"]["resources"] = json!([
        {"name": "flux-ssh", "resourceRef": {"apiVersion": "v1", "kind": "Secret", "name": "ssh"}},
        {"name": "vault", "resourceRef": {"apiVersion": "v1", "kind": "Secret", "name": "vault-token"}}]);
    cluster["spec"]["shoot"]["status"]["clusterIdentity"] = json!("id");
    for manifest in [
        cluster,
        secret("ref-ssh", json!({"identity": SENTINEL})),
        secret("ref-vault-token", json!({"token": SENTINEL})),
        secret("node-secret", json!({"content": SENTINEL})),
    ] {
        fixture
            .server
            .apply_yaml(&manifest.to_string(), "sentinel")
            .unwrap();
    }
    let processes: Vec<Started> = EXTENSIONS
        .iter()
        .map(|name| start_extension(&fixture, name, &["--log-level=debug"]))
        .collect();
    for started in &processes {
        until_ready(started).await;
    }
    create_objects(&fixture).await;

    let mut places: Vec<(String, String)> = Vec::new();
    for (name, started) in EXTENSIONS.iter().zip(&processes) {
        let (_, metrics) = http_get(started.metrics, "/metrics").await.unwrap();
        places.push((format!("{name} /metrics"), metrics));
        places.push((
            format!("{name} output"),
            started.process.output().join("\n"),
        ));
    }
    for (group, version, plural) in [
        ("", "v1", "events"),
        ("events.k8s.io", "v1", "events"),
        (
            "extensions.gardener.cloud",
            "v1alpha1",
            "operatingsystemconfigs",
        ),
        ("extensions.gardener.cloud", "v1alpha1", "extensions"),
        ("extensions.gardener.cloud", "v1alpha1", "containerruntimes"),
    ] {
        let resource = ApiResource {
            group: group.into(),
            version: version.into(),
            api_version: if group.is_empty() {
                version.into()
            } else {
                format!("{group}/{version}")
            },
            kind: String::new(),
            plural: plural.into(),
        };
        let api: Api<DynamicObject> = Api::namespaced_with(fixture.client.clone(), NS, &resource);
        for object in api.list(&ListParams::default()).await.unwrap().items {
            // Events whole; extension objects by their status (the spec is the user's).
            let text = if plural == "events" {
                serde_json::to_string(&object.data).unwrap()
            } else {
                object.data["status"].to_string()
            };
            places.push((format!("{plural}/{}", object.metadata.name.unwrap()), text));
        }
    }
    let secrets: Api<DynamicObject> = Api::namespaced_with(
        fixture.client.clone(),
        NS,
        &ApiResource::erase::<k8s_openapi::api::core::v1::Secret>(&()),
    );
    let source = secrets.get("ref-ssh").await.unwrap();
    assert!(
        leaks(&serde_json::to_string(&source.data).unwrap()),
        "the scanner finds the sentinel where it belongs"
    );
    let leaked: Vec<&String> = places
        .iter()
        .filter(|(_, text)| leaks(text))
        .map(|(place, _)| place)
        .collect();
    assert!(leaked.is_empty(), "the sentinel leaked into {leaked:?}");
    println!(
        "sentinel: {} places scanned across {} extensions, no leak",
        places.len(),
        EXTENSIONS.len()
    );
}

/// One object per extension that reads the sentinel Secrets, and one OSC that fails on them.
async fn create_objects(fixture: &Fixture) {
    let pp = PostParams::default();
    let oscs: Api<OperatingSystemConfig> = Api::namespaced(fixture.client.clone(), NS);
    let mut with_secret = osc("with-secret");
    with_secret.spec.files = serde_json::from_value(json!([
        {"path": "/etc/node-secret", "content": {"secretRef": {"name": "node-secret", "dataKey": "content"}}}
    ]))
    .unwrap();
    oscs.create(&pp, &with_secret).await.unwrap();
    let mut missing_key = osc("missing-key");
    missing_key.spec.files = serde_json::from_value(json!([
        {"path": "/etc/node-secret", "content": {"secretRef": {"name": "node-secret", "dataKey": "absent"}}}
    ]))
    .unwrap();
    oscs.create(&pp, &missing_key).await.unwrap();
    let extensions: Api<Extension> = Api::namespaced(fixture.client.clone(), NS);
    extensions.create(&pp, &extension("mwe")).await.unwrap();
    let flux: Extension = serde_json::from_value(json!({
        "apiVersion": "extensions.gardener.cloud/v1alpha1", "kind": "Extension",
        "metadata": {"name": "shoot-flux", "namespace": NS},
        "spec": {"type": "shoot-flux", "providerConfig": {
            "apiVersion": "flux.extensions.gardener.cloud/v1alpha1", "kind": "FluxConfig",
            "source": {"template": {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
                                    "spec": {"url": "https://example.com/fleet", "ref": {"branch": "main"}}},
                       "secretResourceName": "flux-ssh"},
            "kustomization": {"template": {"spec": {"path": "clusters/bar"}}},
            "additionalSecretResources": [{"name": "vault", "targetName": "vault"}]}}
    }))
    .unwrap();
    extensions.create(&pp, &flux).await.unwrap();
    let runtimes: Api<ContainerRuntime> = Api::namespaced(fixture.client.clone(), NS);
    let cr: ContainerRuntime = serde_json::from_value(json!({
        "apiVersion": "extensions.gardener.cloud/v1alpha1", "kind": "ContainerRuntime",
        "metadata": {"name": "gvisor", "namespace": NS},
        "spec": {"type": "gvisor", "binaryPath": "/var/bin/containerruntimes",
                 "workerPool": {"name": "worker", "selector": {"matchLabels": {"worker.gardener.cloud/pool": "worker"}}}}
    }))
    .unwrap();
    runtimes.create(&pp, &cr).await.unwrap();

    let within = Duration::from_secs(60);
    wait_succeeded(&oscs, "with-secret", within).await;
    wait_succeeded(&extensions, "mwe", within).await;
    wait_succeeded(&extensions, "shoot-flux", within).await;
    wait_succeeded(&runtimes, "gvisor", within).await;
    wait_for(&oscs, "missing-key", within, |o: &OperatingSystemConfig| {
        o.status
            .as_ref()
            .and_then(|s| s.default_status.last_operation.as_ref())
            .is_some_and(|op| op.state == LastOperationState::Error)
    })
    .await;
}
